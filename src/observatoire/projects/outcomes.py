"""Housing First tenants who take part in the project vs those who do not: the observatory's own
outcomes, described (not an effect).

Inputs: ``contacts`` (``data_clean/contacts.parquet``, every partner), ``persons_link`` (lane
pstage's ``link_participants`` frame: ``participant_id``, ``person_id``, ``how``), ``participants``
(any frame with ``participant_id`` and ``date``: a participant's first date is the first
participation), the report ``year``.

Estimands and rules (descriptive; the caveats in :data:`CAVEATS` are printed with the figures):

* **Tenants** = persons with a stay at the Housing First partner (``partner``). **Participants** =
  tenants linked to a project participant and housed at their first participation; the others
  are **non-participants** (a participant not linked to a person counts among them if they are a
  tenant: the groups are then closer than they are — said).
* **Index date** (the immortal-time guard). A participant's index is the first participation. A
  participant could not leave housing before joining, so a window opened earlier (at entry or at
  the project's start) would count that guaranteed time in their favour. The comparison group is
  built by **sequential matching on time**: every tenant gets a matched start — the day they were
  at risk of joining (the project's start, or their entry if later) plus a delay drawn from the
  participants' delays (first participation − max(project start, entry)), seeded — and is a
  comparator when still housed and **not yet** a participant at that date. A tenant who joins
  later can thus be a comparator for the months before (« comparators_joining_later »): judging
  them on their whole future instead (« never took part ») would put among the non-participants
  those who left before they could join, a bias of its own (bench: +5.7 points on a planted null).
  The two groups may then share persons: the Newcombe interval, built for independent groups, is
  approximate (conservative when a person's outcomes agree across the two windows). Tenure at
  index (months since entry) is reported for both groups: participants are those who stayed long
  enough to join.
* **Housing retention at 12 months**: still housed 12 months after the index, or left within the
  12 months for a positive destination (:data:`POSITIVE_EXITS`: rehousing, referral). Leaving for
  another reason (exclusion, voluntary departure, unknown) is a failure; a death in the window
  removes the tenant from both outcomes (a competing event). A tenant whose 12 months pass the end
  of observation without an exit is censored (not counted), never counted as retained.
* **Returns to emergency services**: at least one contact at :data:`RETURN_PARTNERS` (night
  shelter, social emergency) in the 12 months after the index, through ``person_id`` (whether or not
  the tenant is still housed); tenants whose 12 months pass the end of observation are left out.
* Shares with Wilson 95 % intervals; participants − non-participants with Newcombe's hybrid score
  interval. Groups under :data:`MIN_GROUP` tenants → « non calculé ». Baseline shown beside it:
  the **naive** comparison that the guard avoids (everybody's window opened at the project's start,
  groups by « ever took part »), to show how much immortal time weighs.
* End of observation: the latest date in ``contacts`` (start or end of a stay), capped at
  31 December of the report year.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.stats import newcombe_diff, proportion_ci
from observatoire.core.storage import json_safe

__all__ = [
    "CAVEATS",
    "GROUPS",
    "MIN_GROUP",
    "POSITIVE_EXITS",
    "RETURN_PARTNERS",
    "TENURE_BANDS",
    "OutcomesResult",
    "housing_outcomes",
]

POSITIVE_EXITS = ("relogement", "orientation")
DEATH = "deces"
RETURN_PARTNERS = ("abri_nuit", "urgence_sociale")
MIN_GROUP = 5
GROUPS = ("participants", "non_participants")
TENURE_BANDS = ((0, 6, "< 6 mois"), (6, 12, "6 à 12 mois"), (12, 24, "12 à 24 mois"))
NON_CALCULE = "non calculé : "
CAVEATS = [
    "Comparaison descriptive, non randomisée : les locataires qui participent au projet ne sont "
    "pas tirés au sort ; ils peuvent différer des autres (santé, liens, motivation, équipe) et "
    "l'écart ne mesure pas l'effet du projet.",
    "Sélection : pour participer il faut être resté logé assez longtemps ; l'ancienneté dans le "
    "logement au début de la fenêtre est montrée pour les deux groupes.",
    "Temps immortel : les issues sont comptées à partir de la première participation pour les "
    "participants, et à partir d'une date de début appariée pour les autres (même délai depuis le "
    "début du projet ou l'entrée, tiré parmi ceux des participants), pour les locataires encore "
    "logés et pas encore participants à cette date (un locataire qui rejoint le projet plus tard "
    "peut donc compter dans le groupe de comparaison pour la période d'avant) ; la comparaison "
    "naïve (tous comptés depuis le début du projet) est donnée à côté pour mesurer ce biais.",
    "Retours : au moins un contact à l'abri de nuit ou à l'urgence sociale dans les 12 mois ; un "
    "contact que le couplage n'a pas relié à la personne échappe au décompte.",
]


@dataclass
class OutcomesResult:
    """Participants vs non-participants among the tenants; counts RAW (internal)."""

    year: int
    groups: pd.DataFrame
    """group, tenants, n_retention, retained_12m, share_retained, ci_low, ci_high, n_returns,
    returns, share_returns, ret_ci_low, ret_ci_high (→ ``issues_logement.csv``)."""
    difference: dict[str, dict[str, float]]
    """retention / returns → d (participants − non-participants), ci_low, ci_high."""
    naive: dict[str, dict[str, float]]
    """The same differences without the guard (window from the project's start)."""
    tenure: pd.DataFrame
    """group, band, tenants (tenure at index)."""
    tenure_summary: dict[str, dict[str, float]]
    """group → n, median, q1, q3 (months)."""
    linkage: dict[str, int]
    """participants, linked, unlinked, linked_not_tenant, excluded_not_housed_at_index,
    comparators_joining_later."""
    caveats: list[str]
    observation_end: str
    reasons: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """``issues_logement.json``."""
        return json_safe(
            {
                "year": self.year,
                "groups": self.groups.to_dict(orient="records"),
                "difference": self.difference,
                "naive": self.naive,
                "tenure_summary": self.tenure_summary,
                "linkage": self.linkage,
                "caveats": self.caveats,
                "observation_end": self.observation_end,
                "reasons": self.reasons,
                "notes": self.notes,
            }
        )


def _stays(contacts: pd.DataFrame, partner: str) -> pd.DataFrame:
    c = contacts.reindex(
        columns=["partner_id", "person_id", "date_start", "date_end", "exit_reason"]
    )
    c = c[c["partner_id"] == partner]
    s = pd.DataFrame(
        {
            "person_id": c["person_id"].astype(str),
            "start": pd.to_datetime(c["date_start"]),
            "end": pd.to_datetime(c["date_end"]),
            "reason": c["exit_reason"].fillna("").astype(str),
        }
    )
    return s[s["start"].notna()].sort_values(["person_id", "start"]).reset_index(drop=True)


def _stay_at(
    stays: dict[str, list[dict[str, Any]]], person: str, when: pd.Timestamp
) -> dict[str, Any] | None:
    """The person's stay running on ``when`` (started on or before, not ended before)."""
    found = None
    for st in stays[person]:
        if st["start"] <= when and (pd.isna(st["end"]) or st["end"] >= when):
            found = st
    return found


def _outcome(
    stay: dict[str, Any], index: pd.Timestamp, returns_dates: np.ndarray, obs_end: pd.Timestamp
) -> tuple[float, float]:
    """(retained 0/1 or NaN, returned 0/1 or NaN) for a window of 12 months from ``index``."""
    horizon = index + pd.DateOffset(months=12)
    end, reason = stay["end"], stay["reason"]
    exited = pd.notna(end) and end <= min(horizon, obs_end)
    if exited and reason == DEATH:
        return math.nan, math.nan
    if exited:
        retained = 1.0 if reason in POSITIVE_EXITS else 0.0
    elif horizon <= obs_end:
        retained = 1.0
    else:
        retained = math.nan
    if horizon <= obs_end:
        ret = float(np.any((returns_dates > index) & (returns_dates <= horizon)))
    else:
        ret = math.nan
    return retained, ret


def _months(a: pd.Timestamp, b: pd.Timestamp) -> float:
    return (b - a).days / 30.4375


def _compare(frame: pd.DataFrame) -> tuple[list[dict[str, Any]], dict[str, dict[str, float]]]:
    rows, diff = [], {}
    counts: dict[str, dict[str, tuple[int, int]]] = {"retention": {}, "returns": {}}
    for g in GROUPS:
        f = frame[frame["group"] == g]
        r, t = f["retained"].dropna(), f["returned"].dropna()
        xr, nr, xt, nt = int(r.sum()), len(r), int(t.sum()), len(t)
        counts["retention"][g], counts["returns"][g] = (xr, nr), (xt, nt)
        lo, hi = proportion_ci(xr, nr)
        tlo, thi = proportion_ci(xt, nt)
        rows.append(
            {
                "group": g,
                "tenants": len(f),
                "n_retention": nr,
                "retained_12m": xr,
                "share_retained": xr / nr if nr else math.nan,
                "ci_low": lo,
                "ci_high": hi,
                "n_returns": nt,
                "returns": xt,
                "share_returns": xt / nt if nt else math.nan,
                "ret_ci_low": tlo,
                "ret_ci_high": thi,
            }
        )
    for k, c in counts.items():
        (x1, n1), (x0, n0) = c["participants"], c["non_participants"]
        if min(n1, n0) < MIN_GROUP:
            diff[k] = {"d": math.nan, "ci_low": math.nan, "ci_high": math.nan}
        else:
            d, lo, hi = newcombe_diff(x0, n0, x1, n1)
            diff[k] = {"d": d, "ci_low": lo, "ci_high": hi}
    return rows, diff


def housing_outcomes(
    contacts: pd.DataFrame,
    persons_link: pd.DataFrame,
    participants: pd.DataFrame,
    year: int,
    *,
    partner: str = "housing_first",
    return_partners: Iterable[str] = RETURN_PARTNERS,
    seed: int = 20,
) -> OutcomesResult:
    """Participants vs non-participants among ``partner``'s tenants (see the module doc)."""
    reasons: dict[str, str] = {}
    notes: list[str] = []
    stay_rows = _stays(contacts, partner)
    stays = {p: g.to_dict("records") for p, g in stay_rows.groupby("person_id")}
    dates = pd.concat(
        [pd.to_datetime(contacts["date_start"]), pd.to_datetime(contacts["date_end"])]
    )
    obs_end = min(pd.Timestamp(f"{year}-12-31"), dates.max()) if dates.notna().any() else None
    empty_groups = pd.DataFrame(
        columns=[
            "group", "tenants", "n_retention", "retained_12m", "share_retained", "ci_low",
            "ci_high", "n_returns", "returns", "share_returns", "ret_ci_low", "ret_ci_high",
        ]
    )  # fmt: skip
    empty_tenure = pd.DataFrame(columns=["group", "band", "tenants"])
    nan_diff = {"d": math.nan, "ci_low": math.nan, "ci_high": math.nan}

    first = (
        participants.assign(date=pd.to_datetime(participants["date"]))
        .groupby("participant_id")["date"]
        .min()
        if participants is not None and len(participants)
        else pd.Series(dtype="datetime64[ns]")
    )
    link = persons_link if persons_link is not None else pd.DataFrame()
    if len(link):
        link = link[link["person_id"].notna() & (link["person_id"].astype(str) != "")]
        if "how" in link:
            link = link[link["how"] != "aucun"]
    linked = link[link["participant_id"].isin(first.index)] if len(link) else link
    person_first = (
        linked.assign(date=linked["participant_id"].map(first))
        .groupby(linked["person_id"].astype(str))["date"]
        .min()
        if len(linked)
        else pd.Series(dtype="datetime64[ns]")
    )
    tenants = set(stays)
    linkage = {
        "participants": len(first),
        "linked": int(linked["participant_id"].nunique()) if len(linked) else 0,
        "unlinked": len(first) - (int(linked["participant_id"].nunique()) if len(linked) else 0),
        "linked_not_tenant": int((~person_first.index.isin(list(tenants))).sum()),
        "excluded_not_housed_at_index": 0,
        "comparators_joining_later": 0,
    }

    def result(groups, diff, naive, tenure, tsum) -> OutcomesResult:
        return OutcomesResult(
            year=year,
            groups=groups,
            difference=diff,
            naive=naive,
            tenure=tenure,
            tenure_summary=tsum,
            linkage=linkage,
            caveats=list(CAVEATS),
            observation_end=str(obs_end.date()) if obs_end is not None else "",
            reasons=reasons,
            notes=notes,
        )

    def nothing() -> OutcomesResult:
        no_diff = {"retention": dict(nan_diff), "returns": dict(nan_diff)}
        return result(empty_groups, no_diff, {}, empty_tenure, {})

    if not tenants or obs_end is None:
        reasons["issues_logement"] = NON_CALCULE + f"aucun séjour chez le partenaire {partner}"
        return nothing()
    if person_first.empty:
        reasons["issues_logement"] = NON_CALCULE + (
            "aucun participant relié à une personne de l'observatoire"
        )
        return nothing()
    if linkage["unlinked"]:
        notes.append(
            f"{linkage['unlinked']} participant(s) non relié(s) à une personne de l'observatoire : "
            "s'ils sont locataires, ils sont comptés parmi les non-participants"
        )

    project_start = first.min()
    ret = contacts[contacts["partner_id"].isin(list(return_partners))]
    ret_by_person = {
        p: np.sort(pd.to_datetime(g).to_numpy())
        for p, g in ret.groupby(ret["person_id"].astype(str))["date_start"]
    }
    no_dates = np.array([], dtype="datetime64[ns]")
    entry = stay_rows.groupby("person_id")["start"].min()

    rows = []
    delays = []
    for person, p_date in person_first.items():
        if person not in tenants:
            continue
        stay = _stay_at(stays, person, p_date)
        if stay is None:
            linkage["excluded_not_housed_at_index"] += 1
            continue
        at_risk = max(project_start, stay["start"])
        delays.append(p_date - at_risk)
        rows.append(("participants", person, p_date, stay))
    if not rows:
        reasons["issues_logement"] = NON_CALCULE + (
            "aucun participant relié n'était logé à sa première participation"
        )
        return nothing()
    rng = np.random.default_rng(seed)
    for person in sorted(tenants):
        at_risk = max(project_start, entry[person])
        index = at_risk + delays[int(rng.integers(len(delays)))]
        joined = person_first.get(person)
        if joined is not None and joined <= index:
            continue  # already a participant at that date: not a comparator
        stay = _stay_at(stays, person, index) if index <= obs_end else None
        if stay is None:
            linkage["excluded_not_housed_at_index"] += 1
            continue
        if joined is not None:
            linkage["comparators_joining_later"] += 1
        rows.append(("non_participants", person, index, stay))

    recs = []
    for group, person, index, stay in rows:
        retained, returned = _outcome(stay, index, ret_by_person.get(person, no_dates), obs_end)
        recs.append(
            {
                "group": group,
                "person_id": person,
                "index": index,
                "tenure_months": _months(entry[person], index),
                "retained": retained,
                "returned": returned,
            }
        )
    frame = pd.DataFrame(recs)
    group_rows, diff = _compare(frame)
    groups = pd.DataFrame(group_rows)
    for k, label in (("retention", "maintien à 12 mois"), ("returns", "retours")):
        if math.isnan(diff[k]["d"]):
            n = groups.set_index("group")["n_retention" if k == "retention" else "n_returns"]
            reasons[k] = NON_CALCULE + (
                f"{label} : {int(n['participants'])} participant(s) et "
                f"{int(n['non_participants'])} autre(s) locataire(s) suivis 12 mois (il en faut "
                f"au moins {MIN_GROUP} par groupe)"
            )

    # naive baseline: every tenant housed at the project's start, window from that start
    naive_recs = []
    for person in sorted(tenants):
        stay = _stay_at(stays, person, project_start)
        if stay is None:
            continue
        retained, returned = _outcome(
            stay, project_start, ret_by_person.get(person, no_dates), obs_end
        )
        group = "participants" if person in person_first.index else "non_participants"
        naive_recs.append({"group": group, "retained": retained, "returned": returned})
    naive = _compare(pd.DataFrame(naive_recs))[1] if naive_recs else {}

    bands = []
    tsum: dict[str, dict[str, float]] = {}
    for g in GROUPS:
        t = frame.loc[frame["group"] == g, "tenure_months"]
        for lo, hi, label in TENURE_BANDS:
            bands.append({"group": g, "band": label, "tenants": int(((t >= lo) & (t < hi)).sum())})
        bands.append({"group": g, "band": "24 mois et plus", "tenants": int((t >= 24).sum())})
        tsum[g] = {
            "n": len(t),
            "median": float(t.median()) if len(t) else math.nan,
            "q1": float(t.quantile(0.25)) if len(t) else math.nan,
            "q3": float(t.quantile(0.75)) if len(t) else math.nan,
        }
    return result(groups, diff, naive, pd.DataFrame(bands), tsum)
