"""The barometer's pattern searched in its own stage (disclosure.apart): the publication rebuilds
the very publication a search in the stage finds, from a record that holds no hidden value, and
searches again when the record was made on other inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from observatoire.disclosure.apart import search_apart, search_summary, searched_or_search
from observatoire.disclosure.barometre import count_key, publish_barometre
from observatoire.disclosure.suppression import PUBLISHED, Budget
from tests.support.barometre_fixtures import SMALL_COUNTS

YEAR, K = 2024, 5
BUDGET = Budget(nodes=20, solves=50, safety_s=None)
COUNTS = SMALL_COUNTS


def _write_counts(rows: list[tuple[str, str, str, int]]) -> Path:
    folder = Path("outputs/field/barometre") / str(YEAR)
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows, columns=["table", "row", "col", "value"]).to_csv(
        folder / "comptes.csv", index=False
    )
    return folder


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    _write_counts(COUNTS)
    return tmp_path


def test_the_publication_rebuilds_the_pattern_the_stage_searched(project, capsys):
    direct = publish_barometre(Path(f"outputs/field/barometre/{YEAR}"), YEAR, K, BUDGET)
    searched = search_apart("barometre", YEAR, K, BUDGET)
    capsys.readouterr()
    rebuilt = searched_or_search("barometre", YEAR, K, BUDGET)
    assert "recherche faite ici" not in capsys.readouterr().out
    assert direct is not None and searched is not None and rebuilt is not None
    assert rebuilt.status == direct.status and rebuilt.values == direct.values
    assert rebuilt.constraints == direct.constraints
    pd.testing.assert_frame_equal(rebuilt.ledger(), direct.ledger())
    assert search_summary(rebuilt) == search_summary(direct)
    assert rebuilt.hidden(count_key(YEAR, "services", "accueil_jour", "2024"))


def test_the_record_holds_no_hidden_value_and_no_masked_persons(project):
    search_apart("barometre", YEAR, K, BUDGET)
    folder = Path(f"outputs/suppression/{YEAR}/barometre")
    ledger = pd.read_csv(folder / "cases.csv")
    hidden = ledger[ledger["status"] != PUBLISHED]
    assert len(hidden) >= 2 and hidden["value"].isna().all()
    record = json.loads((folder / "recherche.json").read_text(encoding="utf-8"))
    assert not any("persons" in name for name in record["recherche"])


@pytest.mark.parametrize("change", ["counts", "threshold"])
def test_a_record_made_on_other_inputs_is_not_used(project, capsys, change):
    search_apart("barometre", YEAR, K, BUDGET)
    k = K
    if change == "counts":  # the day-centre count 3 → 7: no longer a « < 5 » cell
        _write_counts([(t, r, c, 7 if v == 3 else 59 if v == 55 else v) for t, r, c, v in COUNTS])
    else:
        k = 3
    capsys.readouterr()
    pub = searched_or_search("barometre", YEAR, k, BUDGET)
    assert "recherche faite ici" in capsys.readouterr().out
    fresh = publish_barometre(Path(f"outputs/field/barometre/{YEAR}"), YEAR, k, BUDGET)
    assert pub is not None and fresh is not None and pub.status == fresh.status
    key = count_key(YEAR, "services", "accueil_jour", "2024")
    assert not pub.hidden(key)  # 3 ≥ k = 3, or 7 ≥ 5: the stored « < 5 » would be wrong


def test_no_counts_is_recorded_and_rebuilt_as_nothing_to_publish(project, capsys):
    Path(f"outputs/field/barometre/{YEAR}/comptes.csv").unlink()
    assert search_apart("barometre", YEAR, K, BUDGET) is None
    capsys.readouterr()
    assert searched_or_search("barometre", YEAR, K, BUDGET) is None
    assert "recherche faite ici" not in capsys.readouterr().out


def test_a_record_without_its_ledger_is_searched_again(project, capsys):
    search_apart("barometre", YEAR, K, BUDGET)
    Path(f"outputs/suppression/{YEAR}/barometre/cases.csv").unlink()
    capsys.readouterr()
    pub = searched_or_search("barometre", YEAR, K, BUDGET)
    assert "recherche faite ici" in capsys.readouterr().out
    assert pub is not None and pub.hidden(count_key(YEAR, "services", "accueil_jour", "2024"))
