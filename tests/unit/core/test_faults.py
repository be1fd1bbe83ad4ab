"""Clean faults: temporaries named and swept, one stage at a time, kernels stopped on interrupt."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from observatoire.cli import main
from observatoire.core.lock import HOLDER_FILE, ProjectBusy, project_lock
from observatoire.core.storage import (
    STAGE_ENV,
    TEMP_PREFIX,
    atomic_dir,
    publish_members,
    sweep_temporaries,
    write_json,
)

ROOT = Path(__file__).resolve().parents[3]

# How long a subprocess may take to reach the state a test waits for before the test calls it
# hung: a guard, not a timing (a loaded machine, or `make test` on two processes, once took 60 s).
HANG_GUARD_S = 300


@pytest.fixture
def params_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder holding only the real params (enough for the CLI to start)."""
    shutil.copytree(ROOT / "params", tmp_path / "params")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_temporaries_carry_the_prefix_and_the_stage(tmp_path, monkeypatch):
    monkeypatch.setenv(STAGE_ENV, "ingest")
    seen = []
    with atomic_dir(tmp_path / "staging") as tmp:
        seen.append(tmp.name)
        (tmp / "a.json").write_text("{}")
    assert seen[0].startswith(f"{TEMP_PREFIX}ingest-staging-")
    assert [p.name for p in tmp_path.iterdir()] == ["staging"]  # nothing left beside it


def test_a_failed_atomic_dir_and_publish_leave_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv(STAGE_ENV, "report")
    with pytest.raises(KeyboardInterrupt), atomic_dir(tmp_path / "out") as tmp:
        write_json(tmp / "x.json", {"a": 1})
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []
    staging, target = tmp_path / "s", tmp_path / "t"
    (staging / "figures").mkdir(parents=True)
    (target / "figures").mkdir(parents=True)
    publish_members(staging, target, ["figures"])
    assert [p.name for p in target.iterdir()] == ["figures"]


def test_sweep_removes_debris_of_stages_and_of_older_versions_only(tmp_path):
    debris = [
        "outputs/reports/2024/.obs-tmp-report-observatoire-k3j9x2ab",  # report tmp folder
        "data_clean/.obs-tmp-ingest-staging-abcd1234",
        "outputs/indicators/2024/.obs-tmp-indicators-reseau.csv-x1y2z3w4",  # atomic write
        "outputs/reports/2024/.rendu-1a2b3c4d",  # names before the prefix
        "outputs/reports/2024/.observatoire.tmp-zz99yy88",
        "data_clean/.staging.tmp-ab12cd34",
        "data_clean/.contacts.parquet.q1w2e3r4",
        "outputs/.validation.tmp",
    ]
    kept = [
        "outputs/trends/series_externes/.obs-tmp-outil-repas-abcd1234",  # a tool's live file
        "outputs/.gitkeep",
        "params/.rendu-notes",  # legacy names only count in the output folders
        ".git/.obs-tmp-report-x",
        "data_clean/contacts.parquet",
    ]
    for rel in debris + kept:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith(("ab", "34", "88")):
            path.mkdir()
            (path / "inside.pdf").write_bytes(b"%PDF")
        else:
            path.write_text("x")
    removed = sweep_temporaries(tmp_path)
    assert sorted(p.relative_to(tmp_path).as_posix() for p in removed) == sorted(debris)
    assert all((tmp_path / rel).exists() for rel in kept)


def test_a_second_stage_is_refused_naming_who_holds_the_project(params_project, capsys):
    with project_lock(params_project, "ingest"):
        assert (params_project / HOLDER_FILE).exists()
        assert main(["ingest"]) == ProjectBusy.exit_code
        err = capsys.readouterr().err
        assert "Projet occupé" in err and "« ingest »" in err and f"{os.getpid()}" in err
        assert "depuis" in err and "--attendre" in err and "Traceback" not in err
        # read-only tools need no lock
        assert main(["partners"]) == 0
        # waiting is bounded
        started = time.monotonic()
        assert main(["--attendre", "0.5", "validate"]) == ProjectBusy.exit_code
        assert 0.4 < time.monotonic() - started < 5
        assert "après 0.5 s d'attente" in capsys.readouterr().err
    assert not (params_project / HOLDER_FILE).exists()


def test_a_stage_sweeps_debris_once_it_holds_the_lock(params_project, capsys):
    debris = params_project / "outputs/reports/2024/.obs-tmp-report-observatoire-abcd1234"
    debris.mkdir(parents=True)
    assert main(["notebook", "absent"]) == 2  # fails (no such notebook) after the sweep
    assert not debris.exists()
    assert "Nettoyage : 1 entrée(s) temporaire(s)" in capsys.readouterr().out


NOTEBOOK = """# %% tags=["parameters"]
params_file = ""
year = 0
disclosure_threshold = 0

# %%
import time
from pathlib import Path

Path("kernel-started").write_text("ok")
time.sleep(120)
"""


def _kernels_of(proc: psutil.Process) -> list[psutil.Process]:
    return [
        p for p in proc.children(recursive=True) if any("ipykernel" in part for part in p.cmdline())
    ]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_notebook_stage_shuts_its_kernel_down(params_project, signum):
    (params_project / "notebooks").mkdir()
    (params_project / "notebooks/dort.py").write_text(NOTEBOOK, encoding="utf-8")
    system_tmp = Path(tempfile.gettempdir())
    before = set(system_tmp.glob("tmp*.json"))
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "observatoire.cli", "notebook", "dort"],
        cwd=params_project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while not (params_project / "kernel-started").exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the kernel never started"
            time.sleep(0.1)
        kernels = _kernels_of(psutil.Process(proc.pid))
        assert kernels
        connection = list((params_project / "outputs/notebooks").glob(".obs-tmp-*/runtime/*.json"))
        assert connection  # the connection file lives in the project, not in ~/.local
        assert json.loads(connection[0].read_text())["transport"] == "ipc"  # no TCP port opened
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130, err
    assert "Interrompu" in err
    assert "TCP without encryption" not in err  # no English kernel warning in a French stage
    gone, alive = psutil.wait_procs(kernels, timeout=0.5)
    assert not alive, "a kernel outlived its stage"
    assert not list(params_project.rglob(f"{TEMP_PREFIX}*"))
    assert set(system_tmp.glob("tmp*.json")) <= before  # where jupyter_client writes by default


def _tree_digest(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_stage_killed_mid_write_reruns_to_the_same_bytes_and_leaves_no_debris(params_project):
    """The fault campaign (bench/fault_campaign.py) in one case: `observatoire ingest` killed
    with SIGKILL while its temporary folder exists, then rerun."""
    import yaml

    path = params_project / "params/pipeline.yaml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))
    params["sample"]["scale"] = 0.04
    path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    assert main(["generate-sample"]) == 0
    assert main(["ingest"]) == 0
    reference = _tree_digest(params_project / "data_clean")
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "observatoire.cli", "ingest"],
        cwd=params_project,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + HANG_GUARD_S
        while not list((params_project / "data_clean").glob(f"{TEMP_PREFIX}ingest-*")):
            assert proc.poll() is None, "ingest finished before writing its temporaries"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.kill()
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert list(params_project.rglob(f"{TEMP_PREFIX}*"))  # the kill left debris
    assert main(["ingest"]) == 0
    assert not list(params_project.rglob(f"{TEMP_PREFIX}*"))
    assert _tree_digest(params_project / "data_clean") == reference
