"""Fault campaign: kill the pipeline at random points, rerun it, check nothing is left or wrong.

In a scratch clone of the project (``git clone`` of this repository's committed state, the
project's environment reused, the synthetic sample drawn at a small ``--scale``), it runs a
reference ``dvc repro``, timing each stage. Then, ``--kills`` times:

1. start ``dvc repro -f -s STAGE`` (one stage forced) or ``dvc repro -f --downstream STAGE``
   (that stage and everything after it), STAGE drawn at random;
2. once DVC prints that STAGE is running, wait a random delay within the stage's reference
   duration and send SIGINT (Ctrl-C), SIGTERM or SIGKILL to DVC's whole process group;
3. run ``dvc repro`` to completion and check: exit 0; ``data_clean/`` and ``outputs/tables/``
   byte-identical to the reference; no temporary entry anywhere in the project (the
   ``.obs-tmp-`` prefix, and any hidden file or folder the reference run did not leave); no
   process of the project still running (orphan notebook kernel or stage).

``--direct`` more kills hit a stage command itself (``observatoire indicators`` run by hand,
then killed), followed by the same ``dvc repro`` and checks. Results, one entry per kill, go to
``bench/results/fault_campaign.json``. The scratch clone is removed unless ``--garder``.

Run from the project root (the clone is of the committed state: commit first)::

    nice -n 10 .venv/bin/python bench/fault_campaign.py --kills 20 --direct 4

A small proof run: ``--kills 4 --direct 1``. Exit code 0 when every kill passed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TEMP_PREFIX = ".obs-tmp-"  # observatoire.core.storage.TEMP_PREFIX
PROJECT_ENV = "OBSERVATOIRE_PROJECT"  # observatoire.core.notebooks.PROJECT_ENV
RESULTS = ROOT / "bench/results/fault_campaign.json"
COMPARED = ("data_clean", "outputs/tables")
SIGNALS = {"SIGINT": signal.SIGINT, "SIGTERM": signal.SIGTERM, "SIGKILL": signal.SIGKILL}
# Stages whose commands are killed directly (they need only what the reference run made).
DIRECT_STAGES = ("ingest", "link", "indicators", "trends", "publication", "report")
_RUNNING = re.compile(r"Running stage '([^']+)'")
_NOT_DEBRIS = {".git", ".dvc", ".venv", ".observatoire.verrou", ".observatoire.verrou.json"}


class Run:
    """A command in its own process group, its output read line by line with timestamps."""

    def __init__(self, cmd: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.started = time.monotonic()
        self.lines: list[tuple[float, str]] = []
        self.proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append((time.monotonic() - self.started, line.rstrip("\n")))

    def stage_start(self, stage: str) -> float | None:
        for at, line in self.lines:
            match = _RUNNING.search(line)
            if match and match.group(1) == stage:
                return at
        return None

    def wait(self, timeout: float | None = None) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        return code

    def tail(self, n: int = 25) -> str:
        return "\n".join(line for _, line in self.lines[-n:])


CAMPAIGN_KEY = secrets.token_hex(32)  # throwaway key, one per campaign (drawn: not weak)


def digest(project: Path) -> dict[str, str]:
    out = {}
    for rel in COMPARED:
        base = project / rel
        for path in sorted(base.rglob("*")) if base.exists() else []:
            if path.is_file():
                out[path.relative_to(project).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return out


def hidden_entries(project: Path) -> set[str]:
    """Every hidden file or folder of the project (``.git``, ``.dvc``, the venv link not
    entered), and every entry with the temporaries' prefix."""
    found = set()
    for folder, dirs, files in os.walk(project):
        here = Path(folder)
        for name in [*dirs, *files]:
            if name.startswith(".") and not (here == project and name in _NOT_DEBRIS):
                found.add((here / name).relative_to(project).as_posix())
        dirs[:] = [d for d in dirs if not (here == project and d in _NOT_DEBRIS)]
    return found


def project_processes(project: Path) -> list[dict[str, Any]]:
    """Processes still running for the project: a notebook kernel started by one of its stages,
    or any process whose working folder is in it."""
    where = str(project.resolve())
    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        try:
            if proc.pid == os.getpid():
                continue
            cwd = proc.cwd()
            env = proc.environ()
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
        if env.get(PROJECT_ENV) == where or cwd == where or cwd.startswith(where + os.sep):
            found.append({"pid": proc.pid, "cmd": " ".join(proc.info["cmdline"] or [])[:160]})
    return found


def settle(project: Path, timeout: float = 10.0) -> list[dict[str, Any]]:
    """Wait for the killed processes to go (a kernel notices its parent died within 1 s)."""
    deadline = time.monotonic() + timeout
    while True:
        left = project_processes(project)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.5)


def setup(work: Path, scale: float, env: dict[str, str]) -> Path:
    project = work / "projet"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(project)], check=True)
    venv = ROOT / ".venv"
    if not (project / ".venv").exists():
        (project / ".venv").symlink_to(venv if venv.exists() else Path(sys.prefix))
    params_path = project / "params/pipeline.yaml"
    text = params_path.read_text(encoding="utf-8")
    params = yaml.safe_load(text)
    old = params["sample"]["scale"]
    text = re.sub(r"(\n  scale: )\S+", rf"\g<1>{scale}", text, count=1)
    params_path.write_text(text, encoding="utf-8")
    assert yaml.safe_load(text)["sample"]["scale"] == scale, (old, scale)
    subprocess.run([str(BIN / "dvc"), "config", "core.analytics", "false"], cwd=project, env=env)
    return project


def stage_durations(run: Run) -> dict[str, float]:
    starts = [(at, m.group(1)) for at, line in run.lines if (m := _RUNNING.search(line))]
    ends = [at for at, _ in starts[1:]] + [run.lines[-1][0] if run.lines else 0.0]
    return {stage: round(end - at, 2) for (at, stage), end in zip(starts, ends, strict=True)}


def rerun_and_check(
    project: Path,
    env: dict[str, str],
    reference: dict[str, str],
    baseline: set[str],
    targets: list[str],
) -> dict[str, Any]:
    started = time.monotonic()
    run = Run([str(BIN / "dvc"), "repro", *targets], project, env)
    code = run.wait()
    took = round(time.monotonic() - started, 1)
    now = digest(project)
    differing = sorted(k for k in reference.keys() | now.keys() if reference.get(k) != now.get(k))
    debris = sorted(hidden_entries(project) - baseline)
    orphans = settle(project, timeout=3)
    result = {
        "rerun_s": took,
        "rerun_exit": code,
        "identical": not differing,
        "differing": differing[:20],
        "debris": debris[:20],
        "orphans": orphans,
        "stages_rerun": [m.group(1) for _, line in run.lines if (m := _RUNNING.search(line))],
    }
    result["ok"] = code == 0 and not differing and not debris and not orphans
    if code != 0:
        result["rerun_output"] = run.tail()
    return result


def kill_once(
    project: Path,
    env: dict[str, str],
    cmd: list[str],
    stage: str,
    duration: float,
    signame: str,
    rng: random.Random,
    *,
    direct: bool,
) -> dict[str, Any]:
    fraction = rng.uniform(0.05, 0.95)
    delay = round(fraction * max(duration, 0.5), 2)
    run = Run(cmd, project, env)
    deadline = time.monotonic() + 600
    started_at = 0.0 if direct else None
    while started_at is None and run.proc.poll() is None and time.monotonic() < deadline:
        started_at = run.stage_start(stage)
        time.sleep(0.05)
    killed = False
    if started_at is not None:
        target = run.started + started_at + delay
        while run.proc.poll() is None and time.monotonic() < target:
            time.sleep(0.02)
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, SIGNALS[signame])
            killed = True
    try:
        code = run.wait(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(run.proc.pid, signal.SIGKILL)
        code = run.wait()
    left = settle(project)
    return {
        "kind": "commande" if direct else "dvc",
        "command": " ".join(Path(cmd[0]).name if i == 0 else c for i, c in enumerate(cmd)),
        "stage": stage,
        "signal": signame,
        "delay_s": delay,
        "delay_share": round(fraction, 2),
        "killed": killed,
        "exit_after_kill": code,
        "left_after_kill": [p["cmd"] for p in left],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills of dvc repro (≥ 20)")
    parser.add_argument("--direct", type=int, default=4, help="kills of a stage command")
    parser.add_argument("--scale", type=float, default=0.15, help="sample.scale of the clone")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--dossier", type=Path, default=None, help="scratch folder (else /tmp)")
    parser.add_argument("--garder", action="store_true", help="keep the scratch clone")
    parser.add_argument("--sortie", type=Path, default=RESULTS)
    parser.add_argument(
        "--sans-garde",
        action="store_true",
        help="every dvc repro stops before leak_guard (while the guard false-alarms at this "
        "scale, issue 17 defect 4)",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "OBSERVATOIRE_CLE": os.environ.get("OBSERVATOIRE_CLE") or CAMPAIGN_KEY,
    }
    work = Path(tempfile.mkdtemp(prefix="fault-campaign-", dir=args.dossier))
    project = setup(work, args.scale, env)
    env["PYTHONPATH"] = f"{project / 'src'}{os.pathsep}{project}"
    print(f"Clone : {project} (échelle {args.scale})", flush=True)
    stage_names = list(yaml.safe_load((project / "dvc.yaml").read_text("utf-8"))["stages"])
    targets = [s for s in stage_names if s != "leak_guard"] if args.sans_garde else []
    started = time.monotonic()
    reference_run = Run([str(BIN / "dvc"), "repro", *targets], project, env)
    if reference_run.wait() != 0:
        print(reference_run.tail(60))
        sys.exit("La référence (dvc repro) a échoué.")
    reference_s = round(time.monotonic() - started, 1)
    durations = stage_durations(reference_run)
    reference = digest(project)
    baseline = hidden_entries(project)
    print(f"Référence : {reference_s} s, {len(reference)} fichiers comparés", flush=True)
    print(f"  durées des étapes : {durations}", flush=True)

    stages = list(durations)
    entries: list[dict[str, Any]] = []
    plan = [("dvc", i) for i in range(args.kills)] + [("commande", i) for i in range(args.direct)]
    for n, (kind, _) in enumerate(plan, start=1):
        signame = rng.choice(list(SIGNALS))
        if kind == "dvc":
            stage = rng.choice(stages)
            downstream = not args.sans_garde and rng.random() < 0.3
            mode = ["-f", "--downstream", stage] if downstream else ["-f", "-s", stage]
            cmd = [str(BIN / "dvc"), "repro", *mode]
        else:
            stage = rng.choice([s for s in DIRECT_STAGES if s in durations])
            cmd = [str(BIN / "observatoire"), stage.replace("_", "-")]
        entry = kill_once(
            project, env, cmd, stage, durations[stage], signame, rng, direct=kind != "dvc"
        )
        entry.update(rerun_and_check(project, env, reference, baseline, targets))
        entries.append(entry)
        status = "ok" if entry["ok"] else "ÉCHEC"
        print(
            f"[{n}/{len(plan)}] {entry['command']} tué par {signame} après {entry['delay_s']} s "
            f"({'tué' if entry['killed'] else 'fini avant'}) ; relance {entry['rerun_s']} s "
            f"({', '.join(entry['stages_rerun']) or 'rien à refaire'}) : {status}",
            flush=True,
        )
        if not entry["ok"]:
            print(json.dumps(entry, ensure_ascii=False, indent=2), flush=True)
    killed = [e for e in entries if e["killed"]]
    result = {
        "config": {
            "kills": args.kills,
            "direct": args.direct,
            "scale": args.scale,
            "seed": args.seed,
            "sans_garde": args.sans_garde,
            "commit": subprocess.run(
                ["git", "rev-parse", "HEAD"], cwd=project, capture_output=True, text=True
            ).stdout.strip(),
        },
        "reference": {"repro_s": reference_s, "stage_s": durations, "files": len(reference)},
        "summary": {
            "runs": len(entries),
            "killed": len(killed),
            "ok": sum(e["ok"] for e in entries),
            "failed": [i for i, e in enumerate(entries) if not e["ok"]],
            "signals": {s: sum(e["signal"] == s for e in killed) for s in SIGNALS},
            "stages_killed": sorted({e["stage"] for e in killed}),
        },
        "kills": entries,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "total_s": round(time.monotonic() - started, 1),
    }
    args.sortie.parent.mkdir(parents=True, exist_ok=True)
    args.sortie.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", "utf-8")
    print(json.dumps(result["summary"], ensure_ascii=False, indent=2))
    if args.garder:
        print(f"Clone gardé : {project}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if not result["summary"]["failed"] else 1


if __name__ == "__main__":
    sys.exit(main())
