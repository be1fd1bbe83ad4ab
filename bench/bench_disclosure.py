"""Benchmark of disclosure control: secondary suppression and its audit, with and without the
pruning pass, on the report's real tables and on a synthetic publication.

Run after ``make run`` (it reads ``outputs/indicators/<year>/``):
``python bench/bench_disclosure.py``. Writes ``bench/results/disclosure.json``. Machines are
shared and noisy: read the timings as ratios within one run (best of ``REPEAT``).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd

from observatoire.disclosure import suppression
from observatoire.disclosure.publication import publish
from observatoire.disclosure.suppression import SECONDARY, CountTable, audit, protect

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "disclosure.json"
REPEAT = 3
K = 5


def best_of(fn: Callable[[], Any]) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(REPEAT):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def secondary(pub: suppression.Publication) -> int:
    return sum(s == SECONDARY for s in pub.status.values())


def real_tables() -> dict[str, Any]:
    folder = max((ROOT / "outputs" / "indicators").iterdir())
    ind = json.loads((folder / "indicateurs.json").read_text(encoding="utf-8"))
    prev = json.loads((folder / "indicateurs_annee_precedente.json").read_text(encoding="utf-8"))
    seconds, (_, pub, last) = best_of(lambda: publish(ind, prev, K))
    with mock.patch.object(suppression, "_prune", lambda *a: None):
        unpruned_s, (_, raw, _) = best_of(lambda: publish(ind, prev, K))
    audit_s, table = best_of(lambda: audit(pub, last))
    return {
        "year": int(ind["year"]),
        "publish_seconds": round(seconds, 3),
        "publish_without_pruning_seconds": round(unpruned_s, 3),
        "audit_seconds": round(audit_s, 3),
        "secondary_cells": secondary(pub),
        "secondary_cells_without_pruning": secondary(raw),
        "audited_cells": len(table),
        "all_protected": bool(table["protected"].all()),
    }


def synthetic_tables(n_tables: int = 21, seed: int = 7) -> list[CountTable]:
    """Independent tables of 4 × 4 counts with both margins, about 30 % of the counts small."""
    rng = np.random.default_rng(seed)
    tables = []
    for t in range(n_tables):
        inner = np.where(
            rng.random((4, 4)) < 0.3, rng.integers(1, 5, (4, 4)), rng.integers(5, 80, (4, 4))
        )
        values = pd.DataFrame(
            inner, index=[f"r{i}" for i in range(4)], columns=[f"c{j}" for j in range(4)]
        )
        values["Total"] = values.sum(axis=1)
        values.loc["Total"] = values.sum(axis=0)
        keys = pd.DataFrame(
            [[f"t{t}|{r}|{c}" for c in values.columns] for r in values.index],
            index=values.index,
            columns=values.columns,
        )
        tables.append(
            CountTable(f"t{t}", f"t{t}", values, keys, row_total="Total", col_total="Total")
        )
    return tables


def synthetic() -> dict[str, Any]:
    tables = synthetic_tables()
    seconds, pub = best_of(lambda: protect(tables, K))
    with mock.patch.object(suppression, "_prune", lambda *a: None):
        unpruned_s, raw = best_of(lambda: protect(tables, K))
    audit_s, table = best_of(lambda: audit(pub))
    return {
        "tables": len(tables),
        "keys": len(pub.values),
        "protect_seconds": round(seconds, 3),
        "protect_without_pruning_seconds": round(unpruned_s, 3),
        "audit_seconds": round(audit_s, 3),
        "secondary_cells": secondary(pub),
        "secondary_cells_without_pruning": secondary(raw),
        "all_protected": bool(table["protected"].all()),
    }


def main() -> None:
    result = {
        "real": real_tables(),
        "synthetic": synthetic(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
