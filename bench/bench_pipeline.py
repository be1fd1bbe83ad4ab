"""Benchmark: wall time of a cold `dvc repro` on the default sample, and of a no-op rerun.

Runs in a fresh copy of the project (so the analyst's outputs are untouched), with the project's
environment already installed (environment setup is excluded, as the target says). Results go to
``bench/results/pipeline.json``. Targets on 2 cores: cold ≤ 90 s, no-op ≤ 5 s.
"""

from __future__ import annotations

import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    run = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"échec de {' '.join(cmd)} :\n{run.stdout[-2000:]}\n{run.stderr[-2000:]}")
    return elapsed


def main() -> None:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.setdefault("OBSERVATOIRE_CLE", secrets.token_hex(32))  # throwaway: publishes nothing
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "projet"
        work.mkdir()
        for name in ("dvc.yaml", "params", "publications", "notebooks", "src"):
            src = ROOT / name
            if src.is_dir():
                shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(src, work / name)
        subprocess.run(["git", "init", "-q"], cwd=work, check=True)
        subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=work, check=True, env=env)
        subprocess.run([str(BIN / "dvc"), "config", "core.analytics", "false"], cwd=work, env=env)
        cold = timed([str(BIN / "dvc"), "repro"], work, env)
        noop = timed([str(BIN / "dvc"), "repro"], work, env)
        rows = json.loads((work / "outputs/metrics/rows.json").read_text())["rows_read"]
    result = {
        "cold_repro_seconds": round(cold, 1),
        "noop_repro_seconds": round(noop, 1),
        "noop_to_cold_ratio": round(noop / cold, 3),
        "rows_read": rows,
        "targets": {"cold_repro_seconds": 90, "noop_repro_seconds": 5},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    out = ROOT / "bench/results/pipeline.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
