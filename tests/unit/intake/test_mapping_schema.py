"""The mapping language's schema: every wrong or unknown key refused in French, the sample
mappings accepted unchanged, and the reference page (docs/correspondances.md) in step with it."""

from __future__ import annotations

import copy
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from observatoire.core.errors import MappingError
from observatoire.core.schema import TABLE_FIELDS
from observatoire.intake.mapping import load_mapping, load_partners
from observatoire.intake.mapping_reference import (
    EXAMPLE,
    reference_keys,
    reference_markdown,
    reference_text,
)
from observatoire.intake.mapping_schema import (
    FILE_TYPES,
    CapacitySchema,
    ColumnSchema,
    ExportSchema,
    FormatSchema,
    GridSchema,
    PartnerSchema,
    validate_mapping,
)

ROOT = Path(__file__).resolve().parents[3]
PARTNERS_DIR = ROOT / "params" / "partners"
CODES_DIR = ROOT / "params" / "codes"
DOC = ROOT / "docs" / "correspondances.md"
SAMPLE_IDS = (
    "abri_grand_froid",  # the seasonal plans' count-only partners (issue 18)
    "abri_nuit",
    "accueil_canicule",
    "accueil_jour",
    "housing_first",
    "maison_accueil",
    "maraude_plans",
    "travail_rue",
    "urgence_sociale",
)  # meteo_irm, a weather source, is no partner (load_partners(..., weather=True) reads it)


def _raw(partner: str = "abri_nuit") -> dict[str, Any]:
    return yaml.safe_load((PARTNERS_DIR / f"{partner}.yaml").read_text(encoding="utf-8"))


def _refusal(raw: Any, tmp_path: Path) -> str:
    """The French message a mapping file holding ``raw`` is refused with."""
    path = tmp_path / "partners" / "abri_nuit.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(MappingError) as info:
        load_mapping(path, CODES_DIR)
    message = str(info.value)
    assert str(path) in message and "À faire" in message, message
    assert "docs/correspondances.md" in message
    assert "Input should" not in message and "Traceback" not in message, message
    return message


# --- the sample network -----------------------------------------------------------------------


def test_the_six_sample_mappings_are_valid():
    partners = load_partners(PARTNERS_DIR, CODES_DIR)
    assert tuple(partners) == SAMPLE_IDS
    shelter = partners["abri_nuit"]
    assert shelter.capacity == {"beds": 40, "winter_extra_beds": 15}
    assert [e.name for e in shelter.exports] == ["sejours", "refus"]
    sex = shelter.exports[0].columns["sex"]
    assert sex.kind == "code" and sex.code_list == "@sexe" and sex.codes["homme"] == "M"
    assert shelter.exports[0].columns["nights"].kind == "integer"
    assert shelter.exports[0].columns["local_id"].identity
    assert partners["housing_first"].exports[0].format.sheet == "Locataires"
    assert partners["travail_rue"].exports[0].format.delimiter == "\t"
    assert all(p.capacity == {} for k, p in partners.items() if k != "abri_nuit")


def test_a_short_column_form_and_an_unnamed_export_keep_their_defaults(tmp_path):
    raw = _raw()
    raw["exports"][1].pop("name")
    raw["exports"][0]["columns"]["date_end"] = "Date de sortie"
    path = tmp_path / "abri_nuit.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    mapping = load_mapping(path, CODES_DIR)
    assert mapping.exports[1].name == "export2"
    col = mapping.exports[0].columns["date_end"]
    assert (col.column, col.kind, col.identity, col.required) == (
        "Date de sortie",
        "date",
        False,
        False,
    )


# --- what is refused --------------------------------------------------------------------------


def _at(*keys: Any) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """The block at ``keys`` in a raw mapping."""

    def get(raw: dict[str, Any]) -> dict[str, Any]:
        for k in keys:
            raw = raw[k]
        return raw

    return get


CASES: dict[str, tuple[Callable[[dict[str, Any]], None], tuple[str, ...]]] = {
    # unknown keys, at every level
    "top-level join": (
        lambda r: r.update(join={"on": "person_id"}),
        ("clé inconnue « join »", "partner_id, name, dispositif"),
    ),
    "export filter": (
        lambda r: _at("exports", 0)(r).update(filtre={"type": 1}),
        ("« exports[0].filtre »", "export « sejours »", "name, table, files, "),
    ),
    "format quotechar": (
        lambda r: _at("exports", 1, "format")(r).update(quotechar='"'),
        ("« exports[1].format.quotechar »", "export « refus »", "encoding, delimiter"),
    ),
    "column key": (
        lambda r: _at("exports", 0, "columns", "sex")(r).update(colour="red"),
        ("« exports[0].columns.sex.colour »", "column, aliases, type, codes"),
    ),
    "inline codes key": (
        lambda r: _at("exports", 0, "columns", "sex")(r).update(codes={"h": "M", "f": "Femme"}),
        ("« exports[0].columns.sex.codes »", "Femme", "M, F, X, INCONNU"),
    ),
    "capacity key": (
        lambda r: _at("capacity")(r).update(lits=3),
        ("clé inconnue « capacity.lits »", "beds, winter_extra_beds"),
    ),
    "unknown canonical field": (
        lambda r: _at("exports", 0, "columns")(r).update(nom={"column": "Nom"}),
        ("« exports[0].columns.nom »", "table contacts", "local_id, surname"),
    ),
    # wrong types
    "header_row as text": (
        lambda r: _at("exports", 0, "format")(r).update(header_row="2"),
        ("« exports[0].format.header_row » vaut « 2 »", "nombre entier"),
    ),
    "required as text": (
        lambda r: _at("exports", 0, "columns", "sex")(r).update(required="oui"),
        ("« exports[0].columns.sex.required »", "true ou false"),
    ),
    "aliases as text": (
        lambda r: _at("exports", 0, "columns", "sex")(r).update(aliases="Genre"),
        ("« exports[0].columns.sex.aliases »", "une liste"),
    ),
    "column label as number": (
        lambda r: _at("exports", 0, "columns")(r).update(sex=12),
        ("« exports[0].columns.sex »", "libellé de colonne"),
    ),
    "exports as a block": (
        lambda r: r.update(exports={"name": "x"}),
        ("« exports »", "une liste"),
    ),
    # bad values
    "table contact": (
        lambda r: _at("exports", 0)(r).update(table="contact"),
        ("« exports[0].table » vaut « contact »", "valeurs admises : contacts, refusals"),
    ),
    "unknown dispositif": (
        lambda r: r.update(dispositif="abri"),
        ("« dispositif » vaut « abri »", "hebergement_urgence"),
    ),
    "file type": (
        lambda r: _at("exports", 0, "format")(r).update(type="xls"),
        ("« exports[0].format.type »", "csv, xlsx, ods"),
    ),
    "column type": (
        lambda r: _at("exports", 0, "columns", "nights")(r).update(type="decimal"),
        ("« exports[0].columns.nights.type »", "type: integer"),
    ),
    "column type outside the list": (
        lambda r: _at("exports", 0, "columns", "nights")(r).update(type="nombre"),
        ("« exports[0].columns.nights.type »", "text, date, integer, decimal"),
    ),
    "identity switched off": (
        lambda r: _at("exports", 0, "columns", "surname")(r).update(identity=False),
        ("« exports[0].columns.surname.identity »", "identity: true"),
    ),
    "encoding": (
        lambda r: _at("exports", 0, "format")(r).update(encoding="windows-9999"),
        ("« exports[0].format.encoding »", "windows-9999", "cp1252"),
    ),
    "delimiter of two characters": (
        lambda r: _at("exports", 0, "format")(r).update(delimiter=";;"),
        ("« exports[0].format.delimiter »", "un seul caractère"),
    ),
    "date format without year": (
        lambda r: _at("exports", 0, "format")(r).update(date_format="%d/%m"),
        ("« exports[0].format.date_format »", "l'année"),
    ),
    "thousands equal to decimal": (
        lambda r: _at("exports", 0, "format")(r).update(thousands=","),
        ("« exports[0].format.thousands »", "marque décimale"),
    ),
    "sheet of a csv": (
        lambda r: _at("exports", 0, "format")(r).update(sheet="Feuil1"),
        ("« exports[0].format.sheet »", "xlsx ou ods"),
    ),
    "encoding of a workbook": (
        lambda r: _at("exports", 0, "format")(r).update(type="xlsx", encoding="utf-8"),
        ("« exports[0].format.encoding »", "csv"),
    ),
    "period without a year group": (
        lambda r: _at("exports", 0)(r).update(period_from_filename=r"(\d{4})"),
        ("« exports[0].period_from_filename »", "(?P<year>"),
    ),
    "absolute files": (
        lambda r: _at("exports", 0)(r).update(files="/data/abri/*.csv"),
        ("« exports[0].files »", "relatif"),
    ),
    "negative beds": (
        lambda r: _at("capacity")(r).update(beds=-3),
        ("« capacity.beds » vaut -3", "au moins 0"),
    ),
    "capacity of a day centre": (
        lambda r: r.update(dispositif="accueil_jour"),
        ("« capacity »", "hebergement_urgence"),
    ),
    "missing code list": (
        lambda r: _at("exports", 0, "columns", "sex")(r).update(codes="@genre"),
        ("« exports[0].columns.sex.codes »", "genre.yaml"),
    ),
    "code list without @": (
        lambda r: _at("exports", 0, "columns", "sex")(r).update(codes="sexe"),
        ("« exports[0].columns.sex.codes »", "« @sexe »"),
    ),
    "yaml boolean label": (
        lambda r: _at("exports", 0, "columns", "sex")(r).update(codes={False: "M"}),
        ("« exports[0].columns.sex.codes »", "guillemets"),
    ),
    "partner id with spaces": (
        lambda r: r.update(partner_id="Abri Nuit"),
        ("« partner_id » vaut « Abri Nuit »", "minuscules"),
    ),
    "two exports of one name": (
        lambda r: _at("exports", 1)(r).update(name="sejours"),
        ("« exports[1].name »", "sejours"),
    ),
    "scope of a name": (
        lambda r: _at("exports", 0, "columns", "surname")(r).update(scope="network"),
        ("« exports[0].columns.surname.scope »", "local_id"),
    ),
    "scope outside the list": (
        lambda r: _at("exports", 0, "columns", "local_id")(r).update(scope="reseau"),
        ("« exports[0].columns.local_id.scope » vaut « reseau »", "network, local"),
    ),
    # missing keys
    "missing files": (
        lambda r: _at("exports", 0)(r).pop("files"),
        ("clé « exports[0].files » absente",),
    ),
    "missing date_start": (
        lambda r: _at("exports", 0, "columns")(r).pop("date_start"),
        ("« exports[0].columns »", "date_start"),
    ),
    "missing name": (lambda r: r.pop("name"), ("clé « name » absente",)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_wrong_key_is_refused_with_a_french_message_naming_file_and_key(case, tmp_path):
    change, expected = CASES[case]
    raw = copy.deepcopy(_raw())
    change(raw)
    message = _refusal(raw, tmp_path)
    for text in expected:
        assert text in message, (text, message)


def test_every_problem_of_a_file_is_listed_at_once(tmp_path):
    raw = _raw()
    raw["join"] = {"on": "id"}
    raw["exports"][0]["format"]["quotechar"] = "'"
    raw["exports"][1]["table"] = "refus"
    message = _refusal(raw, tmp_path)
    assert "« join »" in message and "quotechar" in message and "« refus »" in message


def test_a_file_that_is_not_a_mapping_or_not_yaml_is_refused(tmp_path):
    assert "doit décrire un partenaire" in _refusal(["a", "b"], tmp_path)
    path = tmp_path / "broken.yaml"
    path.write_text("partner_id: [x\nname: y\n", encoding="utf-8")
    with pytest.raises(MappingError, match="YAML illisible"):
        load_mapping(path, CODES_DIR)


def test_a_shared_code_list_with_a_non_canonical_code_is_refused_naming_the_list(tmp_path):
    codes = tmp_path / "codes"
    shutil.copytree(CODES_DIR, codes)
    with (codes / "sexe.yaml").open("a", encoding="utf-8") as fh:
        fh.write("garcon: H\n")
    with pytest.raises(MappingError) as info:
        load_mapping(PARTNERS_DIR / "abri_nuit.yaml", codes)
    assert "« exports[0].columns.sex.codes »" in str(info.value)
    assert "H inconnu" in str(info.value) and "M, F, X, INCONNU" in str(info.value)
    (codes / "sexe.yaml").write_text("no: M\n", encoding="utf-8")
    with pytest.raises(MappingError, match="sexe.yaml contient le libellé False"):
        load_mapping(PARTNERS_DIR / "abri_nuit.yaml", codes)


def test_every_broken_mapping_of_the_network_is_named_at_once(tmp_path):
    partners = tmp_path / "partners"
    shutil.copytree(PARTNERS_DIR, partners)
    for pid, key in (("abri_nuit", "join"), ("travail_rue", "filter")):
        raw = _raw(pid)
        raw[key] = 1
        (partners / f"{pid}.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    with pytest.raises(MappingError) as info:
        load_partners(partners, CODES_DIR)
    message = str(info.value)
    assert "2 correspondances refusées" in message
    assert "abri_nuit.yaml" in message and "« join »" in message
    assert "travail_rue.yaml" in message and "« filter »" in message


# --- the schema against the code that reads it ---------------------------------------------------


def test_the_schema_admits_exactly_the_tables_and_file_types_the_readers_know():
    tables = ExportSchema.model_fields["table"].annotation
    assert set(tables.__args__) == set(TABLE_FIELDS)
    assert set(FormatSchema.model_fields["type"].annotation.__args__) == set(FILE_TYPES)


def test_the_full_example_of_the_reference_is_a_valid_mapping():
    schema = validate_mapping(yaml.safe_load(EXAMPLE), Path("exemple.yaml"), CODES_DIR)
    assert isinstance(schema, PartnerSchema) and len(schema.exports) == 2


def test_every_key_has_a_french_description_a_type_a_default_and_an_example():
    keys = reference_keys()
    assert len({k.path for k in keys}) == len(keys)
    for k in keys:
        assert k.description and k.type and k.default and k.example, k.path
        leaf = k.path.rsplit(".", 1)[-1].removesuffix("[]")
        assert k.example.startswith(f"{leaf}:"), (k.path, k.example)


def test_the_example_of_each_format_column_and_capacity_key_is_a_valid_value():
    blocks = {
        "exports[].format.grid.": (GridSchema, {"row_columns": ["Code"], "mark": ["x"]}),
        "exports[].format.": (FormatSchema, {"decimal": ","}),
        "exports[].columns.<champ>.": (ColumnSchema, {"column": "Sexe"}),
        "capacity.": (CapacitySchema, {}),
    }
    checked = 0
    for k in reference_keys():
        for prefix, (model, base) in blocks.items():
            if k.path.startswith(prefix):
                value = base | yaml.safe_load(k.example)
                if model is FormatSchema and {"sheet", "sheets", "skip_sheets"} & set(value):
                    value["type"] = "xlsx"
                if model is FormatSchema and "skip_sheets" in value:
                    value["sheets"] = "*"
                if model is FormatSchema and "grid" in value:
                    value |= {"type": "xlsx", "header_rows": 2}
                if model is FormatSchema and "header_rows" in value:
                    value["type"] = "xlsx"
                model.model_validate(value)
                checked += 1
                break
    assert checked == 12 + 4 + 9 + 2


def test_the_terminal_reference_names_every_key_and_its_allowed_values():
    text = reference_text()
    for k in reference_keys():
        assert f"\n{k.path}\n" in text
    assert "contacts" in text and "refusals" in text and "hebergement_urgence" in text


# --- docs/correspondances.md ---------------------------------------------------------------------

REGENERATE = "régénérez : observatoire partners --schema --markdown > docs/correspondances.md"


def test_the_reference_page_lists_exactly_the_keys_of_the_schema():
    documented = re.findall(r"^### `([^`]+)`$", DOC.read_text(encoding="utf-8"), re.MULTILINE)
    schema = [k.path for k in reference_keys()]
    missing = sorted(set(schema) - set(documented))
    extra = sorted(set(documented) - set(schema))
    assert not missing, (
        f"clés du schéma absentes de docs/correspondances.md : {missing} ; {REGENERATE}"
    )
    assert not extra, f"clés documentées que le schéma n'a pas : {extra} ; {REGENERATE}"
    assert documented == schema


def test_the_reference_page_is_the_generated_one():
    assert DOC.read_text(encoding="utf-8") == reference_markdown(), REGENERATE


def test_the_readme_example_of_a_new_partner_is_a_valid_mapping():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Ajouter un partenaire", 1)[1]
    example = section.split("```yaml", 1)[1].split("```", 1)[0]
    assert "docs/correspondances.md" in section.split("```yaml", 1)[0]
    schema = validate_mapping(yaml.safe_load(example), Path("README.md"), CODES_DIR)
    assert schema.partner_id == "relais_sante"
