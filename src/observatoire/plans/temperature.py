"""The effect of temperature on daily demand: a count model with its diagnostics.

**Estimand.** The *rate ratio of daily demand per degree beyond a threshold*: for the winter,
the multiplicative change in the expected nights demanded (nights used + refusals) for each °C
the night minimum temperature falls below ``threshold`` (0 °C by default), all else equal (day
of the week, month of the season, long-run trend); for the summer, per °C the day maximum rises
above ``threshold`` (25 °C), in the visits of a day service. The coefficient ``β`` of the hinge
term ``max(0, threshold − tmin)`` (or ``max(0, tmax − threshold)``) is the log rate ratio;
``exp(β)`` is printed with its 95 % interval. A natural cubic spline of the temperature
(patsy ``cr``) is fitted beside it as a check of the form, and gives the second contrast the
report prints: the expected demand at −5 °C over that at 5 °C (30 °C over 20 °C in summer).

**Model.** A GLM with a log link (statsmodels): ``demand ~ hinge + C(weekday) + C(month) +
trend`` (trend in years since the first day). The threshold is fixed in advance (a
parameter), not searched on the data, so the interval is not made too narrow by a search.

**Family.** Poisson first; its Pearson dispersion (χ²/df) decides: above
``DISPERSION_LIMIT`` (1.5) the counts vary more than Poisson allows and the model is a negative
binomial (NB2, α estimated by maximum likelihood), otherwise a quasi-Poisson (Poisson mean,
variance φμ). The point estimate is the GLM's; its standard errors are not.

**Days are not independent.** A cold spell fills the shelter several nights in a row, and
persons come back: the residuals are autocorrelated (the Ljung–Box test of the Pearson
residuals is reported). The interval of ``β`` is a **delete-a-block jackknife** over
calendar fortnights (``BLOCK_DAYS`` = 14 consecutive days; the days of one block are left
out together, the model is refitted, and the variance is (G − 1)/G Σ (β₋g − β̄)² over the G
blocks), with a Student t critical value on G − 1 degrees of freedom. A block keeps the
dependence within a fortnight inside the block, and the jackknife variance errs on the large
side (Efron–Stein), where a sandwich errs on the small side when the effect rests on a few
dozen cold days. Measured on planted truth (``bench/plans_temperature.py``, 100 seeds): the
Newey–West (HAC) interval, the first choice, covered the planted effect 91 % of the time
(88 % with strong autocorrelation; its standard error 16 % too small), a moving-block
bootstrap and a GEE with an AR(1) working correlation about 93 %; the fortnight jackknife
94 % (cold), 96 % (heat), 95 % (no effect), 92 % (strong autocorrelation). The Newey–West
standard error (Bartlett kernel, ``maxlags`` = ⌊4 (n/100)^(2/9)⌋, at least 7 days) is still
reported beside it (``se_hac``), and serves the spline contrast.

**Naive baseline.** The unadjusted ratio of mean demand on cold nights (below
``threshold − 5``) to mild nights (at or above ``threshold``), and the hinge coefficient
without any control: the report sets them beside the adjusted estimate, so that a reader sees
how much of the crude difference is the season and the trend rather than the cold.

The planted effect of the synthetic sample is recovered in ``tests/unit/plans`` (one seed) and
the interval's coverage over many seeds in ``bench/plans_temperature.py``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from patsy import build_design_matrices
from scipy import stats
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.stats.diagnostic import acorr_ljungbox

__all__ = [
    "BLOCK_DAYS",
    "DISPERSION_LIMIT",
    "MIN_DAYS",
    "COLD",
    "HEAT",
    "Direction",
    "TemperatureEffect",
    "fit_temperature_effect",
    "block_jackknife",
    "hac_lags",
]

DISPERSION_LIMIT = 1.5
"""Pearson χ²/df of the Poisson fit above which the model is a negative binomial."""
BLOCK_DAYS = 14
"""Length of the jackknife's blocks (consecutive calendar days left out together)."""
MIN_DAYS = 60
"""Fewer days with demand and temperature: no model (too few to separate the cold from the
month and the weekday)."""


@dataclass(frozen=True)
class Direction:
    """Which side of the threshold the effect is estimated on."""

    covariate: str  # "tmin" or "tmax"
    below: bool  # True: degrees below the threshold (cold); False: above (heat)
    threshold: float
    contrast: tuple[float, float]  # (extreme, mild) temperatures of the spline contrast
    label: str


COLD = Direction("tmin", True, 0.0, (-5.0, 5.0), "par degré de température minimale sous 0 °C")
HEAT = Direction(
    "tmax", False, 25.0, (30.0, 20.0), "par degré de température maximale au-delà de 25 °C"
)


def hac_lags(n: int) -> int:
    """Newey–West's rule of thumb ⌊4 (n/100)^(2/9)⌋, at least a week."""
    return max(7, int(math.floor(4 * (n / 100) ** (2 / 9))))


@dataclass(frozen=True)
class TemperatureEffect:
    """The fitted effect and everything the report prints about it."""

    outcome: str
    covariate: str
    threshold: float
    n_days: int
    family: str  # "negative binomial" or "quasi-Poisson"
    dispersion: float  # Pearson χ²/df of the Poisson fit
    alpha: float | None  # NB2 α (None under quasi-Poisson)
    log_rr: float
    se: float  # block jackknife
    ci95: tuple[float, float]  # of the log rate ratio (jackknife, t on blocks − 1 df)
    se_hac: float  # Newey–West, for comparison
    blocks: int
    hac_maxlags: int
    ljung_box_p: dict[int, float]  # lag → p-value of the Pearson residuals
    acf1: float  # lag-1 autocorrelation of the Pearson residuals
    naive_ratio: float | None  # mean demand cold (or hot) days / mild days, unadjusted
    naive_days: tuple[int, int]
    naive_log_rr: float  # hinge coefficient without controls
    spline_contrast: float | None  # expected demand at contrast[0] / at contrast[1]
    spline_ci95: tuple[float, float] | None
    contrast: tuple[float, float]
    days_beyond: int  # days on the effect side of the threshold
    notes: list[str] = field(default_factory=list)

    @property
    def rate_ratio(self) -> float:
        return math.exp(self.log_rr)

    @property
    def rate_ratio_ci95(self) -> tuple[float, float]:
        return (math.exp(self.ci95[0]), math.exp(self.ci95[1]))

    def to_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "covariate": self.covariate,
            "threshold": self.threshold,
            "n_days": self.n_days,
            "days_beyond": self.days_beyond,
            "family": self.family,
            "dispersion": self.dispersion,
            "alpha": self.alpha,
            "log_rr": self.log_rr,
            "se": self.se,
            "ci95": list(self.ci95),
            "se_hac": self.se_hac,
            "blocks": self.blocks,
            "interval": f"jackknife par blocs de {BLOCK_DAYS} jours",
            "rate_ratio": self.rate_ratio,
            "rate_ratio_ci95": list(self.rate_ratio_ci95),
            "hac_maxlags": self.hac_maxlags,
            "ljung_box_p": {str(k): v for k, v in self.ljung_box_p.items()},
            "acf1": self.acf1,
            "naive_ratio": self.naive_ratio,
            "naive_days": list(self.naive_days),
            "naive_log_rr": self.naive_log_rr,
            "spline_contrast": self.spline_contrast,
            "spline_ci95": None if self.spline_ci95 is None else list(self.spline_ci95),
            "contrast": list(self.contrast),
            "notes": list(self.notes),
        }


def _design(frame: pd.DataFrame, direction: Direction) -> pd.DataFrame:
    d = frame.copy()
    d["date"] = pd.to_datetime(d["date"])
    d = d.sort_values("date").reset_index(drop=True)
    t = d[direction.covariate].astype("float64")
    d["temp"] = t
    d["hinge"] = (direction.threshold - t if direction.below else t - direction.threshold).clip(
        lower=0
    )
    d["weekday"] = d["date"].dt.dayofweek
    d["month"] = d["date"].dt.month
    d["trend"] = (d["date"] - d["date"].min()).dt.days / 365.25
    return d


def _fit(formula: str, data: pd.DataFrame, family: families.Family, lags: int) -> Any:
    return smf.glm(formula, data=data, family=family).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}
    )


def _nb_alpha(formula: str, data: pd.DataFrame) -> float:
    """NB2 α by maximum likelihood (statsmodels' discrete negative binomial)."""
    res = smf.negativebinomial(formula, data=data).fit(disp=0, maxiter=200)
    return float(res.params["alpha"])


def block_jackknife(
    model: Any, params: pd.Series, term: str, blocks: np.ndarray
) -> tuple[float, int]:
    """Delete-a-block jackknife standard error of ``params[term]`` (refits of ``model``'s
    GLM without each block's days) and the number of blocks."""
    y, x = np.asarray(model.endog), np.asarray(model.exog)
    j = list(model.exog_names).index(term)
    ids = np.unique(blocks)
    est = []
    for g in ids:
        keep = blocks != g
        fit = GLM(y[keep], x[keep], family=model.family).fit(
            start_params=params.to_numpy(), maxiter=50
        )
        est.append(float(fit.params[j]))
    e = np.asarray(est)
    n = len(ids)
    return float(math.sqrt((n - 1) / n * np.sum((e - e.mean()) ** 2))), n


def _controls(data: pd.DataFrame) -> str:
    terms = []
    if data["weekday"].nunique() > 1:
        terms.append("C(weekday)")
    if data["month"].nunique() > 1:
        terms.append("C(month)")
    if data["trend"].max() > 0.5:
        terms.append("trend")
    return " + ".join(terms)


def _spline_contrast(
    data: pd.DataFrame, outcome: str, controls: str, family: Any, lags: int, d: Direction
) -> tuple[float | None, tuple[float, float] | None]:
    """exp of the difference of the linear predictor at the two contrast temperatures, with
    its HAC delta-method interval (the controls cancel in the difference)."""
    lo, hi = float(data["temp"].min()), float(data["temp"].max())
    a, b = d.contrast
    if not (lo <= min(a, b) and max(a, b) <= hi):
        return None, None
    rhs = 'cr(temp, df=4, constraints="center")' + (f" + {controls}" if controls else "")
    res = _fit(f"{outcome} ~ {rhs}", data, family, lags)
    base = data.iloc[[0, 0]].copy()
    base["temp"] = [a, b]
    design = res.model.data.model_spec
    x = np.asarray(build_design_matrices([design], base)[0])
    diff = x[0] - x[1]
    est = float(diff @ res.params.to_numpy())
    se = float(math.sqrt(diff @ res.cov_params().to_numpy() @ diff))
    return math.exp(est), (math.exp(est - 1.96 * se), math.exp(est + 1.96 * se))


def fit_temperature_effect(
    frame: pd.DataFrame,
    direction: Direction = COLD,
    outcome: str = "demand",
) -> TemperatureEffect:
    """Fit the model of the module docstring on ``frame`` (``date``, ``outcome``, and
    ``direction.covariate``: one row per day; days with a missing value are left out).

    Raises a French :class:`ValueError` when there are too few days or no day beyond the
    threshold (no contrast to estimate)."""
    need = ["date", outcome, direction.covariate]
    missing = [c for c in need if c not in frame.columns]
    if missing:
        raise ValueError(f"colonnes manquantes pour le modèle de température : {missing}")
    data = _design(frame.dropna(subset=need), direction)
    n = len(data)
    beyond = int((data["hinge"] > 0).sum())
    if n < MIN_DAYS:
        raise ValueError(
            f"trop peu de jours avec demande et température ({n}, il en faut {MIN_DAYS})"
        )
    side = "sous" if direction.below else "au-delà de"
    if beyond < 10:
        raise ValueError(
            f"trop peu de jours {side} {direction.threshold:g} °C ({beyond}) pour estimer l'effet"
        )
    lags = hac_lags(n)
    controls = _controls(data)
    formula = f"{outcome} ~ hinge" + (f" + {controls}" if controls else "")
    poisson = smf.glm(formula, data=data, family=families.Poisson()).fit()
    dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
    notes: list[str] = []
    if dispersion > DISPERSION_LIMIT:
        alpha = _nb_alpha(formula, data)
        family: Any = families.NegativeBinomial(alpha=alpha)
        family_name = "negative binomial"
    else:
        alpha = None
        family = families.Poisson()
        family_name = "quasi-Poisson"
    res = _fit(formula, data, family, lags)
    beta, se_hac = float(res.params["hinge"]), float(res.bse["hinge"])
    blocks = ((data["date"] - data["date"].min()).dt.days // BLOCK_DAYS).to_numpy()
    se, n_blocks = block_jackknife(res.model, res.params, "hinge", blocks)
    crit = float(stats.t.ppf(0.975, n_blocks - 1))
    resid = np.asarray(res.resid_pearson)
    lb = acorr_ljungbox(resid, lags=[7, 14], return_df=True)
    acf1 = float(np.corrcoef(resid[:-1], resid[1:])[0, 1])
    # naive baselines
    t = data["temp"]
    cold = (t < direction.threshold - 5) if direction.below else (t > direction.threshold + 5)
    mild = (t >= direction.threshold) if direction.below else (t <= direction.threshold)
    naive_ratio = (
        float(data.loc[cold, outcome].mean() / data.loc[mild, outcome].mean())
        if cold.sum() and mild.sum() and data.loc[mild, outcome].mean() > 0
        else None
    )
    naive = smf.glm(f"{outcome} ~ hinge", data=data, family=families.Poisson()).fit()
    contrast, contrast_ci = _spline_contrast(data, outcome, controls, family, lags, direction)
    if contrast is None:
        notes.append(
            f"contraste {direction.contrast[0]:g} °C / {direction.contrast[1]:g} °C hors de la "
            "plage des températures observées : non calculé"
        )
    return TemperatureEffect(
        outcome=outcome,
        covariate=direction.covariate,
        threshold=direction.threshold,
        n_days=n,
        family=family_name,
        dispersion=dispersion,
        alpha=alpha,
        log_rr=beta,
        se=se,
        ci95=(beta - crit * se, beta + crit * se),
        se_hac=se_hac,
        blocks=n_blocks,
        hac_maxlags=lags,
        ljung_box_p={int(k): float(v) for k, v in lb["lb_pvalue"].items()},
        acf1=acf1,
        naive_ratio=naive_ratio,
        naive_days=(int(cold.sum()), int(mild.sum())),
        naive_log_rr=float(naive.params["hinge"]),
        spline_contrast=contrast,
        spline_ci95=contrast_ci,
        contrast=direction.contrast,
        days_beyond=beyond,
        notes=notes,
    )
