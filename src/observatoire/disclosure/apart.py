"""A report's suppression pattern searched in its own stage, before the ``publication`` stage.

Why: the violence barometer's optimal search is most of the publication's work (≈ 26 s of one
core on the sample, ≈ 70 % of the stage) and reads nothing but the barometer's counts. Inside
``publication`` it ran alone at the end of the pipeline, one core waiting. Stage
``barometer_suppression`` searches it as soon as the barometer is computed, beside the other
analyses (``observatoire barometer-suppression``).

What that stage writes may be written: the pattern as a ledger (key, status, published value;
never a hidden value: :meth:`~.suppression.Publication.ledger`), the search record (cells only:
:func:`search_summary`) and a digest of what the search read (the counts, the threshold, the
budget). The ``publication`` stage rebuilds the publication from the counts and that ledger
(:func:`~.suppression.restore`) and audits it with everything else the year publishes, as
before: one audited path, the same ledger and bytes as a search inside the stage. When the
record is missing or was searched on other inputs (a hand-run ``observatoire publication``
after the counts or the threshold changed), the stage searches itself, as it always did.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.storage import atomic_dir
from observatoire.disclosure.barometre import (
    COUNTS_FILE,
    RESULTS_FILE,
    barometre_inputs,
    publish_barometre,
)
from observatoire.disclosure.suppression import Budget, Publication, Search, restore

__all__ = [
    "APART",
    "ApartGroup",
    "search_apart",
    "search_budget",
    "search_summary",
    "searched_or_search",
]

LEDGER_FILE = "cases.csv"
RECORD_FILE = "recherche.json"
SUMMARY_FIELDS = (
    "requested",
    "method",
    "cost",
    "solver",
    "greedy_cells",
    "optimal_cells",
    "groups",
    "proven",
    "unfinished",
)
"""What is kept of a :class:`~.suppression.Search`: cells, never persons (a sum of hidden
values, an identity a reader does not have)."""


def search_budget(settings: Settings) -> Budget:
    """The optimal search's work budget of ``report.disclosure_search``."""
    search = settings.report.disclosure_search
    return Budget(nodes=search.nodes, solves=search.solves, safety_s=search.safety_net_s)


def search_summary(pub: Publication) -> dict[str, object]:
    """How the secondary pattern was chosen, in cells (the persons masked are sums of hidden
    values: never written, even internally)."""
    if pub.search is None:
        return {}
    s = asdict(pub.search)
    return {name: s[name] for name in SUMMARY_FIELDS}


def _search_of(summary: dict[str, object]) -> Search | None:
    """The search record rebuilt from its summary; the persons masked were never written."""
    if not summary:
        return None
    return Search(**summary, greedy_persons=math.nan)  # type: ignore[arg-type]


@dataclass(frozen=True)
class ApartGroup:
    """A report whose pattern may be searched in its own stage.

    ``inputs(year)``: the folder its counts are read from; ``files``: the files of that folder
    the search reads (their bytes make the record's digest); ``search``: the search as the
    ``publication`` stage runs it; ``rebuild``: the same publication from the counts and a
    ledger, or None when there are no counts."""

    name: str
    inputs: Callable[[int], Path]
    files: tuple[str, ...]
    search: Callable[[Path, int, int, Budget], Publication | None]
    rebuild: Callable[[Path, int, int, pd.DataFrame], Publication | None]


def _rebuild_barometre(folder: Path, year: int, k: int, ledger: pd.DataFrame) -> Publication | None:
    found = barometre_inputs(folder, year)
    if found is None:
        return None
    tables, constraints, unprinted = found
    return restore(tables, k, ledger, constraints, unprinted=unprinted, source=LEDGER_FILE)


APART: dict[str, ApartGroup] = {
    "barometre": ApartGroup(
        "barometre",
        PATHS.barometer,
        (COUNTS_FILE, RESULTS_FILE),
        publish_barometre,
        _rebuild_barometre,
    ),
}
"""The reports searched in their own stage, by their name in the publication's groups."""


def _digest(group: ApartGroup, year: int, k: int, budget: Budget) -> str:
    """What the search read: its input files' bytes, the year, the threshold, the budget."""
    h = hashlib.sha256(json.dumps([group.name, year, k, asdict(budget)]).encode())
    folder = group.inputs(year)
    for name in group.files:
        path = folder / name
        h.update(name.encode() + b"\0")
        h.update(path.read_bytes() if path.exists() else b"(absent)")
        h.update(b"\0")
    return h.hexdigest()


def search_apart(name: str, year: int, k: int, budget: Budget) -> Publication | None:
    """Search ``name``'s pattern and write its record in ``outputs/suppression/<year>/<name>/``
    (whole or not at all): the ledger, the search summary, the digest of the inputs."""
    group = APART[name]
    digest = _digest(group, year, k, budget)
    pub = group.search(group.inputs(year), year, k, budget)
    record = {
        "rapport": name,
        "comptes": pub is not None,
        "empreinte_des_entrees": digest,
        "recherche": search_summary(pub) if pub is not None else {},
    }
    with atomic_dir(PATHS.suppression(year) / name) as out:
        if pub is not None:
            write_safe_csv(pub.ledger(), out / LEDGER_FILE, quote_all=False)
        (out / RECORD_FILE).write_text(
            json.dumps(record, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
        )
    return pub


def _searched(name: str, year: int, k: int, budget: Budget) -> tuple[bool, Publication | None]:
    """(True, the publication) rebuilt from the record of stage ``<name>_suppression``, or
    (False, None) when there is no record for these very inputs."""
    group = APART[name]
    folder = PATHS.suppression(year) / name
    try:
        record = json.loads((folder / RECORD_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False, None
    if not isinstance(record, dict) or record.get("empreinte_des_entrees") != _digest(
        group, year, k, budget
    ):
        return False, None
    if not record.get("comptes"):
        return True, None
    try:
        ledger = pd.read_csv(folder / LEDGER_FILE, dtype={"key": str, "status": str})
    except (OSError, ValueError):  # a record without its ledger: not a record
        return False, None
    pub = group.rebuild(group.inputs(year), year, k, ledger)
    if pub is not None:
        pub.search = _search_of(record.get("recherche") or {})
    return True, pub


def searched_or_search(name: str, year: int, k: int, budget: Budget) -> Publication | None:
    """``name``'s publication: the pattern its own stage searched, else searched here."""
    found, pub = _searched(name, year, k, budget)
    if found:
        return pub
    print(
        f"Masquage « {name} » : aucune recherche préalable pour ces entrées dans "
        f"{PATHS.suppression(year) / name}/ ; recherche faite ici (même résultat)."
    )
    return APART[name].search(APART[name].inputs(year), year, k, budget)
