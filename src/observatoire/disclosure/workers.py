"""The publication's independent searches, run side by side on the machine's cores.

Each report's secondary suppression (annual report, seasonal plans, maps, street diagnosis,
relays, barometer, projects) reads its own inputs and searches its own pattern: no report's
search reads another's cells or result (the youth report's, which is protected against the
annual report, runs with it). Most of the stage's time is one of them (the barometer's integer
program), so :func:`run_groups` hands them to worker processes, the longest first, and gathers
what they return; the pattern, the ledger and every written byte are those of the run in one
process (each search is deterministic and decides nothing on time). A worker hands back, with
its result, the linear programs it solved (:func:`~.suppression.solved_intervals`): the stage's
final audit of the whole publication finds them in its memo, as in the run in one process.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from typing import Any, TypeVar

from observatoire.core.errors import ObservatoireError
from observatoire.core.processes import WORKERS_ENV, fork_context, worker_processes
from observatoire.disclosure.suppression import remember_intervals, solved_intervals

__all__ = ["WORKERS_ENV", "SearchWorkerLost", "run_groups", "search_workers"]

T = TypeVar("T")


class SearchWorkerLost(ObservatoireError):
    """A worker process of the publication stopped without an answer (killed, out of memory)."""


search_workers = worker_processes
"""The number of worker processes asked in ``OBSERVATOIRE_PROCESSUS`` (2 when unset)."""


@dataclass(frozen=True)
class _Outcome:
    """What a group's worker sends back: its result, or the analyst's error it raised (as its
    class, arguments and attributes: the error classes' own constructors do not all accept
    their message again), what it printed and the linear programs it solved (their intervals,
    by content: :func:`~.suppression.solved_intervals`)."""

    value: Any = None
    error: tuple[type[ObservatoireError], tuple[Any, ...], dict[str, Any]] | None = None
    out: str = ""
    err: str = ""
    solved: dict[Any, Any] = field(default_factory=dict)


def _run_captured(task: Callable[[], Any]) -> _Outcome:
    """Run one group in a worker, its printed lines kept to be printed by the stage in order."""
    out, err = io.StringIO(), io.StringIO()
    before = frozenset(solved_intervals())  # the memo the fork copied, if any
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            value = task()
        except ObservatoireError as exc:
            error = (type(exc), exc.args, dict(vars(exc)))
            return _Outcome(error=error, out=out.getvalue(), err=err.getvalue())
    solved = solved_intervals(since=before)
    return _Outcome(value=value, out=out.getvalue(), err=err.getvalue(), solved=solved)


def _rebuilt(error: tuple[type[ObservatoireError], tuple[Any, ...], dict[str, Any]]) -> Exception:
    """The worker's error, the same class, message and attributes."""
    cls, args, state = error
    exc = cls.__new__(cls)
    exc.args = args
    vars(exc).update(state)
    return exc


def _context() -> multiprocessing.context.BaseContext:
    """Fork where the system has it; the pool is made before the stage's first linear program,
    so no HiGHS state is copied."""
    return fork_context()


def run_groups(
    tasks: dict[str, Callable[[], T]], workers: int, first: Sequence[str] = ()
) -> dict[str, T]:
    """Each task's result, by name, computed on ``workers`` processes.

    ``tasks`` are independent (none reads what another computes) and listed in the order of the
    run in one process: ``workers`` = 1 runs them so, in this process, exactly as before.
    Otherwise they go to a pool of worker processes, ``first`` (the longest) started first, the
    others in their order; each must pickle (a module function and its arguments). What the
    groups print is printed once they end, in the tasks' order (never interleaved), and a group's
    error is raised as in the run in one process: the first group, in the tasks' order, that
    fails (the groups after it are stopped, as they would never have run).
    """
    if workers <= 1 or len(tasks) <= 1:
        return {name: task() for name, task in tasks.items()}
    order = list(tasks)
    schedule = [n for n in first if n in tasks] + [n for n in order if n not in first]
    pool = ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=_context())
    try:
        futures = {name: pool.submit(_run_captured, tasks[name]) for name in schedule}
        failed = _wait_for_first_failure(order, futures)
        if failed is not None:
            _stop(pool)
    except BaseException:  # interrupted (Ctrl-C): no search left running behind
        _stop(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    results: dict[str, T] = {}
    for name in order:
        future = futures[name]
        if failed is not None and order.index(name) > order.index(failed):
            break
        if (exc := future.exception()) is not None:
            if isinstance(exc, BrokenProcessPool):
                raise SearchWorkerLost(
                    "Publication : un processus de calcul du masquage s'est arrêté sans répondre "
                    f"(mémoire épuisée ou processus tué ?) ; « {name} » n'est pas calculé. Rien "
                    "n'a été écrit.\n  À faire : relancez l'étape ; si cela se répète, lancez-la "
                    f"avec {WORKERS_ENV}=1 (un seul processus) et transmettez le message obtenu."
                ) from None
            raise exc
        outcome: _Outcome = future.result()
        sys.stdout.write(outcome.out)
        sys.stderr.write(outcome.err)
        if outcome.error is not None:
            raise _rebuilt(outcome.error) from None
        remember_intervals(outcome.solved)
        results[name] = outcome.value
    return results


def _failed(future: Future[_Outcome]) -> bool:
    if not future.done() or future.cancelled():
        return False
    return future.exception() is not None or future.result().error is not None


def _wait_for_first_failure(order: list[str], futures: dict[str, Future[_Outcome]]) -> str | None:
    """Wait until every group has ended, or until the first group (in ``order``) that fails is
    known: a failed group, all before it ended well. The groups after it are cancelled."""
    while True:
        failed = next((name for name in order if _failed(futures[name])), None)
        before = order if failed is None else order[: order.index(failed)]
        running = [futures[name] for name in before if not futures[name].done()]
        if failed is not None:
            for name in order[order.index(failed) + 1 :]:
                futures[name].cancel()
        if not running:
            return failed
        wait(running, return_when=FIRST_COMPLETED)


def _stop(pool: ProcessPoolExecutor) -> None:
    """End the workers still running a group whose result no longer matters (after a failure):
    a search can last minutes and cannot be interrupted otherwise. ``ProcessPoolExecutor`` has
    no public way to do it before Python 3.14 (``terminate_workers``)."""
    terminate = getattr(pool, "terminate_workers", None)
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
