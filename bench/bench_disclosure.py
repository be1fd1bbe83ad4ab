"""Benchmark of disclosure control: secondary suppression, greedy against optimal, and its audit,
on the report's real tables and on synthetic publications.

Run after ``make run`` (it reads ``outputs/indicators/<year>/``):
``python bench/bench_disclosure.py``. Writes ``bench/results/disclosure.json``. For each method:
cells and persons masked as secondary (per table and over the publication, a key shared by
two tables counted once), the time, whether every small cell passes the audit, and how the
optimal search ended. Machines are shared and noisy: read the timings as ratios within one run
(best of ``REPEAT``). ``bench_disclosure_scale.py`` adds a network 10 times larger
(``scale_10``), kept when this script rewrites the file.

The persons masked are sums of hidden values: bench figures, never to be printed in a report.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pandas as pd

from observatoire.disclosure import suppression
from observatoire.disclosure.publication import publish
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    SECONDARY,
    Constraint,
    CountTable,
    Publication,
    audit,
    latent_exposure,
    protect,
    whole_number_audit,
)

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "results" / "disclosure.json"
REPEAT = 3
K = 5
METHODS = ("greedy", "optimal")


def best_of(fn: Callable[[], Any], repeat: int = REPEAT) -> tuple[float, Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def secondary(pub: Publication) -> int:
    return sum(s == SECONDARY for s in pub.status.values())


def masked(pub: Publication, keys: set[str] | None = None) -> dict[str, float]:
    """Cells and persons masked as secondary, over ``keys`` (default: the publication)."""
    hidden = {
        key for key, s in pub.status.items() if s == SECONDARY and (keys is None or key in keys)
    }
    return {"cells": len(hidden), "persons": sum(pub.values[key] for key in hidden)}


def per_table(pub: Publication) -> dict[str, dict[str, float]]:
    out = {}
    for table in pub.tables:
        keys = {key for _, _, key, _ in table.cells() if key is not None}
        figures = masked(pub, keys)
        if figures["cells"]:
            out[table.name] = figures
    return out


def search(pub: Publication) -> dict[str, Any]:
    s = pub.search
    if s is None:
        return {}
    return {
        "kept": s.method,
        "solver": s.solver,
        "greedy_cells": s.greedy_cells,
        "greedy_persons": s.greedy_persons,
        "optimal_cells": s.optimal_cells,
        "optimal_persons": s.optimal_persons,
        "groups": s.groups,
        "proven": s.proven,
        "master_solves": s.master_solves,
        "cuts": s.cuts,
        "greedy_seconds": round(s.greedy_seconds, 3),
        "optimal_seconds": round(s.optimal_seconds, 3),
    }


def checked(pub: Publication, previous: Publication | None = None) -> dict[str, Any]:
    table = audit(pub, previous)
    exposure = latent_exposure(pub, previous)
    return {
        "audited_cells": len(table),
        "all_protected": bool(table["protected"].all()),
        "all_protected_whole_numbers": bool(whole_number_audit(pub, previous)["protected"].all()),
        "inevitable": int(table["inevitable"].sum()),
        "latent_counts_exact": int(exposure["exact"].sum()),
    }


def real_tables() -> dict[str, Any]:
    folder = max((ROOT / "outputs" / "indicators").iterdir())
    ind = json.loads((folder / "indicateurs.json").read_text(encoding="utf-8"))
    prev = json.loads((folder / "indicateurs_annee_precedente.json").read_text(encoding="utf-8"))
    out: dict[str, Any] = {"year": int(ind["year"]), "budget": asdict(DEFAULT_BUDGET)}
    for method in METHODS:
        seconds, (_, pub, last) = best_of(lambda m=method: publish(ind, prev, K, method=m))
        out[method] = {
            "publish_seconds": round(seconds, 3),
            "this_year": {**masked(pub), **checked(pub, last), "search": search(pub)},
            "last_year": {**masked(last), **checked(last), "search": search(last)},
            "per_table": per_table(pub),
        }
    with mock.patch.object(suppression, "_prune", lambda *a: None):
        unpruned_s, (_, raw, _) = best_of(lambda: publish(ind, prev, K, method="greedy"))
    out["greedy"]["publish_without_pruning_seconds"] = round(unpruned_s, 3)
    out["greedy"]["secondary_cells_without_pruning"] = secondary(raw)
    # the first report printed with the optimal method, against last year's greedy report
    seconds, (_, pub, last) = best_of(
        lambda: publish(ind, prev, K, method="optimal", previous_method="greedy")
    )
    out["optimal_after_greedy_last_year"] = {
        "publish_seconds": round(seconds, 3),
        "this_year": {**masked(pub), **checked(pub, last), "search": search(pub)},
        "per_table": per_table(pub),
    }
    return out


def grid_table(name: str, inner: np.ndarray) -> CountTable:
    values = pd.DataFrame(
        inner,
        index=[f"r{i}" for i in range(inner.shape[0])],
        columns=[f"c{j}" for j in range(inner.shape[1])],
    )
    values["Total"] = values.sum(axis=1)
    values.loc["Total"] = values.sum(axis=0)
    keys = pd.DataFrame(
        [[f"{name}|{r}|{c}" for c in values.columns] for r in values.index],
        index=values.index,
        columns=values.columns,
    )
    return CountTable(name, name, values, keys, row_total="Total", col_total="Total")


def synthetic_tables(
    n_tables: int = 21, size: int = 4, small: float = 0.3, seed: int = 7
) -> list[CountTable]:
    """Independent tables of size × size counts with both margins, about ``small`` of the
    counts from 1 to k−1."""
    rng = np.random.default_rng(seed)
    tables = []
    for t in range(n_tables):
        shape = (size, size)
        inner = np.where(
            rng.random(shape) < small, rng.integers(1, K, shape), rng.integers(K, 80, shape)
        )
        tables.append(grid_table(f"t{t}", inner))
    return tables


def cube(n_regions: int, size: int, small: float = 0.25, seed: int = 3) -> dict[str, Any]:
    """A three-dimensional table: ``n_regions`` tables of size × size counts with margins and
    the national table, cell by cell their sum (explicit identities): one linked component."""
    rng = np.random.default_rng(seed)
    shape = (size, size)
    inners = [
        np.where(rng.random(shape) < small, rng.integers(1, K, shape), rng.integers(K, 60, shape))
        for _ in range(n_regions)
    ]
    tables = [grid_table(f"reg{i}", inner) for i, inner in enumerate(inners)]
    national = grid_table("nat", sum(inners))
    identities = [
        Constraint(f"nat|{r}|{c}", tuple(f"reg{i}|{r}|{c}" for i in range(n_regions)))
        for r in national.values.index
        for c in national.values.columns
    ]
    return synthetic([*tables, national], 1, identities)


def synthetic(
    tables: list[CountTable], repeat: int = REPEAT, identities: list[Constraint] | None = None
) -> dict[str, Any]:
    out: dict[str, Any] = {"tables": len(tables), "keys": None}
    for method in METHODS:
        seconds, pub = best_of(
            lambda m=method: protect(tables, K, identities or (), method=m), repeat
        )
        out["keys"] = len(pub.values)
        out[method] = {
            "protect_seconds": round(seconds, 3),
            **masked(pub),
            **checked(pub),
            "search": search(pub),
        }
    return out


def main() -> None:
    with mock.patch.object(suppression, "_prune", lambda *a: None):
        _, raw = best_of(lambda: protect(synthetic_tables(), K, method="greedy"), 1)
    many_small = synthetic(synthetic_tables())
    many_small["greedy"]["secondary_cells_without_pruning"] = secondary(raw)
    result = {
        "real": real_tables(),
        "synthetic": many_small,
        "synthetic_one_12x12": synthetic(synthetic_tables(1, 12, 0.25, seed=11), repeat=1),
        "synthetic_cube_3_regions_3x3": cube(3, 3),
        "synthetic_cube_4_regions_4x4": cube(4, 4),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    if OUT.exists():  # keep what bench_disclosure_scale.py wrote (scale_10)
        old = json.loads(OUT.read_text(encoding="utf-8"))
        result = {**{k: v for k, v in old.items() if k.startswith("scale_")}, **result}
    OUT.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
