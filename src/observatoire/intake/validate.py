"""Validation of the canonical tables with great-expectations suites.

Each expectation carries, in its ``meta``, the quarantine reason code of the rows it rejects, so
that a failing row is set aside with a reason from the closed list rather than silently dropped.
The context is ephemeral (a file context fails on rerun with "already exists"); Data Docs are
written under ``outputs/validation/``. Identity values never reach this step (ingest removed them),
and the docs show source file and row numbers, not record keys.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS, MAX_STAY_NIGHTS, NIGHT_STAYS
from observatoire.core.formatting import french_number, french_percent
from observatoire.core.imports import skip_unused_grammars
from observatoire.core.schema import (
    AGGREGATE_MEASURES,
    AGGREGATE_PERIODS,
    EXIT_REASONS,
    FIELD_TABLES,
    GROUP_ROLES,
    NATIONALITY_GROUPS,
    QUARANTINE_REASONS,
    SEX_CODES,
    WEATHER_ALERTS,
)

# great-expectations is imported where a suite is built or run; jsonschema, which it imports,
# then does without a grammar no suite uses (core.imports).
skip_unused_grammars()

__all__ = [
    "TableValidation",
    "Validator",
    "aggregate_expectations",
    "aggregate_problems",
    "prepare_aggregates",
    "validate_aggregates",
    "contact_expectations",
    "field_expectations",
    "field_problems",
    "refusal_expectations",
    "validate_tables",
    "weather_expectations",
    "weather_problems",
]

os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")


@dataclass
class TableValidation:
    """The outcome of one suite on one table."""

    table: str
    rows: int
    set_aside: pd.DataFrame  # the rows set aside, with `reason` and `expectation`
    expectations: list[dict]  # one entry per expectation: type, column(s), success, unexpected

    @property
    def share_set_aside(self) -> float:
        return 0.0 if self.rows == 0 else len(self.set_aside) / self.rows


def contact_expectations(max_date: pd.Timestamp) -> list:
    """The suite for ``contacts``: what every clean contact row must satisfy."""
    import great_expectations as gx

    E = gx.expectations
    max_date_s = max_date.strftime("%Y-%m-%d")
    return [
        *(
            E.ExpectColumnValuesToNotBeNull(column=c, meta={"reason": "identite_manquante"})
            for c in ("record_key",)
        ),
        *(
            E.ExpectColumnValuesToNotBeNull(column=c, meta={"reason": "date_manquante"})
            for c in ("date_start",)
        ),
        E.ExpectColumnValuesToBeInSet(
            column="dispositif", value_set=list(DISPOSITIFS), meta={"reason": "code_inconnu"}
        ),
        E.ExpectColumnValuesToBeInSet(
            column="sex", value_set=list(SEX_CODES), meta={"reason": "code_inconnu"}
        ),
        E.ExpectColumnValuesToBeInSet(
            column="nationality_group",
            value_set=list(NATIONALITY_GROUPS),
            meta={"reason": "code_inconnu"},
        ),
        E.ExpectColumnValuesToBeInSet(
            column="exit_reason", value_set=list(EXIT_REASONS), meta={"reason": "code_inconnu"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="age_at_contact",
            min_value=0,
            max_value=105,
            meta={"reason": "valeur_hors_plage"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="nights", min_value=0, meta={"reason": "valeur_hors_plage"}
        ),
        *(
            E.ExpectColumnValuesToBeBetween(
                column="nights",
                max_value=limit,
                row_condition=f'dispositif=="{dispositif}"',
                condition_parser="pandas",
                meta={"reason": "valeur_hors_plage", "note": f"au plus {limit} nuitées"},
            )
            for dispositif, limit in MAX_STAY_NIGHTS.items()
        ),
        E.ExpectColumnValuesToBeBetween(
            column="duration_hours", min_value=0, max_value=24, meta={"reason": "valeur_hors_plage"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="days_after_period_end",
            max_value=0,
            meta={"reason": "date_hors_periode", "note": f"pas de date après le {max_date_s}"},
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="date_end",
            column_B="date_start",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={"reason": "dates_incoherentes"},
        ),
        E.ExpectColumnPairValuesToBeEqual(
            column_A="nights",
            column_B="nights_from_dates",
            ignore_row_if="either_value_is_missing",
            meta={"reason": "nuitees_incoherentes"},
        ),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["source_file", "source_row"], meta={"reason": "ligne_dupliquee"}
        ),
    ]


def refusal_expectations(max_date: pd.Timestamp) -> list:
    """The suite for ``refusals``: one row per night with a positive number of refusals."""
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="date", meta={"reason": "date_manquante"}),
        E.ExpectColumnValuesToBeBetween(
            column="refusals", min_value=1, max_value=500, meta={"reason": "valeur_hors_plage"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="days_after_period_end", max_value=0, meta={"reason": "date_hors_periode"}
        ),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["source_file", "source_row"], meta={"reason": "ligne_dupliquee"}
        ),
    ]


def aggregate_expectations(max_date: pd.Timestamp) -> list:
    """The suite for ``aggregates``: counts ≥ 0 (capacity first), known measures, periods and
    group roles, beds occupied within the beds available (tolerance included), a total equal to
    the sum of its declared parts, one value per period × programme × group × measure."""
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="date", meta={"reason": "date_manquante"}),
        E.ExpectColumnValuesToBeInSet(
            column="measure", value_set=list(AGGREGATE_MEASURES), meta={"reason": "code_inconnu"}
        ),
        E.ExpectColumnValuesToBeInSet(
            column="period", value_set=list(AGGREGATE_PERIODS), meta={"reason": "code_inconnu"}
        ),
        E.ExpectColumnValuesToBeInSet(
            column="group_role", value_set=list(GROUP_ROLES), meta={"reason": "code_inconnu"}
        ),
        E.ExpectColumnValuesToBeBetween(
            column="capacity_value",
            min_value=0,
            meta={"reason": "valeur_hors_plage", "note": "capacité ≥ 0"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="value", min_value=0, meta={"reason": "valeur_hors_plage", "note": "≥ 0"}
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="beds_allowed",
            column_B="occupied",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={"reason": "occupation_excessive"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="partition_gap",
            min_value=0,
            max_value=0,
            meta={"reason": "groupes_incoherents", "note": "total = somme des parties"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="days_after_period_end", max_value=0, meta={"reason": "date_hors_periode"}
        ),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["partner_id", "programme", "period", "date", "group", "measure"],
            meta={"reason": "ligne_dupliquee", "note": "une valeur par période et mesure"},
        ),
    ]


def weather_expectations(low: float, high: float) -> list:
    """The suite for ``weather`` (``data_clean/weather.parquet``, written by ingest): one row per
    day and station, temperatures within ``low``–``high`` °C, the minimum not above the maximum,
    alerts from the closed list. Ingest already sets such rows aside: a failure here means a
    table not written by ingest (hand-edited, an older run), and stops the stage."""
    import great_expectations as gx

    E = gx.expectations
    return [
        E.ExpectColumnValuesToNotBeNull(column="date", meta={"reason": "date_manquante"}),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["date", "station"],
            meta={"reason": "ligne_dupliquee", "note": "un jour par station"},
        ),
        *(
            E.ExpectColumnValuesToBeBetween(
                column=c, min_value=low, max_value=high, meta={"reason": "valeur_hors_plage"}
            )
            for c in ("tmin", "tmax")
        ),
        E.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="tmax",
            column_B="tmin",
            or_equal=True,
            ignore_row_if="either_value_is_missing",
            meta={"reason": "valeur_hors_plage", "note": "minimum ≤ maximum"},
        ),
        E.ExpectColumnValuesToBeInSet(
            column="alert", value_set=["", *WEATHER_ALERTS], meta={"reason": "code_inconnu"}
        ),
    ]


def _prepare_weather(weather: pd.DataFrame) -> pd.DataFrame:
    """The weather table with the row locators the validator reports (no source file: the
    table is built by ingest from every weather file; ``source_row`` is its row, from 1)."""
    df = weather.copy().reset_index(drop=True)
    df["source_file"] = "data_clean/weather.parquet"
    df["source_row"] = range(1, len(df) + 1)
    for c in ("tmin", "tmax"):
        df[c] = df[c].astype("float64")
    return df


def weather_problems(result: TableValidation) -> list[str]:
    """One French line per weather row that fails: row, day, station and the rule."""
    words = {
        "date_manquante": "jour absent",
        "ligne_dupliquee": "jour relevé deux fois pour la station",
        "valeur_hors_plage": "température hors plage ou minimum au-dessus du maximum",
        "code_inconnu": "alerte inconnue",
    }
    lines = []
    for r in result.set_aside.itertuples():
        day = "—" if pd.isna(r.date) else f"{pd.Timestamp(r.date):%d/%m/%Y}"
        lines.append(
            f"ligne {r.source_row} ({day}, station {r.station or '—'}) : "
            f"{words.get(r.reason, r.reason)} ({r.reason})"
        )
    return lines


FIELD_FIRST_DAY = pd.Timestamp("2015-01-01")
"""The earliest date a field form admits (its constraint: no record from before the forms)."""
FIELD_RANGES: dict[str, tuple[float, float]] = {
    "hour": (0, 23),
    "safety": (1, 5),
    "duration_hours": (0, 24),
    "hours": (0, 24),
    "allowance_eur": (0, 10_000),
    "planned_eur": (0, 10_000_000),
    "committed_eur": (-10_000_000, 10_000_000),
    "spent_eur": (-10_000_000, 10_000_000),
}
"""Closed ranges of the field tables' numbers (hour of the day, the 1–5 Likert scale, hours of
presence); other counts are ≥ 0."""


def _codes_pattern(codes: tuple[str, ...]) -> str:
    """Several codes of ``codes``, sorted and separated by one space, or nothing."""
    one = "(?:" + "|".join(sorted(codes, key=len, reverse=True)) + ")"
    return f"^(?:{one}(?: {one})*)?$"


def field_expectations(table: str, max_date: pd.Timestamp) -> list:
    """The suite of a field table (``data_clean/field/<table>.parquet``, written by ingest):
    codes in their lists (several codes: each one, sorted, one space apart), dates from
    :data:`FIELD_FIRST_DAY` to the end of the last year, hours 0–23, the Likert scale 1–5,
    counts and hours ≥ 0, one row per submission (per group of a submission). Ingest already
    sets bad cells aside: a failure here means a table not written by ingest, or a date ingest
    could not place (no year in the file name), and stops the stage."""
    import great_expectations as gx

    E = gx.expectations
    out = [
        E.ExpectColumnValuesToNotBeNull(
            column="submission_id", meta={"reason": "reponse_manquante"}
        ),
        E.ExpectCompoundColumnsToBeUnique(
            column_list=["submission_id", "group_index"]
            if table == "street_groups"
            else ["partner_id", "submission_id"],
            meta={"reason": "ligne_dupliquee", "note": "une ligne par soumission"},
        ),
        E.ExpectColumnValuesToBeBetween(
            column="year",
            min_value=FIELD_FIRST_DAY.year,
            max_value=max_date.year,
            meta={"reason": "date_hors_periode"},
        ),
    ]
    if table in ("project_activities", "project_attendance"):  # a presence meets its session
        out.append(
            E.ExpectColumnValuesToNotBeNull(column="activity_id", meta={"reason": "date_manquante"})
        )
    if table == "project_attendance":  # one presence per participant and session
        out.append(
            E.ExpectCompoundColumnsToBeUnique(
                column_list=["partner_id", "activity_id", "participant_id"],
                meta={"reason": "ligne_dupliquee", "note": "une présence par participant"},
            )
        )
    for name, f in FIELD_TABLES[table].items():
        if f.kind == "code" and f.codes:
            out.append(
                E.ExpectColumnValuesToBeInSet(
                    column=name, value_set=["", *f.codes], meta={"reason": "code_inconnu"}
                )
            )
        elif f.kind == "codes" and f.codes:
            out.append(
                E.ExpectColumnValuesToMatchRegex(
                    column=name, regex=_codes_pattern(f.codes), meta={"reason": "code_inconnu"}
                )
            )
        elif f.kind == "date":
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=name,
                    min_value=FIELD_FIRST_DAY,
                    max_value=max_date,
                    meta={"reason": "date_hors_periode"},
                )
            )
        elif f.kind in ("hour", "integer", "decimal"):
            low, high = FIELD_RANGES.get(name, (0, None))
            out.append(
                E.ExpectColumnValuesToBeBetween(
                    column=name, min_value=low, max_value=high, meta={"reason": "valeur_hors_plage"}
                )
            )
    return out


def _prepare_field(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable numbers as floats (NaN is ignored by the range rules), codes as text."""
    df = frame.copy().reset_index(drop=True)
    for c in df.columns:
        if str(df[c].dtype) in ("Int64", "boolean"):
            df[c] = df[c].astype("float64")
    return df


def field_problems(table: str, result: TableValidation) -> list[str]:
    """One French line per field row that fails: file, row and the rule."""
    return [
        f"{table} : {r.source_file}, ligne {r.source_row} : "
        f"{QUARANTINE_REASONS.get(r.reason, r.reason)} ({r.reason})"
        for r in result.set_aside.itertuples()
    ]


CELL = ["partner_id", "programme", "period", "date", "group"]
"""What one value of an aggregate return is about, besides its measure."""


def prepare_aggregates(
    aggregates: pd.DataFrame, max_date: pd.Timestamp, tolerance: float
) -> pd.DataFrame:
    """Add the derived columns the suite checks.

    ``beds_allowed`` (on ``beds_occupied`` rows with a capacity the same day or month, same
    programme and group): (beds available + winter beds) × (1 + ``tolerance``);
    ``partition_gap`` (on total rows whose every declared part is present): the total minus the
    sum of the parts; ``capacity_value`` the value of capacity rows."""
    df = aggregates.copy().reset_index(drop=True)
    df["value"] = df["value"].astype("float64")
    df["days_after_period_end"] = (pd.to_datetime(df["date"]) - max_date).dt.days
    capacity = df["measure"].isin(["beds_available", "winter_extra_beds"])
    df["capacity_value"] = df["value"].where(capacity)
    beds = df[capacity].groupby(CELL)["value"].sum().rename("beds")
    occupied = df["measure"] == "beds_occupied"
    allowed = df[CELL].merge(beds.reset_index(), on=CELL, how="left")["beds"].to_numpy()
    df["beds_allowed"] = pd.Series(allowed, index=df.index).where(occupied) * (1 + tolerance)
    df["occupied"] = df["value"].where(occupied)
    df["partition_gap"] = _partition_gap(df)
    return df


def _partition_gap(df: pd.DataFrame) -> pd.Series:
    """On total rows: total − sum of the partition's parts, when every part is present."""
    gap = pd.Series(float("nan"), index=df.index)
    parts = df[df["group_role"] == "partie"]
    if parts.empty:
        return gap
    key = ["partner_id", "programme", "period", "date", "measure"]
    # The parts a mapping declares are the groups of role « partie » seen in its exports.
    declared = parts.groupby("partner_id")["group"].nunique()
    sums = parts.groupby(key).agg(parts_sum=("value", "sum"), n_parts=("group", "nunique"))
    totals = df[df["group_role"] == "total"]
    merged = totals[key].merge(sums.reset_index(), on=key, how="left")
    merged.index = totals.index
    complete = merged["n_parts"] == totals["partner_id"].map(declared)
    gap.loc[totals.index] = (totals["value"] - merged["parts_sum"]).where(complete)
    return gap


def aggregate_problems(frame: pd.DataFrame, set_aside: pd.DataFrame, tolerance: float) -> list[str]:
    """One French line per aggregate row set aside: file, line, what is wrong."""
    lines = []
    derived = frame.set_index(["source_file", "source_row", "measure"])
    for r in set_aside.itertuples():
        where = f"{r.source_file} ligne {int(r.line)}"
        if r.reason == "occupation_excessive":
            row = derived.loc[(r.source_file, r.source_row, "beds_occupied")]
            beds = float(row["beds_allowed"]) / (1 + tolerance)
            lines.append(
                f"{where} : {french_number(row['value'])} lits occupés pour "
                f"{french_number(beds)} lits disponibles (tolérance "
                f"{french_percent(100 * tolerance)}) — ligne mise de côté (occupation_excessive)"
            )
        elif r.reason == "groupes_incoherents":
            lines.append(
                f"{where} : le total du groupe « {r.group} » ({french_number(r.value)}, "
                f"{AGGREGATE_MEASURES[r.measure].label}) n'est pas la somme de ses parties "
                "déclarées — ligne mise de côté (groupes_incoherents)"
            )
        else:
            lines.append(f"{where} : {r.measure} — ligne mise de côté ({r.reason})")
    return lines


def validate_aggregates(
    validator: Validator, aggregates: pd.DataFrame, max_date: pd.Timestamp, tolerance: float
) -> tuple[TableValidation, pd.DataFrame]:
    """Run the aggregates suite. A source row is one unit: if one of its values fails, the whole
    row of the partner's file is set aside (``set_aside`` has one entry per source row, so that
    the row accounting stays « rows read = clean + set aside »). Also returns the prepared frame
    (for the messages)."""
    frame = prepare_aggregates(aggregates, max_date, tolerance)
    res = validator.run("aggregates", frame, aggregate_expectations(max_date))
    rows = int(frame[["source_file", "source_row"]].drop_duplicates().shape[0])
    per_row = res.set_aside.drop_duplicates(["source_file", "source_row"], keep="first")
    return TableValidation("aggregates", rows, per_row, res.expectations), frame


def _prepare_contacts(contacts: pd.DataFrame, max_date: pd.Timestamp) -> pd.DataFrame:
    """Add the derived columns the suite checks (days after the period, nights from dates)."""
    df = contacts.copy()
    df["days_after_period_end"] = (pd.to_datetime(df["date_start"]) - max_date).dt.days
    stays = df["dispositif"].isin(NIGHT_STAYS)
    from_dates = (pd.to_datetime(df["date_end"]) - pd.to_datetime(df["date_start"])).dt.days
    df["nights_from_dates"] = from_dates.where(stays).astype("Int64")
    for c in ("nights", "age_at_contact", "nights_from_dates"):
        df[c] = df[c].astype("float64")  # GX compares plain floats; NaN = missing
    for c in ("exit_reason",):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df


def _prepare_refusals(refusals: pd.DataFrame, max_date: pd.Timestamp) -> pd.DataFrame:
    df = refusals.copy()
    df["days_after_period_end"] = (pd.to_datetime(df["date"]) - max_date).dt.days
    return df


class Validator:
    """Runs the suites in one ephemeral GX context and writes Data Docs."""

    def __init__(self, docs_dir: Path | None) -> None:
        import great_expectations as gx

        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        self.gx = gx
        self.context = gx.get_context(mode="ephemeral")
        self.docs_dir = docs_dir
        if docs_dir is not None:
            self.context.add_data_docs_site(
                site_name="observatoire",
                site_config={
                    "class_name": "SiteBuilder",
                    "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
                    "store_backend": {
                        "class_name": "TupleFilesystemStoreBackend",
                        "base_directory": str(docs_dir.resolve()),
                    },
                },
            )
        self.source = self.context.data_sources.add_pandas("canonique")

    def run(self, table: str, frame: pd.DataFrame, expectations: list) -> TableValidation:
        gx = self.gx
        asset = self.source.add_dataframe_asset(table)
        batch = asset.add_batch_definition_whole_dataframe(f"{table}_complet")
        suite = self.context.suites.add(gx.ExpectationSuite(name=f"{table}"))
        for exp in expectations:
            suite.add_expectation(exp)
        definition = self.context.validation_definitions.add(
            gx.ValidationDefinition(name=f"validation_{table}", data=batch, suite=suite)
        )
        # No data-docs action here: the site is built once, after the last suite
        # (:meth:`build_docs`); rebuilt after every suite, it took most of the stage's time.
        checkpoint = self.context.checkpoints.add(
            gx.Checkpoint(
                name=f"controle_{table}",
                validation_definitions=[definition],
                actions=[],
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": ["source_file", "source_row"],
                    "partial_unexpected_count": 20,
                },
            )
        )
        frame = frame.reset_index(drop=True)
        run = checkpoint.run(batch_parameters={"dataframe": frame})
        result = next(iter(run.run_results.values()))
        reason = pd.Series(pd.NA, index=frame.index, dtype=object)
        expectation = pd.Series(pd.NA, index=frame.index, dtype=object)
        summary = []
        for r in result.results:
            cfg = r.expectation_config
            if (r.exception_info or {}).get("raised_exception") or any(
                isinstance(v, dict) and v.get("raised_exception")
                for v in (r.exception_info or {}).values()
            ):
                raise RuntimeError(
                    f"L'expectation {cfg.type} n'a pas pu être évaluée : {r.exception_info}"
                )
            code = (cfg.meta or {}).get("reason", "valeur_hors_plage")
            idx = r.result.get("unexpected_index_list") or []
            rows = [int(i["source_row"]) if isinstance(i, dict) else int(i) for i in idx]
            positions = _positions(frame, idx)
            new = [p for p in positions if pd.isna(reason.iat[p])]
            reason.iloc[new] = code
            expectation.iloc[new] = cfg.type
            kwargs = {k: v for k, v in cfg.kwargs.items() if k not in ("batch_id", "result_format")}
            summary.append(
                {
                    "expectation": cfg.type,
                    "kwargs": kwargs,
                    "success": bool(r.success),
                    "unexpected_count": len(positions),
                    "reason": code,
                    "example_rows": rows[:5],
                }
            )
        bad = reason.notna()
        set_aside = frame[bad].copy()
        set_aside["reason"] = reason[bad]
        set_aside["expectation"] = expectation[bad]
        return TableValidation(table, len(frame), set_aside, summary)

    def build_docs(self) -> None:
        if self.docs_dir is not None:
            self.context.build_data_docs()


def _positions(frame: pd.DataFrame, unexpected: list) -> list[int]:
    """Row positions of GX's unexpected rows (reported by source_file + source_row)."""
    if not unexpected:
        return []
    if not isinstance(unexpected[0], dict):
        return sorted(int(i) for i in unexpected)
    keys = pd.DataFrame(unexpected)[["source_file", "source_row"]]
    keys["source_row"] = keys["source_row"].astype("int64")
    pos = frame[["source_file", "source_row"]].reset_index().merge(keys, how="inner")
    return sorted(pos["index"].astype(int).unique().tolist())


def validate_tables(
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    max_date: pd.Timestamp,
    docs_dir: Path | None,
    aggregates: pd.DataFrame | None = None,
    tolerance: float = 0.10,
    weather: pd.DataFrame | None = None,
    weather_range: tuple[float, float] = (-40.0, 50.0),
    field: dict[str, pd.DataFrame] | None = None,
) -> dict[str, TableValidation]:
    """Run both suites (and the aggregates suite when ``aggregates`` has rows, the weather suite
    when ``weather`` has rows); returns each table's outcome (rows set aside and expectation
    summary)."""
    validator = Validator(docs_dir)
    out = {
        "contacts": validator.run(
            "contacts", _prepare_contacts(contacts, max_date), contact_expectations(max_date)
        ),
        "refusals": validator.run(
            "refusals", _prepare_refusals(refusals, max_date), refusal_expectations(max_date)
        ),
    }
    if aggregates is not None and len(aggregates):
        out["aggregates"], _ = validate_aggregates(validator, aggregates, max_date, tolerance)
    if weather is not None and len(weather):
        out["weather"] = validator.run(
            "weather", _prepare_weather(weather), weather_expectations(*weather_range)
        )
    for table, frame in (field or {}).items():
        if len(frame):
            out[f"field/{table}"] = validator.run(
                f"field_{table}", _prepare_field(frame), field_expectations(table, max_date)
            )
    validator.build_docs()
    return out
