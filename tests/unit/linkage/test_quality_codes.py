"""The quality measure on integer codes gives the figures of the frame computation it
replaced, to the bit (the reference is that computation, copied here)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from observatoire.linkage.quality import grouping_quality, measure_quality, pairwise
from observatoire.linkage.settings import LinkageTargets


def _persons(rows: pd.DataFrame, found: str) -> dict:
    n_found, n_true = int(rows[found].nunique()), int(rows["true_person_id"].nunique())
    return {
        "trouvees": n_found,
        "vraies": n_true,
        "ecart_relatif": round((n_found - n_true) / n_true, 5) if n_true else None,
    }


def _scope_quality(rows: pd.DataFrame, found: str) -> dict:
    records = rows[["record_key", "true_person_id", found]].drop_duplicates()
    return {
        "paires_de_dossiers": pairwise(records, found),
        "paires_de_lignes": pairwise(rows, found),
        "personnes": _persons(rows, found),
        "personnes_par_annee": {
            str(y): _persons(g, found) for y, g in rows.groupby("year", sort=True)
        },
    }


def reference_quality(rows: pd.DataFrame, found: str, initials_only: set[str]) -> dict:
    """The frame computation before the codes (grouping_quality as it was)."""
    street = rows["record_key"].isin(initials_only)
    out = {
        "identifies": _scope_quality(rows[~street], found),
        "travail_de_rue": _scope_quality(rows[street], found) if street.any() else None,
        "reseau": _scope_quality(rows, found),
    }
    out["par_partenaire"] = {
        str(p): {
            "personnes": _persons(g, found),
            "paires_de_dossiers": pairwise(
                g[["record_key", "true_person_id", found]].drop_duplicates(), found
            ),
        }
        for p, g in rows.groupby("partner_id", sort=True)
    }
    return out


def planted_rows(seed: int, n: int = 3000, missing: bool = True) -> pd.DataFrame:
    """Contacts of records spread over persons, with found persons that merge and split
    them, repeated rows (ties), records seen at several partners and years, and (with
    ``missing``) records the grouping left without a person."""
    rng = np.random.default_rng(seed)
    record = rng.integers(0, n // 6, n)
    true = record // 3  # three records per true person
    found = np.where(rng.random(n) < 0.2, rng.integers(0, n // 10, n), true // 2 * 2)
    rows = pd.DataFrame(
        {
            "record_key": pd.array([f"R{r:05d}" for r in record], dtype="str"),
            "true_person_id": pd.array([f"T{t:05d}" for t in true], dtype="str"),
            "person_id": pd.array([f"P{f:05d}" for f in found], dtype="str"),
            "partner_id": pd.array([f"p{r % 7}" for r in record], dtype="str"),
            "year": 2020 + rng.integers(0, 4, n),
        }
    )
    if missing:
        rows.loc[rng.random(n) < 0.05, "person_id"] = None
    return rows


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("missing", [True, False])
def test_quality_on_codes_is_the_frame_computation(seed: int, missing: bool) -> None:
    rows = planted_rows(seed, missing=missing)
    street = set(rows["record_key"].drop_duplicates().sample(frac=0.2, random_state=seed))
    assert grouping_quality(rows, "person_id", street) == reference_quality(
        rows, "person_id", street
    )
    # No street work at all: the scope is None in both.
    assert grouping_quality(rows, "person_id", set()) == reference_quality(rows, "person_id", set())


def test_measure_quality_baselines_are_the_frame_computation() -> None:
    rows = planted_rows(3, missing=False)
    contacts = rows.drop(columns="true_person_id").assign(
        source_file="f.csv",
        source_row=np.arange(len(rows)),
        date_start=pd.Timestamp("2021-03-01"),
    )
    truth = pd.DataFrame(
        {
            "source_file": "f.csv",
            "source_row": np.arange(len(rows)),
            "true_person_id": rows["true_person_id"].astype(object),
        }
    )
    keys = rows["record_key"].drop_duplicates()
    clusters = pd.Series(keys.str[:5].to_numpy(), index=keys.to_numpy())
    clusters = clusters.iloc[: len(clusters) // 2]  # the others are their own cluster
    out = measure_quality(
        contacts,
        truth,
        {},
        set(),
        {"b": clusters},
        pd.DataFrame({"record_key": []}),
        LinkageTargets(),
    )
    base = rows.assign(baseline=rows["record_key"].map(clusters).fillna(rows["record_key"]))
    expected = reference_quality(base, "baseline", set())
    assert out["references"]["b"] == {
        scope: {
            k: expected[scope][k] for k in ("paires_de_dossiers", "paires_de_lignes", "personnes")
        }
        for scope in ("identifies", "reseau")
    }
    assert out["modele"] == reference_quality(rows, "person_id", set())
