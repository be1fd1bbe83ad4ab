"""Running the analysis notebooks with papermill, as DVC stages.

The reviewed source of a notebook is plain text (jupytext ``py:percent``) in ``notebooks/``, with
a cell tagged ``parameters``. It is converted, executed by papermill in the project's kernel with
values from the params file, and kept executed under ``outputs/notebooks/`` as ``.ipynb`` and as
HTML with the code shown, for the steering committee's academics. A failing cell fails the stage;
papermill keeps the failed notebook there for diagnosis.

An interrupted run (Ctrl-C, or DVC/the system stopping the stage with SIGINT or SIGTERM, which
the CLI turns into ``KeyboardInterrupt``) shuts its kernel down: the kernel's connection file is
written in a temporary folder of the project, not in the user's Jupyter runtime folder, and on
any way out of :func:`run_notebook` the kernels still running as its children are stopped and
that folder removed. A stage killed outright (``kill -9``) cannot clean up: its kernel notices its
parent is gone within a second (ipykernel's parent poller) and exits, the folder is swept by the
next stage, and :func:`stop_orphan_kernels` stops any kernel of this project still running then.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from observatoire.core.errors import ObservatoireError
from observatoire.core.imports import skip_unused_grammars
from observatoire.core.storage import atomic_write_bytes, temp_dir

__all__ = [
    "KERNEL",
    "NOTEBOOK_DIR",
    "OUTPUT_DIR",
    "notebook_parameters",
    "PROJECT_ENV",
    "run_notebook",
    "stop_orphan_kernels",
    "write_note_notebook",
]

NOTEBOOK_DIR = Path("notebooks")
OUTPUT_DIR = Path("outputs/notebooks")
KERNEL = "observatoire"
# Set in a kernel's environment: the project folder whose stage started it.
PROJECT_ENV = "OBSERVATOIRE_PROJECT"
_STOP_WAIT_S = 5.0


def notebook_parameters(params_path: Path, year: int, disclosure_threshold: int) -> dict[str, Any]:
    """What papermill injects: the params file itself (the notebook loads its settings), and the
    report year and disclosure threshold it prints."""
    return {
        "params_file": str(params_path),
        "year": int(year),
        "disclosure_threshold": int(disclosure_threshold),
    }


def _kernel_name() -> str:
    from jupyter_client.kernelspec import find_kernel_specs

    return KERNEL if KERNEL in find_kernel_specs() else "python3"


def run_notebook(name: str, params_path: Path, year: int, disclosure_threshold: int) -> Path:
    """Execute ``notebooks/<name>.py`` with the parameters of :func:`notebook_parameters`;
    returns the executed ``.ipynb`` path.

    The kernel is started first, so that it boots on the other core while this process imports
    jupytext, papermill and nbconvert; papermill is handed the running kernel. The executed
    notebook is written once, at the end (or at the failing cell), not after every cell."""
    source = NOTEBOOK_DIR / f"{name}.py"
    if not source.exists():
        raise ObservatoireError(f"Carnet introuvable : {source}.")
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    executed = OUTPUT_DIR / f"{name}.ipynb"
    kernel = _kernel_name()
    with _kernel_sandbox(name) as tmp:
        km = _start_kernel(kernel, tmp / "runtime")
        try:
            skip_unused_grammars()
            import jupytext
            import papermill as pm

            nb = jupytext.read(source)
            nb.metadata["kernelspec"] = {
                "name": kernel,
                "display_name": "Python (observatoire)",
                "language": "python",
            }
            src_ipynb = tmp / f"{name}.ipynb"
            jupytext.write(nb, src_ipynb)
            print(f"Exécution du carnet {source} (papermill, noyau « {kernel} »)…")
            handed = time.time()
            try:
                done = pm.execute_notebook(
                    str(src_ipynb),
                    str(executed),
                    parameters=notebook_parameters(params_path, year, disclosure_threshold),
                    kernel_name=kernel,
                    cwd=str(Path.cwd()),
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    km=km,
                )
            except pm.PapermillExecutionError as exc:
                raise ObservatoireError(
                    f"Le carnet {source} a échoué à la cellule {exc.exec_count} : {exc.ename}: "
                    f"{exc.evalue}\n  Le carnet exécuté jusqu'à l'erreur est conservé : {executed}"
                ) from None
        except BaseException:
            _shutdown_kernel(km, now=True)
            raise
        _shutdown_kernel(km, now=False)
        _profile_cells(done, handed)
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="lab")
    html, _ = exporter.from_filename(str(executed))
    atomic_write_bytes(OUTPUT_DIR / f"{name}.html", html.encode("utf-8"))
    print(f"  Carnet exécuté : {executed} et {OUTPUT_DIR / f'{name}.html'}")
    return executed


def _start_kernel(kernel: str, runtime: Path) -> Any:
    """Start the project's kernel (connection file and sockets in ``runtime``) in the current
    folder; returns its manager without waiting for it to be ready (papermill waits)."""
    from jupyter_core.utils import run_sync

    manager = _kernel_manager_class(runtime / "noyau.json", _socket_prefix(runtime))
    km = manager(kernel_name=kernel)
    run_sync(km.start_kernel)(cwd=str(Path.cwd()))
    return km


def _shutdown_kernel(km: Any, *, now: bool) -> None:
    """Stop the kernel: asked politely after a run (it writes what it must at exit), at once
    after a failure or an interruption; the sandbox stops whatever is left either way."""
    from jupyter_core.utils import run_sync

    with contextlib.suppress(Exception):
        if not run_sync(km.is_alive)():
            return
        if now:
            run_sync(km.shutdown_kernel)(now=True)
            return
        # jupyter_client's shutdown_kernel interrupts the kernel first, and an idle kernel then
        # prints « KeyboardInterrupt caught in kernel » on the stage's output: after a finished
        # run there is nothing to interrupt, so the shutdown request is sent on its own.
        km.stop_restarter()
        run_sync(km.request_shutdown)()
        run_sync(km.finish_shutdown)()
        run_sync(km.cleanup_resources)()


def _profile_cells(nb: Any, handed: float) -> None:
    """While profiling (core.profiling), the kernel's start (papermill handed the notebook →
    first cell starts) and the cells' run (first start → last end), from papermill's times."""
    from observatoire.core import profiling

    profile = profiling.current()
    if profile is None or not profile.active:
        return
    from datetime import datetime

    def stamps(key: str) -> list[float]:
        cells = (c.metadata.get("papermill", {}).get(key) for c in nb.cells)
        return [datetime.fromisoformat(t).timestamp() for t in cells if t]

    starts, ends = stamps("start_time"), stamps("end_time")
    if starts and ends:
        profile.add(t_kernel=min(starts) - handed, t_cells=max(ends) - min(starts))


@contextlib.contextmanager
def _kernel_sandbox(name: str) -> Iterator[Path]:
    """A temporary folder of the project for the notebook's source and the kernel's connection
    file; on the way out, however it is taken, kernels still running are stopped and the folder
    removed."""
    tmp = temp_dir(OUTPUT_DIR, name)
    runtime = tmp / "runtime"
    runtime.mkdir()
    saved = {k: os.environ.get(k) for k in ("JUPYTER_RUNTIME_DIR", PROJECT_ENV)}
    os.environ["JUPYTER_RUNTIME_DIR"] = str(runtime.resolve())
    os.environ[PROJECT_ENV] = str(Path.cwd().resolve())
    try:
        yield tmp
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _stop(_child_kernels())
        shutil.rmtree(tmp, ignore_errors=True)
        for folder in _SHORT_SOCKET_DIRS:
            shutil.rmtree(folder, ignore_errors=True)
        _SHORT_SOCKET_DIRS.clear()


# A Unix socket's path holds at most 107 bytes; ``<prefix>-<port>`` must fit.
_MAX_SOCKET_PREFIX = 96
_SHORT_SOCKET_DIRS: list[Path] = []


def _socket_prefix(runtime: Path) -> Path:
    """Where the kernel's local sockets go: beside its connection file, or, when the project lies
    too deep for a socket path, in a private folder of the system's temporary folder (mode 0700,
    removed with the sandbox)."""
    prefix = runtime.resolve() / "k"
    if len(str(prefix)) <= _MAX_SOCKET_PREFIX:
        return prefix
    folder = Path(tempfile.mkdtemp(prefix="obs-noyau-"))
    _SHORT_SOCKET_DIRS.append(folder)
    return folder / "k"


def _kernel_manager_class(connection_file: Path, socket_prefix: Path) -> type:
    """nbclient's kernel manager with the connection file at ``connection_file`` (jupyter_client
    would write it in the system's temporary folder, where a kill leaves it for good), talking to
    its kernel over local sockets named ``<socket_prefix>-<n>`` rather than TCP ports: nothing
    listens on the network, and the kernel has no reason to warn (in English) about unencrypted
    TCP."""
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    from observatoire.core.profiling import kernel_arguments

    class ProjectKernelManager(AsyncKernelManager):
        def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
            return super().format_kernel_cmd(extra_arguments) + kernel_arguments()

        @default("connection_file")
        def _connection_file_default(self) -> str:
            return str(connection_file.resolve())

        @default("transport")
        def _transport_default(self) -> str:
            return "ipc"

        @default("ip")
        def _ip_default(self) -> str:
            return str(socket_prefix)

    return ProjectKernelManager


def _is_kernel(proc: Any) -> bool:
    import psutil

    try:
        return any("ipykernel" in part for part in proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return False


def _child_kernels() -> list[Any]:
    import psutil

    return [p for p in psutil.Process().children(recursive=True) if _is_kernel(p)]


def _stop(processes: list[Any]) -> None:
    """SIGTERM, then SIGKILL what is still there after a few seconds."""
    import psutil

    for proc in processes:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.terminate()
    _, alive = psutil.wait_procs(processes, timeout=_STOP_WAIT_S)
    for proc in alive:
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            proc.kill()
    psutil.wait_procs(alive, timeout=_STOP_WAIT_S)


def stop_orphan_kernels(root: Path) -> list[int]:
    """Stop the kernels a killed stage of the project ``root`` left running; returns their pids.

    Only called under the project lock (core.lock): no stage of this project runs then, so a
    kernel whose environment names this project belongs to no one. Kernels of other projects,
    of other users, of the analyst's Jupyter, are never touched.
    """
    import psutil

    project = str(root.resolve())
    found = []
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid == os.getpid() or not _is_kernel(proc):
                continue
            if proc.environ().get(PROJECT_ENV) == project:
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    _stop(found)
    return [p.pid for p in found]


def write_note_notebook(name: str, title: str, text: str) -> Path:
    """``outputs/notebooks/<name>.ipynb`` and ``.html`` holding one French note instead of an
    executed analysis: what a stage writes when its input cannot support the analysis (the
    reason is the note), so that the stage's declared outputs exist and say why."""
    skip_unused_grammars()
    import nbformat
    from nbconvert import HTMLExporter

    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}\n\n{text}")]
    executed = OUTPUT_DIR / f"{name}.ipynb"
    atomic_write_bytes(executed, nbformat.writes(nb).encode("utf-8"))
    body, _ = HTMLExporter(template_name="lab").from_notebook_node(nb)
    atomic_write_bytes(OUTPUT_DIR / f"{name}.html", body.encode("utf-8"))
    return executed
