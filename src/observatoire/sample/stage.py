"""The ``generate_sample`` stage: the synthetic partner network and its ground truth."""

from __future__ import annotations

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings

__all__ = ["stage_generate_sample"]


def stage_generate_sample(settings: Settings) -> None:
    from observatoire.sample import generate_sample

    raw_dir, truth_dir = PATHS.sample, PATHS.sample_truth
    summary = generate_sample(settings.sample.model_dump(), raw_dir, truth_dir)
    print(f"Échantillon synthétique écrit dans {raw_dir}/ (vérité terrain : {truth_dir}/).")
    print(f"  {summary}")
