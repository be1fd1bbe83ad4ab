"""The projects' counts (issue 20) as an audited publication.

Why: a project report prints persons — participants per month, by role, by number of
sessions, the tenants' council attendance per session, tenants per affiliation score, Housing
First tenants per outcome group, participants linked to the observatory's persons. Each is a
:class:`CountTable` cell with a quantity key ``projet|<report year>|<project>|<dimension>=<code>|
<measure>`` (the year's totals: ``projet|<Y>|<project>|total|<measure>``); the identities a
reader knows (a month's participants = new + returning, the returning being an unprinted count
guarded like « < k »; the year's presences and new participants = Σ months; the year's
participants = Σ roles = Σ bands of sessions; a time's tenants = Σ scores; a group's tenants =
Σ bands of tenure; the council's presences = Σ sessions; Σ domains' tenants = Σ score ×
tenants; the objectives' cumulative curves of persons tied to the monthly table — January's
value is January's participants or newcomers, a month's increase of the newcomers' curve is the
month's newcomers, of the participants' curve at least them and at most the month's
participants: the independent attack ``tests/support/projects_attacker.py`` recovered five
« < k » cells through these before they were declared) are declared when they hold in the data,
and the ``publication`` stage
protects and audits them with everything else the year publishes. The report prints the
ledger's text (« < k », « s » or the number) and derives shares only from published cells.

Sessions, hours, euros and proposals are not persons: they are printed as computed.

A small group (the council of six tenants) is published under the same rules: its attendance per
session is « < k » when under k, and another session is masked (« s ») when the year's total
would give a small one away. :func:`rules_cost` counts, from the ledger, what the rules took from
the reader (cells masked of cells printed, per table) for the report's « coût des règles ».

The inputs are the ``projects`` stage's files (``outputs/projects/<Y>/<project>/``, contract in
coord20); they hold RAW counts and are never published as such.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.formatting import MOIS_ABREGES
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    Budget,
    Constraint,
    CountTable,
    Publication,
    protect,
)

__all__ = [
    "BANDS",
    "DOMAINS",
    "PREFIX",
    "ROLES",
    "TIMES",
    "ProjectOutputs",
    "build_project_tables",
    "folder_of",
    "projet_key",
    "publish_projects",
    "read_project",
    "read_projects",
    "write_projects_tables",
]

PREFIX = "projet"
ROLES = {"locataire": "Locataires", "joueur": "Joueurs", "volontaire": "Volontaires",
         "travailleur": "Travailleurs", "autre": "Autres"}  # fmt: skip
BANDS = {"1": ("1 séance", 1, 1), "2-3": ("2 ou 3 séances", 2, 3),
         "4-9": ("4 à 9 séances", 4, 9), "10+": ("10 séances ou plus", 10, 10**9)}  # fmt: skip
TIMES = {"entree": "À l'entrée", "6_mois": "À 6 mois", "12_mois": "À 12 mois"}
DOMAINS = {
    "culture": "Culture", "sport": "Sport", "communautaire": "Lieux communautaires",
    "famille": "Liens familiaux", "formation_emploi": "Formation, emploi",
    "sante_bien_etre": "Santé, bien-être", "citoyennete": "Citoyenneté",
    "logement_appropriation": "Appropriation du logement",
}  # fmt: skip
GROUPS = {"participants": "Participants", "non_participants": "Non-participants"}
LINKS = {"cle_partenaire": "Par le code du partenaire",
         "nom_naissance": "Par nom et date de naissance",
         "nom_naissance_inversee": "Par nom et date de naissance (jour et mois inversés)",
         "aucun": "Non reliés"}  # fmt: skip
PARTICIPANT_ROLES = ("locataire", "joueur", "autre")
"""The roles a project's *participants* have (lane paffil's ``participant_roles``): volunteers
and workers are counted beside them, never in the participants."""
PERSON_INDICATORS = {"participants_uniques": "participants", "nouveaux_participants": "nouveaux"}
"""Objectives whose value is a count of persons: printed as the ledger's cell of the year."""


def folder_of(project: str) -> str:
    """Subfolder of ``outputs/tables/<year>/`` and ledger prefix of a project's tables."""
    return f"projet-{project}"


def projet_key(year: int, project: str, dim: str, code: Any, measure: str) -> str:
    """``projet|2024|affiliation_hf|mois=03|participants``; ``dim="total"``: the year's."""
    part = "total" if dim == "total" else f"{dim}={code}"
    return f"{PREFIX}|{year}|{project}|{part}|{measure}"


@dataclass
class ProjectOutputs:
    """One project's files of the ``projects`` stage, read back (absent file: empty frame)."""

    project: str
    year: int
    results: dict[str, Any]
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    json: dict[str, dict[str, Any]] = field(default_factory=dict)

    def frame(self, name: str) -> pd.DataFrame:
        return self.frames.get(name, pd.DataFrame())

    def detail(self, analysis: str, *path: str) -> Any:
        """``results.json``'s ``details.<analysis>.<path…>`` (lane pstage), else None."""
        node: Any = (self.results.get("details") or {}).get(analysis)
        for step in path:
            node = node.get(step) if isinstance(node, dict) else None
        return node

    @property
    def kind(self) -> str:
        return str(self.results.get("type", ""))

    @property
    def label(self) -> str:
        return str(self.results.get("label") or self.project)


CSV = ("participation_mois", "participation_seances", "retention", "conseil", "propositions",
       "affiliation_scores", "domaines", "issues_logement", "objectifs", "budget", "budget_mois",
       "activites_calendrier", "liaison", "anciennete", "cohortes",
       "budget_controle")  # fmt: skip
JSON = ("effet_conseil", "affiliation", "issues_logement", "conseil")


def read_project(folder: Path, year: int) -> ProjectOutputs | None:
    """A project's outputs, or None when its ``results.json`` is absent."""
    folder = Path(folder)
    if not (folder / "results.json").exists():
        return None
    out = ProjectOutputs(
        folder.name, year, json.loads((folder / "results.json").read_text(encoding="utf-8"))
    )
    for name in CSV:
        if (folder / f"{name}.csv").exists():
            try:
                out.frames[name] = pd.read_csv(folder / f"{name}.csv")
            except pd.errors.EmptyDataError:  # an analysis not computed: an empty file
                out.frames[name] = pd.DataFrame()
    for name in JSON:
        if (folder / f"{name}.json").exists():
            out.json[name] = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    return out


def read_projects(projects_dir: Path, year: int) -> list[ProjectOutputs]:
    """Every project of ``outputs/projects/<year>/``, by id."""
    d = Path(projects_dir)
    if not d.is_dir():
        return []
    found = (read_project(p, year) for p in sorted(d.iterdir()) if p.is_dir())
    return [p for p in found if p is not None]


def month_of(value: Any) -> int:
    """``3``, ``"03"``, ``"2024-03"`` → 3."""
    return int(str(value).split("-")[-1]) if "-" in str(value) else int(value)


class _Builder:
    def __init__(self, out: ProjectOutputs, k: int) -> None:
        self.out, self.year, self.p, self.k = out, out.year, out.project, k
        self.tables: list[CountTable] = []
        self.constraints: list[Constraint] = []
        self.values: dict[str, float] = {}
        self.unprinted: dict[str, float] = {}

    def key(self, dim: str, code: Any, measure: str) -> str:
        return projet_key(self.year, self.p, dim, code, measure)

    def table(
        self,
        name: str,
        title: str,
        rows: list[tuple[str, list[tuple[str, float]]]],
        columns: list[str],
        index_name: str = "",
    ) -> None:
        """``rows``: (label, [(key, value) per column])."""
        index = pd.Index([r[0] for r in rows], name=index_name)
        vals = pd.DataFrame({c: [float(r[1][j][1]) for r in rows]
                             for j, c in enumerate(columns)}, index=index)  # fmt: skip
        keys = pd.DataFrame({c: [r[1][j][0] for r in rows] for j, c in enumerate(columns)},
                            index=index)  # fmt: skip
        for r in rows:
            for k, v in r[1]:
                self.values[k] = float(v)
        self.tables.append(CountTable(f"{folder_of(self.p)}_{name}", title, vals, keys))

    def sum_if_holds(self, total: str, parts: list[str]) -> None:
        """Declare total = Σ parts when it holds (a reader adds the printed parts up)."""
        v = self.values | self.unprinted
        known = parts and total in v and all(p in v for p in parts)
        if known and abs(v[total] - sum(v[p] for p in parts)) < 1e-9:
            self.constraints.append(Constraint(total, tuple(parts)))


def _year_roles(b: _Builder) -> dict[str, int]:
    """The year's distinct persons per role (``results.json``), zeros when absent."""
    roles = dict.fromkeys(ROLES, 0)
    by = _first(b.out.results.get("participants_par_role"), b.out.results.get("roles"))
    if isinstance(by, dict):
        roles |= {str(key): int(v) for key, v in by.items() if str(key) in ROLES}
    return roles


def _shown_roles(year: dict[str, int], k: int) -> list[str]:
    """The roles printed apart: volunteers and workers (beside the participants, never in
    their sum) when there are any, and the participants' roles only when at least two of them
    have k persons or more in the year — a minor role of 1 to k−1 would otherwise cost the main
    role's cell every month (participants = Σ participants' roles), for a detail the report's
    reader does not need."""
    split = [r for r in PARTICIPANT_ROLES if year.get(r, 0)]
    if len(split) < 2 or any(year[r] < k for r in split):
        split = []
    return split + [r for r in ROLES if r not in PARTICIPANT_ROLES and year.get(r, 0)]


def _mostly_printed(months: pd.DataFrame, role: str, k: int) -> bool:
    """Whether a role's monthly column would be printed in at least half the months (k or more
    persons, or none): else the report gives the year's number only."""
    col = months.get(f"participants_{role}")
    return col is not None and bool(((col >= k) | (col == 0)).mean() >= 0.5)


def _participation(b: _Builder) -> None:
    months = b.out.frame("participation_mois")
    if months.empty:
        return
    months = months.assign(m=[month_of(v) for v in months["month"]]).set_index("m")
    # the returning participants (participants − new) are an unprinted count, guarded like a
    # « < k » cell: printed, a month of 1 to k−1 new participants (most months of a small
    # project) would cost its participants or its returning cell (« s ») through participants =
    # new + returning; unprinted, only a small number of returning persons costs a cell
    measures = (("participants", "Participants"), ("nouveaux", "Nouveaux"),
                ("presences", "Présences"))  # fmt: skip
    rows = []
    for m in range(1, 13):
        r = months.loc[m] if m in months.index else None
        rows.append((MOIS_ABREGES[m - 1], [
            (b.key("mois", f"{m:02d}", meas), 0 if r is None else r.get(meas, 0))
            for meas, _ in measures]))  # fmt: skip
    b.table("mois", "Participants et présences par mois", rows, [t for _, t in measures], "Mois")
    for m in range(1, 13):
        back = b.key("mois", f"{m:02d}", "revenants")
        r = months.loc[m] if m in months.index else None
        b.unprinted[back] = 0.0 if r is None else float(r.get("revenants", 0))
        b.sum_if_holds(b.key("mois", f"{m:02d}", "participants"),
                       [b.key("mois", f"{m:02d}", "nouveaux"), back])  # fmt: skip
    year_roles = _year_roles(b)
    shown = _shown_roles(year_roles, b.k)
    # month by month: the participants' roles printed apart, and volunteers or workers only
    # when most months print (a column of « < k » every month says nothing: the year's row)
    monthly = [r for r in shown if r in PARTICIPANT_ROLES or _mostly_printed(months, r, b.k)]
    if monthly:
        b.table("mois_roles", "Participants, volontaires et travailleurs par mois et par rôle",
                [(MOIS_ABREGES[m - 1], [(b.key("mois", f"{m:02d}:{r}", "participants"),
                                         months.loc[m].get(f"participants_{r}", 0)
                                         if m in months.index else 0) for r in monthly])
                 for m in range(1, 13)], [ROLES[r] for r in monthly], "Mois")  # fmt: skip
        split = [r for r in monthly if r in PARTICIPANT_ROLES]
        for m in range(1, 13):
            if split:
                b.sum_if_holds(
                    b.key("mois", f"{m:02d}", "participants"),
                    [b.key("mois", f"{m:02d}:{r}", "participants") for r in split],
                )
    total = int(
        _first(
            b.out.results.get("participants"),
            b.out.detail("participation", "indicators", "participants_uniques"),
            (b.out.results.get("indicators") or {}).get("participants_uniques"),
            0,
        )
    )
    year_rows = [
        ("Participants différents", [(b.key("total", None, "participants"), total)]),
        ("Nouveaux participants", [(b.key("total", None, "nouveaux"), months["nouveaux"].sum())]),
        ("Présences", [(b.key("total", None, "presences"), months["presences"].sum())]),
    ]
    b.table("annee", "L'année", year_rows, ["Année"])
    for meas in ("nouveaux", "presences"):
        b.sum_if_holds(b.key("total", None, meas),
                       [b.key("mois", f"{m:02d}", meas) for m in range(1, 13)])  # fmt: skip
    if shown:
        b.table("roles", "Participants, volontaires et travailleurs de l'année par rôle",
                [(ROLES[r], [(b.key("role", r, "participants"), year_roles[r])]) for r in shown],
                ["Personnes"], "Rôle")  # fmt: skip
        split = [r for r in shown if r in PARTICIPANT_ROLES]
        if split:
            b.sum_if_holds(b.key("total", None, "participants"),
                           [b.key("role", r, "participants") for r in split])  # fmt: skip
    bands = b.out.frame("participation_seances")
    if not bands.empty:
        counts = {c: 0 for c in BANDS}
        for r in bands.itertuples():
            for c, (_, lo, hi) in BANDS.items():
                if lo <= int(r.n_seances) <= hi:
                    counts[c] += int(r.participants)
        b.table("seances", "Participants selon le nombre de séances suivies dans l'année",
                [(label, [(b.key("seances", c, "participants"), counts[c])])
                 for c, (label, _, _) in BANDS.items()], ["Participants"], "Séances")  # fmt: skip
        b.sum_if_holds(
            b.key("total", None, "participants"),
            [b.key("seances", c, "participants") for c in BANDS],
        )
    ret = b.out.frame("retention")
    seen = next((c for c in ("seen_again", "revus_3_mois") if c in ret), None)
    if not ret.empty and seen is not None:
        if "complete" in ret:  # months whose three following months are observed
            ret = ret[ret["complete"].astype(str).str.lower().isin(["true", "1", "1.0"])]
        ret = ret.dropna(subset=[seen]).rename(columns={seen: "revus_3_mois"})
        ms = [month_of(v) for v in ret["month"]]
        rows = [(MOIS_ABREGES[m - 1], [(b.key("mois", f"{m:02d}", "participants"), r.participants),
                                        (b.key("retention", f"{m:02d}", "revus"), r.revus_3_mois)])
                for m, r in zip(ms, ret.itertuples(), strict=True)]  # fmt: skip
        rows.append(("Total", [(b.key("retention", "total", "base"), ret["participants"].sum()),
                               (b.key("retention", "total", "revus"),
                                ret["revus_3_mois"].sum())]))  # fmt: skip
        b.table(
            "retention",
            "Participants d'un mois revus dans les trois mois suivants",
            rows,
            ["Participants du mois", "Revus dans les 3 mois"],
            "Mois",
        )
        b.sum_if_holds(
            b.key("retention", "total", "base"),
            [b.key("mois", f"{m:02d}", "participants") for m in ms],
        )
        b.sum_if_holds(
            b.key("retention", "total", "revus"),
            [b.key("retention", f"{m:02d}", "revus") for m in ms],
        )
    newcomers = b.out.detail("participation", "retention_3m") or {}
    if newcomers.get("newcomers") is not None and newcomers.get("retained") is not None:
        b.table("retention_nouveaux", "Nouveaux participants revus dans les trois mois",
                [("Nouveaux participants", [(b.key("retention", "nouveaux", "base"),
                                             newcomers["newcomers"])]),
                 ("Revus dans les 3 mois", [(b.key("retention", "nouveaux", "revus"),
                                             newcomers["retained"])])], ["Année"])  # fmt: skip
        # the newcomers followed three months are those of the months whose three following
        # months are observed (the report's « Méthodes »: January–September of a full year)
        followed = [m for m in range(1, 13) if m + 3 <= max(months.index)]
        b.sum_if_holds(b.key("retention", "nouveaux", "base"),
                       [b.key("mois", f"{m:02d}", "nouveaux") for m in followed])  # fmt: skip


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def _council(b: _Builder) -> None:
    council = b.out.frame("conseil")
    if council.empty:
        return
    dates = [str(d)[:10] for d in council["date"]]
    rows = [(d, [(b.key("conseil", d, "presences"), v)])
            for d, v in zip(dates, council["presences"], strict=True)]  # fmt: skip
    rows.append(("Total", [(b.key("conseil", "total", "presences"), council["presences"].sum())]))
    distinct = _first(
        b.out.detail("participation", "council_summary", "attendees_year"),
        (b.out.results.get("council_summary") or {}).get("attendees_year"),
        ((b.out.results.get("participation") or {}).get("council_summary") or {}).get(
            "attendees_year"
        ),
        (b.out.json.get("conseil") or {}).get("locataires_distincts"),
        (b.out.results.get("council") or {}).get("tenants"),
    )
    if distinct is None:
        return  # the year's distinct tenants unknown: no council table rather than a guess
    rows.append(("Locataires différents", [(b.key("conseil", "total", "locataires"), distinct)]))
    b.table(
        "conseil", "Présences au conseil des locataires, par séance", rows, ["Présences"], "Séance"
    )
    b.sum_if_holds(
        b.key("conseil", "total", "presences"), [b.key("conseil", d, "presences") for d in dates]
    )


def _affiliation(b: _Builder) -> None:
    scores = b.out.frame("affiliation_scores")
    if scores.empty:
        return
    top = max(8, int(scores["score"].max()))
    val = {(str(r.time), int(r.score)): int(r.locataires) for r in scores.itertuples()}
    times = [t for t in TIMES if any(k[0] == t for k in val)]
    rows = [(f"{s} domaine" + ("s" if s > 1 else ""),
             [(b.key("affiliation", f"{t}:{s}", "locataires"), val.get((t, s), 0)) for t in times])
            for s in range(top + 1)]  # fmt: skip
    rows.append(
        (
            "Au moins un domaine",
            [
                (
                    b.key("affiliation", t, "affilies"),
                    sum(v for (tt, s), v in val.items() if tt == t and s >= 1),
                )
                for t in times
            ],
        )
    )
    rows.append(
        (
            "Total",
            [
                (
                    b.key("affiliation", t, "locataires"),
                    sum(v for (tt, _), v in val.items() if tt == t),
                )
                for t in times
            ],
        )
    )
    b.table(
        "affiliation",
        "Locataires selon le score d'affiliation (domaines actifs)",
        rows,
        [TIMES[t] for t in times],
        "Score",
    )
    for t in times:
        b.sum_if_holds(
            b.key("affiliation", t, "locataires"),
            [b.key("affiliation", f"{t}:{s}", "locataires") for s in range(top + 1)],
        )
        b.sum_if_holds(b.key("affiliation", t, "affilies"),
                       [b.key("affiliation", f"{t}:{s}", "locataires")
                        for s in range(1, top + 1)])  # fmt: skip
    dom = b.out.frame("domaines")
    if not dom.empty:
        dv = {(str(r.domain), str(r.time)): int(r.locataires) for r in dom.itertuples()}
        b.table("domaines", "Locataires ayant un domaine d'affiliation actif",
                [(label, [(b.key("domaine", f"{d}:{t}", "locataires"), dv.get((d, t), 0))
                          for t in times]) for d, label in DOMAINS.items()],
                [TIMES[t] for t in times], "Domaine")  # fmt: skip
        # A tenant counts in each of their active domains and the score is their number of
        # active domains (both captions say so): Σ domains' tenants = Σ score × tenants of that
        # score, an identity a reader writes (it gave away a « < k » score of the sample).
        # Written through an unprinted sum: sum = Σ domains and sum = Σ score × tenants (a part
        # repeated s times weighs s).
        for t in times:
            total = b.key("affiliation", f"{t}:domaines", "somme")
            domains = [b.key("domaine", f"{d}:{t}", "locataires") for d in DOMAINS]
            weighted = [b.key("affiliation", f"{t}:{s}", "locataires")
                        for s in range(1, top + 1) for _ in range(s)]  # fmt: skip
            value = sum(b.values[k] for k in domains)
            if abs(value - sum(b.values[k] for k in weighted)) < 1e-9:
                b.unprinted[total] = b.values[total] = value
                b.constraints += [Constraint(total, tuple(domains)),
                                  Constraint(total, tuple(weighted))]  # fmt: skip


def _outcomes(b: _Builder) -> None:
    frame = b.out.frame("issues_logement")
    if frame.empty:
        return
    rows = []
    for r in frame.itertuples():
        g = str(r.group)
        rows.append(
            (
                GROUPS.get(g, g),
                [
                    (b.key("issues", g, "locataires"), r.tenants),
                    (b.key("issues", g, "suivis"), getattr(r, "n_retention", r.tenants)),
                    (b.key("issues", g, "maintenus"), r.retained_12m),
                    (b.key("issues", g, "suivis_retours"), getattr(r, "n_returns", r.tenants)),
                    (b.key("issues", g, "retours"), r.returns),
                ],
            )
        )
    b.table(
        "issues",
        "Locataires Housing First : maintien en logement et retours",
        rows,
        [
            "Locataires",
            "Suivis 12 mois",
            "Toujours logés à 12 mois",
            "Suivis (retours)",
            "Retours vers l'urgence",
        ],
        "Groupe",
    )
    tenure = b.out.frame("anciennete")  # tenure in housing at the index date, per group
    if not tenure.empty:
        groups = [g for g in GROUPS if g in set(frame["group"].astype(str))]
        bands = list(dict.fromkeys(str(x) for x in tenure["band"]))
        tv = {(str(r.group), str(r.band)): int(r.tenants) for r in tenure.itertuples()}
        b.table("anciennete", "Locataires Housing First selon l'ancienneté dans le logement",
                [(band, [(b.key("anciennete", f"{g}:{band}", "locataires"), tv.get((g, band), 0))
                         for g in groups]) for band in bands],
                [GROUPS[g] for g in groups], "Ancienneté")  # fmt: skip
        for g in groups:
            b.sum_if_holds(b.key("issues", g, "locataires"),
                           [b.key("anciennete", f"{g}:{band}", "locataires")
                            for band in bands])  # fmt: skip


def _cohorts(b: _Builder) -> None:
    """New participants present k = 1…6 months after their first month, pooled over the cohorts
    (first months of the report year) observed for all six months: one cohort is a handful of
    persons (its row would print « < k » everywhere), and one common base keeps the shares
    comparable and the base a sum of printed months (declared: base = Σ months' new)."""
    frame = b.out.frame("cohortes")
    cols = [c for c in (f"m{k}" for k in range(1, 13)) if c in frame]
    if frame.empty or "participants" not in frame or not cols:
        return
    frame = frame[[str(c).startswith(str(b.year)) for c in frame["cohort"]]]
    full = frame[frame[cols].notna().all(axis=1)]
    if full.empty:
        return
    months = [month_of(c) for c in full["cohort"]]
    base = b.key("cohorte", "base", "nouveaux")
    rows = [("Nouveaux participants suivis", [(base, full["participants"].sum())])]
    rows += [(f"Présents {k} mois après", [(b.key("cohorte", f"{k}", "revus"), full[c].sum())])
             for k, c in enumerate(cols, start=1)]  # fmt: skip
    b.table("cohortes", "Nouveaux participants présents k mois après leur premier mois "
            f"(premiers mois : {MOIS_ABREGES[min(months) - 1]} à {MOIS_ABREGES[max(months) - 1]})",
            rows, ["Personnes"], "Délai")  # fmt: skip
    b.sum_if_holds(base, [b.key("mois", f"{m:02d}", "nouveaux") for m in months])


def _linkage(b: _Builder) -> None:
    frame = b.out.frame("liaison")
    if frame.empty:
        return
    by = {str(r.how): int(r.participants) for r in frame.itertuples()}
    rows = [(label, [(b.key("liaison", h, "participants"), by.get(h, 0))])
            for h, label in LINKS.items() if h in by]  # fmt: skip
    b.table(
        "liaison",
        "Participants reliés aux personnes de l'observatoire",
        rows,
        ["Participants"],
        "Liaison",
    )
    b.sum_if_holds(
        b.key("total", None, "participants"),
        [b.key("liaison", h, "participants") for h in LINKS if h in by],
    )


def _objectives(b: _Builder) -> None:
    """Person-count objectives' monthly cumulative values: cells (the trend chart), tied to the
    monthly table the way a reader ties them (an independent attack recovered January's and
    February's newcomers of the sample through them):

    - ``nouveaux_participants``: the curve adds up the months' « Nouveaux » (a person has one
      first time): cumul(m) = cumul(m−1) + nouveaux(m), cumul(janv.) = nouveaux(janv.),
      cumul(déc.) = the year's newcomers;
    - ``participants_uniques`` (distinct participants of the year so far): cumul(janv.) =
      January's participants, cumul(déc.) = the year's; each month's increase h(m) (persons not
      seen before in the year — an unprinted count protected like « < k ») is the month's
      newcomers to the project plus persons back after a longer absence (h ≥ nouveaux), and the
      month's participants are h(m) plus persons already seen this year (≤ cumul(m−1)).
    """
    obj = b.out.frame("objectifs")
    if obj.empty:
        return
    for r in obj.itertuples():
        measure = PERSON_INDICATORS.get(str(r.indicateur))
        if measure is None:
            continue
        cum = [getattr(r, f"m{m:02d}", None) for m in range(1, 13)]
        if any(pd.isna(c) for c in cum):
            continue
        code = str(r.code)
        keys = [b.key("objectif", f"{code}:{m:02d}", "cumul") for m in range(1, 13)]
        b.table(f"objectif_{code}", f"Objectif « {r.libelle} » : cumul par mois",
                [(MOIS_ABREGES[m - 1], [(keys[m - 1], cum[m - 1])]) for m in range(1, 13)],
                ["Cumul"], "Mois")  # fmt: skip

        def month(m: int, meas: str) -> str:
            return b.key("mois", f"{m:02d}", meas)

        b.sum_if_holds(keys[11], [b.key("total", None, measure)])
        if measure == "nouveaux":
            b.sum_if_holds(keys[0], [month(1, "nouveaux")])
            for m in range(1, 12):
                b.sum_if_holds(keys[m], [keys[m - 1], month(m + 1, "nouveaux")])
            continue
        b.sum_if_holds(keys[0], [month(1, "participants")])
        for m in range(1, 12):
            inc = b.key("objectif", f"{code}:{m + 1:02d}", "hausse")
            b.unprinted[inc] = max(0.0, float(cum[m]) - float(cum[m - 1]))
            if float(cum[m]) < float(cum[m - 1]):
                continue
            b.values[inc] = b.unprinted[inc]
            b.constraints.append(Constraint(keys[m], (keys[m - 1], inc)))
            # h ≥ nouveaux, participants = h + déjà vus, déjà vus ≤ cumul(m−1): through
            # unprinted slacks (≥ 0 for a reader), declared when the data agree
            participants, new = month(m + 1, "participants"), month(m + 1, "nouveaux")
            if participants not in b.values or new not in b.values:
                continue
            back = b.key("objectif", f"{code}:{m + 1:02d}", "retour")  # back after long absence
            seen = b.key("objectif", f"{code}:{m + 1:02d}", "deja_vus")
            rest = b.key("objectif", f"{code}:{m + 1:02d}", "pas_revus")
            slack = {back: b.values[inc] - b.values[new],
                     seen: b.values[participants] - b.values[inc]}  # fmt: skip
            slack[rest] = float(cum[m - 1]) - slack[seen]
            if min(slack.values()) < 0:
                continue
            for key, v in slack.items():
                b.unprinted[key] = b.values[key] = v
            b.constraints += [Constraint(inc, (new, back)),
                              Constraint(participants, (inc, seen)),
                              Constraint(keys[m - 1], (seen, rest))]  # fmt: skip


def build_project_tables(
    out: ProjectOutputs, k: int
) -> tuple[list[CountTable], list[Constraint], dict[str, float]]:
    """A project's tables, the identities a reader knows and the unprinted person counts
    (``k``: the threshold, which decides whether the participants' roles are printed apart)."""
    b = _Builder(out, k)
    _participation(b)
    _cohorts(b)
    _council(b)
    _affiliation(b)
    _outcomes(b)
    _linkage(b)
    _objectives(b)
    return b.tables, b.constraints, b.unprinted


def headline_keys(out: ProjectOutputs) -> set[str]:
    """The year's participants and presences: secondary suppression goes elsewhere."""
    return {projet_key(out.year, out.project, "total", None, m)
            for m in ("participants", "presences")}  # fmt: skip


def publish_projects(
    projects_dir: Path, year: int, k: int, budget: Budget = DEFAULT_BUDGET
) -> dict[str, Publication]:
    """One protected publication per project of ``outputs/projects/<year>/`` (folder name →
    publication); empty when the ``projects`` stage has not run."""
    pubs = {}
    for out in read_projects(projects_dir, year):
        tables, constraints, unprinted = build_project_tables(out, k)
        if not tables:
            continue
        pubs[folder_of(out.project)] = protect(
            tables, k, constraints, keep=headline_keys(out), unprinted=unprinted,
            guarded=set(unprinted), budget=budget,
        )  # fmt: skip
    return pubs


def write_projects_tables(pubs: dict[str, Publication], folder: Path) -> list[Path]:
    """Each project's tables as published, in ``<folder>/projet-<id>/``."""
    written = []
    for name, pub in pubs.items():
        for table in pub.tables:
            frame = pub.text(table).reset_index(names=table.values.index.name or "")
            written.append(Path(folder) / name / f"{table.name}.csv")  # the ledger's name
            written[-1].parent.mkdir(parents=True, exist_ok=True)
            write_safe_csv(frame, written[-1], quote_all=False)
    return written


UNPRINTED_MEASURES = ("|hausse", "|revenants")
"""Unprinted counts of the ledger (a month's increase of a cumulative objective, a month's
returning participants): guarded, never printed, not cells of the report."""


def rules_cost(cells: dict[str, Any], year: int, project: str) -> dict[str, Any]:
    """What the rules took from the reader, from the ledger's cells of a project
    (``{key: PublishedCell}``): cells printed, « < k » and « s » per dimension."""
    prefix = f"{PREFIX}|{year}|{project}|"
    per: dict[str, dict[str, int]] = {}
    for key, cell in cells.items():
        if not key.startswith(prefix) or key.endswith(UNPRINTED_MEASURES):
            continue
        dim = key[len(prefix) :].split("|")[0].split("=")[0]
        d = per.setdefault(dim, {"cells": 0, "primary": 0, "secondary": 0})
        d["cells"] += 1
        if cell.value is None:
            d["primary" if cell.text.startswith("<") else "secondary"] += 1
    total = {f: sum(d[f] for d in per.values()) for f in ("cells", "primary", "secondary")}
    return {"per": per, **total}
