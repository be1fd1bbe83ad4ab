"""Each tenant's social affiliation over time, from the workers' individual follow-up log.

Input: the project's rows of ``project_followups`` (one row per contact a Housing First worker wrote
down: date, tenant pseudonym, affiliation ``domain`` (one of :data:`DOMAINS` or ""), ``place``,
``goal_set``, ``goal_reached``), all years available.

Definition (owned here, printed by the report, :data:`DEFINITION`):

* A **domain is active** for a tenant at a date *T* when the log holds an entry of that tenant with
  that domain and ``goal_reached`` true dated in the ``window_days`` (90) days up to *T*
  (``T − 90 d < date ≤ T``). A goal merely set does not count; an old goal reached does not count
  forever (without a new entry in 90 days the domain lapses: the score measures affiliation the
  team still sees, not a cumulative tally). A **place** is active likewise (distinct places, text
  normalised for case and spaces).
* The **affiliation score** at *T* = number of distinct active domains, 0–8.
* **Times.** *Entry* = the last day of the tenant's entry month (``tenants_entry``'s date, else the
  tenant's first follow-up entry); *6 months* and *12 months* = the last day of the month six and
  twelve months later. A time after the end of observation (the last day of the month of the latest
  follow-up entry, capped at 31 December of the report year) is censored: the tenant is not counted
  at that time (never counted as 0). Tenants entering after the report year are left out.
* **Censoring at the housing exit.** A time after the tenant left housing (``exits``: the end of
  the Housing First stay that covers the entry, from ``data_clean/contacts.parquet`` through the
  follow-up's ``person_key`` = the stay's ``record_key``, :func:`housing_exits`) is censored too:
  the follow-up stops at the exit, and scoring that time would read the lines written before the
  exit — mostly none, a spurious 0 (on the sample 9 tenants at 6 months and 13 at 12 months,
  which pulled the paired change down). The count of tenants censored by an exit is in
  ``summary[time]["censored_exit"]``.
* **Distribution** of the score at each time (tenants per score value 0–8), median and IQR, share
  of tenants with ≥ 1 active domain (Wilson 95 %), tenants per domain.
* **Change entry → 12 months**, paired on the tenants observed at both: the mean change with its
  Student 95 % interval (the estimand of the planted sample), the median change, the Wilcoxon
  signed-rank test
  (zero differences dropped, Wilcox's convention) and the Hodges–Lehmann estimate (median of the
  Walsh averages of the differences) with its distribution-free 95 % interval (order statistics of
  the Walsh averages at the signed-rank critical value: exact null distribution up to 50 pairs,
  normal approximation beyond; with many ties the coverage is approximate). Fewer than
  :data:`MIN_PAIRED` pairs → « non calculé ». The change is the project's tenants' change, not the
  project's effect: there is no comparison group here (``outcomes.py`` compares participants with
  other tenants on the observatory's own outcomes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm, wilcoxon
from scipy.stats import t as student_t

from observatoire.core.stats import proportion_ci
from observatoire.core.storage import json_safe

__all__ = [
    "DEFINITION",
    "DOMAINS",
    "MAX_EXACT",
    "MIN_PAIRED",
    "TIMES",
    "WINDOW_DAYS",
    "AffiliationResult",
    "active_at",
    "affiliation",
    "hodges_lehmann",
    "housing_exits",
]

DOMAINS = (
    "culture",
    "sport",
    "communautaire",
    "famille",
    "formation_emploi",
    "sante_bien_etre",
    "citoyennete",
    "logement_appropriation",
)
TIMES = {"entree": 0, "6_mois": 6, "12_mois": 12}
"""Time label → months after the entry month."""
WINDOW_DAYS = 90
MIN_PAIRED = 8
MAX_EXACT = 50
NON_CALCULE = "non calculé : "
DEFINITION = (
    "Un domaine d'affiliation (culture, sport, vie communautaire, famille, formation ou emploi, "
    "santé et bien-être, citoyenneté, appropriation du logement) est « actif » pour un locataire à "
    "une date quand le suivi individuel note, dans les {days} jours qui précèdent, un objectif "
    "atteint dans ce domaine. Le score d'affiliation est le nombre de domaines actifs (0 à 8), "
    "mesuré à l'entrée (fin du premier mois de suivi), à 6 mois et à 12 mois ; un locataire dont "
    "le délai n'est pas encore écoulé, ou sorti du logement avant ce moment (date de fin de son "
    "séjour Housing First), n'est pas compté à ce moment-là (jamais compté comme 0)."
)


def _norm_place(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.strip().str.lower().str.split().str.join(" ")


def active_at(followups: pd.DataFrame, when: pd.Timestamp, window_days: int = WINDOW_DAYS):
    """Per tenant: (set of active domains, set of active places) at ``when``."""
    f = followups
    inside = (f["date"] > when - pd.Timedelta(days=window_days)) & (f["date"] <= when)
    f = f[inside & f["goal_reached"]]
    doms = f[f["domain"].isin(DOMAINS)].groupby("participant_id")["domain"].agg(set)
    places = f[f["place_norm"] != ""].groupby("participant_id")["place_norm"].agg(set)
    return doms, places


def housing_exits(
    followups: pd.DataFrame, contacts: pd.DataFrame, partner: str = "housing_first"
) -> pd.DataFrame:
    """Per followed tenant (``participant_id``): the ``exit`` date of the ``partner`` stay that
    covers the tenant's first follow-up (NaT while housed, or when no stay is found: then the
    tenant is not censored). A tenant's stays are the contacts of ``partner`` whose
    ``record_key`` equals the follow-up's ``person_key`` (the tenant code keyed at ingest exactly
    like the export's record key). When no stay covers the first follow-up, the first stay
    ending after it."""
    cols = ["participant_id", "exit"]
    needed = {"record_key", "partner_id", "date_start", "date_end"}
    if (
        followups is None
        or not len(followups)
        or "person_key" not in followups
        or contacts is None
        or not len(contacts)
        or not needed <= set(contacts.columns)
    ):
        return pd.DataFrame(columns=cols)
    f = followups[["participant_id", "person_key", "date"]].copy()
    f["date"] = pd.to_datetime(f["date"])
    f = f[f["person_key"].fillna("").astype(str) != ""]
    first = f.groupby("participant_id").agg(
        person_key=("person_key", "first"), entry=("date", "min")
    )
    c = contacts.loc[contacts["partner_id"] == partner, ["record_key", "date_start", "date_end"]]
    c = c.assign(date_start=pd.to_datetime(c["date_start"]), date_end=pd.to_datetime(c["date_end"]))
    stays = {k: g.sort_values("date_start") for k, g in c.groupby("record_key")}
    rows = []
    for pid, r in first.iterrows():
        g = stays.get(r["person_key"])
        exit_ = pd.NaT
        if g is not None:
            open_or_later = g["date_end"].isna() | (g["date_end"] >= r["entry"])
            covering = g[(g["date_start"] <= r["entry"]) & open_or_later]
            pick = covering if len(covering) else g[open_or_later]
            if len(pick):
                exit_ = pick["date_end"].iloc[0]
        rows.append({"participant_id": pid, "exit": exit_})
    return pd.DataFrame(rows, columns=cols)


def hodges_lehmann(d: np.ndarray, alpha: float = 0.05) -> tuple[float, float, float]:
    """One-sample Hodges–Lehmann estimate of the centre of ``d`` with the distribution-free
    interval from the Walsh averages (exact signed-rank critical value up to :data:`MAX_EXACT`
    values, normal approximation beyond); (NaN, NaN, NaN) when ``d`` is empty; the interval is
    NaN when too few values for the level."""
    d = np.asarray(d, dtype="float64")
    n = len(d)
    if n == 0:
        return math.nan, math.nan, math.nan
    i, j = np.triu_indices(n)
    walsh = np.sort((d[i] + d[j]) / 2.0)
    est = float(np.median(walsh))
    total = n * (n + 1) // 2
    if n <= MAX_EXACT:
        counts = np.zeros(total + 1)
        counts[0] = 1.0
        for k in range(1, n + 1):
            counts[k:] = counts[k:] + counts[:-k].copy()
        cdf = np.cumsum(counts) / 2.0**n
        c = int((cdf <= alpha / 2).sum())  # P(W+ ≤ c − 1) ≤ α/2
    else:
        sd = math.sqrt(n * (n + 1) * (2 * n + 1) / 24.0)
        c = int(math.floor(total / 2.0 - norm.ppf(1 - alpha / 2) * sd))
    if c < 1:
        return est, math.nan, math.nan
    return est, float(walsh[c - 1]), float(walsh[len(walsh) - c])


@dataclass
class AffiliationResult:
    """Everything :func:`affiliation` measures; tenant counts are RAW (internal)."""

    year: int
    scores: pd.DataFrame
    """time ∈ {entree, 6_mois, 12_mois}, score 0–8, locataires (every score value listed)."""
    summary: dict[str, dict[str, Any]]
    """time → n, median, q1, q3, share_affiliated, ci_low, ci_high, median_places."""
    paired: dict[str, Any]
    """n, median_change, hl_estimate, hl_ci_low, hl_ci_high, wilcoxon_p, improved, worsened,
    unchanged, reason."""
    domains: pd.DataFrame
    """domain, time, locataires (tenants with the domain active among those observed)."""
    per_tenant: pd.DataFrame
    """INTERNAL (pseudonyms): participant_id, entry, score_<time>, places_<time> (NaN censored)."""
    definition: str
    window_days: int
    tenants: int
    indicators: dict[str, float | None]
    reasons: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """``affiliation.json``: definition, summary per time, paired change, reasons."""
        return json_safe(
            {
                "year": self.year,
                "definition": self.definition,
                "window_days": self.window_days,
                "tenants": self.tenants,
                "summary": self.summary,
                "paired": self.paired,
                "indicators": self.indicators,
                "reasons": self.reasons,
            }
        )


def _prepare(followups: pd.DataFrame | None) -> pd.DataFrame:
    cols = ["date", "participant_id", "domain", "place", "goal_reached"]
    if followups is None or len(followups) == 0:
        f = pd.DataFrame({c: pd.Series(dtype="object") for c in cols})
    else:
        f = followups[[c for c in cols if c in followups]].copy()
        for c in cols:
            if c not in f:
                f[c] = "" if c != "goal_reached" else False
    f["date"] = pd.to_datetime(f["date"])
    f = f[f["date"].notna() & f["participant_id"].notna() & (f["participant_id"] != "")]
    f["domain"] = f["domain"].fillna("").astype(str)
    f["goal_reached"] = f["goal_reached"].fillna(False).astype(bool)
    f["place_norm"] = _norm_place(f["place"])
    return f.reset_index(drop=True)


def affiliation(
    followups: pd.DataFrame,
    tenants_entry: pd.DataFrame | None,
    year: int,
    *,
    window_days: int = WINDOW_DAYS,
    exits: pd.DataFrame | None = None,
) -> AffiliationResult:
    """Affiliation scores at entry, 6 and 12 months (see the module doc for the definition).

    ``exits``: None or DataFrame[participant_id, exit] (:func:`housing_exits`): a time after
    the tenant's exit is censored."""
    f = _prepare(followups)
    reasons: dict[str, str] = {}
    year_end = pd.Timestamp(f"{year}-12-31")
    if tenants_entry is not None and len(tenants_entry):
        entry = (
            tenants_entry.assign(entry=pd.to_datetime(tenants_entry["entry"]))
            .groupby("participant_id")["entry"]
            .min()
        )
    else:
        entry = f.groupby("participant_id")["date"].min().rename("entry")
    entry = entry[entry.notna() & (entry <= year_end)]
    if len(f):
        obs_end = min((f["date"].max() + pd.offsets.MonthEnd(0)).normalize(), year_end)
    else:
        obs_end = year_end

    per = pd.DataFrame({"participant_id": entry.index, "entry": entry.to_numpy()})
    if exits is not None and len(exits):
        ex = pd.to_datetime(exits.set_index("participant_id")["exit"])
        ex = ex[~ex.index.duplicated()]
        per["exit"] = pd.to_datetime(per["participant_id"].map(ex))
    else:
        per["exit"] = pd.NaT
    t0 = (per["entry"] + pd.offsets.MonthEnd(0)).dt.normalize()
    dom_rows = []
    censored_exit: dict[str, int] = {}
    for label, k in TIMES.items():
        when = (t0 + pd.DateOffset(months=k)) + pd.offsets.MonthEnd(0)
        left = (per["exit"].notna() & (per["exit"] < when) & (when <= obs_end)).to_numpy()
        censored_exit[label] = int(left.sum()) if k else 0
        scores = np.full(len(per), np.nan)
        places = np.full(len(per), np.nan)
        counted: dict[str, int] = dict.fromkeys(DOMAINS, 0)
        for w in sorted(when.unique()):
            if w > obs_end:
                continue
            rows = np.where((when.to_numpy() == w) & (~left if k else True))[0]
            doms, pl = active_at(f, pd.Timestamp(w), window_days)
            for r in rows:
                pid = per.at[r, "participant_id"]
                ds = doms.get(pid, set())
                scores[r] = len(ds)
                places[r] = len(pl.get(pid, set()))
                for d in ds:
                    counted[d] += 1
        per[f"score_{label}"] = scores
        per[f"places_{label}"] = places
        dom_rows += [{"domain": d, "time": label, "locataires": counted[d]} for d in DOMAINS]

    score_rows = []
    summary: dict[str, dict[str, Any]] = {}
    for label in TIMES:
        s = per[f"score_{label}"].dropna()
        counts = s.astype("int64").value_counts().reindex(range(len(DOMAINS) + 1), fill_value=0)
        score_rows += [
            {"time": label, "score": int(v), "locataires": int(c)} for v, c in counts.items()
        ]
        n, x = len(s), int((s >= 1).sum())
        lo, hi = proportion_ci(x, n)
        summary[label] = {
            "n": n,
            "median": float(s.median()) if n else math.nan,
            "q1": float(s.quantile(0.25)) if n else math.nan,
            "q3": float(s.quantile(0.75)) if n else math.nan,
            "share_affiliated": x / n if n else math.nan,
            "ci_low": lo,
            "ci_high": hi,
            "median_places": float(per[f"places_{label}"].dropna().median()) if n else math.nan,
            "censored_exit": censored_exit[label],
        }
        if not n:
            reasons[label] = NON_CALCULE + (
                "aucun locataire suivi"
                if not len(per)
                else f"aucun locataire n'a atteint ce délai avant le {obs_end.date():%d/%m/%Y}"
            )

    both = per[["score_entree", "score_12_mois"]].dropna()
    diff = (both["score_12_mois"] - both["score_entree"]).to_numpy()
    paired: dict[str, Any] = {
        "n": len(diff),
        "median_change": float(np.median(diff)) if len(diff) else math.nan,
        "mean_change": float(np.mean(diff)) if len(diff) else math.nan,
        "mean_ci_low": math.nan,
        "mean_ci_high": math.nan,
        "improved": int((diff > 0).sum()),
        "worsened": int((diff < 0).sum()),
        "unchanged": int((diff == 0).sum()),
        "hl_estimate": math.nan,
        "hl_ci_low": math.nan,
        "hl_ci_high": math.nan,
        "wilcoxon_p": math.nan,
        "reason": "",
    }
    if len(diff) < MIN_PAIRED:
        paired["reason"] = NON_CALCULE + (
            f"{len(diff)} locataire(s) observé(s) à l'entrée et à 12 mois (il en faut au moins "
            f"{MIN_PAIRED})"
        )
        reasons["evolution"] = paired["reason"]
    else:
        half = float(student_t.ppf(0.975, len(diff) - 1)) * float(np.std(diff, ddof=1))
        half /= math.sqrt(len(diff))
        paired.update(mean_ci_low=paired["mean_change"] - half)
        paired.update(mean_ci_high=paired["mean_change"] + half)
        est, lo, hi = hodges_lehmann(diff)
        paired.update(hl_estimate=est, hl_ci_low=lo, hl_ci_high=hi)
        if np.any(diff != 0):
            paired["wilcoxon_p"] = float(wilcoxon(diff, zero_method="wilcox").pvalue)
        else:
            paired["wilcoxon_p"] = 1.0

    def share(label: str) -> float | None:
        return summary[label]["share_affiliated"] if summary[label]["n"] else None

    indicators = {
        "affilies_6_mois": share("6_mois"),
        "affilies_12_mois": share("12_mois"),
        "score_affiliation_median_12_mois": summary["12_mois"]["median"]
        if summary["12_mois"]["n"]
        else None,
    }
    return AffiliationResult(
        year=year,
        scores=pd.DataFrame(score_rows),
        summary=summary,
        paired=paired,
        domains=pd.DataFrame(dom_rows),
        per_tenant=per,
        definition=DEFINITION.format(days=window_days),
        window_days=window_days,
        tenants=len(per),
        indicators=indicators,
        reasons=reasons,
    )
