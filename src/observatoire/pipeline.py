"""The pipeline's stages as functions; ``dvc.yaml`` calls them through the CLI.

Each stage reads its declared inputs, writes only its declared outputs (atomically) and prints a
short French summary of what it produced and where.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.errors import ValidationFailed
from observatoire.formatting import french_percent
from observatoire.ingest import ingest_network
from observatoire.mapping import load_partners
from observatoire.pseudonymise import Pseudonymiser, load_key
from observatoire.schema import QUARANTINE_REASONS
from observatoire.storage import atomic_dir, sha256_file, write_csv, write_json, write_parquet

STAGING = Path("data_clean/staging")
VALIDATED = Path("data_clean/validated")
CLEAN = Path("data_clean")
METRICS = Path("outputs/metrics")
TRUTH_DIR = Path("data_raw/sample_truth")
SAMPLE_DIR = Path("data_raw/sample")
LINKAGE_DIR = Path("outputs/linkage")


def _quarantine_name(source_file: str) -> str:
    return source_file.replace("/", "__").rsplit(".", 1)[0] + ".csv"


def stage_generate_sample(params: dict[str, Any]) -> None:
    from observatoire.sample import generate_sample

    raw_dir = SAMPLE_DIR
    summary = generate_sample(params["sample"], raw_dir, TRUTH_DIR)
    print(f"Échantillon synthétique écrit dans {raw_dir}/ (vérité terrain : {TRUTH_DIR}/).")
    print(f"  {summary}")


def stage_ingest(params: dict[str, Any], root: Path = Path(".")) -> None:
    inputs, ing = params["inputs"], params["ingest"]
    raw_dir = Path(inputs["raw_dir"])
    partners = load_partners(Path(inputs["partners_dir"]), Path(inputs["codes_dir"]))
    key = load_key(root, ing["key_env"], ing["key_file_env"])
    print(f"Lecture des exports de {len(partners)} partenaires dans {raw_dir}/")
    result = ingest_network(raw_dir, partners, Pseudonymiser(key))
    quarantine_dir = Path(ing["quarantine_dir"]) / "ingest"
    with atomic_dir(STAGING) as staging, atomic_dir(quarantine_dir) as qdir:
        write_parquet(result.contacts, staging / "contacts.parquet")
        write_parquet(result.tokens, staging / "identity_tokens.parquet")
        write_parquet(result.refusals, staging / "refusals.parquet")
        for f in result.files:
            if f.rows_quarantined:
                write_csv(f.quarantined.astype(str), qdir / _quarantine_name(f.source_file))
    files = {f.source_file: f.accounting() for f in result.files}
    write_json(METRICS / "ingest.json", {"files": files})
    write_json(
        METRICS / "inputs.json",
        {f.source_file: {"partner_id": f.partner_id, "sha256": f.sha256} for f in result.files},
    )
    read = sum(f.rows_read for f in result.files)
    quarantined = sum(f.rows_quarantined for f in result.files)
    print(
        f"Ingestion : {read} lignes lues dans {len(result.files)} fichiers, "
        f"{read - quarantined} acceptées, {quarantined} mises en quarantaine ({quarantine_dir}/)."
    )


def stage_validate(params: dict[str, Any]) -> None:
    from observatoire.validate import validate_tables

    contacts = pd.read_parquet(STAGING / "contacts.parquet")
    refusals = pd.read_parquet(STAGING / "refusals.parquet")
    last_year = max(params["report"]["year"], params["sample"]["last_year"])
    max_date = pd.Timestamp(f"{last_year}-12-31")
    docs_dir = Path("outputs/validation")
    tmp_docs = docs_dir.with_name(".validation.tmp")
    shutil.rmtree(tmp_docs, ignore_errors=True)
    print("Validation des tables canoniques (great-expectations)…")
    results = validate_tables(contacts, refusals, max_date, tmp_docs)
    threshold = float(params["validation"]["max_quarantine_share"])
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
    quarantine_dir = Path(params["ingest"]["quarantine_dir"]) / "validation"
    with atomic_dir(VALIDATED) as vdir, atomic_dir(quarantine_dir) as qdir:
        for name, frame in (("contacts", contacts), ("refusals", refusals)):
            bad = results[name].set_aside
            keep = ~frame.set_index(["source_file", "source_row"]).index.isin(
                bad.set_index(["source_file", "source_row"]).index
            )
            write_parquet(frame[keep].reset_index(drop=True), vdir / f"{name}.parquet")
            if len(bad):
                write_csv(bad.astype(str), qdir / f"{name}.csv")
    if docs_dir.exists():
        shutil.rmtree(docs_dir)
    tmp_docs.rename(docs_dir)
    write_json(METRICS / "validation.json", summary)
    _write_row_accounting(results)
    for name, res in results.items():
        print(f"  {name} : {res.rows} lignes, {len(res.set_aside)} écartées par la validation")
    print(f"Rapport de validation (Data Docs) : {docs_dir}/index.html")


def _write_row_accounting(results: dict) -> None:
    """Per file: rows read = clean + set aside at ingest + set aside by validation."""
    import json

    ingest = json.loads((METRICS / "ingest.json").read_text(encoding="utf-8"))["files"]
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
        assert set(reasons) <= set(QUARANTINE_REASONS)
        assert rows[source_file]["rows_read"] == (
            rows[source_file]["rows_clean"] + rows[source_file]["rows_quarantined"]
        )
    total_read = sum(r["rows_read"] for r in rows.values())
    total_clean = sum(r["rows_clean"] for r in rows.values())
    write_json(
        METRICS / "rows.json",
        {
            "rows_read": total_read,
            "rows_clean": total_clean,
            "rows_quarantined": total_read - total_clean,
            "files": rows,
        },
    )


def stage_link(params: dict[str, Any]) -> None:
    """Link persons, write the clean tables, the linkage diagnostics and ``linkage.json``.

    The synthetic truth is read (by :mod:`observatoire.linkage.quality` only) when the inputs
    are the synthetic sample: then the quality figures go into ``linkage.json`` too.
    """
    from observatoire.link import clean_tables, link_records
    from observatoire.linkage import quality
    from observatoire.linkage.baseline import deterministic_clusters, exact_key_clusters
    from observatoire.linkage.diagnostics import write_diagnostics
    from observatoire.linkage.overrides import load_overrides
    from observatoire.linkage.records import read_tokens
    from observatoire.linkage.settings import LinkageSettings

    contacts = pd.read_parquet(VALIDATED / "contacts.parquet")
    refusals = pd.read_parquet(VALIDATED / "refusals.parquet")
    birth_years, tokens = read_tokens(STAGING / "identity_tokens.parquet", contacts["record_key"])
    section = params.get("linkage") or {}
    settings = LinkageSettings.from_params(section)
    overrides = load_overrides(settings.overrides)
    linkage = link_records(contacts, tokens, settings, overrides)
    clean_contacts, persons = clean_tables(contacts, birth_years, linkage.person_of())
    CLEAN.mkdir(exist_ok=True)
    write_parquet(clean_contacts, CLEAN / "contacts.parquet")
    write_parquet(persons, CLEAN / "persons.parquet")
    write_parquet(refusals, CLEAN / "refusals.parquet")
    with atomic_dir(LINKAGE_DIR) as out_dir:
        diagnostics = write_diagnostics(linkage, clean_contacts, tokens, out_dir)
    records = int(contacts["record_key"].nunique())
    street = set(linkage.street.index)
    n_street = int(
        clean_contacts.loc[clean_contacts["record_key"].isin(street), "person_id"].nunique()
    )
    metrics: dict[str, Any] = {
        "method": "fellegi_sunter_splink",
        "rules": diagnostics.get("modele", {}).get("regles_de_blocage", []),
        "records": records,
        "persons": int(len(persons)),
        "contacts": int(len(clean_contacts)),
        "parametres": {
            "seuil": settings.threshold,
            "graine": settings.seed,
            "rappel_suppose_regle_deterministe": settings.deterministic_rule_recall,
            "fenetre_activite_mois": settings.activity_window_months,
            "travail_de_rue": {
                "ecart_annee_naissance": settings.street_birth_year_gap,
                "ecart_activite_mois": settings.street_activity_gap_months,
            },
        },
        "dossiers": {
            "nominatifs": len(linkage.facts.ids),
            "travail_de_rue": linkage.n_street_records,
        },
        "personnes": {
            "nominatives": int(len(persons)) - n_street,
            "travail_de_rue": n_street,
        },
        "corrections": {
            "fichier": str(settings.overrides) if settings.overrides else None,
            "forcer_liaison_appliquees": linkage.overrides.together_applied,
            "forcer_separation_appliquees": linkage.overrides.apart_applied,
            "dossiers_inconnus": len(linkage.overrides.unknown_records),
        },
        **diagnostics,
    }
    raw_dir = Path(params["inputs"]["raw_dir"])
    if quality.truth_applies(raw_dir, SAMPLE_DIR, TRUTH_DIR):
        truth, noise = quality.load_truth(TRUTH_DIR)
        metrics["qualite"] = quality.measure_quality(
            clean_contacts,
            truth,
            noise,
            street,
            {
                "cle_exacte": exact_key_clusters(tokens),
                "regles_deterministes": deterministic_clusters(tokens),
            },
            tokens,
            quality.Targets.from_params(section.get("targets")),
        )
    write_json(METRICS / "linkage.json", metrics)
    print(
        f"Liaison : {records} dossiers partenaires → {len(persons)} personnes distinctes "
        f"(dont {n_street} vues seulement par le travail de rue, non reliées aux autres) ; "
        f"{CLEAN}/contacts.parquet ({len(clean_contacts)} lignes), {CLEAN}/persons.parquet, "
        f"diagnostics dans {LINKAGE_DIR}/."
    )
    if linkage.scored is None and len(linkage.facts.ids) >= 2:
        print(
            "  Attention : aucun couple de dossiers ne partage une date de naissance ni un nom "
            "complet ; le modèle n'a pas pu être estimé et aucun dossier nominatif n'a été relié."
        )
    if linkage.overrides.unknown_records:
        print(
            f"  Attention : {len(linkage.overrides.unknown_records)} pseudonyme(s) de "
            f"{settings.overrides} ne correspondent à aucun dossier des données (corrections "
            "ignorées pour ces dossiers)."
        )
    if "qualite" in metrics and "modele" in metrics["qualite"]:
        _print_quality(metrics["qualite"])


def _print_quality(q: dict[str, Any]) -> None:
    """The quality figures on the console, with the exact-key baseline and the realised noise."""

    def line(label: str, scope: dict[str, Any]) -> str:
        pw, pers = scope["paires_de_dossiers"], scope["personnes"]
        return (
            f"  {label} : précision {pw['precision']}, rappel {pw['rappel']}, "
            f"{pers['trouvees']} personnes trouvées pour {pers['vraies']}"
        )

    print("Qualité de la liaison (vérité synthétique, dossiers nominatifs, paires de dossiers) :")
    print(line("modèle", q["modele"]["identifies"]))
    print(line("clé exacte (initiales, date, sexe)", q["references"]["cle_exacte"]["identifies"]))
    noise = q["bruit_realise"].get("registrations", {}).get("overall", {})
    twice = q["bruit_realise"].get("second_local_id", {}).get("overall", {})
    if noise:
        print(
            "  bruit réalisé : "
            f"{french_percent(100 * noise['name_variant'])} variantes de nom, "
            f"{french_percent(100 * noise['day_month_swap'])} jour et mois inversés, "
            f"{french_percent(100 * noise['missing_birth_date'])} sans date de naissance, "
            f"{french_percent(100 * twice.get('share', 0))} des personnes sous deux dossiers "
            "chez un même partenaire"
        )
    met = q["objectifs_atteints"]
    detail = ", ".join(f"{k} {'oui' if v else 'non'}" for k, v in met.items())
    print(f"  objectifs atteints : {'oui' if all(met.values()) else 'non'} ({detail})")


def raw_file_hashes(raw_dir: Path) -> dict[str, str]:
    return {
        p.relative_to(raw_dir).as_posix(): sha256_file(p)
        for p in sorted(raw_dir.rglob("*"))
        if p.is_file()
    }
