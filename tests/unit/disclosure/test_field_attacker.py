"""Positive controls of the field-records attacker (tests/support/field_attacker.py): on
hand-made folders it recovers a cell that a missing identity leaves alone, and is stuck once a
second cell is masked — so the integration attack can fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.attacker import integers_left, reader_view, value_intervals
from tests.support.field_attacker import attack_field_tables, cell, field_relations

YEAR = 2024
ACTIVITE = (
    ",Prestations 2023,Personnes aidées 2023,Prestations 2024,Personnes aidées 2024\n"
    "Total,100,120,40,50\n"
    "Point fixe,70,80,30,35\n"
    "Point mobile (vélo-cargo),30,40,10,15\n"
)


def _folder(root: Path, name: str, files: dict[str, str]) -> Path:
    folder = root / "tables" / name
    folder.mkdir(parents=True)
    for stem, text in files.items():
        (folder / f"{stem}.csv").write_text(text, encoding="utf-8")
    return root / "tables"


def test_a_relay_hidden_alone_beside_the_year_s_total_is_recovered(tmp_path: Path) -> None:
    """Relays partition the report year's sheets: one « < 5 » relay among printed ones and the
    printed total (relais_activite) is the difference; a second mask restores the protection."""
    relays = ",Prestations,Personnes aidées\nRelais R-1,30,s\nRelais R-2,< 5,s\nRelais R-3,7,s\n"
    tables = _folder(tmp_path, "relais-de-quartier", {
        "relais_activite": ACTIVITE, "relais_par_relais": relays,
    })  # fmt: skip
    fr = field_relations(tables, tmp_path, YEAR)
    attack = attack_field_tables(fr, 5)
    target = cell("relais-de-quartier", "relais_par_relais", "Relais R-2", "Prestations")
    assert [p for p in attack.pinned if target in p], attack.report
    known, bounds = reader_view(fr.cells, 5, 0.0)
    assert value_intervals(fr.reader, known, bounds)[target] == pytest.approx((3.0, 3.0))
    assert integers_left((3.0, 3.0), 5) == [3]
    # 40 = 30 + x + 7 → x = 3. Mask the 7 too (« s »): x + s = 10 leaves x free in 1…4 (s ≥ 0)
    # and in 1…4 with s ≥ 5 (s = 6…9).
    (tables / "relais-de-quartier/relais_par_relais.csv").write_text(
        relays.replace("Relais R-3,7,", "Relais R-3,s,"), encoding="utf-8"
    )
    fr = field_relations(tables, tmp_path, YEAR)
    assert not attack_field_tables(fr, 5).pinned


def test_the_closing_window_pins_the_hours_of_the_day_when_it_prints_their_sum(
    tmp_path: Path,
) -> None:
    """Regression of the barometer (found on the sample): the window table (Table 8) prints the
    incidents of the other open hours, whose hours the report states: three « < 5 » hours
    beside printed ones that leave 12 to share are 4 + 4 + 4."""
    hours = ",accueil_jour\n" + "".join(
        f"{h},{v}\n" for h, v in enumerate(
            [0] * 9 + ["< 5", "< 5", 8, 9, "< 5", 6, 20] + [0] * 8
        )
    )  # fmt: skip
    tables = _folder(tmp_path, "barometre-violences", {
        "heures": hours,
        "fermeture": ",fenetre,autres_heures\naccueil_jour,20,35\n",
        "services": ",2023,2024\naccueil_jour,40,57\ntotal,40,57\n",
    })  # fmt: skip
    (tmp_path / "params").mkdir()
    (tmp_path / "params/terrain.yaml").write_text(
        "barometre:\n  opening_hours:\n"
        "    accueil_jour: {opens: 8, closes: 16, closing_window: 1}\n",
        encoding="utf-8",
    )
    attack = attack_field_tables(field_relations(tables, tmp_path, YEAR), 5)
    assert len([p for p in attack.pinned if "s ≥ 0" in p]) == 3, attack.report
    # mask the 6 as the engine now does: 35 = 8 + 9 + s + three « < 5 »
    (tables / "barometre-violences/heures.csv").write_text(
        hours.replace("14,6", "14,s"), encoding="utf-8"
    )
    assert not attack_field_tables(field_relations(tables, tmp_path, YEAR), 5).pinned


def test_the_survey_s_groups_add_up_to_the_answers_of_all_respondents(tmp_path: Path) -> None:
    """Regression of the barometer (found on the sample): one function's « < 5 » « oui » beside
    the others' printed ones is the difference with « Réponses à l'enquête » (86 − 83 = 3);
    masking a second function's cell restores the protection."""
    by_role = ",verbal_12m_oui,verbal_12m_non\nautre,< 5,< 5\ndirection,6,< 5\neducateur,77,30\n"
    tables = _folder(tmp_path, "barometre-violences", {
        "reponses": ",oui,non\nverbal_12m,86,35\n",
        "reponses_role": by_role,
        "repondants_role": ",repondants\nautre,5\ndirection,9\neducateur,107\ntotal,121\n",
        "repondants_service": ",repondants\nabri_nuit,121\ntotal,121\n",
    })  # fmt: skip
    attack = attack_field_tables(field_relations(tables, tmp_path, YEAR), 5)
    target = cell("barometre-violences", "reponses_role", "autre", "verbal_12m_oui")
    assert [p for p in attack.pinned if target in p], attack.report
    (tables / "barometre-violences/reponses_role.csv").write_text(
        by_role.replace("direction,6,", "direction,s,").replace("educateur,77,30", "educateur,s,s"),
        encoding="utf-8",
    )
    assert not attack_field_tables(field_relations(tables, tmp_path, YEAR), 5).pinned
