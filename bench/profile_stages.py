"""Profile the work of the heavy pipeline stages in-process (cProfile), start-up set aside.

    python bench/profile_stages.py [STAGE ...] [--repeat N]

Run from the project root with the clean data in place (a full run done): each stage runs the
way its verb does, but in this process and without papermill, so the profile shows the work:
a notebook stage (``indicators``, ``trends``, ``youth``) executes its ``notebooks/<name>.py``
source as a script, its top-level imports done first, outside the timing; a Python stage
(``validate``, ``link``, ``quality``, ``report``) calls the stage function after importing its
module. It writes the stage's outputs as the verb would (same files), so run it only in a
working copy whose outputs may be rewritten.

For each stage, ``bench/results/profiles/<stage>.txt`` gets the 40 functions with the most
cumulative time and the 40 with the most own time, and ``bench/results/profiles/work.json``
the work time, wall and CPU (the minimum over ``--repeat`` runs; the machine is shared: compare
ratios measured in one run, CPU time is the less noisy).
"""

from __future__ import annotations

import argparse
import ast
import cProfile
import importlib
import io
import json
import os
import pstats
import time
from collections.abc import Callable
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench/results/profiles"
PARAMS = Path("params/pipeline.yaml")
NOTEBOOKS = {"indicators": "indicateurs", "trends": "tendances", "youth": "jeunes"}
FUNCTIONS = {
    "validate": ("observatoire.intake.stages", "stage_validate", False),
    "link": ("observatoire.linkage.stage", "stage_link", False),
    "quality": ("observatoire.reports.quality", "build_quality_sheets", True),
    "report": ("observatoire.reports.annual.report", "build_annual_report", True),
}
STAGES = ("validate", "link", "indicators", "trends", "youth", "quality", "report")


def _notebook_runner(name: str) -> Callable[[], None]:
    source = (ROOT / "notebooks" / f"{name}.py").read_text(encoding="utf-8")
    tree = ast.parse(source)
    imports = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
    body = [n for n in tree.body if not isinstance(n, ast.Import | ast.ImportFrom)]
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(ast.Module(imports, []), name, "exec"), namespace)  # noqa: S102
    code = compile(ast.Module(body, []), f"notebooks/{name}.py", "exec")

    def run() -> None:
        exec(code, dict(namespace))  # noqa: S102

    return run


def _function_runner(stage: str) -> Callable[[], None]:
    from observatoire.config.settings import load_settings

    module, func, with_params = FUNCTIONS[stage]
    target = getattr(importlib.import_module(module), func)
    settings = load_settings(PARAMS)
    if with_params:
        return lambda: target(settings, PARAMS)
    return lambda: target(settings)


def profile(stage: str, repeat: int, with_profile: bool = True) -> dict[str, float]:
    runner = _notebook_runner(NOTEBOOKS[stage]) if stage in NOTEBOOKS else _function_runner(stage)
    times, cpu = [], []
    for _ in range(max(repeat - 1, 0) if with_profile else max(repeat, 1)):
        start, start_cpu = time.perf_counter(), time.process_time()
        runner()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    if not with_profile:
        best, best_cpu = min(times), min(cpu)
        print(f"{stage}: travail {best:.2f} s, CPU {best_cpu:.2f} s", flush=True)
        return {"wall_s": round(best, 3), "cpu_s": round(best_cpu, 3)}
    prof = cProfile.Profile()
    start, start_cpu = time.perf_counter(), time.process_time()
    prof.runcall(runner)
    profiled = time.perf_counter() - start
    profiled_cpu = time.process_time() - start_cpu
    if os.environ.get("PROFIL_BRUT"):  # a folder for the raw pstats file (not kept in the repo)
        prof.dump_stats(Path(os.environ["PROFIL_BRUT"]) / f"{stage}.prof")
    text = io.StringIO()
    stats = pstats.Stats(prof, stream=text).strip_dirs()
    stats.sort_stats("cumulative").print_stats(40)
    stats.sort_stats("tottime").print_stats(40)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / f"{stage}.txt").write_text(text.getvalue(), encoding="utf-8")
    best = min(times) if times else profiled
    best_cpu = min(cpu) if cpu else profiled_cpu
    print(
        f"{stage}: travail {best:.2f} s, CPU {best_cpu:.2f} s (profilé {profiled:.2f} s)",
        flush=True,
    )
    return {"wall_s": round(best, 3), "cpu_s": round(best_cpu, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stages", nargs="*", help=f"parmi {', '.join(STAGES)} (toutes par défaut)")
    parser.add_argument("--repeat", type=int, default=1, help="runs timed without profiler + 1")
    parser.add_argument(
        "--sans-profil",
        action="store_true",
        help="timed runs only (cProfile inflates code "
        "made of many small Python calls: confirm a hotspot's weight by the time without it)",
    )
    parser.add_argument("--label", default="", help="key of this run in work.json")
    args = parser.parse_args()
    unknown = set(args.stages) - set(STAGES)
    if unknown:
        parser.error(f"étape inconnue : {', '.join(sorted(unknown))}")
    os.chdir(ROOT)
    results = {
        stage: profile(stage, args.repeat, not args.sans_profil) for stage in args.stages or STAGES
    }
    path = OUT / "work.json"
    previous = json.loads(path.read_text()) if path.is_file() else {}
    if args.label:
        previous.setdefault(args.label, {}).update(results)
        path.write_text(json.dumps(previous, indent=2, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
