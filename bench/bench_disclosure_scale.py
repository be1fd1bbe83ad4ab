"""Benchmark of disclosure control on a network ``SCALE`` times larger than the default sample.

``python bench/bench_disclosure_scale.py [SCALE] [CACHE_DIR]`` (default 10) adds
``scale_<SCALE>`` to ``bench/results/disclosure.json`` (the other keys, written by
``bench_disclosure.py``, are kept):
the time of the optimal protection, and cells and persons masked as secondary, greedy against
optimal, per table and over the publication, for this year and last year, with the audit.

How the indicators are obtained, honestly cheaper than the pipeline:

* the synthetic network is generated with ``sample.scale = SCALE`` (every other sample
  parameter as in ``params/pipeline.yaml``) into a temporary folder;
* the partner exports are read by the real ingestion (``ingest_network``, a throwaway key);
  the great-expectations validation is skipped (it sets aside well under 1 % of the rows);
* **no record linkage is run** (Splink at 10× is far too slow for a shared 2-core machine):
  each record gets its *true* person (``sample_truth/truth.csv``), except street-work records,
  which get a person of their own per true person (``travail_rue:`` prefix), since the
  pipeline never links street work to the other services. The counts are those of a perfect
  linkage, not the pipeline's (which misses about 1 % of persons on the default sample);
* the indicators are computed by the indicators stage's own function
  (``compute_indicators``), this year and last year; the publication is built and protected
  by :func:`observatoire.disclosure.publication.publish` exactly as the report does.

With ``CACHE_DIR``, the two indicator files are kept there (``indicateurs_<SCALE>.json``,
``indicateurs_annee_precedente_<SCALE>.json``) and reused by the next run: only the
publication is then recomputed (the indicators take about 15 minutes at 10× on 2 shared cores).

Timings are one run each (generation and indicators take minutes at 10×; machines are shared:
read them as orders of magnitude). Persons masked are sums of hidden values: bench figures only.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_disclosure import K, checked, masked, per_table, search  # noqa: E402

from observatoire.config.settings import load_settings  # noqa: E402
from observatoire.core.dispositifs import STREET_WORK  # noqa: E402
from observatoire.core.storage import write_parquet  # noqa: E402
from observatoire.disclosure.publication import publish  # noqa: E402
from observatoire.indicators.contract import compute_indicators  # noqa: E402
from observatoire.intake.ingest import ingest_network  # noqa: E402
from observatoire.intake.mapping import load_partners  # noqa: E402
from observatoire.intake.pseudonymise import Pseudonymiser  # noqa: E402
from observatoire.sample import generate_sample  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "disclosure.json"


def indicators_at_scale(scale: float, tmp: Path) -> tuple[dict, dict, dict[str, Any]]:
    """This year's and last year's indicators of the network generated at ``scale``."""
    params = yaml.safe_load((ROOT / "params" / "pipeline.yaml").read_text(encoding="utf-8"))
    settings = load_settings(ROOT / "params" / "pipeline.yaml")
    steps: dict[str, Any] = {}
    started = time.perf_counter()
    generate_sample({**params["sample"], "scale": scale}, tmp / "raw", tmp / "truth")
    steps["generate_seconds"] = round(time.perf_counter() - started, 1)

    started = time.perf_counter()
    partners = load_partners(ROOT / "params" / "partners", ROOT / "params" / "codes")
    result = ingest_network(
        tmp / "raw", partners, Pseudonymiser(b"\xc3" * 32), progress=lambda *a: None
    )
    steps["ingest_seconds"] = round(time.perf_counter() - started, 1)

    truth = pd.read_csv(
        tmp / "truth" / "truth.csv",
        usecols=["source_file", "source_row", "true_person_id"],
        dtype={"source_file": str, "source_row": "int64", "true_person_id": str},
    )
    # through parquet, as between the pipeline's stages (nullable dtypes become plain ones)
    write_parquet(result.contacts, tmp / "contacts.parquet")
    write_parquet(result.refusals, tmp / "refusals.parquet")
    refusals = pd.read_parquet(tmp / "refusals.parquet")
    contacts = pd.read_parquet(tmp / "contacts.parquet").merge(
        truth, on=["source_file", "source_row"], how="left"
    )
    missing = int(contacts["true_person_id"].isna().sum())
    contacts = contacts.dropna(subset=["true_person_id"])
    street = contacts["dispositif"] == STREET_WORK
    contacts["person_id"] = contacts["true_person_id"].where(
        ~street, STREET_WORK + ":" + contacts["true_person_id"]
    )
    contacts = contacts.drop(columns="true_person_id").sort_values(
        ["source_file", "source_row"], ignore_index=True
    )
    steps["contacts"] = len(contacts)
    steps["contacts_without_truth"] = missing

    started = time.perf_counter()
    results = compute_indicators(
        contacts, refusals, partners, settings.report, settings.report.year
    )
    steps["indicators_seconds"] = round(time.perf_counter() - started, 1)
    ind = json.loads(json.dumps(results.figures.to_json()))
    prev = json.loads(json.dumps(results.previous_year.to_json()))
    return ind, prev, steps


def protect_both(ind: dict, prev: dict) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for method in ("greedy", "optimal"):
        started = time.perf_counter()
        _, pub, last = publish(ind, prev, K, method=method)
        seconds = time.perf_counter() - started
        out[method] = {
            "publish_seconds": round(seconds, 2),
            "this_year": {**masked(pub), **checked(pub, last), "search": search(pub)},
            "last_year": {**masked(last), **checked(last), "search": search(last)},
            "per_table": per_table(pub),
            "per_table_last_year": per_table(last),
        }
    return out


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 10.0
    cache = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    files = (
        (
            cache / f"indicateurs_{scale:g}.json",
            cache / f"indicateurs_annee_precedente_{scale:g}.json",
        )
        if cache
        else None
    )
    if files and all(f.exists() for f in files):
        ind, prev = (json.loads(f.read_text(encoding="utf-8")) for f in files)
        steps = json.loads((cache / f"steps_{scale:g}.json").read_text(encoding="utf-8"))
        steps["indicators_from_cache"] = True
    else:
        with tempfile.TemporaryDirectory(prefix="bench-disclosure-") as tmp:
            ind, prev, steps = indicators_at_scale(scale, Path(tmp))
        if cache and files:
            cache.mkdir(parents=True, exist_ok=True)
            for f, data in zip(files, (ind, prev), strict=True):
                f.write_text(json.dumps(data), encoding="utf-8")
            (cache / f"steps_{scale:g}.json").write_text(json.dumps(steps), encoding="utf-8")
    entry = {
        "scale": scale,
        "how": (
            "sample generated at this scale; real ingestion (validation skipped); NO linkage: "
            "true person ids from sample_truth (street work kept apart, as the pipeline does); "
            "indicators by compute_indicators; publish() as in the report"
        ),
        "year": int(ind["year"]),
        "network_persons": ind["network"]["persons"],
        "network_persons_last_year": prev["network"]["persons"],
        "steps": steps,
        **protect_both(ind, prev),
        "machine": {"cpus": os.cpu_count()},
    }
    result = json.loads(OUT.read_text(encoding="utf-8")) if OUT.exists() else {}
    result[f"scale_{scale:g}"] = entry
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(entry, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
