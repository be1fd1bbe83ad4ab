"""Where people go when they leave a service: competing risks and the Aalen–Johansen estimator.

Leaving the night shelter is not one event: a person may move on to housing (a *maison
d'accueil* or a Housing First tenancy), to another service of the network (the day centre,
social emergency), or to nothing the network sees. These are *competing* destinations: once a
person has left to one, the others can no longer happen first. Taking 1 − Kaplan–Meier of one
destination while censoring the others overstates it (the others are not independent
censoring); the estimand here is the **cumulative incidence** of each destination,
F_k(t) = P(T ≤ t, destination = k), estimated by Aalen–Johansen: with n_j persons at risk
just before the event time t_j, d_jk of them leaving to k at t_j and S the overall
Kaplan–Meier survival, F_k(t) = Σ_{t_j ≤ t} S(t_j−) · d_jk / n_j. The destinations' cumulative
incidences add up to 1 − S(t) exactly (tested). With no competing destination it is 1 − KM.

Intervals: a bootstrap over persons (one spell per person, so persons are the independent
units; ``n_boot`` resamples, reproducible with ``seed``) gives the variance V of F_k(t); the
95 % interval is **Wilson's score interval with the effective sample size** n* = F(1 − F)/V
(Dorey & Korn, 1987, *Stat. Med.* 6:679, for Kaplan–Meier; Korn & Graubard, 1998, for survey
proportions). Without censoring F_k(t) is a binomial proportion and n* ≈ n, so the interval is
Wilson's; censoring shrinks n*. It replaced the percentile interval of the same resamples, which
under-covered the rare destinations (84 % for housing within 3 days, about three events among
339 young people, in ``bench/youth_coverage.py``): a percentile interval of a handful of events
is [0, 0] whenever the sample has none. When F is 0 or 1 (V = 0), n* is the number of persons.

lifelines (which has ``AalenJohansenFitter``) is not a dependency of the project: the estimator
is a dozen lines of numpy and is checked against a planted split in the tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import norm

from observatoire.core.dispositifs import SHELTER
from observatoire.youth.sequences import contact_intervals
from observatoire.youth.survival import engagement_spells

__all__ = [
    "CENSORED",
    "DEFAULT_SEED",
    "DESTINATIONS",
    "HOUSING",
    "NOTHING",
    "OTHER_SERVICE",
    "cumulative_incidence",
    "exit_spells",
    "incidence_at",
    "incidence_intervals",
    "wilson_limits",
]

CENSORED = 0
"""The cause code of a censored spell (destinations are coded 1, 2, …)."""
DEFAULT_SEED = 20_240_601
HOUSING, OTHER_SERVICE, NOTHING = 1, 2, 3
DESTINATIONS = {
    HOUSING: "vers un hébergement ou un logement",
    OTHER_SERVICE: "vers un autre service du réseau",
    NOTHING: "sans aucun autre contact (sortie du réseau)",
}
"""Destinations on leaving a service, in priority order (a person seen in a maison d'accueil
and at the day centre after leaving the shelter moved to housing)."""
HOUSING_DISPOSITIFS = ("maison_accueil", "housing_first")


def exit_spells(
    contacts: pd.DataFrame,
    persons: pd.Index,
    data_end: pd.Timestamp,
    gap_days: int,
    dispositif: str = SHELTER,
) -> pd.DataFrame:
    """The first spell at ``dispositif`` of each of ``persons`` and where it led.

    The spell is :func:`~observatoire.youth.survival.engagement_spells`' (first contact there
    to the last before a silence of more than ``gap_days`` days there). Its destination is read
    in the other contacts of the person whose interval meets [last day, last day +
    ``gap_days``]: a *maison d'accueil* or Housing First → :data:`HOUSING`; any other service
    → :data:`OTHER_SERVICE`; none → :data:`NOTHING` (no contact with the network in the
    ``gap_days`` after leaving). A spell whose silence is not wholly observed is censored
    (``cause`` 0). Street work is never linked to named records, so a move from the shelter to
    the street cannot be seen: it counts as :data:`NOTHING`. Returns ``person_id``,
    ``first_contact``, ``last_contact``, ``duration_days``, ``event``, ``cause``.
    """
    data_end = pd.Timestamp(data_end).normalize()
    mine = contacts[contacts["person_id"].isin(persons)]
    spells = engagement_spells(mine, data_end, gap_days, dispositif)
    spells = spells[spells["person_id"].isin(persons)].reset_index(drop=True)
    if spells.empty:  # nobody of ``persons`` used the dispositif (a network without it)
        return spells.assign(cause=pd.Series(dtype=np.int64))
    others = contact_intervals(mine[mine["dispositif"] != dispositif], data_end)
    window = others.merge(spells[["person_id", "last_contact"]], on="person_id")
    after = (window["end"] >= window["last_contact"]) & (
        window["start"] <= window["last_contact"] + pd.Timedelta(days=gap_days)
    )
    window = window[after]
    housed = set(window.loc[window["dispositif"].isin(HOUSING_DISPOSITIFS), "person_id"])
    served = set(window["person_id"])
    cause = np.where(
        spells["person_id"].isin(housed),
        HOUSING,
        np.where(spells["person_id"].isin(served), OTHER_SERVICE, NOTHING),
    )
    spells["cause"] = np.where(spells["event"].astype(bool), cause, CENSORED).astype(np.int64)
    return spells


def cumulative_incidence(
    durations: np.ndarray | pd.Series,
    causes: np.ndarray | pd.Series,
    cause_codes: tuple[int, ...] | None = None,
) -> pd.DataFrame:
    """Aalen–Johansen cumulative incidence of each cause, one row per distinct event time.

    ``causes`` is 0 for a censored spell and the destination code (1, 2, …) otherwise; a spell
    censored at t is still at risk at t (the usual convention). Columns: ``time``, ``at_risk``,
    ``events`` (all causes), ``survival`` (overall KM just after ``time``) and ``cif_<code>``
    for each code of ``cause_codes`` (default: the codes present). A first row at time 0 has
    every incidence 0 and survival 1.
    """
    time = np.asarray(durations, dtype=np.float64)
    cause = np.asarray(causes, dtype=np.int64)
    if time.shape != cause.shape:
        raise ValueError("durations and causes must have the same length")
    if cause_codes is None:
        cause_codes = tuple(int(c) for c in np.unique(cause) if c != CENSORED)
    event_times = np.unique(time[cause != CENSORED])
    # persons at risk just before each event time: spells of length ≥ t
    sorted_time = np.sort(time)
    at_risk = len(time) - np.searchsorted(sorted_time, event_times, side="left")
    d = {
        c: np.bincount(np.searchsorted(event_times, time[cause == c]), minlength=len(event_times))[
            : len(event_times)
        ]
        for c in cause_codes
    }
    d_all = np.zeros(len(event_times), dtype=np.int64)
    if len(event_times):
        d_all = np.bincount(
            np.searchsorted(event_times, time[cause != CENSORED]), minlength=len(event_times)
        )[: len(event_times)]
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_risk > 0, d_all / at_risk, 0.0)
    surv = np.cumprod(1.0 - hazard)
    surv_before = np.concatenate([[1.0], surv[:-1]])
    out = {
        "time": np.concatenate([[0.0], event_times]),
        "at_risk": np.concatenate([[len(time)], at_risk]),
        "events": np.concatenate([[0], d_all]),
        "survival": np.concatenate([[1.0], surv]),
    }
    for c in cause_codes:
        with np.errstate(divide="ignore", invalid="ignore"):
            step = np.where(at_risk > 0, surv_before * d[c] / at_risk, 0.0)
        out[f"cif_{c}"] = np.concatenate([[0.0], np.cumsum(step)])
    return pd.DataFrame(out)


def incidence_at(curve: pd.DataFrame, cause: int, t: float) -> float:
    """F_cause(t) read on a :func:`cumulative_incidence` curve (right-continuous steps)."""
    pos = np.searchsorted(curve["time"].to_numpy(), t, side="right") - 1
    return float(curve[f"cif_{cause}"].iloc[max(pos, 0)])


def wilson_limits(
    estimate: np.ndarray, variance: np.ndarray, n: int, alpha: float = 0.05
) -> np.ndarray:
    """Wilson score limits of proportions ``estimate`` whose variance is ``variance``, with the
    effective sample size n* = p(1 − p)/variance. n* is ``n`` where the variance or p(1 − p)
    is 0, and is capped at ``n`` (a variance below the binomial one comes only from bootstrap
    noise: censoring can only lose information). Returns an array of shape (len, 2)."""
    p = np.clip(np.asarray(estimate, dtype=np.float64), 0.0, 1.0)
    v = np.asarray(variance, dtype=np.float64)
    pq = p * (1 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where((v > 0) & (pq > 0), pq / v, float(n))
    n_eff = np.minimum(n_eff, float(n))
    z = norm.ppf(1 - alpha / 2)
    denom = 1 + z**2 / n_eff
    centre = (p + z**2 / (2 * n_eff)) / denom
    half = z / denom * np.sqrt(pq / n_eff + z**2 / (4 * n_eff**2))
    return np.column_stack([np.maximum(centre - half, 0.0), np.minimum(centre + half, 1.0)])


INTERVAL_METHODS = ("wilson", "percentile")


def incidence_intervals(
    durations: np.ndarray | pd.Series,
    causes: np.ndarray | pd.Series,
    times: tuple[float, ...],
    cause_codes: tuple[int, ...],
    n_boot: int = 200,
    seed: int = DEFAULT_SEED,
    alpha: float = 0.05,
    method: str = "wilson",
) -> dict[int, np.ndarray]:
    """95 % limits of F_k(t) for each cause k and time t, from a bootstrap of the persons.

    ``method="wilson"`` (default): Wilson's interval with the effective sample size given by
    the bootstrap variance (see the module docstring); ``"percentile"``: the 2.5 and 97.5 %
    quantiles of the resamples (the earlier interval, kept for the coverage bench). Returns
    ``{cause: array of shape (len(times), 2)}`` (lower, upper). Persons are resampled with
    replacement (one spell per person): the interval carries the sampling error of the
    persons, not the linkage's.
    """
    if method not in INTERVAL_METHODS:
        raise ValueError(f"method {method!r} not in {INTERVAL_METHODS}")
    time = np.asarray(durations, dtype=np.float64)
    cause = np.asarray(causes, dtype=np.int64)
    rng = np.random.default_rng(seed)
    draws = {c: np.empty((n_boot, len(times))) for c in cause_codes}
    for b in range(n_boot):
        idx = rng.integers(0, len(time), size=len(time))
        curve = cumulative_incidence(time[idx], cause[idx], cause_codes)
        for c in cause_codes:
            draws[c][b] = [incidence_at(curve, c, t) for t in times]
    if method == "percentile":
        q = [alpha / 2, 1 - alpha / 2]
        return {c: np.quantile(draws[c], q, axis=0).T for c in cause_codes}
    curve = cumulative_incidence(time, cause, cause_codes)
    out = {}
    for c in cause_codes:
        estimate = np.array([incidence_at(curve, c, t) for t in times])
        out[c] = wilson_limits(estimate, draws[c].var(axis=0, ddof=1), len(time), alpha)
    return out
