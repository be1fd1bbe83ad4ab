"""Linkage quality measured against the synthetic sample's ground truth.

This is the only module that reads ``data_raw/sample_truth/``, and only when the pipeline runs
on the synthetic sample (``inputs.raw_dir`` is the sample folder): on real exports there is no
truth, and the synthetic one would describe other people.

Measures, for a grouping of records into persons:

- pairwise precision: of the pairs put in the same person, the share that truly are one
  person; pairwise recall: of the true same-person pairs, the share put together. Counted over
  pairs of records (one partner file, or one street-work initials record, per true person it
  holds) — the unit the model links — and over pairs of contact rows, which weighs persons by
  their activity;
- distinct persons found against the true number, and the relative gap.

Each for the records with names (the scope of the targets), for street work, and for the
whole network; per partner, and per year.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from observatoire.linkage.settings import LinkageTargets

__all__ = [
    "NOISE_FILE",
    "SCOPES",
    "TRUTH_FILE",
    "grouping_quality",
    "load_truth",
    "measure_quality",
    "pairwise",
    "street_cross_link_test",
    "targets_met",
    "truth_applies",
]

TRUTH_FILE = "truth.csv"
NOISE_FILE = "noise_rates.json"
SCOPES = {
    "identifies": "dossiers nominatifs (nom, prénom, date de naissance)",
    "travail_de_rue": "travail de rue (initiales et âge estimé)",
    "reseau": "réseau entier",
}


Targets = LinkageTargets
"""The quality targets (``linkage.targets``), with their defaults, from the typed settings."""


def truth_applies(raw_dir: Path, sample_dir: Path, truth_dir: Path) -> bool:
    """True when the inputs are the synthetic sample and its truth file exists."""
    try:
        same = raw_dir.resolve() == sample_dir.resolve()
    except OSError:
        same = False
    return same and (truth_dir / TRUTH_FILE).exists()


def load_truth(truth_dir: Path) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The truth rows (source file and row → true person) and the realised noise rates."""
    truth = pd.read_csv(
        truth_dir / TRUTH_FILE,
        usecols=["source_file", "source_row", "true_person_id"],
        dtype={"source_file": str, "source_row": "int64", "true_person_id": str},
    )
    noise_path = truth_dir / NOISE_FILE
    noise = json.loads(noise_path.read_text(encoding="utf-8")) if noise_path.exists() else {}
    return truth, noise


def _pairs(sizes: pd.Series) -> int:
    n = sizes.to_numpy(dtype=np.int64)
    return int((n * (n - 1) // 2).sum())


def pairwise(units: pd.DataFrame, found: str = "person_id", true: str = "true_person_id") -> dict:
    """Pairwise precision and recall of a grouping (one row per unit)."""
    both = _pairs(units.groupby([found, true]).size())
    linked = _pairs(units.groupby(found).size())
    truly = _pairs(units.groupby(true).size())
    return {
        "precision": round(both / linked, 5) if linked else None,
        "rappel": round(both / truly, 5) if truly else None,
        "paires_reliees": linked,
        "paires_vraies": truly,
        "paires_correctes": both,
    }


def _persons_dict(n_found: int, n_true: int) -> dict:
    return {
        "trouvees": n_found,
        "vraies": n_true,
        "ecart_relatif": round((n_found - n_true) / n_true, 5) if n_true else None,
    }


def _codes(values: pd.Series, sort: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Integer code of each value (−1: missing) and the distinct values."""
    codes, uniques = pd.factorize(values, sort=sort)
    return codes.astype(np.int64, copy=False), pd.Index(uniques)


def _combined(*codes: np.ndarray) -> np.ndarray:
    """One integer key per distinct combination of the ``codes`` (−1 counts as a value, as
    in ``drop_duplicates``): their mixed-radix number, re-coded densely whenever the next
    product could overflow."""
    key = codes[0] + 1
    span = int(key.max(initial=0)) + 1
    for c in codes[1:]:
        radix = int(c.max(initial=-1)) + 2
        if span * radix >= 2**62:
            key = pd.factorize(key)[0].astype(np.int64, copy=False)
            span = int(key.max(initial=0)) + 1
        key = key * radix + (c + 1)
        span *= radix
    return key


def _first_of_each(*codes: np.ndarray) -> np.ndarray:
    """Positions of the first unit of each distinct combination of ``codes``."""
    return np.flatnonzero(~pd.Series(_combined(*codes)).duplicated().to_numpy())


def _pairs_of(*codes: np.ndarray) -> int:
    """Same-group pairs when grouping by ``codes``; a unit with a missing code (−1) in one
    of them belongs to no group (``groupby`` drops missing keys)."""
    known = np.logical_and.reduce([c >= 0 for c in codes])
    key = _combined(*(c[known] for c in codes))
    sizes = np.bincount(key if len(codes) == 1 else pd.factorize(key)[0])
    return int((sizes * (sizes - 1) // 2).sum())


def _pairwise_codes(found: np.ndarray, true: np.ndarray) -> dict:
    """:func:`pairwise` on integer codes."""
    both, linked, truly = _pairs_of(found, true), _pairs_of(found), _pairs_of(true)
    return {
        "precision": round(both / linked, 5) if linked else None,
        "rappel": round(both / truly, 5) if truly else None,
        "paires_reliees": linked,
        "paires_vraies": truly,
        "paires_correctes": both,
    }


def _n_distinct(codes: np.ndarray) -> int:
    """``nunique`` on integer codes (a missing value, −1, is not counted)."""
    return int(np.count_nonzero(np.bincount(codes[codes >= 0])))


class _CodedRows:
    """The rows of :func:`grouping_quality` as integer codes (record, true person, year,
    partner), for one grouping after another.

    On a regional network the rows are millions of contacts whose ids are Arrow strings:
    selecting rows of such a frame, and grouping on its text columns, was most of the link
    stage's quality measure; on codes, each count is a ``bincount``. The figures are those
    of the frame computation, to the bit (same groups, same integer counts)."""

    def __init__(self, rows: pd.DataFrame, initials_only: set[str]) -> None:
        self.record, _ = _codes(rows["record_key"])
        self.true, _ = _codes(rows["true_person_id"])
        self.year, self.years = _codes(rows["year"], sort=True)
        self.partner, self.partners = _codes(rows["partner_id"], sort=True)
        self.street = rows["record_key"].isin(initials_only).to_numpy()

    def _scope(self, found: np.ndarray, sel: np.ndarray) -> dict:
        record, true, found, year = self.record[sel], self.true[sel], found[sel], self.year[sel]
        first = _first_of_each(record, true, found)
        return {
            "paires_de_dossiers": _pairwise_codes(found[first], true[first]),
            "paires_de_lignes": _pairwise_codes(found, true),
            "personnes": _persons_dict(_n_distinct(found), _n_distinct(true)),
            "personnes_par_annee": {
                str(self.years[y]): _persons_dict(
                    _n_distinct(found[year == y]), _n_distinct(true[year == y])
                )
                for y in np.unique(year[year >= 0])
            },
        }

    def quality(self, found: np.ndarray) -> dict:
        """:func:`grouping_quality` of the grouping whose codes are ``found``."""
        everyone = np.ones(len(found), dtype=bool)
        out = {
            "identifies": self._scope(found, ~self.street),
            "travail_de_rue": self._scope(found, self.street) if self.street.any() else None,
            "reseau": self._scope(found, everyone),
        }
        par_partenaire = {}
        for p in np.unique(self.partner[self.partner >= 0]):
            sel = self.partner == p
            record, true, f = self.record[sel], self.true[sel], found[sel]
            first = _first_of_each(record, true, f)
            par_partenaire[str(self.partners[p])] = {
                "personnes": _persons_dict(_n_distinct(f), _n_distinct(true)),
                "paires_de_dossiers": _pairwise_codes(f[first], true[first]),
            }
        out["par_partenaire"] = par_partenaire
        return out


def grouping_quality(rows: pd.DataFrame, found: str, initials_only: set[str]) -> dict:
    """Quality of one grouping (column ``found``) in every scope, and per partner.

    ``rows`` needs ``record_key``, ``true_person_id``, ``year``, ``partner_id`` and
    ``found``; computed on integer codes (:class:`_CodedRows`)."""
    return _CodedRows(rows, initials_only).quality(_codes(rows[found])[0])


def targets_met(quality: dict, targets: Targets) -> dict:
    """Whether the named-records scope meets the targets (records pairs and persons count)."""
    scope = quality["identifies"]
    pw = scope["paires_de_dossiers"]
    gap = scope["personnes"]["ecart_relatif"]
    return {
        "precision": pw["precision"] is not None and pw["precision"] >= targets.precision,
        "rappel": pw["rappel"] is not None and pw["rappel"] >= targets.recall,
        "personnes": gap is not None and abs(gap) <= targets.persons_gap,
    }


def _majority_truth(rows: pd.DataFrame) -> pd.Series:
    """Per found person, its most frequent true person (ties: the smallest id)."""
    counts = rows.groupby(["person_id", "true_person_id"]).size().rename("n").reset_index()
    counts = counts.sort_values(["person_id", "n", "true_person_id"], ascending=[True, False, True])
    return counts.drop_duplicates("person_id").set_index("person_id")["true_person_id"]


def street_cross_link_test(
    rows: pd.DataFrame, tokens: pd.DataFrame, initials_only: set[str], max_age_gap: int = 3
) -> dict:
    """What linking street work to named persons would give, measured (never applied).

    Rule tested: a street-work chain is linked to a named person when exactly one named person
    has the same initials and sex, a birth year within ``max_age_gap`` of the estimated one,
    and a contact in one of the chain's months. Its precision is why street work is not linked.
    """
    tok = tokens.drop_duplicates("record_key").set_index("record_key")
    if "tok_name_initials" not in tok:
        return {}
    rows = rows.assign(month=pd.to_datetime(rows["date_start"]).dt.to_period("M"))
    is_street = rows["record_key"].isin(initials_only)
    street, named = rows[is_street], rows[~is_street]
    if street.empty or named.empty:
        return {}

    def people(frame: pd.DataFrame, ini: str, year: str) -> pd.DataFrame:
        keys = frame.drop_duplicates("record_key")
        attrs = pd.DataFrame(
            {
                "person_id": keys["person_id"].to_numpy(),
                "ini": keys["record_key"].map(tok[ini]).to_numpy(),
                "sex": keys["record_key"].map(tok["sex"]).to_numpy(),
                "year": pd.to_numeric(keys["record_key"].map(tok[year])).to_numpy(),
            }
        ).dropna(subset=["ini", "year"])
        out = attrs.groupby("person_id").agg(
            ini=("ini", "first"), sex=("sex", "first"), year=("year", "median")
        )
        return out.join(_majority_truth(frame).rename("truth"))

    chains = people(street, "tok_initials", "est_birth_year")
    persons = people(named, "tok_name_initials", "birth_year")
    cand = chains.reset_index().merge(persons.reset_index(), on=["ini", "sex"], suffixes=("", "_n"))
    cand = cand[(cand["year_n"] - cand["year"]).abs() <= max_age_gap]
    s_months = street[["person_id", "month"]].drop_duplicates()
    n_months = named[["person_id", "month"]].drop_duplicates()
    n_months = n_months.rename(columns={"person_id": "person_id_n"})
    active = cand.merge(s_months, on="person_id").merge(n_months, on=["person_id_n", "month"])
    cand = active.drop_duplicates(["person_id", "person_id_n"])
    single = cand[~cand.duplicated("person_id", keep=False)]
    correct = int((single["truth"] == single["truth_n"]).sum())
    also_named = chains["truth"].isin(set(persons["truth"]))
    return {
        "regle": (
            "mêmes initiales et sexe, année de naissance à ±"
            f"{max_age_gap} ans de l'estimée, un contact le même mois, un seul candidat"
        ),
        "chaines_travail_de_rue": int(len(chains)),
        "chaines_dont_la_personne_est_connue_ailleurs": int(also_named.sum()),
        "liaisons_proposees": int(len(single)),
        "liaisons_correctes": correct,
        "precision": round(correct / len(single), 5) if len(single) else None,
    }


def measure_quality(
    contacts: pd.DataFrame,
    truth: pd.DataFrame,
    noise: dict[str, Any],
    initials_only: set[str],
    baselines: dict[str, pd.Series],
    tokens: pd.DataFrame,
    targets: Targets,
) -> dict:
    """Quality of the linkage (``person_id`` of ``contacts``) and of the baselines.

    ``baselines`` maps a method name to record key → cluster. Rows without truth (another
    sample) make the measure meaningless: then only their count is reported.
    """
    # Only the columns the measures read: selecting rows of the whole contacts table (a dozen
    # Arrow text columns) was most of the measure's time on a regional network.
    columns = ["record_key", "person_id", "partner_id", "year", "date_start"]
    rows = contacts[[*columns, "source_file", "source_row"]].merge(
        truth, on=["source_file", "source_row"], how="left"
    )
    missing = int(rows["true_person_id"].isna().sum())
    if missing:
        return {"lignes_sans_verite": missing, "mesure": "impossible"}
    coded = _CodedRows(rows, initials_only)
    quality = coded.quality(_codes(rows["person_id"])[0])
    out: dict[str, Any] = {
        "portees": SCOPES,
        "modele": quality,
        "objectifs": {
            "precision_min": targets.precision,
            "rappel_min": targets.recall,
            "ecart_personnes_max": targets.persons_gap,
            "portee": "identifies",
            "unite": "paires de dossiers",
        },
        "objectifs_atteints": targets_met(quality, targets),
        "references": {},
        "bruit_realise": {
            k: noise[k] for k in ("params", "registrations", "second_local_id") if k in noise
        },
        "travail_de_rue_liaison_testee": street_cross_link_test(rows, tokens, initials_only),
    }
    record, records = _codes(rows["record_key"])
    for name, clusters in baselines.items():
        # Each record's cluster (itself when it has none), looked up once per record.
        keys = pd.Series(records, dtype=object)
        found = keys.map(clusters).fillna(keys)
        found_codes = _codes(found)[0]
        q = coded.quality(np.where(record >= 0, found_codes[record], -1))
        out["references"][name] = {
            scope: {k: q[scope][k] for k in ("paires_de_dossiers", "paires_de_lignes", "personnes")}
            for scope in ("identifies", "reseau")
        }
    return out
