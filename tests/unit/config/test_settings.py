"""The typed settings: every key of params/pipeline.yaml is known, typed and checked at load."""

from __future__ import annotations

import ast
import copy
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from observatoire.cli import main
from observatoire.config.settings import (
    LinkageSettings,
    Settings,
    SettingsError,
    load_settings,
)
from observatoire.core.errors import ObservatoireError

ROOT = Path(__file__).resolve().parents[3]
PARAMS_FILE = ROOT / "params/pipeline.yaml"
RAW: dict[str, Any] = yaml.safe_load(PARAMS_FILE.read_text(encoding="utf-8"))
SRC = ROOT / "src/observatoire"
PARAMS_READ = re.compile(r"""(?<![.\w])params(\.get\(|\[["'])""")  # a key read; not coefficients
# a section of the params file read from a dict, whatever its name (« rep = p["report"] »)
SECTION_READ = re.compile(r"""(\[|\.get\()["'](inputs|ingest|validation|report)["']""")


def _params(**changes: Any) -> dict[str, Any]:
    """The project's params with ``a__b__c=value`` set (nested keys created as needed)."""
    params = copy.deepcopy(RAW)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        node = params
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value
    return params


def _leaves(data: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and not path.startswith(
            ("youth.bands", "youth.references", "report.population.communes")
        ):
            out += _leaves(value, f"{path}.")
        else:
            out.append(path)
    return out


def test_the_project_params_load_and_every_key_is_typed():
    settings = load_settings(PARAMS_FILE)
    assert settings.report.year == RAW["report"]["year"]
    assert settings.linkage.street_birth_year_gap == RAW["linkage"]["street_work"]["birth_year_gap"]
    assert settings.report.long_term.days == tuple(RAW["report"]["long_term"]["days"])
    assert settings.youth.bands["18–21 ans"] == (18, 21)
    assert settings.inputs.raw_dir == Path(RAW["inputs"]["raw_dir"])
    pop = RAW["report"]["population"]
    assert settings.report.population.total == sum(pop["communes"].values())
    for key in _leaves(RAW):  # every key of the file has a typed attribute
        node: Any = settings
        for part in key.split("."):
            node = getattr(node, part)
    assert settings.source == PARAMS_FILE


def test_a_population_needs_its_source_year_and_positive_inhabitants():
    pop = {"source": "Statbel", "year": 2024, "communes": {"A": 1000, "B": 500}}
    ok = Settings.from_mapping(_params(report__population=pop))
    assert ok.report.population.total == 1500 and ok.report.population.synthetic is False
    for broken in (
        {**pop, "communes": {"A": 0}},
        {**pop, "communes": {}},
        {k: v for k, v in pop.items() if k != "source"},
        {**pop, "habitants": 3},
    ):
        with pytest.raises(SettingsError):
            Settings.from_mapping(_params(report__population=broken))


def test_settings_are_frozen():
    settings = load_settings(PARAMS_FILE)
    with pytest.raises(ValueError):
        settings.report.year = 2000  # type: ignore[misc]


@pytest.mark.parametrize(
    "dotted",
    [
        "secret",  # top level
        "report__secret_k",  # a section
        "report__flows__secret_k",  # a sub-section
        "report__disclosure_time_limit_s",  # the wall-clock budget, replaced by a work budget
        "report__disclosure_search__time_limit_s",
        "linkage__street_work__gap",
        "linkage__targets__precison",
        "youth__typology__distanse",
        "youth__references__femmes__hommes",  # a published reference
        "sample__noise__name_variante",
        "inputs__raw",
    ],
)
def test_an_unknown_key_at_any_level_is_refused_naming_its_path(dotted: str):
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(_params(**{dotted: 1}))
    message = str(err.value)
    path = dotted.replace("__", ".")
    assert f"clé inconnue « {path} »" in message
    assert "params/pipeline.yaml" in message and "À faire" in message
    assert isinstance(err.value, ObservatoireError)


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("report__year", "2024", "attendu un nombre entier"),
        ("report__disclosure_threshold", 5.5, "attendu un nombre entier"),
        ("report__disclosure_search__nodes", 1.5, "attendu un nombre entier"),
        ("linkage__threshold", "haut", "attendu un nombre"),
        ("report__organisation", 12, "attendu un texte"),
        ("report__long_term__days", 180, "attendu une liste"),
        ("report__returns__months", [6, "douze"], "attendu un nombre entier"),
        ("report__flows", "730", "attendu un dictionnaire"),
        ("report__colour_primary", "bleu", "#RRVVBB"),
        ("report__winter_start", "1er novembre", "MM-JJ"),
        ("validation__max_quarantine_share", 1.5, "attendu au plus 1"),
        ("linkage__near_threshold", [0.2, 0.5, 0.9], "au plus 2 élément"),
        ("youth__bands__18–21 ans", [18, "21"], "attendu un nombre entier"),
    ],
)
def test_a_wrong_type_is_refused_naming_the_key(dotted: str, value: Any, expected: str):
    with pytest.raises(SettingsError) as err:
        Settings.from_mapping(_params(**{dotted: value}))
    message = str(err.value)
    assert f"« {dotted.replace('__', '.')}" in message
    assert expected in message


@pytest.mark.parametrize(
    ("dotted", "value", "expected"),
    [
        ("linkage__threshold", 1.0, "entre 0 et 1"),
        ("youth__follow_up_months", 18, "youth.follow_up_months"),
        ("youth__adults_from", 27, "youth.adults_from"),
        ("youth__typology__method", "single", "youth.typology.method"),
        ("youth__typology__k_min", 9, "k_min"),
        ("report__long_term__count", "jours", "valeurs admises : nuits, presence"),
    ],
)
def test_impossible_values_are_refused_in_french(dotted: str, value: Any, expected: str):
    with pytest.raises(SettingsError, match=expected):
        Settings.from_mapping(_params(**{dotted: value}))


def test_a_missing_required_key_or_section_is_named():
    params = _params()
    del params["report"]["year"]
    with pytest.raises(SettingsError, match="clé « report.year » absente"):
        Settings.from_mapping(params)
    del params["report"]
    with pytest.raises(SettingsError, match="clé « report » absente"):
        Settings.from_mapping(params)


def test_missing_optional_keys_take_the_model_defaults_once():
    """Only what the file leaves out comes from the model."""
    params = _params()
    for section in ("ingest", "validation", "linkage", "youth"):
        del params[section]
    del params["report"]["flows"]
    settings = Settings.from_mapping(params)
    full = load_settings(PARAMS_FILE)
    # the project file states the model's defaults: leaving them out changes nothing
    for section in ("ingest", "validation", "linkage"):
        assert getattr(settings, section) == getattr(full, section)
    # the published references are data, not defaults
    assert settings.youth == full.youth.model_copy(update={"references": {}})
    assert settings.report == full.report
    assert settings.report.flows.continuing_days == RAW["report"]["flows"]["continuing_days"]


@pytest.mark.parametrize("logo", ["", None])
def test_an_empty_logo_is_no_logo(logo: Any):
    assert Settings.from_mapping(_params(report__logo=logo)).report.logo is None
    assert load_settings(PARAMS_FILE).report.logo == Path(RAW["report"]["logo"])


def _typed_sources() -> list[Path]:
    """Every module of the stages, reports and notebooks, which all take the typed settings."""
    folders = ("core", "intake", "sample", "linkage", "indicators", "models", "youth")
    paths = [p for f in (*folders, "reports", "guard") for p in sorted((SRC / f).rglob("*.py"))]
    return [*paths, SRC / "cli.py", *sorted((ROOT / "notebooks").glob("*.py"))]


def test_no_stage_restates_a_default_with_get():
    """The stages, reports and notebooks read attributes, never ``params.get(key, default)``
    nor ``params["report"]``: the params are no dict anywhere."""
    assert PARAMS_READ.search('k = params.get("k", 5)')  # the check can see one
    assert PARAMS_READ.search("year = params['report']['year']")
    assert PARAMS_READ.search('    rep = params["report"]')
    assert not PARAMS_READ.search("b = result.params[1]")
    assert not PARAMS_READ.search('b = float(result.params["year_centered"])')
    assert SECTION_READ.search('rep = data.params["report"]')
    assert SECTION_READ.search("logo = cfg.get('report', {}).get('logo')")
    assert not SECTION_READ.search('flows = ind["flows"]')
    sources = _typed_sources()
    assert {
        "cli.py",
        "core/notebooks.py",
        "indicators/annual.py",
        "models/contract.py",
        "reports/quality.py",
        "youth/cohort.py",
    } <= {p.relative_to(SRC).as_posix() for p in sources if SRC in p.parents}
    assert {"indicateurs.py", "tendances.py", "jeunes.py"} <= {
        p.name for p in sources if p.parent.name == "notebooks"
    }
    offenders = [
        p.relative_to(ROOT).as_posix()
        for p in sources
        if PARAMS_READ.search(text := p.read_text(encoding="utf-8")) or SECTION_READ.search(text)
    ]
    assert not offenders
    assert not hasattr(Settings, "raw")  # no dict view of the settings for code to fall back on


def test_every_model_refuses_unknown_keys_and_is_frozen():
    tree = ast.parse((SRC / "config/settings.py").read_text(encoding="utf-8"))
    import observatoire.config.settings as module

    models = [
        getattr(module, node.name)
        for node in tree.body
        if isinstance(node, ast.ClassDef) and issubclass(getattr(module, node.name), BaseModel)
    ]
    assert len(models) > 15
    for model in models:
        assert model.model_config.get("extra") == "forbid", model.__name__
        assert model.model_config.get("frozen") is True, model.__name__


def test_the_unknown_key_check_can_fail():
    """The check is real: the same file with the key spelled right is accepted."""
    with pytest.raises(SettingsError):
        Settings.from_mapping(_params(report__disclosure_treshold=5))
    accepted = Settings.from_mapping(_params(report__disclosure_threshold=7))
    assert accepted.report.disclosure_threshold == 7


def test_the_linkage_section_alone_names_its_prefix():
    with pytest.raises(SettingsError, match="« linkage.treshold »"):
        LinkageSettings.from_params({"treshold": 0.5})
    assert LinkageSettings.from_params(None) == LinkageSettings()


def test_unreadable_or_missing_file_is_a_french_message(tmp_path: Path):
    with pytest.raises(SettingsError, match="introuvable"):
        load_settings(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("report: [\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="illisibles"):
        load_settings(bad)
    not_a_mapping = tmp_path / "list.yaml"
    not_a_mapping.write_text("- 1\n", encoding="utf-8")
    with pytest.raises(SettingsError, match="dictionnaire"):
        load_settings(not_a_mapping)


def test_the_cli_refuses_an_unknown_key_without_a_traceback(tmp_path: Path, capsys):
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        yaml.safe_dump(_params(report__secret_k=3), allow_unicode=True), encoding="utf-8"
    )
    assert main(["--params", str(path), "partners"]) == 2
    err = capsys.readouterr().err
    assert "report.secret_k" in err and str(path) in err and "À faire" in err
    assert "Traceback" not in err
