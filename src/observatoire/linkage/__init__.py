"""Linking the records of the same person across partners, on keyed tokens only.

The pieces, in the order the ``link`` stage runs them:

- :mod:`~observatoire.linkage.records`: one row per partner record (a client file, or a
  street-work « initials + sex + estimated birth year » record) with the compared features;
- :mod:`~observatoire.linkage.model`: a Fellegi–Sunter model (Splink 5, DuckDB backend) whose
  u probabilities come from random record pairs and m probabilities from EM;
- :mod:`~observatoire.linkage.clustering`: records grouped into persons at a match-probability
  threshold, never putting two different birth dates or sexes in one person, with the
  analyst's overrides (:mod:`~observatoire.linkage.overrides`);
- :mod:`~observatoire.linkage.street_work`: the conservative chaining of initials-only records;
- :mod:`~observatoire.linkage.diagnostics`: what the model says about itself, for real data;
- :mod:`~observatoire.linkage.quality`: precision and recall against the synthetic ground
  truth (the only module that reads it) and :mod:`~observatoire.linkage.baseline`, the
  exact-key methods it is compared with.
"""

from observatoire.linkage.settings import LinkageSettings

__all__ = ["LinkageSettings"]
