"""One pipeline stage at a time in a project: an exclusive lock on the project folder.

``dvc repro`` runs its stages one after the other, but nothing stopped an analyst from typing
``observatoire ingest`` in a second terminal while the first still ran, both writing the same
outputs. Every stage verb therefore takes :func:`project_lock` for its whole run (a stage run by
DVC is a subprocess of DVC: it takes and releases the lock like any other). The lock is an OS
file lock (``filelock``): it is released by the system when its holder dies, even by
``kill -9``, so it never needs clearing by hand. Beside it, a small JSON file says who holds it
(process, verb, since when), for the French message the second command prints.

``observatoire repro`` (core.scheduler) runs independent stages two at a time: it holds the
lock for the whole run and names itself in :data:`SCHEDULER_ENV` for the stages it starts
(through ``dvc repro``); a stage run for it (:func:`run_for_holder`) takes no lock of its own.
The stages it runs side by side are never upstream of one another, and DVC forbids two stages
to declare the same output, so they never write the same file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path

from observatoire.core.errors import ObservatoireError

__all__ = [
    "HOLDER_FILE",
    "LOCK_FILE",
    "SCHEDULER_ENV",
    "ProjectBusy",
    "project_lock",
    "run_for_holder",
]

LOCK_FILE = ".observatoire.verrou"
HOLDER_FILE = ".observatoire.verrou.json"
SCHEDULER_ENV = "OBSERVATOIRE_ORDONNANCEUR"
"""Set by ``observatoire repro`` for its stages: the process id of the lock's holder."""


class ProjectBusy(ObservatoireError):
    """Another stage holds the project lock."""

    exit_code = 75  # EX_TEMPFAIL: try again later


@contextlib.contextmanager
def project_lock(root: Path, verb: str, *, wait_s: float = 0.0) -> Iterator[None]:
    """Hold the project's lock while the block runs; if another process holds it, wait up to
    ``wait_s`` seconds, then raise :class:`ProjectBusy` naming the holder."""
    from filelock import FileLock, Timeout

    lock = FileLock(root / LOCK_FILE)
    try:
        lock.acquire(timeout=wait_s)
    except Timeout:
        raise ProjectBusy(_busy_message(root, verb, wait_s)) from None
    holder = root / HOLDER_FILE
    try:
        since = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        info = {"pid": os.getpid(), "verb": verb, "since": since}
        holder.write_text(json.dumps(info, ensure_ascii=False) + "\n", encoding="utf-8")
        yield
    finally:
        holder.unlink(missing_ok=True)
        lock.release()


def run_for_holder(root: Path) -> bool:
    """Whether this process runs a stage for the scheduler holding ``root``'s lock: the
    process named in :data:`SCHEDULER_ENV` holds the lock (its holder file says so) and is an
    ancestor of this process. Anything else (a variable copied into another terminal, a
    finished scheduler) is False, and the stage then asks for the lock as usual."""
    value = os.environ.get(SCHEDULER_ENV, "").strip()
    if not value.isdigit():
        return False
    try:
        info = json.loads((root / HOLDER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(info, dict) or info.get("pid") != int(value):
        return False
    import psutil

    try:
        return int(value) in {p.pid for p in psutil.Process().parents()}
    except psutil.Error:
        return False


def _busy_message(root: Path, verb: str, wait_s: float) -> str:
    try:
        info = json.loads((root / HOLDER_FILE).read_text(encoding="utf-8"))
        since = dt.datetime.fromisoformat(info["since"])
        elapsed = dt.datetime.now().astimezone() - since
        who = (
            f"l'étape « {info['verb']} » (processus {info['pid']}) tourne depuis "
            f"{since:%d/%m/%Y %H:%M:%S} ({_duration(elapsed)})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        who = "une autre étape tourne (qui, on ne peut pas le lire)"
    waited = f" après {wait_s:g} s d'attente" if wait_s > 0 else ""
    return (
        f"Projet occupé{waited} : {who} dans {root.resolve()}. « observatoire {verb} » n'a "
        "rien écrit.\n  À faire : attendez la fin de cette étape puis relancez, ou relancez "
        "avec --attendre SECONDES pour patienter. Un processus arrêté (même par kill -9) "
        "libère le verrou de lui-même."
    )


def _duration(delta: dt.timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
