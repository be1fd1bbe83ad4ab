"""The linear-programming attack of the field-records tables (issue 19), read as an outsider.

The three field-records reports publish their tables in subfolders of ``outputs/tables/<Y>/``:
``barometre-violences/`` (incidents, the worker survey, testimonies), ``diagnostic-communautaire/``
(persons met by the street-work team) and ``relais-de-quartier/`` (the relays' service sheets and
volunteers). This module names every printed cell by *its own* name (``folder/table[row|col]``),
writes the relations a reader justifies from the printed labels, captions, the report's prose
and the published forms (``params/formulaires/``, ``params/terrain.yaml``), and hands them to
the annual report's attacker (:mod:`tests.support.attacker`: relaxed linear programs, « < k » =
1…k−1, « s » ≥ 0 or ≥ k).

Independence is the point, as for the annual report's attacker: nothing here comes from
:mod:`observatoire.disclosure` or from the field stages, not even the ledger's keys (a quantity
printed twice is tied by a relation the reader writes, not by a shared key the engine chose), so
an identity the engine forgot to declare cannot hide itself.

What is NOT a relation (written down so the set can be argued): select-multiple tables (types,
consequences, contexts of incidents; needs, actions, orientations, barriers of the relays;
orientations of the street observations) do not add up — « un incident compte dans chacun de
ses types » — each code is only at most the sheets of the year; the survey's yes/no answers may
be left blank where the published form does not require the question (« supported » excludes
« sans objet »): oui + non ≤ respondents there, = where it is required; observations,
hours, shares and the allowances' euros are not persons and print no mask.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

from tests.support.attacker import Reader, chain, integers_left, reader_view, value_intervals
from tests.support.published import SECONDARY_TEXT

__all__ = [
    "FIELD_FOLDERS",
    "FieldAttack",
    "attack_field_tables",
    "field_relations",
    "opening_windows",
]

BAROMETRE, DIAGNOSTIC, RELAIS = (
    "barometre-violences",
    "diagnostic-communautaire",
    "relais-de-quartier",
)
FIELD_FOLDERS = (BAROMETRE, DIAGNOSTIC, RELAIS)
# Tables that print no person count (observations, hours, shares, euros): not attacked.
NOT_PERSONS = {
    DIAGNOSTIC: {"codes_evolution", "codes_parts", "observations_par_zone"},
    RELAIS: {"defraiements_mois"},
}
ENSEMBLE = "Ensemble des zones"
OUTSIDE = "Hors des zones du diagnostic"


def _read(folder: Path) -> dict[str, pd.DataFrame]:
    """Every CSV of ``folder`` as printed text, indexed by its first column."""
    tables = {}
    for path in sorted(folder.glob("*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        text = frame.set_index(frame.columns[0])
        text.index = text.index.astype(str)
        tables[path.stem] = text
    return tables


def cell(folder: str, table: str, row: str, col: str) -> str:
    return f"{folder}/{table}[{row}|{col}]"


@dataclass
class FieldReader:
    """The cells a reader sees (name → printed text) and the relations they justify."""

    reader: Reader = field(default_factory=Reader)
    cells: dict[str, str] = field(default_factory=dict)
    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)

    def table(self, folder: str, name: str) -> pd.DataFrame | None:
        return self.tables.get(folder, {}).get(name)

    def has(self, *names: str) -> bool:
        return all(n in self.cells for n in names)

    def sum_is(self, total: str, parts: Iterable[str], why: str) -> None:
        parts = list(parts)
        if self.has(total, *parts):
            self.reader.equal(total, parts, why)

    def same(self, a: str, b: str, why: str) -> None:
        if self.has(a, b):
            self.reader.equal(a, [b], why)

    def at_most(self, small: str, big: Iterable[str], why: str) -> None:
        big = list(big)
        if self.has(small, *big):
            self.reader.at_most(small, big, why)

    def scaled_at_most(self, small: dict[str, float], big: dict[str, float], why: str) -> None:
        """Σ small coef · x ≤ Σ big coef · x, as big − small − slack = 0 (slack ≥ 0)."""
        slack = self.reader.unknown(f"~écart:{why}:{len(self.reader.relations)}")
        relation = {slack: 1.0}
        for key, c in big.items():
            relation[key] = relation.get(key, 0.0) - c
        for key, c in small.items():
            relation[key] = relation.get(key, 0.0) + c
        self.reader.relations.append({k: v for k, v in relation.items() if v})
        self.reader.why.append(why)

    def total_row(self, folder: str, name: str, total: str, why: str) -> None:
        t = self.table(folder, name)
        if t is None or total not in t.index:
            return
        for col in t.columns:
            rows = [r for r in t.index if r != total]
            self.sum_is(
                cell(folder, name, total, col),
                [cell(folder, name, r, col) for r in rows],
                f"{folder}/{name} : {why} (colonne {col})",
            )

    def total_col(self, folder: str, name: str, total: str, why: str) -> None:
        t = self.table(folder, name)
        if t is None or total not in t.columns:
            return
        for row in t.index:
            cols = [c for c in t.columns if c != total]
            self.sum_is(
                cell(folder, name, row, total),
                [cell(folder, name, row, c) for c in cols],
                f"{folder}/{name} : {why} (ligne {row})",
            )


def opening_windows(project: Path) -> dict[str, tuple[list[int], list[int]]]:
    """Service → (open hours, closing-window hours), as the barometer's Table 8 prints them
    (« Ouverture 8 h – 16 h », « Fenêtre de fermeture 15 h – 16 h »), read from the params the
    report cites (``params/terrain.yaml``, barometre.opening_hours: the hour h is « h h – h+1 h »;
    the window is the ``closing_window`` hours before ``closing_at``, else before ``closes``)."""
    path = project / "params/terrain.yaml"
    if not path.exists():
        return {}
    spec = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("barometre", {})
    out = {}
    for service, oh in (spec.get("opening_hours") or {}).items():
        span = (oh["closes"] - oh["opens"]) % 24 or 24
        open_h = [(oh["opens"] + i) % 24 for i in range(span)]
        end = oh.get("closing_at", oh["closes"])
        window = [(end - i) % 24 for i in range(oh.get("closing_window", 1), 0, -1)]
        out[service] = (open_h, window)
    return out


SURVEY_FORM = "params/formulaires/enquete_travailleurs.xlsx"
# The form's question → the report's question, by their printed labels (« subi une violence
# verbale ? » → « Violence verbale subie (12 mois) »; the 1–5 safety scale → « Se sent peu ou
# pas en sécurité (1–2 sur 5) »; « Après un incident, avez-vous été soutenu ? » → « Soutien
# complet après un incident (parmi les concernés) »).
SURVEY_QUESTIONS = {
    "verbale_12m": "verbal_12m",
    "physique_12m": "physical_12m",
    "menaces_12m": "threat_12m",
    "temoin_12m": "witnessed_12m",
    "sentiment": "unsafe",
    "formation": "trained",
    "soutien": "supported",
}


def survey_questions(project: Path) -> tuple[set[str], dict[str, tuple[str, ...]]]:
    """The report's survey questions the published form requires, and those asked only of
    respondents answering « oui » elsewhere (the form's ``relevant``: question → the questions
    whose « oui » open it). Nothing when the form is not there."""
    path = project / SURVEY_FORM
    if not path.exists():
        return set(), {}
    form = pd.read_excel(path, sheet_name="survey", dtype=str).fillna("")
    required, concerned = set(), {}
    for row in form.itertuples():
        q = SURVEY_QUESTIONS.get(row.name)
        if q is None:
            continue
        if row.required.strip().lower() in ("yes", "true", "1"):
            required.add(q)
        opened = [SURVEY_QUESTIONS[n] for n in re.findall(r"\$\{(\w+)\} = 'oui'", row.relevant)]
        if opened and " and " not in row.relevant:  # an « or » of « oui »: ≤ their sum
            concerned[q] = tuple(opened)
    return required, concerned


def _barometre(fr: FieldReader, year: int, windows: dict, project: Path) -> None:
    f = BAROMETRE
    services = fr.table(f, "services")
    years = list(services.columns) if services is not None else []
    total = {y: cell(f, "services", "total", y) for y in years}
    # 1. « Incidents par service et année » prints a « total » row: the services add up.
    fr.total_row(f, "services", "total", "total des services")
    # 2. Direction and severity are required select_one questions of the published form
    #    (params/formulaires/fiche_incident.xlsx): every sheet has exactly one → they partition
    #    the year's incidents. The month: every sheet has a (required) date → months partition.
    for name in ("direction", "severity", "mois"):
        t = fr.table(f, name)
        for y in years if t is not None else []:
            if y in t.columns:
                fr.sum_is(total[y], [cell(f, name, r, y) for r in t.index], f"{name} {y} = total")
    # 3. Select-multiple (types, consequences, contexts): each code ≤ the year's incidents.
    for name in ("types", "consequences", "context"):
        t = fr.table(f, name)
        for y in years if t is not None else []:
            for r in t.index if y in t.columns else []:
                fr.at_most(cell(f, name, r, y), [total[y]], f"{name} {r} {y} ≤ total")
    # 4. « Incidents par heure (année du rapport) » and Table 8 « Incidents dans la fenêtre de
    #    fermeture et aux autres heures d'ouverture, <Y> », which prints the opening hours and
    #    the window: the window's incidents are the hours of the window, the others the other
    #    open hours (both tables: incidents of the year with a known hour); and a service's
    #    incidents with a known hour are at most its incidents of the year.
    hours, closing = fr.table(f, "heures"), fr.table(f, "fermeture")
    y = str(year)
    for svc in hours.columns if hours is not None else []:
        col = [cell(f, "heures", h, svc) for h in hours.index]
        # Σ hours ≤ the service's incidents of the year, as incidents − Σ hours = slack
        if y in years and fr.has(*col, cell(f, "services", svc, y)):
            fr.scaled_at_most(
                dict.fromkeys(col, 1.0),
                {cell(f, "services", svc, y): 1.0},
                f"heures de {svc} ≤ incidents {y} de {svc}",
            )
        if closing is not None and svc in closing.index and svc in windows:
            open_h, window = windows[svc]
            by_hour = {int(h): cell(f, "heures", h, svc) for h in hours.index}
            fr.sum_is(
                cell(f, "fermeture", svc, "fenetre"),
                [by_hour[h] for h in window],
                f"fenêtre de fermeture de {svc} = heures {window}",
            )
            fr.sum_is(
                cell(f, "fermeture", svc, "autres_heures"),
                [by_hour[h] for h in open_h if h not in window],
                f"autres heures d'ouverture de {svc}",
            )
    # 5. Nights with / without refusals (Table « Incidents des nuits avec et sans refus »,
    #    incidents of the shelter's nights of the report year; the data end with the year):
    #    « Nuits d'hiver avec refus » and « Toutes les autres nuits de l'année » split the year's
    #    nights, as do « Nuits avec refus (toute l'année) » and « Nuits sans refus (toute
    #    l'année) »: the two pairs add up to the same incidents, at most the shelter's incidents
    #    of the year. A winter night with refusal is a night with refusal; a winter night
    #    without refusal is a night without refusal and one of the « other » nights.
    for name in fr.tables.get(f, {}):
        if not (name.startswith("refus_") and y in years):
            continue
        svc = name.removeprefix("refus_")

        def night(row: str, name: str = name) -> str:
            return cell(f, name, row, "incidents")

        incidents = cell(f, "services", svc, y)
        for whole in (("hiver_avec_refus", "autres_nuits"), ("avec_refus", "sans_refus")):
            if fr.has(*(night(r) for r in whole), incidents):
                fr.scaled_at_most(
                    {night(r): 1.0 for r in whole},
                    {incidents: 1.0},
                    f"{name} : {' + '.join(whole)} ≤ incidents {y} de {svc}",
                )
        if fr.has(*(night(r) for r in ("hiver_avec_refus", "autres_nuits", "avec_refus",
                                       "sans_refus"))):  # fmt: skip
            fr.reader.relations.append(
                {
                    night("hiver_avec_refus"): 1.0,
                    night("autres_nuits"): 1.0,
                    night("avec_refus"): -1.0,
                    night("sans_refus"): -1.0,
                }  # fmt: skip
            )
            fr.reader.why.append(f"{name} : les deux partitions des nuits de l'année")
        for small, big in (("hiver_avec_refus", "avec_refus"), ("hiver_sans_refus", "sans_refus"),
                           ("hiver_sans_refus", "autres_nuits")):  # fmt: skip
            fr.at_most(night(small), [night(big)], f"{name} : {small} ≤ {big}")
    # 6. Exclusions (report year): the linked ones are among them; incidents with the
    #    consequence « exclusion » (services that record exits) are among that consequence.
    ex = fr.table(f, "exclusions")
    if ex is not None:
        c = ex.columns[0]
        fr.at_most(
            cell(f, "exclusions", "exclusions_liees", c),
            [cell(f, "exclusions", "exclusions", c)],
            "liées ≤ exclusions",
        )  # noqa: E501
        fr.at_most(
            cell(f, "exclusions", "incidents_lies", c),
            [cell(f, "exclusions", "incidents_exclusion", c)],
            "liés ≤ incidents",
        )  # noqa: E501
        fr.at_most(
            cell(f, "exclusions", "incidents_exclusion", c),
            [cell(f, "consequences", "exclusion", c)],
            "incidents d'exclusion ≤ suite exclusion",
        )  # noqa: E501
    # 7. The survey: by service and by role, each with a « total » row; both totals are the
    #    respondents. The published form (params/formulaires/enquete_travailleurs.xlsx) makes the
    #    service and the function required select_one: every respondent is in one service and
    #    one function, so the groups of « Réponses … par fonction / par service » add up, answer
    #    by answer, to « Réponses à l'enquête (oui / non) par question ». A group's answers to a
    #    question are at most its respondents, exactly them when the form requires the question
    #    (:func:`survey_questions`); « Soutien complet après un incident (parmi les concernés) »
    #    is asked only of those who answered oui to verbal, physical or threat violence (the
    #    form's ``relevant``): its answers are at most those three « oui » together.
    fr.total_row(f, "repondants_service", "total", "répondants par service")
    fr.total_row(f, "repondants_role", "total", "répondants par fonction")
    fr.same(
        cell(f, "repondants_service", "total", "repondants"),
        cell(f, "repondants_role", "total", "repondants"),
        "les mêmes répondants",
    )
    required, concerned = survey_questions(project)
    rep = fr.table(f, "reponses")
    everyone = cell(f, "repondants_service", "total", "repondants")
    groups = [("reponses", q, q, everyone) for q in (rep.index if rep is not None else [])]
    for by in ("role", "service"):
        t, n = fr.table(f, f"reponses_{by}"), fr.table(f, f"repondants_{by}")
        questions = sorted({c.rsplit("_", 1)[0] for c in t.columns}) if t is not None else []
        for q in questions:
            for answer in ("oui", "non"):
                fr.sum_is(
                    cell(f, "reponses", q, answer),
                    [cell(f, f"reponses_{by}", g, f"{q}_{answer}") for g in t.index],
                    f"reponses_{by} : les groupes de {q} {answer} s'additionnent",
                )
            for g in [g for g in t.index if n is not None and g in n.index]:
                groups.append(
                    (f"reponses_{by}", g, q, cell(f, f"repondants_{by}", g, "repondants"))
                )
    for table, row, q, respondents in groups:

        def answer(q: str, a: str, table: str = table, row: str = row) -> str:
            col = a if table == "reponses" else f"{q}_{a}"
            return cell(f, table, row, col)

        pair = [answer(q, "oui"), answer(q, "non")]
        if q in required:
            fr.sum_is(respondents, pair, f"{table} {row} {q} : oui + non = répondants (requise)")
        elif fr.has(*pair, respondents):
            fr.scaled_at_most(
                dict.fromkeys(pair, 1.0),
                {respondents: 1.0},
                f"{table} {row} {q} : oui + non ≤ répondants",
            )
        asked = [answer(c, "oui") for c in concerned.get(q, ())]
        if asked and fr.has(*pair, *asked):
            fr.scaled_at_most(
                dict.fromkeys(pair, 1.0),
                dict.fromkeys(asked, 1.0),
                f"{table} {row} {q} : posée aux seuls concernés",
            )
    # 8. Testimonies: « Témoignages par thème et qualité de la personne » prints a « total »
    #    column (each testimony has one role: the roles add up); a theme of a role is at most
    #    that role's testimonies (a testimony may carry several themes).
    fr.total_col(f, "themes", "total", "les qualités s'additionnent")
    themes, roles = fr.table(f, "themes"), fr.table(f, "temoignages")
    if themes is not None and roles is not None:
        for code in themes.index:
            for role in themes.columns:
                if role in roles.index:
                    fr.at_most(
                        cell(f, "themes", code, role),
                        [cell(f, "temoignages", role, "temoignages")],
                        f"thème {code} ≤ témoignages de {role}",
                    )
    # 9. « Témoignages portant les deux thèmes »: the diagonal is the theme's testimonies, the
    #    table is symmetric, a pair is at most each of its themes.
    co = fr.table(f, "cooccurrences")
    for a in co.index if co is not None else []:
        if themes is not None and a in themes.index:
            fr.same(cell(f, "cooccurrences", a, a), cell(f, "themes", a, "total"), "diagonale")
        for b in co.columns:
            if a == b:
                continue
            if a < b:
                fr.same(cell(f, "cooccurrences", a, b), cell(f, "cooccurrences", b, a), "symétrie")
            fr.at_most(
                cell(f, "cooccurrences", a, b), [cell(f, "cooccurrences", a, a)], "paire ≤ thème"
            )


def _zone_rows(t: pd.DataFrame) -> list[str]:
    return [r for r in t.index if r != ENSEMBLE]


def _diagnostic(fr: FieldReader, year: int) -> None:
    f = DIAGNOSTIC
    y = str(year)
    pz = fr.table(f, "personnes_par_zone")
    persons = f"Personnes rencontrées {y}"
    young = f"dont jeunes de 15 à 25 ans {y}"

    def zone_persons(zone: str) -> str:
        return cell(f, "personnes_par_zone", zone, persons)

    # 1. « Ensemble des zones » rows add up the zones (and the printed « hors des zones » row);
    #    the young « dont » are among the persons met.
    for name in ("personnes_par_zone", "publics_age", "publics_sexe", "groupes_taille",
                 "projets_collectifs"):  # fmt: skip
        fr.total_row(f, name, ENSEMBLE, "les zones s'additionnent")
    for name in ("publics_age", "publics_sexe", "groupes_taille"):
        fr.total_col(f, name, "Total", "les catégories s'additionnent")
    if pz is not None:
        for zone in pz.index:
            for data_year in {c.rsplit(" ", 1)[1] for c in pz.columns}:
                fr.at_most(
                    cell(f, "personnes_par_zone", zone, f"dont jeunes de 15 à 25 ans {data_year}"),
                    [cell(f, "personnes_par_zone", zone, f"Personnes rencontrées {data_year}")],
                    "jeunes ≤ personnes",
                )
    # 2. The persons met by age and by sex (captions « Personnes rencontrées par âge — Y »)
    #    are the zone's persons met in Y (the form counts the persons met as the groups' sizes):
    #    one quantity printed three times; the young (15–25) are 15–17 + 18–25.
    for name in ("publics_age", "publics_sexe"):
        t = fr.table(f, name)
        for zone in t.index if t is not None and pz is not None else []:
            fr.same(cell(f, name, zone, "Total"), zone_persons(zone), f"{name} = personnes {y}")
    age = fr.table(f, "publics_age")
    for zone in age.index if age is not None else []:
        fr.sum_is(
            cell(f, "personnes_par_zone", zone, young),
            [cell(f, "publics_age", zone, "15–17 ans"), cell(f, "publics_age", zone, "18–25 ans")],
            "jeunes = 15–17 + 18–25",
        )
    # 3. « Groupes rencontrés par taille — Y »: the persons met are the groups' sizes:
    #    persons = 1·seul + 2·deux + 3·trois + (4 or more each)·« 4 et plus »; the « Total »
    #    column counts groups (the classes add up to it).
    sizes = fr.table(f, "groupes_taille")
    exact = {"Seul·e": 1.0, "2 personnes": 2.0, "3 personnes": 3.0}
    for zone in sizes.index if sizes is not None and pz is not None else []:
        g = {c: cell(f, "groupes_taille", zone, c) for c in sizes.columns}
        if not fr.has(zone_persons(zone), *g.values()):
            continue
        if "Total" in g:
            fr.sum_is(g["Total"], [g[c] for c in g if c != "Total"], "groupes par taille")
        in4 = fr.reader.unknown(f"~personnes des groupes de 4 et plus:{zone}")
        relation = {zone_persons(zone): 1.0, in4: -1.0}
        for label, size in exact.items():
            relation[g[label]] = -size
        fr.reader.relations.append(relation)
        fr.reader.why.append(f"personnes de {zone} = tailles des groupes")
        fr.scaled_at_most({g["4 et plus"]: 4.0}, {in4: 1.0}, f"{zone} : 4 × groupes de 4 et +")
    # 4. Persons by weekday and band of hours, per zone (report year): « Total » row and
    #    column; the grand total is the zone's persons met in Y.
    for name in fr.tables.get(f, {}):
        if not name.startswith("personnes_jour_heure_"):
            continue
        fr.total_row(f, name, "Total", "les jours s'additionnent")
        fr.total_col(f, name, "Total", "les tranches s'additionnent")
        if pz is not None:
            matches = [
                z for z in _zone_rows(pz) if _slug(z) == name.removeprefix("personnes_jour_heure_")
            ]  # noqa: E501
            for zone in matches:
                fr.same(cell(f, name, "Total", "Total"), zone_persons(zone), "total = personnes")
    # 5. Observations with an orientation to each partner (select multiple, report year): the
    #    « Ensemble des zones » column adds up the zones (an observation is in one zone); a
    #    partner's observations are at most the zone's observations (observations_par_zone).
    fr.total_col(f, "orientations", ENSEMBLE, "les zones s'additionnent")
    ori, obs = fr.table(f, "orientations"), fr.table(f, "observations_par_zone")
    if ori is not None and obs is not None:
        for z in ori.columns:
            zname = "ensemble" if z == ENSEMBLE else z
            hit = obs[(obs.index == zname) & (obs["year"] == y)]
            if hit.empty:
                continue
            key = cell(f, "observations_par_zone", zname, y)
            fr.cells[key] = hit["observations"].iloc[0]
            for r in ori.index:
                fr.at_most(cell(f, "orientations", r, z), [key], "orientation ≤ observations")


def _slug(zone: str) -> str:
    return zone.lower().replace(" ", "-")


MONTHS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
          "nov.", "déc.")  # fmt: skip


def _relais(fr: FieldReader, year: int) -> None:
    f = RELAIS
    y = str(year)
    # 1. The point of contact is a required select_one of the form (fixe / mobile): « Total »
    #    = point fixe + point mobile, each measure and year.
    fr.total_row(f, "relais_activite", "Total", "les deux points")

    def total(col: str) -> str:
        return cell(f, "relais_activite", "Total", col)

    # 2. Months, weekdays, times of day (« Heure non notée » included), relays: each is a
    #    partition of the year's sheets and people helped (every sheet has a date, a time or
    #    « non notée », a relay). Weekday, moment and relay tables are of the report year.
    mois = fr.table(f, "relais_par_mois")
    for c in mois.columns if mois is not None else []:
        fr.sum_is(total(c), [cell(f, "relais_par_mois", m, c) for m in mois.index], f"mois {c}")
    for name in ("relais_par_jour", "relais_par_moment", "relais_par_relais"):
        t = fr.table(f, name)
        for c in t.columns if t is not None else []:
            fr.sum_is(total(f"{c} {y}"), [cell(f, name, r, c) for r in t.index], f"{name} {c}")
    # 3. Select multiple (needs, actions, orientations, barriers): each ≤ the year's sheets.
    for name in ("relais_besoins", "relais_actions", "relais_orientations", "relais_obstacles"):
        t = fr.table(f, name)
        for c in t.columns if t is not None else []:
            for r in t.index:
                fr.at_most(cell(f, name, r, c), [total(c)], f"{name} ≤ prestations")
    # 4. Needs and orientations by month (report year): the months add up to the year's column
    #    of the same code; a month's code ≤ the month's sheets.
    for name, whole in (("relais_besoins_par_mois", "relais_besoins"),
                        ("relais_orientations_par_mois", "relais_orientations")):  # fmt: skip
        t = fr.table(f, name)
        for code in t.columns if t is not None else []:
            fr.sum_is(
                cell(f, whole, code, f"Prestations {y}"),
                [cell(f, name, m, code) for m in t.index],
                f"{name} : les mois de {code}",
            )
            for m in t.index:
                fr.at_most(
                    cell(f, name, m, code),
                    [cell(f, "relais_par_mois", m, f"Prestations {y}")],
                    "un code du mois ≤ prestations du mois",
                )
    # 5. Volunteers paid = the bands of the yearly ceiling (first row, « Volontaires
    #    défrayés »); the last row, « Dont au moins une journée au-delà du plafond journalier »,
    #    is a « dont » of the paid volunteers, not a band: at most them (a day above the daily
    #    ceiling says nothing of the year's share of the yearly ceiling).
    vol = fr.table(f, "relais_volontaires")
    if vol is not None:
        paid = vol.index[0]
        of = [r for r in vol.index[1:] if r.startswith("Dont ")]
        bands = [r for r in vol.index[1:] if r not in of]
        for c in vol.columns:
            fr.sum_is(
                cell(f, "relais_volontaires", paid, c),
                [cell(f, "relais_volontaires", r, c) for r in bands],
                f"relais_volontaires : les tranches du plafond (colonne {c})",
            )
            for r in of:
                fr.at_most(
                    cell(f, "relais_volontaires", r, c),
                    [cell(f, "relais_volontaires", paid, c)],
                    f"relais_volontaires : {r} ≤ volontaires défrayés {c}",
                )


def field_relations(tables_dir: Path, project: Path, year: int) -> FieldReader:
    """The printed cells of the three field folders of ``tables_dir`` and the relations a
    reader justifies from them."""
    fr = FieldReader()
    for folder in FIELD_FOLDERS:
        path = tables_dir / folder
        if not path.is_dir():
            continue
        fr.tables[folder] = _read(path)
        for name, t in fr.tables[folder].items():
            if name in NOT_PERSONS.get(folder, set()):
                continue
            for r in t.index:
                for c in t.columns:
                    fr.cells[cell(folder, name, r, c)] = t.loc[r, c]
    _barometre(fr, year, opening_windows(project), project)
    _diagnostic(fr, year)
    _relais(fr, year)
    return fr


@dataclass
class FieldAttack:
    relations: int
    hidden: list[str]
    primary: list[str]
    isolated: list[str]
    pinned: list[str]
    report: list[str]


def attack_field_tables(fr: FieldReader, k: int) -> FieldAttack:
    """Solve every « < k » cell's bounds, « s » read as ≥ 0 and as ≥ k (the annual report's
    criterion: each « < k » keeps at least two possible values in 1…k−1)."""
    reader = fr.reader
    in_relations = {key for r in reader.relations for key in r}
    primary = sorted(key for key, text in fr.cells.items() if text == f"< {k}")
    hidden = sorted(k_ for k_, t in fr.cells.items() if t in (f"< {k}", SECONDARY_TEXT))
    isolated = [key for key in hidden if key not in in_relations]
    report, pinned = [], []
    cells = {key: text for key, text in fr.cells.items() if key in in_relations}
    for floor in (0.0, float(k)):
        known, bounds = reader_view(cells, k, floor)
        intervals: dict[str, tuple[float, float]] = {}
        for part in _components(reader, known):  # independent programs: faster, same bounds
            own = {key: b for key, b in bounds.items() if key in part.aux or key in _keys(part)}
            intervals.update(value_intervals(part, known, own))
        for key in primary:
            if key not in intervals:
                continue
            left = integers_left(intervals[key], k)
            lo, hi = intervals[key]
            report.append(f"s ≥ {floor:g} : {key} ∈ [{lo:g}, {hi:g}] → {left}")
            if len(left) < 2:
                why = "; ".join(chain(reader, key, known))
                pinned.append(f"« {key} » = {left} (s ≥ {floor:g}) par : {why}")
    return FieldAttack(len(reader.relations), hidden, primary, isolated, pinned, report)


def _keys(reader: Reader) -> set[str]:
    return {key for r in reader.relations for key in r}


def _components(reader: Reader, known: dict[str, float]) -> list[Reader]:
    """The relations split into groups sharing no unknown (each solved on its own)."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for relation in reader.relations:
        free = [key for key in relation if key not in known]
        for key in free[1:]:
            parent[find(key)] = find(free[0])
        if free:
            find(free[0])
    groups: dict[str, Reader] = {}
    for relation, why in zip(reader.relations, reader.why, strict=True):
        free = [key for key in relation if key not in known]
        root = find(free[0]) if free else "~publiés"
        part = groups.setdefault(root, Reader())
        part.relations.append(relation)
        part.why.append(why)
        part.aux.update(key for key in relation if key in reader.aux)
    return list(groups.values())
