"""How many processes a stage may run side by side: ``OBSERVATOIRE_PROCESSUS``.

A property of the machine, not of the study: what a stage writes is the same whatever it is,
so it is no DVC parameter. The publication's searches (:mod:`observatoire.disclosure.workers`)
and the leak guard (:func:`observatoire.guard.leaks.scan_tree`) read it.
"""

from __future__ import annotations

import multiprocessing
import os

from observatoire.core.errors import ObservatoireError

__all__ = ["WORKERS_ENV", "fork_context", "worker_processes"]

WORKERS_ENV = "OBSERVATOIRE_PROCESSUS"
"""Processes a stage may use (default 2; 1: everything in the stage's own process, one step
after the other, as before)."""


def worker_processes() -> int:
    """The number of processes asked in ``OBSERVATOIRE_PROCESSUS`` (2 when unset)."""
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


def fork_context() -> multiprocessing.context.BaseContext:
    """Fork where the system has it (the workers start at once, with the parent's memory:
    nothing to import or load again, nothing to pickle); spawn elsewhere."""
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")
