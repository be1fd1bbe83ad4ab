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
* monthly series (≥ 24 points): **negative binomial** (NB2) with α estimated by maximum
  likelihood (``statsmodels.discrete.discrete_model.NegativeBinomial``), which then also
  gives a likelihood, an α with its standard error, and residuals on a sound scale.

French strings (``family``, ``interpretation``, ``notes``) are meant for the report reader;
``summary_text`` is the statsmodels summary for the methodological annex or notebook.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.tools.sm_exceptions import ConvergenceWarning
from statsmodels.tsa.seasonal import STL, DecomposeResult

from observatoire.charts import MOIS_NOMS, NNBSP, french_number, french_percent

__all__ = [
    "FAMILY_NB",
    "FAMILY_POISSON",
    "FAMILY_QUASI_POISSON",
    "MonthlyModelResult",
    "OverdispersionTest",
    "RateRatio",
    "TrendResult",
    "fit_monthly_model",
    "fit_yearly_trend",
    "ljung_box_glm",
    "overdispersion_test",
    "stl",
    "year_on_year",
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

    @property
    def annual_percent_change(self) -> float:
        """Annual change in percent, 100 × (RR − 1)."""
        return 100 * (self.annual_rate_ratio - 1)


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


def fit_yearly_trend(counts: pd.Series) -> TrendResult:
    """Annual log-linear trend of a yearly count series: ``log E[count] = a + b·(year − ȳ)``.

    ``counts`` is indexed by year (e.g. 2020..2024; gaps allowed), at least 3 years. A
    Poisson GLM is fitted and tested for overdispersion (Pearson X²/df and Cameron–Trivedi,
    5 % overall). If overdispersed it is refitted as **quasi-Poisson** rather than negative
    binomial: with ~5 points the ML estimate of the NB α is unstable and the two variance
    forms are indistinguishable, while quasi-Poisson keeps the Poisson estimates, inflates
    the covariance by φ = X²/df and uses Student t quantiles on n − 2 df, which is the
    honest price of estimating φ from so few points. Centring the year makes the intercept
    the log count at the mid-period and keeps the fit numerically stable.
    """
    series = pd.Series(counts, dtype=float)
    if series.isna().any():
        raise ValueError("counts contains missing values: a missing year cannot be a zero")
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
    poisson = sm.GLM(endog, exog, family=sm.families.Poisson()).fit()
    od = overdispersion_test(y, poisson.fittedvalues.to_numpy(), int(poisson.df_resid))

    if od.overdispersed:
        result = sm.GLM(endog, exog, family=sm.families.Poisson()).fit(scale="X2", use_t=True)
        family = FAMILY_QUASI_POISSON
        q = float(stats.t.ppf(1 - ALPHA_LEVEL / 2, result.df_resid))
    else:
        result = poisson
        family = FAMILY_POISSON
        q = _Z

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
        f"\nSurdispersion (modèle de Poisson) : X²/ddl = {od.dispersion:.3f} "
        f"(p = {od.pearson_p:.4g}) ; Cameron–Trivedi alpha = {od.ct_alpha:.4g} "
        f"(t = {od.ct_t:.3f}, p unilatéral = {od.ct_p:.4g})"
    )
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


def _fit_negative_binomial(
    endog: pd.Series,
    exog: pd.DataFrame,
    offset: np.ndarray,
    poisson: Any,
    od: OverdispersionTest,
) -> Any | None:
    """NB2 maximum likelihood fit, or None if it fails.

    BFGS works on log α (statsmodels' internal transform), so α stays positive even when
    the MLE is near the Poisson boundary α = 0; Newton, tried second, steps in α itself.
    """
    model = NegativeBinomial(endog, exog, loglike_method="nb2", offset=offset)
    start = np.append(poisson.params.to_numpy(), max(od.ct_alpha, 0.01))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        for method, maxiter in (("bfgs", 1000), ("newton", 100)):
            try:
                result = model.fit(start_params=start, method=method, maxiter=maxiter, disp=0)
            except (np.linalg.LinAlgError, ValueError):
                continue
            ok = result.mle_retvals.get("converged", False)
            if ok and np.all(np.isfinite(result.params)) and np.all(np.isfinite(result.bse)):
                return result
    return None


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
    model is refitted as a negative binomial (NB2, α by maximum likelihood), whose Wald CIs
    account for the extra variance. The Ljung–Box test (12 lags) on the retained model's
    Pearson residuals checks the independence assumed by both models: a significant result
    means the CIs are optimistic (a note is added). Months with a missing count are dropped
    (noted); calendar gaps make the Ljung–Box test approximate.
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
    t = (month_index - month_index.mean()) / 12.0
    present = sorted(set(int(m) for m in month_of_year) - {1})
    exog = pd.DataFrame(
        np.column_stack([np.ones(n), t] + [(month_of_year == m).astype(float) for m in present]),
        columns=["const", "trend_years"] + [f"month_{m:02d}" for m in present],
    )
    offset = np.log(data[exposure].to_numpy(dtype=float)) if exposure else np.zeros(n, dtype=float)
    endog = pd.Series(y, name=value)
    k = exog.shape[1]

    poisson = sm.GLM(endog, exog, family=sm.families.Poisson(), offset=offset).fit()
    mu_p = poisson.fittedvalues.to_numpy()
    od = overdispersion_test(y, mu_p, int(poisson.df_resid))

    alpha: float | None = None
    nb = _fit_negative_binomial(endog, exog, offset, poisson, od) if od.overdispersed else None
    if nb is not None:
        result = nb
        family = FAMILY_NB
        params = nb.params.to_numpy()[:k]
        cov = nb.cov_params().to_numpy()[:k, :k]
        alpha = float(nb.params.iloc[-1])
        mu = np.exp(exog.to_numpy() @ params + offset)
        variance = mu + alpha * mu**2
        notes.append(
            "Surdispersion détectée (X²/ddl = "
            f"{french_number(od.dispersion, 2)})\u00a0: modèle binomial négatif "
            f"(alpha = {french_number(alpha, 3)})."
        )
    elif od.overdispersed:  # NB did not converge: quasi-Poisson keeps valid (wider) CIs
        result = sm.GLM(endog, exog, family=sm.families.Poisson(), offset=offset).fit(scale="X2")
        family = FAMILY_QUASI_POISSON
        params = result.params.to_numpy()
        cov = result.cov_params().to_numpy()
        mu = mu_p
        variance = mu * od.dispersion
        notes.append(
            "Surdispersion détectée mais le modèle binomial négatif n'a pas convergé\u00a0: "
            "modèle quasi-Poisson."
        )
    else:
        result = poisson
        family = FAMILY_POISSON
        params = poisson.params.to_numpy()
        cov = poisson.cov_params().to_numpy()
        mu = mu_p
        variance = mu

    pearson = (y - mu) / np.sqrt(variance)
    residual_dispersion = float(np.sum(pearson**2) / (n - k))
    weights = mu**2 / variance  # GLM working weights (log link), defining the hat matrix
    lb_stat, lb_p, lb_p_chi2 = ljung_box_glm(pearson, exog.to_numpy(), weights, lags=12)
    if lb_p < ALPHA_LEVEL:
        notes.append(
            "Autocorrélation résiduelle significative (Ljung–Box, 12 retards\u00a0: p "
            f"{_p_text(lb_p)})\u00a0: les intervalles de confiance sont probablement "
            "trop étroits."
        )
    if n != (month_index.max() - month_index.min() + 1):
        notes.append("Série mensuelle incomplète\u00a0: le test de Ljung–Box est approximatif.")

    names = list(exog.columns)
    se = np.sqrt(np.diag(cov))
    i = names.index("trend_years")
    b, se_b = float(params[i]), float(se[i])
    rr, lo, hi = math.exp(b), math.exp(b - _Z * se_b), math.exp(b + _Z * se_b)
    p_value = float(2 * stats.norm.sf(abs(b / se_b)))

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
                    math.exp(params[j] - _Z * se[j]),
                    math.exp(params[j] + _Z * se[j]),
                )
            )
    seasonal = pd.DataFrame(rows, columns=["month", "mois", "rate_ratio", "ci_low", "ci_high"])

    fit, lower, upper = _mean_ci(exog.to_numpy(), params, cov, offset, _Z)
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
    return STL(series, period=period, robust=robust).fit()
