"""Peak memory and time of `observatoire check` and of the ingest reader on oversized exports.

    python bench/hostile_sizes.py            # after: this tree's code, default ingest.limits
    python bench/hostile_sizes.py --before /work/main   # also the code of another checkout,
                                                        # capped (--cap-gb, --timeout)

The inputs of issue 17 (defect 5), generated in a temporary folder (nothing large is committed):

* ``csv_200mb``: a 200 MB night-shelter export (the sample's rows repeated);
* ``xlsx_bomb``: a ~7 MB workbook holding ~1.8 GB of sheet XML (formatted empty cells);
* ``cell_10mb``: a CSV with one 10 MB cell.

Each command runs in its own process; its peak resident memory is read from
``getrusage(RUSAGE_CHILDREN)`` in a wrapper process. The « before » runs (another checkout's
code, e.g. the main branch before the limits) are capped in address space (``--cap-gb``,
default 2) and time (``--timeout``, default 120 s) so that the machine is not exhausted: a
MemoryError or a timeout there is the finding. Results in ``bench/results/hostile_sizes.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = (
    "N° dossier;Nom;Prénom;Date de naissance;Sexe;Nationalité;Date d'entrée;Date de sortie;"
    "Nuitées;Participation (€)\r\n"
).encode("cp1252")
WRAPPER = """
import resource, subprocess, sys, time
cap = int(sys.argv[1])
def limit():
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
t = time.time()
try:
    r = subprocess.run(sys.argv[3:], capture_output=True, timeout=float(sys.argv[2]),
                       preexec_fn=limit, cwd=None)
    code, out = r.returncode, (r.stdout + r.stderr).decode("utf-8", "replace")
except subprocess.TimeoutExpired:
    code, out = "timeout", ""
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.time() - t, code)
print(out[-1500:])
"""

INGEST = """
import sys
from pathlib import Path
from observatoire.config.settings import load_settings
from observatoire.core.errors import ObservatoireError
from observatoire.intake.ingest import ingest_network
from observatoire.intake.mapping import load_partners
from observatoire.intake.pseudonymise import Pseudonymiser
partners = load_partners(Path("params/partners"), Path("params/codes"))
partner = {sys.argv[2]: partners[sys.argv[2]]}
limits = getattr(load_settings().ingest, "limits", None)
kwargs = {"limits": limits} if limits is not None else {}
try:
    r = ingest_network(Path(sys.argv[1]), partner, Pseudonymiser(b"k" * 32), lambda *_: None,
                       **kwargs)
    print("lu", sum(f.rows_read for f in r.files))
except ObservatoireError as exc:
    print(exc)
    sys.exit(2)
"""


def make_csv_200mb(path: Path, size: int = 200_000_000) -> None:
    rows = (ROOT / "data_raw/sample/abri_nuit/abri_nuit_sejours_2024.csv").read_bytes()
    body = rows.split(b"\r\n", 1)[1]
    with path.open("wb") as fh:
        fh.write(HEADER)
        written = len(HEADER)
        while written < size:
            fh.write(body)
            written += len(body)


def make_cell_10mb(path: Path) -> None:
    row = "AN-1;{};Zoé;07/03/1990;F;Belge;02/01/2024;05/01/2024;3;7,50\r\n"
    path.write_bytes(HEADER + row.format("x" * 10_000_000).encode("cp1252"))


def make_xlsx_bomb(path: Path, sheet_bytes: int = 1_780_000_000) -> None:
    """A real workbook whose sheet holds ~1.78 GB of formatted empty cells (deflate ~250:1)."""
    src = zipfile.ZipFile(ROOT / "data_raw/sample/maison_accueil/maison_accueil_2024.xlsx")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if not info.filename.startswith("xl/worksheets/sheet1"):
                dst.writestr(info.filename, body)
                continue
            head, tail = body.split(b"</sheetData>")
            with dst.open(info.filename, "w", force_zip64=True) as out:
                out.write(head)
                letters = [chr(65 + i // 26) + chr(65 + i % 26) for i in range(50)]
                r, written = 10_000, len(head)
                while written < sheet_bytes:
                    chunk = b"".join(
                        b'<row r="%d">' % (r + i)
                        + b"".join(b'<c r="%s%d" s="1"/>' % (c.encode(), r + i) for c in letters)
                        + b"</row>"
                        for i in range(2000)
                    )
                    out.write(chunk)
                    written += len(chunk)
                    r += 2000
                out.write(b"</sheetData>" + tail)


def run(cmd: list[str], cwd: Path, cap_gb: float, timeout: float) -> dict:
    cap = int(cap_gb * 1e9) if cap_gb else 0
    env = {"PYTHONPATH": f"{cwd}/src:{cwd}", "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}
    r = subprocess.run(
        [sys.executable, "-c", WRAPPER, str(cap), str(timeout), *cmd],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
    )
    first, _, rest = r.stdout.partition("\n")
    rss_kb, seconds, code = first.split()
    said = rest.strip()
    return {
        "peak_rss_mb": round(int(rss_kb) / 1024),
        "seconds": round(float(seconds), 1),
        "exit_code": code,
        "message": said[-600:],
    }


def measure(tree: Path, files: dict[str, tuple[Path, str]], raw: Path, cap: float, timeout: float):
    out: dict[str, dict] = {}
    for case, (path, partner) in files.items():
        obs = [sys.executable, "-m", "observatoire.cli"]
        out[f"check/{case}"] = run(
            [*obs, "check", str(path), "--partner", partner], tree, cap, timeout
        )
        print(case, "check", out[f"check/{case}"]["peak_rss_mb"], "Mo", flush=True)
        out[f"ingest/{case}"] = run(
            [sys.executable, "-c", INGEST, str(raw / case), partner], tree, cap, timeout
        )
        print(case, "ingest", out[f"ingest/{case}"]["peak_rss_mb"], "Mo", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", type=Path, help="another checkout to measure, capped")
    parser.add_argument("--cap-gb", type=float, default=2.0)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args()
    results: dict = {"inputs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        raw = Path(tmp)
        files = {
            "csv_200mb": (raw / "csv_200mb/abri_nuit/abri_nuit_sejours_2024.csv", "abri_nuit"),
            "cell_10mb": (raw / "cell_10mb/abri_nuit/abri_nuit_sejours_2024.csv", "abri_nuit"),
            "xlsx_bomb": (
                raw / "xlsx_bomb/maison_accueil/maison_accueil_2024.xlsx",
                "maison_accueil",
            ),
        }
        for path, _ in files.values():
            path.parent.mkdir(parents=True)
        t = time.time()
        make_csv_200mb(files["csv_200mb"][0])
        make_cell_10mb(files["cell_10mb"][0])
        make_xlsx_bomb(files["xlsx_bomb"][0])
        refus = ROOT / "data_raw/sample/abri_nuit/abri_nuit_refus_2024.csv"
        for case in ("csv_200mb", "cell_10mb"):
            (raw / case / "abri_nuit/abri_nuit_refus_2024.csv").write_bytes(refus.read_bytes())
        for case, (path, _) in files.items():
            info = {"bytes": path.stat().st_size}
            if path.suffix == ".xlsx":
                with zipfile.ZipFile(path) as z:
                    info["uncompressed_bytes"] = sum(i.file_size for i in z.infolist())
            results["inputs"][case] = info
        print(f"entrées générées en {time.time() - t:.0f} s", flush=True)
        results["after"] = measure(ROOT, files, raw, 0, args.timeout)
        if args.before:
            results["before"] = measure(args.before, files, raw, args.cap_gb, args.timeout)
            results["before_cap_gb"] = args.cap_gb
            results["before_timeout_s"] = args.timeout
    results["issue_17_reported_before"] = {
        "xlsx_bomb": "275 s, 6,9 Go de mémoire, puis MemoryError",
        "csv_200mb": "4,2 Go dans check, 7,5 Go dans validate",
        "cell_10mb": "« field larger than field limit » (anglais), conseil erroné (guillemets)",
    }
    out = ROOT / "bench/results/hostile_sizes.json"
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"écrit : {out}")


if __name__ == "__main__":
    main()
