"""The neighbourhood relays' activity (« habitants-relais », issue 19 item 5), computed once.

Inputs are two canonical field tables (``data_clean/field/``):

* ``relay_services``: one row per service sheet a relay filled in (« fiche-relevé des
  prestations »): date, hour, the relay's pseudonym (``relay_id``, a keyed hash: never the
  volunteer's code or name), the point (``fixe`` or ``mobile``, the cargo bike), the number of
  people helped, and four select-multiple answers stored as sorted space-separated codes
  (``needs``, ``actions``, ``oriented_to``, ``barriers``);
* ``relay_allowances``: the coordinator's sheet, one row per volunteer and day of presence
  (hours, flat expense allowance in euros).

**Estimands.**

* *Services* (« prestations »): service sheets; *people helped*: the sum of the sheets'
  ``people_helped`` (a person helped twice counts twice: these are contacts, not distinct
  persons, and the report says so). Both go through the audited publication (a sheet involves
  persons: a small count is « < k »).
* *Needs, actions, orientations, barriers*: the number of sheets carrying each code. A sheet
  counts **once per domain** (a sheet noting housing and administrative needs counts once in
  each), so the domains do not add up to the sheets; the *share* of a domain is the share of the
  year's sheets carrying it (Wilson 95 % interval), its change between the two years a
  difference of proportions (Newcombe's hybrid score interval, two-proportion z test), with
  Holm's correction across the codes of one question. Sheets are treated as independent: the
  same relay or the same person may weigh on several sheets, so the intervals are somewhat too
  narrow — a « plus / moins » is only stated when the Holm-adjusted p-value is below 0.05 *and*
  both counts are published.
* *Services year on year*: the ratio of the two years' sheets over the months both years cover,
  with the exact interval of a Poisson ratio (conditional binomial), against the naive ratio of
  the raw yearly totals.
* *Allowances*: per volunteer and year, the sum of the day rows (two rows for one day are
  added: the ceiling is per day), compared with the legal **yearly** ceiling of the year
  (:mod:`observatoire.field.relays_settings`): status ``depasse`` above it, ``proche`` from
  ``warning_share`` of it, ``ok`` below; every **day** whose allowance exceeds the daily ceiling
  is listed. The observatory sees only this project's allowances: a volunteer paid elsewhere as
  well may reach the yearly ceiling sooner, which the statement says.

Volunteers' individual figures (days, hours, euros) are personal data even though volunteers
are not the vulnerable public: they stay in this stage's internal files and in the coordinator's
statements; the public report prints aggregates only (see :mod:`observatoire.disclosure.relais`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.core.schema import (
    RELAY_ALLOWANCE_COLUMNS,
    RELAY_ORIENTATIONS,
    RELAY_SERVICE_COLUMNS,
    split_codes,
)
from observatoire.core.stats import newcombe_diff, proportion_ci
from observatoire.core.storage import write_csv, write_results_json
from observatoire.field.relays_settings import RelaysSettings

__all__ = [
    "ACTIONS",
    "BARRIERS",
    "BANDS",
    "BY_POINT",
    "DIMENSIONS",
    "HOUR_BANDS",
    "NEEDS",
    "ORIENTATIONS",
    "POINTS",
    "RESULTS_FILE",
    "WEEKDAYS",
    "RelaysResults",
    "allowance_status",
    "compute_relays",
    "holm",
    "load_relay_tables",
    "newcombe_diff",
    "poisson_ratio_ci",
    "read_results",
    "read_table",
    "relay_codes",
    "write_relays",
]

RESULTS_FILE = "relais.json"

# French labels of the canonical code lists (observatoire.core.schema.RELAY_*: the same codes,
# checked by tests/unit/field/test_relays.py), worded for the report's tables.
POINTS = {"fixe": "Point fixe", "mobile": "Point mobile (vélo-cargo)"}
NEEDS = {
    "social": "Social",
    "sante": "Santé",
    "logement": "Logement",
    "administratif": "Administratif",
    "langue": "Langue",
    "autre": "Autre",
}
ACTIONS = {
    "information": "Information",
    "accompagnement": "Accompagnement",
    "orientation": "Orientation",
    "ecoute": "Écoute",
}
ORIENTATIONS = {
    code: label[:1].upper() + label[1:] for code, label in RELAY_ORIENTATIONS.items()
} | {"autre": "Autre service"}
BARRIERS = {
    "langue": "Langue",
    "numerique": "Numérique",
    "mobilite": "Mobilité",
    "documents": "Documents",
    "horaires": "Horaires",
    "mefiance": "Méfiance",
    "autre": "Autre",
}
WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
HOUR_BANDS = {
    "matin": ("Matin (avant 12 h)", 0, 12),
    "apres_midi": ("Après-midi (12 h – 17 h)", 12, 17),
    "soir": ("Soir (à partir de 17 h)", 17, 24),
    "inconnue": ("Heure non notée", None, None),
}
DIMENSIONS: dict[str, tuple[str, dict[str, str]]] = {
    "besoin": ("needs", NEEDS),
    "action": ("actions", ACTIONS),
    "orientation": ("oriented_to", ORIENTATIONS),
    "obstacle": ("barriers", BARRIERS),
}
"""Select-multiple questions: dimension → (column, code → French label)."""
BY_POINT = ("besoin", "obstacle")
"""Questions whose codes are also compared between the two points (fixed, mobile)."""
BANDS = {
    "moins_50": ("Moins de 50 % du plafond annuel", 0.0, 0.5),
    "50_proche": ("De 50 % au seuil d'alerte", 0.5, None),
    "proche": ("Du seuil d'alerte au plafond", None, 1.0),
    "depasse": ("Au-delà du plafond annuel", 1.0, math.inf),
}
"""Bands of a volunteer's yearly allowance as a share of the yearly ceiling (the seuil d'alerte
is ``warning_share``); a volunteer exactly at the ceiling is ``proche`` (not above it)."""


def relay_codes(ids: Iterable[str]) -> dict[str, str]:
    """A short printable code per relay pseudonym: « R-3F2A » (the first four hex digits of the
    keyed hash, in capitals), lengthened for all relays while two of them would collide. It is a
    prefix of the pseudonym: nothing but the key links it to the volunteer."""
    ids = sorted({str(i) for i in ids if str(i)})
    for width in range(4, 33):
        codes = {i: "R-" + i[:width].upper() for i in ids}
        if len(set(codes.values())) == len(codes):
            return codes
    return {i: "R-" + i.upper() for i in ids}


def holm(pvalues: Iterable[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error), same order as given; NaN kept."""
    p = np.asarray(list(pvalues), dtype="float64")
    out = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    m = int(ok.sum())
    if m == 0:
        return out.tolist()
    idx = np.where(ok)[0][np.argsort(p[ok], kind="stable")]
    running = 0.0
    for rank, i in enumerate(idx):
        running = max(running, min(1.0, (m - rank) * p[i]))
        out[i] = running
    return out.tolist()


def _two_proportion_p(x1: int, n1: int, x2: int, n2: int) -> float:
    if n1 <= 0 or n2 <= 0:
        return math.nan
    pooled = (x1 + x2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return 1.0
    z = (x2 / n2 - x1 / n1) / se
    from scipy import stats  # seconds to load: only where a test is computed

    return float(2 * stats.norm.sf(abs(z)))


def poisson_ratio_ci(x_new: int, x_old: int, alpha: float = 0.05) -> tuple[float, float, float]:
    """x_new / x_old with the exact interval of a ratio of two Poisson means over equal
    exposure (conditional on x_new + x_old, x_new is binomial with p = r / (1 + r))."""
    if x_old <= 0 or x_new < 0:
        return math.nan, math.nan, math.nan
    n = x_new + x_old
    from scipy import stats  # seconds to load: only where an interval is computed

    lo_p = stats.beta.ppf(alpha / 2, x_new, n - x_new + 1) if x_new > 0 else 0.0
    hi_p = stats.beta.ppf(1 - alpha / 2, x_new + 1, n - x_new) if x_new < n else 1.0
    lo = lo_p / (1 - lo_p)
    hi = hi_p / (1 - hi_p) if hi_p < 1 else math.inf
    return x_new / x_old, float(lo), float(hi)


def allowance_status(share: float, warning_share: float) -> str:
    """``depasse`` above the yearly ceiling, ``proche`` from ``warning_share`` of it, ``ok``."""
    if share > 1:
        return "depasse"
    if share >= warning_share:
        return "proche"
    return "ok"


def _band(share: float, warning_share: float) -> str:
    if share > 1:
        return "depasse"
    if share >= warning_share:
        return "proche"
    if share >= 0.5:
        return "50_proche"
    return "moins_50"


def _hour_band(hour: Any) -> str:
    if hour is None or pd.isna(hour):
        return "inconnue"
    h = int(hour)
    for code, (_, lo, hi) in HOUR_BANDS.items():
        if lo is not None and lo <= h < hi:
            return code
    return "inconnue"


@dataclass
class RelaysResults:
    """Everything the relays' report, monthly sheet and statements print."""

    year: int
    years: list[int]
    counts: pd.DataFrame
    shares: pd.DataFrame
    changes: pd.DataFrame
    points: pd.DataFrame
    totals_change: dict[str, Any]
    volunteers: pd.DataFrame
    days_above: pd.DataFrame
    volunteer_days: pd.DataFrame
    allowance_months: pd.DataFrame
    bands: pd.DataFrame
    codes: dict[str, str]
    ceilings: dict[int, dict[str, Any]]
    warning_share: float
    partner: str
    notes: list[str] = field(default_factory=list)


COUNT_COLUMNS = ["year", "dimension", "category", "services", "people_helped"]


def _count_rows(frame: pd.DataFrame, year: int, dimension: str, by: pd.Series) -> list[dict]:
    grouped = frame.groupby(by, observed=True).agg(
        services=("date", "size"), people_helped=("people_helped", "sum")
    )
    return [
        {
            "year": year,
            "dimension": dimension,
            "category": str(cat),
            "services": int(r.services),
            "people_helped": int(r.people_helped),
        }
        for cat, r in grouped.iterrows()
    ]


def _counts(services: pd.DataFrame, years: list[int], codes: dict[str, str]) -> pd.DataFrame:
    rows: list[dict] = []
    for y in years:
        f = services[services["year"] == y]
        total = pd.Series("total", index=f.index)
        rows += _count_rows(f, y, "total", total)
        rows += _count_rows(f, y, "mois", f["date"].dt.month.astype(int))
        rows += _count_rows(f, y, "point", f["point"])
        rows += _count_rows(f, y, "relais", f["relay_id"].map(codes))
        rows += _count_rows(f, y, "jour", f["date"].dt.dayofweek.map(lambda d: WEEKDAYS[d]))
        rows += _count_rows(f, y, "heure", f["hour"].map(_hour_band))
        for dim, (column, labels) in DIMENSIONS.items():
            flags = split_codes(f[column], labels)
            for code in labels:
                sel = flags[code] == 1
                rows.append(
                    {
                        "year": y,
                        "dimension": dim,
                        "category": code,
                        "services": int(sel.sum()),
                        "people_helped": int(f.loc[sel, "people_helped"].sum()),
                    }
                )
            for point in POINTS if dim in BY_POINT else ():  # needs, barriers by point
                at = f["point"] == point
                for code in labels:
                    sel = at & (flags[code] == 1)
                    rows.append(
                        {
                            "year": y,
                            "dimension": f"{dim}_point",
                            "category": f"{point}|{code}",
                            "services": int(sel.sum()),
                            "people_helped": int(f.loc[sel, "people_helped"].sum()),
                        }
                    )
            for month in range(1, 13):  # the monthly sheet: needs and orientations by month
                if dim not in ("besoin", "orientation"):
                    continue
                in_month = f["date"].dt.month == month
                for code in labels:
                    rows.append(
                        {
                            "year": y,
                            "dimension": f"{dim}_mois",
                            "category": f"{month:02d}|{code}",
                            "services": int((flags.loc[in_month, code] == 1).sum()),
                            "people_helped": int(
                                f.loc[in_month & (flags[code] == 1), "people_helped"].sum()
                            ),
                        }
                    )
    return pd.DataFrame(rows, columns=COUNT_COLUMNS)


def _total(counts: pd.DataFrame, year: int) -> int:
    return int(
        counts.loc[(counts["year"] == year) & (counts["dimension"] == "total"), "services"].sum()
    )


def _shares(counts: pd.DataFrame, years: list[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, changes = [], []
    for dim in (*DIMENSIONS, "point"):
        for y in years:
            n = _total(counts, y)
            for r in counts[(counts["year"] == y) & (counts["dimension"] == dim)].itertuples():
                lo, hi = proportion_ci(r.services, n)
                rows.append(
                    {
                        "dimension": dim,
                        "category": r.category,
                        "year": y,
                        "services": r.services,
                        "total": n,
                        "share": r.services / n if n else math.nan,
                        "lo": lo,
                        "hi": hi,
                    }
                )
        if len(years) < 2:
            continue
        prev, cur = years[-2], years[-1]
        n1, n2 = _total(counts, prev), _total(counts, cur)
        sub = counts[counts["dimension"] == dim]
        cats = list(dict.fromkeys(sub["category"]))
        block = []
        for cat in cats:
            x1 = int(sub.loc[(sub["year"] == prev) & (sub["category"] == cat), "services"].sum())
            x2 = int(sub.loc[(sub["year"] == cur) & (sub["category"] == cat), "services"].sum())
            d, lo, hi = newcombe_diff(x1, n1, x2, n2)
            block.append(
                {
                    "dimension": dim,
                    "category": cat,
                    "services_prev": x1,
                    "services_cur": x2,
                    "share_prev": x1 / n1 if n1 else math.nan,
                    "share_cur": x2 / n2 if n2 else math.nan,
                    "diff": d,
                    "lo": lo,
                    "hi": hi,
                    "p": _two_proportion_p(x1, n1, x2, n2),
                }
            )
        for row, adj in zip(block, holm(r["p"] for r in block), strict=True):
            row["p_holm"] = adj
            row["significant"] = bool(adj < 0.05) if not math.isnan(adj) else False
        changes += block
    return pd.DataFrame(rows), pd.DataFrame(changes)


def _by_point(counts: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """Per year and question of :data:`BY_POINT`: each code's share of the sheets of each point
    (Wilson 95 %), and mobile − fixed (Newcombe's interval, two-proportion z test, Holm across
    the codes of the question and year)."""
    rows: list[dict] = []
    for y in years:
        c = counts[counts["year"] == y]
        n = {
            pt: int(c.loc[(c["dimension"] == "point") & (c["category"] == pt), "services"].sum())
            for pt in POINTS
        }
        for dim in BY_POINT:
            sub = c[c["dimension"] == f"{dim}_point"].set_index("category")["services"]
            block = []
            for code in DIMENSIONS[dim][1]:
                x = {pt: int(sub.get(f"{pt}|{code}", 0)) for pt in POINTS}
                row: dict[str, Any] = {"year": y, "dimension": dim, "category": code}
                for pt in POINTS:
                    lo, hi = proportion_ci(x[pt], n[pt])
                    row |= {
                        f"services_{pt}": x[pt],
                        f"total_{pt}": n[pt],
                        f"share_{pt}": x[pt] / n[pt] if n[pt] else math.nan,
                        f"lo_{pt}": lo,
                        f"hi_{pt}": hi,
                    }
                d, lo, hi = newcombe_diff(x["fixe"], n["fixe"], x["mobile"], n["mobile"])
                row |= {
                    "diff": d,
                    "lo": lo,
                    "hi": hi,
                    "p": _two_proportion_p(x["fixe"], n["fixe"], x["mobile"], n["mobile"]),
                }
                block.append(row)
            for row, adj in zip(block, holm(r["p"] for r in block), strict=True):
                row["p_holm"] = adj
                row["significant"] = bool(adj < 0.05) if not math.isnan(adj) else False
            rows += block
    return pd.DataFrame(rows)


def _totals_change(services: pd.DataFrame, years: list[int]) -> dict[str, Any]:
    """Sheets year on year over the months both years cover (same exposure), and the naive
    ratio of the raw totals for comparison."""
    if len(years) < 2:
        return {"computed": False, "reason": "une seule année de fiches"}
    prev, cur = years[-2], years[-1]
    months = {
        y: set(services.loc[services["year"] == y, "date"].dt.month.unique()) for y in (prev, cur)
    }
    common = sorted(months[prev] & months[cur])
    if not common:
        return {"computed": False, "reason": "aucun mois couvert les deux années"}
    in_common = services["date"].dt.month.isin(common)
    x_old = int(((services["year"] == prev) & in_common).sum())
    x_new = int(((services["year"] == cur) & in_common).sum())
    ratio, lo, hi = poisson_ratio_ci(x_new, x_old)
    raw_old = int((services["year"] == prev).sum())
    raw_new = int((services["year"] == cur).sum())
    return {
        "computed": True,
        "previous": prev,
        "current": cur,
        "months": [int(m) for m in common],
        "services_prev": x_old,
        "services_cur": x_new,
        "ratio": ratio,
        "lo": lo,
        "hi": hi,
        "naive_ratio": raw_new / raw_old if raw_old else None,
    }


def _allowances(
    allowances: pd.DataFrame, settings: RelaysSettings, years: list[int], codes: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    a = allowances.copy()
    a["date"] = pd.to_datetime(a["date"]).dt.normalize()
    a["year"] = a["date"].dt.year.astype(int)
    a = a[a["year"].isin(years)]
    days = (
        a.groupby(["relay_id", "date"], as_index=False)
        .agg(hours=("hours", "sum"), allowance_eur=("allowance_eur", "sum"), rows=("date", "size"))
        .sort_values(["relay_id", "date"], kind="stable")
    )
    days["year"] = days["date"].dt.year.astype(int)
    days["code"] = days["relay_id"].map(codes)
    days["daily_ceiling"] = days["year"].map(lambda y: settings.ceiling(y).daily)
    days["yearly_ceiling"] = days["year"].map(lambda y: settings.ceiling(y).yearly)
    days["cumulative_eur"] = days.groupby(["relay_id", "year"])["allowance_eur"].cumsum()
    days["cumulative_share"] = days["cumulative_eur"] / days["yearly_ceiling"]
    days["above_daily"] = days["allowance_eur"] > days["daily_ceiling"] + 1e-9
    above = days[days["above_daily"]][
        ["relay_id", "code", "date", "hours", "allowance_eur", "daily_ceiling"]
    ].reset_index(drop=True)
    vol_rows = []
    for (rid, y), g in days.groupby(["relay_id", "year"], sort=True):
        ceiling = settings.ceiling(int(y))
        total = float(g["allowance_eur"].sum())
        share = total / ceiling.yearly
        warn = g[g["cumulative_share"] >= settings.warning_share]
        over = g[g["cumulative_share"] > 1]
        vol_rows.append(
            {
                "relay_id": rid,
                "code": codes.get(rid, "R-?"),
                "year": int(y),
                "days": int(len(g)),
                "hours": float(g["hours"].sum()),
                "allowance_eur": round(total, 2),
                "yearly_ceiling": ceiling.yearly,
                "share": share,
                "status": allowance_status(share, settings.warning_share),
                "band": _band(share, settings.warning_share),
                "days_above_daily": int(g["above_daily"].sum()),
                "warning_date": warn["date"].min() if len(warn) else pd.NaT,
                "exceeded_date": over["date"].min() if len(over) else pd.NaT,
            }
        )
    volunteers = pd.DataFrame(vol_rows)
    days["month"] = days["date"].dt.month.astype(int)
    months = (
        days.groupby(["year", "month"], as_index=False)
        .agg(
            volunteer_days=("date", "size"),
            hours=("hours", "sum"),
            allowance_eur=("allowance_eur", "sum"),
        )
        .sort_values(["year", "month"])
    )
    band_rows = []
    for y in years:
        v = volunteers[volunteers["year"] == y] if len(volunteers) else volunteers
        for b in BANDS:
            band_rows.append(
                {"year": y, "band": b, "volunteers": int((v["band"] == b).sum()) if len(v) else 0}
            )
    return volunteers, above, days, months, pd.DataFrame(band_rows)


def _prepare_services(services: pd.DataFrame) -> pd.DataFrame:
    s = services.copy()
    s["date"] = pd.to_datetime(s["date"])
    s = s[s["date"].notna()]
    s["year"] = s["date"].dt.year.astype(int)
    s["people_helped"] = pd.to_numeric(s["people_helped"], errors="coerce").fillna(0).astype(int)
    for column, _ in DIMENSIONS.values():
        s[column] = s[column].fillna("").astype(str)
    s["point"] = s["point"].fillna("").astype(str)
    return s


def compute_relays(
    year: int,
    services: pd.DataFrame,
    allowances: pd.DataFrame,
    settings: RelaysSettings,
) -> RelaysResults:
    """The relays' figures for report year ``year`` and the year before (when in the data)."""
    notes: list[str] = []
    s = _prepare_services(services)
    years = [y for y in (year - 1, year) if (s["year"] == y).any()]
    a_years = set(pd.to_datetime(allowances["date"]).dt.year.dropna().astype(int))
    years = sorted(set(years) | ({year - 1, year} & a_years))
    if year not in years:
        notes.append(
            f"Aucune fiche de prestation ni aucun défraiement pour {year} : rien n'est calculé "
            "pour l'année du rapport."
        )
    if year - 1 not in years:
        notes.append(f"Aucune donnée pour {year - 1} : pas de comparaison « plus / moins ».")
    s = s[s["year"].isin(years)]
    missing_points = int((~s["point"].isin(POINTS)).sum())
    if missing_points:
        notes.append(f"{missing_points} fiche(s) sans point (fixe ou mobile) valide.")
    ids = set(s["relay_id"].astype(str)) | set(allowances["relay_id"].astype(str))
    codes = relay_codes(ids)
    counts = _counts(s, years, codes)
    shares, changes = _shares(counts, years)
    volunteers, above, days, months, bands = _allowances(allowances, settings, years, codes)
    dupes = int((days["rows"] > 1).sum()) if len(days) else 0
    if dupes:
        notes.append(
            f"{dupes} journée(s) de volontaire notée(s) sur plusieurs lignes du tableau des "
            "défraiements : leurs montants sont additionnés (le plafond est journalier)."
        )
    return RelaysResults(
        year=year,
        years=years,
        counts=counts,
        shares=shares,
        changes=changes,
        points=_by_point(counts, years),
        totals_change=_totals_change(s, years),
        volunteers=volunteers,
        days_above=above,
        volunteer_days=days,
        allowance_months=months,
        bands=bands,
        codes=codes,
        ceilings={y: settings.ceiling(y).model_dump() for y in years if y in settings.ceilings},
        warning_share=settings.warning_share,
        partner=settings.partner,
        notes=notes,
    )


def load_relay_tables(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """``relay_services`` and ``relay_allowances`` from ``data_clean/field/`` (empty frames with
    the canonical columns when a table is absent, and a French note saying so)."""
    notes, frames = [], []
    for name, columns in (
        ("relay_services", RELAY_SERVICE_COLUMNS),
        ("relay_allowances", RELAY_ALLOWANCE_COLUMNS),
    ):
        path = Path(folder) / f"{name}.parquet"
        if path.exists():
            frames.append(pd.read_parquet(path))
        else:
            notes.append(f"Table {path} absente : lancez « observatoire ingest ».")
            frames.append(pd.DataFrame({c: pd.Series(dtype=object) for c in columns}))
    services, allowances = frames
    services["date"] = pd.to_datetime(services["date"])
    allowances["date"] = pd.to_datetime(allowances["date"])
    for column in ("hours", "allowance_eur"):
        allowances[column] = pd.to_numeric(allowances[column]).astype("float64")
    return services, allowances, notes


INTERNAL = "interne"
"""Subfolder of the stage's output holding the volunteers' individual figures (never read by
the publication nor the public report)."""


def _allowance_totals(res: RelaysResults, year: int) -> dict[str, Any]:
    """The year's allowances summed over volunteers (sums, and ``volunteers`` /
    ``volunteers_above_daily``: counts of persons, printed only through the publication)."""
    m = res.allowance_months[res.allowance_months["year"] == year]
    above = pd.to_datetime(res.days_above["date"]).dt.year == year if len(res.days_above) else []
    over_daily = res.days_above.loc[list(above), "relay_id"].nunique() if len(res.days_above) else 0
    return {
        "volunteers_above_daily": int(over_daily),
        "volunteers": int((res.volunteers["year"] == year).sum()) if len(res.volunteers) else 0,
        "allowance_eur": round(float(m["allowance_eur"].sum()), 2),
        "hours": float(m["hours"].sum()),
        "volunteer_days": int(m["volunteer_days"].sum()),
        "days_above_daily": int(sum(above)),
    }


def write_relays(res: RelaysResults, out: Path) -> list[Path]:
    """``relais.json`` and the CSV tables into ``out``; the volunteers' individual figures into
    ``out/interne/`` (read only by the statements)."""
    out = Path(out)
    (out / INTERNAL).mkdir(parents=True, exist_ok=True)
    cur = res.volunteers[res.volunteers["year"] == res.year] if len(res.volunteers) else None
    payload = {
        "year": res.year,
        "years": res.years,
        "ceilings": res.ceilings,
        "warning_share": res.warning_share,
        "partner": res.partner,
        "totals_change": res.totals_change,
        "allowances": {str(y): _allowance_totals(res, y) for y in res.years},
        "flagged": {
            "proche": int((cur["status"] == "proche").sum()) if cur is not None else 0,
            "depasse": int((cur["status"] == "depasse").sum()) if cur is not None else 0,
        },
        "notes": res.notes,
    }
    written = [out / RESULTS_FILE]
    write_results_json(written[0], payload)
    for name, frame in (
        ("comptes", res.counts),
        ("parts", res.shares),
        ("evolutions", res.changes),
        ("points", res.points),
        ("defraiements_mois", res.allowance_months),
        ("volontaires_tranches", res.bands),
    ):
        written.append(out / f"{name}.csv")
        write_csv(frame, written[-1])
    for name, frame in (
        ("volontaires", res.volunteers),
        ("journees", res.volunteer_days),
        ("jours_au_dela_du_plafond", res.days_above),
    ):
        written.append(out / INTERNAL / f"{name}.csv")
        write_csv(frame, written[-1])
    return written


def read_table(path: Path) -> pd.DataFrame:
    """A results table, empty when the stage had nothing to count (a network without relays
    writes an empty file: no header to parse)."""
    if not path.exists():
        return pd.DataFrame()
    try:
        return pd.read_csv(path, keep_default_na=False, na_values=[""], dtype={"category": str})
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def read_results(out: Path) -> dict[str, Any] | None:
    """``relais.json`` and its CSV tables (``frames``), or None when the stage has not run."""
    out = Path(out)
    path = out / RESULTS_FILE
    if not path.exists():
        return None
    res = json.loads(path.read_text(encoding="utf-8"))
    frames = {}
    for name in (
        "comptes",
        "parts",
        "evolutions",
        "points",
        "defraiements_mois",
        "volontaires_tranches",
    ):
        frames[name] = read_table(out / f"{name}.csv")
    res["frames"] = frames
    return res
