"""A released year's ledger is archived once, read back by the next year's audit, and protects
this year's cells against what readers actually hold."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from observatoire.disclosure.archive import (
    LEDGER,
    ReleaseError,
    archive_release,
    read_release,
    released_previous,
)
from observatoire.disclosure.suppression import PUBLISHED, SECONDARY, audit, protect
from tests.support.tables import grid

K = 5


def _last_year():
    """Last year's table: one small cell, the rest large; protected by the engine."""
    table = grid([[3, 40, 60], [50, 70, 80]], name="a")
    return table, protect([table], K)


def test_archive_writes_the_ledger_once_and_never_a_hidden_value(tmp_path: Path):
    _, pub = _last_year()
    ledger = tmp_path / "tables" / LEDGER
    ledger.parent.mkdir()
    pub.ledger().to_csv(ledger, index=False)
    folder = tmp_path / "publications" / "2023"
    written = archive_release(2023, ledger, folder, K, "test")
    archived = read_release(folder)
    assert written == folder / LEDGER and len(archived) == len(pub.ledger())
    assert archived.loc[archived["status"] != PUBLISHED, "value"].isna().all()
    assert (folder / "publication.yaml").read_text(encoding="utf-8").startswith("annee: 2023")
    with pytest.raises(ReleaseError, match="déjà archivée"):
        archive_release(2023, ledger, folder, K, "test")
    leaky = pub.ledger()
    leaky.loc[leaky["status"] != PUBLISHED, "value"] = 1.0
    leaky.to_csv(ledger, index=False)
    with pytest.raises(ReleaseError, match="valeur masquée"):
        archive_release(2024, ledger, tmp_path / "publications" / "2024", K, "test")
    assert read_release(tmp_path / "publications" / "2022") is None


def test_the_archive_s_statuses_replace_the_rebuilt_ones(tmp_path: Path):
    """Last year was printed with one more mask than today's code would choose: this year's
    audit must see that mask (the reader never saw the value)."""
    _, rebuilt = _last_year()
    released = rebuilt.ledger()
    extra = released.index[(released["status"] == PUBLISHED)][0]
    released.loc[extra, ["status", "value"]] = [SECONDARY, None]
    previous = released_previous(rebuilt, released, tmp_path)
    assert previous.status[released.loc[extra, "key"]] == SECONDARY
    assert rebuilt.status[released.loc[extra, "key"]] == PUBLISHED  # the rebuilt one untouched
    reprinted = grid([[3, 40, 60], [50, 70, 80]], name="a")  # last year's table printed again
    current = protect([reprinted], K, previous=previous)
    held = previous.ledger().set_index("key")["status"]
    assert held.to_dict() == released.set_index("key")["status"].to_dict()  # what readers hold
    assert audit(current, previous)["protected"].all()


def test_a_printed_value_that_no_longer_holds_stops_the_audit(tmp_path: Path):
    _, rebuilt = _last_year()
    released = rebuilt.ledger()
    row = released.index[(released["status"] == PUBLISHED)][0]
    released.loc[row, "value"] = released.loc[row, "value"] + 1
    with pytest.raises(ReleaseError, match=released.loc[row, "key"].replace("|", r"\|")):
        released_previous(rebuilt, released, tmp_path / "publications" / "2023")


def test_keys_of_a_revised_definition_are_ignored(tmp_path: Path):
    _, rebuilt = _last_year()
    released = pd.concat(
        [
            rebuilt.ledger(),
            pd.DataFrame([{"key": "ancienne|2023|x", "status": "publie", "value": 9}]),
        ]
    )
    assert released_previous(rebuilt, released, tmp_path).status == rebuilt.status
