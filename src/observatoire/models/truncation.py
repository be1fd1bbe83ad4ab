"""Left truncation: the stays already running when the data begin.

The partners export a stay in the year it starts, from the first year of the data on. A stay
of a maison d'accueil or a Housing First tenancy begun before that year is therefore never
seen, although its person was present: the counts of the first years miss a *stock*, and a
series of persons present rises from near zero for reasons that have nothing to do with need.

**Detection.** For a stay dispositif with stays entering at a steady rate λ and lasting D with
survival S(u) = P(D > u), the persons present in a year starting g days after the first day of
the data are λ(∫₀^∞ S + 365) in the full population, of which λ∫_g^∞ S entered before the
data. The *missing share* of that year is therefore

    m(g) = ∫_g^∞ S(u) du / (∫₀^∞ S(u) du + 365),

and the same with 30 days for a month. S is the Kaplan–Meier estimate from the stays the data
do see (those entered after the start, censored at the end of the data when still running).
Beyond the longest follow-up S is unknown: it is extended at its last value up to the
dispositif's longest plausible stay when the vocabulary sets one, and cut there otherwise, so
m is then a lower bound (said in the notes). A year (month) is *affected* when m exceeds
:data:`THRESHOLD`. The network's count misses at most the sum of the dispositifs' missing
persons (a person missing from Housing First may be counted elsewhere), which gives its own
affected years.

Trends are then fitted on the unaffected years only (the report says which were left out), and
the monthly models start at the first unaffected month. The 2 % threshold keeps the bias of a
five-year log-linear trend below 0.4 point a year (a deficit s in the first year biases the
slope by about −s·(x₁ − x̄)/Σ(x − x̄)² = −0.2 s).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight

from observatoire.core.dispositifs import MAX_STAY_NIGHTS, STAY_DISPOSITIFS
from observatoire.core.presence import data_end, stay_end

__all__ = [
    "THRESHOLD",
    "Truncation",
    "left_truncation",
    "missing_share",
    "network_missing_share",
]

THRESHOLD = 0.02
YEAR_DAYS = 365.25
MONTH_DAYS = YEAR_DAYS / 12


@dataclass(frozen=True)
class Truncation:
    """What the start of the data hides of one stay dispositif.

    ``missing_share`` maps each year to m(g) at its 1 January (see the module docstring);
    ``affected_years`` are those above the threshold; ``first_clean_month`` the first month
    whose missing share (for a month's count) is below it, None if none is. ``lower_bound`` says
    that S was cut at the longest follow-up (no plausible longest stay to extend it to), so the
    shares are at least these. ``mean_stay_days`` is ∫S over the support used.
    """

    dispositif: str
    data_start: pd.Timestamp
    stays: int
    running: int
    mean_stay_days: float
    survival_at_last: float
    lower_bound: bool
    missing_share: dict[int, float]
    affected_years: list[int]
    first_clean_month: pd.Timestamp | None
    notes: list[str] = field(default_factory=list)

    def record(self) -> dict[str, object]:
        """JSON-ready record (years as strings, months « AAAA-MM »)."""
        return {
            "dispositif": self.dispositif,
            "data_start": self.data_start.strftime("%Y-%m-%d"),
            "stays": self.stays,
            "running": self.running,
            "mean_stay_days": self.mean_stay_days,
            "survival_at_last": self.survival_at_last,
            "lower_bound": self.lower_bound,
            "missing_share": {str(y): s for y, s in self.missing_share.items()},
            "affected_years": list(self.affected_years),
            "first_clean_month": (
                None if self.first_clean_month is None else self.first_clean_month.strftime("%Y-%m")
            ),
        }


def _tail_integral(times: np.ndarray, surv: np.ndarray, horizon: float) -> callable:
    """u ↦ ∫_u^horizon S for the right-continuous step function S (1 before ``times[0]``)."""
    knots = np.concatenate([[0.0], times, [horizon]])
    knots = np.clip(knots, 0.0, horizon)
    values = np.concatenate([[1.0], surv])  # S on [knots[i], knots[i+1])
    widths = np.diff(knots)
    cum = np.concatenate([[0.0], np.cumsum(values * widths)])  # ∫_0^knots[i]
    total = cum[-1]

    def tail(u: float) -> float:
        if u >= horizon:
            return 0.0
        i = int(np.searchsorted(knots, u, side="right") - 1)
        before = cum[i] + values[i] * (u - knots[i])
        return float(total - before)

    return tail


def missing_share(
    durations: np.ndarray, running: np.ndarray, gaps_days: np.ndarray, period_days: float,
    max_days: float | None,
) -> tuple[np.ndarray, float, float, bool]:  # fmt: skip
    """m(g) for each gap, from stay ``durations`` (days) and whether each is still ``running``.

    Returns the shares, ∫S (days), S at the longest follow-up and whether S had to be cut
    (a lower bound). See the module docstring.
    """
    durations = np.asarray(durations, dtype=float)
    events = ~np.asarray(running, dtype=bool)
    if len(durations) == 0:
        return np.zeros(len(gaps_days)), 0.0, 0.0, False
    if events.any():
        km = SurvfuncRight(durations, events.astype(int))
        times = np.asarray(km.surv_times, dtype=float)
        surv = np.asarray(km.surv_prob, dtype=float)
    else:
        times, surv = np.array([]), np.array([])
    last_follow = float(durations.max())
    s_last = float(surv[-1]) if len(surv) else 1.0
    if s_last > 0 and max_days is not None and max_days > last_follow:
        horizon, cut = float(max_days), False
        times = np.concatenate([times, [last_follow]])
        surv = np.concatenate([surv, [s_last]])
    else:
        horizon, cut = last_follow, s_last > 0 and max_days is None
        if max_days is not None:
            horizon = min(horizon, float(max_days))
    tail = _tail_integral(times, surv, horizon)
    mean = tail(0.0)
    shares = np.array([tail(float(g)) / (mean + period_days) for g in gaps_days])
    return shares, mean, s_last, cut


def left_truncation(contacts: pd.DataFrame, threshold: float = THRESHOLD) -> dict[str, Truncation]:
    """:class:`Truncation` of every stay dispositif of ``contacts`` (open-ended or not).

    The data start on the first day of the first year delivered; years run to the last year
    delivered. A running stay is censored at the end of the data.
    """
    if contacts.empty:
        return {}
    first_year = int(contacts["year"].min())
    start = pd.Timestamp(year=first_year, month=1, day=1)
    end = data_end(contacts)
    years = list(range(first_year, int(contacts["year"].max()) + 1))
    months = pd.date_range(start, end, freq="MS")
    out: dict[str, Truncation] = {}
    for disp in STAY_DISPOSITIFS:
        stays = contacts[contacts["dispositif"] == disp]
        if stays.empty:
            continue
        entry = pd.to_datetime(stays["date_start"]).astype("datetime64[ns]").dt.normalize()
        exit_ = stay_end(stays)
        running = exit_.isna().to_numpy()
        durations = ((exit_.fillna(end + pd.Timedelta(days=1)) - entry).dt.days).clip(lower=0)
        max_stay = MAX_STAY_NIGHTS.get(disp)
        gaps_y = np.array([(pd.Timestamp(year=y, month=1, day=1) - start).days for y in years])
        shares_y, mean, s_last, cut = missing_share(
            durations.to_numpy(), running, gaps_y, YEAR_DAYS, max_stay
        )
        gaps_m = np.array([(m - start).days for m in months])
        shares_m, *_ = missing_share(durations.to_numpy(), running, gaps_m, MONTH_DAYS, max_stay)
        clean = np.flatnonzero(shares_m <= threshold)
        notes = []
        if cut:
            notes.append(
                "Durée des séjours au-delà du plus long suivi inconnue\u00a0: parts manquantes "
                "minimales."
            )
        out[disp] = Truncation(
            dispositif=disp,
            data_start=start,
            stays=int(len(stays)),
            running=int(running.sum()),
            mean_stay_days=float(mean),
            survival_at_last=s_last,
            lower_bound=bool(cut),
            missing_share={y: float(s) for y, s in zip(years, shares_y, strict=True)},
            affected_years=[y for y, s in zip(years, shares_y, strict=True) if s > threshold],
            first_clean_month=months[clean[0]] if len(clean) else None,
            notes=notes,
        )
    return out


def network_missing_share(
    truncation: dict[str, Truncation],
    network: pd.Series,
    by_dispositif: dict[str, pd.Series],
) -> dict[int, float]:
    """Upper bound of the share of the network's persons of each year the start of the data
    hides: Σ_d m_d/(1 − m_d)·observed_d over the network's observed + missing persons."""
    out = {}
    for year, observed in network.items():
        missing = 0.0
        for disp, tr in truncation.items():
            m = tr.missing_share.get(int(year), 0.0)
            seen = float(by_dispositif.get(disp, pd.Series(dtype=float)).get(year, 0.0))
            missing += seen * m / (1 - m) if m < 1 else math.inf
        out[int(year)] = missing / (float(observed) + missing) if observed else math.nan
    return out
