"""The projects' person counts go through the audited publication (issue 20)."""

from __future__ import annotations

import pytest

from observatoire.disclosure.ledger import LedgerCells, ledger_of, published_texts
from observatoire.disclosure.projets import (
    build_project_tables,
    projet_key,
    publish_projects,
    read_projects,
    rules_cost,
)
from observatoire.disclosure.suppression import PRIMARY, PUBLISHED, audit
from observatoire.reports.projects.report import Cells, _objectives, _share
from tests.support.projects_outputs import COUNCIL_TENANTS, write_projects_outputs

K = 5


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    root = tmp_path_factory.mktemp("projets")
    write_projects_outputs(root)
    pubs = publish_projects(root / "2024", 2024, K)
    return root, pubs, LedgerCells(published_texts(ledger_of(pubs), K), 2024, K, "projects")


def test_a_cell_under_the_threshold_is_masked_and_the_year_total_kept(published):
    tmp_path, pubs, _ = published
    assert set(pubs) == {"projet-affiliation_hf", "projet-sport_foot"}
    for pub in pubs.values():
        checked = audit(pub)
        assert (checked["protected"] | checked["inevitable"]).all()
    hf = pubs["projet-affiliation_hf"].ledger().set_index("key")
    # planted: two new participants in May (< k)
    may_new = projet_key(2024, "affiliation_hf", "mois", "05", "nouveaux")
    assert hf.loc[may_new, "status"] == PRIMARY and hf["value"].isna()[may_new]
    # volunteers are 3 in the year: « < k »
    assert hf.loc[projet_key(2024, "affiliation_hf", "role", "volontaire", "participants"),
                  "status"] == PRIMARY  # fmt: skip
    total = projet_key(2024, "affiliation_hf", "total", None, "participants")
    assert hf.loc[total, "status"] == PUBLISHED


def test_no_published_cell_is_a_small_person_count(published):
    tmp_path, pubs, _ = published
    for pub in pubs.values():
        ledger = pub.ledger()
        printed = ledger.loc[ledger["status"] == PUBLISHED, "value"].astype(float)
        assert not printed.between(1, K - 1).any()


def test_the_council_of_six(published):
    """Six tenants, ten sessions of 3 to 6: the sessions under k are « < 5 », a secondary cell
    protects them from the year's total, the six are printed, and the cost is stated."""
    tmp_path, pubs, cells = published
    ledger = pubs["projet-affiliation_hf"].ledger().set_index("key")
    council = ledger[ledger.index.str.contains(r"\|conseil=20")]
    assert len(council) == 10
    small = council[council["status"] == PRIMARY]
    assert len(small) == 4  # the planted 3, 4, 4, 4
    assert (council["status"] == "secondaire").sum() >= 1  # the total gives one away otherwise
    distinct = projet_key(2024, "affiliation_hf", "conseil", "total", "locataires")
    assert ledger.loc[distinct, "value"] == COUNCIL_TENANTS
    cost = rules_cost(cells.cells, 2024, "affiliation_hf")
    assert cost["per"]["conseil"]["primary"] == 4
    assert cost["per"]["conseil"]["secondary"] >= 1
    assert cost["cells"] == sum(d["cells"] for d in cost["per"].values())


def test_shares_only_from_published_cells(published):
    tmp_path, pubs, cells = published
    c = Cells(cells, "affiliation_hf")
    assert _share(None, 40)[0] is None and _share(3, None)[0] is None
    # the returns of participants are under k: their share is not printed
    assert c.value("issues", "participants", "retours") is None
    out = next(o for o in read_projects(tmp_path / "2024", 2024) if o.project == "sport_foot")
    # an objective whose count is masked prints the ledger's text, never the raw value
    tables, _, _ = build_project_tables(out, K)
    assert tables
    rows = _objectives(out, Cells(cells, "sport_foot"), tmp_path)
    values = {r["indicateur"]: r["valeur"] for r in rows}
    assert (
        values["participants_uniques"]
        == cells.cell(projet_key(2024, "sport_foot", "total", None, "participants")).text
    )


def test_roles_printed_apart_only_where_they_say_something(published):
    """Volunteers (2 a month, 3 in the year) and a minor « autre » participant (1 in the year):
    no monthly column of « < 5 » and no participants' split that would cost the main role."""
    _, pubs, _ = published
    keys = set(pubs["projet-affiliation_hf"].ledger()["key"])
    assert projet_key(2024, "affiliation_hf", "mois", "01:volontaire", "participants") not in keys
    assert projet_key(2024, "affiliation_hf", "role", "locataire", "participants") not in keys
    assert projet_key(2024, "affiliation_hf", "role", "volontaire", "participants") in keys


def test_a_month_with_few_new_participants_keeps_its_participants(published):
    """The returning participants are an unprinted count guarded like « < k »: a month of 1 to
    k−1 new participants prints « < k » for them and still prints its participants."""
    _, pubs, _ = published
    hf = pubs["projet-affiliation_hf"].ledger().set_index("key")
    may = projet_key(2024, "affiliation_hf", "mois", "05", "participants")
    back = projet_key(2024, "affiliation_hf", "mois", "05", "revenants")
    assert hf.loc[may, "status"] == PUBLISHED
    assert back not in hf.index  # never printed
    assert back in pubs["projet-affiliation_hf"].guarded
