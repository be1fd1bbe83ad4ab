"""Benchmark: the ``link`` stage on a regional-scale network (≈ 200 000 partner records).

A synthetic network is generated at ``--echelle`` times the default sample (13 by default: over
200 000 partner records, named and street-work, and about 2.4 million contact rows over five
years, a federation of Relais sociaux) and ingested; both steps are set-up and not timed. Then
the production ``link`` stage (``observatoire link`` in a fresh process, inputs declared as real
exports so that the truth is not read) is timed, with its peak memory (maximum resident set size
of the process); the records per kind and the pairs scored come from the stage's own
``linkage.json``.
Finally the linkage quality against the synthetic truth is measured (not timed).

Targets on 2 cores: ≤ 5 minutes and ≤ 6 GB. Results go to ``bench/results/linkage.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
KEY = secrets.token_hex(32)  # a throwaway key: the bench publishes nothing


def prepare(work: Path, scale: float) -> dict[str, float]:
    """Generate and ingest the network into ``work`` (a copy of the project's params)."""
    from observatoire.intake.ingest import ingest_network
    from observatoire.intake.mapping import load_partners
    from observatoire.intake.pseudonymise import Pseudonymiser
    from observatoire.sample import generate_sample

    shutil.copytree(ROOT / "params", work / "params")
    params_path = work / "params/pipeline.yaml"
    params = yaml.safe_load(params_path.read_text(encoding="utf-8"))
    params["sample"]["scale"] = scale
    params["inputs"]["raw_dir"] = "data_raw/exports"  # production mode: the truth is not read
    params_path.write_text(yaml.safe_dump(params, allow_unicode=True), encoding="utf-8")
    start = time.perf_counter()
    generate_sample(params["sample"], work / "data_raw/exports", work / "truth")
    generated = time.perf_counter() - start
    partners = load_partners(work / "params/partners", work / "params/codes")
    start = time.perf_counter()
    result = ingest_network(
        work / "data_raw/exports",
        partners,
        Pseudonymiser(bytes.fromhex(KEY)),
        progress=lambda *_: None,
    )
    ingested = time.perf_counter() - start
    for folder in ("staging", "validated"):
        (work / "data_clean" / folder).mkdir(parents=True)
        result.contacts.to_parquet(work / "data_clean" / folder / "contacts.parquet")
        result.refusals.to_parquet(work / "data_clean" / folder / "refusals.parquet")
    result.tokens.to_parquet(work / "data_clean/staging/identity_tokens.parquet")
    return {
        "generation_s": round(generated, 1),
        "ingest_s": round(ingested, 1),
        "rows": len(result.contacts),
        "records": int(result.contacts["record_key"].nunique()),
    }


def timed_link(work: Path) -> dict[str, float | None]:
    """Run ``observatoire link`` in a child process: wall time and peak memory of that child
    (``wait4`` gives its own resource usage, not that of every child the bench started)."""
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "OBSERVATOIRE_CLE": KEY}
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as log:
        child = subprocess.Popen(
            [str(BIN / "observatoire"), "link"], cwd=work, env=env, stdout=log, stderr=log
        )
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            log.seek(0)
            sys.exit(f"échec de l'étape link :\n{log.read()[-4000:]}")
    peak_kb = usage.ru_maxrss  # Linux: kilobytes
    metrics = json.loads((work / "outputs/metrics/linkage.json").read_text(encoding="utf-8"))
    return {
        "wall_s": round(elapsed, 1),
        "peak_memory_gb": round(peak_kb / 1024**2, 2),
        "records_named": metrics["dossiers"]["nominatifs"],
        "records_street": metrics["dossiers"]["travail_de_rue"],
        "pairs_scored": metrics.get("modele", {}).get("paires_comparees"),
    }


def quality(work: Path) -> dict:
    from observatoire.linkage.baseline import exact_key_clusters
    from observatoire.linkage.quality import Targets, load_truth, measure_quality

    contacts = pd.read_parquet(work / "data_clean/contacts.parquet")
    tokens = pd.read_parquet(work / "data_clean/staging/identity_tokens.parquet")
    street = tokens["tok_surname"].isna() & tokens["tok_first_name"].isna()
    truth, noise = load_truth(work / "truth")
    q = measure_quality(
        contacts,
        truth,
        noise,
        set(tokens.loc[street, "record_key"]),
        {"cle_exacte": exact_key_clusters(tokens)},
        tokens,
        Targets(),
    )
    model = q["modele"]
    return {
        scope: {
            "precision": model[scope]["paires_de_dossiers"]["precision"],
            "rappel": model[scope]["paires_de_dossiers"]["rappel"],
            "personnes": model[scope]["personnes"],
        }
        for scope in ("identifies", "travail_de_rue", "reseau")
    } | {"reference_cle_exacte": q["references"]["cle_exacte"]["identifies"]["personnes"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--echelle", type=float, default=13.0, help="échelle de l'échantillon")
    parser.add_argument("--preparer", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.preparer:  # child process: the network's set-up, then exit (freeing its memory)
        setup = prepare(args.preparer, args.echelle)
        (args.preparer / "setup.json").write_text(json.dumps(setup), encoding="utf-8")
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "projet"
        work.mkdir()
        # Set-up in its own process: a child forked from a process holding the generated
        # network would count that memory in its own peak.
        subprocess.run(
            [sys.executable, __file__, "--echelle", str(args.echelle), "--preparer", str(work)],
            check=True,
        )
        setup = json.loads((work / "setup.json").read_text(encoding="utf-8"))
        print(f"réseau préparé : {setup}", flush=True)
        link = timed_link(work)
        print(f"étape link : {link}", flush=True)
        measured = quality(work)
    result = {
        "scale": args.echelle,
        "network": setup,
        "link_stage": link,
        "targets": {"wall_s": 300, "peak_memory_gb": 6},
        "targets_met": link["wall_s"] <= 300 and link["peak_memory_gb"] <= 6,
        "quality_against_truth": measured,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    }
    out = ROOT / "bench/results/linkage.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
