"""The linear-programming attack of the project reports (issue 20), read as an outsider.

A project report (``outputs/reports/<Y>/projet-<id>.qmd``) prints person counts in its tables,
its charts' CSVs (``projet-<id>-figures/``), its monthly sheets (``projet-<id>-fiches/``) and its
text; the published cells are in ``outputs/tables/<Y>/projet-<id>/``. This module names every
printed cell by *its own* name (``projet-<id>/table[row|col]``), writes the relations a reader
argues from the DOCUMENT — its captions, its « Méthodes », its definitions — and hands them to
the annual report's attacker (:mod:`tests.support.attacker`: relaxed linear programs, « < k » =
1…k−1, « s » ≥ 0 or ≥ k).

Independence: nothing comes from :mod:`observatoire.disclosure` nor from the projects stage;
a quantity printed twice under two names (January's participants and the January value of the
cumulative objective « participants ») is tied here by a relation the reader writes, not by a
key the engine chose.

The relations, and where the document gives them:

- « Participants différents = dont nouveaux + dont revenants » (monthly sheets; the caption of
  the monthly table: a *nouveau* comes for the first time to the project, the others return).
- The year's « Nouveaux participants » = Σ the months' (one first time per person); the year's
  « Présences » = Σ the months'; the year's participants are at least each month's and at most
  their sum; a month's participants ≤ its presences ≤ participants × the month's sessions
  (Séances column).
- « Participants selon le nombre de séances suivies » covers every participant of the year;
  Σ (least sessions of a band × its participants) ≤ the year's presences ≤ Σ (most sessions ×
  participants), the last band at most the year's sessions (« le projet a tenu N séances »).
- Retention: « Participants du mois » is the month's participants (same label, same months);
  the « Total » row adds the months up; a month's « revus » ≤ its participants. « Nouveaux
  participants revus dans les trois mois »: the newcomers of January–September (Méthodes:
  « mois de janvier à septembre ») = Σ of those months' « Nouveaux »; revus ≤ newcomers.
- Roles (when printed): participants = Σ the participants' roles (locataire, joueur, autre),
  year and month; volunteers and workers are counted apart (the text says so).
- Council: « Total » = Σ sessions; a session ≤ the year's distinct tenants ≤ the total; the
  objectives' « présence moyenne » × the sessions held is the total to within the rounding; a
  session's presences ≤ the month's participants (the council is one of the project's activities,
  its attendees are tenants of the project).
- Affiliation: per time, « Total » = Σ scores, « Au moins un domaine » = Σ scores ≥ 1, and — the
  caption « un locataire compte dans chacun de ses domaines » with the score = « le nombre de
  domaines où il est actif » — Σ domains' tenants = Σ score × tenants at that score; a domain's
  tenants ≤ the tenants with at least one domain; the tenants of score 8 are in every domain.
- Housing First outcomes: housed ≤ followed ≤ tenants; returns ≤ followed for returns.
- Objectives' cumulative curves of persons (table ``objectif_<code>``, its chart CSV): for
  ``participants_uniques`` (distinct participants of the year so far), January's value is
  January's participants, December's the year's; the month's increase h_m ≥ 0 is the month's
  participants not seen before in the year: h_m ≤ P_m, P_m − h_m ≤ the previous cumulative value,
  and a newcomer to the project is new to the year: N_m ≤ h_m. For ``nouveaux_participants``,
  the value is Σ of the months' « Nouveaux » so far, December's the year's newcomers.

What is NOT a relation: the linkage table (« Participants reliés ») does not add up to the
year's participants (it counts every person of the project's records: 126 tenants, 36 persons of
the football team for 33 players) — no relation is written; sessions, proposals, euros and the
budget are not persons. The increases h_m of a person curve are unprinted counts of persons: a
reader who pins one of them to a value 1…k−1 has recovered a small count too (reported).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from tests.support.attacker import chain, integers_left, reader_view, value_intervals
from tests.support.field_attacker import FieldReader, _components, _keys
from tests.support.published import SECONDARY_TEXT, parse_number

__all__ = [
    "ProjectsAttack",
    "attack_projects",
    "document_leaks",
    "project_folders",
    "projects_relations",
]

MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
          "nov.", "déc.")  # fmt: skip
MONTH_NAMES = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
               "septembre", "octobre", "novembre", "décembre")  # fmt: skip
PARTICIPANT_ROLES = ("Locataires", "Joueurs", "Autres")
P, N, R, PR = "Participants", "Nouveaux", "Revenants", "Présences"


def project_folders(tables_dir: Path) -> list[str]:
    return sorted(p.name for p in Path(tables_dir).glob("projet-*") if p.is_dir())


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    tables = {}
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        text = frame.set_index(frame.columns[0])
        text.index = text.index.astype(str)
        tables[path.stem.removeprefix(f"{folder.name}_")] = text  # the ledger's name
    return tables


def cell(folder: str, table: str, row: str, col: str) -> str:
    return f"{folder}/{table}[{row}|{col}]"


@dataclass
class ReportText:
    """What the report's text gives beyond the tables (``projet-<id>.qmd``)."""

    sessions_year: float | None = None
    sessions_month: dict[str, float] = field(default_factory=dict)  # « janv. » → sessions
    # code of a charted objective → (indicator, printed year value)
    objectives: dict[str, tuple[str, str]] = field(default_factory=dict)
    indicators: dict[str, str] = field(default_factory=dict)  # indicator → printed year value


def read_report(qmd: Path) -> ReportText:
    out = ReportText()
    if not qmd.exists():
        return out
    text = qmd.read_text(encoding="utf-8")
    if m := re.search(r"a tenu ([\d\u202f\u00a0 ]+) séances", text):
        out.sessions_year = parse_number(m.group(1))
    for line in text.splitlines():  # « | Janvier | 4 | 10 | s | < 5 | 5 | »
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].lower() in MONTH_NAMES:
            out.sessions_month[MONTHS[MONTH_NAMES.index(cells[0].lower())]] = parse_number(cells[1])
    # objectives: « | libellé | `indicator` | cible | valeur | atteint | » and the charts
    # « ![libellé : valeur cumulée … objectif-<code>.csv` »
    rows = {}
    for m in re.finditer(r"^\| ([^|]+?) \| `([\w:]+)` \| [^|]* \| ([^|]*?) \|", text, re.M):
        rows[m.group(1).strip()] = (m.group(2), m.group(3).strip())
        out.indicators[m.group(2)] = m.group(3).strip()
    for m in re.finditer(r"!\[([^\]]+?) : valeur cumulée[^\]]*?objectif-([\w-]+)\.csv", text):
        if m.group(1).strip() in rows:
            out.objectives[m.group(2)] = rows[m.group(1).strip()]
    return out


@dataclass
class ProjectReader(FieldReader):
    texts: dict[str, ReportText] = field(default_factory=dict)

    def cells_of(self, folder: str, name: str) -> pd.DataFrame | None:
        return self.tables.get(folder, {}).get(name)

    def linear(self, coefs: dict[str, float], why: str) -> None:
        """Σ coef · x = 0 (every key known to the reader or a masked cell or an unknown ≥ 0)."""
        if all(k in self.cells or k in self.reader.aux for k in coefs):
            self.reader.relations.append({k: v for k, v in coefs.items() if v})
            self.reader.why.append(why)

    def le(self, small: dict[str, float], big: dict[str, float], why: str) -> None:
        if all(k in self.cells or k in self.reader.aux for k in (*small, *big)):
            self.scaled_at_most(small, big, why)


def _num(text: str) -> float | None:
    try:
        return parse_number(text)
    except ValueError:
        return None


def _participation(pr: ProjectReader, f: str, txt: ReportText) -> None:
    mois = pr.cells_of(f, "mois")
    if mois is None:
        return

    def mc(m: str, col: str) -> str:
        return cell(f, "mois", m, col)

    year_p = cell(f, "annee", "Participants différents", "Année")
    year_n = cell(f, "annee", "Nouveaux participants", "Année")
    year_pr = cell(f, "annee", "Présences", "Année")
    months = list(mois.index)
    for m in months:
        pr.sum_is(mc(m, P), [mc(m, N), mc(m, R)], f"{f} {m} : participants = nouveaux + revenants")
        pr.le({mc(m, P): 1.0}, {mc(m, PR): 1.0}, f"{f} {m} : participants ≤ présences")
        if (s := txt.sessions_month.get(m)) is not None:
            pr.le({mc(m, PR): 1.0}, {mc(m, P): s}, f"{f} {m} : présences ≤ participants × séances")
        pr.le({mc(m, P): 1.0}, {year_p: 1.0}, f"{f} {m} : participants du mois ≤ de l'année")
    pr.sum_is(year_n, [mc(m, N) for m in months], f"{f} : nouveaux de l'année = Σ mois")
    pr.sum_is(year_pr, [mc(m, PR) for m in months], f"{f} : présences de l'année = Σ mois")
    pr.le({year_p: 1.0}, dict.fromkeys([mc(m, P) for m in months], 1.0), f"{f} : année ≤ Σ mois")
    # roles
    roles = pr.cells_of(f, "mois_roles")
    if roles is not None:
        split = [c for c in roles.columns if c in PARTICIPANT_ROLES]
        for m in roles.index:
            pr.sum_is(mc(m, P), [cell(f, "mois_roles", m, c) for c in split], f"{f} {m} rôles")
    yr = pr.cells_of(f, "roles")
    if yr is not None:
        split = [r for r in yr.index if r in PARTICIPANT_ROLES]
        pr.sum_is(year_p, [cell(f, "roles", r, yr.columns[0]) for r in split], f"{f} rôles")
    # sessions attended in the year
    bands = pr.cells_of(f, "seances")
    if bands is not None:
        col = bands.columns[0]
        keys = {r: cell(f, "seances", r, col) for r in bands.index}
        pr.sum_is(year_p, list(keys.values()), f"{f} : les bandes de séances couvrent l'année")
        least, most = {}, {}
        for r, key in keys.items():
            nums = [int(x) for x in re.findall(r"\d+", r)]
            least[key] = float(nums[0])
            top = float(nums[-1]) if "plus" not in r else txt.sessions_year
            if top is None:
                most = {}
                break
            most[key] = top
        pr.le(least, {year_pr: 1.0}, f"{f} : présences ≥ séances minimales des bandes")
        if most:
            pr.le({year_pr: 1.0}, most, f"{f} : présences ≤ séances maximales des bandes")
    # retention
    ret = pr.cells_of(f, "retention")
    if ret is not None:
        base, back = ret.columns[0], ret.columns[1]
        rows = [r for r in ret.index if r != "Total"]
        for r in rows:
            pr.same(cell(f, "retention", r, base), mc(r, P), f"{f} {r} : participants du mois")
            pr.at_most(cell(f, "retention", r, back), [mc(r, P)], f"{f} {r} : revus ≤ participants")
        pr.total_row(f, "retention", "Total", "les mois s'additionnent")
    new = pr.cells_of(f, "retention_nouveaux")
    if new is not None:
        c = new.columns[0]
        nb, nr = (cell(f, "retention_nouveaux", r, c) for r in new.index[:2])
        pr.sum_is(nb, [mc(m, N) for m in MONTHS[:9]], f"{f} : nouveaux de janvier à septembre")
        pr.at_most(nr, [nb], f"{f} : nouveaux revus ≤ nouveaux")
    coh = pr.cells_of(f, "cohortes")  # the pooled January–June cohorts (Méthodes says so)
    if coh is not None:
        c = coh.columns[0]
        base = cell(f, "cohortes", coh.index[0], c)
        pr.sum_is(base, [mc(m, N) for m in MONTHS[:6]], f"{f} : cohortes, nouveaux janv.–juin")
        for r in coh.index[1:]:
            pr.at_most(cell(f, "cohortes", r, c), [base], f"{f} {r} ≤ nouveaux suivis")
    link = pr.cells_of(f, "liaison")  # every year's participants: at least this year's
    if link is not None:
        c = link.columns[0]
        rows = {cell(f, "liaison", r, c): 1.0 for r in link.index}
        year_p = cell(f, "annee", "Participants différents", "Année")
        pr.le({year_p: 1.0}, rows, f"{f} : liaison (toutes années) ≥ participants de l'année")


def _council(pr: ProjectReader, f: str, txt: ReportText) -> None:
    t = pr.cells_of(f, "conseil")
    if t is None:
        return
    col = t.columns[0]
    sessions = [r for r in t.index if re.fullmatch(r"\d{4}-\d{2}-\d{2}", r)]
    total = cell(f, "conseil", "Total", col)
    tenants = cell(f, "conseil", "Locataires différents", col)
    pr.sum_is(total, [cell(f, "conseil", s, col) for s in sessions], f"{f} : conseil Σ séances")
    pr.at_most(tenants, [total], f"{f} : locataires différents ≤ présences")
    for s in sessions:
        key = cell(f, "conseil", s, col)
        pr.at_most(key, [tenants], f"{f} : séance {s} ≤ locataires différents")
        m = MONTHS[int(s[5:7]) - 1]
        if sum(1 for x in sessions if x[5:7] == s[5:7]) == 1:
            pr.at_most(key, [cell(f, "mois", m, P)], f"{f} : séance {s} ≤ participants du mois")
    # the objectives' mean presence × sessions held = the total, to within the rounding
    printed = txt.indicators.get("conseil_presence_moyenne")
    value = _num(printed) if printed else None
    if value is None:
        return
    n = float(len(sessions))
    half = 0.05 if "," in printed else 0.5
    lo, hi = pr.reader.unknown(f"~moyenne-bas:{f}"), pr.reader.unknown(f"~moyenne-haut:{f}")
    one = f"{f}/~un"
    pr.cells[one] = "1"
    # total = n·(mean − half) + lo = n·(mean + half) − hi  (lo, hi ≥ 0)
    pr.linear({total: 1.0, one: -n * (value - half), lo: -1.0}, f"{f} : moyenne × séances")
    pr.linear({total: 1.0, one: -n * (value + half), hi: 1.0}, f"{f} : moyenne × séances")


def _affiliation(pr: ProjectReader, f: str) -> None:
    t, dom = pr.cells_of(f, "affiliation"), pr.cells_of(f, "domaines")
    if t is None:
        return
    scores = {r: int(re.match(r"\d+", r).group()) for r in t.index if re.match(r"\d+ domaine", r)}
    top = max(scores.values())
    for time in t.columns:
        sc = {s: cell(f, "affiliation", r, time) for r, s in scores.items()}
        pr.sum_is(cell(f, "affiliation", "Total", time), list(sc.values()), f"{f} {time} : scores")
        affil = cell(f, "affiliation", "Au moins un domaine", time)
        pr.sum_is(affil, [k for s, k in sc.items() if s >= 1], f"{f} {time} : au moins un")
        if dom is None or time not in dom.columns:
            continue
        dk = [cell(f, "domaines", d, time) for d in dom.index]
        pr.le(dict.fromkeys(dk, 1.0), {k: float(s) for s, k in sc.items() if s},
              f"{f} {time} : Σ domaines ≤ Σ score × locataires")  # fmt: skip
        pr.le({k: float(s) for s, k in sc.items() if s}, dict.fromkeys(dk, 1.0),
              f"{f} {time} : Σ score × locataires ≤ Σ domaines")  # fmt: skip
        for d in dk:
            pr.at_most(d, [affil], f"{f} {time} : un domaine ≤ affiliés")
            if top in sc and top == len(dk):
                pr.at_most(sc[top], [d], f"{f} {time} : score {top} ⊂ chaque domaine")


def _outcomes(pr: ProjectReader, f: str) -> None:
    t = pr.cells_of(f, "issues")
    if t is None:
        return
    cols = list(t.columns)
    for g in t.index:
        c = {name: cell(f, "issues", g, name) for name in cols}
        if len(cols) >= 5:
            pr.at_most(c[cols[1]], [c[cols[0]]], f"{f} {g} : suivis ≤ locataires")
            pr.at_most(c[cols[2]], [c[cols[1]]], f"{f} {g} : logés ≤ suivis")
            pr.at_most(c[cols[3]], [c[cols[0]]], f"{f} {g} : suivis (retours) ≤ locataires")
            pr.at_most(c[cols[4]], [c[cols[3]]], f"{f} {g} : retours ≤ suivis")


def _objectives(pr: ProjectReader, f: str, txt: ReportText) -> None:
    for code, (indicator, _) in txt.objectives.items():
        t = pr.cells_of(f, f"objectif_{code}")
        if t is None:
            continue
        col = t.columns[0]
        cum = [cell(f, f"objectif_{code}", m, col) for m in t.index]
        months = list(t.index)
        if indicator == "nouveaux_participants":
            for i, m in enumerate(months):
                pr.sum_is(cum[i], [cell(f, "mois", x, N) for x in months[: i + 1]],
                          f"{f} {code} {m} : cumul des nouveaux")  # fmt: skip
            pr.same(
                cum[-1], cell(f, "annee", "Nouveaux participants", "Année"), f"{f} {code} année"
            )
        elif indicator == "participants_uniques":
            pr.same(cum[0], cell(f, "mois", months[0], P), f"{f} {code} : janvier = participants")
            pr.same(cum[-1], cell(f, "annee", "Participants différents", "Année"), f"{f} {code}")
            for i in range(1, len(months)):
                m = months[i]
                h = pr.reader.unknown(f"~{f}/hausse:{code}:{m}")
                pr.linear({cum[i]: 1.0, cum[i - 1]: -1.0, h: -1.0}, f"{f} {code} {m} : hausse")
                pr.le({h: 1.0}, {cell(f, "mois", m, P): 1.0}, f"{f} {code} {m} : hausse ≤ P")
                pr.le({cell(f, "mois", m, N): 1.0}, {h: 1.0}, f"{f} {code} {m} : nouveaux ≤ hausse")
                pr.le({cell(f, "mois", m, P): 1.0}, {h: 1.0, cum[i - 1]: 1.0},
                      f"{f} {code} {m} : déjà vus ≤ cumul précédent")  # fmt: skip


def projects_relations(tables_dir: Path, reports_dir: Path) -> ProjectReader:
    """The printed cells of every ``projet-*`` folder and the relations the report justifies."""
    pr = ProjectReader()
    for f in project_folders(tables_dir):
        pr.tables[f] = _read(Path(tables_dir) / f)
        for name, t in pr.tables[f].items():
            for r in t.index:
                for c in t.columns:
                    pr.cells[cell(f, name, r, c)] = t.loc[r, c]
        txt = read_report(Path(reports_dir) / f"{f}.qmd")
        pr.texts[f] = txt
        _participation(pr, f, txt)
        _council(pr, f, txt)
        _affiliation(pr, f)
        _outcomes(pr, f)
        _objectives(pr, f, txt)
    return pr


@dataclass
class ProjectsAttack:
    relations: int
    hidden: list[str]
    primary: list[str]
    isolated: list[str]
    pinned: list[str]
    report: list[str]


def attack_projects(pr: ProjectReader, k: int) -> ProjectsAttack:
    """Every « < k » cell's bounds (« s » read as ≥ 0 and as ≥ k): pinned when fewer than two
    values of 1…k−1 are left; and every increase of a person curve pinned to one value 1…k−1."""
    reader = pr.reader
    in_relations = _keys(reader)
    primary = sorted(key for key, text in pr.cells.items() if text == f"< {k}")
    hidden = sorted(x for x, t in pr.cells.items() if t in (f"< {k}", SECONDARY_TEXT))
    isolated = [key for key in hidden if key not in in_relations]
    increases = sorted(a for a in reader.aux if "/hausse:" in a)
    report, pinned = [], []
    cells = {key: text for key, text in pr.cells.items() if key in in_relations}
    for floor in (0.0, float(k)):
        known, bounds = reader_view(cells, k, floor)
        for a in increases:
            bounds[a] = (0.0, math.inf)
        intervals: dict[str, tuple[float, float]] = {}
        for part in _components(reader, known):
            own = {key: b for key, b in bounds.items() if key in part.aux or key in _keys(part)}
            intervals.update(value_intervals(part, known, own))
        for key in [*primary, *increases]:
            if key not in intervals:
                continue
            lo, hi = intervals[key]
            left = integers_left((lo, hi), k)
            report.append(f"s ≥ {floor:g} : {key} ∈ [{lo:g}, {hi:g}] → {left}")
            if key in primary:
                recovered = len(left) < 2
            else:  # an increase: recovered when one integer is left and it is small
                ints = (
                    []
                    if math.isinf(hi)
                    else list(range(math.ceil(lo - 1e-6), math.floor(hi + 1e-6) + 1))
                )
                recovered = len(ints) == 1 and 1 <= ints[0] <= k - 1
            if recovered:
                steps = chain(reader, key, known)
                why = "; ".join(steps[:8]) + (f" (+{len(steps) - 8})" if len(steps) > 8 else "")
                pinned.append(f"« {key} » ∈ [{lo:g}, {hi:g}] (s ≥ {floor:g}) par : {why}")
    return ProjectsAttack(len(reader.relations), hidden, primary, isolated, pinned, report)


def document_leaks(pr: ProjectReader, reports_dir: Path) -> list[str]:
    """Numbers the charts' CSVs or the monthly sheets print where the table hides the cell (or
    print otherwise): each is a leak on its own, no program needed."""
    out = []

    def compare(where: str, printed: object, key: str) -> None:
        text = pr.cells.get(key)
        if text is None:
            return
        blank = printed is None or (isinstance(printed, float) and math.isnan(printed))
        if text in (SECONDARY_TEXT,) or text.startswith("<"):
            if not blank and str(printed) != text:
                out.append(f"{where} imprime {printed} pour {key} ({text})")
        elif not blank and _num(str(printed)) != _num(text):
            out.append(f"{where} imprime {printed} pour {key} ({text})")

    for f in pr.tables:
        figs = Path(reports_dir) / f"{f}-figures"
        path = figs / "participants-par-mois.csv"
        if path.exists():
            t = pd.read_csv(path)
            for r in t.itertuples():
                for col, name in (("participants", P), ("nouveaux", N), ("revenants", R)):
                    if col in t.columns:  # the chart no longer draws the returning ones
                        compare(path.name, getattr(r, col), cell(f, "mois", r.mois, name))
        for code in pr.texts[f].objectives:
            path = figs / f"objectif-{code}.csv"
            if path.exists() and f"objectif_{code}" in pr.tables[f]:
                col = pr.tables[f][f"objectif_{code}"].columns[0]
                for r in pd.read_csv(path).itertuples():
                    compare(path.name, r.valeur, cell(f, f"objectif_{code}", r.mois, col))
        path = figs / "scores-affiliation.csv"
        if path.exists():
            for r in pd.read_csv(path).itertuples():
                row = f"{r.score} domaine" + ("s" if r.score > 1 else "")
                compare(path.name, r.locataires, cell(f, "affiliation", row, r.moment))
        sheets = Path(reports_dir) / f"{f}-fiches"
        for xlsx in sorted(sheets.glob("*.xlsx")):
            out.extend(_sheet_leaks(pr, f, xlsx, compare))
    return out


def _sheet_leaks(pr: ProjectReader, f: str, xlsx: Path, compare) -> Iterable[str]:
    import openpyxl

    wb = openpyxl.load_workbook(xlsx, read_only=True)
    council = pr.cells_of(f, "conseil")
    labels = {"Participants différents": P, "dont nouveaux": N, "dont revenants": R,
              "Présences": PR}  # fmt: skip
    for ws in wb.worksheets:
        name = ws.title.lower()
        if name not in MONTH_NAMES:
            continue
        m = MONTHS[MONTH_NAMES.index(name)]
        for row in ws.iter_rows(values_only=True):
            if not row or row[0] is None:
                continue
            if row[0] in labels:
                compare(f"{xlsx.name}/{ws.title}", row[1], cell(f, "mois", m, labels[row[0]]))
            elif row[0] == "Présences au conseil des locataires" and council is not None:
                days = [d for d in council.index if d[5:7] == f"{MONTHS.index(m) + 1:02d}"]
                if len(days) == 1:
                    compare(f"{xlsx.name}/{ws.title}", row[1],
                            cell(f, "conseil", days[0], council.columns[0]))  # fmt: skip
    return []
