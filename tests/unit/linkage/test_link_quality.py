"""The quality measures themselves, on hand-checkable groupings."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from observatoire.linkage.quality import pairwise, truth_applies


def test_pairwise_precision_and_recall_by_hand() -> None:
    # Truth: {1, 2, 3} and {4, 5}. Found: {1, 2}, {3, 4, 5}.
    units = pd.DataFrame(
        {"person_id": ["x", "x", "y", "y", "y"], "true_person_id": ["A", "A", "A", "B", "B"]}
    )
    out = pairwise(units)
    # Found pairs: 1 + 3 = 4, of which correct: (1,2) and (4,5) = 2. True pairs: 3 + 1 = 4.
    assert out["paires_reliees"] == 4 and out["paires_vraies"] == 4
    assert out["paires_correctes"] == 2
    assert out["precision"] == 0.5 and out["rappel"] == 0.5


def test_no_pair_gives_no_ratio_rather_than_a_division_by_zero() -> None:
    units = pd.DataFrame({"person_id": ["x", "y"], "true_person_id": ["A", "B"]})
    out = pairwise(units)
    assert out["precision"] is None and out["rappel"] is None


def test_truth_only_applies_to_the_synthetic_sample(tmp_path: Path) -> None:
    sample, truth = tmp_path / "data_raw/sample", tmp_path / "data_raw/sample_truth"
    sample.mkdir(parents=True)
    truth.mkdir(parents=True)
    assert not truth_applies(sample, sample, truth)  # no truth file yet
    (truth / "truth.csv").write_text("source_file,source_row,true_person_id\n", encoding="utf-8")
    assert truth_applies(sample, sample, truth)
    assert not truth_applies(tmp_path / "data_raw/exports_2024", sample, truth)
