"""The ``link`` stage: persons linked across partners, the clean tables, ``linkage.json``."""

from __future__ import annotations

import sys
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.formatting import french_percent
from observatoire.core.person_level import NO_PERSONS_REASON, has_persons
from observatoire.core.schema import CONTACT_COLUMNS
from observatoire.core.storage import atomic_dir, write_csv, write_json, write_parquet
from observatoire.linkage.overrides import Overrides, OverridesApplied

__all__ = ["stage_link", "unmatched_overrides_warning", "write_no_persons"]

STAGING = PATHS.staging
CLEAN = PATHS.clean
METRICS = PATHS.metrics
TRUTH_DIR = PATHS.sample_truth
SAMPLE_DIR = PATHS.sample
LINKAGE_DIR = PATHS.linkage


def stage_link(settings: Settings) -> None:
    """Link persons, write the clean tables, the linkage diagnostics and ``linkage.json``.

    The synthetic truth is read (by :mod:`observatoire.linkage.quality` only) when the inputs
    are the synthetic sample: then the quality figures go into ``linkage.json`` too.
    """
    from observatoire.linkage import quality
    from observatoire.linkage.baseline import deterministic_clusters, exact_key_clusters
    from observatoire.linkage.diagnostics import write_diagnostics
    from observatoire.linkage.imputation import linkage_state
    from observatoire.linkage.link import clean_tables, link_records
    from observatoire.linkage.overrides import load_overrides
    from observatoire.linkage.records import read_tokens

    contacts = pd.read_parquet(PATHS.validated_contacts)
    refusals = pd.read_parquet(PATHS.validated_refusals)
    if not has_persons(contacts):
        write_no_persons(contacts, refusals, settings)
        return
    birth_years, tokens = read_tokens(STAGING / "identity_tokens.parquet", contacts["record_key"])
    link = settings.linkage
    overrides = load_overrides(link.overrides)
    linkage = link_records(contacts, tokens, link, overrides, identity_columns(settings))
    clean_contacts, persons = clean_tables(contacts, birth_years, linkage.person_of())
    CLEAN.mkdir(exist_ok=True)
    write_parquet(clean_contacts, CLEAN / "contacts.parquet")
    write_parquet(persons, CLEAN / "persons.parquet")
    write_parquet(refusals, CLEAN / "refusals.parquet")
    state = linkage_state(linkage)
    write_parquet(state.pairs, PATHS.linkage_pairs)
    write_parquet(state.records, PATHS.linkage_records)
    with atomic_dir(LINKAGE_DIR) as out_dir:
        diagnostics = write_diagnostics(linkage, clean_contacts, tokens, out_dir)
    records = int(contacts["record_key"].nunique())
    street = set(linkage.street.index)
    n_street = int(
        clean_contacts.loc[clean_contacts["record_key"].isin(street), "person_id"].nunique()
    )
    metrics: dict[str, Any] = {
        "method": linkage.fallback.method if linkage.fallback else "fellegi_sunter_splink",
        "methode_de_repli": linkage.fallback.to_json() if linkage.fallback else None,
        "rules": diagnostics.get("modele", {}).get("regles_de_blocage", []),
        "records": records,
        "persons": int(len(persons)),
        "contacts": int(len(clean_contacts)),
        "parametres": {
            "seuil": link.threshold,
            "graine": link.seed,
            "rappel_suppose_regle_deterministe": link.deterministic_rule_recall,
            "fenetre_activite_mois": link.activity_window_months,
            "travail_de_rue": {
                "ecart_annee_naissance": link.street_birth_year_gap,
                "ecart_activite_mois": link.street_activity_gap_months,
            },
        },
        "dossiers": {
            "nominatifs": len(linkage.facts.ids),
            "travail_de_rue": linkage.n_street_records,
        },
        "identite": linkage.identity.to_json(),
        "personnes": {
            "nominatives": int(len(persons)) - n_street,
            "travail_de_rue": n_street,
        },
        "corrections": {
            "fichier": str(link.overrides) if link.overrides else None,
            "forcer_liaison_appliquees": linkage.overrides.together_applied,
            "forcer_separation_appliquees": linkage.overrides.apart_applied,
            "dossiers_inconnus": len(linkage.overrides.unknown_records),
            "corrections_non_appliquees": len(overrides)
            - linkage.overrides.together_applied
            - linkage.overrides.apart_applied,
        },
        **diagnostics,
    }
    if quality.truth_applies(settings.inputs.raw_dir, SAMPLE_DIR, TRUTH_DIR):
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
            link.targets,
        )
    write_json(METRICS / "linkage.json", metrics)
    print(
        f"Liaison : {records} dossiers partenaires → {len(persons)} personnes distinctes "
        f"(dont {n_street} vues seulement par le travail de rue, non reliées aux autres) ; "
        f"{CLEAN}/contacts.parquet ({len(clean_contacts)} lignes), {CLEAN}/persons.parquet, "
        f"diagnostics dans {LINKAGE_DIR}/."
    )
    if linkage.fallback is not None:
        print(f"  Attention : {linkage.fallback.message()}")
    for warning in linkage.identity.warnings():
        print(f"  Attention : {warning}")
    if linkage.overrides.unknown_records:
        print(unmatched_overrides_warning(overrides, linkage.overrides), file=sys.stderr)
    if "qualite" in metrics and "modele" in metrics["qualite"]:
        _print_quality(metrics["qualite"])


def unmatched_overrides_warning(overrides: Overrides, applied: OverridesApplied) -> str:
    """Loud, in French: overrides whose pseudonyms name no record (a changed key drops them
    all), how many, and what to do."""
    total = len(overrides)
    lost = total - applied.together_applied - applied.apart_applied
    cause = (
        "Aucune ne s'applique : la clé de pseudonymisation a très probablement changé depuis "
        "leur calcul (chaque pseudonyme change avec la clé)."
        if lost == total
        else "Ces dossiers ont quitté les exports, ou ces pseudonymes ont été calculés avec une "
        "autre clé de pseudonymisation."
    )
    return (
        f"ATTENTION : {lost} correction(s) de liaison sur {total} ({overrides.source}) ne "
        f"s'appliquent pas : {len(applied.unknown_records)} pseudonyme(s) n'y désignent aucun "
        f"dossier des données. {cause}\n"
        "  Ces paires sont traitées comme si la correction n'existait pas (liaison automatique)."
        "\n  À faire : recalculez chaque pseudonyme avec `observatoire pseudonyme --partner ID` "
        f"(il utilise la clé des données) et remplacez-le dans {overrides.source} ; retirez les "
        "corrections devenues sans objet (docs/cle.md)."
    )


PAIR_COLUMNS = {
    "record_key_l": "object",
    "record_key_r": "object",
    "match_probability": "float64",
    "lien": "object",
}
RECORD_COLUMNS = {
    "record_key": "object",
    "named": "bool",
    "tok_birth_date": "object",
    "tok_birth_date_swapped": "object",
    "sex": "object",
    "street_chain": "object",
}
PERSON_DTYPES = {
    "person_id": "object",
    "sex": "object",
    "birth_year": "Int64",
    "age_estimated": "bool",
    "nationality_group": "object",
    "first_seen": "datetime64[ns]",
    "last_seen": "datetime64[ns]",
    "n_partners": "int64",
    "n_contacts": "int64",
}
SENSITIVITY_COLUMNS = ["seuil", "periode", "portee", "personnes", "seuil_retenu"]
RANGE_COLUMNS = [
    "periode",
    "personnes_nominatives",
    "chaines_travail_de_rue",
    "travail_de_rue_sans_correspondant_possible",
    "minimum",
    "maximum",
]


def _empty(columns: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in columns.items()})


def write_no_persons(contacts: pd.DataFrame, refusals: pd.DataFrame, settings: Settings) -> None:
    """The link stage's outputs when no partner sends person-level rows (counts only).

    Empty but well-typed clean tables, no pair and no record, empty diagnostics (headers only)
    and a ``linkage.json`` that says why nothing was linked (``non_calcule``): no person count,
    not even zero, is made up."""
    clean_contacts = contacts.assign(person_id=pd.Series(dtype=object))[CONTACT_COLUMNS]
    CLEAN.mkdir(exist_ok=True)
    write_parquet(clean_contacts, CLEAN / "contacts.parquet")
    write_parquet(_empty(PERSON_DTYPES), CLEAN / "persons.parquet")
    write_parquet(refusals, CLEAN / "refusals.parquet")
    write_parquet(_empty(PAIR_COLUMNS), PATHS.linkage_pairs)
    write_parquet(_empty(RECORD_COLUMNS), PATHS.linkage_records)
    with atomic_dir(LINKAGE_DIR) as out_dir:
        write_json(out_dir / "identite.json", {"non_calcule": NO_PERSONS_REASON})
        write_csv(pd.DataFrame(columns=SENSITIVITY_COLUMNS), out_dir / "sensibilite_au_seuil.csv")
        write_csv(pd.DataFrame(columns=RANGE_COLUMNS), out_dir / "fourchette_reseau.csv")
    link = settings.linkage
    metrics: dict[str, Any] = {
        "method": None,
        "non_calcule": NO_PERSONS_REASON,
        "records": 0,
        "persons": None,
        "contacts": 0,
        "rules": [],
        "parametres": {"seuil": link.threshold, "graine": link.seed},
        "fourchette_reseau": {},
        "sensibilite": {},
    }
    write_json(METRICS / "linkage.json", metrics)
    print(
        f"Liaison non calculée : {NO_PERSONS_REASON}. Tables vides écrites dans {CLEAN}/ "
        f"(contacts, personnes) et {LINKAGE_DIR}/."
    )


def identity_columns(settings: Settings) -> dict[tuple[str, str], str]:
    """(partner, canonical identity field) → the partner's column label, from the mappings,
    so that a warning names the column the partner knows; empty if the mappings cannot be
    read (the warnings then name the canonical field)."""
    from observatoire.core.errors import MappingError
    from observatoire.intake.mapping import load_partners
    from observatoire.linkage.safeguards import CHECKED_COLUMNS

    try:
        partners = load_partners(settings.inputs.partners_dir, settings.inputs.codes_dir)
    except MappingError:
        return {}
    out: dict[tuple[str, str], str] = {}
    for pid, partner in partners.items():
        for spec in partner.exports:
            for fname, col in spec.columns.items():
                if fname in CHECKED_COLUMNS:
                    out.setdefault((pid, fname), col.column)
    return out


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
