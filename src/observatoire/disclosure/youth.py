"""The youth report's counts of persons as one audited publication.

Why: the youth report used to print each count through a cell-by-cell rule (« < k » from 1 to
k − 1) with no secondary suppression, so a reader could recompute a small cell from the others
(Tableau « Premier service rencontré »: 670 − (193 + 188 + 103 + 183 + 0) = 3 young people first
seen in a maison d'accueil, the cohort size coming from Tableau 1). Here every count the report
prints — cohort sizes, age bands, street-only persons, first services, service paths, the counts
behind each share of a comparison (numerator, complement, base), type sizes, the yearly flows, the
bases of the survival curves — is registered as a :class:`CountTable` cell with a *quantity key*
(``jeunes|<year>|<group>|…``), with the identities a reader knows (a first-service column sums to
the cohort size, the bands to the youth total, numerator + complement = base, the types to the
cohort…); :func:`publish_youth` protects them with :func:`protect` (primary and audited secondary
suppression) and checks them with :func:`audit`. The report prints every count with
:meth:`Publication.cell_text`, and a share only when its numerator, complement and base are all
published (:func:`share_hidden`): a share of a known base reveals its count.

The keys start with ``jeunes|`` so that they never collide with the annual report's keys
(``personnes|…``): the youth cohort, the flows of young people and the persons of the annual
report are different quantities, even where the words are alike.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.dispositifs import DISPOSITIFS, SHELTER, STREET_WORK
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.disclosure.publication import SHARED_WITH_YOUTH, count_table, restore_tables
from observatoire.disclosure.publication import key as annual_key
from observatoire.disclosure.suppression import (
    DEFAULT_BUDGET,
    PUBLISHED,
    Budget,
    Constraint,
    CountTable,
    Publication,
    audit,
    protect,
)
from observatoire.youth.cohort import ADULTS, YOUTH

__all__ = [
    "GROUPS",
    "INPUT_TABLES",
    "TOTAL",
    "YouthPublication",
    "YouthTables",
    "build_youth_tables",
    "cohort_key",
    "comparison_keys",
    "first_key",
    "key",
    "path_key",
    "shelter_exit_key",
    "publish_youth",
    "read_youth_inputs",
    "restore_youth",
    "share_hidden",
    "slug",
    "small_base",
    "split_published",
    "type_key",
    "users_key",
    "write_youth_tables",
]

GROUPS = (YOUTH, ADULTS)
TOTAL = "Total"
PREFIX = "jeunes"

NATIONALITY_ROWS = ("Belges", "Autres pays de l'UE", "Hors UE", "Nationalité inconnue")
"""The profile's nationality rows (``observatoire.youth.study``): together, the whole cohort."""

INPUT_TABLES = (
    "profil",
    "profil_actifs",
    "sensibilite_typologie",
    "services_actives",
    "services_quittes",
    "sorties_de_sejour",
    "premiers_services",
    "types",
    "flux",
    f"parcours_{YOUTH}",
    f"parcours_{ADULTS}",
    f"combinaisons_{YOUTH}",
)
"""The study's CSV tables (``outputs/youth/<year>/``) the youth report prints or counts."""

COMPARISONS = (
    "profil",
    "profil_actifs",
    "services_actives",
    "services_quittes",
    "sorties_de_sejour",
)
"""The youth-vs-adults tables: each row prints a share and its base for both groups. The
profile of the entry cohort and that of the persons active in the report year are two tables
(two populations: a share of one never sits beside a share of the other)."""
DESTINATION_CODES = ("1", "2", "3")
"""Destinations on leaving the shelter (``observatoire.youth.competing``): housing, another
service, nothing."""


def slug(text: str) -> str:
    """A key-safe ASCII form of a label (« Âge estimé… » → ``age_estime…``)."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


def key(year: int, group: str, *parts: str) -> str:
    """``jeunes|2024|jeunes|dispositif=abri``: a count of the youth report (``group`` is the
    cohort group, or ``actifs`` for the yearly flows)."""
    return "|".join([PREFIX, str(year), group, *parts])


def cohort_key(year: int, group: str) -> str:
    return key(year, group, "cohorte")


def users_key(year: int, group: str, dispositif: str) -> str:
    """Persons of the cohort who used a dispositif in their follow-up (the numerator of « services
    activés », the base of « services quittés »)."""
    return key(year, group, f"dispositif={dispositif}")


def first_key(year: int, group: str, dispositif: str) -> str:
    return key(year, group, f"premier={dispositif}")


def path_key(year: int, group: str, path: str) -> str:
    return key(year, group, f"parcours={slug(path)}")


def type_key(year: int, t: int, *parts: str) -> str:
    return key(year, YOUTH, f"type={int(t)}", *parts)


def _base_key(year: int, group: str, table: str, row: pd.Series, n: int, cohort: int) -> str:
    """The base of a comparison row: the cohort when it is the cohort, the users of the
    dispositif in « services quittés », the stays ended in « sorties de séjour »."""
    if table == "services_quittes":
        return users_key(year, group, str(row["dispositif"]))
    if table == "sorties_de_sejour":
        return key(year, group, "sejours_termines", f"dispositif={row['dispositif']}")
    if table == "profil_actifs":
        # the young actives are the annual report's 18–25 year olds of the year: its key, so
        # the ledger holds one number for both reports (a mismatch stops the publication)
        return annual_key(year, "age=18-25") if group == YOUTH else key(year, group, "actifs")
    if n == cohort:
        return cohort_key(year, group)
    return key(year, group, f"base={slug(row['indicator'])}")


def _x_key(year: int, group: str, table: str, row: pd.Series) -> str:
    if table == "services_actives":
        return users_key(year, group, str(row["dispositif"]))
    if table == "services_quittes":
        return key(year, group, f"dispositif={row['dispositif']}", f"mesure={row['measure']}")
    if table == "sorties_de_sejour":
        return key(
            year, group, "sejours_termines", f"dispositif={row['dispositif']}",
            f"motif={row['measure']}",
        )  # fmt: skip
    if table == "profil_actifs":
        return key(year, group, "actifs", f"profil={slug(row['indicator'])}")
    return key(year, group, f"profil={slug(row['indicator'])}")


def shelter_exit_key(year: int, group: str, part: str) -> str:
    """Persons of the shelter base by how their first shelter spell ended: ``destination=1..3``
    (housing, another service, nothing), ``censure`` (still there at the end of the data),
    ``3j|destination=…`` (left within the primary outcome's days), ``principale`` (the primary
    outcome's numerator), ``principale|complement``, ``principale|base``."""
    return key(year, group, "sortie_abri", part)


def comparison_keys(
    year: int, table: str, row: pd.Series, cohort: dict[str, int]
) -> dict[str, tuple[str, str, str]]:
    """(numerator, complement, base) keys of one comparison row, per group."""
    out = {}
    for group, suffix in ((YOUTH, "youth"), (ADULTS, "adults")):
        n = int(row[f"n_{suffix}"])
        x = _x_key(year, group, table, row)
        out[group] = (x, f"{x}|complement", _base_key(year, group, table, row, n, cohort[group]))
    return out


@dataclass(frozen=True)
class YouthTables:
    """The youth report's count tables and what a reader knows of them."""

    year: int
    tables: list[CountTable]
    constraints: list[Constraint]
    latent: dict[str, float] = field(default_factory=dict)
    """Service paths of fewer than k persons: not printed, but a reader knows they exist (the
    first service of a path is printed) and that each counts 0 to k − 1."""
    unprinted: dict[str, float] = field(default_factory=dict)
    """The split of a type too small to print it (:func:`split_published`)."""
    keep: frozenset[str] = frozenset()
    guarded: frozenset[str] = frozenset()
    """Unprinted counts protected like « < k » cells when they count 1 to k − 1."""
    comparison_keys: dict[str, list[dict[str, tuple[str, str, str]] | None]] = field(
        default_factory=dict
    )

    def get(self, name: str) -> CountTable:
        for t in self.tables:
            if t.name == name:
                return t
        raise KeyError(name)

    def has(self, name: str) -> bool:
        return any(t.name == name for t in self.tables)


@dataclass(frozen=True)
class YouthPublication:
    """The protected youth publication, its tables and the audit (every small cell protected)."""

    tables: YouthTables
    pub: Publication
    audit: pd.DataFrame

    def text(self, key: Any) -> str:
        """The printed text of a count: « < k », « s » or the French number (« – » if none)."""
        return self.pub.cell_text(key) if isinstance(key, str) else "–"

    def hidden(self, key: Any) -> bool:
        return not isinstance(key, str) or self.pub.hidden(key)

    def value(self, key: Any) -> float:
        """The published value of a count, NaN when hidden (what a chart may draw)."""
        return float("nan") if self.hidden(key) else float(self.pub.values[key])


def _cohort_tables(year: int, res: dict[str, Any]) -> tuple[list[CountTable], list[Constraint]]:
    coh = res["cohort"]
    street = coh.get("street_only", {})
    rows = list(GROUPS)
    values = pd.DataFrame(
        {
            "personnes": [coh["youth"], coh["adults"]],
            "travail_rue_seulement": [street.get(g, 0) for g in rows],
        },
        index=rows,
    )
    keys = pd.DataFrame(
        {
            "personnes": [cohort_key(year, g) for g in rows],
            "travail_rue_seulement": [key(year, g, "travail_rue_seulement") for g in rows],
        },
        index=rows,
    )
    tables = [count_table("cohorte", "Cohorte d'entrée", values, keys)]
    constraints = []
    bands = {b: n for b, n in sorted(coh["by_band"].items()) if not b.startswith("26")}
    if bands:
        bvalues = pd.DataFrame({"personnes": list(bands.values())}, index=list(bands))
        bkeys = pd.DataFrame(
            {"personnes": [key(year, YOUTH, f"tranche={slug(b)}") for b in bands]},
            index=list(bands),
        )
        bvalues.loc[TOTAL] = coh["youth"]
        bkeys.loc[TOTAL] = cohort_key(year, YOUTH)
        tables.append(
            count_table(
                "cohorte_par_tranche",
                "Jeunes de la cohorte par tranche d'âge",
                bvalues,
                bkeys,
                row_total=TOTAL,
            )
        )
    return tables, constraints


def _first_services(year: int, frame: pd.DataFrame) -> tuple[CountTable | None, list[Constraint]]:
    if frame.empty:
        return None, []
    rows = [str(d) for d in frame["dispositif"]]
    labels = [DISPOSITIFS.get(d, d) for d in rows]  # the rows as the report names them
    values = frame.set_index("dispositif")[list(GROUPS)]
    values.index = labels
    keys = pd.DataFrame({g: [first_key(year, g, d) for d in rows] for g in GROUPS}, index=labels)
    # a reader adds a column and compares it with Tableau 1's cohort size
    constraints = [Constraint(total=cohort_key(year, g), parts=tuple(keys[g])) for g in GROUPS]
    table = count_table("premiers_services", "Premier service rencontré", values, keys)
    return table, constraints


def _paths(
    year: int, frame: pd.DataFrame, first: pd.DataFrame, k: int
) -> tuple[CountTable | None, list[Constraint], dict[str, float], dict[str, float]]:
    """Paths of k persons or more, in a fixed order (first dispositif, then size is never used:
    a masked cell printed between two numbers would say it lies between them). Smaller paths
    are latent; a reader knows that the paths starting with a dispositif sum to its
    first-service count, so the persons of the unprinted paths of each first service (first
    service − printed paths) are a count of their own: unprinted, guarded like a « < k » cell
    (the last return value), so that it is never left exact at 1 to k − 1."""
    if frame.empty:
        return None, [], {}, {}
    label_of = {v: d for d, v in DISPOSITIFS.items()}
    order = {d: i for i, d in enumerate(DISPOSITIFS)}

    def start(path: str) -> str:
        head = re.split(r" → | seulement", path)[0].strip()
        return label_of.get(head, head)

    def rank(path: str) -> tuple:
        parts = [p.replace(" seulement", "").strip() for p in path.split(" → ")]
        return tuple(order.get(label_of.get(p, p), len(order)) for p in parts) + (
            (-1,) if "seulement" in path else ()
        )

    frame = frame.assign(start=[start(p) for p in frame["path"]])
    listed = frame[frame["persons"] >= k].copy()
    listed = listed.iloc[sorted(range(len(listed)), key=lambda i: rank(listed["path"].iat[i]))]
    values = pd.DataFrame({"personnes": listed["persons"].to_numpy()}, index=list(listed["path"]))
    keys = pd.DataFrame(
        {"personnes": [path_key(year, YOUTH, p) for p in listed["path"]]}, index=values.index
    )
    latent = {
        path_key(year, YOUTH, p): float(n)
        for p, n in zip(frame["path"], frame["persons"], strict=True)
        if n < k
    }
    constraints = []
    others: dict[str, float] = {}
    firsts = set(first["dispositif"]) if not first.empty else set()
    for d, group in frame.groupby("start"):
        if d in firsts:
            parts = tuple(path_key(year, YOUTH, p) for p in group["path"])
            constraints.append(Constraint(total=first_key(year, YOUTH, d), parts=parts))
            small = [
                path_key(year, YOUTH, p)
                for p in group["path"]
                if path_key(year, YOUTH, p) in latent
            ]
            if small:
                rest = key(year, YOUTH, "parcours_autres", f"premier={d}")
                others[rest] = float(sum(latent[x] for x in small))
                constraints.append(Constraint(total=rest, parts=tuple(small)))
    if firsts and set(frame["start"]) <= firsts:
        parts = tuple(path_key(year, YOUTH, p) for p in frame["path"])
        constraints.append(Constraint(total=cohort_key(year, YOUTH), parts=parts))
    table = count_table("parcours_jeunes", "Parcours des jeunes", values, keys)
    return table, constraints, latent, others


def small_base(row: pd.Series, k: int) -> bool:
    """A comparison row whose base, for either group, counts 1 to k − 1 persons: the row is not
    printed at all (a share of so few persons describes them one by one)."""
    return any(0 < int(row[f"n_{s}"]) < k for s in ("youth", "adults"))


def _comparison(
    year: int, name: str, frame: pd.DataFrame, cohort: dict[str, int], k: int
) -> tuple[CountTable | None, list[Constraint], list[dict[str, tuple[str, str, str]] | None]]:
    """A comparison table as counts: per group, the numerator, its complement and the base.
    Rows with a small base (:func:`small_base`) are left out (keys ``None``)."""
    if frame.empty:
        return None, [], []
    cols = [f"{g}_{c}" for g in GROUPS for c in ("oui", "non", "base")]
    vals, keys, constraints = [], [], []
    all_keys: list[dict[str, tuple[str, str, str]] | None] = []
    index = []
    for _, row in frame.iterrows():
        if small_base(row, k):
            all_keys.append(None)
            continue
        index.append(str(row["indicator"]))
        ks = comparison_keys(year, name, row, cohort)
        all_keys.append(ks)
        v, kk = [], []
        for group, suffix in ((YOUTH, "youth"), (ADULTS, "adults")):
            x, n = int(row[f"x_{suffix}"]), int(row[f"n_{suffix}"])
            v += [x, n - x, n]
            kk += list(ks[group])
            constraints.append(Constraint(total=ks[group][2], parts=ks[group][:2]))
        vals.append(v)
        keys.append(kk)
    if not vals:
        return None, [], all_keys
    table = count_table(
        name,
        name.replace("_", " "),
        pd.DataFrame(vals, index=index, columns=cols),
        pd.DataFrame(keys, index=index, columns=cols),
    )
    return table, constraints, all_keys


def split_published(persons: float, k: int) -> bool:
    """Whether the split of a type (women / others, 18–21 / 22–25) is printed: a type of fewer
    than 2k − 1 persons always has a part of 0 or of 1 to k − 1, so its split is never printed
    (its parts are unprinted counts that the audit still protects)."""
    return persons >= 2 * k - 1


def _types(
    year: int, frame: pd.DataFrame, res: dict[str, Any], k: int
) -> tuple[list[CountTable], list[Constraint], dict[str, float], set[str]]:
    """Type sizes (their total is the youth cohort), and the split of each type of at least
    2k − 1 persons by age band and by sex (:func:`split_published`). A reader knows that each
    split adds up to its type, and that the splits of all types add up to the bands of Tableau 1
    and to the women of the profile (same keys): the parts of the small types are unprinted,
    guarded counts in those identities. Returns the tables, identities, unprinted counts and
    guarded keys."""
    if frame.empty:
        return [], [], {}, set()
    rows = [str(int(t)) for t in frame["type"]]
    persons = frame["persons"].astype(int).to_numpy()
    sizes = pd.DataFrame({"personnes": persons}, index=rows)
    size_keys = pd.DataFrame({"personnes": [type_key(year, t) for t in rows]}, index=rows)
    sizes.loc[TOTAL] = int(persons.sum())
    size_keys.loc[TOTAL] = cohort_key(year, YOUTH)
    tables = [
        count_table("types", "Types de trajectoires des jeunes", sizes, size_keys, row_total=TOTAL)
    ]
    bands = sorted(b for b in res["cohort"]["by_band"] if not b.startswith("26"))
    young = (frame["band_18_21"] * frame["persons"]).round().astype(int).to_numpy()
    women = (frame["women"] * frame["persons"]).round().astype(int).to_numpy()
    splits: list[tuple[str, str, list[str], list[str], Any, list[str | None]]] = []
    if len(bands) == 2:
        splits.append(
            (
                "types_par_tranche",
                "Types de trajectoires par tranche d'âge",
                [f"tranche={slug(b)}" for b in bands],
                list(bands),
                young,
                [key(year, YOUTH, f"tranche={slug(b)}") for b in bands],
            )
        )
    splits.append(
        (
            "types_par_sexe",
            "Types de trajectoires : femmes et autres",
            ["femmes", "autres"],
            ["femmes", "autres"],
            women,
            [key(year, YOUTH, "profil=femmes"), None],
        )
    )
    constraints: list[Constraint] = []
    unprinted: dict[str, float] = {}
    guarded: set[str] = set()
    for name, title, parts, labels, first, totals in splits:
        big = [i for i, n in enumerate(persons) if split_published(n, k)]
        values = pd.DataFrame(
            {labels[0]: first[big], labels[1]: persons[big] - first[big]},
            index=[rows[i] for i in big],
        )
        keys = pd.DataFrame(
            {
                lab: [type_key(year, rows[i], part) for i in big]
                for lab, part in zip(labels, parts, strict=True)
            },
            index=values.index,
        )
        if big:
            tables.append(count_table(name, title, values, keys))
        for i, t in enumerate(rows):
            pair = (type_key(year, t, parts[0]), type_key(year, t, parts[1]))
            constraints.append(Constraint(total=type_key(year, t), parts=pair))
            if i not in big:
                unprinted[pair[0]] = float(first[i])
                unprinted[pair[1]] = float(persons[i] - first[i])
                guarded |= set(pair)
        for j, total in enumerate(totals):
            if total is not None:
                column = tuple(type_key(year, t, parts[j]) for t in rows)
                constraints.append(Constraint(total=total, parts=column))
    return tables, constraints, unprinted, guarded


FLOW_COLUMNS = {"new": "nouveaux", "continuing": "continus", "returning": "de_retour"}


def _flows(year: int, frame: pd.DataFrame) -> tuple[CountTable | None, list[Constraint]]:
    """Young people active each year; new + continuing + returning = active, for the years whose
    status can be told (the others print « – », no count)."""
    if frame.empty:
        return None, []
    rows = [str(int(y)) for y in frame["year"]]
    cols = ["jeunes", *FLOW_COLUMNS.values()]
    values = pd.DataFrame(index=rows, columns=cols, dtype="float64")
    keys = pd.DataFrame(index=rows, columns=cols, dtype=object)
    constraints = []
    for y, (_, r) in zip(rows, frame.iterrows(), strict=True):
        values.loc[y, "jeunes"] = r["youth"]
        # the annual report's 18–25 year olds of that year (same rule, same key)
        keys.loc[y, "jeunes"] = annual_key(int(y), "age=18-25")
        calculable = all(r[c] == r[c] for c in FLOW_COLUMNS)
        for c, label in FLOW_COLUMNS.items():
            if calculable:
                values.loc[y, label] = r[c]
                keys.loc[y, label] = key(year, "actifs", f"annee={y}", f"flux={label}")
            else:
                keys.loc[y, label] = None
        if calculable:
            parts = tuple(keys.loc[y, label] for label in FLOW_COLUMNS.values())
            constraints.append(Constraint(total=keys.loc[y, "jeunes"], parts=parts))
    return count_table("flux", "Jeunes actifs chaque année", values, keys), constraints


def _survival(
    year: int, res: dict[str, Any], cohort: dict[str, int], users: dict[str, float]
) -> CountTable | None:
    """The bases of the survival curves: the cohort (network) and the shelter's users in their
    follow-up, the same persons as Tableau « services quittés » (same key when the same
    number)."""
    surv = res.get("survival") or {}
    if not surv:
        return None
    rows = sorted(surv)
    values = pd.DataFrame(
        {g: [surv[r]["n"].get(g, 0) for r in rows] for g in GROUPS}, index=rows, dtype="float64"
    )

    def k_of(r: str, g: str) -> str:
        n = surv[r]["n"].get(g, 0)
        if r == "reseau" and n == cohort[g]:
            return cohort_key(year, g)  # the whole cohort, as in Tableau 1
        shelter = users_key(year, g, SHELTER)
        if r == "abri_nuit" and users.get(shelter) == n:
            return shelter  # the shelter's users, as in « services quittés »
        return key(year, g, f"survie={r}")

    keys = pd.DataFrame({g: [k_of(r, g) for r in rows] for g in GROUPS}, index=rows)
    return count_table("survie", "Personnes suivies (courbes de décrochage)", values, keys)


def _shelter_exits(
    year: int, res: dict[str, Any], base_keys: dict[str, str]
) -> tuple[list[CountTable], list[Constraint]]:
    """Where the shelter's users went on leaving it (whole observation, and within the
    primary outcome's days), and the primary outcome's numerator, complement and base. A reader
    knows that destinations + censored = the shelter base, that the exits within the primary
    days add up to its numerator, and numerator + complement = base."""
    shelter = (res.get("survival") or {}).get("abri_nuit") or {}
    comp = (shelter.get("competing") or {}).get("groups") or {}
    primary = shelter.get("primary")
    if not comp or primary is None or set(comp) != set(GROUPS):
        return [], []
    cols = [f"destination={c}" for c in DESTINATION_CODES] + ["censure"]
    values = pd.DataFrame(
        {
            g: [comp[g]["exits"][c] for c in DESTINATION_CODES] + [comp[g]["censored"]]
            for g in GROUPS
        },
        index=cols,
        dtype="float64",
    )
    keys = pd.DataFrame(
        {g: [shelter_exit_key(year, g, c) for c in cols] for g in GROUPS}, index=cols
    )
    early_rows = [f"3j|destination={c}" for c in DESTINATION_CODES]
    early = pd.DataFrame(
        {g: [comp[g]["exits_primary"][c] for c in DESTINATION_CODES] for g in GROUPS},
        index=early_rows,
        dtype="float64",
    )
    early_keys = pd.DataFrame(
        {g: [shelter_exit_key(year, g, r) for r in early_rows] for g in GROUPS}, index=early_rows
    )
    prim_rows = ["principale", "principale|complement"]
    suffix = {YOUTH: "youth", ADULTS: "adults"}
    prim = pd.DataFrame(
        {
            g: [
                primary[f"x_{suffix[g]}"],
                primary[f"n_{suffix[g]}"] - primary[f"x_{suffix[g]}"],
            ]
            for g in GROUPS
        },
        index=prim_rows,
        dtype="float64",
    )
    prim_keys = pd.DataFrame(
        {g: [shelter_exit_key(year, g, r) for r in prim_rows] for g in GROUPS}, index=prim_rows
    )
    constraints = []
    for g in GROUPS:
        base = base_keys.get(g)
        n_primary = primary[f"n_{suffix[g]}"]
        if base is not None and comp[g]["n"] == n_primary:
            constraints.append(Constraint(total=base, parts=tuple(keys[g])))
            constraints.append(Constraint(total=base, parts=tuple(prim_keys[g])))
        constraints.append(
            Constraint(total=prim_keys.loc["principale", g], parts=tuple(early_keys[g]))
        )
    tables = [
        count_table("sorties_abri", "Sorties de l'abri de nuit par destination", values, keys),
        count_table(
            "sorties_abri_3j",
            "Sorties de l'abri de nuit dans les premiers jours",
            early,
            early_keys,
        ),
        count_table("issue_principale", "Issue principale", prim, prim_keys),
    ]
    return tables, constraints


def _street_identities(year: int, tables: list[CountTable]) -> list[Constraint]:
    """Street work is never linked to the other services: a person seen by street work is seen
    only there and starts there, so street-only persons, street-work users and first seen in
    street work are one number (the report prints it three times)."""
    values: dict[str, float] = {}
    for t in tables:
        for _, _, kk, v in t.cells():
            if kk is not None:
                values[kk] = v
    out = []
    for g in GROUPS:
        same = [
            key(year, g, "travail_rue_seulement"),
            users_key(year, g, STREET_WORK),
            first_key(year, g, STREET_WORK),
        ]
        present = [s for s in same if s in values]
        for other in present[1:]:
            if values[other] == values[present[0]]:
                out.append(Constraint(total=present[0], parts=(other,)))
    return out


def _nationality_identities(
    year: int, frame: pd.DataFrame, cohort: dict[str, int], k: int
) -> list[Constraint]:
    """The nationality rows of the profile partition the cohort (every person has one group,
    « inconnue » included): a reader adds them up. Declared when the rows are all there, on the
    cohort, and add up to it."""
    if frame.empty:
        return []
    rows = frame[frame["indicator"].isin(NATIONALITY_ROWS)]
    if len(rows) != len(NATIONALITY_ROWS) or any(small_base(r, k) for _, r in rows.iterrows()):
        return []
    out = []
    for group, suffix in ((YOUTH, "youth"), (ADULTS, "adults")):
        if (rows[f"n_{suffix}"] == cohort[group]).all() and (
            int(rows[f"x_{suffix}"].sum()) == cohort[group]
        ):
            parts = tuple(_x_key(year, group, "profil", r) for _, r in rows.iterrows())
            out.append(Constraint(total=cohort_key(year, group), parts=parts))
    return out


def _headline_keys(year: int, tables: list[CountTable]) -> frozenset[str]:
    """Figures secondary suppression never takes (it hides other cells instead; a small one is
    still « < k »): the cohort sizes, the street-only persons (printed in Tableau 1 and, under
    other words, in the profile: hiding them would not hold). Type sizes are not kept: with the
    sizes of the large types printed, the small ones sum to a known number, each « s » is at
    least k, and a « < k » part of a small type would be narrowed (2024: type 3 = 8 = « s » +
    « < k » with types 3 to 5 summing to 18 gives « < k » ≤ 3)."""
    keys = {cohort_key(year, g) for g in GROUPS}
    keys |= {key(year, g, "travail_rue_seulement") for g in GROUPS}
    keys |= {users_key(year, g, STREET_WORK) for g in GROUPS}
    keys |= {first_key(year, g, STREET_WORK) for g in GROUPS}
    # printed by the annual report too: one status in both (see publication.headline_keys)
    keys |= {annual_key(year, q) for q in SHARED_WITH_YOUTH}
    present = {kk for t in tables for _, _, kk, _ in t.cells() if kk is not None}
    return frozenset(keys & present)


def build_youth_tables(
    year: int, res: dict[str, Any], frames: dict[str, pd.DataFrame], k: int
) -> YouthTables:
    """Every count table of the youth report, from ``resultats.json`` (``res``) and the
    notebook's CSV tables (``frames``, as read by the report)."""
    empty = pd.DataFrame()
    cohort = {YOUTH: int(res["cohort"]["youth"]), ADULTS: int(res["cohort"]["adults"])}
    tables, constraints = _cohort_tables(year, res)
    first, c = _first_services(year, frames.get("premiers_services", empty))
    constraints += c
    paths, c, latent, other_paths = _paths(
        year, frames.get(f"parcours_{YOUTH}", empty), frames.get("premiers_services", empty), k
    )
    constraints += c
    tables += [t for t in (first, paths) if t is not None]
    comparison: dict[str, list[dict[str, tuple[str, str, str]] | None]] = {}
    for name in COMPARISONS:
        table, c, ks = _comparison(year, name, frames.get(name, empty), cohort, k)
        if table is not None:
            tables.append(table)
            constraints += c
        comparison[name] = ks
    unprinted: dict[str, float] = {}
    guarded: set[str] = set()
    if res.get("typology"):
        type_tables, c, unprinted, guarded = _types(year, frames.get("types", empty), res, k)
        tables += type_tables
        constraints += c
    unprinted = {**unprinted, **other_paths}
    guarded = set(guarded) | set(other_paths)
    flows, c = _flows(year, frames.get("flux", empty))
    if flows is not None:
        tables.append(flows)
        constraints += c
    users = {
        kk: v for t in tables for _, _, kk, v in t.cells() if kk is not None and "dispositif=" in kk
    }
    survival = _survival(year, res, cohort, users)
    if survival is not None:
        tables.append(survival)
        base_keys = {g: survival.keys.loc["abri_nuit", g] for g in GROUPS} if (
            "abri_nuit" in survival.keys.index
        ) else {}  # fmt: skip
        exit_tables, c = _shelter_exits(year, res, base_keys)
        tables += exit_tables
        constraints += c
    constraints += _street_identities(year, tables)
    constraints += _nationality_identities(year, frames.get("profil", empty), cohort, k)
    # an identity whose total no table prints is unknown to a reader (the women of the profile
    # when there is no profile table)
    printed = {kk for t in tables for _, _, kk, _ in t.cells() if kk is not None}
    constraints = [c for c in constraints if c.total in printed | unprinted.keys()]
    keep = _headline_keys(year, tables)
    return YouthTables(
        year,
        tables,
        constraints,
        latent,
        unprinted,
        keep=keep,
        guarded=frozenset(guarded),
        comparison_keys=comparison,
    )


def publish_youth(
    year: int,
    res: dict[str, Any],
    frames: dict[str, pd.DataFrame],
    k: int,
    known: Publication | None = None,
    budget: Budget = DEFAULT_BUDGET,
) -> YouthPublication:
    """Protect the youth report's tables and audit them; refuse a publication that fails.

    ``known``: what other reports already print (the annual reports): a reader holds it, so
    its published cells are never masked here in vain and its small cells are protected too
    (on a small network, the young people of a year printed by the annual report would
    otherwise give away a masked flow of the youth report)."""
    tables = build_youth_tables(year, res, frames, k)
    pub = protect(
        tables.tables,
        k,
        tables.constraints,
        previous=known,
        latent=tables.latent,
        unprinted=tables.unprinted,
        guarded=tables.guarded,
        keep=tables.keep,
        budget=budget,
    )
    checked = audit(pub, known)
    bad = checked[~checked["protected"] & ~checked["inevitable"]]
    if len(bad):
        raise ValueError(
            "Rapport jeunes : des cases masquées se déduisent des cases publiées : "
            + ", ".join(bad["key"])
        )
    return YouthPublication(tables, pub, checked)


def restore_youth(
    year: int,
    res: dict[str, Any],
    frames: dict[str, pd.DataFrame],
    k: int,
    ledger: pd.DataFrame,
    audit_table: pd.DataFrame,
) -> YouthPublication:
    """What the ``publication`` stage decided for the youth report, read back: the tables
    rebuilt from the study, statuses from the year's ledger, the audit of the whole year."""
    tables = build_youth_tables(year, res, frames, k)
    pub = restore_tables(tables, k, ledger, tables.keep)
    return YouthPublication(tables, pub, audit_table[audit_table["key"].isin(pub.status)])


def read_youth_inputs(youth_dir: Path) -> tuple[dict[str, Any], dict[str, pd.DataFrame]]:
    """The study's results (``resultats.json``) and the tables the youth publication counts."""
    res = json.loads((youth_dir / "resultats.json").read_text(encoding="utf-8"))
    frames = {}
    for name in INPUT_TABLES:
        path = youth_dir / f"{name}.csv"
        frames[name] = pd.read_csv(path) if path.exists() else pd.DataFrame()
    return res, frames


def share_hidden(publication: YouthPublication, keys: tuple[str, str, str]) -> bool:
    """A share x / n may not be printed unless x, n − x and n are all published: the share of a
    printed base gives its numerator (and its complement) back."""
    return any(publication.pub.status.get(kk) != PUBLISHED for kk in keys)


def write_youth_tables(publication: YouthPublication, folder: Path) -> list[Path]:
    """One CSV per table, the text as published (« < k » and « s » included); the year's one
    ledger, which also holds these cells, is written by the ``publication`` stage."""
    folder = Path(folder)
    written = []
    for table in publication.tables.tables:
        frame = publication.pub.text(table).reset_index(names="ligne")
        written.append(folder / f"{table.name}.csv")
        write_safe_csv(frame, written[-1], quote_all=False)
    return written
