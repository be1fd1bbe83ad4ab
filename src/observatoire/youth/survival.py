"""How long do people stay in touch with the network? Engagement spells and their survival.

A person's *engagement spell* runs from their first contact to the last contact before the
first silence of more than ``gap_days`` days. Disengagement is only known once such a silence
has been fully observed, so spells still "open" at the end of the data are right-censored and
the time to disengagement is estimated with Kaplan–Meier rather than averaged (an average over
finished spells would be biased towards short ones). Curves are compared with the log-rank
test. Times are in days; statsmodels' ``SurvfuncRight`` and ``survdiff`` do the estimation
(lifelines does not support pandas 3).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from observatoire.youth.sequences import contact_intervals

__all__ = [
    "engagement_spells",
    "kaplan_meier",
    "logrank",
    "median_time",
    "survival_at",
]

CI_LEVEL = 0.95


def engagement_spells(
    contacts: pd.DataFrame,
    data_end: pd.Timestamp,
    gap_days: int = 90,
    dispositif: str | None = None,
) -> pd.DataFrame:
    """First engagement spell of every person with a contact (at ``dispositif``, or anywhere).

    Contacts are day intervals (:func:`~observatoire.youth.sequences.contact_intervals`: a
    stay counts up to its ``date_end``, a running tenancy/stay up to ``data_end``). The spell
    breaks at the first contact starting more than ``gap_days`` days after the latest day
    covered so far (so contacts exactly ``gap_days`` apart stay in one spell);
    ``last_contact`` is that latest day before the break. The disengagement is observed
    (``event`` = 1) when ``last_contact + gap_days ≤ data_end``, i.e. the whole silence lies
    within the data; ``duration_days`` is then last − first + 1, and otherwise (``event`` = 0)
    the spell is censored with duration data_end − first + 1. One row per person, sorted by
    ``person_id``.
    """
    data_end = pd.Timestamp(data_end).normalize()
    if dispositif is not None:
        contacts = contacts.loc[contacts["dispositif"] == dispositif]
    iv = contact_intervals(contacts, data_end)
    columns = ["person_id", "first_contact", "last_contact", "duration_days", "event"]
    if iv.empty:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    iv = iv.sort_values(["person_id", "start", "end"], kind="stable", ignore_index=True)
    by_person = iv.groupby("person_id", sort=False)
    covered = by_person["end"].cummax()
    covered_before = covered.groupby(iv["person_id"], sort=False).shift()
    breaks = (iv["start"] - covered_before) > pd.Timedelta(days=gap_days)
    in_first = breaks.astype(np.int64).groupby(iv["person_id"], sort=False).cumsum() == 0
    first = iv.loc[in_first].groupby("person_id")
    spells = pd.DataFrame(
        {"first_contact": first["start"].min(), "last_contact": first["end"].max()}
    ).reset_index()
    event = spells["last_contact"] + pd.Timedelta(days=gap_days) <= data_end
    stop = spells["last_contact"].where(event, data_end)
    spells["duration_days"] = (stop - spells["first_contact"]).dt.days.astype(np.int64) + 1
    spells["event"] = event.astype(np.int64)
    return spells[columns]


def kaplan_meier(durations: np.ndarray | pd.Series, events: np.ndarray | pd.Series) -> pd.DataFrame:
    """Kaplan–Meier curve: one row per event time, after a row (0, 1) for the start.

    ``lower``/``upper`` are the pointwise 95 % limits on the log-log scale (statsmodels'
    default transform for survival CIs, as R's ``survfit(conf.type = "log-log")``), built
    from Greenwood's standard error; they stay within [0, 1]. Where the survival reaches 0
    the interval collapses to [0, 0]. ``at_risk`` is the number still followed just before
    ``time`` and ``events`` the disengagements at ``time``.
    """
    time = np.asarray(durations, dtype=np.float64)
    status = np.asarray(events, dtype=np.float64)
    columns = ["time", "survival", "lower", "upper", "at_risk", "events"]
    start = pd.DataFrame(
        {
            "time": [0.0],
            "survival": [1.0],
            "lower": [1.0],
            "upper": [1.0],
            "at_risk": [len(time)],
            "events": [0],
        }
    )
    if len(time) == 0 or status.sum() == 0:
        return start[columns]
    fit = SurvfuncRight(time, status)
    surv = fit.surv_prob
    z = stats.norm.ppf(0.5 + CI_LEVEL / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_s = np.log(surv)
        # SE of log(−log S) by the delta method, then S^exp(±z·se)
        se = fit.surv_prob_se / (surv * np.abs(log_s))
        lower = surv ** np.exp(z * se)
        upper = surv ** np.exp(-z * se)
    zero = surv <= 0
    lower[zero], upper[zero] = 0.0, 0.0
    curve = pd.DataFrame(
        {
            "time": fit.surv_times.astype(np.float64),
            "survival": surv,
            "lower": lower,
            "upper": upper,
            "at_risk": fit.n_risk.astype(np.int64),
            "events": fit.n_events.astype(np.int64),
        }
    )
    return pd.concat([start, curve], ignore_index=True)[columns]


def survival_at(curve: pd.DataFrame, t: float) -> float:
    """S(t) read on a :func:`kaplan_meier` curve (right-continuous step function)."""
    if t < 0:
        return 1.0
    pos = np.searchsorted(curve["time"].to_numpy(), t, side="right") - 1
    return float(curve["survival"].iloc[max(pos, 0)])


def median_time(curve: pd.DataFrame) -> float | None:
    """Median time to disengagement: the first time S(t) ≤ 0.5; None if never reached.

    Convention of R's ``survfit`` and lifelines except when S is exactly 0.5 on an interval
    (R then takes the interval's midpoint): the smallest such time is returned here.
    """
    below = curve.loc[curve["survival"] <= 0.5 + 1e-12, "time"]
    return None if below.empty else float(below.iloc[0])


def logrank(
    durations: np.ndarray | pd.Series,
    events: np.ndarray | pd.Series,
    groups: np.ndarray | pd.Series,
) -> tuple[float, float]:
    """Log-rank χ² and p-value for equal survival across ``groups`` (df = groups − 1).

    NaN when fewer than two groups or no event (the test is then undefined).
    """
    time = np.asarray(durations, dtype=np.float64)
    status = np.asarray(events, dtype=np.float64)
    group = np.asarray(groups)
    if len(np.unique(group)) < 2 or status.sum() == 0:
        return math.nan, math.nan
    chisq, pvalue = survdiff(time, status, group)
    return float(chisq), float(pvalue)
