"""Stage ``publication``: every number the year's reports print, decided and written once.

It runs after every computation stage (indicators, trends, youth study) and before every report
stage. It builds the count tables of each report, protects them (primary and optimal secondary
suppression: :func:`observatoire.disclosure.publication.publish`, against what was actually
released last year when ``publications/<year − 1>/`` exists), audits everything published this
year at once (:func:`~observatoire.disclosure.suppression.merge`, then
:func:`~observatoire.disclosure.suppression.audit`) and writes, as the only writer of
``outputs/tables/<year>/``:

* the annual report's tables (CSV and the XLSX workbook) at their usual paths;
* each other report's tables in a subfolder named after it (``jeunes-en-errance/``);
* ``cases_publiees.csv``, the one ledger of the year (key, status, published value, tables);

and, for the reports' annexes, the audit and last year's ledger as the audit held it in
``outputs/disclosure/<year>/`` (internal: intervals a reader could compute anyway, no hidden
value). The report stages then print the ledger's cells (:mod:`observatoire.disclosure.ledger`).
A publication that fails its audit is not written: the stage stops and says which cells.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.errors import ObservatoireError
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.storage import atomic_dir
from observatoire.disclosure.apart import search_budget, search_summary, searched_or_search
from observatoire.disclosure.archive import LEDGER, read_release
from observatoire.disclosure.barometre import BAROMETRE_FOLDER, write_barometre_tables
from observatoire.disclosure.diagnostic import (
    DIAGNOSTIC_FOLDER,
    publish_diagnosis,
    write_diagnosis_tables,
)
from observatoire.disclosure.ledger import YOUTH_FOLDER, PublicationState, ledger_of, write_state
from observatoire.disclosure.maps import MAPS_FOLDER, publish_zones, write_zone_tables
from observatoire.disclosure.plans import PLANS_FOLDER, publish_plans, write_plan_tables
from observatoire.disclosure.projets import publish_projects, write_projects_tables
from observatoire.disclosure.publication import Tables, publish
from observatoire.disclosure.relais import RELAIS_FOLDER, publish_relays, write_relays_tables
from observatoire.disclosure.suppression import PUBLISHED, Publication, audit, merge
from observatoire.disclosure.workers import run_groups, search_workers
from observatoire.disclosure.youth import (
    YouthPublication,
    publish_youth,
    read_youth_inputs,
    write_youth_tables,
)
from observatoire.reports.annual.chapters.dispositifs import shelter_context
from observatoire.reports.annual.context import (
    masthead_of,
    monthly_persons,
    read_imputations,
    read_indicator_years,
    read_json,
)
from observatoire.reports.annual.exports import write_exports

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["PublicationFailed", "build_publication", "search_groups", "search_summary"]


class PublicationFailed(ObservatoireError):
    """A masked cell could be recomputed from everything the year publishes."""


def _search_name(folder: str) -> str:
    """A report's name in the publication state's « recherche » (``jeunes_en_errance``...)."""
    return folder.replace("-", "_") or "rapport_annuel"


def youth_publication(
    settings: Settings, known: Publication | None = None
) -> YouthPublication | None:
    """The youth report's publication, or None when the study has not run for the year.

    ``known``: what the annual reports (this year's and last year's) print, which a reader of
    the youth report holds too: the youth report's small cells are protected against it (a
    young people's total the annual report prints cannot be masked in the youth report)."""
    youth_dir = PATHS.youth(settings.report.year)
    if not (youth_dir / "resultats.json").exists():
        return None
    res, frames = read_youth_inputs(youth_dir)
    if "cohort" not in res:  # the study could not run (its reason is in resultats.json)
        return None
    return publish_youth(
        settings.report.year,
        res,
        frames,
        settings.report.disclosure_threshold,
        known=known,
        budget=search_budget(settings),
    )


def maps_publication(settings: Settings) -> Publication | None:
    """The maps' zone counts (persons met in the street per zone during each seasonal plan),
    or None when the plans or the contacts are absent."""
    if not PATHS.plans_params.exists() or not PATHS.contacts.exists():
        return None
    import pandas as pd

    from observatoire.plans.settings import load_plans

    contacts = pd.read_parquet(
        PATHS.contacts, columns=["person_id", "dispositif", "date_start", "zone"]
    )
    rep = settings.report
    return publish_zones(
        contacts,
        load_plans(PATHS.plans_params),
        rep.year,
        rep.disclosure_threshold,
        search_budget(settings),
    )


@dataclass(frozen=True)
class _Annual:
    """The annual report's publication and what its writing needs, with the youth report's
    (protected against it, so searched after it, in the same group)."""

    ind: dict[str, Any]
    ind_prev: dict[str, Any] | None
    released: pd.DataFrame | None
    tables: Tables
    pub: Publication
    previous: Publication | None
    youth: YouthPublication | None


def _annual_group(settings: Settings) -> _Annual:
    """The annual report's search, then the youth report's."""
    year, k = settings.report.year, settings.report.disclosure_threshold
    ind_dir = PATHS.indicators(year)
    ind, ind_prev = read_indicator_years(ind_dir)
    released_dir = PATHS.release(year - 1)
    released = read_release(released_dir)
    tables, pub, previous = publish(
        ind,
        ind_prev,
        k,
        budget=search_budget(settings),
        released=released,
        released_from=released_dir,
        monthly=monthly_persons(ind_dir),
        linkage=read_json(PATHS.metrics / "linkage.json"),
        imputations=read_imputations(),
    )
    youth = youth_publication(settings, pub if previous is None else merge(pub, previous))
    return _Annual(ind, ind_prev, released, tables, pub, previous, youth)


def _plans_group(settings: Settings) -> Publication | None:
    """The seasonal plans' bilans."""
    year = settings.report.year
    k = settings.report.disclosure_threshold
    return publish_plans(PATHS.plans(year), year, k, search_budget(settings))


def _diagnosis_group(settings: Settings) -> Publication | None:
    """The street diagnosis (diagnostic de quartier)."""
    year = settings.report.year
    k = settings.report.disclosure_threshold
    return publish_diagnosis(PATHS.street_diagnosis(year), year, k, search_budget(settings))


def _relays_group(settings: Settings) -> Publication | None:
    """The neighbourhood relays."""
    year = settings.report.year
    k = settings.report.disclosure_threshold
    return publish_relays(PATHS.relays(year), k, search_budget(settings))


def _barometer_group(settings: Settings) -> Publication | None:
    """The violence barometer: the pattern stage ``barometer_suppression`` searched (else
    searched here; disclosure.apart)."""
    year = settings.report.year
    k = settings.report.disclosure_threshold
    return searched_or_search("barometre", year, k, search_budget(settings))


def _projects_group(settings: Settings) -> dict[str, Publication]:
    """The projects (issue 20)."""
    year = settings.report.year
    k = settings.report.disclosure_threshold
    return publish_projects(PATHS.projects(year), year, k, search_budget(settings))


SEARCH_GROUPS: dict[str, Callable[[Settings], Any]] = {
    "rapport_annuel": _annual_group,
    "plans": _plans_group,
    "cartes": maps_publication,
    "diagnostic": _diagnosis_group,
    "relais": _relays_group,
    "barometre": _barometer_group,
    "projets": _projects_group,
}
"""The publication's independent searches, in the order of the run in one process (that of the
ledger's parts): none reads another's cells or result."""

LONGEST_FIRST = ("barometre", "projets", "diagnostic")
"""The longest searches on the sample, started first so that the others fill the other worker."""


def search_groups(settings: Settings, workers: int | None = None) -> dict[str, Any]:
    """Every report's search, by group (:data:`SEARCH_GROUPS`), on ``workers`` processes
    (``OBSERVATOIRE_PROCESSUS``, 2 by default; 1: one after the other in this process)."""
    tasks = {name: partial(group, settings) for name, group in SEARCH_GROUPS.items()}
    return run_groups(tasks, search_workers() if workers is None else workers, LONGEST_FIRST)


def build_publication(settings: Settings, workers: int | None = None) -> None:
    """Protect, audit and write everything published for ``report.year`` (the searches on
    ``workers`` processes: :func:`search_groups`)."""
    rep = settings.report
    year, k = rep.year, rep.disclosure_threshold
    released_dir = PATHS.release(year - 1)
    found = search_groups(settings, workers)
    annual: _Annual = found["rapport_annuel"]
    ind, ind_prev, released = annual.ind, annual.ind_prev, annual.released
    tables, pub, previous, youth = annual.tables, annual.pub, annual.previous, annual.youth
    parts = {"": pub} if youth is None else {"": pub, YOUTH_FOLDER: youth.pub}
    seasonal = found["plans"]
    if seasonal is not None:
        parts[PLANS_FOLDER] = seasonal
    zones = found["cartes"]
    if zones is not None:
        parts[MAPS_FOLDER] = zones
    street = found["diagnostic"]
    if street is not None:
        parts[DIAGNOSTIC_FOLDER] = street
    relays = found["relais"]
    if relays is not None:
        parts[RELAIS_FOLDER] = relays
    barometre = found["barometre"]
    if barometre is not None:
        parts[BAROMETRE_FOLDER] = barometre
    projects = found["projets"]
    parts |= projects
    checked = audit(merge(*parts.values()), previous)
    failed = checked[~checked["protected"] & ~checked["inevitable"]]
    if len(failed):
        raise PublicationFailed(
            f"Publication {year} refusée : {len(failed)} case(s) masquée(s) se déduisent de ce "
            "qui serait publié : " + ", ".join(failed["key"].head(10)) + ". Rien n'a été écrit. "
            "À faire : signalez-le à l'équipe du code (regrouper des catégories ou ne pas "
            "publier le tableau)."
        )
    with atomic_dir(PATHS.tables(year)) as out, atomic_dir(PATHS.disclosure(year)) as internal:
        write_exports(
            out,
            tables,
            pub,
            ind,
            shelter_context(ind, rep.min_persons_for_mean),
            masthead_of(settings),
        )
        if youth is not None:
            write_youth_tables(youth, out / YOUTH_FOLDER)
        if PATHS.plans(year).exists():
            write_plan_tables(seasonal, PATHS.plans(year), out / PLANS_FOLDER)
        if zones is not None:
            write_zone_tables(zones, out / MAPS_FOLDER)
        if street is not None:
            write_diagnosis_tables(street, PATHS.street_diagnosis(year), out / DIAGNOSTIC_FOLDER)
        if PATHS.relays(year).exists():
            write_relays_tables(relays, PATHS.relays(year), out / RELAIS_FOLDER, k)
        if barometre is not None:
            write_barometre_tables(barometre, out / BAROMETRE_FOLDER)
        write_projects_tables(projects, out)
        ledger = ledger_of(parts)
        write_safe_csv(ledger, out / LEDGER, quote_all=False)
        write_state(
            internal,
            PublicationState(
                audit=checked,
                previous=previous.ledger() if previous is not None else None,
                previous_released=(
                    str(released_dir) if released is not None and ind_prev is not None else None
                ),
                search={
                    _search_name(folder): search_summary(part) for folder, part in parts.items()
                },
            ),
        )
    hidden = int((ledger["status"] != PUBLISHED).sum())
    searched = {_search_name(folder): part for folder, part in parts.items()}
    if previous is not None:  # last year's pattern, rebuilt by the same search
        searched[f"rapport_annuel_{year - 1}"] = previous
    if unfinished := sorted(
        name for name, part in searched.items() if part.search and part.search.unfinished
    ):
        print(
            f"Avertissement : publication {year} écrite, mais le filet de sécurité de la recherche "
            f"du masquage optimal a été atteint ({', '.join(unfinished)}) : le masquage de ces "
            "rapports dépend de la vitesse de la machine (noté « unfinished » dans l'état de la "
            f"publication, {PATHS.disclosure(year)}/). Relancez « observatoire publication » sur "
            "une machine moins chargée avant de diffuser.",
            file=sys.stderr,
        )
    source = f"archive {released_dir}" if released is not None else "recalculée (aucune archive)"
    print(
        f"Publication {year} : {len(ledger)} cases dont {hidden} masquées, "
        f"{len(checked)} petites cases auditées, toutes protégées ; publication {year - 1} : "
        f"{source} ; tableaux : {PATHS.tables(year)}/"
    )
