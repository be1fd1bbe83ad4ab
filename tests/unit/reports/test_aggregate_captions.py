"""The caption of an aggregate partner's count table names what it counts (from its measures'
kinds), and a seasonal partner's year is measured against its season's days."""

from __future__ import annotations

from observatoire.core.coverage import season_days
from observatoire.reports.annual.chapters.aggregates import counts_caption


def test_a_shelter_table_says_bed_nights_and_its_refusals_a_year_total():
    caption = counts_caption(["beds_available", "winter_extra_beds", "beds_occupied", "refusals"])
    assert caption == (
        "lits disponibles, lits d'hiver et lits occupés en nuitées (un lit pendant une nuit) ; "
        "refus faute de place : total de l'année"
    )


def test_a_day_centre_or_street_work_table_names_its_services_not_beds():
    assert counts_caption(["visits", "water_distributions"]) == (
        "passages et distributions d'eau : totaux de l'année"
    )
    caption = counts_caption(["rounds", "blankets", "water_distributions"])
    assert caption == (
        "tournées, couvertures distribuées et distributions d'eau : totaux de l'année"
    )
    assert "lit" not in caption and "nuitées" not in caption


def test_season_days_of_a_year():
    assert season_days([("11-15", "03-31")], 2024) == 91 + 47  # leap year: 31 + 29 + 31
    assert season_days([("11-15", "03-31")], 2023) == 90 + 47
    assert season_days([("06-01", "08-31")], 2024) == 92
    assert season_days([("11-15", "03-31"), ("06-01", "08-31")], 2024) == 138 + 92
