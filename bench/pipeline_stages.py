"""Benchmark: a cold run and a no-op one, stage by stage, start-up against work.

    python bench/pipeline_stages.py                  # → bench/results/pipeline_stages.json
    python bench/pipeline_stages.py --scale 10       # → bench/results/pipeline_stages_x10.json
    python bench/pipeline_stages.py --repetitions 3  # each figure: the minimum of 3 cold runs
    python bench/pipeline_stages.py --sans-sequentiel  # without the one-at-a-time comparison

Runs in a fresh copy of the project (the analyst's outputs are untouched; the environment is
the installed one, its setup excluded; the stage durations ``observatoire repro`` orders by are
the source's, as its own next run would read them), with ``OBSERVATOIRE_PROFIL`` set: every
stage's CLI, and a notebook stage's kernel, append one JSON line to a profile file
(``observatoire.core.profiling``).
Measured, in this order, in the same copy: the cold run as ``make run`` does it (``observatoire
repro``: DVC stages two at a time, core.scheduler), its no-op, a no-op ``dvc repro``, then a
forced ``dvc repro -f`` (one stage after the other, as DVC alone runs them) for the comparison.
For each stage of the cold run:

- ``wall_s``: its process, creation to exit (what DVC waits for, without DVC's own work);
- ``startup_s``: interpreter and the CLI's imports (``t_start_to_main``), the stage's imports
  (``t_imports``), and for a notebook the kernel's start (``t_kernel``) and the notebook's imports
  in the kernel (``t_kernel_imports``);
- ``work_s``: ``wall_s - startup_s``;
- ``peak_rss_mb``: the larger of the stage process's and its kernel's peak resident memory.

``cold.peak_rss_sum_mb`` is the peak of the resident memory of the whole run's processes added
together (sampled every 0.2 s): two stages at a time add up. ``cold_sequential.dvc_s`` is what
the one-at-a-time run spent outside the stages (DVC hashing, caching, checking). A no-op run
reruns only ``key_fingerprint`` (``always_changed``). The previous file at the same path is
read first: a stage (or a total) slower by more than ``--seuil`` (default 1.25×, and by 0.5 s
at least) is printed as a regression; the exit code stays 0 (a shared machine is noisy: rerun
before believing it). Timings are wall clock: compare ratios measured on the same machine, back
to back; ``machine.calibration_s`` (a fixed piece of work, timed before and after) says how fast
the machine was, and two files from different machines are compared at the same speed.
Targets (issue 21, 2 cores): cold ≤ 120 s for the whole pipeline, no-op ≤ 3 s; at 10×
the sample, cold ≤ 360 s and peak memory ≤ 6 GB.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import re
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
COPIED = ("dvc.yaml", "params", "publications", "notebooks", "src")
TARGETS = {
    1: {"cold_s": 120, "noop_s": 3},
    10: {"cold_s": 360, "peak_rss_mb": 6144},
}
MIN_REGRESSION_S = 0.5
STAGE_FIELDS = (
    "wall_s",
    "startup_s",
    "work_s",
    "t_start_to_main",
    "t_imports",
    "t_kernel",
    "t_kernel_imports",
    "t_cells",
    "peak_rss_mb",
)


def _copy_project(source: Path, work: Path, scale: float, env: dict[str, str]) -> None:
    work.mkdir()
    for name in COPIED:
        src = source / name
        if src.is_dir():
            shutil.copytree(src, work / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif src.exists():
            shutil.copy2(src, work / name)
    if scale != 1:
        params = work / "params/pipeline.yaml"
        text, n = re.subn(
            r"(?m)^(sample:\n(?:[ #].*\n)*?  scale:) *[0-9.]+",
            rf"\g<1> {scale}",
            params.read_text(encoding="utf-8"),
        )
        if n != 1:
            sys.exit("échelle : clé sample.scale introuvable dans params/pipeline.yaml")
        params.write_text(text, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=work, check=True, env=env)
    subprocess.run([str(BIN / "dvc"), "config", "core.analytics", "false"], cwd=work, env=env)
    # the stages' durations `observatoire repro` orders its stages by, as the source's own run
    # would find them: its previous run's, else its committed bench file's
    for known in (".dvc/tmp/observatoire-durees.json", "bench/results/pipeline_stages.json"):
        if (source / known).exists():
            (work / known).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source / known, work / known)
            break


def _timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, float]:
    """Wall seconds of ``cmd``, and the peak of its processes' resident memory added together
    (MB, sampled every 0.2 s: a stage shorter than that may be missed, never over-counted)."""
    import psutil

    start = time.perf_counter()
    peak = 0.0
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            total = 0
            try:
                for p in [root, *root.children(recursive=True)]:
                    with contextlib.suppress(psutil.Error):
                        total += p.memory_info().rss
            except psutil.Error:
                pass
            peak = max(peak, total / 2**20)
            time.sleep(0.2)
        elapsed = time.perf_counter() - start
        if proc.returncode != 0:
            out.seek(0)
            text = out.read().decode("utf-8", "replace")
            sys.exit(f"échec de {' '.join(cmd)} :\n{text[-6000:]}")
    return elapsed, peak


def _read_profile(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def stages_of(records: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per stage, in the order they ran: the fields of ``STAGE_FIELDS`` from the CLI's and the
    kernels' lines of one run."""
    kernels: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        if r["process"] == "kernel":
            kernels.setdefault(r["stage"], []).append(r)
    out: dict[str, dict[str, float]] = {}
    ran = (r for r in records if r["process"] == "stage" and r["stage"] != "repro")
    for r in sorted(ran, key=lambda r: r["created"]):
        ks = kernels.get(r["stage"], [])
        kernel_imports = sum(k["t_imports"] for k in ks)
        wall = r["ended"] - r["created"]
        startup = r["t_start_to_main"] + r["t_imports"] + r.get("t_kernel", 0.0) + kernel_imports
        out[r["stage"]] = {
            "wall_s": wall,
            "startup_s": startup,
            "work_s": wall - startup,
            "t_start_to_main": r["t_start_to_main"],
            "t_imports": r["t_imports"],
            "t_kernel": r.get("t_kernel", 0.0),
            "t_kernel_imports": kernel_imports,
            "t_cells": r.get("t_cells", 0.0),
            "peak_rss_mb": max([r["peak_rss_mb"]] + [k["peak_rss_mb"] for k in ks]),
        }
    return out


def _minimum(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    """Field by field, the minimum over repetitions (the least disturbed measure)."""
    names = list(runs[0])
    return {s: {f: min(run[s][f] for run in runs if s in run) for f in STAGE_FIELDS} for s in names}


def _rounded(d: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 2) if isinstance(v, float) else v for k, v in d.items()}


def run_benchmark(
    source: Path, scale: float, repetitions: int, sequential: bool = True, jobs: int = 2
) -> dict[str, Any]:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}"}
    env.setdefault("OBSERVATOIRE_CLE", secrets.token_hex(32))  # throwaway: publishes nothing
    colds, peaks, stage_runs, noops, dvc_noops, seqs, seq_stage_runs = [], [], [], [], [], [], []
    speed_before = calibrate()
    with tempfile.TemporaryDirectory(prefix="obs-bench-") as tmp:
        work = Path(tmp) / "projet"
        env["PYTHONPATH"] = str(work / "src")  # the copy's code, not the installed one's
        _copy_project(source, work, scale, env)
        dvc, obs = str(BIN / "dvc"), str(BIN / "observatoire")
        for rep in range(repetitions):
            profile = Path(tmp) / f"profil-froid-{rep}.jsonl"
            env["OBSERVATOIRE_PROFIL"] = str(profile)
            cmd = [obs, "repro", "--jobs", str(jobs)] + (["-f"] if rep else [])
            print(f"Exécution froide {rep + 1}/{repetitions} ({' '.join(cmd[1:])})…", flush=True)
            elapsed, peak = _timed(cmd, work, env)
            colds.append(elapsed)
            peaks.append(peak)
            stage_runs.append(stages_of(_read_profile(profile)))
            env["OBSERVATOIRE_PROFIL"] = str(Path(tmp) / f"profil-vide-{rep}.jsonl")
            noops.append(_timed([obs, "repro"], work, env)[0])
            dvc_noops.append(_timed([dvc, "repro"], work, env)[0])
            if sequential:
                profile = Path(tmp) / f"profil-sequentiel-{rep}.jsonl"
                env["OBSERVATOIRE_PROFIL"] = str(profile)
                print(f"Exécution une étape à la fois {rep + 1}/{repetitions} (dvc repro -f)…")
                seqs.append(_timed([dvc, "repro", "-f"], work, env)[0])
                seq_stage_runs.append(stages_of(_read_profile(profile)))
        peak_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        bounds = _schedule_bounds(work, seq_stage_runs or stage_runs, jobs)
        rows_file = work / "outputs/metrics/rows.json"
        rows = json.loads(rows_file.read_text())["rows_read"] if rows_file.exists() else None
    stages = _minimum(stage_runs)
    in_stages = [sum(s["wall_s"] for s in run.values()) for run in stage_runs]
    cold = min(colds)
    result: dict[str, Any] = {
        "format": "observatoire-bench-stages/2",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": _commit(source),
        "scale": scale,
        "repetitions": repetitions,
        "rows_read": rows,
        "cold": _rounded(
            {
                "runner": f"observatoire repro (make run), {jobs} étapes à la fois",
                "jobs": jobs,
                "total_s": cold,
                "stages_s": min(in_stages),
                "startup_s": sum(s["startup_s"] for s in stages.values()),
                "work_s": sum(s["work_s"] for s in stages.values()),
                "peak_rss_mb": max(s["peak_rss_mb"] for s in stages.values()),
                "peak_rss_sum_mb": max(peaks),
                "peak_rss_any_process_mb": peak_children,
                **bounds,
                "all_s": colds,
            }
        ),
        "noop": _rounded({"total_s": min(noops), "all_s": noops}),
        "noop_dvc": _rounded({"total_s": min(dvc_noops), "all_s": dvc_noops}),
    }
    if seqs:
        seq_in_stages = [sum(s["wall_s"] for s in run.values()) for run in seq_stage_runs]
        result["cold_sequential"] = _rounded(
            {
                "runner": "dvc repro -f, une étape à la fois",
                "total_s": min(seqs),
                "stages_s": min(seq_in_stages),
                "dvc_s": min(c - s for c, s in zip(seqs, seq_in_stages, strict=True)),
                "all_s": seqs,
            }
        )
    result |= {
        "stages": {name: _rounded(s) for name, s in stages.items()},
        "targets": TARGETS.get(int(scale), {}),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_1min_at_end": round(os.getloadavg()[0], 2),
            # the same fixed work before and after the runs (s): the machine's speed, and how
            # steady it stayed (a shared machine slows down when its neighbours work)
            "calibration_s": round(min(speed_before, calibrate()), 3),
            "calibration_before_after_s": [round(speed_before, 3), round(calibrate(1), 3)],
        },
    }
    return result


def calibrate(repeats: int = 3) -> float:
    """Seconds for a fixed piece of work (interpreter loop, a numpy sort, a pandas group-by),
    the best of ``repeats``: how fast this machine is, so that two benchmark files made on
    different machines compare by their ratio of walls divided by their ratio of calibrations."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    values = rng.random(2_000_000)
    frame = pd.DataFrame({"k": rng.integers(0, 5_000, 1_000_000), "v": rng.random(1_000_000)})
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        total = 0
        for i in range(8_000_000):
            total += i % 7
        np.sort(values)
        frame.groupby("k")["v"].agg(["sum", "mean", "max"])
        best = min(best, time.perf_counter() - start)
    return best


def _schedule_bounds(
    work: Path, runs: list[dict[str, dict[str, float]]], jobs: int
) -> dict[str, Any]:
    """What the stages' walls (the one-at-a-time run's, when measured: undisturbed by a second
    stage) allow, with no DVC work and no wait, on the copy's graph:

    * ``ideal_s``: the cold run's length with ``jobs`` stages at a time
      (``core.scheduler.simulate``); measured minus ideal = DVC and waits;
    * ``critical_path_s`` and ``critical_path``: the longest chain of stages, which no number
      of cores shortens;
    * ``work_bound_s``: all the walls shared evenly by ``jobs`` cores.

    No schedule beats the larger of the last two: a target below it needs less work on the
    chain (or in all), not a better order. The copy's own scheduler is used (its policy is the
    one measured); a version older than ``critical_path`` gets ``ideal_s`` only."""
    sys.path.insert(0, str(work / "src"))
    from observatoire.core import scheduler

    with contextlib.chdir(work):  # DVC names a stage relative to the working directory
        pipeline, _ = scheduler.load_pipeline(work)
    walls = {name: s["wall_s"] for name, s in _minimum(runs).items()}
    bounds: dict[str, Any] = {"ideal_s": scheduler.simulate(pipeline, walls, jobs)[0]}
    if hasattr(scheduler, "critical_path"):
        length, chain = scheduler.critical_path(pipeline, walls)
        bounds |= {
            "critical_path_s": length,
            "critical_path": chain,
            "work_bound_s": sum(walls.get(s, 0.0) for s in pipeline.upstream) / jobs,
        }
    return bounds


def _commit(source: Path) -> str | None:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=source, capture_output=True, text=True).stdout

    sha = git("rev-parse", "--short", "HEAD").strip()
    dirty = git("status", "--porcelain", "--", *COPIED).strip()
    return f"{sha}+modifications" if sha and dirty else sha or None


def _fr(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def machine_ratio(old: dict[str, Any], new: dict[str, Any]) -> float:
    """How much slower the new file's machine is than the old one's (1 when either file has
    no calibration)."""
    before = (old.get("machine") or {}).get("calibration_s")
    after = (new.get("machine") or {}).get("calibration_s")
    return after / before if before and after else 1.0


def regressions(old: dict[str, Any], new: dict[str, Any], ratio: float) -> list[str]:
    """French lines for what got slower by more than ``ratio`` (and MIN_REGRESSION_S); when
    both files hold a calibration, the old walls are first scaled to the new machine's speed."""
    found = []
    speed = machine_ratio(old, new)

    def check(label: str, before: float | None, after: float | None) -> None:
        if not before or after is None:
            return
        before *= speed
        if after > before * ratio and after - before >= MIN_REGRESSION_S:
            found.append(
                f"  {label} : {_fr(before)} s → {_fr(after)} s (×{_fr(after / before, 2)})"
            )

    if old.get("format") == new.get("format"):  # /1 timed `dvc repro`, one stage at a time
        check("exécution froide, total", old["cold"]["total_s"], new["cold"]["total_s"])
    if "cold_sequential" in old and "cold_sequential" in new:
        check(
            "exécution une étape à la fois, total",
            old["cold_sequential"]["total_s"],
            new["cold_sequential"]["total_s"],
        )
    check("exécution sans changement, total", old["noop"]["total_s"], new["noop"]["total_s"])
    for name, s in new["stages"].items():
        before = old.get("stages", {}).get(name)
        if before is None:
            continue
        check(f"{name}, durée", before["wall_s"], s["wall_s"])
        check(f"{name}, démarrage", before["startup_s"], s["startup_s"])
        check(f"{name}, travail", before["work_s"], s["work_s"])
    return found


def table(result: dict[str, Any]) -> str:
    lines = [
        f"{'étape':<26}{'durée':>8}{'démarr.':>9}{'travail':>9}{'import':>8}{'noyau':>8}"
        f"{'imp.noy.':>9}{'mém. Mo':>9}"
    ]
    for name, s in result["stages"].items():
        lines.append(
            f"{name:<26}{_fr(s['wall_s']):>8}{_fr(s['startup_s']):>9}{_fr(s['work_s']):>9}"
            f"{_fr(s['t_start_to_main'] + s['t_imports']):>8}{_fr(s['t_kernel']):>8}"
            f"{_fr(s['t_kernel_imports']):>9}{_fr(s['peak_rss_mb'], 0):>9}"
        )
    c = result["cold"]
    lines.append(
        f"Froid (make run, {c.get('jobs', 2)} étapes à la fois) : {_fr(c['total_s'])} s pour "
        f"{_fr(c['stages_s'])} s d'étapes (démarrage {_fr(c['startup_s'])} s, travail "
        f"{_fr(c['work_s'])} s) ; mémoire de pointe {_fr(c['peak_rss_mb'], 0)} Mo par processus, "
        f"{_fr(c.get('peak_rss_sum_mb', 0), 0)} Mo tous processus ensemble ; sans DVC ni "
        f"attente, l'ordonnancement des mêmes étapes prendrait {_fr(c.get('ideal_s', 0))} s. "
        "Sans changement : "
        f"{_fr(result['noop']['total_s'])} s (dvc repro : "
        f"{_fr(result.get('noop_dvc', result['noop'])['total_s'])} s)."
    )
    if "critical_path_s" in c:
        lines.append(
            f"Bornes : la plus longue chaîne d'étapes fait {_fr(c['critical_path_s'])} s quel que "
            f"soit le nombre de cœurs ({' → '.join(c['critical_path'])}) ; toutes les étapes "
            f"réparties sur {c.get('jobs', 2)} cœurs, {_fr(c['work_bound_s'])} s. Aucun "
            "ordonnancement ne descend sous la plus grande des deux."
        )
    if "cold_sequential" in result:
        q = result["cold_sequential"]
        lines.append(
            f"Une étape à la fois (dvc repro -f) : {_fr(q['total_s'])} s, dont étapes "
            f"{_fr(q['stages_s'])} s et DVC {_fr(q['dvc_s'])} s."
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="échelle de l'échantillon")
    parser.add_argument("--repetitions", type=int, default=1, help="exécutions froides (minimum)")
    parser.add_argument("--seuil", type=float, default=1.25, help="ratio signalé comme régression")
    parser.add_argument(
        "--jobs", type=int, default=2, help="étapes à la fois de l'exécution froide (défaut : 2)"
    )
    parser.add_argument(
        "--sans-sequentiel",
        action="store_true",
        help="sans l'exécution une étape à la fois (dvc repro -f) de comparaison",
    )
    parser.add_argument(
        "--source", type=Path, default=ROOT, help="projet mesuré (défaut : ce dépôt)"
    )
    parser.add_argument("--sortie", type=Path, default=None, help="fichier de résultats (JSON)")
    args = parser.parse_args(argv)
    suffix = "" if args.scale == 1 else f"_x{args.scale:g}"
    out = args.sortie or ROOT / f"bench/results/pipeline_stages{suffix}.json"
    previous = json.loads(out.read_text(encoding="utf-8")) if out.exists() else None
    result = run_benchmark(
        args.source.resolve(), args.scale, args.repetitions, not args.sans_sequentiel, args.jobs
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(table(result))
    print(f"Résultats : {out}")
    if previous is not None:
        found = regressions(previous, result, args.seuil)
        if (speed := machine_ratio(previous, result)) != 1.0:
            print(
                f"Machine ×{_fr(speed, 2)} plus lente que celle de la mesure précédente "
                "(calibration) : ses durées sont mises à cette vitesse avant comparaison."
            )
        if found:
            print(
                f"Régressions par rapport à la mesure précédente ({previous.get('date')}, "
                f"commit {previous.get('commit')}) au-delà de ×{_fr(args.seuil, 2)} :"
            )
            print("\n".join(found))
        else:
            print(
                f"Aucune régression au-delà de ×{_fr(args.seuil, 2)} (mesure précédente "
                f"{previous.get('date')})."
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
