"""Ingest: read every partner export through its mapping, pseudonymise, set bad rows aside.

This is the only step that sees identities in clear. What leaves it: canonical contact rows
(with a keyed ``record_key`` instead of the partner's client id, and age instead of birth date),
keyed linkage tokens, refusals, per-file row accounting, and the quarantine of raw rows (which
stays beside the raw data, out of git and out of ``outputs/``).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.core.dispositifs import NIGHT_STAYS
from observatoire.core.errors import ExportRejected
from observatoire.core.schema import QUARANTINE_REASONS, TABLE_FIELDS
from observatoire.core.storage import sha256_file
from observatoire.intake.identity import (
    initials_of,
    normalise_initials,
    normalise_name,
    phonetic_fr,
    spelling_neighbourhood,
    swap_day_month,
)
from observatoire.intake.mapping import ExportSpec, PartnerMapping, normalise_label
from observatoire.intake.pseudonymise import Pseudonymiser
from observatoire.intake.readers import (
    is_blank,
    map_unique,
    parse_dates,
    parse_decimals,
    parse_integers,
    read_export,
)

__all__ = [
    "MAX_PROBLEMS_LISTED",
    "FileResult",
    "IngestResult",
    "Problem",
    "duplicate_file_result",
    "export_year",
    "ingest_network",
    "network_ids",
    "normalise_person_id",
    "pseudonymise_contacts",
    "read_partner_file",
]

MAX_PROBLEMS_LISTED = 200


@dataclass
class Problem:
    """One reason a row was set aside, located for the partner (line and column)."""

    line: int
    source_row: int
    column: str
    reason: str


@dataclass
class FileResult:
    """What reading one file produced, and its accounting: read = accepted + quarantined."""

    partner_id: str
    export: str
    table: str
    source_file: str
    sha256: str
    rows_read: int = 0
    accepted: pd.DataFrame | None = None
    quarantined: pd.DataFrame | None = None
    problems: list[Problem] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    missing_optional: list[str] = field(default_factory=list)
    duplicate_of: str | None = None

    @property
    def rows_accepted(self) -> int:
        return 0 if self.accepted is None else len(self.accepted)

    @property
    def rows_quarantined(self) -> int:
        return 0 if self.quarantined is None else len(self.quarantined)

    @property
    def reasons(self) -> dict[str, int]:
        if self.quarantined is None or self.quarantined.empty:
            return {}
        return dict(sorted(Counter(self.quarantined["reason"]).items()))

    def accounting(self) -> dict[str, object]:
        return {
            "partner_id": self.partner_id,
            "export": self.export,
            "table": self.table,
            "sha256": self.sha256,
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "reasons": self.reasons,
            "extra_columns": self.extra_columns,
            "missing_optional_columns": self.missing_optional,
            "duplicate_of": self.duplicate_of,
        }


def export_year(spec: ExportSpec, path: Path) -> int | None:
    """The year an export covers, read from its file name with the mapping's pattern."""
    if not spec.period_from_filename:
        return None
    match = re.search(spec.period_from_filename, path.name)
    return int(match.group("year")) if match else None


def _resolve_columns(
    spec: ExportSpec, header: list[str], partner: PartnerMapping, name: str
) -> tuple[dict[str, str], list[str], list[str]]:
    """Map canonical fields to the file's actual labels (aliases included)."""
    by_norm = {normalise_label(h): h for h in header if h}
    found: dict[str, str] = {}
    missing_required, missing_optional = [], []
    for fname, col in spec.columns.items():
        label = next(
            (by_norm[normalise_label(x)] for x in col.labels() if normalise_label(x) in by_norm),
            None,
        )
        if label is None:
            (missing_required if col.required else missing_optional).append(col.column)
        else:
            found[fname] = label
    if missing_required:
        # No expected label at all: the "header" is probably a data row (header line missing or
        # `header_row` wrong), so its cells may be names or birth dates: never echo them.
        present = (
            f"Colonnes présentes : {', '.join(h for h in header if h)}."
            if found
            else f"Aucune colonne attendue n'est reconnue à la ligne {spec.format.header_row} : "
            "la ligne des titres de colonnes manque peut-être (son contenu n'est pas affiché, "
            "il peut contenir des données personnelles)."
        )
        raise ExportRejected(
            partner.partner_id,
            name,
            "colonne(s) obligatoire(s) absente(s) : "
            + ", ".join(f"« {c} »" for c in missing_required)
            + f". {present}",
            "demandez au partenaire un export avec ces colonnes, ou, si elles ont été "
            f"renommées, ajoutez le nouveau nom dans `aliases:` de params/partners/"
            f"{partner.partner_id}.yaml.",
        )
    used = set(found.values())
    extra = [h for h in header if h and h not in used]
    return found, extra, missing_optional


def read_partner_file(
    path: Path,
    rel_name: str,
    partner: PartnerMapping,
    spec: ExportSpec,
) -> tuple[FileResult, pd.DataFrame]:
    """Read and check one export. Returns the accounting and the parsed canonical frame.

    The canonical frame still holds identity values in clear: only :func:`pseudonymise_contacts`
    may turn it into something that leaves ingest. Rows set aside are in ``result.quarantined``
    (raw cells, reason, line, column). Raises :class:`ExportRejected` if the file is unreadable.
    """
    result = FileResult(partner.partner_id, spec.name, spec.table, rel_name, sha256_file(path))
    raw = read_export(path, spec.format, partner.partner_id, rel_name)
    found, result.extra_columns, result.missing_optional = _resolve_columns(
        spec, raw.header, partner, rel_name
    )
    rows = raw.rows
    result.rows_read = len(rows)
    fmt = spec.format
    fields = TABLE_FIELDS[spec.table]
    out = pd.DataFrame(index=rows.index)
    reason = pd.Series(pd.NA, index=rows.index, dtype=object)
    reason_col = pd.Series(pd.NA, index=rows.index, dtype=object)

    def flag(mask: pd.Series, code: str, column: str) -> None:
        new = mask & reason.isna()
        reason[new] = code
        reason_col[new] = column

    # Total rows and exact duplicates are recognised on the raw cells, before any parsing.
    cells = rows[[c for c in rows.columns if c not in ("source_row", "line")]]
    as_text = cells.apply(
        lambda col: map_unique(col, lambda v: "" if is_blank(v) else str(v).strip())
    )
    first_cells = pd.Series("", index=rows.index, dtype=object)
    for col in reversed(as_text.columns):
        first_cells = as_text[col].where(as_text[col] != "", first_cells)
    flag(
        map_unique(
            first_cells, lambda v: normalise_label(v or "").startswith(("total", "sous-total"))
        ).astype(bool),
        "ligne_total",
        cells.columns[0],
    )
    flag(as_text.duplicated(keep="first"), "ligne_dupliquee", "(ligne entière)")

    for fname, col in spec.columns.items():
        label = found.get(fname)
        if label is None:
            out[fname] = pd.Series(pd.NA, index=rows.index, dtype=object)
            continue
        values = rows[label]
        kind = col.kind
        if kind == "date":
            parsed, bad = parse_dates(values, fmt.date_format)
            flag(bad, "date_illisible", label)
        elif kind == "integer":
            parsed, bad = parse_integers(values, fmt.decimal, fmt.thousands)
            flag(bad, "nombre_illisible", label)
        elif kind == "decimal":
            parsed, bad = parse_decimals(values, fmt.decimal, fmt.thousands)
            flag(bad, "nombre_illisible", label)
        elif kind == "code":
            codes = col.codes
            parsed = map_unique(
                values,
                lambda v, codes=codes: (
                    None if is_blank(v) else codes.get(normalise_label(v), "__inconnu__")
                ),
            )
            flag(parsed == "__inconnu__", "code_inconnu", label)
            parsed = parsed.where(parsed != "__inconnu__")
        else:
            parsed = map_unique(values, lambda v: None if is_blank(v) else str(v).strip())
        if col.required and kind != "date":
            code = "identite_manquante" if fields[fname].identity else "date_manquante"
            flag(parsed.isna(), code, label)
        elif col.required:
            flag(parsed.isna(), "date_manquante", label)
        out[fname] = parsed

    if spec.table == "contacts":
        has_id = pd.Series(False, index=rows.index)
        for idf in ("local_id", "initials"):
            if idf in out:
                has_id |= out[idf].notna()
        flag(~has_id, "identite_manquante", found.get("local_id", found.get("initials", "?")))

    # Dates must fall in the period the export covers.
    year = export_year(spec, path)
    date_field = "date_start" if spec.table == "contacts" else "date"
    if year is not None and date_field in out:
        d = pd.to_datetime(out[date_field])
        flag(
            d.notna() & (d.dt.year != year), "date_hors_periode", found.get(date_field, date_field)
        )

    if spec.table == "contacts" and "date_end" in out and "date_start" in out:
        ds, de = pd.to_datetime(out["date_start"]), pd.to_datetime(out["date_end"])
        flag(
            de.notna() & ds.notna() & (de < ds),
            "dates_incoherentes",
            found.get("date_end", "date_end"),
        )

    out["source_file"] = rel_name
    out["source_row"] = rows["source_row"].astype("int64")
    bad = reason.notna()
    q = rows[bad].copy()
    q.insert(0, "column", reason_col[bad])
    q.insert(0, "reason", reason[bad])
    q.insert(0, "line", q.pop("line"))
    q.insert(0, "source_row", q.pop("source_row"))
    q.insert(0, "source_file", rel_name)
    q.insert(0, "partner_id", partner.partner_id)
    result.quarantined = q.reset_index(drop=True)
    result.accepted = out[~bad].reset_index(drop=True)
    result.problems = [
        Problem(int(r.line), int(r.source_row), str(r.column), str(r.reason))
        for r in q.head(MAX_PROBLEMS_LISTED).itertuples()
    ]
    assert set(result.reasons) <= set(QUARANTINE_REASONS)
    return result, result.accepted


def duplicate_file_result(
    path: Path,
    rel_name: str,
    partner: PartnerMapping,
    spec: ExportSpec,
    kept: str,
    reason: str = "fichier_en_double",
) -> FileResult:
    """A file that must not be counted (an identical copy, or a period already covered by a
    later sending): every row is set aside with ``reason``, and the kept file is named."""
    result = FileResult(partner.partner_id, spec.name, spec.table, rel_name, sha256_file(path))
    raw = read_export(path, spec.format, partner.partner_id, rel_name)
    rows = raw.rows
    result.rows_read = len(rows)
    q = rows.copy()
    q.insert(0, "column", "(fichier entier)")
    q.insert(0, "reason", reason)
    q.insert(0, "line", q.pop("line"))
    q.insert(0, "source_row", q.pop("source_row"))
    q.insert(0, "source_file", rel_name)
    q.insert(0, "partner_id", partner.partner_id)
    result.quarantined = q.reset_index(drop=True)
    result.accepted = pd.DataFrame()
    result.duplicate_of = kept
    return result


def _age_years(birth: pd.Series, at: pd.Series) -> pd.Series:
    b, a = pd.to_datetime(birth), pd.to_datetime(at)
    before_birthday = (a.dt.month < b.dt.month) | (
        (a.dt.month == b.dt.month) & (a.dt.day < b.dt.day)
    )
    return (a.dt.year - b.dt.year - before_birthday.astype(int)).astype("Int64")


def pseudonymise_contacts(
    frame: pd.DataFrame, partner: PartnerMapping, pseudo: Pseudonymiser
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split parsed contact rows into a clean contact table and keyed linkage tokens.

    Identity values are replaced by keyed tokens here and dropped: the full birth date becomes
    the age at contact (and the birth year in the tokens), the partner's client id becomes a
    ``record_key``. Street-work rows have only initials and an estimated age.
    """
    f = frame
    pid = partner.partner_id
    date_start = pd.to_datetime(f["date_start"])
    birth = (
        pd.to_datetime(f["birth_date"]) if "birth_date" in f else pd.Series(pd.NaT, index=f.index)
    )
    est_age = (
        f["estimated_age"].astype("Int64")
        if "estimated_age" in f
        else pd.Series(pd.NA, index=f.index, dtype="Int64")
    )
    age = _age_years(birth, date_start)
    age_estimated = age.isna() & est_age.notna()
    age = age.fillna(est_age)
    sex = f["sex"].fillna("INCONNU") if "sex" in f else pd.Series("INCONNU", index=f.index)
    initials = (
        map_unique(f["initials"], normalise_initials)
        if "initials" in f
        else pd.Series("", index=f.index)
    )
    est_birth_year = (date_start.dt.year - est_age).astype("Int64")

    if "local_id" in f and f["local_id"].notna().any():
        local = (
            f["local_id"]
            .astype(object)
            .pipe(map_unique, lambda v: None if is_blank(v) else f"{pid}:{str(v).strip().upper()}")
        )
    else:
        local = pd.Series(None, index=f.index, dtype=object)
    # Street work has no client id: a record is initials + sex + estimated birth year.
    no_local = local.isna()
    local[no_local] = (
        f"{pid}:ini:"
        + initials[no_local]
        + ":"
        + sex[no_local].astype(str)
        + ":"
        + est_birth_year[no_local].astype(str)
    )
    record_key = pseudo.tokens("record", local)

    nights = (
        f["nights"].astype("Int64")
        if "nights" in f
        else pd.Series(pd.NA, index=f.index, dtype="Int64")
    )
    date_end = (
        pd.to_datetime(f["date_end"]) if "date_end" in f else pd.Series(pd.NaT, index=f.index)
    )
    if partner.dispositif in NIGHT_STAYS:
        from_dates = (date_end - date_start).dt.days.astype("Int64")
        nights = nights.fillna(from_dates)

    def col(name: str) -> pd.Series:
        return f[name] if name in f else pd.Series(None, index=f.index, dtype=object)

    contacts = pd.DataFrame(
        {
            "record_key": record_key,
            "partner_id": pid,
            "dispositif": partner.dispositif,
            "date_start": date_start.astype("datetime64[s]"),
            "date_end": date_end.astype("datetime64[s]"),
            "nights": nights,
            "year": date_start.dt.year.astype("int64"),
            "sex": sex.astype(str),
            "age_at_contact": age,
            "age_estimated": age_estimated.astype(bool),
            "nationality_group": (
                col("nationality").fillna("INCONNU")
                if "nationality" in f
                else pd.Series("INCONNU", index=f.index)
            ).astype(str),
            "exit_reason": col("exit_reason"),
            "activity": col("activity"),
            "orientation": col("orientation"),
            "zone": col("zone"),
            "duration_hours": (
                f["duration_hours"] if "duration_hours" in f else pd.Series(np.nan, index=f.index)
            ).astype("float64"),
            "source_file": f["source_file"],
            "source_row": f["source_row"].astype("int64"),
        }
    )

    surname = map_unique(col("surname"), normalise_name)
    first = map_unique(col("first_name"), normalise_name)
    birth_iso = birth.dt.strftime("%Y-%m-%d")
    swapped_iso = swap_day_month(birth).dt.strftime("%Y-%m-%d")
    empty = lambda s: s.where(s.astype(str) != "")  # noqa: E731
    tokens = pd.DataFrame(
        {
            "source_file": f["source_file"],
            "source_row": f["source_row"].astype("int64"),
            "record_key": record_key,
            "partner_id": pid,
            "dispositif": partner.dispositif,
            "sex": sex.astype(str),
            "birth_year": birth.dt.year.astype("Int64"),
            "est_birth_year": est_birth_year.where(birth.isna()),
            "tok_surname": pseudo.tokens("surname", empty(surname)),
            "tok_first_name": pseudo.tokens("first_name", empty(first)),
            "tok_surname_phon": pseudo.tokens(
                "surname_phon", empty(map_unique(surname, phonetic_fr))
            ),
            "tok_first_name_phon": pseudo.tokens(
                "first_name_phon", empty(map_unique(first, phonetic_fr))
            ),
            "tok_birth_date": pseudo.tokens("birth_date", birth_iso),
            "tok_birth_date_swapped": pseudo.tokens("birth_date", swapped_iso),
            "tok_initials": pseudo.tokens("initials", empty(initials)),
            # Linkage features (see observatoire.linkage): keyed tokens of each name's spelling
            # neighbourhood (one letter off, parts of compound names) and of the initials a
            # street worker would write for a named person.
            "tok_surname_variants": _neighbourhood_tokens(
                col("surname"), "surname_variant", pseudo
            ),
            "tok_first_name_variants": _neighbourhood_tokens(
                col("first_name"), "first_name_variant", pseudo
            ),
            "tok_name_initials": pseudo.tokens(
                "initials", empty(pd.Series(map(initials_of, first, surname), index=f.index))
            ),
            "tok_network_id": pseudo.tokens("network_id", network_ids(f, partner)),
        }
    )
    return contacts, tokens


def normalise_person_id(value: object) -> str | None:
    """A partner's person id as compared across the network: upper case, no spaces (« ab 12 »
    and « AB12 » are one id); None when blank."""
    if is_blank(value):
        return None
    return "".join(str(value).split()).upper() or None


def network_ids(frame: pd.DataFrame, partner: PartnerMapping) -> pd.Series:
    """Per row, the normalised person id when the mapping declares it network-wide
    (``local_id`` with ``scope: network``), else None; only its keyed token leaves ingest.

    The id is hashed without the partner's prefix, so that the same person id written by
    several partners' copies of one software gives one token (``record_key`` keeps the prefix:
    a record is still one partner's file)."""
    if "local_id" not in frame or not any(
        spec.columns.get("local_id") is not None and spec.columns["local_id"].scope == "network"
        for spec in partner.exports
        if spec.table == "contacts"
    ):
        return pd.Series(None, index=frame.index, dtype=object)
    return map_unique(frame["local_id"].astype(object), normalise_person_id)


def _neighbourhood_tokens(names: pd.Series, purpose: str, pseudo: Pseudonymiser) -> pd.Series:
    """Per row, the keyed tokens of the name's spelling neighbourhood (None if no name)."""
    return map_unique(
        names, lambda v: [pseudo.token(purpose, x) for x in spelling_neighbourhood(v)] or None
    )


@dataclass
class IngestResult:
    contacts: pd.DataFrame
    tokens: pd.DataFrame
    refusals: pd.DataFrame
    files: list[FileResult]


def _superseded_by(spec: ExportSpec, paths: list[Path], raw_dir: Path) -> dict[Path, str]:
    """Files of an export whose period is covered again by a later sending of the same export.

    A partner that corrects its export re-sends the same period; counting both would double the
    figures. Within one export, files covering the same year (read from the file name) are a
    re-send: the last one in name order is kept (a correction is named so that it sorts after
    the original, e.g. ``…_2024_v2.csv`` or ``…_2024_corrige.csv``), the others are set aside.
    Byte-identical copies are caught earlier by content hash.
    """
    by_year: dict[int, list[Path]] = {}
    for path in paths:
        year = export_year(spec, path)
        if year is not None:
            by_year.setdefault(year, []).append(path)
    superseded: dict[Path, str] = {}
    for same_period in by_year.values():
        if len(same_period) > 1:
            ordered = sorted(same_period, key=lambda p: p.name)
            hashes = {sha256_file(p) for p in ordered}
            if len(hashes) == 1:
                continue  # identical copies: the content-hash rule says which one was kept
            kept = ordered[-1].relative_to(raw_dir).as_posix()
            for older in ordered[:-1]:
                superseded[older] = kept
    return superseded


def _sort_key(path: Path) -> tuple[int, str]:
    return (len(path.parts), path.as_posix())


def ingest_network(
    raw_dir: Path, partners: dict[str, PartnerMapping], pseudo: Pseudonymiser, progress=print
) -> IngestResult:
    """Read every export of every partner; rejected files stop the run (nothing is written)."""
    contacts, tokens, refusals, files = [], [], [], []
    seen_hashes: dict[str, str] = {}
    for partner in partners.values():
        for spec in partner.exports:
            paths = sorted(raw_dir.glob(spec.files), key=_sort_key)
            if not paths:
                raise ExportRejected(
                    partner.partner_id,
                    f"{raw_dir}/{spec.files}",
                    f"aucun fichier « {spec.name} » trouvé.",
                    "déposez l'export du partenaire dans ce dossier (voir README), ou retirez "
                    "cet export de sa correspondance s'il n'existe plus.",
                )
            superseded = _superseded_by(spec, paths, raw_dir)
            for path in paths:
                rel = path.relative_to(raw_dir).as_posix()
                if path in superseded:
                    kept = superseded[path]
                    res = duplicate_file_result(
                        path, rel, partner, spec, kept, reason="periode_deja_couverte"
                    )
                    files.append(res)
                    progress(
                        f"  {rel} : même période que {kept}, envoi plus récent conservé ; "
                        f"{res.rows_read} lignes mises de côté"
                    )
                    continue
                digest = sha256_file(path)
                if digest in seen_hashes:
                    res = duplicate_file_result(path, rel, partner, spec, seen_hashes[digest])
                    files.append(res)
                    progress(
                        f"  {rel} : copie identique de {res.duplicate_of}, ignorée "
                        f"({res.rows_read} lignes mises de côté)"
                    )
                    continue
                seen_hashes[digest] = rel
                res, frame = read_partner_file(path, rel, partner, spec)
                files.append(res)
                progress(
                    f"  {rel} : {res.rows_read} lignes lues, {res.rows_accepted} acceptées, "
                    f"{res.rows_quarantined} mises de côté"
                )
                if spec.table == "contacts":
                    c, t = pseudonymise_contacts(frame, partner, pseudo)
                    contacts.append(c)
                    tokens.append(t)
                else:
                    refusals.append(
                        pd.DataFrame(
                            {
                                "partner_id": partner.partner_id,
                                "dispositif": partner.dispositif,
                                "date": pd.to_datetime(frame["date"]).astype("datetime64[s]"),
                                "refusals": frame["refusals"].astype("int64"),
                                "source_file": frame["source_file"],
                                "source_row": frame["source_row"].astype("int64"),
                            }
                        )
                    )
    order = ["source_file", "source_row"]
    all_contacts = pd.concat(contacts, ignore_index=True).sort_values(order, ignore_index=True)
    all_tokens = pd.concat(tokens, ignore_index=True).sort_values(order, ignore_index=True)
    all_refusals = (
        pd.concat(refusals, ignore_index=True).sort_values(order, ignore_index=True)
        if refusals
        else pd.DataFrame(
            columns=["partner_id", "dispositif", "date", "refusals", "source_file", "source_row"]
        )
    )
    return IngestResult(all_contacts, all_tokens, all_refusals, files)
