"""Each objective of a project's year: its indicator against its target, month by month.

**Indicators** (the closed list of :data:`observatoire.projects.settings.INDICATORS`) are
computed for the report year from the project's records; each has a *year value* and its
*cumulative trend*: the value as it stood at the end of each month (``m01`` … ``m12``), using
only the records dated up to that month. Months after the last month of the year with an
activity are not yet observed (empty). Participants are the attendance rows whose role is one of
the project's ``roles_participants`` (tenants, players: not the workers nor volunteers).

- ``participants_uniques``: distinct participants with an attendance in the year so far.
- ``seances`` / ``seances:<code>``: sessions held (distinct ``activity_id`` of the activities).
- ``presences``: attendance rows of participants.
- ``nouveaux_participants``: participants whose first attendance ever (all years of the
  records) falls in the year so far.
- ``retention_3_mois``: among the year's newcomers whose 3-month window has closed by the month
  (first attendance ever in month j ≤ m − 3), the share seen again in months j+1 … j+3. The
  year value is the last observed month's (newcomers of January–September for a full year):
  the definition of ``participation.retention_3m``.
- ``conseil_presence_moyenne``: distinct participants present per council session held
  (sessions without anyone count, as zero).
- ``propositions_realisees``: proposals of the year's councils whose outcome is « réalisée »,
  counted at their outcome date (the council date when none is given).
- ``budget_execution``: spent to date ÷ planned (:mod:`observatoire.projects.budget`).
- ``affilies_6_mois``, ``affilies_12_mois``, ``score_affiliation_median_12_mois``: from the
  affiliation analysis (passed in ``external``; a year value only, no monthly trend).

An objective is **reached** when the year value is at least (``au_moins``) or at most
(``au_plus``) its target. While the year runs (last observed month before December), a
``au_moins`` objective not yet reached is ``en_cours``, not ``non_atteint``. An indicator that
cannot be computed is ``non_calcule`` with its reason in French.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.projects.budget import BudgetResult
from observatoire.projects.records import ProjectRecords
from observatoire.projects.settings import Objective, Project

__all__ = [
    "EXTERNAL",
    "MONTH_COLUMNS",
    "OBJECTIVE_COLUMNS",
    "IndicatorValue",
    "evaluate_objectives",
    "indicator_values",
    "newcomer_retention",
]

MONTH_COLUMNS = [f"m{m:02d}" for m in range(1, 13)]
OBJECTIVE_COLUMNS = [
    "code",
    "libelle",
    "indicateur",
    "cible",
    "sens",
    "valeur",
    "atteint",
    "statut",
    "mois_observes",
    "raison",
    *MONTH_COLUMNS,
]
EXTERNAL = ("affilies_6_mois", "affilies_12_mois", "score_affiliation_median_12_mois")


@dataclass(frozen=True)
class IndicatorValue:
    """An indicator's year value and its cumulative value at the end of each month (None: not
    computed, or month not yet observed); ``reason`` says in French why it is not computed."""

    value: float | None
    monthly: tuple[float | None, ...] = (None,) * 12
    reason: str = ""

    @classmethod
    def missing(cls, reason: str) -> IndicatorValue:
        return cls(None, (None,) * 12, reason)


def _month_ends(year: int) -> list[pd.Timestamp]:
    return [pd.Timestamp(year, m, 1) + pd.offsets.MonthEnd(0) for m in range(1, 13)]


def _cumulative(year: int, last: int, at: Callable[[pd.Timestamp], float | None]) -> IndicatorValue:
    """``at(end_of_month)`` for months 1 … ``last`` (None after); the year value is month
    ``last``'s."""
    ends = _month_ends(year)
    monthly = tuple(at(ends[m - 1]) if m <= last else None for m in range(1, 13))
    return IndicatorValue(monthly[last - 1] if last else None, monthly)


def newcomer_retention(
    attendance: pd.DataFrame, year: int, up_to_month: int, window: int = 3
) -> tuple[float | None, int]:
    """Share of the year's newcomers (first attendance ever in month j of ``year``, with
    j ≤ ``up_to_month`` − ``window``: their window closed) seen again in months j+1 … j+window;
    returns (share or None without such newcomers, newcomers)."""
    if attendance.empty:
        return None, 0
    month = attendance["date"].dt.year * 12 + attendance["date"].dt.month - 1
    seen = pd.DataFrame({"pid": attendance["participant_id"], "month": month}).drop_duplicates()
    first = seen.groupby("pid")["month"].min()
    start = year * 12
    cohort = first[(first >= start) & (first <= start + up_to_month - 1 - window)]
    if cohort.empty:
        return None, 0
    later = seen.merge(cohort.rename("first"), left_on="pid", right_index=True)
    back = later[(later["month"] > later["first"]) & (later["month"] <= later["first"] + window)]
    return back["pid"].nunique() / len(cohort), len(cohort)


def indicator_values(
    records: ProjectRecords,
    project: Project,
    year: int,
    names: Sequence[str],
    *,
    budget: BudgetResult | None = None,
    external: Mapping[str, IndicatorValue] | None = None,
) -> dict[str, IndicatorValue]:
    """The indicators ``names`` of ``year`` for one project (see the module docstring)."""
    external = dict(external or {})
    acts = records.activities[records.activities["date"].dt.year == year]
    att_all = records.attendance[records.attendance["role"].isin(project.participant_roles)]
    att = att_all[att_all["date"].dt.year == year]
    last = int(acts["date"].dt.month.max()) if len(acts) else 0
    if len(att):
        last = max(last, int(att["date"].dt.month.max()))
    out: dict[str, IndicatorValue] = {}
    for name in names:
        out[name] = _one(name, records, project, year, last, acts, att, att_all, budget, external)
    return out


def _one(  # noqa: PLR0911, PLR0913
    name: str,
    records: ProjectRecords,
    project: Project,
    year: int,
    last: int,
    acts: pd.DataFrame,
    att: pd.DataFrame,
    att_all: pd.DataFrame,
    budget: BudgetResult | None,
    external: dict[str, IndicatorValue],
) -> IndicatorValue:
    if name in EXTERNAL:
        return external.get(name) or IndicatorValue.missing(
            "non calculé — analyse de l'affiliation absente"
        )
    if name == "budget_execution":
        return _budget_indicator(budget, year)
    if last == 0:
        return IndicatorValue.missing(f"non calculé — aucune activité enregistrée en {year}")
    if name == "participants_uniques":
        return _cumulative(
            year, last, lambda e: att.loc[att["date"] <= e, "participant_id"].nunique()
        )
    if name == "presences":
        return _cumulative(year, last, lambda e: int((att["date"] <= e).sum()))
    if name == "seances" or name.startswith("seances:"):
        chosen = acts if name == "seances" else acts[acts["activity"] == name.split(":", 1)[1]]
        return _cumulative(
            year, last, lambda e: chosen.loc[chosen["date"] <= e, "activity_id"].nunique()
        )
    if name == "nouveaux_participants":
        first = att_all.groupby("participant_id")["date"].min()
        first = first[first.dt.year == year]
        return _cumulative(year, last, lambda e: int((first <= e).sum()))
    if name == "retention_3_mois":
        return _retention(att_all, year, last)
    if name == "conseil_presence_moyenne":
        return _council(project, year, last, acts, att)
    if name == "propositions_realisees":
        return _proposals(records.proposals, year, last)
    return IndicatorValue.missing(f"non calculé — indicateur « {name} » inconnu")


def _retention(att_all: pd.DataFrame, year: int, last: int) -> IndicatorValue:
    upto = att_all[att_all["date"].dt.year <= year]
    monthly = tuple(
        newcomer_retention(upto[upto["date"] <= e], year, m)[0] if m <= last else None
        for m, e in enumerate(_month_ends(year), start=1)
    )
    value = monthly[last - 1]
    reason = (
        ""
        if value is not None
        else f"non calculé — aucun nouveau participant de {year} suivi trois mois complets"
    )
    return IndicatorValue(value, monthly, reason)


def _council(
    project: Project, year: int, last: int, acts: pd.DataFrame, att: pd.DataFrame
) -> IndicatorValue:
    if project.conseil is None:
        return IndicatorValue.missing("non calculé — le projet n'a pas de conseil (params)")
    code = project.conseil.activite
    sessions = acts[acts["activity"] == code]
    present = att[att["activity_id"].isin(sessions["activity_id"])].drop_duplicates(
        ["activity_id", "participant_id"]
    )

    def at(end: pd.Timestamp) -> float | None:
        held = sessions.loc[sessions["date"] <= end, "activity_id"].nunique()
        return int((present["date"] <= end).sum()) / held if held else None

    result = _cumulative(year, last, at)
    if result.value is None:
        return IndicatorValue(None, result.monthly, f"non calculé — aucun conseil tenu en {year}")
    return result


def _proposals(proposals: pd.DataFrame, year: int, last: int) -> IndicatorValue:
    made = proposals[(proposals["date"].dt.year == year) & (proposals["outcome"] == "realisee")]
    when = made["outcome_date"].fillna(made["date"])
    return _cumulative(year, last, lambda e: int((when <= e).sum()))


def _budget_indicator(budget: BudgetResult | None, year: int) -> IndicatorValue:
    if budget is None:
        return IndicatorValue.missing("non calculé — budget absent")
    monthly = tuple(budget.execution_by_month())
    known = [v for v in monthly if v is not None]
    if not known:
        return IndicatorValue.missing(f"non calculé — pas de budget prévu ou dépensé en {year}")
    return IndicatorValue(known[-1], monthly)


def _status(value: float | None, objective: Objective, complete: bool) -> tuple[object, str]:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return pd.NA, "non_calcule"
    reached = value >= objective.cible if objective.sens == "au_moins" else value <= objective.cible
    if reached:
        return True, "atteint"
    return False, "non_atteint" if complete or objective.sens == "au_plus" else "en_cours"


def evaluate_objectives(
    objectives: Sequence[Objective], values: Mapping[str, IndicatorValue]
) -> pd.DataFrame:
    """``objectifs.csv``: one row per objective (columns :data:`OBJECTIVE_COLUMNS`)."""
    rows = []
    for objective in objectives:
        ind = values.get(objective.indicateur) or IndicatorValue.missing("non calculé")
        observed = sum(v is not None for v in ind.monthly)
        last = max((i + 1 for i, v in enumerate(ind.monthly) if v is not None), default=0)
        reached, status = _status(ind.value, objective, complete=last == 12 or observed == 0)
        rows.append(
            {
                "code": objective.code,
                "libelle": objective.libelle,
                "indicateur": objective.indicateur,
                "cible": objective.cible,
                "sens": objective.sens,
                "valeur": ind.value,
                "atteint": reached,
                "statut": status,
                "mois_observes": last,
                "raison": ind.reason,
                **dict(zip(MONTH_COLUMNS, ind.monthly, strict=True)),
            }
        )
    frame = pd.DataFrame(rows, columns=OBJECTIVE_COLUMNS)
    frame["atteint"] = frame["atteint"].astype("boolean")
    return frame
