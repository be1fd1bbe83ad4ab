"""Participation in a project's activities, the tenants' council, and the council's effect.

Inputs are the canonical tables ``project_attendance`` (one row per person present at a session)
and ``project_activities`` (one row per session held) of ONE project (``partner_id`` = project id),
all years available (so that « first ever » looks back before the report year).

Estimands and rules (stated here, printed by the report):

* **Participants.** Persons whose ``role`` is one of ``participant_roles`` (by default tenants,
  players and « autre »: the people the project is for; volunteers and workers are counted in their
  own ``participants_<role>`` columns but not as participants). A person present twice at the same
  session counts once (rows are de-duplicated on session × person).
* **Per month** (months of the report year): sessions held (distinct ``activity_id`` of the
  activities table, plus sessions only known from attendance), presences (session × participant),
  distinct participants, **new** (first presence ever in the data — left-censored at the first
  month of the data: in the first months everyone looks new) vs **returning**, and distinct
  persons per role.
* **Sessions per participant**: distribution over the report year of the number of distinct
  sessions each participant attended (median and IQR beside it).
* **Retention.** (a) Per month *m* of the year: share of the month's participants present again in
  *m*+1…*m*+3 (a month whose three following months pass the end of observation is censored, not
  counted as a loss). (b) Headline ``retention_3_mois``: among the year's **new** participants whose
  first month *f* has three observed months after it, the share present again in *f*+1…*f*+3 — one
  row per person, so the Wilson interval is valid (the monthly shares pool person-months and are
  descriptive). (c) Cohort table: new participants by first month and how many are present in each
  of the six following months. The end of observation is the last month with a session, capped at
  December of the report year.
* **Council.** Per council session of the year: distinct participants present; mean per session;
  distinct participants who ever attended (in the year, and since the council started).
* **Council effect** (the planted estimand of the sample): ratio of the monthly number of distinct
  participants in **non-council** activities *per non-council session held*, after vs before the
  council's start month. Model: ``log E[y_m] = log(sessions_m) + b0 + b1·t + b2·after_m
  + b3·sin(2πm/12) + b4·cos(2πm/12)``: the annual harmonic (seasonality guard, pre-specified, not
  selected on the data) is in the model from 24 months of data on; below, it is left out and the
  report says seasonality cannot be separated. The estimate without the harmonic is reported
  beside it with the dispersion-scaled likelihood-ratio p-value of the harmonic (on two years,
  seasons and a step in month 15 are partly confounded: a trend-only model can be biased by a
  seasonal profile — 1.77 for a planted 1.5 on the sample's season — where the harmonic model
  is not, at the cost of a wider interval). A Poisson GLM is replaced by a negative binomial
  (NB2) when the Pearson χ²/df exceeds :data:`OVERDISPERSION` or the Cameron–Trivedi test
  rejects equidispersion at 5 %; when the counts are **underdispersed** (lower tail of the
  Pearson χ² on its residual df below :data:`UNDERDISPERSION_P`: months vary less than a Poisson
  count would — e.g. a stable pool of regulars), the Poisson interval is too wide (the sample:
  χ²/df = 0.04, Poisson interval 0.75–3.01 around 1.51), so the scale is estimated instead
  (quasi-Poisson: Pearson χ²/df, the same point estimate) and the interval uses Student's *t* on
  the residual df (the scale comes from about twenty months). Estimate ``exp(b2)`` with its
  95 % CI;
  diagnostics: lag-1 autocorrelation and Ljung–Box p-value of the Pearson residuals, plus a
  Newey–West (HAC, lag 1) interval of the Poisson fit, for information only (on 24 months it
  undercovers: ~80 % for a nominal 95 %, ``bench/projects_methods.py``). Baseline: the naive
  before/after ratio of participants per session with an exact conditional interval (it mixes the
  effect with any trend and season).
  Months with no non-council session are left out (no exposure). A segmented regression on one
  series is not a randomised comparison: anything else that changed at the council's start is in
  the estimate (the report says so).

Thin data never raise: a measure that cannot be computed carries a French « non calculé » reason.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import binomtest, chi2
from scipy.stats import t as student_t
from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.stats.diagnostic import acorr_ljungbox

from observatoire.core.stats import proportion_ci
from observatoire.core.storage import json_safe

__all__ = [
    "COHORT_MONTHS",
    "MIN_MONTHS_SIDE",
    "OVERDISPERSION",
    "UNDERDISPERSION_P",
    "PARTICIPANT_ROLES",
    "RETENTION_MONTHS",
    "ROLES",
    "CouncilEffect",
    "ParticipationResult",
    "ProposalsResult",
    "council_effect",
    "council_panel",
    "council_proposals",
    "participation",
]

ROLES = ("locataire", "joueur", "volontaire", "travailleur", "autre")
PARTICIPANT_ROLES = ("locataire", "joueur", "autre")
RETENTION_MONTHS = 3
COHORT_MONTHS = 6
MIN_MONTHS_SIDE = 3
"""Months with sessions needed on each side of the council's start to fit the effect."""
OVERDISPERSION = 1.5
"""Pearson χ²/df above which the Poisson model is replaced by the negative binomial."""
UNDERDISPERSION_P = 0.05
"""Lower-tail p of the Pearson χ² below which the Poisson scale is estimated (quasi-Poisson)."""
SEASONAL_MONTHS = 24
"""Months of data from which the model carries an annual harmonic (the seasonality guard)."""
NON_CALCULE = "non calculé : "


def _as_period(value: Any) -> pd.Period | None:
    """``"2024-03"``, a date or a Period → the monthly Period; None/NaN/"" → None."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Period):
        return value.asfreq("M")
    if isinstance(value, str):
        return pd.Period(value.strip()[:7], freq="M") if value.strip() else None
    return pd.Period(pd.Timestamp(value), freq="M")


def _prepare(attendance: pd.DataFrame, participant_roles: Iterable[str]) -> pd.DataFrame:
    """Attendance rows with ``month``, de-duplicated on session × person; ``is_participant``."""
    cols = ["activity_id", "date", "activity", "participant_id", "role"]
    a = (
        attendance[cols].copy()
        if attendance is not None and len(attendance)
        else pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    )
    a["date"] = pd.to_datetime(a["date"])
    a = a[a["date"].notna() & a["participant_id"].notna() & (a["participant_id"] != "")]
    a = a.drop_duplicates(["activity_id", "participant_id"]).reset_index(drop=True)
    a["role"] = a["role"].fillna("autre").replace("", "autre")
    a["month"] = pd.PeriodIndex(a["date"], freq="M")
    a["is_participant"] = a["role"].isin(list(participant_roles))
    return a


def _sessions(activities: pd.DataFrame, att: pd.DataFrame) -> pd.DataFrame:
    """One row per session: ``activity_id``, ``date``, ``activity``, ``month`` (activities table
    first, sessions only known from attendance added)."""
    cols = ["activity_id", "date", "activity"]
    parts = []
    if activities is not None and len(activities):
        parts.append(activities[cols])
    if len(att):
        parts.append(att[cols])
    if not parts:
        parts.append(pd.DataFrame({c: pd.Series(dtype="object") for c in cols}))
    s = pd.concat(parts, ignore_index=True)
    s["date"] = pd.to_datetime(s["date"])
    s = s[s["date"].notna()].drop_duplicates("activity_id").reset_index(drop=True)
    s["month"] = pd.PeriodIndex(s["date"], freq="M")
    return s


# --- council effect ---------------------------------------------------------------------------


@dataclass
class CouncilEffect:
    """Rate ratio of distinct non-council participants per session, after vs before the council."""

    computed: bool
    reason: str = ""
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p_value: float = math.nan
    model: str = ""
    """French description of the fitted model (family, offset, terms), printed by the report."""
    family: str = ""
    terms: list[str] = field(default_factory=list)
    naive: float = math.nan
    naive_ci_low: float = math.nan
    naive_ci_high: float = math.nan
    months_before: int = 0
    months_after: int = 0
    pearson_chi2_df: float = math.nan
    poisson_chi2_df: float = math.nan
    cameron_trivedi_p: float = math.nan
    underdispersion_p: float = math.nan
    alpha: float | None = None
    acf1: float = math.nan
    ljung_box_p: float = math.nan
    hac_ci_low: float = math.nan
    hac_ci_high: float = math.nan
    estimate_without_season: float = math.nan
    season_p: float = math.nan
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``effet_conseil.json``: estimate, ci_low, ci_high, naive, model,
        diagnostics (and the reason when not computed)."""
        d = asdict(self)
        diag = {
            k: d.pop(k)
            for k in (
                "pearson_chi2_df",
                "poisson_chi2_df",
                "cameron_trivedi_p",
                "underdispersion_p",
                "alpha",
                "acf1",
                "ljung_box_p",
                "hac_ci_low",
                "hac_ci_high",
                "estimate_without_season",
                "season_p",
                "months_before",
                "months_after",
                "terms",
                "p_value",
            )
        }
        diag["lag1_autocorrelation"] = diag["acf1"]
        diag["dispersion"] = diag["pearson_chi2_df"]
        d["diagnostics"] = diag
        return json_safe(d)


def council_panel(
    att: pd.DataFrame, sessions: pd.DataFrame, council_code: str, first: pd.Period, last: pd.Period
) -> pd.DataFrame:
    """Monthly panel ``month``, ``sessions`` (non-council sessions held), ``participants``
    (distinct participants present at a non-council session), months ``first``…``last``."""
    months = pd.period_range(first, last, freq="M")
    s = sessions[sessions["activity"] != council_code]
    n_sessions = s.groupby("month")["activity_id"].nunique().reindex(months, fill_value=0)
    a = att[att["is_participant"].astype(bool) & (att["activity"] != council_code)]
    n_part = a.groupby("month")["participant_id"].nunique().reindex(months, fill_value=0)
    return pd.DataFrame(
        {
            "month": months.astype(str),
            "sessions": n_sessions.to_numpy(dtype="int64"),
            "participants": n_part.to_numpy(dtype="int64"),
        }
    )


def _fit(y: np.ndarray, X: pd.DataFrame, offset: np.ndarray) -> tuple[str, Any, dict[str, Any]]:
    """Poisson GLM, or NB2 when overdispersed (the pattern of ``field/violence.py``)."""
    pois = GLM(y, X, family=families.Poisson(), offset=offset).fit()
    df_resid = max(pois.df_resid, 1)
    poisson_ratio = float(pois.pearson_chi2 / df_resid)
    mu = pois.mu
    aux = OLS(((y - mu) ** 2 - y) / mu, mu).fit()
    ct_p = float(aux.pvalues[0] / 2 if aux.params[0] > 0 else 1 - aux.pvalues[0] / 2)
    diag: dict[str, Any] = {
        "poisson_chi2_df": poisson_ratio,
        "cameron_trivedi_p": ct_p,
        "alpha": None,
        "notes": [],
        "poisson": pois,
    }
    # lower tail of the Pearson χ² on its residual df: equidispersion rejected downwards
    under_p = float(chi2.cdf(float(pois.pearson_chi2), df_resid))
    diag["underdispersion_p"] = under_p
    diag["quantile"] = 1.959963984540054
    if not (poisson_ratio > OVERDISPERSION or ct_p < 0.05):
        resid = (y - pois.mu) / np.sqrt(pois.mu)
        diag["resid"], diag["chi2_df"] = resid, poisson_ratio
        if under_p >= UNDERDISPERSION_P:
            return "poisson", pois, diag
        # underdispersed counts (Poisson variance too large): the Poisson interval is too wide;
        # the scale is estimated (Pearson χ²/df, quasi-Poisson) and the interval uses Student's
        # t on the residual df (the scale is estimated on few months)
        qp = GLM(y, X, family=families.Poisson(), offset=offset).fit(scale="X2")
        diag["quantile"] = float(student_t.ppf(0.975, df_resid))
        diag["df_resid"] = int(df_resid)
        diag["notes"].append(
            f"sous-dispersion (χ²/ddl de Pearson {poisson_ratio:.2f}, p = {under_p:.3g}) : "
            "écarts-types de Poisson corrigés par la dispersion estimée (quasi-Poisson), "
            f"intervalle de Student à {int(df_resid)} ddl"
        )
        return "quasi-poisson", qp, diag
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nb = NegativeBinomial(y, X, offset=offset, loglike_method="nb2").fit(
            disp=0, maxiter=200, start_params=np.append(pois.params.to_numpy(), 0.1)
        )
    if nb.mle_retvals.get("converged", True) and np.all(np.isfinite(nb.bse)):
        alpha = float(nb.params["alpha"])
        mu_nb = nb.predict(X, offset=offset)
        resid = (y - mu_nb) / np.sqrt(mu_nb + alpha * mu_nb**2)
        diag["alpha"] = alpha
        diag["resid"] = resid
        diag["chi2_df"] = float((resid**2).sum() / max(len(y) - X.shape[1] - 1, 1))
        return "binomiale négative", nb, diag
    diag["notes"].append(
        "binomiale négative non convergée : Poisson gardé, écarts-types corrigés par la "
        "dispersion (quasi-Poisson)"
    )
    qp = GLM(y, X, family=families.Poisson(), offset=offset).fit(scale="X2")
    diag["resid"] = (y - qp.mu) / np.sqrt(qp.mu)
    diag["chi2_df"] = poisson_ratio
    diag["quantile"] = float(student_t.ppf(0.975, df_resid))
    diag["df_resid"] = int(df_resid)
    return "quasi-poisson", qp, diag


def _design(panel: pd.DataFrame, start: pd.Period, seasonal: bool) -> pd.DataFrame:
    months = pd.PeriodIndex(panel["month"], freq="M")
    t = np.asarray([(m - months[0]).n for m in months], dtype="float64")
    X = pd.DataFrame({"const": 1.0, "trend": (t - t.mean()) / 12.0})
    X["after"] = np.asarray([m >= start for m in months], dtype="float64")
    if seasonal:
        angle = 2 * np.pi * np.asarray(months.month, dtype="float64") / 12.0
        X["sin12"] = np.sin(angle)
        X["cos12"] = np.cos(angle)
    return X


def _naive(panel: pd.DataFrame, after: np.ndarray) -> tuple[float, float, float]:
    y, e = panel["participants"], panel["sessions"]
    x1, e1 = int(y[after].sum()), float(e[after].sum())
    x0, e0 = int(y[~after].sum()), float(e[~after].sum())
    if x0 == 0 or e0 == 0 or e1 == 0:
        return math.nan, math.nan, math.nan
    point = (x1 / e1) / (x0 / e0)
    ci = binomtest(x1, x1 + x0, e1 / (e1 + e0)).proportion_ci(0.95, method="exact")

    def rr(p: float) -> float:
        return math.inf if p >= 1 else p / (1 - p) * e0 / e1

    return point, rr(ci.low), rr(ci.high)


def council_effect(panel: pd.DataFrame, start: pd.Period | str | None) -> CouncilEffect:
    """Segmented count regression of :func:`council_panel`'s monthly panel (see module doc)."""
    start_p = _as_period(start)
    if start_p is None:
        return CouncilEffect(False, NON_CALCULE + "pas de date de début du conseil dans les params")
    p = panel[panel["sessions"] > 0].reset_index(drop=True)
    months = pd.PeriodIndex(p["month"], freq="M")
    after = np.asarray([m >= start_p for m in months], dtype=bool)
    nb, na = int((~after).sum()), int(after.sum())
    if nb < MIN_MONTHS_SIDE or na < MIN_MONTHS_SIDE:
        return CouncilEffect(
            False,
            NON_CALCULE + f"{nb} mois avec séances avant le conseil et {na} après "
            f"(il en faut au moins {MIN_MONTHS_SIDE} de chaque côté)",
            months_before=nb,
            months_after=na,
        )
    if p.loc[~after, "participants"].sum() == 0 or p.loc[after, "participants"].sum() == 0:
        return CouncilEffect(
            False,
            NON_CALCULE + "aucun participant d'un côté du début du conseil",
            months_before=nb,
            months_after=na,
        )
    seasonal = len(p) >= SEASONAL_MONTHS
    X = _design(p, start_p, seasonal=seasonal)
    if len(p) < X.shape[1] + 4:
        return CouncilEffect(False, NON_CALCULE + f"{len(p)} mois : trop peu pour le modèle")
    y = p["participants"].to_numpy(dtype="float64")
    offset = np.log(p["sessions"].to_numpy(dtype="float64"))
    family, fit, diag = _fit(y, X, offset)
    notes = list(diag["notes"])
    # the other specification, reported beside the estimate (sensitivity to the season terms)
    if seasonal:
        X_other = X.drop(columns=["sin12", "cos12"])
    else:
        notes.append(
            f"moins de {SEASONAL_MONTHS} mois : la saisonnalité ne peut pas être séparée de "
            "l'effet (pas de terme saisonnier)"
        )
        X_other = X
    other_fit, other_diag = _fit(y, X_other, offset)[1:]
    other = math.exp(float(other_fit.params["after"]))
    lr = 2 * (diag["poisson"].llf - other_diag["poisson"].llf)
    # quasi-likelihood ratio: divided by the estimated scale when it was estimated (under-
    # dispersion), else by max(1, scale) of the smaller model (conservative)
    scale = float(diag["poisson_chi2_df"]) if family == "quasi-poisson" else 0.0
    lr /= scale if scale > 0 else max(1.0, float(other_diag["poisson_chi2_df"]))
    season_p = float(chi2.sf(max(lr, 0.0), 2)) if seasonal else math.nan
    if seasonal and abs(math.log(other) - float(fit.params["after"])) > math.log(1.1):
        notes.append(
            f"sans les termes saisonniers l'estimation serait {other:.2f} : la saison et le "
            "début du conseil sont en partie confondus sur deux ans"
        )
    beta, se = float(fit.params["after"]), float(fit.bse["after"])
    q = float(diag["quantile"])
    if family == "quasi-poisson":
        p_value = float(2 * student_t.sf(abs(beta / se), diag["df_resid"]))
    else:
        p_value = float(fit.pvalues["after"])
    resid = pd.Series(np.asarray(diag["resid"], dtype="float64"))
    acf1 = float(resid.autocorr(1)) if len(resid) > 2 else math.nan
    lags = min(6, max(1, len(resid) // 4))
    lb = float(acorr_ljungbox(resid.to_numpy(), lags=[lags])["lb_pvalue"].iloc[0])
    if lb < 0.05:
        notes.append(
            "autocorrélation résiduelle (Ljung–Box p < 0,05) : l'intervalle du modèle est sans "
            "doute trop étroit"
        )
    hac = GLM(y, X, family=families.Poisson(), offset=offset).fit(
        cov_type="HAC", cov_kwds={"maxlags": 1}
    )
    hb, hse = float(hac.params["after"]), float(hac.bse["after"])
    naive, nlo, nhi = _naive(p, after)
    dropped = int((panel["sessions"] == 0).sum())
    if dropped:
        notes.append(f"{dropped} mois sans séance (hors conseil) laissés de côté")
    return CouncilEffect(
        True,
        "",
        estimate=math.exp(beta),
        ci_low=math.exp(beta - q * se),
        ci_high=math.exp(beta + q * se),
        p_value=p_value,
        model=f"{family} segmentée, offset log(séances), tendance linéaire"
        + (", harmonique annuelle" if seasonal else ""),
        family=family,
        terms=list(X.columns),
        naive=naive,
        naive_ci_low=nlo,
        naive_ci_high=nhi,
        months_before=nb,
        months_after=na,
        pearson_chi2_df=float(diag["chi2_df"]),
        poisson_chi2_df=float(diag["poisson_chi2_df"]),
        cameron_trivedi_p=float(diag["cameron_trivedi_p"]),
        underdispersion_p=float(diag["underdispersion_p"]),
        alpha=diag["alpha"],
        acf1=acf1,
        ljung_box_p=lb,
        hac_ci_low=math.exp(hb - 1.96 * hse),
        hac_ci_high=math.exp(hb + 1.96 * hse),
        estimate_without_season=other,
        season_p=season_p,
        notes=notes,
    )


# --- participation ----------------------------------------------------------------------------


@dataclass
class ParticipationResult:
    """Everything :func:`participation` measures; person counts are RAW (internal)."""

    year: int
    monthly: pd.DataFrame
    """month (YYYY-MM), sessions, presences, participants, nouveaux, revenants,
    participants_<role> for each of :data:`ROLES`."""
    sessions_per_participant: pd.DataFrame
    """n_seances, participants (distribution over the year)."""
    sessions_summary: dict[str, float]
    """participants, median, q1, q3, mean."""
    retention: pd.DataFrame
    """month, participants, seen_again, share, ci_low, ci_high, complete."""
    cohorts: pd.DataFrame
    """cohort (first month), participants, m1…m6 (present k months later; NaN past observation)."""
    retention_3m: dict[str, Any]
    """newcomers, retained, share, ci_low, ci_high, reason (headline ``retention_3_mois``)."""
    council: pd.DataFrame
    """date, activity_id, presences (council sessions of the year)."""
    council_summary: dict[str, Any]
    """sessions, mean_presences, attendees_year, attendees_since_start."""
    panel: pd.DataFrame
    """The effect's monthly panel: month, sessions, participants (non-council)."""
    effect: CouncilEffect
    calendar: pd.DataFrame
    """date, activity, sessions, presences (every session day of the year)."""
    indicators: dict[str, float | None]
    """Closed indicator names of ``params/projets.yaml`` this module computes."""
    reasons: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Summary for ``results.json`` (no DataFrame)."""
        return json_safe(
            {
                "year": self.year,
                "sessions_summary": self.sessions_summary,
                "retention_3m": self.retention_3m,
                "council_summary": self.council_summary,
                "effect": self.effect.to_dict(),
                "indicators": self.indicators,
                "reasons": self.reasons,
                "notes": self.notes,
            }
        )


def participation(
    attendance: pd.DataFrame,
    activities: pd.DataFrame,
    year: int,
    *,
    council_code: str | None = "conseil",
    council_start: pd.Period | str | None = None,
    participant_roles: Iterable[str] = PARTICIPANT_ROLES,
) -> ParticipationResult:
    """Participation measures of one project for ``year`` (see the module doc for estimands).

    ``attendance``/``activities``: the project's rows of ``project_attendance`` and
    ``project_activities``, every year available. ``council_start``: the council's first month
    (``"2024-03"``, a date or a Period); with ``council_code`` None or no start, the council's
    measures and effect are « non calculé »."""
    roles = tuple(participant_roles)
    att = _prepare(attendance, roles)
    sessions = _sessions(activities, att)
    reasons: dict[str, str] = {}
    notes: list[str] = []
    months = pd.period_range(f"{year}-01", f"{year}-12", freq="M")
    last_seen = min(sessions["month"].max(), months[-1]) if len(sessions) else months[-1]
    part = att[att["is_participant"].astype(bool)]
    first_ever = part.groupby("participant_id")["month"].min()
    if len(part) and part["month"].min() >= months[0]:
        notes.append(
            "pas de présence avant l'année : « nouveau » veut dire « premier mois vu dans les "
            "données » (les premiers mois comptent comme nouveaux des habitués)"
        )

    # per month
    py = part[part["month"].isin(months)]
    ay = att[att["month"].isin(months)]
    rows = []
    for m in months:
        pm = py[py["month"] == m]
        ids = pm["participant_id"].unique()
        new = int((first_ever.reindex(ids) == m).sum())
        row = {
            "month": str(m),
            "sessions": int(sessions.loc[sessions["month"] == m, "activity_id"].nunique()),
            "presences": len(pm),
            "participants": len(ids),
            "nouveaux": new,
            "revenants": len(ids) - new,
        }
        am = ay[ay["month"] == m]
        for r in ROLES:
            row[f"participants_{r}"] = int(am.loc[am["role"] == r, "participant_id"].nunique())
        rows.append(row)
    monthly = pd.DataFrame(rows)

    # sessions per participant
    per = py.groupby("participant_id")["activity_id"].nunique()
    dist = per.value_counts().sort_index()
    spp = pd.DataFrame({"n_seances": dist.index.astype("int64"), "participants": dist.to_numpy()})
    summary = {
        "participants": len(per),
        "median": float(per.median()) if len(per) else math.nan,
        "q1": float(per.quantile(0.25)) if len(per) else math.nan,
        "q3": float(per.quantile(0.75)) if len(per) else math.nan,
        "mean": float(per.mean()) if len(per) else math.nan,
    }
    if not len(per):
        reasons["participation"] = NON_CALCULE + f"aucune présence de participant en {year}"

    # retention
    present = part.groupby("month")["participant_id"].agg(lambda s: set(s))
    ret_rows = []
    for m in months:
        ids = present.get(m, set())
        complete = m + RETENTION_MONTHS <= last_seen
        later: set[str] = set()
        for k in range(1, RETENTION_MONTHS + 1):
            later |= present.get(m + k, set())
        n, x = len(ids), len(ids & later)
        lo, hi = proportion_ci(x, n) if complete else (math.nan, math.nan)
        ret_rows.append(
            {
                "month": str(m),
                "participants": n,
                "seen_again": x if complete else np.nan,
                "share": (x / n if n else math.nan) if complete else math.nan,
                "ci_low": lo,
                "ci_high": hi,
                "complete": bool(complete),
            }
        )
    retention = pd.DataFrame(ret_rows)

    cohort_rows = []
    newcomers = retained = 0
    for m in months:
        ids = set(first_ever[first_ever == m].index)
        if not ids:
            continue
        row: dict[str, Any] = {"cohort": str(m), "participants": len(ids)}
        for k in range(1, COHORT_MONTHS + 1):
            row[f"m{k}"] = len(ids & present.get(m + k, set())) if m + k <= last_seen else np.nan
        cohort_rows.append(row)
        if m + RETENTION_MONTHS <= last_seen:
            later = set()
            for k in range(1, RETENTION_MONTHS + 1):
                later |= present.get(m + k, set())
            newcomers += len(ids)
            retained += len(ids & later)
    cohorts = pd.DataFrame(
        cohort_rows,
        columns=["cohort", "participants", *[f"m{k}" for k in range(1, COHORT_MONTHS + 1)]],
    )
    lo, hi = proportion_ci(retained, newcomers)
    retention_3m = {
        "newcomers": newcomers,
        "retained": retained,
        "share": retained / newcomers if newcomers else math.nan,
        "ci_low": lo,
        "ci_high": hi,
        "reason": ""
        if newcomers
        else NON_CALCULE + f"aucun nouveau participant de {year} suivi trois mois complets",
    }
    if not newcomers:
        reasons["retention_3_mois"] = retention_3m["reason"]

    # council
    start_p = _as_period(council_start)
    council_rows = pd.DataFrame(columns=["date", "activity_id", "presences"])
    council_summary: dict[str, Any] = {
        "sessions": 0,
        "mean_presences": math.nan,
        "attendees_year": 0,
        "attendees_since_start": 0,
    }
    if council_code:
        cs = sessions[(sessions["activity"] == council_code) & sessions["month"].isin(months)]
        cp = part[part["activity"] == council_code]
        counts = cp.groupby("activity_id")["participant_id"].nunique()
        council_rows = (
            cs.assign(presences=cs["activity_id"].map(counts).fillna(0).astype("int64"))
            .sort_values("date")[["date", "activity_id", "presences"]]
            .reset_index(drop=True)
        )
        council_summary = {
            "sessions": len(council_rows),
            "mean_presences": float(council_rows["presences"].mean())
            if len(council_rows)
            else math.nan,
            "attendees_year": int(cp.loc[cp["month"].isin(months), "participant_id"].nunique()),
            "attendees_since_start": int(
                cp.loc[
                    (cp["month"] >= start_p) if start_p is not None else cp["month"].notna(),
                    "participant_id",
                ].nunique()
            ),
        }
        if not len(council_rows):
            reasons["conseil"] = NON_CALCULE + f"aucune séance « {council_code} » en {year}"
    else:
        reasons["conseil"] = NON_CALCULE + "pas de conseil déclaré pour ce projet"

    # effect: all months with data from the year before to the end of observation
    first = max(months[0] - 12, sessions["month"].min()) if len(sessions) else months[0]
    panel = council_panel(att, sessions, council_code or "", first, last_seen)
    if council_code:
        effect = council_effect(panel, start_p)
    else:
        effect = CouncilEffect(False, NON_CALCULE + "pas de conseil déclaré pour ce projet")
    if not effect.computed:
        reasons["effet_conseil"] = effect.reason

    # calendar
    sy = sessions[sessions["month"].isin(months)]
    pres = py.groupby("activity_id").size()
    cal = (
        sy.assign(day=sy["date"].dt.normalize(), presences=sy["activity_id"].map(pres).fillna(0))
        .groupby(["day", "activity"], as_index=False)
        .agg(sessions=("activity_id", "nunique"), presences=("presences", "sum"))
        .rename(columns={"day": "date"})
    )
    cal["presences"] = cal["presences"].astype("int64")

    indicators: dict[str, float | None] = {
        "participants_uniques": float(len(per)),
        "seances": float(monthly["sessions"].sum()),
        "presences": float(monthly["presences"].sum()),
        "nouveaux_participants": float(monthly["nouveaux"].sum()),
        "retention_3_mois": retention_3m["share"] if newcomers else None,
        "conseil_presence_moyenne": council_summary["mean_presences"]
        if council_summary["sessions"]
        else None,
    }
    for code, n in sy.groupby("activity")["activity_id"].nunique().items():
        indicators[f"seances:{code}"] = float(n)
    return ParticipationResult(
        year=year,
        monthly=monthly,
        sessions_per_participant=spp,
        sessions_summary=summary,
        retention=retention,
        cohorts=cohorts,
        retention_3m=retention_3m,
        council=council_rows,
        council_summary=council_summary,
        panel=panel,
        effect=effect,
        calendar=cal,
        indicators=indicators,
        reasons=reasons,
        notes=notes,
    )


# --- council proposals ------------------------------------------------------------------------

THEMES = ("activite", "cadre_de_vie", "reglement", "partenariat", "autre")
OUTCOMES = ("realisee", "en_cours", "refusee", "abandonnee")


@dataclass
class ProposalsResult:
    """The council's proposals of the year and what became of them."""

    year: int
    table: pd.DataFrame
    """theme, then one column per outcome (counts) and ``total``; one row per theme."""
    proposals: int
    realised: int
    share_realised: float
    ci_low: float
    ci_high: float
    median_days_to_outcome: float
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        d = {k: v for k, v in asdict(self).items() if k != "table"}
        return json_safe(d)

    @property
    def indicators(self) -> dict[str, float | None]:
        return {"propositions_realisees": float(self.realised) if self.proposals else None}


def council_proposals(proposals: pd.DataFrame, year: int) -> ProposalsResult:
    """Proposals made at the councils of ``year`` (``project_proposals``): theme × outcome counts,
    the share realised (Wilson 95 %; proposals still « en cours » count in the denominator — the
    share is a lower bound that grows as they close) and the median days from council to outcome
    among those with an outcome date."""
    empty = pd.DataFrame(columns=["theme", *OUTCOMES, "total"])
    if proposals is None or len(proposals) == 0:
        return ProposalsResult(
            year, empty, 0, 0, math.nan, math.nan, math.nan, math.nan,
            NON_CALCULE + f"aucune proposition du conseil en {year}",
        )  # fmt: skip
    p = proposals.copy()
    p["date"] = pd.to_datetime(p["date"])
    p = p[p["date"].dt.year == year]
    if "proposal_id" in p:
        p = p.drop_duplicates("proposal_id")
    if not len(p):
        return ProposalsResult(
            year, empty, 0, 0, math.nan, math.nan, math.nan, math.nan,
            NON_CALCULE + f"aucune proposition du conseil en {year}",
        )  # fmt: skip
    themes = [*THEMES, *sorted(set(p["theme"].dropna()) - set(THEMES))]
    outcomes = [*OUTCOMES, *sorted(set(p["outcome"].dropna()) - set(OUTCOMES))]
    table = (
        pd.crosstab(p["theme"], p["outcome"])
        .reindex(index=themes, columns=outcomes, fill_value=0)
        .astype("int64")
    )
    table["total"] = table.sum(axis=1)
    table = table.rename_axis(index="theme", columns=None).reset_index()
    n, x = len(p), int((p["outcome"] == "realisee").sum())
    lo, hi = proportion_ci(x, n)
    delay = math.nan
    if "outcome_date" in p:
        od = pd.to_datetime(p["outcome_date"])
        days = (od - p["date"]).dt.days.dropna()
        delay = float(days.median()) if len(days) else math.nan
    return ProposalsResult(year, table, n, x, x / n, lo, hi, delay)
