"""The relays' counts go through the audited publication: small counts « < k », totals kept."""

from __future__ import annotations

from observatoire.disclosure.relais import (
    allowances_published,
    build_relays_tables,
    publish_relays,
    relais_key,
)
from observatoire.disclosure.suppression import PUBLISHED, audit
from observatoire.field.relays import compute_relays, read_results, write_relays
from tests.support.relays_fixtures import planted_relays, relays_settings


def test_relays_publication_protects_volunteer_counts(tmp_path):
    services, allowances, truth = planted_relays(per_year={2023: 150, 2024: 170})
    write_relays(compute_relays(2024, services, allowances, relays_settings()), tmp_path)
    res = read_results(tmp_path)
    tables, constraints = build_relays_tables(res)
    keys = {k for t in tables for _, _, k, _ in t.cells()}
    assert relais_key(2024, 2024, "besoin", "logement", "prestations") in keys
    assert not any("interne" in k or truth.relays["over"] in k for k in keys)
    pub = publish_relays(tmp_path, 5)
    ledger = pub.ledger().set_index("key")
    # the planted volunteers over / near the ceiling are one each: person counts under k
    assert ledger.loc["relais|2024|2024|defraiement=depasse|volontaires", "status"] != PUBLISHED
    assert ledger.loc["relais|2024|2024|defraiement=proche|volontaires", "status"] != PUBLISHED
    # the year's totals are kept (secondary suppression takes other cells)
    assert ledger.loc["relais|2024|2024|volontaires", "status"] == PUBLISHED
    assert ledger.loc["relais|2024|2024|total|prestations", "value"] == 170
    checked = audit(pub)
    assert (checked["protected"] | checked["inevitable"]).all()
    assert allowances_published(res, 2024, 5) and not allowances_published(res, 2024, 9)


def test_needs_by_point_and_the_daily_ceiling_count_are_published_cells(tmp_path):
    services, allowances, truth = planted_relays(per_year={2023: 150, 2024: 170})
    write_relays(compute_relays(2024, services, allowances, relays_settings()), tmp_path)
    pub = publish_relays(tmp_path, 5)
    ledger = pub.ledger().set_index("key")
    fixe = relais_key(2024, 2024, "besoin_point", "fixe|logement", "prestations")
    mobile = relais_key(2024, 2024, "besoin_point", "mobile|logement", "prestations")
    assert {fixe, mobile} <= set(ledger.index)
    # one planted volunteer above the daily ceiling: a person count under k
    daily = "relais|2024|2024|plafond_journalier=depasse|volontaires"
    assert ledger.loc[daily, "status"] != PUBLISHED
    assert read_results(tmp_path)["allowances"]["2024"]["volunteers_above_daily"] == 1
