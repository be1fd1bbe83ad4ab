"""What the pipeline produced and where: the list printed at the end of `make run`."""

from __future__ import annotations

from pathlib import Path

from observatoire.config.settings import Settings

__all__ = ["print_summary"]


def print_summary(settings: Settings) -> None:
    """What the pipeline produced and where (the end of `make run`)."""
    year = settings.report.year
    items = [
        ("Données propres", "data_clean/contacts.parquet, data_clean/persons.parquet"),
        ("Quarantaine (lignes écartées, hors git)", f"{settings.ingest.quarantine_dir}/"),
        ("Comptage des lignes par fichier", "outputs/metrics/rows.json"),
        ("Rapport de validation (Data Docs)", "outputs/validation/index.html"),
        ("Carnets exécutés", "outputs/notebooks/*.html"),
        ("Rapport annuel", f"outputs/reports/{year}/observatoire.html et .pdf"),
        ("Tableaux publiés", f"outputs/tables/{year}/"),
    ]
    print("\nProduit par le pipeline :")
    for label, path in items:
        exists = all(Path(p.strip().split(" ")[0]).exists() or "*" in p for p in path.split(","))
        print(f"  {'✓' if exists else '✗'} {label} : {path}")
