"""DVC sees a changed key (issue 17, defect 8: it used to say « up to date »): the
``key_fingerprint`` stage runs on every ``dvc repro``, and what depends on it reruns only when
the key changed. A minimal project: the real stage and a stand-in for ``ingest``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from observatoire.intake.key_fingerprint import CHANGE_ENV, fingerprint, write_fingerprint
from tests.support.keys import OTHER_KEY, TEST_KEY

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DVC_YAML = {
    "stages": {
        "key_fingerprint": {
            "cmd": "observatoire key-fingerprint",
            "always_changed": True,
            "outs": [{"data_clean/cle_configuree.json": {"cache": False}}],
        },
        "ingest": {
            "cmd": "cp data_clean/cle_configuree.json vue.json",
            "deps": ["data_clean/cle_configuree.json"],
            "outs": [{"vue.json": {"cache": False}}],
        },
    }
}


def _repro(project: Path, key: str, **extra: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": key}
    env["PYTHONPATH"] = str(ROOT / "src")
    env.update(extra)
    return subprocess.run(
        [str(BIN / "dvc"), "repro"], cwd=project, env=env, capture_output=True, text=True
    )


def test_dvc_reruns_what_follows_the_key_only_when_the_key_changed(tmp_path: Path) -> None:
    project = tmp_path / "projet"
    shutil.copytree(ROOT / "params", project / "params")
    (project / "dvc.yaml").write_text(yaml.safe_dump(DVC_YAML), encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=project, check=True)
    subprocess.run([str(BIN / "dvc"), "config", "core.analytics", "false"], cwd=project)

    first = _repro(project, TEST_KEY)
    assert first.returncode == 0, first.stderr
    assert "Running stage 'ingest'" in first.stdout
    again = _repro(project, TEST_KEY)
    assert "Stage 'ingest' didn't change, skipping" in again.stdout, again.stdout
    other = _repro(project, OTHER_KEY)
    assert other.returncode == 0 and "Running stage 'ingest'" in other.stdout

    # With pseudonymised data made with one key, another key stops the run until confirmed.
    write_fingerprint(project / "data_clean/cle_empreinte.json", bytes.fromhex(TEST_KEY))
    refused = _repro(project, OTHER_KEY)
    assert refused.returncode != 0
    assert "n'est pas celle qui a produit" in refused.stderr and "Traceback" not in refused.stderr
    _repro(project, TEST_KEY)
    confirmed = _repro(project, OTHER_KEY, **{CHANGE_ENV: "1"})
    assert confirmed.returncode == 0 and "Running stage 'ingest'" in confirmed.stdout
    assert fingerprint(bytes.fromhex(OTHER_KEY)) in (project / "vue.json").read_text()
