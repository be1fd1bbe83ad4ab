"""The link stage on a network whose partners send counts only: empty, well-typed outputs and a
French reason, never a made-up person count."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from types import SimpleNamespace

import pandas as pd

from observatoire.core.person_level import NO_PERSONS_REASON
from observatoire.core.schema import CONTACT_COLUMNS, PERSON_COLUMNS
from observatoire.linkage.settings import LinkageSettings
from observatoire.linkage.stage import PERSON_DTYPES, write_no_persons


def test_no_person_level_row_writes_empty_tables_and_the_reason(tmp_path: Path) -> None:
    contacts = pd.DataFrame({c: pd.Series(dtype=object) for c in CONTACT_COLUMNS}).drop(
        columns="person_id"
    )
    refusals = pd.DataFrame({"partner_id": pd.Series(dtype=object)})
    settings = SimpleNamespace(linkage=LinkageSettings())
    with contextlib.chdir(tmp_path):
        Path("outputs/metrics").mkdir(parents=True)
        write_no_persons(contacts, refusals, settings)
        persons = pd.read_parquet("data_clean/persons.parquet")
        clean = pd.read_parquet("data_clean/contacts.parquet")
        metrics = json.loads(Path("outputs/metrics/linkage.json").read_text(encoding="utf-8"))
        sensitivity = pd.read_csv("outputs/linkage/sensibilite_au_seuil.csv")
        pairs = pd.read_parquet("data_clean/linkage_pairs.parquet")
    assert list(PERSON_DTYPES) == PERSON_COLUMNS
    assert list(persons.columns) == PERSON_COLUMNS and persons.empty
    assert pd.api.types.is_integer_dtype(persons["birth_year"])
    assert list(clean.columns) == CONTACT_COLUMNS and clean.empty
    assert pairs.empty and "match_probability" in pairs
    assert sensitivity.empty and "seuil_retenu" in sensitivity
    assert metrics["non_calcule"] == NO_PERSONS_REASON
    assert metrics["persons"] is None  # not 0: no person was counted
