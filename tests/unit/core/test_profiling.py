"""The stage profile (OBSERVATOIRE_PROFIL) and the benchmark's reading of it: off, nothing is
recorded or wrapped; on, one line per run whose parts add up; the benchmark splits start-up from
work and flags regressions. No timing is asserted beyond orders that cannot fail on a slow
machine (a part is never larger than the whole)."""

from __future__ import annotations

import builtins
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from observatoire.cli import main
from observatoire.core import profiling
from observatoire.core.imports import skip_unused_grammars

ROOT = Path(__file__).resolve().parents[3]


def _bench():
    spec = importlib.util.spec_from_file_location(
        "pipeline_stages", ROOT / "bench/pipeline_stages.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_profiling_is_off_without_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv(profiling.PROFILE_ENV, raising=False)
    original = builtins.__import__
    profile = profiling.begin()
    assert not profile.active and builtins.__import__ is original
    profile.finish(0)
    assert profiling.kernel_arguments() == []
    assert list(tmp_path.iterdir()) == []


def test_a_profiled_run_appends_one_line_whose_parts_fit_in_the_whole(monkeypatch, tmp_path):
    out = tmp_path / "profil.jsonl"
    monkeypatch.setenv(profiling.PROFILE_ENV, str(out))
    original = builtins.__import__
    sys.modules.pop("colorsys", None)
    profile = profiling.begin()
    assert builtins.__import__ is not original
    import colorsys  # noqa: F401  (a fresh import, timed)

    profile.stage = "essai"
    profile.add(t_kernel=0.25, t_cells=0.5)
    profile.finish(0)
    assert builtins.__import__ is original  # the timer is removed
    (line,) = out.read_text(encoding="utf-8").splitlines()
    record = json.loads(line)
    assert record["process"] == "stage" and record["stage"] == "essai"
    assert record["t_kernel"] == 0.25 and record["t_cells"] == 0.5
    assert 0 <= record["t_imports"] <= record["t_total"]
    assert 0 <= record["t_start_to_main"] <= record["t_total"]
    assert record["peak_rss_mb"] > 0
    assert profiling.kernel_arguments()[0].startswith("--IPKernelApp.exec_lines=")


def test_the_cli_names_the_line_after_the_stage(monkeypatch, tmp_path, capsys):
    monkeypatch.chdir(ROOT)  # the real params
    out = tmp_path / "profil.jsonl"
    monkeypatch.setenv(profiling.PROFILE_ENV, str(out))
    assert main(["partners", "--schema"]) == 0
    (line,) = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["stage"] == "partners"
    assert json.loads(line)["status"] == 0


def test_the_benchmark_splits_start_up_from_work_and_adds_the_kernel():
    bench = _bench()
    records = [
        {"process": "kernel", "stage": "trends", "t_imports": 2.0, "peak_rss_mb": 500.0},
        {
            "process": "stage",
            "stage": "ingest",
            "created": 100.0,
            "ended": 110.0,
            "t_start_to_main": 0.5,
            "t_imports": 1.5,
            "peak_rss_mb": 300.0,
        },
        {
            "process": "stage",
            "stage": "trends",
            "created": 111.0,
            "ended": 131.0,
            "t_start_to_main": 0.5,
            "t_imports": 2.5,
            "t_kernel": 1.0,
            "t_cells": 14.0,
            "peak_rss_mb": 150.0,
        },
    ]
    stages = bench.stages_of(records)
    assert list(stages) == ["ingest", "trends"]  # the order they ran
    assert stages["ingest"]["startup_s"] == 2.0 and stages["ingest"]["work_s"] == 8.0
    trends = stages["trends"]
    assert trends["startup_s"] == 0.5 + 2.5 + 1.0 + 2.0
    assert trends["work_s"] == 20.0 - 6.0
    assert trends["peak_rss_mb"] == 500.0  # the kernel's, larger than the stage process's


def test_the_benchmark_flags_a_slower_stage_but_not_noise():
    bench = _bench()

    def result(cold: float, wall: float, startup: float) -> dict:
        stage = {"wall_s": wall, "startup_s": startup, "work_s": wall - startup}
        return {"cold": {"total_s": cold}, "noop": {"total_s": 2.0}, "stages": {"trends": stage}}

    before = result(100.0, 20.0, 5.0)
    assert bench.regressions(before, result(105.0, 21.0, 5.2), 1.25) == []
    assert bench.regressions(before, result(90.0, 15.0, 0.3), 1.25) == []  # faster is fine
    found = bench.regressions(before, result(140.0, 30.0, 5.0), 1.25)
    assert any(line.strip().startswith("exécution froide, total") for line in found)
    assert any("trends, durée : 20,0 s → 30,0 s (×1,50)" in line for line in found)
    assert not any("démarrage" in line for line in found)
    # a tiny stage doubling by 0.2 s is under the floor of MIN_REGRESSION_S
    small = bench.regressions(result(100, 0.2, 0.1), result(100, 0.4, 0.2), 1.25)
    assert small == []


def test_two_machines_compare_at_the_same_speed():
    """A file made on a machine twice as slow (its calibration) is no regression for that."""
    bench = _bench()

    def result(cold: float, calibration: float | None) -> dict:
        stage = {"wall_s": cold / 5, "startup_s": 1.0, "work_s": cold / 5 - 1.0}
        machine = {} if calibration is None else {"calibration_s": calibration}
        return {
            "cold": {"total_s": cold},
            "noop": {"total_s": 2.0},
            "stages": {"trends": stage},
            "machine": machine,
        }

    assert bench.machine_ratio(result(100, 0.2), result(190, 0.4)) == 2.0
    assert bench.regressions(result(100, 0.2), result(190, 0.4), 1.25) == []
    assert bench.regressions(result(100, None), result(190, 0.4), 1.25) != []  # unknown speed
    slower = bench.regressions(result(100, 0.2), result(260, 0.4), 1.25)
    assert any("exécution froide, total : 200,0 s → 260,0 s" in line for line in slower)


def test_the_unused_grammar_is_skipped_and_jsonschema_still_validates(monkeypatch):
    monkeypatch.delitem(sys.modules, "rfc3987_syntax", raising=False)
    skip_unused_grammars()
    assert sys.modules["rfc3987_syntax"] is None
    with pytest.raises(ImportError):
        import rfc3987_syntax  # noqa: F401
    import jsonschema

    jsonschema.validate({"a": 1}, {"type": "object", "properties": {"a": {"type": "integer"}}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"a": "x"}, {"properties": {"a": {"type": "integer"}}})
