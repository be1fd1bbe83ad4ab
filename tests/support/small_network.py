"""Small and partial partner networks, run end to end with ``dvc repro`` in a copy of the project.

A network is the synthetic sample at a reduced ``scale`` (fewer persons, so fewer than 30 young
newcomers below about 0.05), read through only some of the partners' mappings: the others'
exports stay in ``data_raw/sample`` but no mapping reads them, exactly as when a partner sends
nothing. Used by ``tests/integration/test_small_network.py`` (one case) and
``bench/small_networks.py`` (every variant).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.support.keys import NETWORK_KEY

__all__ = ["Network", "NetworkRun", "declared_outputs", "run_network"]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PROJECT_PARTS = ("dvc.yaml", "params", "publications", "notebooks", "src")
FIXTURES = ROOT / "tests/fixtures/foreign"
FOREIGN_RAW = "data_foreign"


@dataclass(frozen=True)
class Network:
    """One network: its name, the partners whose mappings are kept, the sample's scale and
    first year (fewer years: trends and flows with too short a history)."""

    name: str
    partners: tuple[str, ...]
    scale: float = 0.03
    first_year: int | None = None
    year: int = 2024
    fixture: str | None = None
    """A foreign fixture of ``tests/fixtures/foreign/`` read *instead of* the sample: its
    exports become the project's ``data_foreign/`` (``inputs.raw_dir``), its mappings and code
    lists the project's, exactly as an analyst onboards a network by mapping files alone."""
    seed: int | None = None
    """The sample generator's seed (``sample.seed``), when not the project's."""


@dataclass
class NetworkRun:
    """What ``dvc repro`` did on one network."""

    network: Network
    project: Path
    returncode: int
    seconds: float
    log: str
    missing_outputs: list[str] = field(default_factory=list)

    @property
    def failed_stage(self) -> str | None:
        found = re.findall(r"failed to reproduce '([^']+)'", self.log)
        return found[-1] if found else None


def _copy_project(dest: Path, network: Network) -> None:
    for name in PROJECT_PARTS:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(
                src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
        else:
            shutil.copy2(src, dest / name)
    partners = dest / "params/partners"
    if network.fixture is not None:
        _use_fixture(dest, FIXTURES / network.fixture)
    for mapping in partners.glob("*.yaml"):
        if mapping.stem not in network.partners:
            mapping.unlink()
    kept = sorted(p.stem for p in partners.glob("*.yaml"))
    if kept != sorted(network.partners):
        raise ValueError(f"partenaires inconnus : {sorted(set(network.partners) - set(kept))}")
    params_path = dest / "params/pipeline.yaml"
    params = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params["sample"]["scale"] = network.scale
    if network.first_year is not None:
        params["sample"]["first_year"] = network.first_year
    if network.seed is not None:
        params["sample"]["seed"] = network.seed
    params["report"]["year"] = network.year
    if network.fixture is not None:
        params["inputs"]["raw_dir"] = FOREIGN_RAW
    params_path.write_text(
        yaml.safe_dump(params, allow_unicode=True, sort_keys=False), encoding="utf-8"
    )


def _use_fixture(dest: Path, fixture: Path) -> None:
    """The fixture's mappings replace the sample's; its code lists join the shared ones; its
    exports (``data_raw/`` or ``raw/``) are copied to ``data_foreign/``."""
    for mapping in (dest / "params/partners").glob("*.yaml"):
        mapping.unlink()
    for kind in ("partners", "codes"):
        for src in (fixture / "params" / kind).glob("*.yaml"):
            shutil.copy2(src, dest / "params" / kind / src.name)
    raw = next(p for p in (fixture / "data_raw", fixture / "raw") if p.is_dir())
    shutil.copytree(raw, dest / FOREIGN_RAW)


def declared_outputs(project: Path) -> list[str]:
    """Every ``outs`` and ``metrics`` path of every stage of the project's ``dvc.yaml``, with the
    params it interpolates (``${report.year}``…) resolved."""
    spec = yaml.safe_load((project / "dvc.yaml").read_text(encoding="utf-8"))
    params = yaml.safe_load((project / "params/pipeline.yaml").read_text(encoding="utf-8"))

    def resolve(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            node: Any = params
            for part in match.group(1).split("."):
                node = node[part]
            return str(node)

        return re.sub(r"\$\{([^}]+)\}", value, text)

    paths = []
    for stage in spec["stages"].values():
        for kind in ("outs", "metrics"):
            for entry in stage.get(kind, []):
                name = entry if isinstance(entry, str) else next(iter(entry))
                paths.append(resolve(name))
    return paths


def run_network(network: Network, workdir: Path, timeout: int = 1200) -> NetworkRun:
    """Copy the project into ``workdir/<name>``, keep the network's partners, ``dvc repro``."""
    project = Path(workdir) / network.name
    project.mkdir(parents=True)
    _copy_project(project, network)
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": NETWORK_KEY}
    env.pop("OBSERVATOIRE_CLE_FICHIER", None)
    env["PYTHONPATH"] = str(project / "src")
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    dvc = str(BIN / "dvc")
    subprocess.run([dvc, "init", "-q"], cwd=project, check=True, env=env)
    subprocess.run([dvc, "config", "core.analytics", "false"], cwd=project, check=True, env=env)
    start = time.perf_counter()
    run = subprocess.run(
        [dvc, "repro"], cwd=project, env=env, capture_output=True, text=True, timeout=timeout
    )
    seconds = time.perf_counter() - start
    log = run.stdout + run.stderr
    (project / "repro.log").write_text(log, encoding="utf-8")
    missing = [p for p in declared_outputs(project) if not (project / p).exists()]
    return NetworkRun(network, project, run.returncode, seconds, log, missing)
