"""Run the pipeline's DVC stages two at a time: ``observatoire repro`` (what ``make run`` does).

``dvc repro`` runs one stage after the other, and most stages use one core: on the analyst's two
cores, half the machine waits. DVC releases its repository lock while a stage's command runs and
locks each stage's dependencies and outputs on their own, so that several ``dvc repro`` of
independent stages may run side by side (dvc.org, ``dvc repro``, « Parallel stage execution »).
This module does that, and nothing else: the graph, what changed and every run are DVC's own
(one ``dvc repro --single-item <stage>`` per stage, DVC's lock file, cache and checks as usual);
it only decides which stages start when.

- **Which stages.** Those ``dvc status`` finds changed, then, as they end, those downstream of a
  stage whose outputs changed (read back from ``dvc.lock``): a stage that reran to the same bytes
  (``key_fingerprint``, ``always_changed``) does not drag the whole pipeline behind it, as in
  ``dvc repro``. ``--force``: every stage.
- **When.** A stage starts once every upstream stage has ended; of the stages ready, the one
  with the longest chain of work still behind it starts first (the critical path: durations of
  the previous run, kept in ``.dvc/tmp/observatoire-durees.json``, else of ``make bench``).
- **Output.** « ── ingest : lancée » when a stage starts (the analyst sees progress), then its
  whole output once it ends, never interleaved with the other stage's.
- **Failures.** The first failing stage stops any further start; the stages already running end
  normally (nothing half-written), then the run stops with the stage's own output and a French
  line.
- **The project lock** (core.lock) is held by this command for the whole run; the stages it
  starts know it through ``OBSERVATOIRE_ORDONNANCEUR`` and take none. Debris of killed runs is
  swept before and after, when no stage runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from observatoire.core.errors import ObservatoireError

__all__ = [
    "DURATIONS_FILE",
    "Pipeline",
    "StageRun",
    "compile_package",
    "critical_path",
    "critical_path_priority",
    "load_pipeline",
    "run_pipeline",
    "simulate",
]

DURATIONS_FILE = Path(".dvc/tmp/observatoire-durees.json")
BENCH_FILE = Path("bench/results/pipeline_stages.json")


class StageFailed(ObservatoireError):
    """A stage run by ``observatoire repro`` failed (its own output says why)."""


@dataclass(frozen=True)
class Pipeline:
    """The DVC stages (by name), what each depends on, and those DVC always reruns."""

    upstream: Mapping[str, frozenset[str]]
    always_changed: frozenset[str] = frozenset()

    @property
    def downstream(self) -> dict[str, set[str]]:
        down: dict[str, set[str]] = {s: set() for s in self.upstream}
        for stage, ups in self.upstream.items():
            for up in ups:
                down[up].add(stage)
        return down


@dataclass
class StageRun:
    """One stage's run: its exit code, its output, its wall time."""

    stage: str
    returncode: int
    output: str
    seconds: float


def load_pipeline(root: Path) -> tuple[Pipeline, set[str]]:
    """The pipeline of ``root``'s ``dvc.yaml`` and the stages ``dvc status`` finds changed."""
    from dvc.exceptions import DvcException
    from dvc.repo import Repo

    try:
        with Repo(str(root)) as repo:
            graph = repo.index.graph
            stages = [s for s in graph if getattr(s, "name", None)]
            upstream = {s.addressing: set() for s in stages}
            for stage, dependency in graph.edges:  # DVC's edges point upstream
                if stage.addressing in upstream and dependency.addressing in upstream:
                    upstream[stage.addressing].add(dependency.addressing)
            always = frozenset(s.addressing for s in stages if s.always_changed)
            changed = {name for name in repo.status() if name in upstream}
    except DvcException as exc:
        raise ObservatoireError(
            f"DVC ne peut pas lire le pipeline de {root.resolve()} : {exc}\n  À faire : "
            "vérifiez dvc.yaml (« dvc status » en dit plus)."
        ) from None
    pipeline = Pipeline({k: frozenset(v) for k, v in upstream.items()}, always)
    return pipeline, changed


def critical_path_priority(pipeline: Pipeline, durations: Mapping[str, float]) -> dict[str, float]:
    """Each stage's own duration plus the longest chain of durations downstream of it (1 s
    for a stage never timed): the longer, the sooner a ready stage should start."""
    down = pipeline.downstream
    memo: dict[str, float] = {}

    def rank(stage: str) -> float:
        if stage not in memo:
            after = max((rank(s) for s in down[stage]), default=0.0)
            memo[stage] = durations.get(stage, 1.0) + after
        return memo[stage]

    return {s: rank(s) for s in sorted(pipeline.upstream)}


def critical_path(pipeline: Pipeline, durations: Mapping[str, float]) -> tuple[float, list[str]]:
    """The longest chain of durations from a first stage to a last one, and its stages: no
    number of cores can run the pipeline faster (``make bench`` records it beside the run)."""
    if not pipeline.upstream:
        return 0.0, []
    priority = critical_path_priority(pipeline, durations)
    down = pipeline.downstream
    first = [s for s, ups in pipeline.upstream.items() if not ups]
    chain = [max(sorted(first), key=lambda s: priority[s])]
    while down[chain[-1]]:
        chain.append(max(sorted(down[chain[-1]]), key=lambda s: priority[s]))
    return priority[chain[0]], chain


def _order_ready(ready: Iterable[str], priority: Mapping[str, float]) -> list[str]:
    return sorted(ready, key=lambda s: (-priority.get(s, 0.0), s))


def simulate(
    pipeline: Pipeline, durations: Mapping[str, float], jobs: int
) -> tuple[float, list[tuple[str, float, float]]]:
    """The run's length with ``jobs`` stages at a time if each stage took its duration (every
    stage run, nothing else waited for): ``make bench`` sets it beside the measured run, the
    difference being DVC's own work and the waits."""
    priority = critical_path_priority(pipeline, durations)
    done: dict[str, float] = {}
    running: list[tuple[float, str]] = []
    schedule: list[tuple[str, float, float]] = []
    now = 0.0
    pending = set(pipeline.upstream)
    while pending or running:
        ready = [s for s in pending if pipeline.upstream[s] <= done.keys()]
        for stage in _order_ready(ready, priority)[: jobs - len(running)]:
            pending.discard(stage)
            end = now + durations.get(stage, 1.0)
            running.append((end, stage))
            schedule.append((stage, now, end))
        running.sort()
        now, stage = running.pop(0)
        done[stage] = now
    return now, schedule


def _lock_outs(root: Path) -> dict[str, object]:
    """Each stage's outputs as ``dvc.lock`` records them (hashes), to see what a run changed."""
    import yaml

    from observatoire.core.yamltext import safe_load

    try:
        data = safe_load((root / "dvc.lock").read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    stages = (data or {}).get("stages") or {}
    return {name: entry.get("outs") for name, entry in stages.items() if isinstance(entry, dict)}


def read_durations(root: Path) -> dict[str, float]:
    """The stages' durations of the previous run, else of the last ``make bench``, else none."""
    for path, pick in (
        (root / DURATIONS_FILE, lambda d: d),
        (root / BENCH_FILE, lambda d: {k: v["wall_s"] for k, v in d["stages"].items()}),
    ):
        try:
            found = pick(json.loads(path.read_text(encoding="utf-8")))
            return {str(k): float(v) for k, v in found.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue
    return {}


def _write_durations(root: Path, durations: Mapping[str, float]) -> None:
    path = root / DURATIONS_FILE
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(dict(sorted(durations.items())), indent=1) + "\n", "utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a cache: the next run orders its stages by the bench instead


def compile_package() -> None:
    """Write the package's bytecode beside its sources, where it is missing or stale.

    Every stage, notebook kernel and worker imports ``observatoire`` (73 k lines): without its
    ``.pyc`` each of them compiles what it imports again, ≈ 0,5 to 1 s of CPU a process, and
    where ``PYTHONDONTWRITEBYTECODE`` is set (CI, some shells) Python never writes them.
    ``compileall`` writes them whatever that variable says; up to date, it only reads the
    headers (≈ 0,04 s). ``__pycache__`` is in ``.dvcignore``: no stage sees it change. A
    read-only install is left as it is (the stages then compile in memory, as before).
    """
    import compileall

    import observatoire

    compileall.compile_dir(Path(observatoire.__file__).parent, quiet=2)  # catches OSError


def _dvc_command() -> list[str]:
    dvc = Path(sys.executable).with_name("dvc")
    return [str(dvc) if dvc.exists() else "dvc"]


class DvcStageRunner:
    """Runs one stage with ``dvc repro --single-item`` (``--force`` when forced), its output
    captured; :meth:`stop` ends the runs still going (an interrupted ``observatoire repro``)."""

    def __init__(self, root: Path, force: bool, env: Mapping[str, str]) -> None:
        self.root, self.force, self.env = root, force, dict(env)
        self._live: set[subprocess.Popen[str]] = set()

    def __call__(self, stage: str) -> StageRun:
        cmd = [*_dvc_command(), "--wait-for-lock", "repro", "--single-item"]
        cmd += ["--force", stage] if self.force else [stage]
        start = time.perf_counter()
        try:
            proc = subprocess.Popen(
                cmd,
                cwd=self.root,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
            )
        except OSError as exc:  # no `dvc` to run: said as the stage's failure, not a traceback
            said = f"DVC introuvable ({cmd[0]} : {exc.strerror}). Lancez « make setup »."
            return StageRun(stage, 127, said, time.perf_counter() - start)
        with proc:
            self._live.add(proc)
            try:
                output, _ = proc.communicate()
            finally:
                self._live.discard(proc)
        return StageRun(stage, proc.returncode, output, time.perf_counter() - start)

    def stop(self) -> None:
        """SIGTERM to the runs still going: DVC passes it on, and a stage then removes its
        temporaries and stops its kernel (the CLI turns SIGTERM into an interruption)."""
        for proc in list(self._live):
            proc.terminate()


def run_pipeline(
    pipeline: Pipeline,
    changed: set[str],
    runner: Callable[[str], StageRun],
    *,
    jobs: int = 2,
    force: bool = False,
    durations: Mapping[str, float] | None = None,
    lock_outs: Callable[[], Mapping[str, object]] = dict,
    echo: Callable[[str], None] = print,
) -> list[StageRun]:
    """Run the stages that need it, ``jobs`` at a time, in dependency order; returns the runs.

    A stage runs if it is in ``changed`` (or ``force``), or once an upstream stage ran and
    changed its outputs (``lock_outs``, read before the run and after each stage); it is skipped
    once no stage upstream of it can run any more. Raises :class:`StageFailed` after the first
    failure (the stages running then end first)."""
    priority = critical_path_priority(pipeline, durations or {})
    upstream = pipeline.upstream
    down = pipeline.downstream
    recorded = dict(lock_outs())
    dirty = set(upstream) if force else {s for s in changed if s in upstream}
    state: dict[str, str] = dict.fromkeys(upstream, "pending")
    runs: list[StageRun] = []
    failed: StageRun | None = None
    running: dict[Future[StageRun], str] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, jobs))
    try:
        while True:
            _skip_settled(state, upstream, dirty)
            if failed is None:
                ready = [
                    s
                    for s, st in state.items()
                    if st == "pending" and all(state[u] in {"done", "skipped"} for u in upstream[s])
                ]
                for stage in _order_ready(ready, priority)[: jobs - len(running)]:
                    state[stage] = "running"
                    echo(f"── {stage} : lancée")
                    running[pool.submit(runner, stage)] = stage
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in sorted(finished, key=lambda f: running[f]):
                stage = running.pop(future)
                run = future.result()
                runs.append(run)
                _echo_run(run, echo)
                if run.returncode != 0:
                    state[stage] = "failed"
                    failed = failed or run
                    continue
                state[stage] = "done"
                now = dict(lock_outs())
                if force or now.get(stage) != recorded.get(stage) or stage not in recorded:
                    dirty.update(down[stage])
                recorded = now
    except BaseException:  # Ctrl-C, SIGTERM: the stages running are stopped, then waited for
        stop = getattr(runner, "stop", None)
        if stop is not None:
            stop()
        raise
    finally:
        pool.shutdown(wait=True)
    if failed is not None:
        not_run = sorted(s for s, st in state.items() if st == "pending" and s in dirty)
        rest = f" Étapes non lancées : {', '.join(not_run)}." if not_run else ""
        raise StageFailed(
            f"l'étape « {failed.stage} » a échoué (code {failed.returncode}) ; sa sortie est "
            f"ci-dessus.{rest}\n  À faire : corrigez ce qu'elle dit, puis relancez « make run » "
            "(les étapes terminées ne sont pas refaites)."
        )
    return runs


def _skip_settled(
    state: dict[str, str], upstream: Mapping[str, frozenset[str]], dirty: set[str]
) -> None:
    """A pending stage not (yet) made dirty is skipped once all its upstream stages are settled:
    nothing can make it dirty any more."""
    settled = {"done", "skipped"}
    progress = True
    while progress:
        progress = False
        for stage, st in state.items():
            if st != "pending" or stage in dirty:
                continue
            if all(state[u] in settled for u in upstream[stage]):
                state[stage] = "skipped"
                progress = True


def _seconds(x: float) -> str:
    return f"{x:.1f}".replace(".", ",")  # core.formatting would import pandas for this line


# DVC's advice after every stage, the same 26 times in a run (and said to the analyst by the
# README): left out of what is printed; everything else DVC and the stage print is kept.
_DVC_ADVICE = frozenset(
    {
        "To track the changes with git, run:",
        "git add dvc.lock",
        "To enable auto staging, run:",
        "dvc config core.autostage true",
        "Use `dvc push` to send your updates to remote storage.",
    }
)


def _without_advice(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip() not in _DVC_ADVICE]
    kept: list[str] = []
    for line in lines:  # no run of blank lines where the advice was
        if line.strip() or (kept and kept[-1].strip()):
            kept.append(line)
    return "\n".join(kept).strip("\n")


def _echo_run(run: StageRun, echo: Callable[[str], None]) -> None:
    mark = "terminée" if run.returncode == 0 else f"en échec (code {run.returncode})"
    text = _without_advice(run.output)
    echo(f"── {run.stage} : {mark} en {_seconds(run.seconds)} s")
    if text:
        echo(text)


def repro(
    root: Path, *, jobs: int = 2, force: bool = False, echo: Callable[[str], None] = print
) -> list[StageRun]:
    """``observatoire repro``: the whole pipeline, ``jobs`` independent stages at a time."""
    from observatoire.core.lock import SCHEDULER_ENV

    compile_package()
    pipeline, changed = load_pipeline(root)
    durations = read_durations(root)
    env = dict(os.environ)
    env[SCHEDULER_ENV] = str(os.getpid())
    started = time.perf_counter()
    runs = run_pipeline(
        pipeline,
        changed,
        DvcStageRunner(root, force, env),
        jobs=jobs,
        force=force,
        durations=durations,
        lock_outs=lambda: _lock_outs(root),
        echo=echo,
    )
    if runs:
        _write_durations(root, {**durations, **{r.stage: round(r.seconds, 2) for r in runs}})
        total = time.perf_counter() - started
        work = sum(r.seconds for r in runs)
        echo(
            f"Pipeline à jour : {len(runs)} étape(s) en {_seconds(total)} s "
            f"({_seconds(work)} s d'étapes, {jobs} à la fois)."
        )
    else:
        echo("Pipeline à jour : aucune étape à refaire.")
    return runs
