"""The sample's pieces on worker processes (``OBSERVATOIRE_PROCESSUS``): the same files to the
bit as in one process, and a worker's error or loss reported as in one process."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from pathlib import Path

import pytest
import yaml

import observatoire.sample.generate as generate_module
from observatoire.core.errors import ObservatoireError
from observatoire.core.workers import WORKERS_ENV, WorkerLost
from observatoire.sample import generate_sample

ROOT = Path(__file__).resolve().parents[3]
PARAMS = yaml.safe_load((ROOT / "params" / "pipeline.yaml").read_text(encoding="utf-8"))
SMALL = {**PARAMS["sample"], "scale": 0.1}

pytestmark = pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="workers need fork"
)


def _hashes(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_one_or_two_processes_write_the_same_bytes(tmp_path, monkeypatch):
    summaries = {}
    for workers in ("1", "2"):
        monkeypatch.setenv(WORKERS_ENV, workers)
        summaries[workers] = generate_sample(
            SMALL, tmp_path / workers / "raw", tmp_path / workers / "truth"
        )
    for folder in ("raw", "truth"):
        one, two = _hashes(tmp_path / "1" / folder), _hashes(tmp_path / "2" / folder)
        assert one and one == two
    one, two = (str(summaries[w]).replace(str(tmp_path / w), "") for w in ("1", "2"))
    assert one.splitlines()[1:] == two.splitlines()[1:]  # the first line: folder and seconds


def _failing(name: str):
    if name == "street":
        raise ObservatoireError("Rue : formulaire introuvable.")
    return _piece(name)


def _dying(name: str):
    if name == "street":
        os._exit(1)
    return _piece(name)


_piece = generate_module._piece


def test_a_workers_error_is_raised_and_nothing_is_written(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr(generate_module, "_piece", _failing)
    with pytest.raises(ObservatoireError, match="Rue : formulaire introuvable"):
        generate_sample(SMALL, tmp_path / "raw", tmp_path / "truth")
    assert not (tmp_path / "raw").exists() and not (tmp_path / "truth").exists()
    assert [p.name for p in tmp_path.iterdir()] == []  # no staging folder left


def test_a_lost_worker_says_so_in_french(tmp_path, monkeypatch):
    monkeypatch.setenv(WORKERS_ENV, "2")
    monkeypatch.setattr(generate_module, "_piece", _dying)
    with pytest.raises(WorkerLost) as caught:
        generate_sample(SMALL, tmp_path / "raw", tmp_path / "truth")
    message = str(caught.value)
    assert "Échantillon synthétique" in message and f"{WORKERS_ENV}=1" in message
    assert "Rien n'a été écrit" in message
    assert not (tmp_path / "raw").exists() and not (tmp_path / "truth").exists()
