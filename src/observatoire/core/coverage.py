"""The months each partner's exports cover: declared in its mapping, or proposed from its data.

A partner's rows say when something happened, not which months the partner sent: a month with no
row may be a quiet month or a month the export does not reach, and one stray row dated years
before the export must not make the data look older than it is. The *coverage* is the answer:
per partner, the months its exports are complete for. The analyst declares it in the mapping
(``coverage: {from: 2022-01, to: 2024-12}``, a list of periods if the partner has a gap);
``observatoire check`` proposes it from a file; without a declaration the pipeline uses the same
proposal (and warns).

**The proposal rule** (:func:`propose_periods`). The months that hold at least one row are cut
into runs wherever more than :data:`STRAY_GAP_MONTHS` consecutive months hold none. A run that
holds less than :data:`STRAY_SHARE` of the rows is *stray* (reported, not trusted); every other
run is a covered period, from its first to its last month (empty months inside a run are quiet
months, not missing ones: a small service has many). So a 2007 row in a 2022–2024 export is stray
(15 empty years, one row out of thousands); a partner that stopped sending in September gives a
period ending in September.

**What the pipeline does with it**. The ingest stage sets aside the rows outside the coverage
(``hors_couverture_declaree`` when declared, ``ligne_isolee`` for the stray rows of a proposal)
and writes the table (``outputs/metrics/coverage.json``). Downstream, a figure that needs a
window of months — a look-back (new / returning persons, the youth study's newcomers), a
year-on-year change, a yearly trend — is computed only when every partner *concerned* covers
every month of the window (:meth:`Coverage.window_covered`); a partner is concerned when its
coverage touches the period the figure is about (a partner closed before the report year is
not). Months a partner should cover but sent no row for — a declared period without any row,
an export received empty for its year — are *absent* (:attr:`PartnerCoverage.absent`): the
partner stays concerned, so nothing is compared with them, and the report says « non reçu »
rather than printing zero (:meth:`Coverage.absent_years`). A year a partner covers for only some
months is a *partial year* (:meth:`Coverage.partial_years`): it is flagged in the report and
excluded from trends and year-on-year changes (never annualised: a partner's months are not
exchangeable — winter is not summer).

**Seasonal partners.** A service that works only during a seasonal plan (a Plan Grand Froid
shelter, a Plan Canicule day centre) declares its *season* with its coverage
(``coverage: {first: 2020-01, last: 2024-12, season: {start: "11-15", end: "03-31"}}``). The
months of its periods outside the season are *off season* (:attr:`PartnerCoverage.off_season`):
covered — the service is closed, its data are complete and zero by design — so its year is
complete when its season is, and a window crossing its summer is not broken; the report shows
them « hors saison », neither missing nor partial. A month is in season when the season touches
it (``11-15`` puts November in season).

This module is pure (no reading of mappings or exports): the intake builds the table, every
later stage reads it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "COVERAGE_FILE_VERSION",
    "DECLARED",
    "MONTH_NAMES",
    "PROPOSED",
    "STRAY_GAP_MONTHS",
    "STRAY_SHARE",
    "Coverage",
    "PartnerCoverage",
    "Proposal",
    "coverage_of",
    "month_text",
    "outside_periods",
    "periods_text",
    "periods_yaml",
    "propose_periods",
    "read_coverage",
    "season_days",
    "season_months",
    "season_text",
]

COVERAGE_FILE_VERSION = 1
DECLARED = "declaree"
PROPOSED = "proposee"
STRAY_GAP_MONTHS = 6
"""More empty months than this between two rows cut the data into separate runs: a service, even
a small one, does not go half a year without a row while it sends its exports."""
STRAY_SHARE = 0.02
"""A run holding less than this share of the rows is stray (a typing error in a year, a record
imported from an older system), not a period the partner covers."""

Period = tuple[pd.Period, pd.Period]
MONTH_NAMES = (
    "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
    "octobre", "novembre", "décembre",
)  # fmt: skip


def _month(value: Any) -> pd.Period:
    return pd.Period(value, freq="M")


def month_text(month: pd.Period) -> str:
    """``2024-09``: the form of the mapping key and of the coverage file."""
    return f"{month.year:04d}-{month.month:02d}"


def season_months(windows: Iterable[tuple[str, str]]) -> frozenset[int]:
    """The months (1–12) a season touches: ``[("11-15", "03-31")]`` → {11, 12, 1, 2, 3}; a
    window whose end precedes its start crosses the new year. No window: every month."""
    months: set[int] = set()
    for start, end in windows:
        a, b = int(start[:2]), int(end[:2])
        if (a, start[3:]) <= (b, end[3:]):
            months.update(range(a, b + 1))
        else:
            months.update(range(a, 13))
            months.update(range(1, b + 1))
    return frozenset(months) if months else frozenset(range(1, 13))


def season_days(windows: Iterable[tuple[str, str]], year: int) -> int:
    """The days of ``year`` inside the season (a winter window counts its January–March and its
    November–December days of ``year``; a 29 February start or end falls on the 28th)."""
    days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
    md = days.strftime("%m-%d")
    inside = np.zeros(len(days), dtype=bool)
    for start, end in windows:
        inside |= (md >= start) & (md <= end) if start <= end else (md >= start) | (md <= end)
    return int(inside.sum())


def season_text(windows: Iterable[tuple[str, str]]) -> str:
    """« du 15 novembre au 31 mars » (windows joined by « et »)."""

    def day(text: str) -> str:
        d = int(text[3:])
        return f"{'1er' if d == 1 else d} {MONTH_NAMES[int(text[:2]) - 1]}"

    return " et ".join(f"du {day(a)} au {day(b)}" for a, b in windows)


def _months_fr(month: pd.Period) -> str:
    return f"{MONTH_NAMES[month.month - 1]} {month.year}"


def periods_text(periods: Iterable[Period]) -> str:
    """« janvier 2022 à décembre 2024 ; mars 2025 à juin 2025 »."""
    return " ; ".join(f"{_months_fr(a)} à {_months_fr(b)}" for a, b in periods) or "aucun mois"


def periods_yaml(periods: Iterable[Period], indent: str = "") -> str:
    """The ``coverage:`` block an analyst pastes into a mapping file."""
    periods = list(periods)
    if len(periods) == 1:
        a, b = periods[0]
        return f"{indent}coverage: {{first: {month_text(a)}, last: {month_text(b)}}}"
    lines = [f"{indent}coverage:"]
    lines += [f"{indent}  - {{first: {month_text(a)}, last: {month_text(b)}}}" for a, b in periods]
    return "\n".join(lines)


@dataclass(frozen=True)
class Proposal:
    """What the data suggest a partner covers: the periods, and the rows left out as stray."""

    periods: tuple[Period, ...]
    rows: int
    stray_rows: int
    stray_months: tuple[pd.Period, ...] = ()

    def record(self) -> dict[str, Any]:
        return {
            "periods": [[month_text(a), month_text(b)] for a, b in self.periods],
            "rows": self.rows,
            "stray_rows": self.stray_rows,
            "stray_months": [month_text(m) for m in self.stray_months],
        }


def propose_periods(
    dates: pd.Series,
    gap_months: int = STRAY_GAP_MONTHS,
    stray_share: float = STRAY_SHARE,
) -> Proposal:
    """The covered periods the dates suggest, by the rule of the module docstring."""
    d = pd.to_datetime(pd.Series(dates)).dropna()
    if d.empty:
        return Proposal((), 0, 0)
    per_month = d.dt.to_period("M").value_counts().sort_index()
    ordinals = np.array([m.ordinal for m in per_month.index])
    cuts = np.flatnonzero(np.diff(ordinals) - 1 > gap_months) + 1
    runs = np.split(np.arange(len(ordinals)), cuts)
    total = int(per_month.sum())
    periods: list[Period] = []
    stray_rows, stray_months = 0, []
    biggest = max(runs, key=lambda r: int(per_month.iloc[r].sum()))
    for run in runs:
        n = int(per_month.iloc[run].sum())
        if run is not biggest and n < stray_share * total:
            stray_rows += n
            stray_months += list(per_month.index[run])
            continue
        periods.append((per_month.index[run[0]], per_month.index[run[-1]]))
    return Proposal(tuple(periods), total, stray_rows, tuple(stray_months))


def outside_periods(
    start: pd.Series, end: pd.Series | None, periods: Iterable[Period], open_ended: bool = False
) -> pd.Series:
    """Rows whose presence lies wholly outside ``periods``: a contact dated outside, a stay that
    ends before the first covered month or starts after the last. A stay begun before the
    coverage and still running in it is inside (left truncation is handled downstream); with
    ``open_ended`` a stay without an exit date runs on. Rows without a start date are inside
    (their own reason sets them aside)."""
    s = pd.to_datetime(start)
    e = pd.to_datetime(end) if end is not None else pd.Series(pd.NaT, index=s.index)
    e = e.where(e.notna() & (e >= s), s)
    if open_ended and end is not None:
        e = e.where(pd.to_datetime(end).notna(), pd.Timestamp.max)
    inside = pd.Series(False, index=s.index)
    for a, b in periods:
        lo, hi = a.start_time, b.end_time
        inside |= (s <= hi) & (e >= lo)
    return s.notna() & ~inside


@dataclass(frozen=True)
class PartnerCoverage:
    """One partner's covered periods (months, both ends included)."""

    partner_id: str
    dispositif: str
    status: str
    periods: tuple[Period, ...]
    stray_rows: int = 0
    absent: tuple[Period, ...] = ()
    """Months the partner should cover but sent no row for (« données absentes »): declared
    months without any row over more than :data:`STRAY_GAP_MONTHS` at an edge, or the year of
    an export received empty. The partner stays *concerned* by them (:meth:`touches`) without
    covering them (:meth:`covers`): its figures there are missing, never zero."""
    season: tuple[tuple[str, str], ...] = ()
    """A seasonal partner's windows of the year (« MM-JJ » pairs, see the module docstring);
    empty for a partner that works all year."""
    off_season: tuple[Period, ...] = ()
    """The declared months outside its season: covered (closed, zero by design) when in
    :attr:`periods`, shown « hors saison » rather than as data or as missing."""

    def covers(self, month: pd.Period) -> bool:
        return any(a <= month <= b for a, b in self.periods)

    def in_season(self, month: pd.Period) -> bool:
        """Whether ``month`` is not one of the partner's off-season months."""
        return not any(a <= month <= b for a, b in self.off_season)

    def off_season_in_year(self, year: int) -> list[int]:
        """The months (1–12) of ``year`` the partner is closed by design (covered, off season)."""
        return [
            m for m in range(1, 13) if not self.in_season(pd.Period(year=year, month=m, freq="M"))
        ]

    def runs(self, dispositif: str) -> bool:
        """Whether the partner feeds ``dispositif`` (``dispositif`` holds « a+b » for a partner
        whose exports feed several, by their filters)."""
        return dispositif in self.dispositif.split("+")

    def months_in_year(self, year: int) -> list[int]:
        """The months (1–12) of ``year`` the partner covers."""
        return [m for m in range(1, 13) if self.covers(pd.Period(year=year, month=m, freq="M"))]

    def touches(self, first: pd.Period, last: pd.Period) -> bool:
        """Whether the partner is concerned by ``first``–``last``: covered or absent months."""
        return any(a <= last and b >= first for a, b in self.periods + self.absent)

    def absent_in_year(self, year: int) -> list[int]:
        """The months (1–12) of ``year`` whose data are absent (see :attr:`absent`)."""
        return [
            m
            for m in range(1, 13)
            if any(a <= pd.Period(year=year, month=m, freq="M") <= b for a, b in self.absent)
        ]

    def record(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "dispositif": self.dispositif,
            "status": self.status,
            "periods": [[month_text(a), month_text(b)] for a, b in self.periods],
            "stray_rows": self.stray_rows,
        }
        if self.absent:  # absent otherwise: the file of a complete network is unchanged
            out["absent"] = [[month_text(a), month_text(b)] for a, b in self.absent]
        if self.season:  # likewise for a network without seasonal partners
            out["season"] = [list(w) for w in self.season]
            out["off_season"] = [[month_text(a), month_text(b)] for a, b in self.off_season]
        return out


@dataclass(frozen=True)
class Coverage:
    """The network's coverage table: partner → covered months."""

    partners: dict[str, PartnerCoverage] = field(default_factory=dict)

    # --- building and storing ---

    @classmethod
    def from_contacts(cls, contacts: pd.DataFrame) -> Coverage:
        """The coverage proposed from clean contacts (no coverage table at hand: a unit test, an
        older run): per partner, one period from the first to the last month of its non-stray
        rows (gaps are not guessed from a few rows; stray rows are not trusted)."""
        out = {}
        if len(contacts):
            partner = (
                contacts["partner_id"]
                if "partner_id" in contacts
                else pd.Series("reseau", index=contacts.index)  # a frame built without partners
            )
            for pid, rows in contacts.groupby(partner, sort=True):
                prop = propose_periods(rows["date_start"])
                span = ((prop.periods[0][0], prop.periods[-1][1]),) if prop.periods else ()
                disp = str(rows["dispositif"].iloc[0]) if "dispositif" in rows else ""
                out[str(pid)] = PartnerCoverage(str(pid), disp, PROPOSED, span, prop.stray_rows)
        return cls(out)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": COVERAGE_FILE_VERSION,
            "partners": {pid: p.record() for pid, p in sorted(self.partners.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Coverage:
        out = {}
        for pid, rec in data.get("partners", {}).items():
            periods = tuple((_month(a), _month(b)) for a, b in rec["periods"])
            absent = tuple((_month(a), _month(b)) for a, b in rec.get("absent", []))
            out[pid] = PartnerCoverage(
                pid,
                rec["dispositif"],
                rec["status"],
                periods,
                int(rec.get("stray_rows", 0)),
                absent,
                tuple((str(a), str(b)) for a, b in rec.get("season", [])),
                tuple((_month(a), _month(b)) for a, b in rec.get("off_season", [])),
            )
        return cls(out)

    # --- questions downstream stages ask ---

    def _concerned(
        self, first: pd.Period, last: pd.Period, dispositif: str | None
    ) -> list[PartnerCoverage]:
        return [
            p
            for p in self.partners.values()
            if (dispositif is None or p.runs(dispositif)) and p.touches(first, last)
        ]

    def window_covered(
        self,
        start: Any,
        end: Any,
        concerned_from: Any = None,
        concerned_to: Any = None,
        dispositif: str | None = None,
    ) -> bool:
        """Whether every month from ``start`` to ``end`` (dates or months, both included) is
        covered by every partner concerned: those (of ``dispositif``, else all) whose coverage
        touches ``concerned_from``–``concerned_to`` (default: the window itself). False when no
        partner is concerned."""
        first, last = _month(start), _month(end)
        c_first = _month(concerned_from) if concerned_from is not None else first
        c_last = _month(concerned_to) if concerned_to is not None else last
        concerned = self._concerned(c_first, c_last, dispositif)
        if last < first:
            return True
        if not concerned:
            return False
        months = pd.period_range(first, last, freq="M")
        return all(all(p.covers(m) for m in months) for p in concerned)

    def lookback_covered(
        self, anchor: Any, days: int | None = None, months: int | None = None,
        concerned_to: Any = None, dispositif: str | None = None,
    ) -> bool:  # fmt: skip
        """Whether the look-back of ``days`` (or ``months``) before ``anchor`` is covered by every
        partner concerned by ``anchor``–``concerned_to`` (default: the anchor's month)."""
        anchor = pd.Timestamp(anchor)
        back = pd.Timedelta(days=days) if days is not None else pd.DateOffset(months=months)
        begin = anchor - back
        return self.window_covered(
            begin, anchor - pd.Timedelta(days=1), anchor, concerned_to or anchor, dispositif
        )

    def year_covered(self, year: int, dispositif: str | None = None) -> bool:
        """Whether every partner (of ``dispositif``) active in ``year`` covers its 12 months."""
        return self.window_covered(f"{year}-01", f"{year}-12", dispositif=dispositif)

    def full_years(self, dispositif: str | None = None) -> list[int]:
        """The years every partner concerned (of ``dispositif``) covers in full."""
        return [y for y in self.years(dispositif) if self.year_covered(y, dispositif)]

    def years(self, dispositif: str | None = None) -> list[int]:
        """Every year with at least one covered month (of ``dispositif``)."""
        out: set[int] = set()
        for p in self.partners.values():
            if dispositif is None or p.runs(dispositif):
                for a, b in p.periods:
                    out.update(range(a.year, b.year + 1))
        return sorted(out)

    def keep_full_years(self, series: pd.Series, dispositif: str | None = None) -> pd.Series:
        """``series`` indexed by year without the years not covered in full (by every partner
        concerned, of ``dispositif``): what a yearly trend or a year-on-year change may use. A
        partial year is excluded, never annualised (see the module docstring)."""
        full = set(self.full_years(dispositif))
        return series[[int(y) in full for y in series.index]]

    def change_computable(self, year: int, dispositif: str | None = None) -> bool:
        """Whether ``year`` against ``year − 1`` compares two years covered in full by the
        partners concerned (a dispositif absent from both years has nothing to compare: True,
        the figure says « – » on its own)."""
        return all(
            not self._concerned(_month(f"{y}-01"), _month(f"{y}-12"), dispositif)
            or self.year_covered(y, dispositif)
            for y in (year, year - 1)
        )

    def partial_years(self) -> list[dict[str, Any]]:
        """Per partner, the years it covers for only some months: ``partner_id``, ``year``,
        ``months`` (covered, 1–12), ``missing`` (not covered)."""
        rows = []
        for pid, p in sorted(self.partners.items()):
            years = sorted({y for a, b in p.periods for y in range(a.year, b.year + 1)})
            for y in years:
                months = p.months_in_year(y)
                if 0 < len(months) < 12:
                    missing = [m for m in range(1, 13) if m not in months]
                    rows.append(
                        {"partner_id": pid, "year": y, "months": months, "missing": missing}
                    )
        return rows

    def absent_years(self) -> list[dict[str, Any]]:
        """Per partner, the years it covers not at all although it should (« données
        absentes », e.g. an export received empty): ``partner_id``, ``year``, ``months`` (the
        absent months, 1–12). A partial year is :meth:`partial_years`'."""
        rows = []
        for pid, p in sorted(self.partners.items()):
            years = sorted({y for a, b in p.absent for y in range(a.year, b.year + 1)})
            for y in years:
                if not p.months_in_year(y):
                    rows.append({"partner_id": pid, "year": y, "months": p.absent_in_year(y)})
        return rows

    def absent_in(self, year: int, dispositif: str | None = None) -> list[str]:
        """The partners (of ``dispositif``) whose data for ``year`` are absent altogether."""
        return [
            row["partner_id"]
            for row in self.absent_years()
            if row["year"] == year
            and (dispositif is None or self.partners[row["partner_id"]].runs(dispositif))
        ]

    def month_table(self, year: int) -> dict[str, list[bool]]:
        """Partner → 12 booleans: the months of ``year`` it covers (the report's grid)."""
        return {
            pid: [m in p.months_in_year(year) for m in range(1, 13)]
            for pid, p in sorted(self.partners.items())
        }


def coverage_of(contacts: pd.DataFrame, coverage: Coverage | None = None) -> Coverage:
    """``coverage`` when given, else the coverage proposed from ``contacts`` (a unit test, a
    caller without the table): the fallback every window-needing indicator uses."""
    return coverage if coverage is not None else Coverage.from_contacts(contacts)


def read_coverage(path: Path, contacts: pd.DataFrame | None = None) -> Coverage:
    """The coverage table written by the ingest stage; without one (an older run, a test), the
    coverage proposed from ``contacts``."""
    path = Path(path)
    if path.is_file():
        return Coverage.from_json(json.loads(path.read_text(encoding="utf-8")))
    return Coverage.from_contacts(contacts if contacts is not None else pd.DataFrame())
