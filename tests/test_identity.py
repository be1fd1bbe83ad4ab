import pandas as pd
import pytest

from observatoire.identity import normalise_initials, normalise_name, phonetic_fr, swap_day_month


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
