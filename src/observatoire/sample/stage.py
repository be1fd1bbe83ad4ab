"""The ``generate_sample`` stage: the synthetic partner network and its ground truth."""

from __future__ import annotations

from typing import Any

from observatoire.config.paths import PATHS

__all__ = ["stage_generate_sample"]


def stage_generate_sample(params: dict[str, Any]) -> None:
    from observatoire.sample import generate_sample

    raw_dir, truth_dir = PATHS.sample, PATHS.sample_truth
    summary = generate_sample(params["sample"], raw_dir, truth_dir)
    print(f"Échantillon synthétique écrit dans {raw_dir}/ (vérité terrain : {truth_dir}/).")
    print(f"  {summary}")
