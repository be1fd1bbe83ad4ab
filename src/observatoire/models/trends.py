"""Count models for yearly and monthly indicators, built to be audited.

The indicators are counts (persons, nights, contacts), so the models are log-linear count
regressions: a coefficient ``b`` on time in years is read as an annual rate ratio ``exp(b)``
("+6 % per year"), whatever the level of the series.

Model choice is explicit and reproducible. A Poisson GLM is fitted first; its variance
assumption (variance = mean) is then checked with two overdispersion tests:

* the Pearson statistic X² = Σ (y − μ)² / μ, compared with a χ² on the residual degrees of
  freedom (X²/df is the *dispersion ratio*, ≈ 1 under Poisson);
* the Cameron–Trivedi auxiliary regression of ((y − μ)² − y) / μ on μ without intercept,
  whose slope estimates α in Var(y) = μ + α μ² (one-sided t-test of α = 0).

The series is declared overdispersed when X²/df > 1 and either test rejects at 2.5 %, i.e.
at 5 % overall (Bonferroni). Overdispersion does not bias the Poisson point estimates but
makes its confidence intervals too narrow; the refit widens them:

* yearly series (3 to ~10 points): **quasi-Poisson** (same estimates, covariance scaled by
  X²/df, Student t on the residual df). A negative binomial needs α estimated by maximum
  likelihood, which with 5 points and 3 residual df is erratic (often on the boundary α = 0
  or diverging), and 5 points cannot tell the NB variance μ + αμ² from the quasi-Poisson
  φμ anyway. Quasi-Poisson only assumes variance ∝ mean and pays honestly, through the t
  quantile, for estimating φ from so few points.
* monthly series (≥ 24 points): **negative binomial** (NB2, Var = μ + αμ²) with α chosen
  so that the Pearson X² of the NB fit equals its residual degrees of freedom (Breslow 1984,
  *Applied Statistics* 33:38–44; the moment estimator of Cameron & Trivedi §3.2), β by the
  GLM with that α. Maximum likelihood for α ignores the degrees of freedom spent on the 13
  trend and month coefficients: on the same 1 000 simulated series of 60 months (level 100,
  α = 0.05, seed 20240601) the ML α̂ averaged 0.037 and the 95 % CI of the annual rate
  ratio covered the truth in 92.4 % of them; with Breslow's α̂ (mean 0.049) it covers
  94.7 %. See :func:`coverage_simulation` and ``bench/trends_coverage.py``.

French strings (``family``, ``interpretation``, ``notes``) are meant for the report reader;
``summary_text`` is the statsmodels summary for the methodological annex or notebook.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from observatoire.core.formatting import MOIS_NOMS, NNBSP, french_number, french_percent
from observatoire.core.presence import in_year, periods_covered
from observatoire.models.inference import (
    SERIAL_METHOD,
    PairedRateRatio,
    SerialCorrelation,
    paired_rate_ratio,
    serial_covariance,
)

if TYPE_CHECKING:
    from statsmodels.tsa.seasonal import DecomposeResult

__all__ = [
    "FAMILY_NB",
    "FAMILY_POISSON",
    "FAMILY_QUASI_POISSON",
    "SERIES_LABELS",
    "SIMULATED_SEASONALITY",
    "CoverageSimulation",
    "MonthlyModelResult",
    "OverdispersionTest",
    "RateRatio",
    "SeriesModel",
    "TrendResult",
    "coverage_simulation",
    "diagnostics_table",
    "draw_counts",
    "fit_counts",
    "fit_dispositif_models",
    "fit_monthly_model",
    "fit_series",
    "fit_yearly_trend",
    "ljung_box_glm",
    "monthly_dispositif_counts",
    "overdispersion_test",
    "paired_year_on_year",
    "simulated_monthly_mean",
    "stl",
    "year_on_year",
    "yoy_by_dispositif",
]

FAMILY_POISSON = "Poisson"
FAMILY_NB = "binomiale négative"
FAMILY_QUASI_POISSON = "quasi-Poisson"

ALPHA_LEVEL = 0.05  # overall level of the overdispersion decision and of the CIs (95 %)
_Z = float(stats.norm.ppf(1 - ALPHA_LEVEL / 2))
_NBSP = "\u00a0"  # no-break space, before « : » in French


# --------------------------------------------------------------------------------------------
# Result containers
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverdispersionTest:
    """Diagnostics of the Poisson variance assumption (see the module docstring).

    ``dispersion`` is Pearson X²/df (≈ 1 under Poisson, > 1 overdispersed). ``pearson_p`` is
    P(χ²_df ≥ X²). ``ct_alpha`` is the Cameron–Trivedi estimate of α in Var = μ + αμ², with
    its t statistic and one-sided p-value ``ct_p``. ``overdispersed`` is the decision:
    min(pearson_p, ct_p) < 2.5 % (5 % overall, Bonferroni) and dispersion > 1.
    """

    dispersion: float
    pearson_chi2: float
    df_resid: int
    pearson_p: float
    ct_alpha: float
    ct_t: float
    ct_p: float
    overdispersed: bool


@dataclass(frozen=True)
class TrendResult:
    """Log-linear trend of a yearly count series.

    ``annual_rate_ratio`` = exp(slope): expected count of a year / that of the year before;
    ``ci_low``/``ci_high`` its 95 % CI and ``p_value`` the test of no trend (RR = 1).
    ``dispersion`` is the Poisson X²/df. ``fitted`` has ``year``, ``fit`` and the 95 % CI of
    the expected count ``lower``/``upper`` (not a prediction interval for a new year).
    """

    family: str
    annual_rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    dispersion: float
    fitted: pd.DataFrame
    summary_text: str
    interpretation: str
    overdispersion: OverdispersionTest
    n_years: int
    years: list[int] = field(default_factory=list)
    excluded: dict[int, str] = field(default_factory=dict)

    @property
    def annual_percent_change(self) -> float:
        """Annual change in percent, 100 × (RR − 1)."""
        return 100 * (self.annual_rate_ratio - 1)


@dataclass(frozen=True)
class MonthlyModelResult:
    """Monthly count model: trend (per year) + month-of-year effects (+ exposure offset).

    ``annual_rate_ratio`` and its CI/p-value come from the trend coefficient, i.e. the
    change per year *at equal season*. ``seasonal_effects`` has one row per month
    (``month`` 1–12, ``mois``, ``rate_ratio``, ``ci_low``, ``ci_high``) relative to January
    (whose row is 1 with no CI). ``dispersion`` is the Poisson X²/df that drove the choice of
    family; ``residual_dispersion`` the X²/df of the retained model (≈ 1 if it fits);
    ``alpha`` the NB α (None under Poisson). ``ljung_box_stat``/``ljung_box_p`` test the
    autocorrelation of the retained model's Pearson residuals up to lag 12: a small p-value
    means months are not independent given trend and season, so the CIs are too narrow.
    ``ljung_box_p`` is calibrated for the fitted regression (see :func:`ljung_box_glm`);
    ``ljung_box_p_chi2`` is the textbook χ²(12) value, kept for comparison (oversized here).
    ``fitted`` has ``month``, ``observed``, ``fit``, ``lower``, ``upper`` (95 % CI of the
    expected count). ``notes`` are French caveats for the report.

    ``params``/``cov_params`` are the retained model's coefficients and their covariance (on
    the columns ``const``, ``trend_years``, ``month_MM``), ``time_centre`` the month index
    (year × 12 + month − 1) at which time is centred; with :meth:`design` they let a
    forecast extend the same model to future months.
    """

    family: str
    annual_rate_ratio: float
    ci_low: float
    ci_high: float
    p_value: float
    dispersion: float
    residual_dispersion: float
    alpha: float | None
    ljung_box_stat: float
    ljung_box_p: float
    ljung_box_p_chi2: float
    seasonal_effects: pd.DataFrame
    fitted: pd.DataFrame
    summary_text: str
    interpretation: str
    overdispersion: OverdispersionTest
    n_months: int
    exposure: str | None = None
    notes: list[str] = field(default_factory=list)
    params: pd.Series | None = None
    cov_params: pd.DataFrame | None = None
    time_centre: float | None = None
    serial: SerialCorrelation | None = None
    robust_cov: pd.DataFrame | None = None

    @property
    def annual_percent_change(self) -> float:
        """Annual change in percent, 100 × (RR − 1)."""
        return 100 * (self.annual_rate_ratio - 1)

    def design(self, months: pd.Series | pd.DatetimeIndex | list[pd.Timestamp]) -> pd.DataFrame:
        """Design matrix of the fitted model for any ``months`` (e.g. a coming winter)."""
        if self.params is None or self.time_centre is None:
            raise ValueError("this result carries no coefficients to extend")
        present = [int(c[-2:]) for c in self.params.index if c.startswith("month_")]
        stamps = pd.Series(pd.to_datetime(pd.Series(months)).dt.to_period("M").dt.to_timestamp())
        absent = sorted(set(stamps.dt.month) - set(present) - {1})
        if absent:
            names = ", ".join(MOIS_NOMS[m - 1] for m in absent)
            raise ValueError(
                f"Mois de l'année absents de l'historique ({names})\u00a0: leur effet "
                "saisonnier n'est pas estimé."
            )
        return _monthly_design(stamps, self.time_centre, present)


@dataclass(frozen=True)
class RateRatio:
    """Ratio of two counts over equal exposure (e.g. two years), with its 95 % CI.

    ``method`` is "Wald (échelle log)" when both counts are positive, "exact conditionnel"
    when one is zero (see :func:`year_on_year`).
    """

    current: float
    previous: float
    rate_ratio: float
    ci_low: float
    ci_high: float
    percent_change: float
    p_value: float
    method: str
    interpretation: str


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def overdispersion_test(y: np.ndarray, mu: np.ndarray, df_resid: int) -> OverdispersionTest:
    """Pearson X² and Cameron–Trivedi tests of a Poisson fit ``mu`` to counts ``y``.

    Cameron & Trivedi (1990; *Regression Analysis of Count Data*, 2nd ed., §3.4): under
    Var(y) = μ + α g(μ), E[((y − μ)² − y)/μ] = α g(μ)/μ; with the NB2 form g(μ) = μ² this is
    an OLS regression on μ without intercept. The t-test (df = n − 1) is one-sided since
    only α > 0 is of interest.
    """
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    pearson_chi2 = float(np.sum((y - mu) ** 2 / mu))
    dispersion = pearson_chi2 / df_resid if df_resid > 0 else math.nan
    pearson_p = float(stats.chi2.sf(pearson_chi2, df_resid)) if df_resid > 0 else math.nan

    z = ((y - mu) ** 2 - y) / mu
    n = len(y)
    sxx = float(np.sum(mu**2))
    ct_alpha = float(np.sum(z * mu) / sxx)
    resid = z - ct_alpha * mu
    s2 = float(np.sum(resid**2) / (n - 1)) if n > 1 else math.nan
    se = math.sqrt(s2 / sxx) if s2 > 0 else 0.0
    if se > 0:
        ct_t = ct_alpha / se
        ct_p = float(stats.t.sf(ct_t, n - 1))
    else:  # perfect fit of the auxiliary regression: degenerate, decide on the sign
        ct_t = math.copysign(math.inf, ct_alpha) if ct_alpha else 0.0
        ct_p = 0.0 if ct_alpha > 0 else 1.0
    p_values = [p for p in (pearson_p, ct_p) if not math.isnan(p)]
    # Require X²/df > 1 too: a quasi-Poisson or NB refit must never *narrow* the intervals.
    overdispersed = bool(p_values) and dispersion > 1 and min(p_values) < ALPHA_LEVEL / 2
    return OverdispersionTest(
        dispersion=dispersion,
        pearson_chi2=pearson_chi2,
        df_resid=int(df_resid),
        pearson_p=pearson_p,
        ct_alpha=ct_alpha,
        ct_t=float(ct_t),
        ct_p=ct_p,
        overdispersed=overdispersed,
    )


def _check_counts(values: np.ndarray, what: str) -> None:
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{what}: counts must be finite (drop or impute missing values first)")
    if np.any(values < 0):
        raise ValueError(f"{what}: counts must be non-negative")
    if not np.any(values > 0):
        raise ValueError(f"{what}: all counts are zero, no trend can be estimated")


def _pct(x: float, signed: bool = False) -> str:
    return french_percent(x, 1, signed=signed)


def _p_text(p: float) -> str:
    """« = 0,012 » or « < 0,001 » for a p-value in a French sentence."""
    return f"< {french_number(0.001, 3)}" if p < 0.001 else f"= {french_number(p, 3)}"


def _ljung_box_q(x: np.ndarray, lags: int) -> np.ndarray:
    """Ljung–Box Q of each *column* of ``x`` (time along axis 0), as statsmodels defines it:
    Q = n(n + 2) Σ_k r_k² / (n − k), r_k the lag-k autocorrelation around the mean."""
    x = np.asarray(x, dtype=float)
    x = x[:, None] if x.ndim == 1 else x
    n = x.shape[0]
    xc = x - x.mean(axis=0)
    denom = np.einsum("ij,ij->j", xc, xc)
    q = np.zeros(x.shape[1])
    for k in range(1, lags + 1):
        q += (np.einsum("ij,ij->j", xc[:-k], xc[k:]) / denom) ** 2 / (n - k)
    return n * (n + 2) * q


def ljung_box_glm(
    resid: np.ndarray,
    exog: np.ndarray,
    weights: np.ndarray,
    lags: int = 12,
    draws: int = 2000,
    seed: int = 20240101,
) -> tuple[float, float, float]:
    """Ljung–Box test of GLM Pearson residuals, with a p-value calibrated for the regression.

    Returns ``(Q, p_calibrated, p_chi2)``. The textbook reference χ²(lags) assumes the
    residuals are independent, but residuals of a fitted regression are not: with 12
    month-of-year effects estimated from ~5 years, the residuals of a given calendar month
    sum to zero, hence are negatively correlated at lag 12. On independent Poisson series of
    60 months the χ² p-value rejects about 30 % of the time at the 5 % level (simulated).
    Asymptotically the Pearson residuals are (I − H)·u with u ~ N(0, I) and H the GLM hat
    matrix W½X(X'WX)⁻¹X'W½, so the null distribution of Q is simulated from that (fixed seed,
    no refit, a few ms), which restores a ~5 % false-alarm rate and keeps the power against
    genuine autocorrelation.
    """
    resid = np.asarray(resid, dtype=float)
    n = len(resid)
    q_obs = float(_ljung_box_q(resid, lags)[0])
    p_chi2 = float(stats.chi2.sf(q_obs, lags))
    wx = np.sqrt(np.asarray(weights, dtype=float))[:, None] * np.asarray(exog, dtype=float)
    hat = wx @ np.linalg.pinv(wx.T @ wx) @ wx.T
    residual_maker = np.eye(n) - hat
    u = np.random.default_rng(seed).standard_normal((n, draws))
    q_null = _ljung_box_q(residual_maker @ u, lags)
    p_calibrated = float((1 + np.sum(q_null >= q_obs)) / (draws + 1))
    return q_obs, p_calibrated, p_chi2


def _trend_sentence(rr: float, lo: float, hi: float, prefix: str, suffix: str = "") -> str:
    """French sentence for an annual rate ratio and its CI, e.g. "Hausse annuelle … %)."."""
    ic = f"IC 95{NNBSP}%{_NBSP}:"
    if lo > 1:
        head = f"Hausse {prefix} de {_pct(100 * (rr - 1))}"
        body = f"({ic} {_pct(100 * (lo - 1))} à {_pct(100 * (hi - 1))})"
        tail = ""
    elif hi < 1:
        head = f"Baisse {prefix} de {_pct(100 * (1 - rr))}"
        body = f"({ic} {_pct(100 * (1 - hi))} à {_pct(100 * (1 - lo))})"
        tail = ""
    else:
        head = f"Évolution {prefix} de {_pct(100 * (rr - 1), signed=True)}"
        body = f"({ic} {_pct(100 * (lo - 1), signed=True)} à {_pct(100 * (hi - 1), signed=True)})"
        tail = ", non significative au seuil de 5" + NNBSP + "%"
    return f"{head} {body}{suffix}{tail}."


def _strip_timestamp(text: str) -> str:
    """Blank the Date/Time fields of a statsmodels summary, so reruns give the same text."""
    return re.sub(
        r"^((?:Date|Time):\s+)(\S.*?)(?=\s{2,}\S|\s*$)",
        lambda m: m.group(1) + " " * len(m.group(2)),
        text,
        flags=re.MULTILINE,
    )


def _mean_ci(
    exog: np.ndarray, params: np.ndarray, cov: np.ndarray, offset: np.ndarray, q: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected counts and their CI, computed on the log scale then exponentiated."""
    eta = exog @ params + offset
    se = np.sqrt(np.einsum("ij,jk,ik->i", exog, cov, exog))
    return np.exp(eta), np.exp(eta - q * se), np.exp(eta + q * se)


# --------------------------------------------------------------------------------------------
# Yearly trend
# --------------------------------------------------------------------------------------------


def fit_yearly_trend(counts: pd.Series, exclude: dict[int, str] | None = None) -> TrendResult:
    """Annual log-linear trend of a yearly count series: ``log E[count] = a + b·(year − ȳ)``.

    ``counts`` is indexed by year (e.g. 2020..2024; gaps allowed); ``exclude`` maps years left
    out of the fit to the French reason (e.g. left truncation, see
    :mod:`observatoire.models.truncation`); at least 3 years must remain.

    **Quasi-Poisson by default, without a pre-test.** Counts of persons per year are not
    Poisson draws (the same persons come back, services open and close); what is assumed is
    only that the variance around the log-linear trend is proportional to the mean,
    Var = φ·μ, and that the years' deviations from the trend are independent. φ is estimated
    by Pearson X²/(n − 2), which may be below 1, and intervals use Student t on n − 2 degrees of
    freedom: the price of estimating φ from five points (t₃ = 3.18 instead of 1.96). The former
    method tested overdispersion on these five points first (a test with almost no power) and
    fell back on Poisson, whose intervals ignore every year-level source of variation. The
    Pearson and Cameron–Trivedi statistics are kept as descriptions (``overdispersion``), they
    no longer choose the model. Centring the year makes the intercept the log count at the
    mid-period and keeps the fit numerically stable.
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    series = pd.Series(counts, dtype=float)
    if series.isna().any():
        raise ValueError("counts contains missing values: a missing year cannot be a zero")
    excluded = {int(y): r for y, r in (exclude or {}).items() if int(y) in set(series.index)}
    series = series.drop(index=list(excluded))
    if len(series) < 3:
        raise ValueError("at least 3 years are needed to fit a trend")
    series = series.sort_index()
    years = np.asarray(series.index, dtype=float)
    if np.any(years != np.round(years)) or len(np.unique(years)) != len(years):
        raise ValueError("the index of counts must be distinct integer years")
    y = series.to_numpy(dtype=float)
    _check_counts(y, "fit_yearly_trend")

    centre = float(years.mean())
    exog = pd.DataFrame({"const": 1.0, "year_centered": years - centre})
    endog = pd.Series(y, name="count")
    poisson = GLM(endog, exog, family=families.Poisson()).fit()
    od = overdispersion_test(y, poisson.fittedvalues.to_numpy(), int(poisson.df_resid))
    result = GLM(endog, exog, family=families.Poisson()).fit(scale="X2", use_t=True)
    family = FAMILY_QUASI_POISSON
    q = float(stats.t.ppf(1 - ALPHA_LEVEL / 2, result.df_resid))

    b = float(result.params["year_centered"])
    se = float(result.bse["year_centered"])
    rr, lo, hi = math.exp(b), math.exp(b - q * se), math.exp(b + q * se)
    p_value = float(result.pvalues["year_centered"])

    grid = np.arange(int(years.min()), int(years.max()) + 1)
    grid_exog = np.column_stack([np.ones(len(grid)), grid - centre])
    fit, lower, upper = _mean_ci(
        grid_exog,
        result.params.to_numpy(),
        result.cov_params().to_numpy(),
        np.zeros(len(grid)),
        q,
    )
    fitted = pd.DataFrame({"year": grid, "fit": fit, "lower": lower, "upper": upper})

    summary = _strip_timestamp(
        result.summary(
            title=f"Tendance annuelle ({family}), année centrée sur {centre:g}"
        ).as_text()
    )
    summary += (
        f"\nDispersion (description, ne choisit pas le modèle) : X²/ddl = {od.dispersion:.3f} "
        f"sur {od.df_resid} ddl ; Cameron–Trivedi alpha = {od.ct_alpha:.4g}"
    )
    if excluded:
        summary += "\nAnnées exclues : " + " ; ".join(f"{y} ({r})" for y, r in excluded.items())
    return TrendResult(
        family=family,
        annual_rate_ratio=rr,
        ci_low=lo,
        ci_high=hi,
        p_value=p_value,
        dispersion=od.dispersion,
        fitted=fitted,
        summary_text=summary,
        interpretation=_trend_sentence(rr, lo, hi, "annuelle moyenne estimée"),
        overdispersion=od,
        n_years=len(y),
        years=[int(v) for v in years],
        excluded=excluded,
    )


# --------------------------------------------------------------------------------------------
# Monthly model
# --------------------------------------------------------------------------------------------


def _prepare_monthly(
    df: pd.DataFrame, value: str, exposure: str | None
) -> tuple[pd.DataFrame, list[str]]:
    needed = ["month", value] + ([exposure] if exposure else [])
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise ValueError(f"df lacks columns: {missing}")
    data = df[needed].copy()
    data["month"] = pd.to_datetime(data["month"]).dt.to_period("M").dt.to_timestamp()
    if data["month"].duplicated().any():
        raise ValueError("one row per month expected (filter or aggregate dispositifs first)")
    data = data.sort_values("month").reset_index(drop=True)
    notes: list[str] = []
    n_missing = int(data[value].isna().sum())
    if n_missing:
        notes.append(f"{n_missing} mois sans valeur exclus de l'ajustement.")
    data = data[data[value].notna()]
    if exposure:
        bad = ~(data[exposure] > 0)
        if (data.loc[bad, value] > 0).any():
            raise ValueError("positive counts with zero or missing exposure")
        if bad.any():
            notes.append(f"{int(bad.sum())} mois sans exposition (capacité nulle) exclus.")
        data = data[~bad]
    return data.reset_index(drop=True), notes


def _monthly_design(months: pd.Series, time_centre: float, present: list[int]) -> pd.DataFrame:
    """Columns const, trend_years (centred, in years) and one dummy per present month ≠ January."""
    stamps = pd.to_datetime(pd.Series(months)).reset_index(drop=True)
    month_of_year = stamps.dt.month.to_numpy()
    month_index = stamps.dt.year.to_numpy() * 12 + month_of_year - 1
    t = (month_index - time_centre) / 12.0
    n = len(stamps)
    return pd.DataFrame(
        np.column_stack([np.ones(n), t] + [(month_of_year == m).astype(float) for m in present]),
        columns=["const", "trend_years"] + [f"month_{m:02d}" for m in present],
    )


def _breslow_alpha(y: np.ndarray, mu: np.ndarray, df_resid: int) -> float:
    """α such that Σ (y − μ)² / (μ + αμ²) = df_resid (0 if the left side is already ≤ df).

    The left side decreases in α, so the root is unique and bracketed by doubling.
    """
    r2 = (y - mu) ** 2

    def excess(a: float) -> float:
        return float(np.sum(r2 / (mu + a * mu**2))) - df_resid

    if excess(0.0) <= 0:
        return 0.0
    hi = 1.0
    while excess(hi) > 0:
        hi *= 2.0
        if hi > 1e8:
            return math.nan
    return float(optimize.brentq(excess, 0.0, hi, xtol=1e-14, rtol=1e-12))


def _fit_negative_binomial(
    endog: pd.Series, exog: pd.DataFrame, offset: np.ndarray, mu_start: np.ndarray
) -> tuple[Any, float] | None:
    """NB2 GLM with Breslow's moment estimate of α, iterated to a fixed point; None if it fails.

    Alternates α ← root of Pearson X²(α) = n − k at the current means and β ← the NB GLM with
    that α. The degrees of freedom make α̂ nearly unbiased where ML is biased downward (see
    the module docstring). α and β are asymptotically orthogonal in the NB2 model, so the
    GLM's Wald covariance of β with α fixed is the right one.
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    y = endog.to_numpy(dtype=float)
    df_resid = len(y) - exog.shape[1]
    mu = mu_start
    alpha = math.nan
    for _ in range(100):
        new = _breslow_alpha(y, mu, df_resid)
        if not (new > 0 and math.isfinite(new)):
            return None
        family = families.NegativeBinomial(alpha=new)
        try:
            result = GLM(endog, exog, family=family, offset=offset).fit()
        except (np.linalg.LinAlgError, ValueError):
            return None
        mu = result.fittedvalues.to_numpy()
        if abs(new - alpha) <= 1e-7 * new:
            ok = np.all(np.isfinite(result.params)) and np.all(np.isfinite(result.bse))
            return (result, new) if ok else None
        alpha = new
    return None


@dataclass(frozen=True)
class _CountFit:
    """The retained count GLM and what the callers need from it."""

    family: str
    result: Any
    params: np.ndarray
    cov: np.ndarray
    alpha: float | None
    mu: np.ndarray
    variance: np.ndarray
    overdispersion: OverdispersionTest

    @property
    def scale(self) -> float:
        """φ of a quasi-Poisson fit (its ``variance`` is φμ), 1 otherwise."""
        return self.overdispersion.dispersion if self.family == FAMILY_QUASI_POISSON else 1.0


def _fit_counts(endog: pd.Series, exog: pd.DataFrame, offset: np.ndarray) -> _CountFit:
    """Poisson GLM, then NB2 (Breslow α) if overdispersed, quasi-Poisson if NB fails.

    One code path for :func:`fit_monthly_model`, :func:`coverage_simulation` and the
    forecasts, so the simulations test exactly the published method, selection included.
    """
    from statsmodels.genmod import families
    from statsmodels.genmod.generalized_linear_model import GLM

    y = endog.to_numpy(dtype=float)
    poisson = GLM(endog, exog, family=families.Poisson(), offset=offset).fit()
    mu_p = poisson.fittedvalues.to_numpy()
    od = overdispersion_test(y, mu_p, int(poisson.df_resid))
    nb = _fit_negative_binomial(endog, exog, offset, mu_p) if od.overdispersed else None
    if nb is not None:
        result, alpha = nb
        mu = result.fittedvalues.to_numpy()
        return _CountFit(
            FAMILY_NB,
            result,
            result.params.to_numpy(),
            result.cov_params().to_numpy(),
            alpha,
            mu,
            mu + alpha * mu**2,
            od,
        )
    if od.overdispersed:  # NB failed: quasi-Poisson keeps valid (wider) CIs
        result = GLM(endog, exog, family=families.Poisson(), offset=offset).fit(scale="X2")
        return _CountFit(
            FAMILY_QUASI_POISSON,
            result,
            result.params.to_numpy(),
            result.cov_params().to_numpy(),
            None,
            mu_p,
            mu_p * od.dispersion,
            od,
        )
    return _CountFit(
        FAMILY_POISSON,
        poisson,
        poisson.params.to_numpy(),
        poisson.cov_params().to_numpy(),
        None,
        mu_p,
        mu_p,
        od,
    )


def _dependent_covariance(
    retained: _CountFit, y: np.ndarray, exog: np.ndarray
) -> tuple[np.ndarray, SerialCorrelation, float]:
    """The retained fit's covariance under serially correlated months, and its t quantile."""
    shape = retained.variance / retained.scale  # V(μ) of the family, without φ
    mu = retained.mu
    cov, serial = serial_covariance(exog, mu**2 / shape, (y - mu) / np.sqrt(shape))
    q = float(stats.t.ppf(1 - ALPHA_LEVEL / 2, len(y) - exog.shape[1]))
    return cov, serial, q


def fit_counts(endog: pd.Series, exog: pd.DataFrame, offset: np.ndarray) -> _CountFit:
    """The published count fit (Poisson, NB2 if overdispersed, quasi-Poisson if NB fails) on
    any design: for models whose columns :func:`fit_monthly_model` does not build (the winter
    forecast's winter-specific trend, ``observatoire.models.demand``)."""
    return _fit_counts(endog, exog, offset)


def fit_monthly_model(
    df: pd.DataFrame, value: str, exposure: str | None = None
) -> MonthlyModelResult:
    """Monthly count GLM: ``log E[y] = a + b·t + s(month of year) [+ log exposure]``.

    ``df`` has one row per month: ``month`` (timestamp), the count column ``value`` and,
    optionally, an ``exposure`` column (e.g. nights of capacity), entered as a log offset so
    that the model describes the *rate* per unit of exposure. ``t`` is time in years,
    centred; the month-of-year dummies (January = reference) absorb the seasonality, so
    exp(b) is the annual rate ratio at equal season. At least 24 months are required.

    Poisson first; if overdispersed (Pearson X²/df and Cameron–Trivedi, 5 % overall) the
    model is refitted as a negative binomial (NB2, α by Breslow's moment method, see the
    module docstring), whose Wald CIs account for the extra variance. The Ljung–Box test
    (12 lags) on the retained model's Pearson residuals checks the independence assumed by
    both models: a significant result means the CIs are optimistic (a note is added).
    Months with a missing count are dropped (noted); calendar gaps make the Ljung–Box test
    approximate.
    """
    data, notes = _prepare_monthly(df, value, exposure)
    n = len(data)
    if n < 24:
        raise ValueError(f"at least 24 months are needed, got {n}")
    y = data[value].to_numpy(dtype=float)
    _check_counts(y, "fit_monthly_model")

    month_of_year = data["month"].dt.month.to_numpy()
    if 1 not in month_of_year:
        raise ValueError("January (reference month) is absent from the data")
    month_index = data["month"].dt.year.to_numpy() * 12 + month_of_year - 1
    time_centre = float(month_index.mean())
    present = sorted(set(int(m) for m in month_of_year) - {1})
    exog = _monthly_design(data["month"], time_centre, present)
    offset = np.log(data[exposure].to_numpy(dtype=float)) if exposure else np.zeros(n, dtype=float)
    endog = pd.Series(y, name=value)
    k = exog.shape[1]

    retained = _fit_counts(endog, exog, offset)
    od = retained.overdispersion
    result, family, params, cov = retained.result, retained.family, retained.params, retained.cov
    alpha, mu, variance = retained.alpha, retained.mu, retained.variance
    if family == FAMILY_NB:
        notes.append(
            "Surdispersion détectée (X²/ddl = "
            f"{french_number(od.dispersion, 2)})\u00a0: modèle binomial négatif "
            f"(alpha = {french_number(alpha, 3)})."
        )
    elif family == FAMILY_QUASI_POISSON:
        notes.append(
            "Surdispersion détectée mais le modèle binomial négatif n'a pas convergé\u00a0: "
            "modèle quasi-Poisson."
        )

    pearson = (y - mu) / np.sqrt(variance)
    residual_dispersion = float(np.sum(pearson**2) / (n - k))
    weights = mu**2 / variance  # GLM working weights (log link), defining the hat matrix
    lb_stat, lb_p, lb_p_chi2 = ljung_box_glm(pearson, exog.to_numpy(), weights, lags=12)
    # Inference: the same estimates, a covariance that lets successive months be correlated
    # and the dispersion differ from the family's (see observatoire.models.inference).
    robust_cov, serial, q = _dependent_covariance(retained, y, exog.to_numpy())
    if lb_p < ALPHA_LEVEL:
        notes.append(
            "Autocorrélation résiduelle significative (Ljung–Box, 12 retards\u00a0: p "
            f"{_p_text(lb_p)})\u00a0: les intervalles en tiennent compte (corrélation estimée "
            f"entre deux mois successifs {french_number(serial.lag1, 2)})."
        )
    if n != (month_index.max() - month_index.min() + 1):
        notes.append("Série mensuelle incomplète\u00a0: le test de Ljung–Box est approximatif.")

    names = list(exog.columns)
    se = np.sqrt(np.diag(robust_cov))
    i = names.index("trend_years")
    b, se_b = float(params[i]), float(se[i])
    rr, lo, hi = math.exp(b), math.exp(b - q * se_b), math.exp(b + q * se_b)
    p_value = float(2 * stats.t.sf(abs(b / se_b), n - k)) if se_b > 0 else 0.0

    rows = []
    for m in range(1, 13):
        if m == 1:
            rows.append((1, MOIS_NOMS[0], 1.0, math.nan, math.nan))
        elif m in present:
            j = names.index(f"month_{m:02d}")
            rows.append(
                (
                    m,
                    MOIS_NOMS[m - 1],
                    math.exp(params[j]),
                    math.exp(params[j] - q * se[j]),
                    math.exp(params[j] + q * se[j]),
                )
            )
    seasonal = pd.DataFrame(rows, columns=["month", "mois", "rate_ratio", "ci_low", "ci_high"])

    fit, lower, upper = _mean_ci(exog.to_numpy(), params, robust_cov, offset, q)
    fitted = pd.DataFrame(
        {"month": data["month"], "observed": y, "fit": fit, "lower": lower, "upper": upper}
    )

    summary = _strip_timestamp(result.summary().as_text())
    summary += (
        f"\nSurdispersion (modèle de Poisson) : X²/ddl = {od.dispersion:.3f} "
        f"(p = {od.pearson_p:.4g}) ; Cameron–Trivedi alpha = {od.ct_alpha:.4g} "
        f"(t = {od.ct_t:.3f}, p unilatéral = {od.ct_p:.4g})"
        f"\nModèle retenu : {family} ; X²/ddl des résidus = {residual_dispersion:.3f} ; "
        f"Ljung–Box (12 retards) Q = {lb_stat:.2f}, p calibré = {lb_p:.4g} "
        f"(p chi2(12) naïf = {lb_p_chi2:.4g})"
        f"\nIntervalles : {SERIAL_METHOD} ; phi = {serial.phi:.3f}, corrélation w·rho^k avec "
        f"w = {serial.weight:.3f}, rho = {serial.rho:.3f} (retard 1 : {serial.lag1:.3f}) ; "
        f"Student t à {n - k} ddl"
    )
    if alpha is not None:
        summary += (
            f"\nBinomiale négative : alpha = {alpha:.4g} (méthode des moments de Breslow : "
            f"X² de Pearson = ddl résiduels = {n - k})"
        )
    prefix = "annuelle moyenne estimée" + (" du taux rapporté à l'exposition" if exposure else "")
    interpretation = _trend_sentence(rr, lo, hi, prefix, suffix=", à saisonnalité égale")
    return MonthlyModelResult(
        family=family,
        annual_rate_ratio=rr,
        ci_low=lo,
        ci_high=hi,
        p_value=p_value,
        dispersion=od.dispersion,
        residual_dispersion=residual_dispersion,
        alpha=alpha,
        ljung_box_stat=lb_stat,
        ljung_box_p=lb_p,
        ljung_box_p_chi2=lb_p_chi2,
        seasonal_effects=seasonal,
        fitted=fitted,
        summary_text=summary,
        interpretation=interpretation,
        overdispersion=od,
        n_months=n,
        exposure=exposure,
        notes=notes,
        params=pd.Series(params, index=exog.columns),
        cov_params=pd.DataFrame(cov, index=exog.columns, columns=exog.columns),
        time_centre=time_centre,
        serial=serial,
        robust_cov=pd.DataFrame(robust_cov, index=exog.columns, columns=exog.columns),
    )


# --------------------------------------------------------------------------------------------
# Year on year
# --------------------------------------------------------------------------------------------


def year_on_year(current: float, previous: float) -> RateRatio:
    """Rate ratio current / previous for two counts over equal exposure, with its 95 % CI.

    Both counts are treated as independent Poisson variables. With both positive the CI is
    the Wald interval on the log scale, se(log RR) = sqrt(1/a + 1/b), and the p-value the
    matching z-test. If one count is zero log RR is infinite and Wald is undefined; the CI
    is then the exact conditional one: given a + b, a is binomial with p = RR / (1 + RR), so
    the Clopper–Pearson interval for p maps to an interval for RR (0 when a = 0; ∞ when
    b = 0), with the exact binomial test of RR = 1. Both zero: everything is NaN.
    """
    a, b = float(current), float(previous)
    if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b < 0:
        raise ValueError("counts must be finite and non-negative")
    ic = f"IC 95{NNBSP}%{_NBSP}:"
    if a == 0 and b == 0:
        return RateRatio(
            a,
            b,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            "non défini",
            "Aucun cas sur les deux périodes\u00a0: l'évolution n'est pas définie.",
        )
    if a > 0 and b > 0:
        rr = a / b
        se = math.sqrt(1 / a + 1 / b)
        lo, hi = rr * math.exp(-_Z * se), rr * math.exp(_Z * se)
        p_value = float(2 * stats.norm.sf(abs(math.log(rr)) / se))
        method = "Wald (échelle log)"
        pct = 100 * (rr - 1)
        if lo > 1:
            head = f"Hausse de {_pct(pct)} par rapport à l'année précédente"
        elif hi < 1:
            head = f"Baisse de {_pct(-pct)} par rapport à l'année précédente"
        else:
            head = f"Évolution de {_pct(pct, signed=True)} par rapport à l'année précédente"
        detail = (
            f"(rapport de taux {french_number(rr, 2)}{NNBSP}; "
            f"{ic} {french_number(lo, 2)} à {french_number(hi, 2)})"
        )
        tail = "" if (lo > 1 or hi < 1) else f", non significative au seuil de 5{NNBSP}%"
        return RateRatio(a, b, rr, lo, hi, pct, p_value, method, f"{head} {detail}{tail}.")

    # One count is zero: exact conditional (Clopper–Pearson) interval.
    ai, bi = round(a), round(b)
    total = ai + bi
    ci = stats.binomtest(ai, total, 0.5).proportion_ci(1 - ALPHA_LEVEL, method="exact")
    p_value = float(stats.binomtest(ai, total, 0.5).pvalue)

    def to_rr(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p)

    lo, hi = to_rr(ci.low), to_rr(ci.high)
    method = "exact conditionnel"
    ic_exact = f"IC 95{NNBSP}% exact{_NBSP}:"
    if a == 0:
        text = (
            f"Aucun cas cette année contre {french_number(b)} l'année précédente "
            f"(rapport de taux 0{NNBSP}; {ic_exact} 0 à {french_number(hi, 2)})."
        )
        return RateRatio(a, b, 0.0, 0.0, hi, -100.0, p_value, method, text)
    text = (
        f"{french_number(a)} cas cette année contre aucun l'année précédente{_NBSP}: l'évolution "
        f"en pourcentage n'est pas définie (rapport de taux infini{NNBSP}; {ic_exact} "
        f"{french_number(lo, 2)} à l'infini)."
    )
    return RateRatio(a, b, math.inf, lo, math.inf, math.inf, p_value, method, text)


# --------------------------------------------------------------------------------------------
# STL
# --------------------------------------------------------------------------------------------


def stl(df: pd.DataFrame, value: str, period: int = 12, robust: bool = True) -> DecomposeResult:
    """STL decomposition (Cleveland et al. 1990) of a complete monthly series.

    The series is indexed by month (``MS`` frequency) so that the components keep their
    dates. ``robust=True`` down-weights outlying months (e.g. a shelter closure) so they end
    up in the residual rather than distorting trend and seasonality. STL is descriptive:
    use :func:`fit_monthly_model` for inference. Requires at least two full periods and no
    missing month.
    """
    if "month" not in df.columns or value not in df.columns:
        raise ValueError(f"df needs columns 'month' and {value!r}")
    months = pd.to_datetime(df["month"]).dt.to_period("M").dt.to_timestamp()
    series = pd.Series(df[value].to_numpy(dtype=float), index=pd.DatetimeIndex(months))
    series = series.sort_index()
    if series.index.duplicated().any():
        raise ValueError("one row per month expected")
    full = pd.date_range(series.index.min(), series.index.max(), freq="MS")
    if len(full) != len(series) or series.isna().any():
        raise ValueError("STL needs a complete monthly series (no missing month)")
    if len(series) < 2 * period:
        raise ValueError(f"STL needs at least {2 * period} months")
    series.index = full
    series.name = value
    from statsmodels.tsa.seasonal import STL

    return STL(series, period=period, robust=robust).fit()


# --------------------------------------------------------------------------------------------
# Coverage simulation
# --------------------------------------------------------------------------------------------

# Seasonality planted in the simulations (rate ratio of each calendar month, January first):
# winter high, summer low, as in the shelter and day-centre series.
SIMULATED_SEASONALITY: tuple[float, ...] = (
    1.00,
    0.98,
    0.92,
    0.75,
    0.72,
    0.70,
    0.68,
    0.68,
    0.72,
    0.80,
    0.92,
    0.98,
)


@dataclass(frozen=True)
class CoverageSimulation:
    """How often the 95 % CIs of the monthly model cover the truth.

    ``coverage`` = ``covered`` / ``replications`` for the annual rate ratio, with its Monte
    Carlo standard error ``mc_se``; ``seasonal_coverage`` the same for the July effect (July
    against January). ``families`` counts the family retained for the point estimates;
    ``mean_alpha_hat`` is the mean NB α̂ over the series fitted as NB (None if none was);
    ``mean_lag1`` the mean estimated correlation of successive months. ``latent_rho`` and
    ``latent_sd`` describe the planted dependence (0: independent months).
    """

    case: str
    replications: int
    covered: int
    coverage: float
    mc_se: float
    n_months: int
    level: float
    rate_ratio: float
    alpha: float
    seed: int
    families: dict[str, int]
    mean_alpha_hat: float | None
    latent_rho: float = 0.0
    latent_sd: float = 0.0
    seasonal_covered: int = 0
    seasonal_coverage: float = math.nan
    mean_lag1: float = math.nan

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready record."""
        return {
            "case": self.case,
            "replications": self.replications,
            "covered": self.covered,
            "coverage": self.coverage,
            "mc_se": self.mc_se,
            "seasonal_covered": self.seasonal_covered,
            "seasonal_coverage": self.seasonal_coverage,
            "n_months": self.n_months,
            "level": self.level,
            "rate_ratio": self.rate_ratio,
            "alpha": self.alpha,
            "latent_rho": self.latent_rho,
            "latent_sd": self.latent_sd,
            "seed": self.seed,
            "families": dict(self.families),
            "mean_alpha_hat": self.mean_alpha_hat,
            "mean_lag1": self.mean_lag1,
        }


def simulated_monthly_mean(
    n_months: int = 60, level: float = 100.0, rate_ratio: float = 1.06, start: str = "2020-01"
) -> pd.DataFrame:
    """``month`` and expected count ``mu``: trend ``rate_ratio`` per year around ``level``,
    times :data:`SIMULATED_SEASONALITY` (normalised to mean 1) — the truth of the simulations."""
    months = pd.date_range(start, periods=n_months, freq="MS")
    season = np.asarray(SIMULATED_SEASONALITY)
    season = season / season.mean()
    t = (np.arange(n_months) - (n_months - 1) / 2) / 12
    mu = level * rate_ratio**t * season[months.month - 1]
    return pd.DataFrame({"month": months, "mu": mu})


def draw_counts(
    rng: np.random.Generator,
    mu: np.ndarray,
    alpha: float,
    latent_rho: float = 0.0,
    latent_sd: float = 0.0,
) -> np.ndarray:
    """Poisson (α = 0) or NB2 counts with mean ``mu`` and variance μ + αμ², optionally
    multiplied by a latent AR(1) on the log scale (correlation ``latent_rho``, innovation sd
    ``latent_sd``, mean-corrected so that E[y] stays ``mu``): months that share their persons."""
    mu = np.asarray(mu, dtype=float)
    if latent_sd > 0:
        n = len(mu)
        sd0 = latent_sd / math.sqrt(1 - latent_rho**2)
        u = np.empty(n)
        u[0] = rng.normal(0.0, sd0)
        shocks = rng.normal(0.0, latent_sd, n)
        for i in range(1, n):
            u[i] = latent_rho * u[i - 1] + shocks[i]
        mu = mu * np.exp(u - sd0**2 / 2)
    if alpha <= 0:
        return rng.poisson(mu)
    return rng.negative_binomial(1 / alpha, 1 / (1 + alpha * mu))


def coverage_simulation(
    replications: int = 1000,
    alpha: float = 0.0,
    n_months: int = 60,
    level: float = 100.0,
    rate_ratio: float = 1.06,
    seed: int = 20240601,
    latent_rho: float = 0.0,
    latent_sd: float = 0.0,
) -> CoverageSimulation:
    """Coverage of the 95 % CIs of the annual rate ratio and of the July effect of
    :func:`fit_monthly_model`.

    Each replication draws a monthly series from :func:`simulated_monthly_mean` (Poisson if
    ``alpha`` is 0, NB2 otherwise, times a latent AR(1) if ``latent_sd`` > 0), runs the
    published estimation — the family chosen for the estimates, then the covariance under
    serially correlated months and the t quantile (the diagnostics that do not touch the CI,
    Ljung–Box and summary, are skipped for speed) — and checks whether the CIs cover the
    truth. Seeded; the Monte Carlo standard error is ≈ 0.7 point at 1 000 replications.
    """
    if replications < 1:
        raise ValueError("replications must be positive")
    truth = simulated_monthly_mean(n_months, level, rate_ratio)
    months = truth["month"]
    month_index = months.dt.year.to_numpy() * 12 + months.dt.month.to_numpy() - 1
    present = sorted(set(int(m) for m in months.dt.month) - {1})
    exog = _monthly_design(months, float(month_index.mean()), present)
    x = exog.to_numpy()
    offset = np.zeros(n_months)
    j = list(exog.columns).index("trend_years")
    js = list(exog.columns).index("month_07")
    season = np.asarray(SIMULATED_SEASONALITY)
    targets = (math.log(rate_ratio), math.log(season[6] / season[0]))
    rng = np.random.default_rng(seed)
    covered = seasonal = 0
    families: dict[str, int] = {}
    alphas: list[float] = []
    lag1: list[float] = []
    for _ in range(replications):
        y = draw_counts(rng, truth["mu"].to_numpy(), alpha, latent_rho, latent_sd)
        fit = _fit_counts(pd.Series(y, dtype=float), exog, offset)
        cov, serial, q = _dependent_covariance(fit, y.astype(float), x)
        covered += int(abs(fit.params[j] - targets[0]) <= q * math.sqrt(cov[j, j]))
        seasonal += int(abs(fit.params[js] - targets[1]) <= q * math.sqrt(cov[js, js]))
        families[fit.family] = families.get(fit.family, 0) + 1
        lag1.append(serial.lag1)
        if fit.alpha is not None:
            alphas.append(fit.alpha)
    coverage = covered / replications
    case = FAMILY_POISSON if alpha <= 0 else FAMILY_NB
    if latent_sd > 0:
        case += " + AR(1) latent"
    return CoverageSimulation(
        case=case,
        replications=replications,
        covered=covered,
        coverage=coverage,
        mc_se=math.sqrt(coverage * (1 - coverage) / replications),
        n_months=n_months,
        level=level,
        rate_ratio=rate_ratio,
        alpha=alpha,
        seed=seed,
        families=dict(sorted(families.items())),
        mean_alpha_hat=float(np.mean(alphas)) if alphas else None,
        latent_rho=latent_rho,
        latent_sd=latent_sd,
        seasonal_covered=seasonal,
        seasonal_coverage=seasonal / replications,
        mean_lag1=float(np.mean(lag1)),
    )


# --------------------------------------------------------------------------------------------
# Monthly models per dispositif
# --------------------------------------------------------------------------------------------

SERIES_LABELS: dict[str, str] = {
    "persons": "personnes distinctes",
    "contacts": "contacts",
    "nights": "nuitées",
    "demand": "nuitées demandées",
}
MIN_MONTHS = 24
MAX_ZERO_SHARE = 0.5


@dataclass(frozen=True)
class SeriesModel:
    """The monthly model of one series of one dispositif, or why it was not fitted.

    ``skipped`` is a French reason (too short, mostly zeros, fit impossible) when ``model``
    is None. ``zero_months`` counts the months at zero within the series' span.
    """

    dispositif: str
    series: str
    n_months: int
    zero_months: int
    model: MonthlyModelResult | None
    skipped: str | None = None

    def record(self) -> dict[str, Any]:
        """JSON-ready diagnostics: family, RR and CI, p, dispersion, α, Ljung–Box, notes."""
        m = self.model
        out: dict[str, Any] = {
            "dispositif": self.dispositif,
            "series": self.series,
            "n_months": self.n_months,
            "zero_months": self.zero_months,
            "skipped": self.skipped,
        }
        if m is None:
            return out
        out.update(
            {
                "family": m.family,
                "annual_rate_ratio": m.annual_rate_ratio,
                "ci_low": m.ci_low,
                "ci_high": m.ci_high,
                "p_value": m.p_value,
                "dispersion": m.dispersion,
                "ct_alpha": m.overdispersion.ct_alpha,
                "ct_p": m.overdispersion.ct_p,
                "alpha": m.alpha,
                "residual_dispersion": m.residual_dispersion,
                "ljung_box_p": m.ljung_box_p,
                "serial_lag1": m.serial.lag1 if m.serial is not None else None,
                "exposure": m.exposure,
                "interpretation": m.interpretation,
                "notes": list(m.notes),
            }
        )
        return out


def monthly_dispositif_counts(contacts: pd.DataFrame, end: str | pd.Timestamp) -> pd.DataFrame:
    """``month``, ``dispositif``, ``persons`` (distinct), ``contacts`` (rows) per calendar month.

    Each dispositif's months run from its first contact to ``end`` (the last month of the
    report year), months without any contact at zero: a month with no row is a month with
    no activity (the coverage table of the report is where missing exports are checked).
    ``persons`` are those active in the month, a stay counting in every month it covers (as in
    :func:`observatoire.indicators.counts.monthly_distinct_persons`); ``contacts`` are rows by the
    month they start.
    """
    end = pd.Timestamp(end).to_period("M").to_timestamp()
    covered = periods_covered(contacts, "M").rename(columns={"period": "month"})
    covered = covered[covered["month"] <= end]
    month = pd.to_datetime(contacts["date_start"]).dt.to_period("M").dt.to_timestamp()
    started = contacts.assign(month=month)
    started = started[started["month"] <= end]
    counts = pd.DataFrame(
        {
            "persons": covered.groupby(["dispositif", "month"])["person_id"].nunique(),
            "contacts": started.groupby(["dispositif", "month"]).size(),
        }
    ).fillna(0)
    counts = counts.reset_index()
    parts = []
    for disp, sub in counts.groupby("dispositif", sort=True):
        grid = pd.date_range(sub["month"].min(), end, freq="MS")
        full = sub.set_index("month")[["persons", "contacts"]].reindex(grid, fill_value=0)
        full = full.rename_axis("month").reset_index()
        full.insert(1, "dispositif", disp)
        parts.append(full)
    if not parts:
        return pd.DataFrame(columns=["month", "dispositif", "persons", "contacts"])
    out = pd.concat(parts, ignore_index=True)
    return out.astype({"persons": "int64", "contacts": "int64"})


def fit_series(
    frame: pd.DataFrame,
    value: str,
    dispositif: str,
    exposure: str | None = None,
    min_months: int = MIN_MONTHS,
    max_zero_share: float = MAX_ZERO_SHARE,
    start: pd.Timestamp | None = None,
) -> SeriesModel:
    """:func:`fit_monthly_model` on one series, or a recorded reason not to fit it.

    ``start``: the first month to model (earlier months are left-truncated, see
    :mod:`observatoire.models.truncation`); the months dropped are noted.

    A series shorter than ``min_months`` has too few seasonal cycles to separate trend from
    season; one with more than ``max_zero_share`` of zero months is too sparse for a
    12-dummy seasonal model (most month effects would be estimated from zeros).
    """
    dropped = 0
    if start is not None:
        keep = pd.to_datetime(frame["month"]) >= pd.Timestamp(start)
        dropped = int((~keep).sum())
        frame = frame[keep]
    values = frame[value]
    n = int(values.notna().sum())
    zeros = int((values == 0).sum())
    if n < min_months:
        reason = f"série trop courte\u00a0: {n} mois (au moins {min_months} requis)"
        if dropped:
            reason = (
                f"série tronquée à gauche\u00a0: {n} mois après les {dropped} premiers, "
                f"exclus (au moins {min_months} requis)"
            )
        return SeriesModel(dispositif, value, n, zeros, None, reason)
    if zeros > max_zero_share * n:
        reason = f"série presque toujours nulle\u00a0: {zeros} mois sur {n} à zéro"
        return SeriesModel(dispositif, value, n, zeros, None, reason)
    try:
        model = fit_monthly_model(frame, value, exposure=exposure)
    except ValueError as exc:
        return SeriesModel(dispositif, value, n, zeros, None, f"ajustement impossible\u00a0: {exc}")
    if zeros:
        model.notes.append(f"{zeros} mois sans aucun contact comptés à zéro.")
    if dropped:
        model.notes.append(
            f"{dropped} premiers mois exclus (troncature à gauche\u00a0: séjours commencés "
            "avant le début des données)."
        )
    return SeriesModel(dispositif, value, n, zeros, model)


def fit_dispositif_models(
    monthly: pd.DataFrame,
    series: tuple[str, ...] = ("persons", "contacts"),
    min_months: int = MIN_MONTHS,
    max_zero_share: float = MAX_ZERO_SHARE,
    starts: dict[str, pd.Timestamp | None] | None = None,
) -> dict[str, dict[str, SeriesModel]]:
    """Monthly model of each ``series`` of each dispositif of ``monthly``
    (as from :func:`monthly_dispositif_counts`), keyed by dispositif then series. ``starts``
    gives a dispositif's first month free of left truncation: its persons (a stock) are
    modelled from then on; its contacts (entries) are not truncated and keep every month."""
    out: dict[str, dict[str, SeriesModel]] = {}
    starts = starts or {}
    for disp, sub in monthly.groupby("dispositif", sort=True):
        sub = sub.sort_values("month")
        first = starts.get(str(disp), sub["month"].min())
        if first is None:  # never free of truncation: nothing left to model
            first = pd.Timestamp(sub["month"].max()) + pd.offsets.MonthBegin(1)
        out[str(disp)] = {
            s: fit_series(
                sub, s, str(disp), None, min_months, max_zero_share,
                start=first if s == "persons" else None,
            )
            for s in series
        }  # fmt: skip
    return out


def diagnostics_table(models: list[SeriesModel]) -> pd.DataFrame:
    """One row per series: the diagnostics the steering committee checks (saved as CSV)."""
    columns = [
        "dispositif",
        "series",
        "n_months",
        "zero_months",
        "family",
        "annual_rate_ratio",
        "ci_low",
        "ci_high",
        "p_value",
        "dispersion",
        "ct_alpha",
        "ct_p",
        "alpha",
        "residual_dispersion",
        "ljung_box_p",
        "serial_lag1",
        "exposure",
        "skipped",
    ]
    rows = [{c: m.record().get(c) for c in columns} for m in models]
    return pd.DataFrame(rows, columns=columns)


def paired_year_on_year(
    contacts: pd.DataFrame, year: int, dispositif: str | None = None
) -> PairedRateRatio:
    """Persons present in ``year`` against ``year − 1`` (of ``dispositif``, else the network),
    compared as paired samples: the persons of both years are counted once each
    (:func:`observatoire.models.inference.paired_rate_ratio`). Presence as in the report's
    tables (:func:`observatoire.core.presence.in_year`)."""
    rows = contacts if dispositif is None else contacts[contacts["dispositif"] == dispositif]
    current = set(in_year(rows, year)["person_id"])
    previous = set(in_year(rows, year - 1)["person_id"])
    return paired_rate_ratio(
        len(current & previous), len(current - previous), len(previous - current)
    )


def yoy_by_dispositif(contacts: pd.DataFrame, year: int) -> dict[str, PairedRateRatio]:
    """Persons of ``year`` vs ``year − 1`` per dispositif seen in either year, paired (see
    :func:`paired_year_on_year`)."""
    seen = pd.concat([in_year(contacts, y) for y in (year - 1, year)])["dispositif"]
    return {str(d): paired_year_on_year(contacts, year, str(d)) for d in sorted(seen.unique())}
