"""The published tables and report, read back as an outsider reads them.

Every CSV cell is named by the quantity key of the ledger (cases_publiees.csv): the same key in
two tables is the same number. The mapping from printed labels to keys is written out here, by
hand, rather than taken from the report code: a renamed label or a new table then fails loudly
instead of escaping the checks. The only package import is the vocabulary of
``observatoire.core.schema`` (the codes and their printed labels), never the code that builds or
protects the tables.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from observatoire.core.dispositifs import DISPOSITIFS
from observatoire.core.schema import EXIT_REASONS, NATIONALITY_GROUPS
from observatoire.disclosure.aggregates import WHOLE as AGGREGATE_WHOLE
from observatoire.disclosure.aggregates import aggregate_key

__all__ = [
    "AGE_ROWS",
    "COMBINATION_CODES",
    "DISPOSITIF_CODES",
    "FLOWS",
    "FLOW_COLUMNS",
    "LONG_STAY",
    "LONG_STAY_PARTS",
    "NATIONALITY_CODES",
    "NETWORK_ROW",
    "NO_KEY_TABLES",
    "OTHER_COMBINATIONS",
    "PROFILE_ROWS",
    "REASON_CODES",
    "SECONDARY_TEXT",
    "SEX_COLUMNS",
    "YOUTH_FOLDER",
    "Grid",
    "cell_key",
    "cell_texts",
    "check_published",
    "combination_key",
    "html_rows",
    "parse_number",
    "partner_labels",
    "plain_text",
    "quantity_key",
    "read_grids",
    "read_params",
    "read_partners",
]

NO_KEY_TABLES = {"cases_publiees", "chiffres_hebergement_urgence"}
DISPOSITIF_CODES = {label: code for code, label in DISPOSITIFS.items()}
NATIONALITY_CODES = {label: code for code, label in NATIONALITY_GROUPS.items()}
REASON_CODES = {label: code for code, label in EXIT_REASONS.items()}
AGE_ROWS = {"Moins de 18 ans": "<18", "65 ans et plus": "65+", "Âge inconnu": "inconnu"}
SEX_COLUMNS = {"hommes": "M", "femmes": "F", "sexe_inconnu_ou_X": "inconnu/X"}
FLOW_COLUMNS = {"nouveaux": "new", "continus": "continuing", "de_retour": "returning"}
FLOWS = ("new", "continuing", "returning")
NETWORK_ROW = "Réseau (personnes distinctes)"
SECONDARY_TEXT = "s"
PROFILE_ROWS = {"18-25 ans": "age=18-25", "âge estimé": "age_estime"}
YOUTH_FOLDER = "jeunes-en-errance"
"""The youth report's tables: a subfolder of the year's tables, cells in the same ledger."""
OTHER_COMBINATIONS = "Autres combinaisons"

# The report's pathways table: combinations of services d'urgence et de jour, a long stay
# (maison d'accueil, Housing First) never splitting a row; one row for « long stay only ».
LONG_STAY = "maison_accueil_ou_housing_first"
LONG_STAY_PARTS = ("maison_accueil", "housing_first")
COMBINATION_CODES = {**DISPOSITIF_CODES, "Maison d'accueil ou Housing First seulement": LONG_STAY}


def read_params(project: Path) -> dict[str, Any]:
    """The project's pipeline params (``params/pipeline.yaml``)."""
    return yaml.safe_load((project / "params/pipeline.yaml").read_text(encoding="utf-8"))


def read_partners(project: Path) -> dict[str, dict[str, Any]]:
    """Partner id → its mapping file (``params/partners/*.yaml``), as plain YAML: the partners
    whose records are persons (an export of contacts or refusals) — not the count-only partners
    (aggregate returns) nor the weather sources, which add no person to any count."""
    mappings = {
        p.stem: yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted((project / "params/partners").glob("*.yaml"))
    }
    return {
        pid: spec
        for pid, spec in mappings.items()
        if any(e.get("table", "contacts") in {"contacts", "refusals"} for e in spec["exports"])
    }


def quantity_key(what: str, year: int | str, *parts: str | None) -> str:
    """The ledger's key of a quantity: ``what|year|part|…`` (``what|year|reseau`` if no part)."""
    named = [p for p in parts if p]
    return "|".join([what, str(year), *named]) if named else f"{what}|{year}|reseau"


def combination_key(label: str) -> str:
    """The key part of a printed row of the pathways table (« A + B » or « autres »)."""
    if label == OTHER_COMBINATIONS:
        return "parcours=autres"
    return "parcours=" + "+".join(sorted(COMBINATION_CODES[p] for p in label.split(" + ")))


def cell_key(table: str, row: str, col: str, partner_ids: dict[str, str], year: int) -> str | None:
    """The quantity key of a printed cell (row label × column label) of ``table`` published for
    ``year``; None for a cell that is not a count (a mean beside the persons it is based on)."""
    y = year
    tot_r, tot_c = row == "Total", col == "total"

    def disp(label: str) -> str:
        return f"dispositif={DISPOSITIF_CODES[label]}"

    match table:
        case "personnes_par_annee":
            return quantity_key("personnes", row)
        case "personnes_par_dispositif":
            return quantity_key("personnes", col, None if row == NETWORK_ROW else disp(row))
        case "personnes_identifiees_et_travail_de_rue":
            if tot_r:
                return quantity_key("personnes", y)
            if row == "Travail de rue":
                return quantity_key("personnes", y, disp(row))
            return quantity_key("personnes", y, "identifies")
        case "personnes_par_dispositif_et_annee":
            return quantity_key("personnes", col, disp(row))
        case "personnes_par_partenaire":
            return quantity_key("personnes", col, f"partenaire={partner_ids[row]}")
        case "personnes_par_age_et_sexe":
            age = None if tot_r else f"age={AGE_ROWS.get(row, row)}"
            return quantity_key("personnes", y, age, None if tot_c else f"sexe={SEX_COLUMNS[col]}")
        case "personnes_par_nationalite":
            return quantity_key(
                "personnes", y, None if tot_r else f"nationalite={NATIONALITY_CODES[row]}"
            )
        case "sorties_par_motif":
            return quantity_key(
                "sorties", y, disp(row), None if tot_c else f"motif={REASON_CODES[col]}"
            )
        case "flux_par_annee":
            return quantity_key("personnes", row, None if tot_c else f"flux={FLOW_COLUMNS[col]}")
        case "flux_par_dispositif":
            return quantity_key(
                "personnes", y, disp(row), None if tot_c else f"flux={FLOW_COLUMNS[col]}"
            )
        case "nombre_de_dispositifs":
            return quantity_key("personnes", y, None if tot_r else f"nb_services={row}")
        case "combinaisons_de_dispositifs":
            return quantity_key("personnes", y, None if tot_r else combination_key(row))
        case "personnes_longue_duree":
            if row == "presents_fin_annee":
                return quantity_key("personnes", y, row)
            return quantity_key("personnes", y, f"longue_duree={row}")
        case "nouveaux_ancres_sur_l_entree":
            return quantity_key("personnes", y, "entrees", None if tot_r else row)
        case "housing_first_maintien":
            return quantity_key("housing_first", y, f"horizon={row}", None if tot_c else col)
        case "retours_apres_relogement":
            # one exit cohort followed over nested windows: one base at every horizon
            if tot_c:
                return quantity_key("retours", y, "cohorte")
            return quantity_key("retours", y, f"horizon={row}", col)
        case "personnes_par_mois":
            return quantity_key("personnes", row[:4], f"mois={row}", f"dispositif={col}")
        case "chiffres_du_profil":
            return quantity_key("personnes", y, PROFILE_ROWS[row])
        case "chiffres_de_la_liaison":
            if row.endswith("toute la période"):
                return quantity_key("personnes", y, "liaison=toute_la_periode")
            return quantity_key("personnes", y, f"liaison=fourchette_{row.rsplit(', ', 1)[1]}")
        case "imputations_de_la_liaison":
            # the bounds of the linkage-imputation interval of each scope
            scope = (
                "reseau"
                if row == NETWORK_ROW
                else DISPOSITIF_CODES.get(row, row)  # « dossiers_nominatifs » prints its code
            )
            return f"personnes|{y}|liaison_imputation={scope}|{col}"
        case str() if table.startswith("agregats_") and table.endswith("_comptages"):
            # a count-only partner's non-person counts: one row per measure, one column per year
            partner = table.removeprefix("agregats_").removesuffix("_comptages")
            return aggregate_key(int(col), partner, row)
        case str() if table.startswith("agregats_") and table.endswith("_personnes"):
            partner = table.removeprefix("agregats_").removesuffix("_personnes")
            return aggregate_key(y, partner, row, None if col == AGGREGATE_WHOLE else col)
        case "duree_dans_les_services":
            # the persons present in a service are its persons: the same quantity key
            return quantity_key("personnes", y, disp(row)) if col == "personnes" else None
    raise AssertionError(f"tableau publié « {table} » inconnu du lecteur : étendez cell_key")


@dataclass(frozen=True)
class Grid:
    """One published table: the printed text and the quantity key of every cell."""

    name: str
    text: pd.DataFrame
    keys: pd.DataFrame
    total_row: str | None
    total_col: str | None


def read_grids(tables: Path, partner_ids: dict[str, str], year: int) -> list[Grid]:
    """Every keyed CSV table of ``tables`` (the tables published for ``year``), as grids."""
    grids = []
    for path in sorted(tables.glob("*.csv")):
        if path.stem in NO_KEY_TABLES:
            continue
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        text = frame.set_index(frame.columns[0])
        text.index = text.index.astype(str)
        keys = pd.DataFrame(
            [
                [cell_key(path.stem, r, c, partner_ids, year) for c in text.columns]
                for r in text.index
            ],
            index=text.index,
            columns=text.columns,
        )
        grids.append(
            Grid(
                path.stem,
                text,
                keys,
                "Total" if "Total" in text.index else None,
                "total" if "total" in text.columns else None,
            )
        )
    return grids


def partner_labels(partners: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Printed partner label → partner id (the table prints a code, a service or a name)."""
    labels = {}
    for pid, spec in partners.items():
        for label in (pid, DISPOSITIFS.get(pid), spec.get("name")):
            if label:
                labels[label] = pid
    return labels


def parse_number(text: str) -> float:
    """A French number as printed (« 1 234 », « 93,4 % »)."""
    for ch in ("\u202f", "\u00a0", " ", "%"):
        text = text.replace(ch, "")
    return float(text.replace(",", ".").replace("\u2212", "-"))


def cell_texts(grids: list[Grid]) -> dict[str, str]:
    """Quantity key → printed text (as first printed: see the ledger test for the others)."""
    out: dict[str, str] = {}
    for g in grids:
        for r in g.text.index:
            for c in g.text.columns:
                key, text = g.keys.loc[r, c], g.text.loc[r, c]
                if key is not None:
                    out.setdefault(key, text)
    return out


def check_published(cells: dict[str, str], key: str, true: int, k: int) -> None:
    """A published count equals the recount; « < k » hides a true 1…k−1; « s » is hidden; and a
    true 1…k−1 is never printed."""
    assert key in cells, f"« {key} » absent des tableaux (recompté : {true})"
    text = cells[key]
    if text == f"< {k}":
        assert 1 <= true <= k - 1, (key, text, true)
    elif text != SECONDARY_TEXT:
        assert parse_number(text) == true, (key, text, true)
    if 1 <= true <= k - 1:
        assert text == f"< {k}", (key, text, true)


def plain_text(html_text: str) -> str:
    """The text of some HTML, tags dropped, spaces collapsed (narrow no-break spaces kept)."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", html_text))
    return re.sub(r"[ \t\r\n]+", " ", text).replace("’", "'").strip()


def html_rows(report: str, table_id: str) -> list[list[str]]:
    """The body rows of the report's table ``table_id``, as lists of cell texts."""
    table = report[report.index(f'id="{table_id}"') :]
    body = table[: table.index("</table>")]
    body = body[body.index("<tbody>") :]
    return [
        [plain_text(cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, flags=re.S)]
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body, flags=re.S)
    ]
