"""The catalogue of planted identities the leak guard must catch (its recall is measured on it).

Each planting is one way an identity of the raw exports (or a third person's, typed in free
text) could reach a kept or published file: a table cell, a chart label, an image's alt text, a
notebook output, a PDF, a free-text column of ``data_clean/contacts.parquet``, a birth date
beside a surname, a client id, a national register number, a header-declared column, a
person-level column. The identities are those of ``tests/unit/guard/test_guard.py``'s raw export
(``RAW_ROWS``); a third person (« KOWALCZYK Zbigniew ») appears in no export.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pandas as pd


def _nn(body: str) -> str:
    """A valid Belgian national register number for a birth before 2000 (mod-97)."""
    check = 97 - int(body) % 97
    return f"{body[:2]}.{body[2:4]}.{body[4:6]}-{body[6:9]}.{check:02d}"


NATIONAL_NUMBER = _nn("610502123")


@dataclass(frozen=True)
class Planting:
    id: str
    file: str
    kind: str
    write: Callable[[Path], None]
    secrets: tuple[str, ...]
    """Strings that must never appear in the guard's report or messages."""


def _text(content: str) -> Callable[[Path], None]:
    return lambda p: p.write_text(content, encoding="utf-8")


def _notebook(output: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        nb = nbformat.v4.new_notebook()
        code = nbformat.v4.new_code_cell("print(dernier)")
        code.outputs = [nbformat.v4.new_output("stream", name="stdout", text=output)]
        nb.cells = [nbformat.v4.new_markdown_cell("# Indicateurs 2024"), code]
        nbformat.write(nb, path)

    return write


def _pdf(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        import typst

        path.write_bytes(typst.compile(f"= Annexe\n{text}\n".encode(), format="pdf"))

    return write


def _parquet(columns: dict[str, list[object]]) -> Callable[[Path], None]:
    return lambda p: pd.DataFrame(columns).to_parquet(p, index=False)


PLANTINGS: list[Planting] = [
    Planting(
        "nom-et-prenom-dans-une-cellule",
        "outputs/tables/2024/liste.csv",
        "nom",
        _text("personne,nuitées\nWOUTERS Jean,3\n"),
        ("WOUTERS", "Wouters"),
    ),
    Planting(
        "etiquette-de-graphique",
        "outputs/indicators/2024/graphique.svg",
        "prénom",
        _text('<svg xmlns="http://www.w3.org/2000/svg"><text>Mathéo Van der Berg</text></svg>'),
        ("Mathéo", "Van der Berg"),
    ),
    Planting(
        "texte-alternatif",
        "outputs/trends/2024/page.html",
        "nom",
        _text('<p><img src="figure.png" alt="Séjours de Jean Wouters en 2024"></p>'),
        ("Wouters",),
    ),
    Planting(
        "sortie-de-carnet",
        "outputs/notebooks/tendances.ipynb",
        "prénom",
        _notebook("Dernier passage : Alpha GRAND\n"),
        ("Alpha", "GRAND"),
    ),
    Planting(
        "pdf",
        "outputs/youth/2024/annexe.pdf",
        "nom",
        _pdf("Mathéo Van der Berg, vu 3 fois."),
        ("Van der Berg",),
    ),
    Planting(
        "date-de-naissance-a-cote-du-nom",
        "outputs/validation/notes.md",
        "date de naissance",
        _text("Ligne écartée : WOUTERS (01/10/1970), date d'entrée manquante.\n"),
        ("01/10/1970", "1970-10-01"),
    ),
    Planting(
        "identifiant-partenaire",
        "outputs/metrics/linkage.json",
        "identifiant partenaire",
        _text(json.dumps({"exemple": "an-001223", "n": 2})),
        ("AN-001223", "an-001223"),
    ),
    Planting(
        "nom-compose-seul",
        "outputs/tables/2024/synthese.md",
        "nom",
        _text("Mme Dupré-Lefèvre a été orientée.\n"),
        ("Dupré", "Lefèvre"),
    ),
    Planting(
        "tiers-en-texte-libre",
        "data_clean/contacts.parquet",
        "identité en texte libre",
        _parquet({"activity": ["Accompagnement de M. KOWALCZYK Zbigniew (né le 02/05/1961)"]}),
        ("KOWALCZYK", "Zbigniew", "02/05/1961"),
    ),
    Planting(
        "numero-national-en-texte-libre",
        "data_clean/validated/contacts.parquet",
        "identité en texte libre",
        _parquet({"orientation": [f"CPAS, NN {NATIONAL_NUMBER}", "CPAS"]}),
        (NATIONAL_NUMBER,),
    ),
    Planting(
        "colonne-declaree-par-son-en-tete",
        "data_clean/persons.parquet",
        "date de naissance",
        _parquet({"person_id": ["p1", "p2"], "date_naissance": ["1990-03-07", None]}),
        ("1990-03-07",),
    ),
    Planting(
        "colonne-de-personnes",
        "outputs/youth/2024/groupes.parquet",
        "nom",
        _parquet({"g": ["Wouters", "Grand", "Van der Berg", "Autre"], "n": [1, 2, 3, 4]}),
        ("Wouters", "Van der Berg"),
    ),
]
