"""Fingerprint the pipeline's outputs and compare two fingerprints (a refactor changes none).

    python bench/compare_outputs.py record bench/results/outputs-before.json
    python bench/compare_outputs.py compare BEFORE.json AFTER.json

``record`` hashes (sha256) every file of the *contract*: ``data_clean/``, ``outputs/tables/`` and
every report's Quarto source (``outputs/**/*.qmd``), plus, for information, the other outputs
that are deterministic (metrics, linkage, validation, figures, raw sample). The code version the
reports and the workbook print (``(commit <sha>)``) is set aside before hashing; a workbook (a
zip) is hashed member by member with the same rule, so only its content counts. Executed
notebooks, HTML and PDF carry run times and are left out.

``compare`` prints what differs and exits 1 if a contract file differs, appeared or disappeared.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
import zipfile
from pathlib import Path

CONTRACT = ("data_clean", "outputs/tables")
INFORMATIVE = (
    "outputs/metrics",
    "outputs/linkage",
    "outputs/validation",
    "outputs/trends",
    "outputs/youth",
    "outputs/quality",
    "data_raw/sample",
    "data_raw/sample_truth",
    "data_raw/quarantine",
)
SKIPPED_SUFFIXES = {".ipynb", ".html", ".pdf", ".pptx", ".log"}
COMMIT = re.compile(rb"\(commit [0-9a-f]{7,40}\)")


def _normalise(data: bytes) -> bytes:
    return COMMIT.sub(b"(commit <version>)", data)


def file_digest(path: Path) -> str:
    data = path.read_bytes()
    if zipfile.is_zipfile(io.BytesIO(data)) and path.suffix in {".xlsx", ".ods", ".docx"}:
        h = hashlib.sha256()
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            for name in sorted(zf.namelist()):
                h.update(name.encode() + b"\0" + _normalise(zf.read(name)) + b"\0")
        return h.hexdigest()
    return hashlib.sha256(_normalise(data)).hexdigest()


def _files(root: Path, folder: str) -> list[Path]:
    base = root / folder
    if not base.exists():
        return []
    return sorted(p for p in base.rglob("*") if p.is_file() and p.suffix not in SKIPPED_SUFFIXES)


def record(root: Path = Path(".")) -> dict[str, dict[str, str]]:
    contract = {str(p.relative_to(root)): file_digest(p) for f in CONTRACT for p in _files(root, f)}
    for p in sorted((root / "outputs").rglob("*.qmd")):
        contract[str(p.relative_to(root))] = file_digest(p)
    informative = {
        str(p.relative_to(root)): file_digest(p)
        for f in INFORMATIVE
        for p in _files(root, f)
        if str(p.relative_to(root)) not in contract
    }
    return {"contract": contract, "informative": informative}


def compare(before: dict, after: dict) -> int:
    failed = 0
    for part in ("contract", "informative"):
        b, a = before.get(part, {}), after.get(part, {})
        changed = sorted(k for k in b.keys() & a.keys() if b[k] != a[k])
        gone, new = sorted(b.keys() - a.keys()), sorted(a.keys() - b.keys())
        same = len(b.keys() & a.keys()) - len(changed)
        print(f"{part}: {same} identical, {len(changed)} changed, {len(gone)} gone, {len(new)} new")
        for label, names in (("changed", changed), ("gone", gone), ("new", new)):
            for name in names:
                print(f"  {label}: {name}")
        if part == "contract":
            failed = int(bool(changed or gone or new))
    return failed


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "record":
        out = Path(argv[1])
        out.parent.mkdir(parents=True, exist_ok=True)
        fingerprint = record()
        out.write_text(json.dumps(fingerprint, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(
            f"{len(fingerprint['contract'])} contract files, "
            f"{len(fingerprint['informative'])} informative files → {out}"
        )
        return 0
    if len(argv) == 3 and argv[0] == "compare":
        before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in argv[1:])
        return compare(before, after)
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
