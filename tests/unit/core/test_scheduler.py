"""``observatoire repro``: which stages run, in which order, how many at a time, what a failure
stops (core.scheduler), on planted pipelines with a fake runner; and the project lock a stage
run for the scheduler leaves to it (core.lock.run_for_holder)."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest

from observatoire.core.lock import HOLDER_FILE, SCHEDULER_ENV, run_for_holder
from observatoire.core.scheduler import (
    Pipeline,
    StageFailed,
    StageRun,
    compile_package,
    critical_path,
    critical_path_priority,
    read_durations,
    run_pipeline,
    simulate,
)

# gen → ingest → {link → youth → pub, index, trends} ; pub → report ; index → report
UPSTREAM = {
    "gen": set(),
    "key": set(),
    "ingest": {"gen", "key"},
    "link": {"ingest"},
    "youth": {"link"},
    "index": {"ingest"},
    "trends": {"ingest"},
    "pub": {"youth", "trends"},
    "report": {"pub", "index"},
}
PIPELINE = Pipeline({k: frozenset(v) for k, v in UPSTREAM.items()}, frozenset({"key"}))
DURATIONS = {
    "gen": 2,
    "key": 0.5,
    "ingest": 5,
    "link": 3,
    "youth": 4,
    "index": 6,
    "trends": 1,
    "pub": 8,
    "report": 2,
}


class FakeRunner:
    """Records each stage's start and end (thread-safe); ``fail`` stages exit 1; ``outs`` is
    what dvc.lock says after a stage ran (a stage listed in ``same`` keeps its outputs)."""

    def __init__(self, fail=(), same=(), sleep=0.01):
        self.fail, self.same, self.sleep = set(fail), set(same), sleep
        self.events: list[tuple[str, str]] = []
        self.outs: dict[str, object] = {s: "v0" for s in UPSTREAM}
        self.running = 0
        self.max_running = 0
        self._lock = threading.Lock()

    def __call__(self, stage: str) -> StageRun:
        with self._lock:
            self.events.append(("start", stage))
            self.running += 1
            self.max_running = max(self.max_running, self.running)
        time.sleep(self.sleep)
        with self._lock:
            self.running -= 1
            self.events.append(("end", stage))
            if stage not in self.same:
                self.outs[stage] = f"v-{stage}"
        code = 1 if stage in self.fail else 0
        return StageRun(stage, code, f"sortie de {stage}", self.sleep)

    def started(self) -> list[str]:
        return [s for kind, s in self.events if kind == "start"]

    def lock_outs(self) -> dict[str, object]:
        with self._lock:
            return dict(self.outs)


def _run(runner: FakeRunner, changed=(), force=False, jobs=2, lines=None):
    return run_pipeline(
        PIPELINE,
        set(changed),
        runner,
        jobs=jobs,
        force=force,
        durations=DURATIONS,
        lock_outs=runner.lock_outs,
        echo=(lines.append if lines is not None else lambda _: None),
    )


def test_forced_run_respects_every_dependency_and_the_number_of_jobs():
    runner = FakeRunner()
    runs = _run(runner, force=True, jobs=2)
    assert sorted(r.stage for r in runs) == sorted(UPSTREAM)
    position = {(kind, s): i for i, (kind, s) in enumerate(runner.events)}
    for stage, ups in UPSTREAM.items():
        for up in ups:
            assert position[("end", up)] < position[("start", stage)], (up, stage)
    assert runner.max_running == 2


def test_one_job_runs_one_stage_at_a_time():
    runner = FakeRunner()
    _run(runner, force=True, jobs=1)
    assert runner.max_running == 1
    assert len(runner.started()) == len(UPSTREAM)


def test_the_ready_stage_with_the_longest_chain_behind_it_starts_first():
    priority = critical_path_priority(PIPELINE, DURATIONS)
    # link, youth, pub, report: 3 + 4 + 8 + 2 = 17; index, report: 8; trends, pub, report: 11
    assert priority["link"] == 17 and priority["index"] == 8 and priority["trends"] == 11
    assert priority["gen"] == 2 + 5 + 17
    runner = FakeRunner()
    _run(runner, force=True, jobs=2)
    after_ingest = runner.started()[3:5]
    assert after_ingest == ["link", "trends"]


def test_simulated_schedule_beats_one_at_a_time_by_the_parallel_work():
    one, _ = simulate(PIPELINE, DURATIONS, jobs=1)
    two, schedule = simulate(PIPELINE, DURATIONS, jobs=2)
    assert one == sum(DURATIONS.values())
    # critical path gen, ingest, link, youth, pub, report = 24: the rest fits beside it
    assert two == 24
    starts = {s: start for s, start, _ in schedule}
    assert starts["index"] < starts["pub"]


def test_the_critical_path_is_the_longest_chain_and_bounds_any_schedule():
    length, chain = critical_path(PIPELINE, DURATIONS)
    assert chain == ["gen", "ingest", "link", "youth", "pub", "report"]
    assert length == 24 == sum(DURATIONS[s] for s in chain)
    assert all(simulate(PIPELINE, DURATIONS, jobs)[0] >= length for jobs in (1, 2, 3, 9))
    # a longer trends takes the chain over: trends, pub, report = 13 + 8 + 2 > 17
    length, chain = critical_path(PIPELINE, {**DURATIONS, "trends": 13})
    assert chain == ["gen", "ingest", "trends", "pub", "report"] and length == 2 + 5 + 23
    assert critical_path(Pipeline({}), DURATIONS) == (0.0, [])


def test_a_stage_rerun_to_the_same_outputs_does_not_rerun_what_follows():
    runner = FakeRunner(same={"key"})
    runs = _run(runner, changed={"key"})
    assert [r.stage for r in runs] == ["key"]


def test_a_changed_output_reruns_the_stages_downstream_only():
    runner = FakeRunner()
    runs = _run(runner, changed={"trends"})
    assert sorted(r.stage for r in runs) == ["pub", "report", "trends"]


def test_nothing_changed_runs_nothing():
    runner = FakeRunner()
    lines: list[str] = []
    assert _run(runner, changed=set(), lines=lines) == []
    assert runner.events == [] and lines == []


def test_a_failure_stops_new_starts_lets_running_stages_end_and_says_what_was_not_run():
    runner = FakeRunner(fail={"link"}, sleep=0.05)
    lines: list[str] = []
    with pytest.raises(StageFailed) as exc:
        _run(runner, force=True, lines=lines)
    started = runner.started()
    assert "youth" not in started and "pub" not in started and "report" not in started
    ended = [s for kind, s in runner.events if kind == "end"]
    assert sorted(ended) == sorted(started)  # nothing left running
    message = str(exc.value)
    assert "« link » a échoué (code 1)" in message
    assert "pub" in message and "report" in message and "make run" in message
    assert any("link : en échec (code 1)" in line for line in lines)
    assert "sortie de link" in lines


def test_each_stage_is_announced_then_its_output_printed_whole_after_its_header():
    runner = FakeRunner()
    lines: list[str] = []
    _run(runner, changed={"trends"}, lines=lines)
    start = lines.index("── trends : lancée")
    i = next(i for i, line in enumerate(lines) if line.startswith("── trends : terminée"))
    assert start < i and lines[i + 1] == "sortie de trends"
    assert lines.index("── pub : lancée") > i  # not before trends ended


def test_dvc_advice_repeated_after_every_stage_is_left_out():
    from observatoire.core.scheduler import _echo_run

    output = (
        "Running stage 'ingest':\n> observatoire ingest\nLecture des exports\n"
        "Updating lock file 'dvc.lock'\n\nTo track the changes with git, run:\n\n"
        "\tgit add dvc.lock\n\nTo enable auto staging, run:\n\n"
        "\tdvc config core.autostage true\nUse `dvc push` to send your updates to remote "
        "storage.\n"
    )
    lines: list[str] = []
    _echo_run(StageRun("ingest", 0, output, 2.5), lines.append)
    assert lines == [
        "── ingest : terminée en 2,5 s",
        "Running stage 'ingest':\n> observatoire ingest\nLecture des exports\n"
        "Updating lock file 'dvc.lock'",
    ]


def test_durations_come_from_the_previous_run_else_from_the_bench(tmp_path: Path):
    assert read_durations(tmp_path) == {}
    bench = tmp_path / "bench/results/pipeline_stages.json"
    bench.parent.mkdir(parents=True)
    bench.write_text(json.dumps({"stages": {"ingest": {"wall_s": 25.7}}}), encoding="utf-8")
    assert read_durations(tmp_path) == {"ingest": 25.7}
    own = tmp_path / ".dvc/tmp/observatoire-durees.json"
    own.parent.mkdir(parents=True)
    own.write_text(json.dumps({"ingest": 12.5}), encoding="utf-8")
    assert read_durations(tmp_path) == {"ingest": 12.5}
    own.write_text("{pas du json", encoding="utf-8")
    assert read_durations(tmp_path) == {"ingest": 25.7}


def test_a_stage_skips_the_lock_only_for_the_scheduler_holding_it(tmp_path, monkeypatch):
    parent = os.getppid()
    holder = tmp_path / HOLDER_FILE
    monkeypatch.delenv(SCHEDULER_ENV, raising=False)
    assert not run_for_holder(tmp_path)
    monkeypatch.setenv(SCHEDULER_ENV, str(parent))
    assert not run_for_holder(tmp_path)  # no holder file: nobody holds the lock
    holder.write_text(json.dumps({"pid": parent, "verb": "repro"}), encoding="utf-8")
    assert run_for_holder(tmp_path)
    holder.write_text(json.dumps({"pid": parent + 1, "verb": "repro"}), encoding="utf-8")
    assert not run_for_holder(tmp_path)  # the holder is someone else
    # the variable copied into another terminal: the named process is no ancestor of ours
    holder.write_text(json.dumps({"pid": os.getpid(), "verb": "repro"}), encoding="utf-8")
    monkeypatch.setenv(SCHEDULER_ENV, str(os.getpid()))
    assert not run_for_holder(tmp_path)
    monkeypatch.setenv(SCHEDULER_ENV, "pas un nombre")
    assert not run_for_holder(tmp_path)


def test_no_dvc_to_run_is_the_stage_failure_said_in_french(tmp_path, monkeypatch):
    from observatoire.core import scheduler

    monkeypatch.setattr(scheduler, "_dvc_command", lambda: [str(tmp_path / "pas-de-dvc")])
    run = scheduler.DvcStageRunner(tmp_path, force=False, env={})("ingest")
    assert run.returncode == 127 and "DVC introuvable" in run.output and "make setup" in run.output


def test_the_package_bytecode_is_written_even_where_python_writes_none(monkeypatch):
    """Every stage process imports the package: its .pyc must exist (PYTHONDONTWRITEBYTECODE
    is set in CI, where Python alone would never write them)."""
    import observatoire.core.scheduler as module

    cached = Path(importlib.util.cache_from_source(module.__file__))
    cached.unlink(missing_ok=True)
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    compile_package()
    assert cached.exists()
    assert cached.stat().st_mtime >= Path(module.__file__).stat().st_mtime
