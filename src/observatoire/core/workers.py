"""Independent pieces of a stage's work, run side by side on the machine's cores.

:func:`run_groups` hands named tasks (none reads what another computes) to worker processes and
gathers what they return in the order of the run in one process: what they print, their results
and the first error are those of that run, so every written byte is too. Used by the
publication (each report's secondary suppression: :mod:`observatoire.disclosure.workers`), by
ingest (each partner's exports: :func:`observatoire.intake.ingest.ingest_network`), by the
guard's identity collection and its scan of field notes (:mod:`observatoire.guard.leaks`) and
by the synthetic sample's independent parts.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

from observatoire.core.errors import ObservatoireError

__all__ = ["WORKERS_ENV", "WorkerLost", "fork_context", "run_groups", "worker_processes"]

T = TypeVar("T")

WORKERS_ENV = "OBSERVATOIRE_PROCESSUS"
"""Worker processes of the stages that use them (publication, ingest; default 2; 1: all in the
stage's own process, one after the other). A property of the machine, not of the study: the
outputs are the same whatever it is, so it is no DVC parameter."""


class WorkerLost(ObservatoireError):
    """A worker process stopped without an answer (killed, out of memory)."""


def worker_processes() -> int:
    """The number of worker processes asked in ``OBSERVATOIRE_PROCESSUS`` (2 when unset)."""
    value = os.environ.get(WORKERS_ENV, "").strip()
    if not value:
        return 2
    if not value.isdigit() or int(value) < 1:
        raise ObservatoireError(
            f"{WORKERS_ENV}={value!r} : attendu un nombre entier de processus, au moins 1.\n"
            f"  À faire : {WORKERS_ENV}=1 pour tout calculer dans un seul processus, 2 (par "
            "défaut) pour deux processus."
        )
    return int(value)


@dataclass(frozen=True)
class _Outcome:
    """What a group's worker sends back: its result, or the analyst's error it raised (as its
    class, arguments and attributes: the error classes' own constructors do not all accept
    their message again), and what it printed."""

    value: Any = None
    error: tuple[type[ObservatoireError], tuple[Any, ...], dict[str, Any]] | None = None
    out: str = ""
    err: str = ""


def _run_captured(task: Callable[[], Any]) -> _Outcome:
    """Run one task in a worker, its printed lines kept to be printed by the stage in order."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            value = task()
        except ObservatoireError as exc:
            error = (type(exc), exc.args, dict(vars(exc)))
            return _Outcome(error=error, out=out.getvalue(), err=err.getvalue())
    return _Outcome(value=value, out=out.getvalue(), err=err.getvalue())


def _rebuilt(error: tuple[type[ObservatoireError], tuple[Any, ...], dict[str, Any]]) -> Exception:
    """The worker's error, the same class, message and attributes."""
    cls, args, state = error
    exc = cls.__new__(cls)
    exc.args = args
    vars(exc).update(state)
    return exc


def fork_context() -> multiprocessing.context.BaseContext:
    """Fork where the system has it (the workers start at once, nothing to import again, and
    what the stage set up before, e.g. the publication's inputs, is shared); the publication
    makes its pool before its first linear program, so no HiGHS state is copied."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _worker_signals() -> None:
    """A worker's signals (run as it starts): SIGTERM and SIGHUP end it at once, SIGINT is left
    to the stage's process, which stops its workers itself.

    A forked worker inherits the stage's handlers, which turn SIGTERM into KeyboardInterrupt so
    that the stage can clean up (``cli._stage_run``). In a worker that is a hang: stopped by
    :func:`_stop` while it writes a large result to the pool's pipe, it caught the interruption,
    tried to send it back through the same pipe, which nobody read any more, and the stage
    waited for it for ever (seen once, ingest's test of an undecodable file)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def run_groups(
    tasks: dict[str, Callable[[], T]],
    workers: int,
    first: Sequence[str] = (),
    *,
    lost: Callable[[str], WorkerLost] | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> dict[str, T]:
    """Each task's result, by name, computed on ``workers`` processes.

    ``tasks`` are independent (none reads what another computes) and listed in the order of the
    run in one process: ``workers`` = 1 runs them so, in this process, exactly as before.
    Otherwise they go to a pool of worker processes, ``first`` (the longest) started first, the
    others in their order; each must pickle (a module function and its arguments). What the
    groups print is printed once they end, in the tasks' order (never interleaved), and a group's
    error is raised as in the run in one process: the first group, in the tasks' order, that
    fails (the groups after it are stopped, as they would never have run). A worker that stops
    without answering raises ``lost(name)`` (the stage's French message), by default a general
    one. ``meanwhile`` (workers only) is run in this process while the workers compute: a set-up
    the stage needs afterwards, e.g. loading a model (the workers, forked before, never hold it).
    """
    if workers <= 1 or len(tasks) <= 1:
        return {name: task() for name, task in tasks.items()}
    order = list(tasks)
    schedule = [n for n in first if n in tasks] + [n for n in order if n not in first]
    pool = ProcessPoolExecutor(
        max_workers=min(workers, len(tasks)),
        mp_context=fork_context(),
        initializer=_worker_signals,
    )
    try:
        futures = {name: pool.submit(_run_captured, tasks[name]) for name in schedule}
        if meanwhile is not None:
            meanwhile()
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
                raise (lost or _lost)(name) from None
            raise exc
        outcome: _Outcome = future.result()
        sys.stdout.write(outcome.out)
        sys.stderr.write(outcome.err)
        if outcome.error is not None:
            raise _rebuilt(outcome.error) from None
        results[name] = outcome.value
    return results


def _lost(name: str) -> WorkerLost:
    return WorkerLost(
        f"Un processus de calcul s'est arrêté sans répondre (mémoire épuisée ou processus tué ?) ;"
        f" « {name} » n'est pas calculé. Rien n'a été écrit.\n  À faire : relancez l'étape ; si "
        f"cela se répète, lancez-la avec {WORKERS_ENV}=1 (un seul processus) et transmettez le "
        "message obtenu."
    )


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
