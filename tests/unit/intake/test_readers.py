import datetime as dt

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatoire.core.errors import ExportRejected
from observatoire.intake.mapping import FileFormat
from observatoire.intake.readers import parse_dates, parse_decimals, parse_integers, read_csv_export


def test_dates_follow_the_declared_format_and_never_guess_day_first():
    values = pd.Series(["22/01/2000", "01/22/2000", "31/02/2021", "", None], dtype=object)
    parsed, bad = parse_dates(values, "%d/%m/%Y")
    assert parsed.iloc[0] == pd.Timestamp("2000-01-22")
    assert bad.tolist() == [False, True, True, False, False]
    assert parsed.iloc[1:].isna().all()


def test_two_digit_years_and_iso_dates():
    parsed, bad = parse_dates(pd.Series(["05-03-21"]), "%d-%m-%y")
    assert parsed.iloc[0] == pd.Timestamp("2021-03-05") and not bad.any()
    parsed, bad = parse_dates(pd.Series(["2021-03-05", "05/03/2021"]), "%Y-%m-%d")
    assert bad.tolist() == [False, True]


def test_excel_dates_accept_native_dates_and_serial_numbers():
    values = pd.Series([dt.datetime(2023, 4, 1, 0, 0), 45017, dt.date(2023, 4, 1), "01/04/2023"])
    parsed, bad = parse_dates(values, "excel")
    assert parsed.iloc[:3].tolist() == [pd.Timestamp("2023-04-01")] * 3
    assert bad.tolist() == [False, False, False, True]


def test_decimal_comma_and_thousands_separator():
    parsed, bad = parse_decimals(pd.Series(["2,50", "1.234,5", "abc", ""]), ",", ".")
    assert parsed.iloc[0] == 2.5 and parsed.iloc[1] == 1234.5
    assert bad.tolist() == [False, False, True, False]


def test_integers_refuse_fractions_rather_than_rounding():
    parsed, bad = parse_integers(pd.Series(["3", "3,5", "1 200"]), ",", None)
    assert parsed.iloc[0] == 3 and parsed.iloc[2] == 1200
    assert bad.tolist() == [False, True, False]


@given(st.lists(st.text(max_size=12), max_size=20))
def test_any_text_gives_a_date_or_a_validation_flag(texts):
    parsed, bad = parse_dates(pd.Series(texts, dtype=object), "%d/%m/%Y")
    assert len(parsed) == len(texts)
    for value, p, b in zip(texts, parsed, bad, strict=True):
        assert b or pd.isna(p) == (value.strip() == "") or not pd.isna(p)


@given(st.lists(st.text(max_size=12), max_size=20))
def test_any_text_gives_a_number_or_a_validation_flag(texts):
    parsed, bad = parse_decimals(pd.Series(texts, dtype=object), ",", ".")
    for value, p, b in zip(texts, parsed, bad, strict=True):
        assert (not pd.isna(p)) or b or value.strip() == ""


def test_windows_1252_file_read_with_its_encoding(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("Nom;Prénom\r\nLefèvre;Zoé\r\n".encode("cp1252"))
    table = read_csv_export(path, FileFormat(encoding="cp1252", delimiter=";"), "p", "f.csv")
    assert table.header == ["Nom", "Prénom"]
    assert table.rows.loc[0, "Nom"] == "Lefèvre"
    assert table.rows.loc[0, "source_row"] == 1 and table.rows.loc[0, "line"] == 2


def test_utf8_with_bom_is_read_without_the_bom(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("\ufeffnom,prenom\nDupont,Léa\n".encode())
    table = read_csv_export(path, FileFormat(), "p", "f.csv")
    assert table.header == ["nom", "prenom"]


def test_a_decoding_error_is_reported_with_its_line_never_replaced(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes("nom,prenom\nDupont,Léa\n".encode() + "Lefèvre,Zoé\n".encode("cp1252"))
    with pytest.raises(ExportRejected) as err:
        read_csv_export(path, FileFormat(encoding="utf-8"), "accueil_jour", "f.csv")
    msg = str(err.value)
    assert "ligne 3" in msg and "UTF-8" in msg and "accueil_jour" in msg and "f.csv" in msg


def test_blank_lines_are_skipped_but_keep_row_numbers(tmp_path):
    path = tmp_path / "f.csv"
    path.write_text("a,b\n1,2\n\n3,4\n", encoding="utf-8")
    table = read_csv_export(path, FileFormat(), "p", "f.csv")
    assert table.rows["source_row"].tolist() == [1, 3]
    assert table.rows["line"].tolist() == [2, 4]


def _workbook(path, months: dict[str, list[str]]) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for sheet, names in months.items():
        ws = wb.create_sheet(sheet)
        ws.append(["Nom", "Date"])
        for name in names:
            ws.append([name, dt.datetime(2024, 1, 5)])
    wb.save(path)


def test_a_workbook_is_loaded_once_for_all_its_sheets_and_again_when_rewritten(
    tmp_path, monkeypatch
):
    import openpyxl

    from observatoire.intake import readers

    loads = []
    real = openpyxl.load_workbook
    monkeypatch.setattr(openpyxl, "load_workbook", lambda *a, **k: loads.append(1) or real(*a, **k))
    readers.forget_workbooks()
    path = tmp_path / "suivis.xlsx"
    _workbook(path, {"Janvier": ["A", "B"], "Février": ["C"]})

    def names(sheet: str) -> list[str]:
        fmt = FileFormat(type="xlsx", sheet=sheet, date_format="excel")
        return list(readers.read_export(path, fmt, "p", "suivis.xlsx").rows["Nom"])

    assert (names("Janvier"), names("Février"), names("Janvier")) == (["A", "B"], ["C"], ["A", "B"])
    assert len(loads) == 1
    _workbook(path, {"Janvier": ["D"], "Février": ["C"]})  # the partner sends it again, changed
    assert names("Janvier") == ["D"]
    assert len(loads) == 2
    readers.forget_workbooks()
    assert names("Février") == ["C"]
    assert len(loads) == 3
    readers.forget_workbooks()
