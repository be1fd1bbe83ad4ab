"""Writing outputs so that nothing half-written is ever left behind as if it were complete."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where a table is written: the key and lock steps stay quick
    import pandas as pd

__all__ = [
    "STAGE_ENV",
    "TEMP_PREFIX",
    "atomic_dir",
    "atomic_write_bytes",
    "pin_zip_times",
    "publish_members",
    "read_parquet",
    "sha256_file",
    "sweep_temporaries",
    "temp_dir",
    "temp_prefix",
    "write_csv",
    "write_json",
    "write_parquet",
]


# Every temporary entry the pipeline makes inside the project starts with TEMP_PREFIX, then the
# stage that made it (the CLI puts the stage's name in STAGE_ENV; a notebook kernel inherits it),
# then the name of what it stands for: ``.obs-tmp-report-observatoire-k3j9x2``. A kill leaves
# such entries behind; the next stage run sweeps them (see :func:`sweep_temporaries`).
TEMP_PREFIX = ".obs-tmp-"
STAGE_ENV = "OBSERVATOIRE_STAGE"
TOOL_OWNER = "outil"  # analyst's tools outside the pipeline (and tests): never swept by a stage
_SWEEP_PRUNE = frozenset({".git", ".dvc", ".venv", "node_modules", "__pycache__"})
# Names of the temporaries before TEMP_PREFIX (version 17 and earlier), swept in the output
# folders only: mkdtemp/mkstemp's eight-character suffixes, the report and render folders.
_LEGACY_ROOTS = ("data_clean", "data_raw", "outputs")
_LEGACY = re.compile(
    r"^\.(?:observatoire\.tmp-|jeunes-en-errance\.tmp-|rendu-|qualite-|validation\.tmp$"
    r"|.+\.tmp-[a-z0-9_]{8}$|.+\.(?:parquet|json|csv|html|ipynb|pptx|xlsx|png)\.[a-z0-9_]{8}$"
    r"|.+\.png\.\d+\.[0-9a-f]{32}\.tmp$)"
)


def temp_prefix(name: str) -> str:
    """The prefix of a temporary entry standing for ``name``, owned by the running stage."""
    owner = os.environ.get(STAGE_ENV) or TOOL_OWNER
    return f"{TEMP_PREFIX}{owner}-{name}-"


def temp_dir(parent: Path, name: str) -> Path:
    """A fresh temporary folder inside ``parent`` (same file system: renames are atomic)."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=temp_prefix(name), dir=parent))


def sweep_temporaries(root: Path, *, legacy: bool = True) -> list[Path]:
    """Remove the temporaries a killed stage left anywhere in the project ``root``.

    Called by every pipeline stage once it holds the project lock (core.lock): no other stage
    can then be running in this project, so every stage's temporary entry is debris, whoever
    made it. The analyst's tools (owner ``outil``) run without the lock and are left alone.
    Returns what was removed.
    """
    removed: list[Path] = []
    tool = f"{TEMP_PREFIX}{TOOL_OWNER}-"
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        for name in [*dirs, *files]:
            legacy_hit = legacy and _LEGACY.match(name) and _in_legacy_root(here, root)
            ours = name.startswith(TEMP_PREFIX) and not name.startswith(tool)
            if not (ours or legacy_hit):
                continue
            path = here / name
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)
            removed.append(path)
        dirs[:] = [d for d in dirs if d not in _SWEEP_PRUNE and (here / d).exists()]
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    return removed


def _in_legacy_root(folder: Path, root: Path) -> bool:
    try:
        first = folder.relative_to(root).parts[:1]
    except ValueError:
        return False
    return bool(first) and first[0] in _LEGACY_ROOTS


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@contextlib.contextmanager
def atomic_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; it replaces ``target`` only on success."""
    tmp = temp_dir(target.parent, target.name)
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = target.with_name(f"{temp_prefix(target.name)}old")
    if old.exists():
        shutil.rmtree(old)
    if target.exists():
        target.rename(old)
    tmp.rename(target)
    shutil.rmtree(old, ignore_errors=True)


def publish_members(staging: Path, target: Path, names: list[str]) -> None:
    """Move the named files and folders of ``staging`` into ``target``, each replaced whole.

    Two reports share ``outputs/reports/<year>/``; each stage owns only its own members, so
    neither may swap the whole folder. A folder member is renamed aside, then removed, so a
    reader never sees half of it.
    """
    target.mkdir(parents=True, exist_ok=True)
    for name in names:
        src, dst = staging / name, target / name
        if not src.exists():
            raise FileNotFoundError(src)
        if src.is_dir():
            old = target / f"{temp_prefix(name)}old"
            if old.exists():
                shutil.rmtree(old)
            if dst.exists():
                dst.rename(old)
            src.rename(dst)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(src, dst)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_json(path: Path, data: Any) -> None:
    """Deterministic JSON (sorted keys, fixed float formatting by json)."""
    text = json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True, default=str) + "\n"
    atomic_write_bytes(path, text.encode("utf-8"))


def json_safe(x: Any) -> Any:
    """A results payload as JSON can hold it: keys as text, NaN and infinities as null, numpy
    scalars as Python numbers (the stages' ``resultats.json`` files)."""
    if isinstance(x, dict):
        return {str(k): json_safe(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [json_safe(v) for v in x]
    if isinstance(x, float) and not math.isfinite(x):
        return None
    if hasattr(x, "item"):
        return json_safe(x.item())
    return x


def write_results_json(path: Path, payload: Any) -> None:
    """A stage's results file: :func:`json_safe`, keys in the order the stage wrote them."""
    text = json.dumps(json_safe(payload), ensure_ascii=False, indent=2, default=str) + "\n"
    path.write_text(text, encoding="utf-8")


def read_parquet(path: Path | str, columns: list[str] | None = None) -> pd.DataFrame:
    """The table of ``path`` (only ``columns`` if given), each column in one piece.

    The same frame as ``pandas.read_parquet`` (values, dtypes, index), but pyarrow reads a
    column in batches of 131 072 rows, and pandas keeps those chunks: every row selection of a
    text column then goes through a chunked ``take``, about twice as slow as on one chunk. A
    stage that selects rows of the contacts dozens of times (indicators, trends, validate)
    reads them with this function, chunks joined once.
    """
    import pyarrow.parquet as pq

    return pq.read_table(path, columns=columns).combine_chunks().to_pandas()


def write_parquet(frame: pd.DataFrame, path: Path) -> None:
    """Parquet without pandas' schema metadata drift: byte-identical for identical frames."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.replace_schema_metadata(None)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path.name), dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="zstd", write_statistics=True)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write_bytes(path, frame.to_csv(index=False, lineterminator="\n").encode("utf-8"))


def pin_zip_times(data: bytes, stamp: dt.datetime) -> bytes:
    """Rewrite a zip with every entry dated ``stamp`` (zip entries otherwise carry 'now'), and
    the document's creation and modification times too (openpyxl sets the modification time to
    'now' while saving; pandoc dates a presentation's creation 'now')."""
    out = io.BytesIO()
    w3cdtf = stamp.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    date_time = (stamp.year, stamp.month, stamp.day, stamp.hour, stamp.minute, stamp.second)
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=date_time)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(created|modified)[^>]*>)[^<]*(</dcterms:\2>)",
                    rb"\g<1>" + w3cdtf + rb"\g<3>",
                    content,
                )
            target.writestr(info, content)
    return out.getvalue()
