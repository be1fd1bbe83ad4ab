import pandas as pd
import pytest

from observatoire.intake.identity import (
    initials_of,
    name_parts,
    normalise_initials,
    normalise_name,
    phonetic_fr,
    spelling_neighbourhood,
    swap_day_month,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Van der Berg", "VANDERBERG"),
        ("VANDERBERG", "VANDERBERG"),
        ("van-der-berg", "VANDERBERG"),
        ("D'Hondt", "DHONDT"),
        ("Dupré-Lefèvre", "DUPRELEFEVRE"),
        ("  Éloïse ", "ELOISE"),
        ("Œuvray", "OEUVRAY"),
        (None, ""),
        (float("nan"), ""),
    ],
)
def test_normalise_name_removes_formatting_differences(raw, expected):
    assert normalise_name(raw) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Mohamed", "Mohammed"),
        ("Philippe", "Filipe"),
        ("Anna", "Ana"),
        ("Dupont", "Dupond"),
        ("Vandenberghe", "Van den Berghe"),
        ("Lefebvre", "Lefèbvre"),
    ],
)
def test_phonetic_groups_usual_spelling_variants(a, b):
    assert phonetic_fr(a) == phonetic_fr(b)


@pytest.mark.parametrize(
    ("a", "b"), [("Martin", "Bernard"), ("Dubois", "Lambert"), ("Jean", "Marc")]
)
def test_phonetic_keeps_different_names_apart(a, b):
    assert phonetic_fr(a) != phonetic_fr(b)


def test_initials_writing_variants_are_equal():
    assert normalise_initials("m.d.") == normalise_initials("M D") == normalise_initials("MD")


def test_swap_day_month_only_where_a_different_valid_date_exists():
    dates = pd.Series(pd.to_datetime(["1990-03-07", "1990-07-25", "1985-05-05", None]))
    swapped = swap_day_month(dates)
    assert swapped.iloc[0] == pd.Timestamp("1990-07-03")
    assert pd.isna(swapped.iloc[1])  # day 25 cannot be a month
    assert pd.isna(swapped.iloc[2])  # same day and month: no other date
    assert pd.isna(swapped.iloc[3])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("De Smet", "Desmet"),
        ("Le Clercq", "LECLERCQ"),
        ("Van der Straeten", "Vanderstraeten"),
        ("Du Bois", "dubois"),
        ("D'Hondt", "Dhondt"),
        ("N'Diaye", "N Diaye"),
        ("François", "FRANCOIS"),
        ("Geneviève", "Genevieve"),
        ("Jean-Pierre", "Jean Pierre"),
    ],
)
def test_particles_apostrophes_hyphens_and_accents_are_formatting(a, b):
    """Belgian exports glue or split particles, drop accents and apostrophes: same name."""
    assert normalise_name(a) == normalise_name(b)
    assert phonetic_fr(a) == phonetic_fr(b)


@pytest.mark.parametrize(
    ("raw", "parts"),
    [
        ("Van der Berg", ["BERG"]),
        ("De Smet", ["SMET"]),
        ("D'Hondt", ["HONDT"]),
        ("Dupré-Lefèvre", ["DUPRE", "LEFEVRE"]),
        ("Cruz Barros", ["CRUZ", "BARROS"]),
        ("El Ouardi", ["OUARDI"]),
        ("Jean-Pierre", ["JEAN", "PIERRE"]),
        (None, []),
    ],
)
def test_name_parts_drop_particles(raw, parts):
    assert name_parts(raw) == parts


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Meunier", "MEUNEIR"),  # two letters swapped
        ("Goossens", "Goosens"),  # a letter dropped (and the phonetic keys differ)
        ("Chartier", "Chartierr"),  # a letter doubled
        ("Singh", "Sigh"),
        ("Bujas", "Bujaz"),  # a letter replaced
        ("Cruz Barros", "Cruz"),  # one part of a compound surname
        ("Dupré-Lefèvre", "Lefevre"),
        ("Jean-Pierre", "Jean"),
    ],
)
def test_spelling_neighbourhoods_meet_one_error_apart(a, b):
    assert set(spelling_neighbourhood(a)) & set(spelling_neighbourhood(b))


@pytest.mark.parametrize(
    ("a", "b"), [("Martin", "Bernard"), ("Dubois", "Dupont"), ("Jean", "Joan-Marie"), ("Li", "Lu")]
)
def test_spelling_neighbourhoods_keep_different_names_apart(a, b):
    assert not set(spelling_neighbourhood(a)) & set(spelling_neighbourhood(b))


def test_spelling_neighbourhood_of_a_short_name_is_the_name_itself():
    assert spelling_neighbourhood("Li") == ["LI"]
    assert spelling_neighbourhood("") == []


def test_initials_as_street_workers_write_them():
    assert initials_of("Éloïse", "Van der Berg") == "EV"
    assert initials_of("jean-pierre", "d'Hondt") == "JD"
    assert initials_of("Jean", None) == ""


def test_swap_day_month_handles_month_ends_and_leap_days():
    dates = pd.Series(pd.to_datetime(["1990-02-12", "1990-12-02", "1992-02-29", "2000-01-13"]))
    swapped = swap_day_month(dates)
    assert swapped.iloc[0] == pd.Timestamp("1990-12-02")
    assert swapped.iloc[1] == pd.Timestamp("1990-02-12")
    assert pd.isna(swapped.iloc[2])  # day 29 cannot be a month
    assert pd.isna(swapped.iloc[3])
