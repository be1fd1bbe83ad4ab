"""Synthetic partner exports of a Relais Social network, with their ground truth.

The sample lets the whole pipeline run on a fresh clone with no real data, and lets linkage and
indicators be measured against a known truth: a population with transitional, episodic and
chronic trajectories uses six services (night shelter, maison d'accueil, day centre, street work,
social emergency, Housing First); each partner registers people under its own local ids with
realistic identity noise and writes its exports in its own format (see params/partners/).

Entry point: :func:`generate_sample`.
"""

from observatoire.sample.generate import SampleSummary, generate_sample

__all__ = ["SampleSummary", "generate_sample"]
