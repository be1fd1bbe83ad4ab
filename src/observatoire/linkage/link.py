"""Linking records of the same person across partners, on keyed tokens only.

Named records (a client file at a partner) are linked by a probabilistic Fellegi–Sunter model
(:mod:`observatoire.linkage.model`) and grouped into persons at the match-probability threshold
of ``params/pipeline.yaml`` (``linkage.threshold``), never merging records with contradictory
birth dates or sexes (:mod:`observatoire.linkage.clustering`). Records sharing a network-wide
person id (a mapping's ``local_id`` with ``scope: network``) are one person whatever the model
says, with or without names. Street-work records (a street-work dispositif, no name, no network
id: initials and an estimated age only) are chained among themselves and never linked to named
records (:mod:`observatoire.linkage.street_work`); a record without name nor network id
elsewhere is its own person. Constant identity columns are neutralised and exploding blocking
rules dropped first (:mod:`observatoire.linkage.safeguards`). The analyst's corrections
(``params/linkage_overrides.yaml``) are applied on every run.

A person's id is a hash of the smallest record key of its cluster: stable whatever order the
clusters are found in, and not reversible to any partner's client id.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pandas as pd

from observatoire.core.schema import CONTACT_COLUMNS, PERSON_COLUMNS
from observatoire.linkage.clustering import (
    ClusteringResult,
    RecordFacts,
    cluster_records,
    cluster_records_at,
)
from observatoire.linkage.fallback import Fallback, ModelUnavailable, exact_pairs
from observatoire.linkage.overrides import Overrides, OverridesApplied, OverridesError
from observatoire.linkage.records import (
    IDENTIFIED,
    INITIALS_ONLY,
    LOCAL_ONLY,
    NETWORK_IDS,
    NETWORK_ONLY,
    build_record_tables,
)
from observatoire.linkage.safeguards import (
    IdentityReport,
    constant_values,
    neutralise,
    rules_to_drop,
)
from observatoire.linkage.settings import LinkageSettings
from observatoire.linkage.street_work import chain_street_records

if TYPE_CHECKING:
    from observatoire.linkage.model import ScoredPairs


@dataclass
class Linkage:
    """Everything one linkage run produced, for the clean tables and the diagnostics."""

    settings: LinkageSettings
    facts: RecordFacts
    """The named records (the model's input), in ``unique_id`` order, then the records
    without names that carry a network-wide id (in ``unique_id`` order)."""
    pairs: pd.DataFrame
    """Scored pairs of named records (positions ``a``, ``b`` into ``facts.ids``)."""
    scored: ScoredPairs | None
    clustering: ClusteringResult
    street: pd.Series
    """Initials-only record key → its street-work chain (smallest record key)."""
    together: list[tuple[int, int]] = field(default_factory=list)
    apart: list[tuple[int, int]] = field(default_factory=list)
    cross_together: list[tuple[str, str]] = field(default_factory=list)
    overrides: OverridesApplied = field(default_factory=OverridesApplied)
    n_street_records: int = 0
    network_links: list[tuple[int, int]] = field(default_factory=list)
    """Must-links: positions of records sharing a network-wide person id."""
    local_only: pd.Series = field(default_factory=lambda: pd.Series(dtype=object))
    """Records with neither names nor a network id outside street work → themselves."""
    identity: IdentityReport = field(default_factory=IdentityReport)
    fallback: Fallback | None = None
    """Set when the model could not be estimated and named records were linked by the
    fallback's exact rules instead (:mod:`observatoire.linkage.fallback`)."""

    _person_at_threshold: pd.Series | None = field(
        default=None, init=False, repr=False, compare=False
    )
    _cluster_at_threshold: pd.Series | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def person_of(self, threshold: float | None = None) -> pd.Series:
        """Record key → person id, at the run's threshold or another one (sensitivity).

        At the run's threshold the mapping is made once and shared (the stage asks for it
        for the clean tables, the overrides' check and the diagnostics): a copy is returned."""
        if threshold is None or threshold == self.settings.threshold:
            if self._person_at_threshold is None:
                self._person_at_threshold = _person_ids(self.cluster_of())
            return self._person_at_threshold.copy()
        return _person_ids(self.cluster_of(threshold))

    def cluster_of(self, threshold: float | None = None) -> pd.Series:
        """Record key → smallest record key of its person."""
        if threshold is None:
            threshold = self.settings.threshold
        return self.clusters_of([threshold])[threshold]

    def clusters_of(self, thresholds: Iterable[float]) -> dict[float, pd.Series]:
        """:meth:`cluster_of` at each of ``thresholds``, clustered in one pass
        (:func:`~observatoire.linkage.clustering.cluster_records_at`)."""
        thresholds = list(thresholds)
        others = [t for t in thresholds if t != self.settings.threshold]
        at = (
            cluster_records_at(
                self.facts, self.pairs, others, self.together, self.apart, self.network_links
            )
            if others
            else {}
        )
        return {
            t: self._run_clusters()
            if t == self.settings.threshold
            else self._cluster_series(at[t].labels)
            for t in thresholds
        }

    def _run_clusters(self) -> pd.Series:
        """The clusters at the run's threshold (made once; a copy is returned)."""
        if self._cluster_at_threshold is None:
            self._cluster_at_threshold = self._cluster_series(self.clustering.labels)
        return self._cluster_at_threshold.copy()

    def _cluster_series(self, labels: np.ndarray) -> pd.Series:
        ids = np.asarray(self.facts.ids, dtype=object)
        parts = [pd.Series(ids[labels], index=ids), self.street]
        if len(self.local_only):
            parts.append(self.local_only)
        cluster = pd.concat(parts, verify_integrity=True)
        return merge_across(cluster, self.cross_together).rename("cluster")


def _person_ids(cluster: pd.Series) -> pd.Series:
    """Record key → person id: a hash of its cluster's smallest record key."""
    person = cluster.map(lambda k: "P" + hashlib.sha256(k.encode()).hexdigest()[:15])
    return person.rename("person_id")


def merge_across(cluster: pd.Series, links: list[tuple[str, str]]) -> pd.Series:
    """Apply forced links between a named and a street-work record (union of their clusters)."""
    if not links:
        return cluster
    rename: dict[str, str] = {}

    def root(c: str) -> str:
        while c in rename:
            c = rename[c]
        return c

    for a, b in links:
        ca, cb = root(cluster[a]), root(cluster[b])
        if ca != cb:
            rename[max(ca, cb)] = min(ca, cb)
    return cluster.map(root)


def _positions(
    overrides: Overrides, named: dict[str, int], street: dict[str, int]
) -> tuple[dict[str, list], OverridesApplied]:
    """Sort the overrides by the record sets they touch; unknown keys are reported."""
    out: dict[str, list] = {
        "together": [],
        "apart": [],
        "street_together": [],
        "street_apart": [],
        "cross_together": [],
    }
    applied = OverridesApplied()
    for kind, entries in (("together", overrides.together), ("apart", overrides.apart)):
        for o in entries:
            missing = [k for k in (o.a, o.b) if k not in named and k not in street]
            if missing:
                applied.unknown_records.extend(missing)
                continue
            if o.a in named and o.b in named:
                out[kind].append((named[o.a], named[o.b]))
            elif o.a in street and o.b in street:
                out[f"street_{kind}"].append((street[o.a], street[o.b]))
            elif kind == "together":
                out["cross_together"].append((o.a, o.b))
            if kind == "together":
                applied.together_applied += 1
            else:
                applied.apart_applied += 1
    applied.unknown_records = sorted(set(applied.unknown_records))
    return out, applied


def link_records(
    contacts: pd.DataFrame,
    tokens: pd.DataFrame,
    settings: LinkageSettings | None = None,
    overrides: Overrides | None = None,
    columns: dict[tuple[str, str], str] | None = None,
) -> Linkage:
    """Run the whole linkage on the clean contacts and ingest's identity tokens.

    ``columns`` names the partner's column of each (partner, canonical field), for the
    warnings of :mod:`observatoire.linkage.safeguards`."""
    # The probabilistic model (splink) is loaded here, where a linkage runs: the stages that
    # only read a linkage's result (linkage_imputations) do not pay for it.
    from observatoire.linkage.model import (
        blocking_pair_counts,
        distinct_pair_counts,
        fit_and_score,
    )

    settings = settings or LinkageSettings()
    overrides = overrides or Overrides()
    checks = settings.identity_checks
    constants, flagged = constant_values(tokens, checks, columns)
    tokens = neutralise(tokens, flagged)
    identity = IdentityReport(constants=constants, max_pairs=checks.max_pairs)
    con = duckdb.connect()
    try:
        tables = build_record_tables(
            con,
            contacts,
            tokens,
            settings.activity_window_months,
            settings.street_activity_gap_months,
        )
        if tables.n_identified >= 2:
            identity.pairs_by_rule = blocking_pair_counts(tables)
            (
                identity.dropped_rules,
                identity.distinct_pairs_by_rule,
                identity.distinct_total,
            ) = rules_to_drop(
                identity.pairs_by_rule,
                checks.max_pairs,
                lambda rules: distinct_pair_counts(tables, rules),
            )
        facts = _facts(con)
        fallback = None
        try:
            scored = fit_and_score(tables, settings, dropped=identity.dropped_rules)
            exact = None
        except ModelUnavailable as exc:
            scored, exact = None, exact_pairs(tables)
            fallback = Fallback(reason=exc.reason, pairs=len(exact))
        local = con.execute(f"SELECT unique_id FROM {LOCAL_ONLY} ORDER BY unique_id")
        local_ids = [r[0] for r in local.fetchall()]
        for table, counts in (
            (LOCAL_ONLY, identity.local_only_by_partner),
            (NETWORK_ONLY, identity.network_only_by_partner),
        ):
            counts.update(
                (str(p), int(n))
                for p, n in con.execute(
                    f"SELECT partner_id, count(*) FROM {table} GROUP BY 1 ORDER BY 1"
                ).fetchall()
            )
        network_ids = con.execute(
            f"SELECT unique_id, tok_network_id FROM {NETWORK_IDS} ORDER BY unique_id"
        ).df()
        street_ids = [
            r[0]
            for r in con.execute(
                f"SELECT unique_id FROM {INITIALS_ONLY} ORDER BY unique_id"
            ).fetchall()
        ]
        named_pos = {k: i for i, k in enumerate(facts.ids)}
        street_pos = {k: i for i, k in enumerate(street_ids)}
        placed, applied = _positions(overrides, named_pos, street_pos)
        street = chain_street_records(
            tables,
            settings.street_birth_year_gap,
            together=placed["street_together"],
            apart=placed["street_apart"],
        )
    finally:
        con.close()
    pairs = _pair_positions(scored.pairs if scored is not None else exact, named_pos)
    network_links = _must_links(network_ids, named_pos)
    clustering = cluster_records(
        facts, pairs, settings.threshold, placed["together"], placed["apart"], network_links
    )
    identity.network_links = clustering.by_network_id
    linkage = Linkage(
        settings=settings,
        facts=facts,
        pairs=pairs,
        scored=scored,
        clustering=clustering,
        street=street,
        together=placed["together"],
        apart=placed["apart"],
        cross_together=placed["cross_together"],
        overrides=applied,
        n_street_records=len(street_ids),
        network_links=network_links,
        local_only=pd.Series(local_ids, index=local_ids, dtype=object, name="cluster"),
        identity=identity,
        fallback=fallback,
    )
    _check_apart(linkage, overrides)
    return linkage


def _facts(con: duckdb.DuckDBPyConnection) -> RecordFacts:
    """The named records, then the network-id-only ones: what the clustering groups."""
    query = "SELECT unique_id, tok_birth_date, tok_birth_date_swapped, sex FROM {} ORDER BY 1"
    named = RecordFacts.from_frame(con.execute(query.format(IDENTIFIED)).df())
    network = con.execute(query.format(NETWORK_ONLY)).df()
    if network.empty:
        return named
    extra = RecordFacts.from_frame(network)
    return RecordFacts(
        [*named.ids, *extra.ids],
        [*named.birth_date, *extra.birth_date],
        [*named.birth_date_swapped, *extra.birth_date_swapped],
        [*named.sex, *extra.sex],
    )


def _must_links(network_ids: pd.DataFrame, pos: dict[str, int]) -> list[tuple[int, int]]:
    """Each record with a network-wide id tied to the first record (by position) with the
    same id."""
    if network_ids.empty:
        return []
    frame = network_ids.assign(pos=network_ids["unique_id"].map(pos)).dropna(subset=["pos"])
    frame = frame.astype({"pos": "int64"}).sort_values("pos")
    first = frame.groupby("tok_network_id")["pos"].transform("first")
    keep = frame["pos"] != first
    return list(zip(first[keep].tolist(), frame.loc[keep, "pos"].tolist(), strict=True))


def _pair_positions(scored: pd.DataFrame | None, pos: dict[str, int]) -> pd.DataFrame:
    if scored is None or scored.empty:
        return pd.DataFrame({"a": [], "b": [], "match_probability": []})
    pairs = scored.copy()
    pairs["a"] = pairs["unique_id_l"].map(pos).astype("int64")
    pairs["b"] = pairs["unique_id_r"].map(pos).astype("int64")
    return pairs


def _check_apart(linkage: Linkage, overrides: Overrides) -> None:
    """A pair forced apart can only end up together through forced links: say which."""
    person = linkage.person_of()
    broken = [o for o in overrides.apart if o.a in person and person.get(o.a) == person.get(o.b)]
    if broken:
        raise OverridesError(
            f"{overrides.source} : {len(broken)} paire(s) de forcer_separation sont reliées par "
            "des entrées de forcer_liaison (directement ou par chaîne) : "
            + "; ".join(f"{o.a[:8]}… / {o.b[:8]}…" for o in broken)
            + ". Corrigez l'une des deux listes."
        )


def _modal(frame: pd.DataFrame, col: str) -> pd.Series:
    """Per person, the most frequent value of ``col`` (ties: the smallest)."""
    counts = frame.groupby(["person_id", col]).size().rename("n").reset_index()
    counts = counts.sort_values(["person_id", "n", col], ascending=[True, False, True])
    return counts.drop_duplicates("person_id").set_index("person_id")[col]


def _person_table(out: pd.DataFrame, tokens: pd.DataFrame) -> pd.DataFrame:
    """One row per person: first and last contact, partners, contacts, sex, nationality group
    and birth year (the most frequent exact one, else the median estimated one)."""
    person_of = out.drop_duplicates("record_key").set_index("record_key")["person_id"]
    birth = tokens[["record_key", "birth_year", "est_birth_year"]].copy()
    birth["person_id"] = birth["record_key"].map(person_of)
    birth = birth.dropna(subset=["person_id"])
    exact = _modal(birth.dropna(subset=["birth_year"]), "birth_year")
    est = birth.dropna(subset=["est_birth_year"]).groupby("person_id")["est_birth_year"].median()
    g = out.groupby("person_id")
    persons = pd.DataFrame(
        {
            "first_seen": g["date_start"].min(),
            "last_seen": g["date_start"].max(),
            "n_partners": g["partner_id"].nunique(),
            "n_contacts": g.size(),
        }
    )
    for col in ("sex", "nationality_group"):
        known = _modal(out[out[col] != "INCONNU"], col)
        persons[col] = known.reindex(persons.index).fillna("INCONNU")
    by = exact.reindex(persons.index)
    persons["age_estimated"] = by.isna() & est.reindex(persons.index).notna()
    persons["birth_year"] = by.fillna(est.reindex(persons.index).round()).astype("Int64")
    persons = persons.reset_index()[PERSON_COLUMNS].sort_values("person_id", ignore_index=True)
    persons["n_partners"] = persons["n_partners"].astype("int64")
    persons["n_contacts"] = persons["n_contacts"].astype("int64")
    return persons


def clean_tables(
    contacts: pd.DataFrame, tokens: pd.DataFrame, person_of: pd.Series
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Attach ``person_id`` to every contact (sorted by source file and row) and derive the
    persons table."""
    out = contacts.copy()
    out["person_id"] = out["record_key"].map(person_of)
    out = out[CONTACT_COLUMNS].sort_values(["source_file", "source_row"], ignore_index=True)
    return out, _person_table(out, tokens)


def build_clean_tables(
    contacts: pd.DataFrame,
    tokens: pd.DataFrame,
    settings: LinkageSettings | None = None,
    overrides: Overrides | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Link persons and return the contacts with ``person_id`` and the persons table."""
    linkage = link_records(contacts, tokens, settings, overrides)
    return clean_tables(contacts, tokens, linkage.person_of())


__all__ = ["Linkage", "build_clean_tables", "clean_tables", "link_records", "merge_across"]
