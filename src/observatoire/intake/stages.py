"""The intake stages run by ``dvc.yaml``: ``ingest`` (exports → staging, quarantine) and
``validate`` (great-expectations suites → validated tables, row accounting).

Each stage reads its declared inputs, writes only its declared outputs (atomically) and prints a
short French summary of what it produced and where.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.errors import ValidationFailed
from observatoire.core.formatting import french_percent
from observatoire.core.schema import AGGREGATE_COLUMNS, QUARANTINE_REASONS
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.storage import (
    atomic_dir,
    read_parquet,
    temp_prefix,
    write_json,
    write_parquet,
)
from observatoire.core.workers import worker_processes
from observatoire.intake.ingest import ingest_network
from observatoire.intake.key_fingerprint import key_for_ingest, write_fingerprint
from observatoire.intake.mapping import load_partners
from observatoire.intake.pseudonymise import Pseudonymiser

__all__ = ["stage_ingest", "stage_validate", "write_quarantine"]

STAGING = PATHS.staging
VALIDATED = PATHS.validated
METRICS = PATHS.metrics


def write_quarantine(rows: pd.DataFrame, path: Path) -> None:
    """A quarantine file: the rows set aside, as text, safe to open in a spreadsheet.

    These files go back to the partner (« voici les lignes à corriger »), who opens them in
    Excel: a cell typed as ``=HYPERLINK(...)`` must not become a formula there
    (:func:`observatoire.core.spreadsheet.write_safe_csv`, OWASP CSV injection)."""
    write_safe_csv(rows.astype(str), path)


def _quarantine_name(source_file: str) -> str:
    """``abri_nuit/abri_nuit_2024.csv`` → ``abri_nuit__abri_nuit_2024.csv``, one safe name
    (:meth:`~observatoire.config.paths.Paths.safe_name`: the file name comes from the partner).
    A sheet read on its own (« presences_2024.xlsx#févr. 2024 ») keeps its sheet in the name
    (``…presences_2024#févr. 2024.csv``): the sheets of one workbook never share a file."""
    path, _, sheet = source_file.partition("#")
    stem = path.replace("/", "__").rsplit(".", 1)[0]
    return PATHS.safe_name(stem + (f"#{sheet}" if sheet else "") + ".csv")


def _write_field_tables(tables: dict[str, pd.DataFrame]) -> None:
    """``data_clean/field/<table>.parquet``, every field table present (empty ones too)."""
    with atomic_dir(PATHS.field_clean) as folder:
        for table, frame in tables.items():
            write_parquet(frame, folder / f"{table}.parquet")
    filled = {t: len(f) for t, f in tables.items() if len(f)}
    if filled:
        detail = ", ".join(f"{t} {n}" for t, n in filled.items())
        print(f"Relevés de terrain : {detail} ligne(s) → {PATHS.field_clean}/")


def stage_ingest(settings: Settings, root: Path = Path(".")) -> None:
    inputs, ing = settings.inputs, settings.ingest
    raw_dir = inputs.raw_dir
    partners = load_partners(inputs.partners_dir, inputs.codes_dir, weather=True, field=True)
    key = key_for_ingest(settings, root)
    services = sum(p.service for p in partners.values())
    sources = sum(p.weather_only for p in partners.values())
    field_sources = sum(p.field_only for p in partners.values())
    weather = f", de {sources} source(s) météo" if sources else ""
    field = f", de {field_sources} source(s) de relevés de terrain" if field_sources else ""
    print(f"Lecture des exports de {services} partenaires{weather}{field} dans {raw_dir}/")
    result = ingest_network(
        raw_dir, partners, Pseudonymiser(key), limits=ing.limits, workers=worker_processes()
    )
    quarantine_dir = PATHS.confined(ing.quarantine_dir / "ingest")
    with atomic_dir(STAGING) as staging, atomic_dir(quarantine_dir) as qdir:
        write_parquet(result.contacts, staging / "contacts.parquet")
        write_parquet(result.tokens, staging / "identity_tokens.parquet")
        write_parquet(result.refusals, staging / "refusals.parquet")
        write_parquet(result.aggregates, staging / "aggregates.parquet")
        for f in result.files:
            if f.rows_quarantined:
                write_quarantine(f.quarantined, qdir / _quarantine_name(f.source_file))
    files = {f.source_file: f.accounting() for f in result.files}
    joined = {j.source_file: j.accounting() for j in result.joined}
    write_parquet(result.weather, PATHS.weather)
    _write_field_tables(result.field_tables)
    if len(result.weather):
        stations = ", ".join(sorted(result.weather["station"].unique()))
        first, last = result.weather["date"].min(), result.weather["date"].max()
        print(
            f"Météo : {len(result.weather)} jours-station (station(s) {stations}) du "
            f"{first:%d/%m/%Y} au {last:%d/%m/%Y}, dont "
            f"{int((result.weather['alert'] != '').sum())} jour(s) d'alerte → {PATHS.weather}"
        )
    write_json(PATHS.coverage, result.coverage.to_json())
    for warning in result.warnings:
        print(warning)
    write_json(
        METRICS / "ingest.json",
        {
            "files": files,
            **({"joined_files": joined} if joined else {}),
            "free_text_deidentified": result.free_text,
        },
    )
    for column, kinds in result.free_text.items():
        detail = ", ".join(f"{n} {kind}" for kind, n in kinds.items())
        print(
            f"  Texte libre « {column} » : identités remplacées par des marques ([NOM], "
            f"[DATE]…) avant conservation : {detail}."
        )
    inputs = {f.source_file: {"partner_id": f.partner_id, "sha256": f.sha256} for f in result.files}
    for j in result.joined:
        inputs.setdefault(j.source_file, {"partner_id": j.partner_id, "sha256": j.sha256})
    write_json(METRICS / "inputs.json", inputs)
    write_fingerprint(PATHS.key_fingerprint, key)  # last: it vouches for complete outputs
    read = sum(f.rows_read for f in result.files)
    quarantined = sum(f.rows_quarantined for f in result.files)
    filtered = sum(f.rows_filtered for f in result.files)
    out_of_scope = f", {filtered} hors champ (filtres where)" if filtered else ""
    print(
        f"Ingestion : {read} lignes lues dans {len(result.files)} fichiers, "
        f"{read - quarantined - filtered} acceptées, {quarantined} mises en quarantaine "
        f"({quarantine_dir}/){out_of_scope}."
    )
    for j in result.joined:
        unused = j.rows_read - j.rows_used
        if unused:
            print(
                f"  table jointe {j.source_file} : {j.rows_read} lignes, {unused} jamais "
                "utilisées (sans ligne correspondante dans le champ des exports)"
            )


def stage_validate(settings: Settings) -> None:
    from observatoire.intake.ingest import WEATHER_RANGE
    from observatoire.intake.validate import (
        aggregate_problems,
        field_problems,
        prepare_aggregates,
        validate_tables,
        weather_problems,
    )

    contacts = read_parquet(STAGING / "contacts.parquet")  # one chunk: GX selects rows often
    refusals = pd.read_parquet(STAGING / "refusals.parquet")
    last_year = max(settings.report.year, settings.sample.last_year)
    max_date = pd.Timestamp(f"{last_year}-12-31")
    docs_dir = PATHS.validation
    tmp_docs = docs_dir.with_name(f"{temp_prefix(docs_dir.name)}docs")
    shutil.rmtree(tmp_docs, ignore_errors=True)
    aggregates = _staged_aggregates()
    print("Validation des tables canoniques (great-expectations)…")
    tolerance = settings.validation.occupancy_tolerance
    weather = pd.read_parquet(PATHS.weather) if PATHS.weather.is_file() else None
    field = (
        {p.stem: pd.read_parquet(p) for p in sorted(PATHS.field_clean.glob("*.parquet"))}
        if PATHS.field_clean.is_dir()
        else {}
    )
    results = validate_tables(
        contacts,
        refusals,
        max_date,
        tmp_docs,
        aggregates=aggregates,
        tolerance=tolerance,
        weather=weather,
        weather_range=WEATHER_RANGE,
        field=field,
    )
    # The weather table is ingest's, final and checked there: a failure here is a table ingest
    # did not write; it stops the stage, nothing is set aside silently.
    bad_weather = weather_problems(results["weather"]) if "weather" in results else []
    if bad_weather:
        shutil.rmtree(tmp_docs, ignore_errors=True)
        raise ValidationFailed(
            f"La table météo {PATHS.weather} ne passe pas ses contrôles "
            f"({len(bad_weather)} ligne(s)) :\n"
            + "\n".join(f"  {line}" for line in bad_weather[:MAX_AGGREGATE_LINES])
            + "\n  À faire : relancez `observatoire ingest` (qui écrit cette table et met de "
            "côté ces lignes), puis `observatoire validate` ; aucune donnée propre n'a été écrite."
        )
    # The field tables are ingest's too (data_clean/field/): the same rule as the weather.
    bad_field = [
        line
        for name, res in results.items()
        if name.startswith("field/")
        for line in field_problems(name.removeprefix("field/"), res)
    ]
    if bad_field:
        shutil.rmtree(tmp_docs, ignore_errors=True)
        raise ValidationFailed(
            f"Les relevés de terrain de {PATHS.field_clean} ne passent pas leurs contrôles "
            f"({len(bad_field)} ligne(s)) :\n"
            + "\n".join(f"  {line}" for line in bad_field[:MAX_AGGREGATE_LINES])
            + "\n  À faire : corrigez ces réponses dans l'export (ou déclarez "
            "period_from_filename pour que les dates hors de l'année soient mises de côté), "
            "relancez `observatoire ingest` puis `observatoire validate`."
        )
    aggregate_lines: list[str] = []
    if "aggregates" in results:
        prepared = prepare_aggregates(aggregates, max_date, tolerance)
        aggregate_lines = aggregate_problems(prepared, results["aggregates"].set_aside, tolerance)
    threshold = settings.validation.max_quarantine_share
    summary: dict[str, Any] = {"threshold": threshold, "tables": {}}
    for name, res in results.items():
        summary["tables"][name] = {
            "rows": res.rows,
            "set_aside": len(res.set_aside),
            "share_set_aside": round(res.share_set_aside, 6),
            "reasons": res.set_aside["reason"].value_counts().sort_index().to_dict(),
            "expectations": res.expectations,
        }
    too_many = {n: r for n, r in results.items() if r.share_set_aside > threshold}
    if too_many:
        shutil.rmtree(tmp_docs, ignore_errors=True)
        lines = [
            f"  table {n} : {len(r.set_aside)} lignes sur {r.rows} "
            f"({french_percent(100 * r.share_set_aside)}) ; motifs : "
            + ", ".join(f"{k} ({v})" for k, v in r.set_aside["reason"].value_counts().items())
            for n, r in too_many.items()
        ]
        raise ValidationFailed(
            "La validation écarte plus de lignes que le seuil admis "
            f"({french_percent(100 * threshold)}, validation.max_quarantine_share) :\n"
            + "\n".join(lines)
            + "\n  À faire : examinez les exports concernés (observatoire check FICHIER "
            "--partner ID) et demandez une correction au partenaire ; aucune donnée propre "
            "n'a été écrite."
        )
    quarantine_dir = PATHS.confined(settings.ingest.quarantine_dir / "validation")
    with atomic_dir(VALIDATED) as vdir, atomic_dir(quarantine_dir) as qdir:
        for name, frame in (("contacts", contacts), ("refusals", refusals)):
            bad = results[name].set_aside
            keep = ~frame.set_index(["source_file", "source_row"]).index.isin(
                bad.set_index(["source_file", "source_row"]).index
            )
            write_parquet(frame[keep].reset_index(drop=True), vdir / f"{name}.parquet")
            if len(bad):
                write_quarantine(bad, qdir / f"{name}.csv")
        clean_aggregates = aggregates
        if "aggregates" in results:
            bad = results["aggregates"].set_aside
            keep = ~aggregates.set_index(["source_file", "source_row"]).index.isin(
                bad.set_index(["source_file", "source_row"]).index
            )
            clean_aggregates = aggregates[keep].reset_index(drop=True)
            if len(bad):
                write_quarantine(bad, qdir / "aggregates.csv")
        write_parquet(clean_aggregates, vdir / "aggregates.parquet")
    # Aggregates need no linkage: the validated table is the clean one.
    write_parquet(clean_aggregates, PATHS.aggregates)
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    tmp_docs.rename(docs_dir)
    write_json(METRICS / "validation.json", summary)
    _write_row_accounting({n: r for n, r in results.items() if n != "weather"})
    for name, res in results.items():
        if name == "weather":
            print(f"  weather : {res.rows} jours-station, conformes (un jour par station, "
                  "températures plausibles, minimum ≤ maximum)")  # fmt: skip
            continue
        print(f"  {name} : {res.rows} lignes, {len(res.set_aside)} écartées par la validation")
    for line in aggregate_lines[:MAX_AGGREGATE_LINES]:
        print(f"    {line}")
    if len(aggregate_lines) > MAX_AGGREGATE_LINES:
        print(f"    … et {len(aggregate_lines) - MAX_AGGREGATE_LINES} autres (quarantaine).")
    print(f"Rapport de validation (Data Docs) : {docs_dir}/index.html")


MAX_AGGREGATE_LINES = 20
"""Aggregate rows set aside that the validate stage names (file and line) in its summary."""


def _staged_aggregates() -> pd.DataFrame:
    """The staged aggregate returns (empty when no partner sends counts)."""
    path = STAGING / "aggregates.parquet"
    if not path.is_file():
        return pd.DataFrame(columns=AGGREGATE_COLUMNS)
    return pd.read_parquet(path)


def _write_row_accounting(results: dict) -> None:
    """Per file: rows read = clean + set aside at ingest + set aside by validation."""
    ingest_json = json.loads((METRICS / "ingest.json").read_text(encoding="utf-8"))
    ingest = ingest_json["files"]
    set_aside = pd.concat([r.set_aside[["source_file", "reason"]] for r in results.values()])
    by_file = set_aside.groupby("source_file")["reason"].value_counts()
    rows = {}
    for source_file, acc in ingest.items():
        validation_reasons = (
            by_file.loc[source_file].to_dict()
            if source_file in by_file.index.get_level_values(0)
            else {}
        )
        n_val = int(sum(validation_reasons.values()))
        reasons = dict(acc["reasons"])
        for k, v in validation_reasons.items():
            reasons[k] = reasons.get(k, 0) + int(v)
        rows[source_file] = {
            "partner_id": acc["partner_id"],
            "rows_read": acc["rows_read"],
            "rows_clean": acc["rows_accepted"] - n_val,
            "rows_quarantined": acc["rows_quarantined"] + n_val,
            "reasons": dict(sorted(reasons.items())),
        }
        if "rows_counted" in acc:  # the independent count of the raw file (ingest reconciled it)
            rows[source_file]["rows_counted"] = acc["rows_counted"]
        if "grid_person_rows" in acc:  # a grid: persons' rows counted, its cells read
            rows[source_file]["grid_person_rows"] = acc["grid_person_rows"]
        if "grid_absent_marks" in acc:  # its declared absence marks (not rows)
            rows[source_file]["grid_absent_marks"] = acc["grid_absent_marks"]
        if "rows_filtered" in acc:  # a filtered or shared file: out-of-scope rows are counted
            rows[source_file]["rows_filtered"] = acc["rows_filtered"]
        if "exports" in acc:
            rows[source_file]["exports"] = acc["exports"]
            rows[source_file]["rows_in_several_exports"] = acc["rows_in_several_exports"]
        assert set(reasons) <= set(QUARANTINE_REASONS)
        assert rows[source_file]["rows_read"] == (
            rows[source_file]["rows_clean"]
            + rows[source_file]["rows_quarantined"]
            + rows[source_file].get("rows_filtered", 0)
        )
    total_read = sum(r["rows_read"] for r in rows.values())
    total_clean = sum(r["rows_clean"] for r in rows.values())
    total_filtered = sum(r.get("rows_filtered", 0) for r in rows.values())
    summary: dict[str, Any] = {
        "rows_read": total_read,
        "rows_clean": total_clean,
        "rows_quarantined": total_read - total_clean - total_filtered,
    }
    if any("rows_filtered" in r for r in rows.values()):
        summary["rows_filtered"] = total_filtered
    summary["files"] = rows
    if "joined_files" in ingest_json:
        summary["joined_files"] = ingest_json["joined_files"]
    write_json(METRICS / "rows.json", summary)
