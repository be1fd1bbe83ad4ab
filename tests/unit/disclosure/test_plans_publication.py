"""The plans' person counts: small cells masked, persons = new + known protected."""

from __future__ import annotations

import json

from observatoire.disclosure.plans import (
    build_plan_tables,
    person_key,
    publish_plans,
    write_plan_tables,
)


def _bilans(new: int) -> dict:
    row = {
        "year": 2024, "days_with_data": 92, "persons": 40, "new": new, "known": 40 - new,
        "young": 12, "offered": 3680.0, "used": 3000.0, "phase_days": {"veille": 88},
    }  # fmt: skip
    old = dict(row, year=2023, new=10, known=30)
    return {"plans": {"canicule": {"name": "Plan Canicule", "season": "ete",
                                   "network": row, "earlier": [old]}}}  # fmt: skip


def test_small_new_count_is_masked_with_a_partner(tmp_path):
    (tmp_path / "bilans.json").write_text(json.dumps(_bilans(new=2)), encoding="utf-8")
    pub = publish_plans(tmp_path, 2024, 5)
    new, known = (person_key(2024, "canicule", 2024, m) for m in ("nouvelles", "connues"))
    assert pub.cell_text(new) == "< 5"
    # persons = new + known is printed: known must be hidden too, or new = 40 − 38
    assert pub.hidden(known) and not pub.hidden(person_key(2024, "canicule", 2024, "personnes"))
    assert not pub.hidden(person_key(2024, "canicule", 2023, "nouvelles"))
    written = write_plan_tables(pub, tmp_path, tmp_path / "out")
    text = (tmp_path / "out" / "personnes_canicule.csv").read_text(encoding="utf-8")
    assert "< 5" in text and ",2," not in text and ",38," not in text
    assert (tmp_path / "out" / "nuits_canicule.csv") in written


def test_no_stage_output_no_publication(tmp_path):
    assert publish_plans(tmp_path, 2024, 5) is None
    tables, constraints = build_plan_tables({"plans": {}}, 2024)
    assert tables == [] and constraints == []
