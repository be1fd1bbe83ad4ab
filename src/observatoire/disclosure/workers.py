"""The publication's independent searches, run side by side on the machine's cores.

Each report's secondary suppression (annual report, seasonal plans, maps, street diagnosis,
relays, barometer, projects) reads its own inputs and searches its own pattern: no report's
search reads another's cells or result (the youth report's, which is protected against the
annual report, runs with it). Most of the stage's time is one of them (the barometer's integer
program), so :func:`run_groups` hands them to worker processes
(:func:`observatoire.core.workers.run_groups`), the longest first, and gathers what they
return; the pattern, the ledger and every written byte are those of the run in one process
(each search is deterministic and decides nothing on time). A worker hands back, with its
result, the linear programs it solved (:func:`~.suppression.solved_intervals`): the stage's
final audit of the whole publication finds them in its memo, as in the run in one process.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, TypeVar

from observatoire.core import workers as _pool
from observatoire.core.workers import WORKERS_ENV, WorkerLost, worker_processes
from observatoire.disclosure.suppression import remember_intervals, solved_intervals

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


def _with_solved(task: Callable[[], T]) -> tuple[T, dict[Any, Any]]:
    """Run one group in a worker; its result and the linear programs it solved (those the
    fork copied aside)."""
    before = frozenset(solved_intervals())
    value = task()
    return value, solved_intervals(since=before)


def run_groups(
    tasks: dict[str, Callable[[], T]], workers: int, first: Sequence[str] = ()
) -> dict[str, T]:
    """Each search group's result, by name, on ``workers`` processes
    (:func:`observatoire.core.workers.run_groups`; a lost worker said for the publication);
    the workers' solved programs join this process's memo."""
    if workers <= 1 or len(tasks) <= 1:
        return _pool.run_groups(tasks, workers, first, lost=_lost)
    wrapped = {name: partial(_with_solved, task) for name, task in tasks.items()}
    found = _pool.run_groups(wrapped, workers, first, lost=_lost)
    results: dict[str, T] = {}
    for name, (value, solved) in found.items():
        remember_intervals(solved)
        results[name] = value
    return results
