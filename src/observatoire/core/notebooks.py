"""Running the analysis notebooks with papermill, as DVC stages.

The reviewed source of a notebook is plain text (jupytext ``py:percent``) in ``notebooks/``, with
a cell tagged ``parameters``. It is converted, executed by papermill in the project's kernel with
values from the params file, and kept executed under ``outputs/notebooks/`` as ``.ipynb`` and as
HTML with the code shown, for the steering committee's academics. A failing cell fails the stage;
papermill keeps the failed notebook there for diagnosis.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from observatoire.core.errors import ObservatoireError
from observatoire.core.storage import atomic_write_bytes

__all__ = [
    "KERNEL",
    "NOTEBOOK_DIR",
    "OUTPUT_DIR",
    "notebook_parameters",
    "run_notebook",
    "write_note_notebook",
]

NOTEBOOK_DIR = Path("notebooks")
OUTPUT_DIR = Path("outputs/notebooks")
KERNEL = "observatoire"


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
    returns the executed ``.ipynb`` path."""
    import jupytext
    import papermill as pm
    from nbconvert import HTMLExporter

    source = NOTEBOOK_DIR / f"{name}.py"
    if not source.exists():
        raise ObservatoireError(f"Carnet introuvable : {source}.")
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)
    executed = OUTPUT_DIR / f"{name}.ipynb"
    nb = jupytext.read(source)
    kernel = _kernel_name()
    nb.metadata["kernelspec"] = {
        "name": kernel,
        "display_name": "Python (observatoire)",
        "language": "python",
    }
    with tempfile.TemporaryDirectory() as tmp:
        src_ipynb = Path(tmp) / f"{name}.ipynb"
        jupytext.write(nb, src_ipynb)
        print(f"Exécution du carnet {source} (papermill, noyau « {kernel} »)…")
        try:
            pm.execute_notebook(
                str(src_ipynb),
                str(executed),
                parameters=notebook_parameters(params_path, year, disclosure_threshold),
                kernel_name=kernel,
                cwd=str(Path.cwd()),
                progress_bar=False,
                log_output=False,
            )
        except pm.PapermillExecutionError as exc:
            raise ObservatoireError(
                f"Le carnet {source} a échoué à la cellule {exc.exec_count} : {exc.ename}: "
                f"{exc.evalue}\n  Le carnet exécuté jusqu'à l'erreur est conservé : {executed}"
            ) from None
    exporter = HTMLExporter(template_name="lab")
    html, _ = exporter.from_filename(str(executed))
    atomic_write_bytes(OUTPUT_DIR / f"{name}.html", html.encode("utf-8"))
    print(f"  Carnet exécuté : {executed} et {OUTPUT_DIR / f'{name}.html'}")
    return executed


def write_note_notebook(name: str, title: str, text: str) -> Path:
    """``outputs/notebooks/<name>.ipynb`` and ``.html`` holding one French note instead of an
    executed analysis: what a stage writes when its input cannot support the analysis (the
    reason is the note), so that the stage's declared outputs exist and say why."""
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
