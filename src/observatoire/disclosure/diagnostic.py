"""The neighbourhood diagnosis' counts of persons as an audited publication.

Why: the diagnosis prints, per zone, the persons met by the street-work team — in a year, by
weekday and band of hours, by age band and sex, the young people (15–25), the participants of
collective sessions — and the observations where someone was oriented to each partner. These
are *sightings* (no identity is recorded: the same person met ten times counts ten times), but a
small cell still points at a few people (« 2 jeunes le dimanche soir à la Gare »). So each count
is a :class:`CountTable` cell with a quantity key ``diagnostic|<Y>|<zone>|<year>|<measure>``
(``zone``: the zone's name or ``ensemble``), the identities a reader sees (zones add up to the
network; weekdays and bands of hours add up to the zone; age bands and sexes add up to the
persons met in groups; 15–17 + 18–25 = the young) are declared, and the ``publication`` stage
protects and audits them with everything else the year publishes. The report prints the
ledger's text (« < k », « s » or the number), never a raw count, and a rate or model estimate
only when the counts it comes from are published.

Not persons, written beside as CSV (:func:`write_diagnosis_tables`): observations and hours of
presence, shares of observations with each problem, resource or climate and their tests,
collective sessions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    Budget,
    Constraint,
    CountTable,
    Publication,
    protect,
)
from observatoire.field.street import (
    AGE_BANDS,
    ENSEMBLE,
    ORIENTATION_EXTRA,
    SEXES,
    YOUNG_BANDS,
    read_diagnosis,
    zone_slug,
)

__all__ = [
    "DIAGNOSTIC_FOLDER",
    "ENSEMBLE_LABEL",
    "OUTSIDE_LABEL",
    "PREFIX",
    "SIZE_LABELS",
    "build_diagnosis_tables",
    "diagnosis_key",
    "publish_diagnosis",
    "write_diagnosis_tables",
]

PREFIX = "diagnostic"
DIAGNOSTIC_FOLDER = "diagnostic-communautaire"
"""Subfolder of ``outputs/tables/<year>/`` holding the diagnosis' tables."""
ENSEMBLE_LABEL = "Ensemble des zones"
OUTSIDE_LABEL = "Hors des zones du diagnostic"
SIZE_LABELS = {"1": "Seul·e", "2": "2 personnes", "3": "3 personnes", "4_plus": "4 et plus"}
"""Labels of the stage's size classes (``field.street.SIZE_CLASSES``)."""


def diagnosis_key(year: int, zone: str, data_year: int, measure: str) -> str:
    """``diagnostic|2024|Gare|2024|jeunes``: young persons met in zone Gare in 2024, as the
    report 2024 publishes them (``zone``: ``ensemble`` for the network)."""
    return f"{PREFIX}|{year}|{zone}|{data_year}|{measure}"


def _table(name, title, values, keys, **kw) -> CountTable:  # noqa: ANN001
    return CountTable(
        name=name,
        title=title,
        values=values.astype("float64"),
        keys=keys.astype(object),
        **kw,
    )


def _rows_with_outside(
    frame: pd.DataFrame, zones: list[str], value_cols: list[str]
) -> tuple[list[str], dict[str, dict[str, float]]]:
    """Per row label (zones, then « hors zones » when some observation lies outside them, then
    the network) the values of ``value_cols``; ``frame`` is indexed by zone."""
    rows = {z: {c: float(frame.loc[z, c]) if z in frame.index else 0.0 for c in value_cols}
            for z in zones}  # fmt: skip
    total = {c: float(frame.loc[ENSEMBLE, c]) if ENSEMBLE in frame.index else 0.0
             for c in value_cols}  # fmt: skip
    outside = {c: total[c] - sum(r[c] for r in rows.values()) for c in value_cols}
    order = list(zones)
    if any(abs(v) > 1e-9 for v in outside.values()):
        rows["hors_zones"] = outside
        order.append("hors_zones")
    rows[ENSEMBLE] = total
    order.append(ENSEMBLE)
    return order, rows


def _label(zone: str) -> str:
    return {ENSEMBLE: ENSEMBLE_LABEL, "hors_zones": OUTSIDE_LABEL}.get(zone, zone)


def _persons_by_zone(y, meta, frames) -> CountTable:  # noqa: ANN001
    pres = frames["presence"]
    cols, keys_of = [], {}
    for data_year in (y - 1, y):
        for measure, col, title in (
            ("personnes", "persons_met", "Personnes rencontrées"),
            ("jeunes", "young_met", "dont jeunes de 15 à 25 ans"),
        ):
            p = pres[pres["year"] == data_year].set_index("zone")
            name = f"{title} {data_year}"
            cols.append((name, p.rename(columns={col: name})[[name]]))
            keys_of[name] = (data_year, measure)
    wide = pd.concat([c for _, c in cols], axis=1)
    names = [n for n, _ in cols]
    order, rows = _rows_with_outside(wide, list(meta["zones"]), names)
    index = pd.Index([_label(z) for z in order], name="Zone")
    values = pd.DataFrame([[rows[z][n] for n in names] for z in order], index=index, columns=names)
    keys = pd.DataFrame(
        [[diagnosis_key(y, z, keys_of[n][0], keys_of[n][1]) for n in names] for z in order],
        index=index,
        columns=names,
    )
    return _table(
        "personnes_par_zone",
        "Personnes rencontrées en rue par zone (rencontres, non des personnes distinctes)",
        values,
        keys,
        row_total=ENSEMBLE_LABEL,
    )


def _grid_tables(y, meta, frames) -> list[CountTable]:  # noqa: ANN001
    grid, pres = frames["grid"], frames["presence"]
    tables = []
    for zone in meta["zones"]:
        g = grid[grid["zone"] == zone]
        if g.empty:
            continue
        days = list(dict.fromkeys(g.sort_values("weekday")["jour"]))
        bands = list(dict.fromkeys(g.sort_values("band")["tranche"]))
        wide = g.pivot_table(index="jour", columns="tranche", values="persons_met", aggfunc="sum")
        wide = wide.reindex(index=days, columns=bands).fillna(0.0)
        wide["Total"] = wide.sum(axis=1)
        wide.loc["Total"] = wide.sum(axis=0)
        total = float(wide.loc["Total", "Total"])
        zone_total = pres[(pres["zone"] == zone) & (pres["year"] == y)]["persons_met"].sum()
        grand = (
            diagnosis_key(y, zone, y, "personnes")
            if abs(total - float(zone_total)) < 1e-9
            else diagnosis_key(y, zone, y, "personnes_avec_heure")
        )
        keys = pd.DataFrame(index=wide.index, columns=wide.columns, dtype=object)
        for day in days:
            for band in bands:
                keys.loc[day, band] = diagnosis_key(y, zone, y, f"jour={day}|tranche={band}")
            keys.loc[day, "Total"] = diagnosis_key(y, zone, y, f"jour={day}")
        for band in bands:
            keys.loc["Total", band] = diagnosis_key(y, zone, y, f"tranche={band}")
        keys.loc["Total", "Total"] = grand
        wide.index.name = "Jour"
        keys.index.name = "Jour"
        tables.append(
            _table(
                f"personnes_jour_heure_{zone_slug(zone)}",
                f"Personnes rencontrées par jour et tranche horaire — {zone} {y}",
                wide,
                keys,
                row_total="Total",
                col_total="Total",
            )
        )
    return tables


def _breakdown(y, meta, frames, name, title, frame_key, col, labels, measure, tag):  # noqa: ANN001
    """Zones × categories (report year) with a « Total » column: the persons met in groups,
    which is the zone's persons met when every observation's groups add up to it."""
    f = frames[frame_key]
    f = f[f["year"] == y]
    wide = f.pivot_table(index="zone", columns=col, values=measure, aggfunc="sum")
    wide = wide.reindex(columns=list(labels)).fillna(0.0)
    cats = [labels[c] for c in labels]
    wide.columns = cats
    wide["Total"] = wide[cats].sum(axis=1)
    order, rows = _rows_with_outside(wide, list(meta["zones"]), [*cats, "Total"])
    pres = frames["presence"]
    pres = pres[pres["year"] == y].set_index("zone")["persons_met"]
    same = all(
        abs(rows[z]["Total"] - float(pres.get(z, 0.0))) < 1e-9 for z in order if z != "hors_zones"
    )
    index = pd.Index([_label(z) for z in order], name="Zone")
    values = pd.DataFrame([[rows[z][c] for c in [*cats, "Total"]] for z in order], index=index,
                          columns=[*cats, "Total"])  # fmt: skip
    codes = list(labels)
    keys = pd.DataFrame(
        [
            [diagnosis_key(y, z, y, f"{tag}={c}") for c in codes]
            + [
                diagnosis_key(y, z, y, "personnes" if same and tag != "groupes" else
                              ("groupes" if tag == "groupes" else "personnes_en_groupes"))
            ]
            for z in order
        ],
        index=index,
        columns=values.columns,
    )  # fmt: skip
    return _table(name, title, values, keys, row_total=ENSEMBLE_LABEL, col_total="Total")


def _collective(y, meta, frames) -> CountTable:  # noqa: ANN001
    c = frames["collective"].set_index(["zone", "year"])
    names, per = [], {}
    for data_year in (y - 1, y):
        names += [f"Séances {data_year}", f"Participants {data_year}"]
        per[f"Séances {data_year}"] = (data_year, "sessions")
        per[f"Participants {data_year}"] = (data_year, "participants")
    wide = pd.DataFrame(
        {
            n: {z: float(c.loc[(z, d), m]) if (z, d) in c.index else 0.0
                for z in [*meta["zones"], ENSEMBLE]}
            for n, (d, m) in per.items()
        }
    )  # fmt: skip
    order, rows = _rows_with_outside(wide, list(meta["zones"]), names)
    index = pd.Index([_label(z) for z in order], name="Zone")
    values = pd.DataFrame([[rows[z][n] for n in names] for z in order], index=index, columns=names)
    keys = pd.DataFrame(
        [
            [None if per[n][1] == "sessions" else diagnosis_key(y, z, per[n][0], "participants")
             for n in names]
            for z in order
        ],
        index=index,
        columns=names,
    )  # fmt: skip
    return _table(
        "projets_collectifs",
        "Projets collectifs avec les jeunes : séances et participants",
        values,
        keys,
        row_total=ENSEMBLE_LABEL,
    )


def _orientations(y, meta, frames) -> CountTable | None:  # noqa: ANN001
    o = frames["orientations"]
    o = o[o["year"] == y]
    if o.empty:
        return None
    codes = list(dict.fromkeys(o["code"]))
    wide = o.pivot_table(index="code", columns="zone", values="observations", aggfunc="sum")
    wide = wide.reindex(index=codes).fillna(0.0)
    zones = list(meta["zones"])
    order, rows = _rows_with_outside(wide.T, zones, codes)
    labels = [_label(z) for z in order]
    values = pd.DataFrame({_label(z): [rows[z][c] for c in codes] for z in order}, index=codes)
    values.index = pd.Index([ORIENTATION_EXTRA.get(c, c) for c in codes], name="Orientation")
    keys = pd.DataFrame(
        {_label(z): [diagnosis_key(y, z, y, f"orientation={c}") for c in codes] for z in order},
        index=values.index,
    )
    return _table(
        "orientations",
        f"Observations avec une orientation vers chaque partenaire — {y}",
        values[labels],
        keys[labels],
        col_total=ENSEMBLE_LABEL,
    )


def build_diagnosis_tables(
    meta: dict[str, Any], frames: dict[str, pd.DataFrame], year: int
) -> tuple[list[CountTable], list[Constraint]]:
    """Every table of the diagnosis' persons (and the orientations), and the identity
    young = 15–17 + 18–25 when the groups' age bands add up to ``young_met``."""
    tables: list[CountTable | None] = [
        _persons_by_zone(year, meta, frames),
        *_grid_tables(year, meta, frames),
        _breakdown(year, meta, frames, "publics_age", f"Personnes rencontrées par âge — {year}",
                   "age", "age_band", AGE_BANDS, "persons", "age"),
        _breakdown(year, meta, frames, "publics_sexe", f"Personnes rencontrées par sexe — {year}",
                   "sexe", "sex", SEXES, "persons", "sexe"),
        _breakdown(year, meta, frames, "groupes_taille", f"Groupes rencontrés par taille — {year}",
                   "taille", "size_class", SIZE_LABELS, "groups", "groupes"),
        _collective(year, meta, frames),
        _orientations(year, meta, frames),
    ]  # fmt: skip
    constraints = []
    age = frames["age"][frames["age"]["year"] == year]
    pres = frames["presence"][frames["presence"]["year"] == year].set_index("zone")
    for zone in [*meta["zones"], ENSEMBLE]:
        young = age[(age["zone"] == zone) & age["age_band"].isin(YOUNG_BANDS)]["persons"].sum()
        if zone in pres.index and abs(float(young) - float(pres.loc[zone, "young_met"])) < 1e-9:
            constraints.append(
                Constraint(
                    diagnosis_key(year, zone, year, "jeunes"),
                    tuple(diagnosis_key(year, zone, year, f"age={b}") for b in YOUNG_BANDS),
                )
            )
    return [t for t in tables if t is not None], constraints


def publish_diagnosis(
    folder: Path, year: int, k: int, budget: Budget = DEFAULT_BUDGET
) -> Publication | None:
    """Protect the diagnosis' counts (primary and audited secondary suppression), or None when
    the ``street_diagnosis`` stage computed nothing for the year."""
    read = read_diagnosis(folder)
    if read is None:
        return None
    meta, frames = read
    tables, constraints = build_diagnosis_tables(meta, frames, year)
    return protect(tables, k, constraints, budget=budget)


NON_PERSON = {
    "presence": "observations_par_zone.csv",
    "changes": "codes_evolution.csv",
    "shares": "codes_parts.csv",
}


def write_diagnosis_tables(pub: Publication | None, folder: Path, out: Path) -> list[Path]:
    """The persons as published (« < k » for a small count) and, beside them, the non-person
    tables: observations and hours per zone, shares of observations with each code and their
    year-on-year tests."""
    out = Path(out)
    written: list[Path] = []
    for table in pub.tables if pub is not None else []:
        frame = pub.text(table).reset_index(names=table.values.index.name or "")
        written.append(out / f"{table.name}.csv")
        write_safe_csv(frame, written[-1], quote_all=False)
    read = read_diagnosis(folder)
    if read is None:
        return written
    _, frames = read
    pres = frames["presence"][["zone", "year", "observations", "hours"]]
    changes = frames["changes"].drop(columns=["with_prev", "with_cur"], errors="ignore")
    for key, frame in (("presence", pres), ("changes", changes), ("shares", frames["shares"])):
        written.append(out / NON_PERSON[key])
        write_safe_csv(frame, written[-1], quote_all=False)
    return written
