"""What every chapter of the annual report reads, loaded and disclosure-controlled once.

The report stage prints what earlier stages wrote (indicators, trends, metrics, linkage). Reading
it and protecting the person counts happen here, once for the whole report: every chapter, chart
and exported table then works from the same :class:`ReportData`, so a count masked in one place
is masked everywhere.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.coverage import Coverage, read_coverage
from observatoire.core.formatting import MOIS_ABREGES, french_number
from observatoire.disclosure.ledger import PublishedCell, published_texts, read_ledger, read_state
from observatoire.disclosure.publication import Tables, has_person_data, restore_published
from observatoire.disclosure.suppression import Publication
from observatoire.indicators.contract import (
    INDICATORS_FILE,
    PREVIOUS_YEAR_FILE,
    read_aggregates,
    read_indicators,
)
from observatoire.intake.mapping import PartnerMapping, load_partners
from observatoire.models.contract import TRENDS_FILE, read_trends
from observatoire.reports.common import code_version

__all__ = [
    "LINKAGE_DIR",
    "MONTHS_FR",
    "Masthead",
    "ReportData",
    "PARTIAL_CHANGE",
    "PARTIAL_YOY",
    "change_computable",
    "not_received",
    "uncomputed_change",
    "NOT_RECEIVED",
    "ABSENT_CHANGE",
    "document_context",
    "file_year",
    "fr_num",
    "load_report_data",
    "masthead_of",
    "monthly_persons",
    "partners_unit",
    "read_indicator_years",
    "read_imputations",
    "read_json",
]

MONTHS_FR = list(MOIS_ABREGES)
LINKAGE_DIR = PATHS.linkage


def fr_num(x: float | int | None, decimals: int = 0) -> str:
    return french_number(x, decimals)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def partners_unit(partners: dict, dispositif: str) -> str:
    """What one row of the dispositif's contacts is (« nuit, séjour »): the row units of its
    partners that send contacts (a partner sending counts only adds no row to them)."""
    runs = [p for p in partners.values() if p.runs(dispositif)]
    rows = [p for p in runs if any(e.table == "contacts" for e in p.exports)] or runs
    return ", ".join(sorted({p.row_unit for p in rows}))


def file_year(source_file: str) -> int | None:
    m = re.search(r"(\d{4})", source_file.rsplit("/", 1)[-1])
    return int(m.group(1)) if m else None


@dataclass(frozen=True)
class Masthead:
    """Who publishes the report, for which year, and how it looks: the front matter, the
    workbook's notes sheet and the deck's title slide print the same."""

    title: str
    organisation: str
    year: int
    k: int
    date: str
    colour_primary: str
    colour_secondary: str
    code_version: str


@dataclass(frozen=True)
class ReportData:
    """The inputs of the report stage and the report's one publication (masked cells)."""

    settings: Settings
    params_path: Path
    masthead: Masthead
    ind_dir: Path
    trend_dir: Path
    ind: dict[str, Any]
    trend: dict[str, Any]
    rows: dict[str, Any]
    inputs: dict[str, Any]
    linkage: dict[str, Any]
    partners: dict[str, PartnerMapping]
    tables: Tables
    pub: Publication
    pub_prev: Publication | None
    audit_table: pd.DataFrame
    imputations: dict[str, Any] | None = None
    """The linkage imputations (``imputations.json``), None when that stage has not run."""
    previous_released: Path | None = None
    """The archive last year's statuses were read from; None when they were rebuilt."""
    ledger_cells: int = 0
    """Cells of the year's one ledger (every report's), for the annex."""
    published: dict[str, PublishedCell] = field(default_factory=dict)
    """Every cell of the year's ledger as a reader sees it (« < k », « s » or the number), for
    chapters that summarise another report (the field records')."""
    coverage: Coverage | None = None
    """The months each partner's exports cover (ingest stage); None: not known, every year is
    taken as covered (a report built before the table existed)."""
    source_names: dict[str, str] = field(default_factory=dict)
    """Names of the sources that are no service (weather), by id: the files they sent are
    listed under their name, never among the partners."""

    @property
    def year(self) -> int:
        return self.masthead.year

    @property
    def k(self) -> int:
        return self.masthead.k

    @property
    def min_mean(self) -> int:
        return self.settings.report.min_persons_for_mean

    @property
    def first_year(self) -> int:
        """The first year with persons; the report's year when no year has any (counts only)."""
        return min((r["year"] for r in self.ind["yearly_persons"]), default=self.year)

    @property
    def has_persons(self) -> bool:
        """False when the partners send counts only: no person-level row in any year."""
        return has_person_data(self.ind)


def masthead_of(settings: Settings) -> Masthead:
    rep = settings.report
    return Masthead(
        title=rep.title,
        organisation=rep.organisation,
        year=rep.year,
        k=rep.disclosure_threshold,
        date=f"{rep.year + 1}-06-30",
        colour_primary=rep.colour_primary,
        colour_secondary=rep.colour_secondary,
        code_version=code_version(),
    )


def monthly_persons(ind_dir: Path) -> pd.DataFrame | None:
    """The indicators' persons per month and dispositif (the monthly chart's table)."""
    path = ind_dir / "personnes_par_mois.csv"
    return pd.read_csv(path) if path.exists() else None


def read_imputations() -> dict[str, Any] | None:
    """The linkage imputations' ``imputations.json`` (stage ``linkage_imputations``), or None
    when the stage has not run."""
    path = PATHS.linkage_imputations_summary
    return read_json(path) if path.exists() else None


def read_indicator_years(
    ind_dir: Path,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """This year's and last year's indicators, read through the stage contract (a file of
    another shape stops here, in French)."""
    ind = read_indicators(ind_dir / INDICATORS_FILE).to_json()
    aggregates = read_aggregates(ind_dir)
    if aggregates:  # partners that send counts (their own tables and section)
        ind["aggregates"] = aggregates
    prev_path = ind_dir / PREVIOUS_YEAR_FILE
    ind_prev = read_indicators(prev_path).to_json() if prev_path.exists() else None
    return ind, ind_prev


def load_report_data(settings: Settings, params_path: Path) -> ReportData:
    """Read the stage's inputs and the year's publication (decided by the ``publication``
    stage: the report only prints it)."""
    year, k = settings.report.year, settings.report.disclosure_threshold
    ind_dir, trend_dir = PATHS.indicators(year), PATHS.trends(year)
    ind, ind_prev = read_indicator_years(ind_dir)
    state = read_state(PATHS.disclosure(year))
    linkage = read_json(PATHS.metrics / "linkage.json")
    ledger = read_ledger(PATHS.tables(year))
    tables, pub, pub_prev = restore_published(
        ind,
        ind_prev,
        k,
        ledger,
        state.previous,
        monthly_persons(ind_dir),
        linkage,
        imputations := read_imputations(),
    )
    mine = state.audit["key"].isin(pub.status) | ~state.audit["current"].astype(bool)
    released = state.previous_released
    everyone = load_partners(settings.inputs.partners_dir, settings.inputs.codes_dir, weather=True)
    return ReportData(
        settings=settings,
        params_path=params_path,
        masthead=masthead_of(settings),
        ind_dir=ind_dir,
        trend_dir=trend_dir,
        ind=ind,
        trend=read_trends(trend_dir / TRENDS_FILE).to_json(),
        rows=read_json(PATHS.metrics / "rows.json"),
        inputs=read_json(PATHS.metrics / "inputs.json"),
        linkage=linkage,
        imputations=imputations,
        partners={k: p for k, p in everyone.items() if not p.weather_only},
        source_names={k: p.name for k, p in everyone.items() if p.weather_only},
        tables=tables,
        pub=pub,
        pub_prev=pub_prev,
        audit_table=state.audit[mine].reset_index(drop=True),
        previous_released=Path(released) if released and ind_prev is not None else None,
        ledger_cells=len(ledger),
        published=published_texts(ledger, k),
        coverage=read_coverage(PATHS.coverage) if PATHS.coverage.is_file() else None,
    )


PARTIAL_CHANGE = "non calculée (année partielle)"
"""What a change prints when one of its two years is partial for a partner concerned."""
PARTIAL_YOY = (
    "Variation {prev}–{year} non calculée : l'une des deux années n'est pas couverte en entier "
    "par les exports d'un partenaire (voir @sec-couverture) ; une année partielle n'est ni "
    "comparée ni annualisée."
)


NOT_RECEIVED = "non reçu"
"""What a figure prints when the partners of a dispositif sent no data for the year (an export
received empty): not « 0 » (see :meth:`observatoire.core.coverage.Coverage.absent_years`)."""
ABSENT_CHANGE = "non calculée (données non reçues)"
"""What a change prints when one of its two years has no data from a partner concerned."""


def not_received(data: ReportData, dispositif: str | None = None, year: int | None = None) -> bool:
    """Whether every partner (of ``dispositif``) concerned by ``year`` (default: the report
    year) sent no data for it: its figures are « non reçu », never zero."""
    if data.coverage is None:
        return False
    year = data.year if year is None else year
    first, last = pd.Period(f"{year}-01", freq="M"), pd.Period(f"{year}-12", freq="M")
    concerned = {
        pid
        for pid, p in data.coverage.partners.items()
        if (dispositif is None or p.runs(dispositif)) and p.touches(first, last)
    }
    return bool(concerned) and concerned <= set(data.coverage.absent_in(year, dispositif))


def uncomputed_change(data: ReportData, dispositif: str | None = None) -> str:
    """Why a change is not computed: data not received for one of the two years, or a partial
    year."""
    cov = data.coverage
    if cov is not None and any(cov.absent_in(y, dispositif) for y in (data.year, data.year - 1)):
        return ABSENT_CHANGE
    return PARTIAL_CHANGE


def change_computable(data: ReportData, dispositif: str | None = None) -> bool:
    """Whether the report year may be compared with the previous one (of ``dispositif``, else
    the network): both covered in full by every partner concerned (see
    :meth:`observatoire.core.coverage.Coverage.change_computable`)."""
    if data.coverage is None:
        return True
    return data.coverage.change_computable(data.year, dispositif)


def document_context(data: ReportData) -> dict[str, Any]:
    """The names any chapter may print: who publishes, which year, the house colours."""
    m = data.masthead
    return {
        "organisation": m.organisation,
        "title": m.title,
        "year": m.year,
        "k": m.k,
        "date": m.date,
        "colour_primary": m.colour_primary,
        "colour_secondary": m.colour_secondary,
        "first_year": data.first_year,
    }
