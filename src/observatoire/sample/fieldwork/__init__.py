"""Field records of the synthetic sample: the forms' KoboToolbox exports (violence barometer,
street-work observations, neighbourhood relays, worker survey, testimonies), the relays'
allowance spreadsheet, the planted patterns (``sample_truth/terrain.json``) and the identities
planted in free-text notes (``sample_truth/notes_identites.csv``).

Every part draws from its own seeded stream (``field/<part>``), and reads the rest of the
sample only (the shelter's refusals, the maison d'accueil's exclusions, the names of the
contact exports): the other files of the sample stay byte-identical.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pandas as pd

from observatoire.sample.config import SampleParams, stream
from observatoire.sample.exports import ExportFile
from observatoire.sample.fieldwork.common import FIELD_YEARS, FieldFile
from observatoire.sample.fieldwork.incidents import incident_files
from observatoire.sample.fieldwork.notes import IDENTITY_COLUMNS, NameBook, NoteWriter
from observatoire.sample.fieldwork.relays import relay_files
from observatoire.sample.fieldwork.street import street_files
from observatoire.sample.fieldwork.survey import survey_files, testimony_files
from observatoire.sample.network import Network

__all__ = [
    "FIELD_PARTNERS",
    "FIELD_PARTS",
    "FIELD_YEARS",
    "FieldFile",
    "FieldPart",
    "FieldSample",
    "IDENTITY_RATES",
    "assemble_field",
    "field_part",
    "field_sample",
    "name_book",
]

FIELD_PARTNERS = ("barometre_violences", "travail_rue_observations", "relais_quartier")
IDENTITY_RATES = {
    "incidents": 0.3,
    "street": 0.2,
    "relays": 0.25,
    "survey": 0.15,
    "testimonies": 0.4,
}
NAME_COLUMNS = (("Nom", "Prénom"), ("nom", "prenom"), ("Nom de famille", "Prénom"))


@dataclass(frozen=True)
class FieldSample:
    """The field part of the sample: files, planted truth and planted identities."""

    files: list[FieldFile]
    terrain: dict
    identities: pd.DataFrame

    def terrain_json(self) -> str:
        return json.dumps(self.terrain, indent=2, ensure_ascii=False, default=str) + "\n"

    def identities_csv(self) -> str:
        return self.identities.to_csv(index=False, lineterminator="\n")


def _export_names(files: list[ExportFile]) -> list[tuple[str, str]]:
    names = []
    for f in files:
        for surname, first in NAME_COLUMNS:
            if surname in f.table.columns and first in f.table.columns:
                pairs = f.table[[surname, first]].astype(str).drop_duplicates()
                names += list(pairs.itertuples(index=False, name=None))
    return names


FIELD_PARTS = ("incidents", "street", "relays", "survey", "testimonies")
"""The field part's pieces, in the order of the run in one process: each draws from its own
streams and reads only the network, the exports and the name book, so they can be drawn side
by side (:func:`observatoire.sample.generate.generate_sample`)."""

FieldPart = tuple[list[FieldFile], list, dict]  # files, planted identities, truth


def name_book(params: SampleParams, files: list[ExportFile]) -> NameBook:
    """The names the notes plant (those of the contact exports, and names absent from them)."""
    return NameBook(_export_names(files), stream(params.seed, "field/names"))


def field_part(
    part: str, params: SampleParams, network: Network, files: list[ExportFile], book: NameBook
) -> FieldPart:
    """One of :data:`FIELD_PARTS`, drawn from its own streams."""
    seed = params.seed
    rng, writer = (
        stream(seed, f"field/{part}"),
        NoteWriter(book, stream(seed, f"field/notes/{part}")),
    )
    rate = IDENTITY_RATES[part]
    if part == "incidents":
        return incident_files(network, files, rng, writer, rate)
    draw = {
        "street": street_files,
        "relays": relay_files,
        "survey": survey_files,
        "testimonies": testimony_files,
    }[part]
    return draw(rng, writer, rate)


def field_sample(params: SampleParams, network: Network, files: list[ExportFile]) -> FieldSample:
    """Generate the field part from its own streams, reading the network and its exports."""
    book = name_book(params, files)
    return assemble_field([field_part(p, params, network, files, book) for p in FIELD_PARTS])


def assemble_field(parts: list[FieldPart]) -> FieldSample:
    """The field part from its pieces, drawn in the order of :data:`FIELD_PARTS`."""
    out: list[FieldFile] = []
    rows = []
    terrain: dict = {
        "years": list(FIELD_YEARS),
        "partners": list(FIELD_PARTNERS),
        "note": "Vérité des relevés de terrain synthétiques (jamais lue par le pipeline, jamais "
        "publiée) : valeurs plantées et réalisées, pour les tests et les notebooks.",
    }
    for part_files, planted, truth in parts:
        out += part_files
        terrain.update(truth)
        for path, sheet, row, column, span in planted:
            rows.append(
                [
                    path,
                    sheet,
                    row,
                    column,
                    span.kind,
                    span.text,
                    span.start,
                    span.end,
                    span.in_keyed_list,
                ]
            )
    identities = pd.DataFrame(rows, columns=IDENTITY_COLUMNS)
    terrain["files"] = {
        f.relative_path: {"export": f.export, "year": f.year, "rows": f.rows} for f in out
    }
    terrain["notes_identities"] = {
        "identity_rate_by_form": IDENTITY_RATES,
        "planted": int(len(identities)),
        "by_kind": identities["kind"].value_counts().sort_index().to_dict(),
        "names_in_keyed_list": int(
            (identities["kind"].eq("nom") & identities["in_keyed_list"]).sum()
        ),
        "names_absent_from_lists": int(
            (identities["kind"].eq("nom") & ~identities["in_keyed_list"]).sum()
        ),
        "keyed_list": "noms écrits dans les colonnes nom/prénom des exports de contacts de "
        "l'échantillon (abri_nuit, accueil_jour, urgence_sociale, maison_accueil, housing_first) ; "
        "in_keyed_list = chaque mot du nom y figure (casse et accents ignorés)",
        "offsets": "start/end : positions (caractères, Python) du texte dans la cellule",
    }
    return FieldSample(out, terrain, identities)
