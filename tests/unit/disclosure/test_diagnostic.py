"""The neighbourhood diagnosis' publication: keys, identities, and no small cell recoverable."""

from __future__ import annotations

import pytest

from observatoire.disclosure.diagnostic import (
    build_diagnosis_tables,
    diagnosis_key,
    publish_diagnosis,
    write_diagnosis_tables,
)
from observatoire.disclosure.suppression import PUBLISHED, audit
from observatoire.field.street import (
    ORIENTATION_EXTRA,
    compute_diagnosis,
    read_diagnosis,
    write_diagnosis,
)
from observatoire.field.street_settings import DiagnosticSettings
from tests.support.street_fixtures import street_records


@pytest.fixture(scope="module")
def stage_dir(tmp_path_factory):
    obs, groups = street_records()
    res = compute_diagnosis(
        obs, groups, DiagnosticSettings(), 2024, ["abri_nuit", "accueil_jour", *ORIENTATION_EXTRA]
    )
    folder = tmp_path_factory.mktemp("diagnostic")
    write_diagnosis(res, folder)
    return folder


def test_tables_share_keys_and_declare_the_young_identity(stage_dir):
    meta, frames = read_diagnosis(stage_dir)
    tables, constraints = build_diagnosis_tables(meta, frames, 2024)
    names = {t.name for t in tables}
    assert {
        "personnes_par_zone",
        "personnes_jour_heure_gare",
        "publics_age",
        "orientations",
    } <= names
    gare = diagnosis_key(2024, "Gare", 2024, "personnes")
    holding = {t.name for t in tables for _, _, key, _ in t.cells() if key == gare}
    # one number, printed by the zones table, the heat map's total and the publics' totals
    assert {
        "personnes_par_zone",
        "personnes_jour_heure_gare",
        "publics_age",
        "publics_sexe",
    } <= holding
    young = [c for c in constraints if c.total == diagnosis_key(2024, "Gare", 2024, "jeunes")]
    assert young and len(young[0].parts) == 2


def test_small_cells_are_masked_and_protected(stage_dir, tmp_path):
    pub = publish_diagnosis(stage_dir, 2024, 5)
    ledger = pub.ledger()
    assert (ledger["status"] != PUBLISHED).any()  # the sample's sparse heat-map cells
    checked = audit(pub)
    assert checked["protected"].all()
    hidden = ledger[ledger["status"] != PUBLISHED]
    assert hidden["value"].isna().all()
    written = write_diagnosis_tables(pub, stage_dir, tmp_path)
    text = (tmp_path / "personnes_jour_heure_quais.csv").read_text(encoding="utf-8")
    assert "< 5" in text
    assert any(p.name == "codes_evolution.csv" for p in written)
