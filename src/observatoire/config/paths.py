"""Every path the pipeline reads or writes, in one place (the ``dvc.yaml`` outs say the same).

Paths are relative to the project root (where ``dvc.yaml`` lives) so that what the stages print
(« data_clean/contacts.parquet ») is what the analyst types. A test or a bench run on another
tree builds ``Paths(root=...)``.

**Writes stay in the project.** A partner id, an export or file name, a key of the params may end
up in a path the pipeline writes (``outputs/quality/<year>/<partner_id>.pdf``, the quarantine
file of ``<partner>/<file>.csv``). Each is checked where it is read (the mapping schema's closed
character set, the file discovery's confinement to the raw folder, the settings), and
:meth:`Paths.member` / :meth:`Paths.confined` check again where it becomes a path: one name
component, resolved under one of the project's output folders (:meth:`Paths.output_folders`),
otherwise :class:`PathOutsideProject` stops the stage before anything is written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from observatoire.core.errors import ObservatoireError

__all__ = ["PATHS", "SAFE_NAME", "PathOutsideProject", "Paths"]

SAFE_NAME = re.compile(r"^[^/\\\x00-\x1f.:][^/\\\x00-\x1f:]{0,199}$")
"""A file or folder name built from data (a partner id, an export's file name): one component,
not starting with a dot (hidden files, « .. »), without « / », « \\ », « : » nor control
characters; accents and spaces are allowed (partners' file names have them)."""


class PathOutsideProject(ObservatoireError, ValueError):
    """A path built from a partner id, a file name or a parameter would leave the project's
    output folders."""


@dataclass(frozen=True)
class Paths:
    """The project's folders and files; per-year folders are methods taking the report year."""

    root: Path = Path(".")

    # inputs
    @property
    def dvc_file(self) -> Path:
        return self.root / "dvc.yaml"

    @property
    def params(self) -> Path:
        return self.root / "params/pipeline.yaml"

    @property
    def linkage_overrides(self) -> Path:
        return self.root / "params/linkage_overrides.yaml"

    @property
    def plans_params(self) -> Path:
        """The seasonal plans: periods, phases and their triggers, services (``plans.yaml``)."""
        return self.root / "params/plans.yaml"

    @property
    def terrain_params(self) -> Path:
        """The field records' analyses (``terrain.yaml``: one section per analysis)."""
        return self.root / "params/terrain.yaml"

    @property
    def projects_params(self) -> Path:
        """The projects followed (``projets.yaml``: objectives, council, budget threshold)."""
        return self.root / "params/projets.yaml"

    @property
    def sample(self) -> Path:
        return self.root / "data_raw/sample"

    @property
    def sample_truth(self) -> Path:
        return self.root / "data_raw/sample_truth"

    @property
    def raw(self) -> Path:
        """The raw-data area: partner exports, the sample, the quarantine (never published)."""
        return self.root / "data_raw"

    # clean data
    @property
    def clean(self) -> Path:
        return self.root / "data_clean"

    @property
    def staging(self) -> Path:
        return self.clean / "staging"

    @property
    def validated(self) -> Path:
        return self.clean / "validated"

    @property
    def validated_contacts(self) -> Path:
        """The contacts as stage ``validate`` kept them, before linkage: the clean contacts
        but ``person_id`` (same rows, same order). What counts records rather than persons
        (the barometer's nights and contacts) reads them, and need not wait for ``link``."""
        return self.validated / "contacts.parquet"

    @property
    def validated_refusals(self) -> Path:
        """The refusals as stage ``validate`` kept them (``link`` copies them unchanged)."""
        return self.validated / "refusals.parquet"

    @property
    def contacts(self) -> Path:
        return self.clean / "contacts.parquet"

    @property
    def persons(self) -> Path:
        return self.clean / "persons.parquet"

    @property
    def refusals(self) -> Path:
        return self.clean / "refusals.parquet"

    @property
    def youth_types(self) -> Path:
        return self.clean / "jeunes_types.parquet"

    @property
    def key_fingerprint(self) -> Path:
        """Fingerprint of the key the pseudonyms were made with (stage ``ingest``)."""
        return self.clean / "cle_empreinte.json"

    @property
    def configured_key(self) -> Path:
        """Fingerprint of the key configured now (stage ``key_fingerprint``, run every time)."""
        return self.clean / "cle_configuree.json"

    @property
    def identity_index(self) -> Path:
        """The leak guard's identities of the raw exports, as keyed hashes only (stage
        ``identity_index``, read by ``leak_guard`` and every report stage)."""
        return self.clean / "index_identites.json.gz"

    @property
    def aggregates(self) -> Path:
        """Aggregate returns (counts by period, programme, group and measure), validated."""
        return self.clean / "aggregates.parquet"

    @property
    def weather(self) -> Path:
        """Daily weather (minimum, maximum temperature, official alert) by day and station."""
        return self.clean / "weather.parquet"

    @property
    def field_clean(self) -> Path:
        """The field tables (forms, the relays' allowance sheet), one parquet per table
        (:data:`observatoire.core.schema.FIELD_TABLES`), written by ingest."""
        return self.clean / "field"

    @property
    def linkage_pairs(self) -> Path:
        """Scored record pairs and overrides (stage ``link``), for the link imputations."""
        return self.clean / "linkage_pairs.parquet"

    @property
    def linkage_records(self) -> Path:
        """Per record, what may contradict a link, and the street-work chains (stage ``link``)."""
        return self.clean / "linkage_records.parquet"

    # outputs
    @property
    def outputs(self) -> Path:
        return self.root / "outputs"

    @property
    def metrics(self) -> Path:
        return self.outputs / "metrics"

    @property
    def coverage(self) -> Path:
        """The months each partner's exports cover (stage ``ingest``, see core.coverage)."""
        return self.metrics / "coverage.json"

    @property
    def linkage(self) -> Path:
        return self.outputs / "linkage"

    @property
    def linkage_imputations(self) -> Path:
        """Persons counts under links drawn from the match probabilities (own stage)."""
        return self.outputs / "linkage_imputations"

    @property
    def linkage_imputations_summary(self) -> Path:
        """What the reports print of the linkage imputations (method, intervals per year)."""
        return self.linkage_imputations / "imputations.json"

    @property
    def validation(self) -> Path:
        return self.outputs / "validation"

    @property
    def notebooks(self) -> Path:
        return self.outputs / "notebooks"

    def indicators(self, year: int) -> Path:
        return self.outputs / "indicators" / str(year)

    def trends(self, year: int) -> Path:
        return self.outputs / "trends" / str(year)

    def external_trends(self, name: str) -> Path:
        """Trends of an outside monthly series (``observatoire tendance --serie``), by name;
        not a DVC output: the analyst's tool writes it on demand."""
        return self.outputs / "trends" / "series_externes" / name

    def youth(self, year: int) -> Path:
        return self.outputs / "youth" / str(year)

    # field records (issue 19)
    def relays(self, year: int) -> Path:
        """The neighbourhood relays' numbers (stage ``relays``)."""
        return self.outputs / "field" / "relais" / str(year)

    def relays_statements(self, year: int) -> Path:
        """The volunteers' statements (INTERNAL: never published, never in the ledger)."""
        return self.outputs / "relais" / str(year) / "releves"

    def plans(self, year: int) -> Path:
        """The seasonal plans' bilans and the preparation note's numbers (stage ``plans``)."""
        return self.outputs / "plans" / str(year)

    def street_diagnosis(self, year: int) -> Path:
        """The neighbourhood diagnosis' numbers (stage ``street_diagnosis``)."""
        return self.outputs / "field" / "diagnostic" / str(year)

    def barometer(self, year: int) -> Path:
        """The violence barometer's numbers (stage ``barometer``)."""
        return self.outputs / "field" / "barometre" / str(year)

    def projects(self, year: int) -> Path:
        """The projects' numbers, one folder per project (stage ``projects``)."""
        return self.outputs / "projects" / str(year)

    def quality(self, year: int) -> Path:
        return self.outputs / "quality" / str(year)

    def maps(self, year: int) -> Path:
        """The seasonal plans' maps and flyers (stage ``maps``)."""
        return self.outputs / "maps" / str(year)

    def reports(self, year: int) -> Path:
        return self.outputs / "reports" / str(year)

    def tables(self, year: int) -> Path:
        """Everything published for the year as data (stage ``publication``, its only writer)."""
        return self.outputs / "tables" / str(year)

    def suppression(self, year: int) -> Path:
        """Suppression patterns searched in their own stage before the publication
        (``barometer_suppression``: ledgers without hidden values; disclosure.apart)."""
        return self.outputs / "suppression" / str(year)

    def disclosure(self, year: int) -> Path:
        """The year's disclosure audit, for the reports' annexes (internal, never published)."""
        return self.outputs / "disclosure" / str(year)

    @property
    def releases(self) -> Path:
        """What was actually released, year by year, kept in git (``observatoire publier``)."""
        return self.root / "publications"

    def release(self, year: int) -> Path:
        return self.releases / str(year)

    # confinement
    def output_folders(self) -> tuple[Path, ...]:
        """The folders the pipeline writes into: clean data, outputs, releases, and the raw-data
        area (the synthetic sample and the quarantine)."""
        return (self.clean, self.outputs, self.releases, self.raw)

    def confined(self, path: Path) -> Path:
        """``path`` itself, once its resolved form (links followed) is checked to lie under one
        of :meth:`output_folders`; otherwise :class:`PathOutsideProject` (French)."""
        resolved = Path(path).resolve()
        for folder in self.output_folders():
            if resolved.is_relative_to(folder.resolve()):
                return Path(path)
        folders = ", ".join(f"{f}/" for f in self.output_folders())
        raise PathOutsideProject(
            f"Écriture refusée : « {path} » sortirait des dossiers de sortie du projet "
            f"({folders}).\n  À faire : vérifiez l'identifiant du partenaire, le nom du fichier "
            "ou le chemin de params/pipeline.yaml qui le compose (un chemin relatif au projet, "
            "sans « .. »)."
        )

    @staticmethod
    def safe_name(name: str) -> str:
        """``name`` when it is one safe file-name component (:data:`SAFE_NAME`: built from data,
        it can hold no « / » nor « .. »); otherwise :class:`PathOutsideProject` (French)."""
        if not SAFE_NAME.match(name):
            raise PathOutsideProject(
                f"Écriture refusée : « {name} » ne peut pas devenir un nom de fichier (un "
                "seul nom, sans « / », « \\ », « : », « .. » ni point initial).\n  À faire : "
                "corrigez l'identifiant du partenaire (partner_id, voir docs/correspondances.md) "
                "ou renommez le fichier."
            )
        return name

    def member(self, folder: Path, name: str) -> Path:
        """``folder / name`` for a ``name`` built from data: one :meth:`safe_name` component,
        and the result :meth:`confined` to the project's output folders."""
        return self.confined(Path(folder) / self.safe_name(name))


PATHS = Paths()
