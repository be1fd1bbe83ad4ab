"""Field records: the cells of KoboToolbox / ODK exports and the clean field tables.

A form's export is read through a mapping like any partner export (:mod:`.ingest`); this
module holds what is proper to forms: the cells (ISO dates and datetimes with an offset, times
read as the hour, yes/no answers, select_multiple answers as several codes), the clean tables
``data_clean/field/<table>.parquet`` (:data:`observatoire.core.schema.FIELD_TABLES`) with their
pseudonyms and de-identified free text, and the street groups (a repeat sheet) joined to their
observation by the submission's uuid.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter

import pandas as pd

from observatoire.core.free_text import KeyedNames, deidentify_each
from observatoire.core.schema import (
    FIELD_TABLES,
    YOUNG_AGE_BANDS,
    empty_field_table,
    field_dtypes,
)
from observatoire.intake.mapping import ColumnSpec, PartnerMapping, normalise_label
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.intake.readers import is_blank, map_unique

__all__ = [
    "BOOLEAN_WORDS",
    "FIELD_READ_KINDS",
    "assemble_field_tables",
    "deidentify_field_text",
    "field_rows",
    "dates_outside_sheet_month",
    "flag_project_rows",
    "participant_code",
    "session_ids",
    "sheet_month",
    "parse_booleans",
    "parse_code_sets",
    "parse_hours",
    "parse_iso_dates",
    "read_field_column",
    "relay_pseudonym_of",
]

FIELD_READ_KINDS = ("code", "codes", "hour", "boolean", "date")
"""Kinds of field-table columns read here rather than by the contact reader."""

BOOLEAN_WORDS = {
    "oui": True,
    "non": False,
    "yes": True,
    "no": False,
    "true": True,
    "false": False,
    "vrai": True,
    "faux": False,
    "1": True,
    "0": False,
}
"""Yes/no answers as KoboToolbox (« XML values »: the choice names), ODK and spreadsheets
write them (normalised: no case, no accent)."""

ISO_DAY = re.compile(
    r"^(\d{4}-\d{2}-\d{2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
CLOCK = re.compile(
    r"^(?:\d{4}-\d{2}-\d{2}[T ])?(\d{1,2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$"
)
SHOWN_CODE = 40
"""An unknown code is named in the quarantine's column (cut to this length)."""


def _blank(v: object) -> bool:
    """Blank cell, ``None``, NaN or ``pd.NA`` (an unmapped field)."""
    return v is None or v is pd.NA or is_blank(v)


RELAY_PURPOSE = "relay"
"""Purpose prefix of a volunteer's pseudonym (``relay_id`` of the relays' tables)."""


def _relay_code(value: object) -> str | None:
    return None if _blank(value) else str(value).strip().upper()


def relay_pseudonym_of(code: str, pseudo: Pseudonymiser) -> str:
    """The pseudonym ingest gives to a volunteer's code (``relay_id``; same normalisation: the
    code's case and surrounding spaces do not matter), for the coordinator's lookup
    (``observatoire pseudonyme --volontaire``)."""
    normalised = _relay_code(code)
    if not normalised:
        raise ValueError("code de volontaire vide")
    return pseudo.token(RELAY_PURPOSE, normalised)


def parse_iso_dates(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Dates as forms export them: ``2024-03-15``, ``2024-03-15T22:40:00.000+01:00`` (the
    date as the phone wrote it: the offset is the phone's, not converted), or a date cell of a
    workbook. Returns (``datetime64[s]``, NaT when blank or bad; mask of unreadable cells)."""

    def one(v: object) -> object:
        if is_blank(v):
            return pd.NaT
        if isinstance(v, dt.datetime):
            return pd.Timestamp(v.date())
        if isinstance(v, dt.date):
            return pd.Timestamp(v)
        match = ISO_DAY.match(str(v).strip())
        if match is None:
            return pd.NaT
        try:
            return pd.Timestamp(dt.date.fromisoformat(match.group(1)))
        except ValueError:
            return pd.NaT

    blank = map_unique(values, is_blank).astype(bool)
    parsed = pd.to_datetime(map_unique(values, one), errors="coerce").astype("datetime64[s]")
    return parsed, parsed.isna() & ~blank


def parse_hours(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The hour of the day (0–23) of a time (``22:40:00.000+01:00``, ``22:40``), a datetime,
    a time cell, or a whole number 0–23. The clock time is read as the phone wrote it (the local
    time: the offset is not applied). Returns (``Int64``; mask unreadable; mask out of 0–23)."""

    def one(v: object) -> object:
        if is_blank(v):
            return None
        if isinstance(v, dt.datetime | dt.time):
            return v.hour
        if isinstance(v, int | float) and not isinstance(v, bool):
            return int(v) if float(v).is_integer() else "bad"
        text = str(v).strip()
        if re.fullmatch(r"\d{1,2}", text):
            return int(text)
        match = CLOCK.match(text)
        if match is None or int(match.group(2)) > 59:
            return "bad"
        return int(match.group(1))

    raw = map_unique(values, one)
    bad = raw.map(lambda x: x == "bad").astype(bool)
    hours = pd.to_numeric(raw.where(~bad), errors="coerce").astype("Int64")
    out = hours.notna() & ~hours.between(0, 23).fillna(False)
    return hours.where(~out), bad, out.astype(bool)


def parse_booleans(values: pd.Series, codes: dict[str, str] | None) -> tuple[pd.Series, pd.Series]:
    """Yes/no answers: :data:`BOOLEAN_WORDS`, or the mapping's ``codes`` translating into
    ``oui`` / ``non``. Returns (``boolean``; mask of values that are neither)."""

    def one(v: object) -> object:
        if is_blank(v):
            return None
        key = normalise_label(v)
        if isinstance(v, float) and v.is_integer():
            key = str(int(v))
        if codes and key in codes:
            return codes[key] == "oui"
        return BOOLEAN_WORDS.get(key, "bad")

    raw = map_unique(values, one)
    bad = raw.map(lambda x: x == "bad").astype(bool)
    return raw.where(~bad).astype("boolean"), bad


def parse_code_sets(
    values: pd.Series, codes: dict[str, str] | None, separator: str | None
) -> tuple[pd.Series, pd.Series]:
    """Answers of one code (``separator`` None) or several (a select_multiple: « verbale
    menaces »), each translated by ``codes`` (normalised label → canonical code); a field
    without a closed list (``codes`` None) keeps the values as written. Returns the canonical
    codes, sorted and separated by one space ("" when none), and per row the first value that no
    list names (None when all are known)."""

    def one(v: object) -> tuple[str, str | None]:
        if is_blank(v):
            return "", None
        text = str(v).strip()
        if isinstance(v, float) and v.is_integer():
            text = str(int(v))
        items = (
            text.split(separator)
            if separator and separator.strip()
            else (text.split() if separator else [text])
        )
        found: set[str] = set()
        for item in (i.strip() for i in items):
            if not item:
                continue
            if codes is None:
                found.add(item)
            elif normalise_label(item) in codes:
                found.add(codes[normalise_label(item)])
            else:
                return "", item[:SHOWN_CODE]
        return " ".join(sorted(found)), None

    pairs = map_unique(values, one)
    return pairs.map(lambda p: p[0]), pairs.map(lambda p: p[1])


def read_field_column(
    values: pd.Series, col: ColumnSpec, label: str, date_format: str
) -> tuple[pd.Series, list[tuple[pd.Series, str, pd.Series | str]]]:
    """One column of a field export: its parsed values and the problems found, as
    (row mask, quarantine reason, column named) triples."""
    problems: list[tuple[pd.Series, str, pd.Series | str]] = []
    kind = col.kind
    if kind == "date":
        if date_format == "%Y-%m-%d":
            parsed, bad = parse_iso_dates(values)
        else:
            from observatoire.intake.readers import parse_dates

            parsed, bad = parse_dates(values, date_format)
        problems.append((bad, "date_illisible", label))
    elif kind == "hour":
        parsed, bad, out = parse_hours(values)
        problems.append((bad, "heure_illisible", label))
        problems.append((out, "valeur_hors_plage", label))
    elif kind == "boolean":
        parsed, bad = parse_booleans(values, col.codes)
        problems.append((bad, "code_inconnu", label))
    else:  # code, codes
        separator = col.multiple if kind == "codes" else None
        codes = col.codes if (col.codes or col.canonical_codes) else None
        parsed, unknown = parse_code_sets(values, codes, separator)
        named = unknown.map(lambda c: f"{label} (code « {c} »)" if c is not None else label)
        problems.append((unknown.notna(), "code_inconnu", named))
        parsed = parsed.where(parsed != "") if kind == "code" else parsed
    return parsed, problems


PARTICIPANT_PURPOSE = "participant"
"""Purpose prefix of a project participant's pseudonym (``participant_id``)."""


def participant_code(value: object) -> str | None:
    """A participant's code as hashed: upper case, surrounding spaces removed (as the contacts'
    ``record_key`` normalises a partner's person id); None when blank."""
    return None if _blank(value) else str(value).strip().upper()


MONTH_WORDS = {
    "janv": 1,
    "fevr": 2,
    "fev": 2,
    "mars": 3,
    "avr": 4,
    "mai": 5,
    "juin": 6,
    "juil": 7,
    "aout": 8,
    "sept": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
"""Beginnings of the French month names (no accent), as a month sheet is named."""


def sheet_month(name: str) -> tuple[int | None, int] | None:
    """The month a sheet's name says (« Janvier », « janv. 2024 », « 2024-03 », « 03-2024 »):
    (year or None, month), or None when the name says no month."""
    text = normalise_label(name)
    iso = re.search(r"(\d{4})[-_/. ](\d{1,2})\b", text) or re.search(
        r"\b(\d{1,2})[-_/. ](\d{4})", text
    )
    if iso:
        a, b = iso.groups()
        year, month = (int(a), int(b)) if len(a) == 4 else (int(b), int(a))
        return (year, month) if 1 <= month <= 12 else None
    word = re.match(r"([a-z]+)", text)
    if word is None:
        return None
    month = next((m for w, m in MONTH_WORDS.items() if word.group(1).startswith(w)), None)
    if month is None:
        return None
    year = re.search(r"\b(\d{4})\b", text)
    return (int(year.group(1)) if year else None, month)


def dates_outside_sheet_month(sheet: str, dates: pd.Series) -> str | None:
    """A French warning when rows of a month sheet are dated in another month (a typing slip
    or a row pasted in the wrong sheet: kept, said); None otherwise."""
    said = sheet_month(sheet)
    if said is None:
        return None
    year, month = said
    d = pd.to_datetime(dates).dropna()
    outside = (d.dt.month != month) | (d.dt.year != year if year else False)
    if not outside.any():
        return None
    return (
        f"feuille « {sheet} » : {int(outside.sum())} ligne(s) datée(s) hors du mois que nomme la "
        "feuille (gardées ; vérifiez la date ou la feuille)."
    )


def session_ids(out: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """The ``activity_id`` of each row of a project's activities or attendance: the one the
    source gives, else « <date ISO>|<activity>|<n> », n = 1, 2… numbering the sessions of the
    same activity on the same day in the sheet's order (its rows; a grid's session columns).
    None when neither can be made (no date or no activity: the row is set aside anyway)."""
    given = out["activity_id"] if "activity_id" in out else pd.Series(None, index=out.index)
    given = given.map(lambda v: None if _blank(v) else str(v).strip())
    if "date" not in out or "activity" not in out:
        return given
    date = pd.to_datetime(out["date"])
    activity = out["activity"].map(lambda v: None if _blank(v) else str(v))
    order = rows["@session"] if "@session" in rows else rows["source_row"]
    known = date.notna() & activity.notna()
    n = pd.Series(pd.NA, index=out.index, dtype="Int64")
    if known.any():
        keys = pd.DataFrame({"d": date[known], "a": activity[known], "o": order[known].astype(int)})
        n[known] = keys.groupby(["d", "a"])["o"].rank(method="dense").astype("int64")
    derived = pd.Series(
        [
            f"{d.date().isoformat()}|{a}|{int(k)}" if ok else None
            for d, a, k, ok in zip(date, activity, n, known, strict=True)
        ],
        index=out.index,
        dtype=object,
    )
    return given.where(given.notna(), derived)


def flag_project_rows(table: str, out: pd.DataFrame, rows: pd.DataFrame, found, flag) -> None:
    """Rules of a project's records, before anything is kept: the session key of activities and
    attendance (:func:`session_ids`, set in ``out``), a participant with neither code nor name
    (``identite_manquante``), the same participant twice in one session (``ligne_dupliquee``)."""
    if table in ("project_activities", "project_attendance"):
        out["activity_id"] = session_ids(out, rows)
    if table not in ("project_attendance", "project_followups"):
        return
    code = pd.Series(
        [participant_code(v) for v in out.get("participant_id", [None] * len(out))],
        index=out.index,
        dtype=object,
    )
    named = pd.Series(None, index=out.index, dtype=object)
    if "surname" in out:
        parts = [out[c] for c in ("surname", "first_name", "birth_date") if c in out]
        named = pd.Series(
            [
                "|".join("" if _blank(v) else str(v).strip().upper() for v in r)
                for r in zip(*parts, strict=True)
            ],
            index=out.index,
            dtype=object,
        ).where(out["surname"].map(lambda v: not _blank(v)))
    who = code.where(code.notna(), named)
    column = found.get("participant_id", found.get("surname", "participant_id"))
    flag(who.isna(), "identite_manquante", column)
    if table == "project_attendance" and "activity_id" in out:
        keys = pd.DataFrame({"s": out["activity_id"], "w": who})
        flag(keys.notna().all(axis=1) & keys.duplicated(keep="first"), "ligne_dupliquee", column)


def _participants(
    frame: pd.DataFrame, out: pd.DataFrame, partner: PartnerMapping, table: str, pseudo, spec
) -> None:
    """Pseudonymise a project's participants in ``out``: ``participant_id`` keyed (purpose
    ``participant``) on « <projet>:<CODE> », or without a code on « <projet>:<tok_surname>:
    <tok_first_name>:<tok_birth_date> »; ``person_key`` the contacts' ``record_key`` of
    « <person_partner>:<CODE> » when the mapping declares ``person_partner``; the names and the
    birth date only as their linkage tokens (:func:`observatoire.intake.identity.
    name_date_tokens`). Nothing in clear remains."""
    from observatoire.intake.identity import name_date_tokens

    pid = partner.partner_id
    idx = frame.index

    def col(name: str) -> pd.Series:
        return frame[name] if name in frame else pd.Series(None, index=idx, dtype=object)

    code = pd.Series([participant_code(v) for v in col("participant_id")], index=idx, dtype=object)
    birth = pd.to_datetime(col("birth_date"), errors="coerce")
    tokens = name_date_tokens(col("surname"), col("first_name"), birth, pseudo)
    by_names = [
        None if _blank(s) else f"{pid}:{s}:{'' if _blank(f) else f}:{'' if _blank(b) else b}"
        for s, f, b in zip(
            tokens["tok_surname"], tokens["tok_first_name"], tokens["tok_birth_date"], strict=True
        )
    ]
    keyed = pd.Series(
        [f"{pid}:{c}" if c is not None else n for c, n in zip(code, by_names, strict=True)],
        index=idx,
        dtype=object,
    )
    out["participant_id"] = pseudo.tokens(PARTICIPANT_PURPOSE, keyed).fillna("")
    column = spec.columns.get("participant_id") if spec is not None else None
    owner = column.person_partner if column is not None else None
    if "person_key" in out:
        record = pd.Series(
            [None if c is None or owner is None else f"{owner}:{c}" for c in code],
            index=idx,
            dtype=object,
        )
        out["person_key"] = pseudo.tokens("record", record).fillna("")
    for name in ("tok_surname", "tok_first_name", "tok_birth_date"):
        if name in out:
            out[name] = tokens[name].fillna("").astype(object)


def field_rows(
    frame: pd.DataFrame,
    partner: PartnerMapping,
    table: str,
    file_year: int | None,
    pseudo: Pseudonymiser,
    spec=None,
) -> pd.DataFrame:
    """The kept rows of one field export in the clean table's columns and dtypes.

    ``submission_id``: the export's ``_uuid`` (« <fichier>:<ligne> » when the source has
    none); ``year``: the year of the row's date, else the export's (file name); identities
    pseudonymised: the incident author's person id hashed like the contacts' record key of the
    service that wrote it (``record`` of « <service>:<ID> », so it meets that service's
    ``record_key``), a relay's volunteer code hashed once for the whole project (``relay``),
    so the service sheets and the allowance sheet name the same volunteer alike."""
    fields = FIELD_TABLES[table]
    dtypes = field_dtypes(table)
    n = len(frame)
    out = pd.DataFrame(index=frame.index)
    out["partner_id"] = partner.partner_id
    own = frame.get("submission_id")
    fallback = frame["source_file"].astype(str) + ":" + frame["source_row"].astype(str)
    if "@cell" in frame:  # a grid's cells: one person's row holds several presences
        fallback = fallback + ":" + frame["@cell"].astype(str)
    if own is None:
        out["submission_id"] = fallback
    else:
        text = own.map(lambda v: "" if _blank(v) else str(v).strip())
        out["submission_id"] = text.where(text != "", fallback)
    version = frame.get("form_version")
    out["form_version"] = (
        "" if version is None else version.map(lambda v: "" if _blank(v) else str(v).strip())
    )
    if table == "project_budget" and file_year is not None:
        # a planned line without date: the year's 1 January
        date = frame["date"] if "date" in frame else pd.Series(pd.NaT, index=frame.index)
        frame = frame.assign(
            date=pd.to_datetime(date).fillna(pd.Timestamp(file_year, 1, 1)).astype("datetime64[s]")
        )
    if "date" in frame:
        years = pd.to_datetime(frame["date"]).dt.year.astype("Int64")
        out["year"] = years.fillna(file_year if file_year is not None else pd.NA)
    else:
        out["year"] = pd.Series(file_year, index=frame.index, dtype="Int64")
    for name, f in fields.items():
        if name in ("submission_id", "form_version"):
            continue
        values = frame[name] if name in frame else pd.Series(pd.NA, index=frame.index)
        if f.kind in ("text", "free_text", "code", "codes"):
            values = values.map(lambda v: "" if _blank(v) else str(v))
        out[name] = (
            values.astype(object) if f.kind in ("text", "free_text", "code", "codes") else values
        )
    if table == "incidents" and "person_id" in frame:
        service = out["service"].where(out["service"] != "", partner.partner_id)
        ids = frame["person_id"].map(lambda v: None if _blank(v) else str(v).strip().upper())
        keyed = pd.Series(
            [None if _blank(i) else f"{s}:{i}" for s, i in zip(service, ids, strict=True)],
            index=frame.index,
            dtype=object,
        )
        out["person_id"] = pseudo.tokens("record", keyed).fillna("")
    if "relay_id" in fields and "relay_id" in frame:
        codes = frame["relay_id"].map(_relay_code)
        out["relay_id"] = pseudo.tokens(RELAY_PURPOSE, codes).fillna("")
    if "participant_id" in fields:
        _participants(frame, out, partner, table, pseudo, spec)
    out["source_file"] = frame["source_file"].astype(str)
    out["source_row"] = frame["source_row"].astype("int64")
    if n == 0:
        return empty_field_table(table)
    year = out["year"]
    out["year"] = year.fillna(-1).astype("int64")
    return _typed(out, dtypes)


def _typed(frame: pd.DataFrame, dtypes: dict[str, str]) -> pd.DataFrame:
    out = frame[list(dtypes)].copy()
    for name, dtype in dtypes.items():
        if dtype == "datetime64[s]":
            out[name] = pd.to_datetime(out[name]).astype(dtype)
        elif dtype in ("Int64", "boolean", "float64", "int64"):
            out[name] = (
                pd.to_numeric(out[name], errors="coerce") if dtype != "boolean" else out[name]
            )
            out[name] = out[name].astype(dtype)
        else:
            out[name] = out[name].astype(object)
    return out


def _attendance_from_sessions(attendance: pd.DataFrame, activities: pd.DataFrame) -> None:
    """Attendance rows without date or activity (a form's repeat sheet) take their session's,
    in place (and its year and form version), by project and ``activity_id``."""
    if not len(attendance) or not len(activities):
        return
    keys = ["partner_id", "activity_id"]
    parent = activities.drop_duplicates(keys).set_index(keys)
    at = pd.MultiIndex.from_frame(attendance[keys])
    no_date = attendance["date"].isna()

    def theirs(name: str) -> pd.Series:
        return pd.Series(parent[name].reindex(at).to_numpy(), index=attendance.index)

    for name in ("date", "activity", "year", "form_version"):
        mine, other = attendance[name], theirs(name)
        if name in ("date", "year"):
            empty = no_date & other.notna()
        else:
            empty = (mine.astype(str) == "") & other.notna()
        attendance[name] = mine.where(~empty, other).astype(mine.dtype)


def deidentify_field_text(
    tables: dict[str, pd.DataFrame], names: KeyedNames | None = None
) -> dict[str, dict[str, int]]:
    """Replace, in place, every identity in the free text of the field tables (the notes, the
    testimonies) by a placeholder, before anything is written: the rules, the keyed lists of the
    names seen in this run's exports (``names``) and the French NLP layer
    (:func:`observatoire.core.free_text.deidentify_each`). Returns the spans replaced by
    « table.column » and kind."""
    found: dict[str, dict[str, int]] = {}
    for table, frame in tables.items():
        for name, f in FIELD_TABLES[table].items():
            if f.kind != "free_text" or name not in frame or frame.empty:
                continue
            texts = ["" if pd.isna(v) else str(v) for v in frame[name]]
            cleaned = deidentify_each(texts, names=names, nlp=True)
            counts: Counter[str] = Counter()
            for _, c in cleaned:
                counts.update(c)
            frame[name] = pd.Series([c[0] for c in cleaned], index=frame.index, dtype=object)
            if counts:
                found[f"{table}.{name}"] = dict(sorted(counts.items()))
    return found


def assemble_field_tables(
    frames: dict[str, list[pd.DataFrame]], names: KeyedNames | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, int]]]:
    """Every field table (empty ones included), sorted by file and row; the street
    observations' ``persons_met`` / ``young_met`` derived from their groups where the mapping
    did not read them (the sum of the groups' sizes; young: bands 15–17 and 18–25; 0 for an
    observation without group), the groups' year and form version taken from their observation;
    free text de-identified. Returns the tables and the de-identification counts."""
    tables: dict[str, pd.DataFrame] = {}
    for table in FIELD_TABLES:
        parts = [f for f in frames.get(table, []) if len(f)]
        tables[table] = (
            pd.concat(parts, ignore_index=True)
            .sort_values(["source_file", "source_row"], ignore_index=True)
            .astype(field_dtypes(table))
            if parts
            else empty_field_table(table)
        )
    obs, groups = tables["street_observations"], tables["street_groups"]
    if len(groups) and len(obs):
        parent = obs.drop_duplicates("submission_id").set_index("submission_id")
        groups["year"] = groups["submission_id"].map(parent["year"]).fillna(groups["year"])
        groups["year"] = groups["year"].astype("int64")
        version = groups["submission_id"].map(parent["form_version"]).fillna("")
        groups["form_version"] = groups["form_version"].where(groups["form_version"] != "", version)
    _attendance_from_sessions(tables["project_attendance"], tables["project_activities"])
    if len(obs):
        sizes = groups["size"].fillna(0).astype("int64")
        young = sizes.where(groups["age_band"].isin(YOUNG_AGE_BANDS), 0)
        total = sizes.groupby(groups["submission_id"]).sum()
        young_total = young.groupby(groups["submission_id"]).sum()
        for name, sums in (("persons_met", total), ("young_met", young_total)):
            derived = obs["submission_id"].map(sums).fillna(0).astype("Int64")
            obs[name] = obs[name].where(obs[name].notna(), derived).astype("Int64")
    counts = deidentify_field_text(tables, names)
    return tables, counts
