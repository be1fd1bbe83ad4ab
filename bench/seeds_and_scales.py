"""Does `dvc repro` finish, without a false leak alarm, whatever sample is drawn?

    python bench/seeds_and_scales.py              # 10 seeds at scale 1.0, scales 0.04 / 0.15 / 1.0
    python bench/seeds_and_scales.py graine_3     # some runs by name

The leak guard compares every published word with the names, birth dates and ids of the raw
exports; a sample surname that is also a French word (« Cles », « Belge ») used to stop a fresh
run. Each run here is the whole synthetic network drawn with another seed or at another scale,
end to end (`tests/support/small_network.py`): whether it finished, the stage that failed, and
the guard's verdict (``outputs/metrics/leak_guard.json``). Results in
``bench/results/seeds_and_scales.json``; about 3 to 5 minutes per run at scale 1.0 on 2 cores.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.small_network import Network, NetworkRun, run_network  # noqa: E402

ALL = tuple(sorted(p.stem for p in (ROOT / "params/partners").glob("*.yaml")))
DEFAULT_SEED = yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8"))[
    "sample"
]["seed"]
RUNS = (
    *(Network(f"graine_{i}", ALL, scale=1.0, seed=i) for i in range(1, 11)),
    Network("echelle_0.04", ALL, scale=0.04),
    Network("echelle_0.15", ALL, scale=0.15),
    Network("echelle_1.0", ALL, scale=1.0),
)


def summarise(run: NetworkRun) -> dict[str, object]:
    guard_file = run.project / "outputs/metrics/leak_guard.json"
    guard = json.loads(guard_file.read_text(encoding="utf-8")) if guard_file.exists() else None
    tail = [line for line in run.log.splitlines() if line.strip()][-8:]
    return {
        "graine": run.network.seed if run.network.seed is not None else DEFAULT_SEED,
        "echelle": run.network.scale,
        "termine": run.returncode == 0,
        "secondes": round(run.seconds, 1),
        "etape_en_echec": run.failed_stage,
        "garde_fou": guard,
        "sorties_declarees_manquantes": run.missing_outputs,
        "fin_du_journal": [] if run.returncode == 0 else tail,
    }


def main(names: list[str]) -> int:
    runs = [r for r in RUNS if not names or r.name in names]
    out = ROOT / "bench/results/seeds_and_scales.json"
    earlier = json.loads(out.read_text(encoding="utf-8")) if names and out.exists() else {}
    results = earlier.get("executions", {})
    started = time.strftime("%Y-%m-%d %H:%M")
    with tempfile.TemporaryDirectory() as tmp:
        for network in runs:
            run = run_network(network, Path(tmp), timeout=2400)
            results[network.name] = summarise(run)
            verdict = "terminé" if run.returncode == 0 else f"échec ({run.failed_stage})"
            print(f"{network.name} : {verdict} en {run.seconds:.0f} s", flush=True)
            out.parent.mkdir(parents=True, exist_ok=True)
            payload = {"lance_le": started, "executions": results}
            out.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return 0 if all(r["termine"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
