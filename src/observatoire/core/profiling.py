"""Where a stage's seconds go: start-up (interpreter, imports, notebook kernel) against work.

Off unless the environment names a file in ``OBSERVATOIRE_PROFIL`` (the benchmark
``bench/pipeline_stages.py`` sets it for a whole ``dvc repro``); then every stage run by the CLI
appends one JSON line to that file when it ends, and a notebook stage's kernel appends its own
line:

- the CLI's line (``"process": "stage"``): ``t_start_to_main`` (from the process's creation to
  the CLI's ``main``: interpreter, site, the CLI module and what it imports), ``t_imports`` (time
  in ``import`` statements run after that, outermost only, main thread), and for a notebook stage
  ``t_kernel`` (from handing the notebook to papermill to its first cell: kernel start and
  connection) and ``t_cells`` (first cell's start to last cell's end), ``t_total`` (creation to
  the line), ``peak_rss_mb`` (the process's own peak resident memory);
- the kernel's line (``"process": "kernel"``): its ``t_imports`` (the notebook's imports, timed
  from the kernel's start-up lines on) and ``peak_rss_mb``.

The timer wraps ``builtins.__import__`` only while profiling; nothing is recorded, imported or
changed otherwise.
"""

from __future__ import annotations

import builtins
import json
import os
import threading
import time
from pathlib import Path
from typing import Any

__all__ = [
    "PROFILE_ENV",
    "StageProfile",
    "kernel_arguments",
    "profile_file",
    "start_kernel_profile",
]

PROFILE_ENV = "OBSERVATOIRE_PROFIL"
_STAGE_ENV = "OBSERVATOIRE_STAGE"  # core.storage.STAGE_ENV, not imported: kept light


def profile_file() -> Path | None:
    """The file named by ``OBSERVATOIRE_PROFIL``, or None (profiling off)."""
    value = os.environ.get(PROFILE_ENV, "").strip()
    return Path(value) if value else None


class _ImportTimer:
    """Wall time spent in outermost ``import`` statements of the main thread."""

    def __init__(self) -> None:
        self.total = 0.0
        self._inside = False
        self._thread = threading.get_ident()
        self._original = builtins.__import__

    def __call__(self, name: str, *args: Any, **kwargs: Any) -> Any:
        if self._inside or threading.get_ident() != self._thread:
            return self._original(name, *args, **kwargs)
        self._inside = True
        start = time.perf_counter()
        try:
            return self._original(name, *args, **kwargs)
        finally:
            self.total += time.perf_counter() - start
            self._inside = False

    def install(self) -> _ImportTimer:
        builtins.__import__ = self
        return self

    def remove(self) -> None:
        if builtins.__import__ is self:
            builtins.__import__ = self._original


def _process_created() -> float:
    """The epoch second this process was created (10 ms resolution).

    On Linux, from the process's age: its start in ``/proc/self/stat`` (clock ticks since boot)
    against the same clock now (``CLOCK_BOOTTIME``). psutil's ``create_time`` adds that start to
    the boot time of ``/proc/stat``, a whole second that the wall clock has drifted from since
    boot: on the reference machine it placed every process's creation 0.6-0.7 s too early, and
    so counted that much phantom start-up in each stage."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")  # field 22, after pid and comm
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
        return time.time() - max(age, 0.0)
    except (OSError, AttributeError, ValueError, IndexError):  # not Linux
        import psutil

        return psutil.Process().create_time()


def _peak_rss_mb() -> float:
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def _append(path: Path, record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False) + "\n"
    # One write in append mode: lines of concurrent processes do not interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
    finally:
        os.close(fd)


class StageProfile:
    """The CLI's record of one stage run; inert when profiling is off."""

    def __init__(self) -> None:
        self.path = profile_file()
        self.stage: str | None = None  # the DVC stage's name, or the tool's verb
        self.fields: dict[str, Any] = {}
        self._timer: _ImportTimer | None = None
        if self.path is None:
            return
        self._created = _process_created()
        self._main = time.time()
        self._timer = _ImportTimer().install()

    @property
    def active(self) -> bool:
        return self.path is not None

    def add(self, **fields: Any) -> None:
        """Record extra timings (the notebook runner's kernel and cells)."""
        if self.active:
            self.fields.update(fields)

    def finish(self, status: int) -> None:
        if self.path is None or self._timer is None:
            return
        self._timer.remove()
        end = time.time()
        record = {
            "process": "stage",
            "stage": self.stage,
            "pid": os.getpid(),
            "created": round(self._created, 3),
            "ended": round(end, 3),
            "status": status,
            "t_start_to_main": round(self._main - self._created, 3),
            "t_imports": round(self._timer.total, 3),
            **{k: round(v, 3) if isinstance(v, float) else v for k, v in self.fields.items()},
            "t_total": round(end - self._created, 3),
            "peak_rss_mb": _peak_rss_mb(),
        }
        _append(self.path, record)


_CURRENT: StageProfile | None = None


def current() -> StageProfile | None:
    """The running stage's profile (set by the CLI), for the notebook runner's timings."""
    return _CURRENT


def begin() -> StageProfile:
    """Start the profile of this CLI run (inert when profiling is off)."""
    global _CURRENT
    _CURRENT = StageProfile()
    return _CURRENT


def kernel_arguments() -> list[str]:
    """Extra arguments for a notebook kernel's command line: while profiling, a start-up line
    that times the notebook's imports and writes the kernel's line at exit; else none."""
    if profile_file() is None:
        return []
    line = "__import__('observatoire.core.profiling').core.profiling.start_kernel_profile()"
    return [f"--IPKernelApp.exec_lines={line!s}"]


def start_kernel_profile() -> None:
    """Run in the kernel at start-up (``kernel_arguments``): time its imports; at exit, append
    its line. Binds no name in the notebook's namespace."""
    import atexit

    path = profile_file()
    if path is None:
        return
    timer = _ImportTimer().install()
    created = _process_created()

    def write() -> None:
        timer.remove()
        end = time.time()
        _append(
            path,
            {
                "process": "kernel",
                "stage": os.environ.get(_STAGE_ENV),
                "pid": os.getpid(),
                "created": round(created, 3),
                "ended": round(end, 3),
                "t_imports": round(timer.total, 3),
                "t_total": round(end - created, 3),
                "peak_rss_mb": _peak_rss_mb(),
            },
        )

    atexit.register(write)
