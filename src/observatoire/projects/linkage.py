"""Which project participants are persons of the observatory's exports.

A participant (``participant_id``, a pseudonym proper to the project) is linked to a person of
the network's linkage (``contacts.person_id``) in one of two ways, in this order:

1. ``cle_partenaire``: the team's sheet carries the partner's person id (the Housing First
   tenant code), pseudonymised at ingest into ``person_key`` exactly as the exports' record key;
   it equals a ``contacts.record_key``, whose ``person_id`` is the person.
2. ``nom_naissance``: the sheet carries names and a birth date, pseudonymised at ingest into the
   same keyed tokens as ``data_clean/staging/identity_tokens.parquet``; an **exact** match of
   the three tokens (surname, first name, birth date) on a record of the exports gives its
   person. Exact on purpose: the exports' records were already clustered into persons by the
   probabilistic linkage (spelling variants of a person's records share her ``person_id``), so
   a participant whose typed name matches *any* of her records exactly finds her; a fuzzy match
   here would add false links that no clerical review checks. When the tokens match records of
   more than one person (namesakes born the same day, or records the linkage kept apart), the
   participant is left unlinked (``aucun``) and counted as ambiguous.

3. ``nom_naissance_inversee`` (a second, declared tier, used only when the exact tier found no
   one): surname and first name exact and the participant's birth date equal to a record's
   birth date with **day and month swapped** (``identity_tokens.tok_birth_date_swapped``, keyed
   like ``tok_birth_date``; only dates whose day is 12 or less have a swapped form). The typing
   error is common (a form's date picker vs « 03/07 »); precision is kept by the same rules: the
   three tokens must lead to exactly one person, and a participant with any exact candidate never
   reaches this tier. Spelling variants of the names are NOT matched: the attendance sheet keeps
   only the exact name tokens (``tok_surname``, ``tok_first_name``), not the spelling
   neighbourhood tokens the linkage uses (``tok_surname_variants``), so a player whose name is
   typed with a letter off stays unlinked rather than risk a wrong person.

Otherwise ``aucun``. The match rate (linked participants ÷ participants, per project) is the
share whose observatory outcomes can be read; the unlinked are not « not in the network », only
not found in it.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["HOW", "LINK_COLUMNS", "link_participants", "linkage_summary"]

HOW = ("cle_partenaire", "nom_naissance", "nom_naissance_inversee", "aucun")
LINK_COLUMNS = ["participant_id", "project", "person_id", "how", "candidates"]
_TOKENS = ["tok_surname", "tok_first_name", "tok_birth_date"]


def _first_filled(frame: pd.DataFrame, column: str) -> pd.Series:
    """Per (project, participant), the first non-empty value of ``column`` ("" when none)."""
    values = frame[column].fillna("").astype(str).str.strip()
    keep = frame.assign(_v=values)[values != ""]
    return keep.groupby(["partner_id", "participant_id"])["_v"].first()


def _participants(attendance: pd.DataFrame, followups: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for frame in (attendance, followups):
        if frame is None or frame.empty:
            continue
        cols = ["partner_id", "participant_id", "person_key", *_TOKENS]
        parts.append(frame.reindex(columns=cols))
    if not parts:
        return pd.DataFrame(columns=["partner_id", "participant_id", "person_key", *_TOKENS])
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[rows["participant_id"].notna() & (rows["participant_id"].astype(str) != "")]
    out = (
        rows[["partner_id", "participant_id"]]
        .drop_duplicates()
        .set_index(["partner_id", "participant_id"])
    )
    for column in ["person_key", *_TOKENS]:
        out[column] = _first_filled(rows, column)
    return out.fillna("").reset_index()


def link_participants(
    attendance: pd.DataFrame,
    followups: pd.DataFrame,
    contacts: pd.DataFrame,
    identity_tokens: pd.DataFrame,
    linkage_records: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per (project, participant) of the attendance and follow-ups: the linked
    ``person_id`` (None when unlinked), ``how`` ∈ :data:`HOW` and ``candidates`` (distinct
    persons the names and birth date matched; 2 or more = ambiguous, left unlinked).

    ``linkage_records`` is not needed (the records' persons are in ``contacts``); it is accepted
    so that a caller holding the link stage's outputs may pass them all."""
    del linkage_records
    people = _participants(attendance, followups)
    persons = contacts[["record_key", "person_id"]].drop_duplicates("record_key")
    by_key = persons.set_index("record_key")["person_id"]
    key_person = people["person_key"].map(by_key)

    tokens = identity_tokens.reindex(columns=["record_key", *_TOKENS]).dropna()
    tokens = tokens[(tokens[_TOKENS].astype(str) != "").all(axis=1)]
    tokens = tokens.merge(persons, on="record_key", how="inner")
    per_triple = tokens.groupby(_TOKENS)["person_id"].agg(["nunique", "first"])
    complete = (people[_TOKENS] != "").all(axis=1)
    found = people[complete].merge(per_triple, left_on=_TOKENS, right_index=True, how="left")
    candidates = found["nunique"].reindex(people.index).fillna(0).astype(int)
    name_person = found["first"].where(found["nunique"] == 1).reindex(people.index)

    # second tier: day and month of the birth date swapped (only participants with no exact
    # candidate at all; the swapped triple must lead to exactly one person)
    swapped = identity_tokens.reindex(
        columns=["record_key", *_TOKENS[:2], "tok_birth_date_swapped"]
    )
    swapped = swapped.rename(columns={"tok_birth_date_swapped": "tok_birth_date"}).dropna()
    swapped = swapped.astype({c: str for c in _TOKENS})
    swapped = swapped[(swapped[_TOKENS].astype(str) != "").all(axis=1)]
    swapped = swapped.merge(persons, on="record_key", how="inner")
    per_swapped = swapped.groupby(_TOKENS)["person_id"].agg(["nunique", "first"])
    no_exact = complete & (candidates == 0)
    found2 = people[no_exact].merge(per_swapped, left_on=_TOKENS, right_index=True, how="left")
    swap_candidates = found2["nunique"].reindex(people.index).fillna(0).astype(int)
    swap_person = found2["first"].where(found2["nunique"] == 1).reindex(people.index)
    candidates = candidates.where(candidates > 0, swap_candidates)

    how = pd.Series("aucun", index=people.index)
    person = pd.Series(None, index=people.index, dtype=object)
    by_swap = swap_person.notna()
    how[by_swap], person[by_swap] = "nom_naissance_inversee", swap_person[by_swap]
    by_name = name_person.notna()
    how[by_name], person[by_name] = "nom_naissance", name_person[by_name]
    by_partner = key_person.notna()
    how[by_partner], person[by_partner] = "cle_partenaire", key_person[by_partner]
    return pd.DataFrame(
        {
            "participant_id": people["participant_id"],
            "project": people["partner_id"],
            "person_id": person,
            "how": how,
            "candidates": candidates,
        },
        columns=LINK_COLUMNS,
    ).reset_index(drop=True)


def linkage_summary(links: pd.DataFrame) -> pd.DataFrame:
    """``liaison.csv``: per project and way (``how``), participants and their share, plus the
    ambiguous ones (unlinked, names matching several persons) as ``how = ambigu`` for
    information (they are already among ``aucun``)."""
    rows = []
    for project, group in links.groupby("project", sort=True):
        total = len(group)
        for how in HOW:
            n = int((group["how"] == how).sum())
            rows.append({"project": project, "how": how, "participants": n, "share": n / total})
        ambiguous = int(((group["how"] == "aucun") & (group["candidates"] >= 2)).sum())
        rows.append(
            {
                "project": project,
                "how": "ambigu",
                "participants": ambiguous,
                "share": ambiguous / total,
            }
        )
    return pd.DataFrame(rows, columns=["project", "how", "participants", "share"])
