"""The independent disclosure attack of the three field-records reports (issue 19).

Runs on the worktree's own sample outputs (``outputs/tables/<Y>/barometre-violences/``,
``diagnostic-communautaire/``, ``relais-de-quartier/``; skipped when the pipeline has not been
run): :mod:`tests.support.field_attacker` names every printed cell itself, writes the relations a
reader justifies from the printed labels, captions and forms (argued there, table by table), and
every « < k » cell must keep at least two possible values in 1…k−1 whether « s » is read as ≥ 0
or ≥ k — the annual report's criterion (tests/integration/test_pipeline_e2e.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.field_attacker import FIELD_FOLDERS, attack_field_tables, field_relations

ROOT = Path(__file__).resolve().parents[2]


def _params() -> dict:
    return yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8"))["report"]


def test_no_hidden_field_cell_can_be_recovered_from_the_published_tables() -> None:
    report = _params()
    year, k = int(report["year"]), int(report["disclosure_threshold"])
    tables = ROOT / f"outputs/tables/{year}"
    missing = [f for f in FIELD_FOLDERS if not (tables / f).is_dir()]
    if missing:
        pytest.skip(f"tableaux des relevés de terrain absents ({', '.join(missing)}) : dvc repro")
    fr = field_relations(tables, ROOT, year)
    attack = attack_field_tables(fr, k)
    # Not vacuous: every folder prints masks, and every hidden cell is in some relation.
    for folder in FIELD_FOLDERS:
        assert any(key.startswith(folder + "/") for key in attack.hidden), folder
    assert not attack.isolated, f"cellules masquées hors relations : {attack.isolated}"
    assert attack.primary and attack.relations > 100
    print(
        f"{attack.relations} relations, {len(attack.hidden)} cellules masquées dont "
        f"{len(attack.primary)} « < {k} »\n" + "\n".join(attack.report)
    )
    assert not attack.pinned, "cellules « < k » retrouvées par un lecteur :\n" + "\n".join(
        attack.pinned
    )
