"""`observatoire check`: the report, its exit codes, and robustness against arbitrary input.

The property-based tests feed arbitrary bytes and arbitrary cell text to the real partner mappings:
the answer must always be a result or a French rejection (:class:`ExportRejected`), never another
exception, and every cell ends as a value or a quarantine reason. The sample test runs the check
on a small generated network, then on copies broken on purpose.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from observatoire.cli import main
from observatoire.config.settings import InputsSettings
from observatoire.core.errors import ExportRejected
from observatoire.core.schema import QUARANTINE_REASONS, SEX_CODES
from observatoire.intake.check import (
    check_file,
    condense_lines,
    fix_sentence,
    human_date_format,
    render_text,
    run_check,
)
from observatoire.intake.ingest import read_partner_file
from observatoire.intake.mapping import load_partners
from observatoire.intake.readers import parse_dates, parse_decimals, parse_integers

ROOT = Path(__file__).resolve().parents[3]
PARAMS = yaml.safe_load((ROOT / "params" / "pipeline.yaml").read_text(encoding="utf-8"))
CHECK_INPUTS = InputsSettings(
    raw_dir=ROOT / "data_raw" / "sample",
    partners_dir=ROOT / "params" / "partners",
    codes_dir=ROOT / "params" / "codes",
)
PARTNERS = load_partners(ROOT / "params" / "partners", ROOT / "params" / "codes")
CSV_EXPORTS = [(p, e) for p in PARTNERS.values() for e in p.exports if e.format.type == "csv"]
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# --- line numbers and sentences ---


def test_long_runs_of_lines_are_condensed():
    lines = [12, 15, *range(40, 46), *range(100, 100 + 2 * 212, 2)]
    assert condense_lines(lines, max_items=3) == "lignes 12, 15, 40–45 et 212 autres"
    assert condense_lines([7]) == "ligne 7"
    assert condense_lines([3, 4]) == "lignes 3 et 4"
    assert condense_lines([5, 3, 4, 9]) == "lignes 3–5 et 9"
    assert condense_lines([1, 3, 5], max_items=2) == "lignes 1, 3 et 1 autre"


def test_every_reason_code_has_a_french_sentence_for_the_partner():
    for partner in PARTNERS.values():
        for spec in partner.exports:
            column = next(iter(spec.columns.values())).column
            for reason in QUARANTINE_REASONS:
                sentence = fix_sentence(reason, spec, [column], 2024)
                assert sentence and sentence != "vérifier ces lignes.", reason


def test_date_advice_uses_the_partners_declared_format():
    spec = PARTNERS["abri_nuit"].exports[0]
    assert "jj/mm/aaaa" in fix_sentence("date_illisible", spec, ["Date d'entrée"], 2024)
    assert "31/01/2024" in fix_sentence("date_illisible", spec, ["Date d'entrée"], 2024)
    rue = PARTNERS["travail_rue"].exports[0]
    assert "jj-mm-aa" in fix_sentence("date_illisible", rue, ["Date"], 2024)
    excel = PARTNERS["maison_accueil"].exports[0]
    assert "format Date" in fix_sentence("date_illisible", excel, ["Date d'entrée"], 2024)
    assert human_date_format("%Y-%m-%d") == "aaaa-mm-jj"


# --- exit codes and bad arguments ---


def _json(capsys) -> dict:
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("partner", "make", "fragment"),
    [
        ("abri_nuit", lambda d: d / "absent_2024.csv", "introuvable"),
        ("abri_nuit", lambda d: d, "dossier"),
        ("personne", lambda d: d / "x.csv", "Partenaires connus : abri_grand_froid, abri_nuit"),
    ],
)
def test_missing_file_directory_or_unknown_partner_exit_2(
    tmp_path, capsys, partner, make, fragment
):
    code = run_check(make(tmp_path), partner, as_json=True, inputs=CHECK_INPUTS)
    report = _json(capsys)
    assert code == 2 and report["status"] == "rejected" and fragment in report["message"]


def test_cli_check_prints_json_and_returns_the_exit_code(tmp_path, capsys, monkeypatch):
    params = tmp_path / "pipeline.yaml"
    inputs = CHECK_INPUTS.model_dump(mode="json")
    params.write_text(yaml.safe_dump({**PARAMS, "inputs": inputs}), "utf-8")
    export = tmp_path / "abri_nuit_sejours_2024.csv"
    header = "N° dossier;Nom;Prénom;Date de naissance;Sexe;Nationalité;Date d'entrée"
    export.write_bytes(
        f"{header}\r\nAN-9;Nom;Pré;01/01/1990;Q;Belge;02/01/2024\r\n".encode("cp1252")
    )
    monkeypatch.chdir(tmp_path)
    code = main(["--params", str(params), "check", str(export), "--partner", "abri_nuit", "--json"])
    report = _json(capsys)
    assert code == 1 and report["status"] == "rows_set_aside"
    assert report["problems"] == [
        {
            "reason": "code_inconnu",
            "label": QUARANTINE_REASONS["code_inconnu"],
            "column": "Sexe",
            "lines": [2],
            "action": report["actions"]["code_inconnu"],
        }
    ]
    assert report["missing_optional_columns"] == ["Date de sortie", "Nuitées", "Participation (€)"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "abri_nuit_sejours_2024.csv",
        "pipeline.yaml",
    ]


def test_a_name_matching_only_case_insensitively_is_checked_with_a_warning(tmp_path, capsys):
    export = tmp_path / "ABRI_NUIT_REFUS_2024.CSV"
    export.write_bytes(b"Date;Refus faute de place\r\n01/01/2024;3\r\n")
    assert run_check(export, "abri_nuit", as_json=True, inputs=CHECK_INPUTS) == 0
    report = _json(capsys)
    assert report["export"] == "refus" and "majuscules" in report["notes"][0]


def test_a_broken_mapping_of_another_partner_does_not_block_the_check(tmp_path, capsys):
    partners = tmp_path / "partners"
    partners.mkdir()
    (partners / "abri_nuit.yaml").write_bytes(
        (ROOT / "params/partners/abri_nuit.yaml").read_bytes()
    )
    (partners / "zz_casse.yaml").write_text("partner_id: [\n", encoding="utf-8")
    export = tmp_path / "abri_nuit_refus_2024.csv"
    export.write_bytes(b"Date;Refus faute de place\r\n01/01/2024;3\r\n")
    inputs = CHECK_INPUTS.model_copy(update={"partners_dir": partners})
    assert run_check(export, "abri_nuit", as_json=True, inputs=inputs) == 0
    assert _json(capsys)["export"] == "refus"


def test_an_unexpected_reader_error_is_reported_without_a_traceback(tmp_path, monkeypatch):
    def boom(*_args, **_kwargs):
        raise ValueError("Lefèvre Zoé 07/03/1990")  # a bug message that would leak cells

    monkeypatch.setattr("observatoire.intake.check.read_shared_file", boom)
    export = tmp_path / "abri_nuit_refus_2024.csv"
    export.write_bytes(b"Date;Refus faute de place\r\n01/01/2024;3\r\n")
    report = check_file(export, "abri_nuit", CHECK_INPUTS)
    assert report.status == "rejected" and "erreur interne" in report.message
    assert "Lefèvre" not in render_text(report) + json.dumps(report.to_json())


# --- property-based: arbitrary input never ends in a traceback ---


def _encode(text: str, encoding: str) -> bytes:
    return text.encode("utf-8-sig" if encoding == "utf-8" else encoding, errors="replace")


def _header(spec) -> list[str]:
    return [c.column for c in spec.columns.values()]


export_choice = st.sampled_from(CSV_EXPORTS)
noise = st.one_of(
    st.binary(max_size=400),
    st.text(max_size=200),
    st.lists(
        st.lists(st.text(max_size=12), max_size=12),
        max_size=6,
    ),
)


@FAST
@given(export=export_choice, body=noise, with_header=st.booleans())
def test_any_bytes_as_a_csv_export_give_a_result_or_a_french_rejection(export, body, with_header):
    partner, spec = export
    fmt = spec.format
    head = fmt.delimiter.join(_header(spec)) + "\r\n" if with_header else ""
    if isinstance(body, bytes):
        data = _encode(head, fmt.encoding) + body
    elif isinstance(body, str):
        data = _encode(head + body, fmt.encoding)
    else:
        rows = "\r\n".join(fmt.delimiter.join(r) for r in body)
        data = _encode(head + rows, fmt.encoding)
    _read_bytes(partner, spec, data)


def _read_bytes(partner, spec, data: bytes):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{Path(spec.files).name.replace('*', '2024')}"
        path.write_bytes(data)
        try:
            result, frame = read_partner_file(path, path.name, partner, spec)
        except ExportRejected as exc:
            assert str(exc).startswith("Export refusé")
            return None
        assert result.rows_read == result.rows_accepted + result.rows_quarantined
        assert set(result.reasons) <= set(QUARANTINE_REASONS)
        return result, frame


@FAST
@given(data=st.binary(max_size=300), zip_magic=st.booleans())
def test_any_bytes_as_a_workbook_are_rejected_in_french(data, zip_magic):
    partner = PARTNERS["maison_accueil"]
    body = (b"PK\x03\x04" + data) if zip_magic else data
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "maison_accueil_2024.xlsx"
        path.write_bytes(body)
        with pytest.raises(ExportRejected):
            read_partner_file(path, path.name, partner, partner.exports[0])


# Fields of the CSV partners whose cells are parsed (dates, numbers, codes), with a valid row.
VALID_ROWS = {
    "abri_nuit": "AN-1;Lefèvre;Zoé;07/03/1990;F;Belge;02/01/2024;05/01/2024;3;7,50",
    "accueil_jour": "10001,Lemaire,Chloé,1995-04-18,F,BE,2024-01-03,repas",
    "travail_rue": "05-01-24\tCA\tH\t39\tGare\tSoins\t1,5",
    "urgence_sociale": "US-1;Thys;Léa;13/02/1972;Femme;Belgique;01/01/2024;03:40;Aide;CPAS;1,5",
}
PARSED = [
    (pid, fname)
    for pid in VALID_ROWS
    for fname, col in PARTNERS[pid].exports[0].columns.items()
    if col.kind in ("date", "integer", "decimal", "code")
]
cell_text = st.text(alphabet=st.characters(codec="cp1252", exclude_characters="\x00"), max_size=14)


@FAST
@given(target=st.sampled_from(PARSED), text=cell_text)
@example(target=("abri_nuit", "nights"), text="1e400")
@example(target=("abri_nuit", "fee_eur"), text="inf")
@example(target=("travail_rue", "estimated_age"), text="99999999999999999999")
@example(target=("abri_nuit", "birth_date"), text="01/22/2000")
def test_any_text_in_a_parsed_column_gives_a_value_or_a_quarantine_reason(target, text):
    pid, fname = target
    partner = PARTNERS[pid]
    spec = partner.exports[0]
    fmt = spec.format
    header = [c.column for c in spec.columns.values()]
    row = next(csv.reader([VALID_ROWS[pid]], delimiter=fmt.delimiter))
    row[header.index(spec.columns[fname].column)] = text
    buf = io.StringIO(newline="")
    writer = csv.writer(buf, delimiter=fmt.delimiter, lineterminator="\r\n")
    writer.writerows([header, row])
    out = _read_bytes(partner, spec, buf.getvalue().encode(fmt.encoding))
    assert out is not None, "une cellule seule ne doit pas faire refuser le fichier"
    result, frame = out
    assert result.rows_read == 1
    if result.rows_quarantined:
        assert result.quarantined["reason"].iloc[0] in QUARANTINE_REASONS
        return
    value = frame[fname].iloc[0]
    if not text.strip():
        return  # blank optional cell: missing, not an error
    kind = spec.columns[fname].kind
    assert not pd.isna(value), f"« {text} » accepté sans valeur dans {fname}"
    if kind in ("integer", "decimal"):
        assert math.isfinite(float(value))
    if kind == "code" and fname == "sex":
        assert value in SEX_CODES


DATE_FORMATS = sorted({e.format.date_format for p in PARTNERS.values() for e in p.exports})
spreadsheet_cell = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.datetimes(min_value=dt.datetime(1, 1, 2)),
    st.dates(),
    st.booleans(),
)


@FAST
@given(values=st.lists(spreadsheet_cell, max_size=15), date_format=st.sampled_from(DATE_FORMATS))
def test_any_cell_gives_a_date_or_a_flag(values, date_format):
    parsed, bad = parse_dates(pd.Series(values, dtype=object), date_format)
    assert len(parsed) == len(values)
    assert not (parsed.notna() & bad).any()


@FAST
@given(values=st.lists(spreadsheet_cell, max_size=15), comma=st.booleans())
def test_any_cell_gives_a_number_or_a_flag(values, comma):
    series = pd.Series(values, dtype=object)
    decimal, thousands = (",", ".") if comma else (".", None)
    for parse in (parse_decimals, parse_integers):
        parsed, bad = parse(series, decimal, thousands)
        ok = parsed.dropna().astype("float64")
        assert ok.map(math.isfinite).all()
        assert not (parsed.notna() & bad).any()


# --- the generated sample: clean files pass, broken copies are caught ---


def _break_csv(path: Path, spec, changes: dict[int, tuple[str, str]]) -> None:
    """Rewrite cells of a CSV export: line → (column label, new text)."""
    fmt = spec.format
    raw = path.read_bytes()
    text = raw.decode("utf-8-sig" if fmt.encoding == "utf-8" else fmt.encoding)
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=fmt.delimiter))
    newline = "\r\n" if b"\r\n" in raw[:4096] else "\n"
    for line, (column, value) in changes.items():
        rows[line - 1][rows[0].index(column)] = value
    buf = io.StringIO(newline="")
    csv.writer(buf, delimiter=fmt.delimiter, lineterminator=newline).writerows(rows)
    path.write_bytes(buf.getvalue().encode(fmt.encoding))


def _break_xlsx(path: Path, spec, changes: dict[int, tuple[str, object]]) -> None:
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb[spec.format.sheet]
    header = [c.value for c in ws[spec.format.header_row]]
    for line, (column, value) in changes.items():
        ws.cell(row=line, column=header.index(column) + 1, value=value)
    wb.save(path)


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory) -> Path:
    from observatoire.sample import generate_sample

    base = tmp_path_factory.mktemp("sample")
    generate_sample({**PARAMS["sample"], "scale": 0.05}, base / "raw", base / "truth")
    return base / "raw"


def test_every_file_of_the_generated_sample_is_ok(small_sample, capsys):
    files = sorted(p for p in small_sample.glob("*/*") if p.is_file())
    # + the seasonal plans (weather, alerts, three partners × 5 years) + the field records
    # (issue 19: incidents, testimonies, observations, relay sheets, allowances × 2, survey)
    # + the projects (issue 20: affiliation_hf 9 workbooks, sport_foot 4)
    assert len(files) == 35 + 25 + 11 + 13
    for path in files:
        code = run_check(path, path.parent.name, as_json=True, inputs=CHECK_INPUTS)
        report = _json(capsys)
        if path.name.startswith("presences_"):  # the team's planted « ? » marks, and only them
            assert code == 1 and report["rows_read"] > report["rows_accepted"] > 0, path.name
            assert set(report["reasons"]) == {"marque_inconnue"}, path.name
            continue
        assert (code, report["status"]) == (0, "ok"), path.name
        assert report["rows_read"] == report["rows_accepted"] > 0


@pytest.mark.parametrize("partner_id", sorted(VALID_ROWS) + ["housing_first", "maison_accueil"])
def test_a_broken_copy_is_caught_at_the_right_line_and_column(small_sample, tmp_path, partner_id):
    partner = PARTNERS[partner_id]
    spec = partner.exports[0]
    src = sorted((small_sample / partner_id).glob(Path(spec.files).name))[-1]
    path = tmp_path / src.name
    path.write_bytes(src.read_bytes())
    date_col, sex_col = spec.columns["date_start"].column, spec.columns["sex"].column
    if spec.format.type == "xlsx":
        first = spec.format.header_row + 1
        last = first + check_file(src, partner_id, CHECK_INPUTS).rows_read - 1
        bad_date, bad_sex = (first, "01/22/2024"), (last, "Q")
        _break_xlsx(path, spec, {bad_date[0]: (date_col, bad_date[1]), last: (sex_col, "Q")})
    else:
        bad_date, bad_sex = (7, "01/22/2024"), (12, "Q")
        _break_csv(path, spec, {7: (date_col, bad_date[1]), 12: (sex_col, "Q")})
    report = check_file(path, partner_id, CHECK_INPUTS)
    assert report.status == "rows_set_aside" and report.exit_code == 1
    found = {(g.reason, g.column, tuple(g.lines)) for g in report.problems}
    assert found == {
        ("date_illisible", date_col, (bad_date[0],)),
        ("code_inconnu", sex_col, (bad_sex[0],)),
    }
    text = render_text(report)
    assert f"colonne « {date_col} » : ligne {bad_date[0]}" in text
    assert f"colonne « {sex_col} » : ligne {bad_sex[0]}" in text
