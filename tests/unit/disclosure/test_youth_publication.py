"""The youth report's counts form one audited publication (issue « one audited publication path »).

The leak it closes: Tableau « Premier service rencontré » printed every count ≥ k, so a reader
with Tableau 1's cohort sizes recomputed the « < k » cells (670 − (193 + 188 + 103 + 183 + 0) = 3
young people first seen in a maison d'accueil; 3 001 − (1 086 + 304 + 677 + 924 + 8) = 2 adults
first seen in Housing First). The attack here is the independent integer reader of
``tests/support/integer_attacker.py``: it reads only the printed text and the identities.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from observatoire.config.paths import PATHS
from observatoire.config.settings import load_settings
from observatoire.disclosure.ledger import ledger_of
from observatoire.disclosure.youth import (
    YouthPublication,
    build_youth_tables,
    cohort_key,
    first_key,
    publish_youth,
    type_key,
    write_youth_tables,
)
from observatoire.reports.youth import charts as yc
from observatoire.reports.youth.report import count, individual_figures_allowed
from tests.support.integer_attacker import Reader

K = 5
YEAR = 2024
NNBSP = "\u202f"

# The 2024 sample's structure, by hand: cohort sizes, first services, the youth service paths.
RES: dict[str, Any] = {
    "cohort": {
        "youth": 670,
        "adults": 3001,
        "by_band": {"18–21 ans": 319, "22–25 ans": 351, "26 ans et plus": 3001},
        "street_only": {"jeunes": 103, "adultes": 677},
    },
    "typology": None,
    "survival": {},
}
FIRST = pd.DataFrame(
    {
        "dispositif": [
            "urgence_sociale",
            "hebergement_urgence",
            "travail_rue",
            "accueil_jour",
            "maison_accueil",
            "housing_first",
        ],
        "jeunes": [193, 188, 103, 183, 3, 0],
        "adultes": [1086, 304, 677, 924, 8, 2],
    }
)
PATHS_YOUTH = pd.DataFrame(
    [
        ("Hébergement d'urgence → Accueil de jour", 156),
        ("Urgence sociale seulement", 125),
        ("Travail de rue seulement", 103),
        ("Accueil de jour → Hébergement d'urgence", 85),
        ("Accueil de jour seulement", 70),
        ("Urgence sociale → Hébergement d'urgence", 53),
        ("Accueil de jour → Urgence sociale", 27),
        ("Hébergement d'urgence → Urgence sociale", 24),
        ("Urgence sociale → Accueil de jour", 12),
        ("Hébergement d'urgence seulement", 8),
        ("Urgence sociale → Maison d'accueil", 3),
        ("Maison d'accueil → Accueil de jour", 2),
        ("Accueil de jour → Housing First", 1),
        ("Maison d'accueil seulement", 1),
    ],
    columns=["path", "persons"],
)


def _frames(with_paths: bool = True) -> dict[str, pd.DataFrame]:
    frames = {"premiers_services": FIRST}
    if with_paths:
        frames["parcours_jeunes"] = PATHS_YOUTH.assign(share=PATHS_YOUTH["persons"] / 670)
    return frames


def _reader(texts: dict[str, pd.DataFrame], keys: dict[str, pd.DataFrame]) -> Reader:
    """A reader of the printed tables who knows what a reader of the report knows: Tableau 1's
    cohort sizes, that a first-service column sums to them, that the paths starting with a
    dispositif sum to its first-service count (the unprinted paths are 0 to k − 1)."""
    reader = Reader(k=K, ub=10_000)
    for name, text in texts.items():
        reader.read(text, keys[name])
    for g in ("jeunes", "adultes"):
        reader.identities.append((cohort_key(YEAR, g), list(keys["premiers_services"][g])))
    return reader


def _old_texts() -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """What the old code printed: each cell on its own (``count``), no secondary suppression."""
    cohort_keys = pd.DataFrame(
        {"personnes": [cohort_key(YEAR, "jeunes"), cohort_key(YEAR, "adultes")]}
    )
    cohort_text = pd.DataFrame({"personnes": [count(670, K), count(3001, K)]})
    first_keys = pd.DataFrame(
        {g: [first_key(YEAR, g, d) for d in FIRST["dispositif"]] for g in ("jeunes", "adultes")}
    )
    first_text = pd.DataFrame({g: [count(v, K) for v in FIRST[g]] for g in ("jeunes", "adultes")})
    return (
        {"cohorte": cohort_text, "premiers_services": first_text},
        {"cohorte": cohort_keys, "premiers_services": first_keys},
    )


def _new_texts(
    publication: YouthPublication, names: tuple[str, ...]
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], Reader]:
    texts, keys = {}, {}
    for name in names:
        table = publication.tables.get(name)
        texts[name] = publication.pub.text(table)
        keys[name] = table.keys
    reader = _reader(
        {n: t[["personnes"]] if n == "cohorte" else t for n, t in texts.items()},
        {n: k[["personnes"]] if n == "cohorte" else k for n, k in keys.items()},
    )
    return texts, keys, reader


def _small_cells(texts: dict[str, pd.DataFrame], keys: dict[str, pd.DataFrame]) -> list[str]:
    return [
        keys[name].iat[i, j]
        for name, text in texts.items()
        for i in range(text.shape[0])
        for j in range(text.shape[1])
        if text.iat[i, j] == f"< {K}"
    ]


def test_the_old_first_service_table_gave_its_small_cells_away() -> None:
    """The attack works: on what the old code printed, the reader recovers 3 and 2."""
    texts, keys = _old_texts()
    reader = _reader(texts, keys)
    assert reader.feasible_values(first_key(YEAR, "jeunes", "maison_accueil")) == {3}
    assert reader.feasible_values(first_key(YEAR, "adultes", "housing_first")) == {2}


@pytest.mark.parametrize("with_paths", [False, True])
def test_no_small_first_service_cell_can_be_recomputed_from_the_cohort_sizes(
    with_paths: bool,
) -> None:
    publication = publish_youth(YEAR, RES, _frames(with_paths), K)
    names = ("cohorte", "premiers_services")
    texts, keys, reader = _new_texts(publication, names)
    if with_paths:
        table = publication.tables.get("parcours_jeunes")
        reader.read(publication.pub.text(table), table.keys)
        for key in publication.tables.latent:  # unprinted paths: 0 to k − 1 persons
            reader.labels[key] = (0, K - 1)
        reader.identities += [
            (c.total, list(c.parts))
            for c in publication.tables.constraints
            # the reader's identities: a first service = its paths (the unprinted remainder of
            # each first service is the engine's own guarded count, not a printed total)
            if "|parcours=" in c.parts[0] and "|parcours_autres|" not in c.total
        ]
    small = _small_cells(texts, keys)
    assert first_key(YEAR, "jeunes", "maison_accueil") in small
    assert first_key(YEAR, "adultes", "housing_first") in small
    for key in small:
        assert reader.integer_range(key) == (1, K - 1), key
    assert publication.audit["protected"].all()


def test_each_first_service_column_adds_up_to_the_cohort_for_the_engine() -> None:
    tables = build_youth_tables(YEAR, RES, _frames(), K)
    for g in ("jeunes", "adultes"):
        column = set(tables.get("premiers_services").keys[g])
        assert any(
            c.total == cohort_key(YEAR, g) and set(c.parts) == column for c in tables.constraints
        )


def test_a_share_of_a_masked_count_is_masked_too() -> None:
    """Profile-like row: 3 of 670 (« < 5 ») and its complement: neither share nor base gives
    the count back."""
    row = {
        "indicator": "Housing First",
        "dispositif": "housing_first",
        "x_youth": 3,
        "n_youth": 670,
        "x_adults": 27,
        "n_adults": 3001,
        "p1": 3 / 670,
        "p2": 27 / 3001,
        "diff": 0.0,
        "lower": -0.01,
        "upper": 0.01,
        "pvalue": 0.5,
    }
    frames = _frames() | {"services_actives": pd.DataFrame([row])}
    publication = publish_youth(YEAR, RES, frames, K)
    from observatoire.reports.youth.report import comparison_rows

    keys = publication.tables.comparison_keys["services_actives"]
    (printed,) = comparison_rows(frames["services_actives"], K, publication, keys)
    assert printed["youth"] == printed["adults"] == "masqué"
    assert printed["diff"] == printed["ci"] == printed["p"] == "–"
    x, complement, base = keys[0]["jeunes"]
    assert publication.pub.cell_text(x) == "< 5"
    assert publication.pub.cell_text(complement) == "s"  # 670 − 667 would give 3 back
    assert publication.pub.cell_text(base) == "670"


def test_the_nationality_rows_add_up_to_the_cohort_and_hide_a_small_group() -> None:
    """Belges + UE + hors UE + inconnue = the cohort: with « Autres pays de l'UE » = 3, the
    other shares cannot all be printed (their sum would give the 3 back)."""

    def row(label: str, x: int, xa: int) -> dict[str, Any]:
        return {
            "indicator": label,
            "x_youth": x,
            "n_youth": 670,
            "x_adults": xa,
            "n_adults": 3001,
            "p1": x / 670,
            "p2": xa / 3001,
            "diff": 0.0,
            "lower": -0.01,
            "upper": 0.01,
            "pvalue": 0.5,
        }

    profile = pd.DataFrame(
        [
            row("Belges", 600, 1391),
            row("Autres pays de l'UE", 3, 352),
            row("Hors UE", 40, 459),
            row("Nationalité inconnue", 27, 799),
        ]
    )
    frames = _frames() | {"profil": profile}
    tables = build_youth_tables(YEAR, RES, frames, K)
    nationality = [c for c in tables.constraints if "|profil=hors_ue" in " ".join(c.parts)]
    nationality = [c for c in nationality if len(c.parts) == 4]
    assert {c.total for c in nationality} == {
        cohort_key(YEAR, "jeunes"),
        cohort_key(YEAR, "adultes"),
    }
    publication = publish_youth(YEAR, RES, frames, K)
    assert publication.audit["protected"].all()
    from observatoire.reports.youth.report import comparison_rows

    keys = publication.tables.comparison_keys["profil"]
    printed = comparison_rows(profile, K, publication, keys)
    assert printed[1]["youth"] == "masqué"
    assert sum(r["youth"] == "masqué" for r in printed) >= 2  # one more share hidden


def test_the_ledger_has_no_hidden_value(tmp_path: Path) -> None:
    publication = publish_youth(YEAR, RES, _frames(), K)
    written = write_youth_tables(publication, tmp_path)
    ledger = ledger_of({"jeunes-en-errance": publication.pub})
    assert list(ledger.columns) == ["key", "status", "value", "tables"]
    assert ledger.loc[ledger["status"] != "publie", "value"].isna().all()
    assert ledger["key"].str.startswith(f"jeunes|{YEAR}|").all()  # never the annual's keys
    assert ledger["tables"].str.startswith("jeunes-en-errance/").all()
    assert not (tmp_path / "cases_publiees.csv").exists()  # one ledger, by the stage
    first = pd.read_csv(tmp_path / "premiers_services.csv", dtype=str)
    assert "< 5" in set(first["jeunes"]) and "s" in set(first["jeunes"]) | set(first["adultes"])
    assert {p.name for p in written} >= {"cohorte.csv", "premiers_services.csv"}


def test_the_split_of_a_small_type_is_not_printed_but_protected() -> None:
    """A type of 8 (6 aged 18–21, 2 aged 22–25): its split is never printed; its parts are
    guarded unprinted counts, and the bands of Tableau 1 minus the printed splits of the other
    types do not give the 2 back."""
    res = RES | {"typology": {"k": 2}}
    types = pd.DataFrame(
        {
            "type": [1, 2],
            "persons": [662, 8],
            "share": [662 / 670, 8 / 670],
            "women": [0.3, 0.25],
            "band_18_21": [313 / 662, 6 / 8],
        }
    )
    publication = publish_youth(YEAR, res, _frames() | {"types": types}, K)
    assert publication.pub.cell_text(type_key(YEAR, 2)) == "8"
    ledger = set(publication.pub.ledger()["key"])
    assert not any(kk.startswith(type_key(YEAR, 2) + "|") for kk in ledger)
    assert type_key(YEAR, 2, "tranche=2225_ans") in publication.tables.guarded
    guarded = publication.audit[publication.audit["key"] == type_key(YEAR, 2, "tranche=2225_ans")]
    assert len(guarded) == 1 and bool(guarded["protected"].iat[0])
    # the band split of type 1 is published only if the audit allows it
    table = publication.tables.get("types_par_tranche")
    assert list(table.values.index) == ["1"]


# --------------------------------------------------------------------------------------------
# Individual-level charts
# --------------------------------------------------------------------------------------------


def _type_distribution(n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    shares = rng.dirichlet(np.ones(6), size=24)
    frame = pd.DataFrame(shares, columns=list(yc.STATES))
    frame.attrs["n"] = n
    return frame


def _drawn(ax: plt.Axes) -> bool:
    return bool(ax.patches) or bool(ax.images)


def test_a_type_below_the_minimum_gets_no_chronogram() -> None:
    dists = {"Grand type": _type_distribution(40, 1), "Petit type": _type_distribution(3, 2)}
    fig = yc.typology_chronograms(dists, min_size=5)
    big, small = fig.axes[:2]
    assert _drawn(big) and "40" in big.get_title(loc="left")
    assert not _drawn(small)
    assert "3" not in small.get_title(loc="left").replace("Type 2", "")  # its size is not printed
    assert any("non publié" in t.get_text() for t in small.texts)
    plt.close(fig)


def test_a_group_below_the_minimum_gets_no_index_plot() -> None:
    rng = np.random.default_rng(0)
    codes = {
        "Jeunes": rng.integers(0, 6, (30, 24)),
        "Petit groupe": rng.integers(0, 6, (3, 24)),
    }
    fig = yc.index_plot(codes, min_size=5)
    big, small = fig.axes[:2]
    assert big.images and not small.images
    assert "3" not in small.get_title(loc="left") + small.get_title()
    plt.close(fig)


def test_the_report_withholds_the_type_chronograms_of_a_small_type() -> None:
    res = RES | {"typology": {"k": 2}}
    types = pd.DataFrame(
        {
            "type": [1, 2],
            "persons": [667, 3],
            "share": [667 / 670, 3 / 670],
            "women": [0.3, 1 / 3],
            "band_18_21": [316 / 667, 1.0],
        }
    )
    publication = publish_youth(YEAR, res, _frames() | {"types": types}, K)
    assert publication.pub.cell_text(type_key(YEAR, 2)) == "< 5"
    ctx = {"year": YEAR, "min_type_size": 5, "typology": res["typology"]}
    allowed = individual_figures_allowed(ctx, publication, {"types": types})
    assert allowed["types"] is False
    assert allowed["tapis"] is True and allowed["chronogrammes"] is True


# --------------------------------------------------------------------------------------------
# On the real default outputs
# --------------------------------------------------------------------------------------------

COUNT_TABLES = {
    "tbl-cohorte": [1, 2],
    "tbl-premiers": [1, 2],
    "tbl-parcours": [1],
    "tbl-types": [1],
    "tbl-flux": [1, 3, 4, 5],
}
"""The count columns (0-based, the label column is 0) of the tables printing persons."""


def _tables_of(qmd: str) -> dict[str, list[list[str]]]:
    """The body rows of each captioned table of a rendered .qmd (header and rule dropped)."""
    out: dict[str, list[list[str]]] = {}
    label = None
    for line in qmd.splitlines():
        caption = re.match(r"^: .*\{#(tbl-[\w-]+)\}\s*$", line)
        if caption:
            label = caption.group(1)
            out[label] = []
        elif label and line.startswith("|"):
            out[label].append([c.strip() for c in line.strip().strip("|").split("|")])
        elif label and out[label] and not line.strip():
            label = None
    return {name: rows[2:] for name, rows in out.items()}


@pytest.fixture(scope="module")
def real() -> tuple[Any, str]:
    settings = load_settings()
    year = settings.report.year
    youth_dir = PATHS.youth(year)
    if not (youth_dir / "resultats.json").exists():
        pytest.skip(f"{youth_dir} absent : lancer l'étape youth")
    from observatoire.reports.common import report_template
    from observatoire.reports.youth.report import STEM, youth_context

    report = youth_context(settings, youth_dir)
    from observatoire.reports.youth.report import COPIED_FIGURES

    figures = dict.fromkeys((*COPIED_FIGURES, "ecarts", "flux", "transitions"), "x.png")
    qmd = report_template(f"{STEM}.qmd.j2").render(**report.names | {"figures": figures})
    return report, qmd


def test_every_count_printed_in_the_youth_report_is_published_or_masked(real) -> None:
    report, qmd = real
    pub: YouthPublication = report.pub
    k = pub.pub.k
    ledger = pub.pub.ledger()
    published = {
        f"{int(v):,}".replace(",", NNBSP) for v in ledger.loc[ledger["status"] == "publie", "value"]
    }
    masks = {f"< {k}", "s", "–", ""}
    tables = _tables_of(qmd)
    seen = 0
    for label, columns in COUNT_TABLES.items():
        for row in tables.get(label, []):
            for j in columns:
                cell = row[j]
                assert cell in published or cell in masks, (label, row)
                seen += 1
    for label in ("tbl-profil", "tbl-actives", "tbl-quittes", "tbl-sorties"):
        for row in tables.get(label, []):
            for cell in row[1:3]:
                base = re.search(r"\(([^)]*)\)$", cell)
                if base:
                    assert base.group(1) in published, (label, row)
                    seen += 1
                else:
                    assert cell == "masqué", (label, row)
    assert seen > 50
    assert pub.audit["protected"].all() or pub.audit["inevitable"].all()


def test_the_real_first_service_table_resists_the_reader(real) -> None:
    """Read from the rendered report itself: Tableau 1's cohort sizes and Tableau « Premier
    service rencontré », a column summing to its cohort size."""
    report, qmd = real
    k = report.names["k"]
    tables = _tables_of(qmd)
    cohort = tables["tbl-cohorte"]
    first = tables["tbl-premiers"]
    groups = ("jeunes", "adultes")
    sizes = {"jeunes": cohort[0][1], "adultes": cohort[-1][1]}
    text = pd.DataFrame(
        [[sizes[g] for g in groups], *[[r[1], r[2]] for r in first]], columns=list(groups)
    )
    keys = pd.DataFrame(
        [[f"cohorte|{g}" for g in groups], *[[f"{r[0]}|{g}" for g in groups] for r in first]],
        columns=list(groups),
    )
    reader = Reader(k=k, ub=100_000)
    reader.read(text, keys, row_total=0)
    small = [
        keys.iat[i, j] for i in range(1, len(text)) for j in range(2) if text.iat[i, j] == f"< {k}"
    ]
    assert small, "the 2024 sample has small first-service cells"
    for key in small:
        assert reader.integer_range(key) == (1, k - 1), key
