"""The publication's independent searches, run side by side on the machine's cores.

Each report's secondary suppression (annual report, seasonal plans, maps, street diagnosis,
relays, barometer, projects) reads its own inputs and searches its own pattern: no report's
search reads another's cells or result (the youth report's, which is protected against the
annual report, runs with it). Most of the stage's time is one of them (the barometer's integer
program), so :func:`run_groups` hands them to worker processes
(:func:`observatoire.core.workers.run_groups`), the longest first, and gathers what they
return; the pattern, the ledger and every written byte are those of the run in one process
(each search is deterministic and decides nothing on time).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TypeVar

from observatoire.core import workers as _pool
from observatoire.core.workers import WORKERS_ENV, WorkerLost, worker_processes

__all__ = ["WORKERS_ENV", "SearchWorkerLost", "run_groups", "search_workers"]

T = TypeVar("T")

search_workers = worker_processes
"""The number of worker processes asked in ``OBSERVATOIRE_PROCESSUS`` (2 when unset)."""


class SearchWorkerLost(WorkerLost):
    """A worker process of the publication stopped without an answer (killed, out of memory)."""


def _lost(name: str) -> SearchWorkerLost:
    return SearchWorkerLost(
        "Publication : un processus de calcul du masquage s'est arrêté sans répondre "
        f"(mémoire épuisée ou processus tué ?) ; « {name} » n'est pas calculé. Rien "
        "n'a été écrit.\n  À faire : relancez l'étape ; si cela se répète, lancez-la "
        f"avec {WORKERS_ENV}=1 (un seul processus) et transmettez le message obtenu."
    )


def run_groups(
    tasks: dict[str, Callable[[], T]], workers: int, first: Sequence[str] = ()
) -> dict[str, T]:
    """Each search group's result, by name, on ``workers`` processes
    (:func:`observatoire.core.workers.run_groups`; a lost worker said for the publication)."""
    return _pool.run_groups(tasks, workers, first, lost=_lost)
