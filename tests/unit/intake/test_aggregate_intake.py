"""Aggregate returns (``table: aggregates``): long and wide files by mapping alone, the mapping's
rules in French, the validation (capacity ≥ 0, occupancy within reason, a total equal to its
parts), and `check` refusing a file of counts sent to a person-level mapping."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from observatoire.config.settings import InputsSettings
from observatoire.core.errors import MappingError
from observatoire.core.schema import AGGREGATE_COLUMNS, AGGREGATE_MEASURES, QUARANTINE_REASONS
from observatoire.intake.check import check_file, render_text
from observatoire.intake.ingest import aggregate_rows, read_partner_file
from observatoire.intake.mapping import load_mapping
from observatoire.intake.validate import validate_tables

ROOT = Path(__file__).resolve().parents[3]
CODES = ROOT / "params" / "codes"
END = pd.Timestamp("2024-12-31")

WIDE = {
    "partner_id": "abri_test",
    "name": "Abri test",
    "dispositif": "hebergement_urgence",
    "exports": [
        {
            "name": "occupation",
            "table": "aggregates",
            "files": "abri_test/occ_*.csv",
            "format": {"delimiter": ";", "date_format": "%d/%m/%Y"},
            "aggregates": {"period": "jour"},
            "columns": {
                "date": {"column": "Date", "required": True},
                "programme": "Site",
                "beds_available": "Lits",
                "winter_extra_beds": "Lits hiver",
                "beds_occupied": "Occupés",
            },
        }
    ],
}

LONG = {
    **WIDE,
    "exports": [
        {
            **WIDE["exports"][0],
            "columns": {
                "date": {"column": "Date", "required": True},
                "programme": "Site",
                "measure": {
                    "column": "Indicateur",
                    "codes": {
                        "Lits disponibles": "beds_available",
                        "Lits d'hiver": "winter_extra_beds",
                        "Lits occupés": "beds_occupied",
                    },
                },
                "value": "Valeur",
            },
        }
    ],
}


def _write(tmp_path: Path, spec: dict, lines: list[str], name: str = "occ_2024.csv"):
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    mapping = load_mapping(path, CODES)
    raw = tmp_path / "raw" / "abri_test"
    raw.mkdir(parents=True, exist_ok=True)
    (raw / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    res, frame = read_partner_file(raw / name, f"abri_test/{name}", mapping, mapping.exports[0])
    return res, aggregate_rows(frame, mapping, mapping.exports[0]), mapping


def test_a_long_and_a_wide_file_give_the_same_canonical_table(tmp_path):
    _, wide, _ = _write(
        tmp_path,
        WIDE,
        ["Date;Site;Lits;Lits hiver;Occupés", "01/12/2024;A;10;2;11", "01/12/2024;B;5;0;"],
    )
    _, long, _ = _write(
        tmp_path,
        LONG,
        [
            "Date;Site;Indicateur;Valeur",
            "01/12/2024;A;Lits disponibles;10",
            "01/12/2024;A;Lits d'hiver;2",
            "01/12/2024;A;Lits occupés;11",
            "01/12/2024;B;Lits disponibles;5",
            "01/12/2024;B;Lits d'hiver;0",
        ],
    )
    assert list(wide.columns) == AGGREGATE_COLUMNS
    key = ["programme", "measure"]
    w = wide.sort_values(key)[[*key, "value", "group", "group_role", "period"]]
    lg = long.sort_values(key)[[*key, "value", "group", "group_role", "period"]]
    # A blank cell is a measure not reported, not a zero: B's occupied beds are absent.
    assert len(w) == 5 and not ((w["programme"] == "B") & (w["measure"] == "beds_occupied")).any()
    pd.testing.assert_frame_equal(w.reset_index(drop=True), lg.reset_index(drop=True))
    assert set(w["group"]) == {"ensemble"} and set(w["group_role"]) == {"total"}


def test_an_unknown_measure_of_a_long_file_is_set_aside(tmp_path):
    res, rows, _ = _write(
        tmp_path,
        LONG,
        [
            "Date;Site;Indicateur;Valeur",
            "01/12/2024;A;Lits disponibles;10",
            "01/12/2024;A;Repas;80",
        ],
    )
    assert res.reasons == {"code_inconnu": 1} and len(rows) == 1


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda e: e.pop("aggregates"), "exige le bloc aggregates"),
        (lambda e: e["columns"].update(value="Valeur"), "measure"),
        (lambda e: e["columns"].update(group="Groupe"), "déclarez le rôle de chaque groupe"),
        (
            lambda e: e.update(table="refusals", columns={"date": "Date", "refusals": "Refus"}),
            "ne s'applique qu'à table: aggregates",
        ),
        (lambda e: e["aggregates"].update(period="semaine"), "jour"),
        (
            lambda e: e["aggregates"].update(groups={"partition": ["a", "b"], "subgroups": ["a"]}),
            "déclaré(s) deux fois",
        ),
        (
            lambda e: e.update(
                columns={"date": "Date", "measure": "M", "value": "V", "meals": "R"}
            ),
            "pas les deux",
        ),
    ],
)
def test_the_mapping_rules_answer_in_french(tmp_path, change, words):
    spec = yaml.safe_load(yaml.safe_dump(WIDE))
    change(spec["exports"][0])
    path = tmp_path / "map.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MappingError) as err:
        load_mapping(path, CODES)
    assert words in str(err.value) and "map.yaml" in str(err.value)


def test_every_measure_says_whether_it_counts_persons():
    assert {m.kind for m in AGGREGATE_MEASURES.values()} == {"flux", "nuit", "stock"}
    persons = {c for c, m in AGGREGATE_MEASURES.items() if m.persons}
    assert "actively_homeless" in persons and "newly_identified" in persons
    assert not {"beds_available", "beds_occupied", "meals", "showers"} & persons
    assert {"occupation_excessive", "groupes_incoherents"} <= set(QUARANTINE_REASONS)


GROUPED = {
    **WIDE,
    "exports": [
        {
            "name": "mensuel",
            "table": "aggregates",
            "files": "abri_test/occ_*.csv",
            "format": {"delimiter": ";", "date_format": "%d/%m/%Y"},
            "aggregates": {
                "period": "mois",
                "groups": {"total": "tous", "partition": ["isoles", "familles"]},
            },
            "columns": {
                "date": "Mois",
                "group": "Groupe",
                "actively_homeless": "Sans abri",
            },
        }
    ],
}


def test_validation_sets_aside_impossible_counts_and_names_their_reason(tmp_path):
    _, daily, _ = _write(
        tmp_path,
        WIDE,
        [
            "Date;Site;Lits;Lits hiver;Occupés",
            "01/12/2024;A;10;2;13",  # 13 ≤ 12 × 1,1: within the tolerance
            "02/12/2024;A;10;2;14",  # 14 > 13,2: occupancy beyond reason
            "03/12/2024;A;-1;0;0",  # negative capacity
            "04/12/2024;A;10;0;9",
        ],
    )
    monthly_dir = tmp_path / "m"
    monthly_dir.mkdir()
    _, monthly, _ = _write(
        monthly_dir,
        GROUPED,
        [
            "Mois;Groupe;Sans abri",
            "01/11/2024;tous;30",
            "01/11/2024;isoles;20",
            "01/11/2024;familles;10",
            "01/12/2024;tous;31",  # 31 ≠ 21 + 9: the total is not the sum of its parts
            "01/12/2024;isoles;21",
            "01/12/2024;familles;9",
        ],
        name="occ_mois_2024.csv",
    )
    empty = pd.DataFrame(columns=["date", "refusals", "source_file", "source_row"])
    aggregates = pd.concat([daily, monthly], ignore_index=True)
    res = validate_tables(_contacts_stub(), empty, END, None, aggregates=aggregates, tolerance=0.1)[
        "aggregates"
    ]
    reasons = {(r.source_file.split("/")[-1], r.line): r.reason for r in res.set_aside.itertuples()}
    # One entry per line of the partner's file, whatever the measures it holds.
    assert res.rows == 4 + 6 and len(res.set_aside) == 3
    assert reasons == {
        ("occ_2024.csv", 3): "occupation_excessive",
        ("occ_2024.csv", 4): "valeur_hors_plage",
        ("occ_mois_2024.csv", 5): "groupes_incoherents",
    }


def _contacts_stub() -> pd.DataFrame:
    """An empty contacts table with the columns the contacts suite reads."""
    cols = {
        "record_key": object,
        "date_start": "datetime64[s]",
        "date_end": "datetime64[s]",
        "dispositif": object,
        "sex": object,
        "nationality_group": object,
        "exit_reason": object,
        "age_at_contact": "float64",
        "nights": "float64",
        "duration_hours": "float64",
        "source_file": object,
        "source_row": "int64",
    }
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in cols.items()})


# --- check: a file of counts sent to a person-level mapping ---


def test_check_refuses_a_file_of_counts_sent_to_a_person_mapping(tmp_path):
    """The night shelter's stays mapping receives its daily occupancy export: no identity,
    counts: exit code 2, a French message that says to declare `table: aggregates`."""
    raw = tmp_path / "abri_nuit"
    raw.mkdir()
    path = raw / "abri_nuit_sejours_2024.csv"
    path.write_bytes(
        (
            "Date d'entrée;Structure;Lits disponibles;Lits occupés\r\n"
            "01/01/2024;Site A;40;38\r\n02/01/2024;Site A;40;40\r\n"
        ).encode("cp1252")
    )
    inputs = InputsSettings(
        raw_dir=tmp_path, partners_dir=ROOT / "params" / "partners", codes_dir=CODES
    )
    report = check_file(path, "abri_nuit", inputs)
    assert report.exit_code == 2
    text = render_text(report)
    assert "table: aggregates" in text and "comptages agrégés" in text
    assert "« Lits occupés »" in text and "Traceback" not in text


def test_a_person_file_with_identities_is_not_taken_for_counts(tmp_path):
    raw = tmp_path / "abri_nuit"
    raw.mkdir()
    path = raw / "abri_nuit_sejours_2024.csv"
    path.write_bytes(
        (
            "N° dossier;Nom;Prénom;Date de naissance;Sexe;Nationalité;Date d'entrée;"
            "Date de sortie;Nuitées\r\nAN-1;Lefèvre;Zoé;07/03/1990;F;Belge;02/01/2024;"
            "05/01/2024;3\r\n"
        ).encode("cp1252")
    )
    inputs = InputsSettings(
        raw_dir=tmp_path, partners_dir=ROOT / "params" / "partners", codes_dir=CODES
    )
    assert check_file(path, "abri_nuit", inputs).exit_code == 0
