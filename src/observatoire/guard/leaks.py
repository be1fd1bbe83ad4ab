"""Leak guard: no identity read in the raw exports may reappear in ``data_clean/`` or ``outputs/``.

Ingest is the only step allowed to see names, birth dates and partner client ids in clear. A later
stage that copies an identity column, a notebook that prints a raw row or a Data Docs page that
shows an unexpected value would publish them without anyone noticing; so this guard reads every
export of every partner through its mapping, collects those values *by record* (one raw row: a
person's surname, first name, birth date, client id) and looks for them in every file downstream.
The values are kept as keyed hashes only (:class:`Identities`), collected once by the stage
``identity_index`` and loaded from its index by the guard and the reports
(:mod:`observatoire.guard.index`).
The stage ``leak_guard`` runs on the computed outputs before any report is rendered; each report
stage then scans its own rendered files in their staging folder (:func:`check_before_publishing`)
and publishes nothing on a hit, so a failing run leaves the previous publication in place.

Evidence is a record, not a word. A sample of thousands of people holds surnames that are also
words of the reports (« Cles » in « Chiffres clés », « Winter », « Wilson », « Lang »); a guard
that fired on a lone word had to be patched one stop word at a time. Here a hit is:

- two values of one record within :data:`WINDOW` words on a line: a surname and that person's
  first name, birth date or client id (« M. WOUTERS Jean », « WOUTERS (01/10/1970) »);
- a value that identifies alone: a partner client id (as a whole token, also inside paths:
  ``dossier_AN-001222.pdf``; numeric ids of fewer than 6 digits and ids of fewer than 4
  characters cannot be told from counts and codes: « non vérifiables »), or a compound surname
  of two distinctive parts (« Dupré-Lefèvre »);
- in a table, a column whose header declares an identity (« nom », « naissance ») with a cell
  that is wholly such a value, or a person-level column (:func:`column_findings`);
- in the text columns of kept tables, any identity the free-text detector
  (:mod:`observatoire.core.free_text`) recognises: a third person no export names.

Names are matched as whole normalised words (case and accents ignored), never as substrings:
« Martin » does not match « Martinique ». Compound names are searched as the full phrase and by
their distinctive parts (particles such as « van », « de », « el » excepted). Birth dates are
searched in the forms they get written (1978-11-12, 12/11/1978, 12-11-1978, 12.11.1978,
1978/11/12) and as the raw text of the export. Initials are not searched at all.

Where data can sit is searched, not the machinery around it: Parquet text columns (and date
columns in ISO form), every text file (CSV, JSON, Markdown, QMD, Typst, logs...), PDF text
(pypdf), notebook cells and outputs, Office documents' XML. In HTML, SVG and XML, text, text
attributes and the string literals of scripts are searched, not tag names, style sheets, comments
or library code; in notebook code cells, only string literals. Otherwise every CSS keyword and
JavaScript identifier (« block », « parent », « close ») would be a surname found on every run.
Images and fonts are skipped.

Each text is normalised and tokenised once and its tokens intersected with the identity sets
(no regex per name: the sample alone has some 15 000 distinct names); only a text where some
value is present is re-read line by line, value by value, for evidence and its place. The report
(``outputs/metrics/leak_guard.json``) gives counts, kinds and places, never the values themselves,
and a path or column name that itself holds an identity is masked.
"""

from __future__ import annotations

import bisect
import contextlib
import csv
import html
import io
import json
import re
import sys
import time
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.errors import ObservatoireError
from observatoire.core.free_text import EVIDENCE as FREE_TEXT_EVIDENCE
from observatoire.core.free_text import KeyedNames, deidentify_each, keyed_token, normalise_name
from observatoire.core.free_text import detect as detect_free_text
from observatoire.core.storage import sha256_file, write_json
from observatoire.core.workers import fork_context, worker_processes
from observatoire.intake.discovery import find_raw_files
from observatoire.intake.mapping import (
    ColumnSpec,
    ExportSpec,
    FileFormat,
    PartnerMapping,
    load_partners,
    normalise_label,
)
from observatoire.intake.readers import is_blank, parse_dates, read_export, workbook_sheets

__all__ = [
    "ARROW_TYPES",
    "BIRTH_DATE",
    "CLIENT_ID",
    "DATE_FORMATS",
    "FIELD_DIR",
    "FIELD_KINDS",
    "FIELD_TEXT_COLUMNS",
    "FIRST_NAME",
    "KINDS",
    "MARKUP_TYPES",
    "MAX_LOCATIONS",
    "MIN_ID_CHARS",
    "MIN_NAME_LETTERS",
    "MIN_NUMERIC_ID_DIGITS",
    "MIN_PART_LETTERS",
    "NO_IDENTITY_DECLARED",
    "PARTICLES",
    "REPORT",
    "SCAN_ROOTS",
    "SKIPPED_TYPES",
    "THIRD_PARTY",
    "WINDOW",
    "MIN_PERSON_COLUMN_VALUES",
    "PURPOSES",
    "SURNAME",
    "ZIP_TYPES",
    "FileFindings",
    "Identities",
    "LeakFound",
    "ScanResult",
    "check_before_publishing",
    "identity_sources",
    "build_report",
    "column_findings",
    "header_kinds",
    "collect_identities",
    "declares_identities",
    "field_text_columns",
    "field_text_findings",
    "run_guard",
    "scan_file",
    "scan_tree",
]

REPORT = PATHS.metrics / "leak_guard.json"
SCAN_ROOTS = (PATHS.clean, PATHS.outputs)
FIELD_DIR = PATHS.clean / "field"
"""The field records' tables (issue 19): their notes and testimonies are read again by the whole
de-identification (keyed lists of names and the NLP layer), not only by the rules."""
FIELD_TEXT_COLUMNS = frozenset({"note", "text"})
"""Free-text columns of the field tables when the schema does not say (kind ``free_text``)."""

SURNAME = "nom"
FIRST_NAME = "prénom"
BIRTH_DATE = "date de naissance"
CLIENT_ID = "identifiant partenaire"
THIRD_PARTY = "identité en texte libre"
KINDS = (SURNAME, FIRST_NAME, BIRTH_DATE, CLIENT_ID, THIRD_PARTY)
FIELD_KINDS = {
    "surname": SURNAME,
    "first_name": FIRST_NAME,
    "birth_date": BIRTH_DATE,
    "local_id": CLIENT_ID,
    "participant_id": CLIENT_ID,  # a project participant's code (Housing First tenant code…)
}
"""Mapping fields whose values are searched. ``initials`` is left out on purpose (too short)."""

MIN_NAME_LETTERS = 3
MIN_PART_LETTERS = 5
MIN_NUMERIC_ID_DIGITS = 6
MIN_ID_CHARS = 4

PARTICLES = frozenset(
    ("da", "das", "de", "del", "della", "des", "di", "do", "dos", "du", "la", "le", "les")
    + ("van", "vande", "vanden", "vander", "den", "der", "ten", "ter", "von", "saint", "st")
    + ("abou", "abu", "ait", "al", "ben", "bin", "el", "ibn", "mac", "mc")
)
"""Parts of compound names that say nothing on their own (« Van » in « Van der Berg »)."""

WINDOW = 6
"""Two values of one record are evidence when at most this many words apart (« M. KOWALCZYK
Zbigniew (né le 02/05/1961) » puts the birth date 4 words after the surname); farther apart,
in prose or a table, they are two common words that happen to belong to one person."""

MIN_PERSON_COLUMN_VALUES = 3
"""A column is person-level (a list of people) when at least this many of its distinct cells,
and half of them, are whole identity values; fewer could be two labels that are also names."""

DATE_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%Y/%m/%d")
"""The forms a full birth date takes once written out, whatever the partner's own format."""

_IMAGES = ("png", "jpg", "jpeg", "gif", "ico", "bmp", "tif", "tiff", "webp", "avif")
_FONTS = ("otf", "ttf", "woff", "woff2", "eot")
SKIPPED_TYPES = frozenset((*_IMAGES, *_FONTS, "css"))
"""Binary images and fonts (nothing readable as text; charts are not OCR-ed) and style sheets
(layout only, no data, but full of words such as « block » or « Times New Roman »)."""

ARROW_TYPES = frozenset({"parquet", "feather", "arrow"})
ZIP_TYPES = frozenset({"xlsx", "xlsm", "ods", "odt", "docx", "pptx", "odp"})
MAX_LOCATIONS = 10

Entry = str | tuple[str, ...]
Hits = Counter[tuple[str, Entry]]

# --- normalisation and tokenisation -----------------------------------------------------------

_COMBINING = re.compile("[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]")
_BASE64 = re.compile(
    r"data:[\w.+/-]+;base64,[A-Za-z0-9+/=]*|(?<![A-Za-z0-9+/=])[A-Za-z0-9+/=]{200,}"
)
_JSON_UNICODE = re.compile(r"\\u([0-9a-fA-F]{4})")
_JSON_ESCAPE = re.compile(r"\\[nrtfb]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_ISO_T = re.compile(r"(\d{4}-\d{2}-\d{2})T")
_WORD = re.compile(r"[^\W_]+")
_CODE = re.compile(r"[0-9A-Z]+(?:[-/._][0-9A-Z]+)*")
_CODE_SEP = re.compile(r"([-/._])")
_HYPHENATED = re.compile(r"(\w+)-\n(\w+)")
_BREAK = "\x00"
"""A token no identity contains: put between unrelated pieces so that no phrase spans them."""
_CELL_SEP = "\n0\n"
"""Separates cell values joined into one text: ``0`` is a token that breaks every phrase."""


def _clean(text: str) -> str:
    """Undo what hides a value from a tokeniser (entities, JSON escapes, accents, base64 data).

    Base64 data (``data:`` URIs, runs of 200 characters or more) is dropped: its random letters
    would otherwise match short names.
    """
    if "base64," in text or len(text) >= 200:
        text = _BASE64.sub(" ", text)
    if "&" in text:
        text = html.unescape(text)
    if "\\" in text:
        text = _JSON_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), text)
        text = _JSON_ESCAPE.sub(" ", text)
    if "\x1b" in text:
        text = _ANSI.sub(" ", text)
    if not text.isascii():
        text = _COMBINING.sub("", unicodedata.normalize("NFKD", text))
    return text


def _words(clean: str) -> list[str]:
    """Lower-case word tokens: runs of letters and digits (hyphens and apostrophes split)."""
    return _WORD.findall(clean.lower())


def _code_runs(clean: str) -> list[str]:
    """Upper-case code tokens: letters and digits joined by ``- / . _`` (ids, dates)."""
    return _CODE.findall(_ISO_T.sub(r"\1 ", clean.upper()))


def _windows(run: str) -> Iterator[str]:
    """Proper sub-tokens of a joined code token (``X_AN-001222.PDF`` → ``AN-001222``, ...).

    A dot between two numbers is a decimal or thousands mark, never a boundary: 0.123456 must not
    yield 123456.
    """
    parts = _CODE_SEP.split(run)
    n = len(parts) // 2 + 1

    def cut(sep_index: int) -> bool:
        if sep_index < 1 or sep_index >= len(parts) - 1:
            return True
        return not (
            parts[sep_index] == "."
            and parts[sep_index - 1].isdigit()
            and parts[sep_index + 1].isdigit()
        )

    for i in range(n):
        if not cut(2 * i - 1):
            continue
        for j in range(i, min(n, i + 6)):
            if (i, j) == (0, n - 1) or not cut(2 * j + 1):
                continue
            yield "".join(parts[2 * i : 2 * j + 1])


def _code_tokens(clean: str) -> list[str]:
    runs = _code_runs(clean)
    joined = {r for r in runs if not r.isalnum()}
    if joined:
        runs.append(_BREAK)
        for run in sorted(joined):
            runs.extend(_windows(run))
    return runs


# --- identity values --------------------------------------------------------------------------


_NO_HASH = ""
"""What a token longer than every identity token hashes to: in no vocabulary (never hashed)."""


@dataclass
class _Vocabulary:
    """Identity values as sequences of keyed token hashes; one set lookup per distinct token.

    Every token is stored as its keyed hash (:func:`~observatoire.core.free_text.keyed_token`
    under the vocabulary's key and ``purpose``), never in clear, and a text is searched by
    hashing its own tokens the same way: the matching is the same as on the words themselves,
    and what is kept (in memory, in the index of :mod:`observatoire.guard.index`) gives back no
    name. Hashes are memoised (the outputs' vocabulary is bounded) and a token longer than the
    longest identity token is not hashed at all (keys, digests, long numbers).
    """

    purpose: str
    key: bytes = field(repr=False)
    singles: dict[str, set[str]] = field(default_factory=dict)
    phrases: dict[tuple[str, ...], set[str]] = field(default_factory=dict)
    longest: int = 0
    _by_first: dict[str, list[tuple[str, ...]]] = field(default_factory=dict)
    _memo: dict[str, str] = field(default_factory=dict, repr=False)

    def hashed(self, token: str) -> str:
        """The keyed hash of one token (:data:`_NO_HASH` when no identity token is as long)."""
        found = self._memo.get(token)
        if found is None:
            if len(token) > self.longest:
                return _NO_HASH
            found = self._memo[token] = keyed_token(self.key, self.purpose, token)
        return found

    def entry(self, tokens: Iterable[str]) -> Entry:
        """A value as it is kept: one hash, or a tuple of hashes for a phrase."""
        hashes = tuple(self.hashed(t) for t in tokens)
        return hashes[0] if len(hashes) == 1 else hashes

    def add(self, tokens: tuple[str, ...], kind: str) -> Entry:
        """Keep a value (its tokens in clear, hashed here); returns it as kept."""
        self.longest = max(self.longest, *(len(t) for t in tokens))
        entry = self.entry(tokens)
        self.insert(entry, kind)
        return entry

    def insert(self, entry: Entry, kind: str) -> None:
        """Keep a value already hashed (read back from the index)."""
        if isinstance(entry, str):
            self.singles.setdefault(entry, set()).add(kind)
            return
        if entry not in self.phrases:
            self._by_first.setdefault(entry[0], []).append(entry)
        self.phrases.setdefault(entry, set()).add(kind)

    def kinds(self, entry: Entry) -> set[str]:
        return self.singles[entry] if isinstance(entry, str) else self.phrases[entry]

    def present(self, tokens: Iterable[str]) -> bool:
        """Whether some token could start an identity value (a cheap gate before locating)."""
        present = {self.hashed(t) for t in set(tokens)}
        return bool(present & self.singles.keys() or present & self._by_first.keys())

    def locate(self, tokens: list[str]) -> list[tuple[int, int, Entry]]:
        """(start, end, value) of every identity value in a token sequence; the parts of a
        phrase found whole are not reported again on their own. Values are given as kept
        (hashed)."""
        hashes = [self.hashed(t) for t in tokens]
        found: list[tuple[int, int, Entry]] = []
        covered: set[int] = set()
        for i, tok in enumerate(hashes):
            for phrase in self._by_first.get(tok, ()):
                n = len(phrase)
                if tuple(hashes[i : i + n]) == phrase:
                    found.append((i, i + n, phrase))
                    covered.update(range(i, i + n))
        for i, tok in enumerate(hashes):
            if i not in covered and tok in self.singles:
                found.append((i, i + 1, tok))
        return found


@dataclass(frozen=True)
class _Hit:
    """One identity value found at a token position, with the records it belongs to."""

    start: int
    end: int
    kind: str
    entry: Entry
    records: frozenset[int]
    strong: bool


PURPOSES = {
    "names": "garde-fou/mot",
    "codes": "garde-fou/code",
    "values": "garde-fou/valeur",
    "records": "garde-fou/fiche",
}
"""The purposes of the guard's keyed hashes (name words, code tokens and date forms, whole
values counted, records), each its own domain, distinct from ingest's pseudonyms' purposes."""


def _process_key() -> bytes:
    """A key drawn for this process only (never written): an :class:`Identities` built in memory
    for a test or a bench, or when no project key is configured."""
    import secrets

    return secrets.token_bytes(32)


@dataclass
class Identities:
    """What the raw exports hold, ready to be searched; counts only are ever reported.

    Every value remembers the records (raw rows, deduplicated) it comes from, so that two values
    found side by side can be told to be the same person's.

    Nothing is kept in clear, at collection as at search: every token is a keyed hash under
    ``key`` (the project's key for the persisted index, :mod:`observatoire.guard.index`), the
    values counted (``checked``, ``not_checked``) and the records are keyed hashes too, and the
    names for the field notes are kept as :class:`KeyedNames` hashes. A value is read in clear
    only while it is being added, and a scanned text is hashed token by token to be searched.
    """

    key: bytes = field(default_factory=_process_key, repr=False)
    names: _Vocabulary = field(init=False)
    codes: _Vocabulary = field(init=False)
    owners: dict[tuple[str, Entry], set[int]] = field(default_factory=dict)
    strong_names: set[tuple[str, ...]] = field(default_factory=set)
    checked: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    not_checked: dict[str, set[str]] = field(default_factory=dict)
    name_hashes: dict[str, set[str]] = field(
        default_factory=lambda: {"surname": set(), "first_name": set()}
    )
    """Every searched name (surname or first name) as :class:`KeyedNames` keeps it: hashed over
    :func:`normalise_name` with the purposes « surname » and « first_name »."""
    raw_files: int = 0
    sources: dict[str, str] = field(default_factory=dict)
    """sha256 of each raw export read, by its path under the raw folder (the index's freshness)."""
    keyed: KeyedNames | None = None
    """The names as keyed lists for the field notes (:func:`_keyed_names`), built when needed."""
    _record_ids: dict[str, int] = field(default_factory=dict)
    _anonymous: int = -1
    _hashes: dict[tuple[str, str], str] = field(default_factory=dict, repr=False, compare=False)
    """Keyed hashes already computed, by (purpose, text): a person's values recur on each of
    their rows (millions of HMACs at ten times the sample)."""
    _owned: dict[tuple[Any, ...], list[tuple[str, Entry]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    """What adding one value (by method, kind, type and value) made a record the owner of. All
    else an ``add_*`` does depends on the value alone and is a set insertion: when the value
    comes again (on each of its person's rows), only the new record is made owner."""
    _recording: list[tuple[str, Entry]] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.names = _Vocabulary(PURPOSES["names"], self.key)
        self.codes = _Vocabulary(PURPOSES["codes"], self.key)

    def _keyed(self, purpose: str, text: str) -> str:
        found = self._hashes.get((purpose, text))
        if found is None:
            found = self._hashes[(purpose, text)] = keyed_token(self.key, purpose, text)
        return found

    def value_hash(self, value: Any) -> str:
        """A value counted in ``checked``/``not_checked`` (a string or a tuple of tokens), keyed:
        two values are one count exactly when they are equal."""
        return self._keyed(PURPOSES["values"], repr(value))

    def checks(self, kind: str, value: Any) -> bool:
        """Whether ``value`` (as :meth:`add_name`... count it) is among the values searched."""
        return self.value_hash(value) in self.checked[kind]

    def skip(self, reason: str, value: Any) -> None:
        self.not_checked.setdefault(reason, set()).add(self.value_hash(value))

    def record(self, values: tuple[Any, ...] | None = None) -> int:
        """The id of a raw record (one person's identity values as a tuple; None: a value
        known on its own, its own record)."""
        if values is None:
            self._anonymous -= 1
            return self._anonymous
        key = self._keyed(PURPOSES["records"], repr(values))
        return self._record_ids.setdefault(key, len(self._record_ids))

    def _own(self, vocab: _Vocabulary, tokens: tuple[str, ...], kind: str, rid: int) -> Entry:
        entry = vocab.add(tokens, kind)
        self.owners.setdefault((kind, entry), set()).add(rid)
        if self._recording is not None:
            self._recording.append((kind, entry))
        return entry

    def _seen(self, value_key: tuple[Any, ...], rid: int) -> bool:
        """Whether this value was added before; if so ``rid`` is made owner of what it gave
        (the same state as adding it again, without the work)."""
        try:
            owned = self._owned.get(value_key)
        except TypeError:  # a value that cannot be a key (never in an export's cells)
            return False
        if owned is None:
            return False
        for pair in owned:
            self.owners[pair].add(rid)
        return True

    @contextlib.contextmanager
    def _recording_first_add(self, value_key: tuple[Any, ...]) -> Iterator[None]:
        """Record what the first adding of a value owns (kept only if it ends normally)."""
        self._recording = []
        try:
            yield
            with contextlib.suppress(TypeError):
                self._owned[value_key] = self._recording
        finally:
            self._recording = None

    def add_name(self, value: object, kind: str, rid: int | None = None) -> None:
        """A surname or first name, as words; compounds also by their distinctive parts.

        A compound surname of two distinctive parts or more (« Dupré-Lefèvre ») is evidence on
        its own; any other name only beside another value of the same record.
        """
        rid = self.record() if rid is None else rid
        value_key = ("name", kind, type(value), value)
        if self._seen(value_key, rid):
            return
        with self._recording_first_add(value_key):
            self._add_name(value, kind, rid)

    def _add_name(self, value: object, kind: str, rid: int) -> None:
        words = tuple(w for w in _words(_clean(str(value))) if w.isalpha())
        if not words:
            return
        distinctive = [w for w in words if len(w) >= MIN_NAME_LETTERS and w not in PARTICLES]
        if not distinctive:  # « De la Rue » would match « travail de la rue »; « Li », « Ba »
            self.skip(
                f"noms ou prénoms de moins de {MIN_NAME_LETTERS} lettres ou particules seules",
                (kind, words),
            )
            return
        entry = self._own(self.names, words, kind, rid)
        self.checked[kind].add(self.value_hash(words))
        normal = normalise_name(" ".join(words))
        if normal:
            for purpose, hashes in self.name_hashes.items():
                hashes.add(self._keyed(purpose, normal))
        if len(words) > 1:
            if kind == SURNAME and len(distinctive) >= 2:
                self.strong_names.add(entry)  # type: ignore[arg-type]
            for word in distinctive:
                if len(word) >= MIN_PART_LETTERS or len(distinctive) == 1:
                    self._own(self.names, (word,), kind, rid)

    def add_client_id(self, value: object, rid: int | None = None) -> None:
        """A partner client id, unless it is too short to be told apart from a count or code."""
        rid = self.record() if rid is None else rid
        value_key = ("client_id", type(value), value)
        if self._seen(value_key, rid):
            return
        with self._recording_first_add(value_key):
            self._add_client_id(value, rid)

    def _add_client_id(self, value: object, rid: int) -> None:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        text = str(value).strip().upper()
        tokens = tuple(_code_runs(_clean(text)))
        if not tokens:
            return
        digits = sum(c.isdigit() for c in text)
        if all(c.isdigit() or c in "-/._ " for c in text) and digits < MIN_NUMERIC_ID_DIGITS:
            self.skip("identifiants numériques de moins de 6 chiffres", text)
        elif len("".join(tokens)) < MIN_ID_CHARS:
            self.skip("identifiants de moins de 4 caractères", text)
        else:
            self._own(self.codes, tokens, CLIENT_ID, rid)
            self.checked[CLIENT_ID].add(self.value_hash(tokens))

    def add_birth_date(self, parsed: Any, raw: Any, rid: int | None = None) -> None:
        """One birth date: its written forms if it parsed, and its raw text as exported
        (« 12-11-78 »,
        an impossible « 31/02/1990 »... is still somebody's birth date). A bare number (Excel
        serial, year) would match counts: skipped."""
        rid = self.record() if rid is None else rid
        # only a raw text is read further: every other raw value (blank, NaN, a number) gives
        # the same, so it is one key
        value_key = ("birth_date", type(parsed), parsed, raw if isinstance(raw, str) else None)
        if self._seen(value_key, rid):
            return
        with self._recording_first_add(value_key):
            self._add_birth_date(parsed, raw, rid)

    def _add_birth_date(self, parsed: Any, raw: Any, rid: int) -> None:
        if parsed is not None and not pd.isna(parsed):
            for fmt in DATE_FORMATS:
                self._own(self.codes, (parsed.strftime(fmt),), BIRTH_DATE, rid)
            self.checked[BIRTH_DATE].add(self.value_hash(parsed.strftime("%Y-%m-%d")))
        if not isinstance(raw, str):
            return
        text = raw.strip()
        if len(text) < 6 or text.isdigit() or not any(c.isdigit() for c in text):
            return
        tokens = tuple(_code_runs(_clean(text)))
        if tokens:
            self._own(self.codes, tokens, BIRTH_DATE, rid)
            if parsed is None or pd.isna(parsed):
                self.checked[BIRTH_DATE].add(self.value_hash(tokens))

    def add_birth_dates(self, values: pd.Series, date_format: str) -> None:
        """A birth-date column on its own (each date its own record), parsed with the partner's
        declared format (never guessed)."""
        parsed, _ = parse_dates(values, date_format)
        for value, date in zip(values.astype(object), parsed, strict=True):
            self.add_birth_date(date, value)

    # --- searching ---

    def match(self, text: str) -> Hits:
        """Every identity value in one text, by (kind, value), evidence or not (for tests and
        the cheap gate)."""
        hits: Hits = Counter()
        for hit in self._hits(_clean(text)):
            hits[(hit.kind, hit.entry)] += 1
        return hits

    def present(self, text: str) -> bool:
        clean = _clean(text)
        return self.names.present(_words(clean)) or self.codes.present(_code_tokens(clean))

    def _hits(self, clean: str) -> list[_Hit]:
        words = [(m.start(), m.group()) for m in _WORD.finditer(clean.lower())]
        tokens = [w for _, w in words]
        starts = [s for s, _ in words]
        hits: list[_Hit] = []
        for i, j, entry in self.names.locate(tokens):
            for kind in self.names.kinds(entry):
                strong = kind == SURNAME and entry in self.strong_names
                hits.append(_Hit(i, j, kind, entry, self._records(kind, entry), strong))
        upper = _ISO_T.sub(r"\1 ", clean.upper())
        runs = [(m.start(), m.group()) for m in _CODE.finditer(upper)]
        codes: list[tuple[int, str]] = list(runs)
        for offset, run in runs:
            if not run.isalnum():
                codes.extend((offset, w) for w in _windows(run))
        if codes and self.codes.present(t for _, t in codes):
            seen: set[tuple[int, str]] = set()
            for offset, tok in codes:
                entry = self.codes.hashed(tok)
                if entry not in self.codes.singles or (offset, entry) in seen:
                    continue
                seen.add((offset, entry))
                pos = bisect.bisect_right(starts, offset)
                for kind in self.codes.kinds(entry):
                    strong = kind == CLIENT_ID
                    hits.append(_Hit(pos, pos + 1, kind, entry, self._records(kind, entry), strong))
            # multi-token codes (« AN 001222 » read as two runs) are matched as phrases
            for i, _end, entry in self.codes.locate([t for _, t in runs]):
                if isinstance(entry, tuple):
                    pos = bisect.bisect_right(starts, runs[i][0])
                    for kind in self.codes.kinds(entry):
                        records = self._records(kind, entry)
                        hits.append(_Hit(pos, pos + 1, kind, entry, records, kind == CLIENT_ID))
        return hits

    def _records(self, kind: str, entry: Entry) -> frozenset[int]:
        return frozenset(self.owners.get((kind, entry), ()))

    def evidence(self, text: str, context: str | None = None) -> Hits:
        """Identity values that are evidence of a person in one text, by (kind, value).

        Evidence is a value that identifies on its own (a partner client id, a compound surname
        of two distinctive parts), or two values of the same record within :data:`WINDOW` words
        of each other (a surname and that person's first name, birth date or client id). A
        single name or a lone date is an ordinary word until then (« Cles » in « Chiffres
        clés »). ``context`` is the kind a column header declares (« nom », « naissance »):
        there, every value of that kind is evidence.
        """
        clean = _clean(text)
        if not self.present(clean):
            return Counter()
        hits = self._hits(clean)
        found: Hits = Counter()
        for hit in hits:
            if hit.strong or hit.kind == context:
                found[(hit.kind, hit.entry)] += 1
                continue
            for other in hits:
                if (
                    other.kind != hit.kind
                    and (other.end <= hit.start or other.start >= hit.end)
                    and abs(other.start - hit.start) <= WINDOW
                    and not hit.records.isdisjoint(other.records)
                ):
                    found[(hit.kind, hit.entry)] += 1
                    break
        return found

    def whole_value(self, value: str) -> list[tuple[str, Entry]]:
        """The identity values a table cell holds entirely (« Wouters », « 1990-03-07 »), by
        kind: a whole cell is a value, unlike a word inside a sentence."""
        clean = _clean(value).strip()
        words = tuple(_words(clean))
        if words:
            entry = self.names.entry(words)
            if entry in (self.names.singles if len(words) == 1 else self.names.phrases):
                return [(k, entry) for k in sorted(self.names.kinds(entry))]
        code = self.codes.hashed(clean.upper())
        if code in self.codes.singles:
            return [(k, code) for k in sorted(self.codes.singles[code])]
        return []


def _identity_columns(
    spec_columns: dict[str, ColumnSpec], columns: Iterable[str]
) -> dict[str, str]:
    """Which file column feeds each searched identity field (aliases included, as ingest)."""
    by_norm = {normalise_label(c): c for c in columns if c not in ("source_row", "line")}
    found = {}
    for fname, col in spec_columns.items():
        if not col.identity or fname not in FIELD_KINDS:
            continue
        label = next(
            (by_norm[normalise_label(x)] for x in col.labels() if normalise_label(x) in by_norm),
            None,
        )
        if label is not None:
            found[fname] = label
    return found


Source = tuple[Path, str, FileFormat, str, ExportSpec, PartnerMapping]
"""A raw file holding identities: its path, its path under the raw folder, the format it is read
with, the prefix of a joined table's columns, its export and its partner."""


def identity_sources(raw_dir: Path, partners: dict[str, PartnerMapping]) -> Iterator[Source]:
    """The raw files whose identities the guard collects, found the way ingest finds them (links
    refused, confined to ``raw_dir``): every file of an export that declares an identity column,
    and of the tables it joins."""
    for partner in partners.values():
        for spec in partner.exports:
            if not any(c.identity and f in FIELD_KINDS for f, c in spec.columns.items()):
                continue
            # A relational export's identities may sit in a joined table (« personnes.Nom »):
            # each table is read with its own format, its columns named as the mapping names them.
            sources = [(spec.files, spec.format, "")]
            sources += [(j.files, j.format, f"{j.name}.") for j in spec.joins]
            for pattern, fmt, prefix in sources:
                for path in find_raw_files(raw_dir, pattern, partner.partner_id, "l'export"):
                    rel = path.relative_to(raw_dir).as_posix()
                    yield path, rel, fmt, prefix, spec, partner


def collect_identities(
    raw_dir: Path,
    partners: dict[str, PartnerMapping],
    key: bytes | None = None,
    workers: int = 1,
) -> Identities:
    """Read every export of every partner and gather the identity values to search for, hashed
    under ``key`` (the project's key for the index; by default a key of this process only).

    An export that cannot be read stops the guard (``ExportRejected``): a guard that skipped it
    would certify outputs it has not checked. Identical copies of a file are read once.

    The files (and sheets) are read on ``workers`` processes
    (:func:`observatoire.core.workers.run_groups`), each giving back the distinct rows of its
    identity columns; they are added here in the order of the run in one process (the record
    ids are numbered in that order), so the index is the same whatever ``workers`` is.
    """
    from functools import partial

    from observatoire.core.workers import run_groups

    ids = Identities() if key is None else Identities(key)
    seen: set[str] = set()
    # One task per file (its sheets together: a workbook is loaded once, by one process).
    files: list[tuple[Path, list[tuple[Any, ...]]]] = []
    failed: Callable[[], Any] | None = None
    for path, rel, fmt, prefix, spec, partner in identity_sources(raw_dir, partners):
        if rel not in ids.sources:
            ids.sources[rel] = sha256_file(path)
        sheets = [fmt.sheet]
        if fmt.sheets is not None:  # a project's workbook: one sheet per month, each read
            try:
                sheets = workbook_sheets(path, fmt, partner.partner_id, rel)
            except ObservatoireError:  # raised in its turn, after the files before it
                failed = partial(workbook_sheets, path, fmt, partner.partner_id, rel)
                break
        for sheet in sheets:
            one = replace(fmt, sheet=sheet) if fmt.sheets is not None else fmt
            one = replace(one, grid=None)  # a grid of marks: its persons' rows, marked or not
            digest = ids.sources[rel] + prefix + f"#{one.sheet or ''}"  # a table joined twice
            if digest in seen:
                continue
            seen.add(digest)
            if not files or files[-1][0] != path:
                files.append((path, []))
            files[-1][1].append((path, rel, one, prefix, spec, partner))
    tasks: dict[str, Callable[[], Any]] = {
        str(i): partial(_file_identity_rows, [(*s[:5], s[5].partner_id) for s in sources])
        for i, (_, sources) in enumerate(files)
    }
    if failed is not None:
        tasks["refus"] = failed
    found = run_groups(tasks, workers)
    for i, (_, sources) in enumerate(files):
        for source, rows in zip(sources, found[str(i)], strict=True):
            ids.raw_files += 1
            if rows is not None:
                _add_identity_rows(ids, source[5], *rows)
    return ids


def _file_identity_rows(sources: list[tuple[Any, ...]]) -> list[Any]:
    """:func:`_identity_rows` of each sheet (or joined table) of one file, in order."""
    return [_identity_rows(*source) for source in sources]


def _identity_rows(
    path: Path, rel: str, fmt: FileFormat, prefix: str, spec: ExportSpec, partner_id: str
) -> tuple[list[str], pd.DataFrame, pd.Series | None] | None:
    """The distinct rows of one sheet's identity columns (named by their field), with the
    birth dates parsed; None when it has none."""
    raw = read_export(path, fmt, partner_id, rel)
    rows = raw.rows.rename(
        columns={c: f"{prefix}{c}" for c in raw.rows.columns if c not in ("source_row", "line")}
    )
    labels = _identity_columns(spec.columns, rows.columns)
    if not labels:
        return None
    fields = list(labels)
    frame = rows[[labels[f] for f in fields]].astype(object).drop_duplicates()
    frame.columns = fields
    parsed = parse_dates(frame["birth_date"], fmt.date_format)[0] if "birth_date" in frame else None
    return fields, frame, parsed


def _add_identity_rows(
    ids: Identities,
    partner: PartnerMapping,
    fields: list[str],
    frame: pd.DataFrame,
    parsed: pd.Series | None,
) -> None:
    dates = None if parsed is None else list(parsed)  # one boxing, not one .iloc a row
    for i, row in enumerate(frame.itertuples(index=False, name=None)):
        values = dict(zip(fields, row, strict=True))
        key = tuple(None if is_blank(v) else str(v).strip().lower() for v in row)
        if all(v is None for v in key):
            continue
        rid = ids.record((partner.partner_id, *fields, *key))
        for fname, value in values.items():
            if fname == "birth_date":
                ids.add_birth_date(dates[i], value, rid)  # type: ignore[index]
            elif is_blank(value):
                continue
            elif FIELD_KINDS[fname] == CLIENT_ID:
                ids.add_client_id(value, rid)
            else:
                ids.add_name(value, FIELD_KINDS[fname], rid)


# --- scanning ---------------------------------------------------------------------------------

Located = Iterator[tuple[str, Hits]]
"""A scanner's answer: (place in the file, identity values found there)."""


class _Binary(Exception):
    """A file of an unknown type that is not text: it cannot be searched without false alarms."""


@dataclass
class FileFindings:
    """Where one file holds identity values. The values stay in memory, never in the report."""

    file: str
    counts: Counter[str] = field(default_factory=Counter)
    values: dict[str, set[Entry]] = field(default_factory=dict)
    locations: dict[str, list[str]] = field(default_factory=dict)

    def add(self, where: str, hits: Hits) -> None:
        for (kind, entry), n in hits.items():
            self.counts[kind] += n
            self.values.setdefault(kind, set()).add(entry)
            places = self.locations.setdefault(kind, [])
            if where not in places:
                places.append(where)


@dataclass
class ScanResult:
    scanned: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    unreadable: list[dict[str, str]] = field(default_factory=list)
    findings: list[FileFindings] = field(default_factory=list)


Piece = tuple[int, str]
"""Text that may hold data, with the line it starts on."""

_DQ = r'"(?:[^"\\\n]|\\.)*"'
_SQ = r"'(?:[^'\\\n]|\\.)*'"
_STRINGS = {
    "python": re.compile(r'#[^\n]*|("""[\s\S]*?"""|' + r"'''[\s\S]*?'''" + rf"|{_DQ}|{_SQ})"),
    "js": re.compile(rf"//[^\n]*|/\*[\s\S]*?\*/|`(?:[^`\\]|\\.)*`|({_DQ}|{_SQ})"),
}
"""Comments and JavaScript template literals (HTML or CSS templates of libraries) are skipped;
plain string literals, where data sits, are kept."""


def _string_literals(code: str, language: str, first_line: int = 1) -> list[Piece]:
    """Only the string literals of code: keywords, identifiers and comments are not data.

    Library code (CSS ``display: block``, JavaScript ``.parent()``, Python ``elif``) is full of
    words that are also names; the data a page or notebook carries sits in its strings.
    """
    pieces: list[Piece] = []
    line, last = first_line, 0
    for match in _STRINGS[language].finditer(code):
        if match.group(1):
            line += code.count("\n", last, match.start())
            last = match.start()
            pieces.append((line, match.group(1)))
    return pieces


_TEXT_ATTRIBUTES = frozenset({"title", "alt", "value", "content", "label", "placeholder"})
"""Attributes that carry text (tooltips, form values, meta descriptions), unlike ``class`` or
``style``; ``data-*`` attributes and the ``href`` of links are kept too. Script and image ``src``
are library or asset URLs (« vega@5 », « logo-long.png »), not data."""


class _MarkupText(HTMLParser):
    """The data-bearing parts of HTML, SVG or XML: text, text attributes, script strings.

    Style sheets and comments are skipped, scripts are reduced to their string literals (JSON
    scripts kept whole), and highlighted source code (nbconvert, pandoc) to its strings.
    """

    def __init__(self, extra_attributes: frozenset[str] = frozenset()) -> None:
        super().__init__(convert_charrefs=True)
        self.pieces: list[Piece] = []
        self.attributes = _TEXT_ATTRIBUTES | extra_attributes
        self.raw: str | None = None  # inside <script> or <style>
        self.json_script = False
        self.code_depth = 0  # <div> nesting inside a highlighted code block
        self.spans: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        for name, value in attrs:
            if value and (
                name in self.attributes
                or name.startswith("data-")
                or (name == "href" and tag in ("a", "area"))
            ):
                self.pieces.append((line, value))
        named = dict(attrs)
        classes = (named.get("class") or "").split()
        if tag in ("script", "style"):
            self.raw = tag
            self.json_script = "json" in (named.get("type") or "")
        elif tag == "div" and self.code_depth:
            self.code_depth += 1
        elif tag == "div" and ("highlight" in classes or "sourceCode" in classes):
            self.code_depth = 1
        elif tag == "span":
            self.spans.append(classes[0] if classes else "")

    def handle_endtag(self, tag: str) -> None:
        if tag == self.raw:
            self.raw = None
        elif tag == "div" and self.code_depth:
            self.code_depth -= 1
        elif tag == "span" and self.spans:
            self.spans.pop()

    def handle_data(self, data: str) -> None:
        line = self.getpos()[0]
        if self.raw == "style":
            return  # style sheets hold no data
        if self.raw == "script" and not self.json_script:
            self.pieces.extend(_string_literals(data, "js", line))
        elif not self.code_depth or (self.spans and _is_string_token(self.spans[-1])):
            self.pieces.append((line, data))

    def handle_comment(self, data: str) -> None:
        """Comments are template notes (« TODO: come up with... »), not data."""

    def handle_decl(self, decl: str) -> None:
        """Declarations (``<!ENTITY macr ...>``) are not data."""


def _is_string_token(css_class: str) -> bool:
    """A string token of highlighted code: Pygments ``s``, ``s1``, ``sd``...; pandoc ``st``."""
    return css_class.startswith("s") or css_class in ("ch", "vs")


def _markup_pieces(text: str, extra_attributes: frozenset[str] = frozenset()) -> list[Piece]:
    parser = _MarkupText(extra_attributes)
    parser.feed(text)
    parser.close()
    return parser.pieces


MARKUP_TYPES = frozenset({"html", "htm", "xhtml", "svg", "xml"})


def _pieces(text: str, ftype: str) -> list[Piece]:
    """What to search in a text file, by type: markup and code are reduced to their data."""
    if ftype in MARKUP_TYPES:
        return _markup_pieces(text)
    if ftype in ("js", "mjs"):
        return _string_literals(text, "js")
    if ftype == "py":
        return _string_literals(text, "python")
    return [(1, text)]


def _gate(ids: Identities, where: str, text: str) -> Located:
    """One place searched as a whole, line by line (a line is a table row, a sentence)."""
    if not ids.present(text):
        return
    hits: Hits = Counter()
    for line in text.splitlines():
        hits.update(ids.evidence(line))
    if hits:
        yield where, hits


def _by_line(ids: Identities, pieces: list[Piece]) -> Located:
    """All pieces as one text first (one tokenisation); line by line only after a hit.

    Evidence is sought within a line: two values of one record on two different lines of a
    table or a page are two cells that happen to hold common words, not a person.
    """
    if not pieces or not ids.present(_CELL_SEP.join(text for _, text in pieces)):
        return
    for first, text in pieces:
        if not ids.present(text):
            continue
        for offset, line in enumerate(text.splitlines()):
            hits = ids.evidence(line)
            if hits:
                yield f"ligne {first + offset}", hits


def _line_evidence(ids: Identities, text: str) -> Hits:
    hits: Hits = Counter()
    for line in text.splitlines():
        hits.update(ids.evidence(line))
    return hits


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _scan_text(path: Path, ftype: str, ids: Identities) -> Located:
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise _Binary
    yield from _by_line(ids, _pieces(_decode(data), ftype))


def _arrow_leaves(label: str, column: Any) -> Iterator[tuple[str, Any]]:
    """Flat arrays of a column: list items and struct fields are searched like columns."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = column.type
    if pa.types.is_dictionary(kind):
        yield from _arrow_leaves(label, column.cast(kind.value_type))
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind):
        yield from _arrow_leaves(label, pc.list_flatten(column))
    elif pa.types.is_struct(kind):
        for i in range(kind.num_fields):
            name = kind.field(i).name
            yield from _arrow_leaves(f"{label} › {name}", pc.struct_field(column, [i]))
    else:
        yield label, column


def _arrow_text(values: Any) -> list[str | None] | None:
    """The text an array holds: strings as they are, dates in ISO form, nothing else."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return values.to_pylist()
    if pa.types.is_string_view(kind):
        return values.cast(pa.string()).to_pylist()
    if pa.types.is_date(kind):
        return pc.strftime(values.cast(pa.timestamp("s")), format="%Y-%m-%d").to_pylist()
    if pa.types.is_timestamp(kind):
        return pc.strftime(values, format="%Y-%m-%d").to_pylist()
    return None


_HEADER_KINDS = {
    "nom": (SURNAME, FIRST_NAME),
    "name": (SURNAME, FIRST_NAME),
    "surname": (SURNAME,),
    "lastname": (SURNAME,),
    "prenom": (FIRST_NAME,),
    "prenoms": (FIRST_NAME,),
    "firstname": (FIRST_NAME,),
    "naissance": (BIRTH_DATE,),
    "birth": (BIRTH_DATE,),
    "birthdate": (BIRTH_DATE,),
    "dob": (BIRTH_DATE,),
    "ddn": (BIRTH_DATE,),
    "dossier": (CLIENT_ID,),
    "client": (CLIENT_ID,),
    "identifiant": (CLIENT_ID,),
}
"""Column headers that declare an identity column: there a lone value is evidence."""
_NOT_PERSON_HEADER = frozenset(
    [
        "partenaire",
        "partner",
        "service",
        "dispositif",
        "programme",
        "structure",
        "fichier",
        "file",
        "colonne",
        "column",
        "mesure",
        "measure",
        "variable",
        "indicateur",
        "etape",
        "stage",
        "site",
        "lieu",
    ]
)
_MACHINE_COLUMNS = frozenset({"record_key", "person_id", "partner_id", "source_file"})


def header_kinds(name: str) -> tuple[str, ...]:
    """The identity kinds a column header declares (« Nom », « date_naissance »), if any."""
    words = [w for w in re.split(r"[^a-z]+", _clean(name).lower()) if w]
    if any(w in _NOT_PERSON_HEADER for w in words):
        return ()
    return tuple(k for w in words for k in _HEADER_KINDS.get(w, ()))


def _is_free_text(name: str) -> bool:
    """Text columns that may hold what a person typed (not keys, ids, paths, tokens)."""
    words = set(name.lower().split("_"))
    return not (name in _MACHINE_COLUMNS or words & {"tok", "id", "key", "file", "chain"})


def column_findings(
    ids: Identities, name: str, values: list[str], counts: list[int], free_text: bool
) -> Hits:
    """Evidence in one column of a kept table, given its distinct values and their counts.

    Three rules: a cell holding evidence on its own (a first and last name of one person); a
    column whose header declares an identity (« nom », « naissance ») with a cell that is
    entirely a value of that kind; a person-level column, where at least
    :data:`MIN_PERSON_COLUMN_VALUES` distinct cells and half of all the column's distinct cells
    are each a whole identity value. A free-text
    column is also read by the free-text detector (third persons no export names).
    """
    context = header_kinds(name)
    hits: Hits = Counter()
    whole: list[tuple[tuple[str, Entry], int]] = []
    gate = ids.present(_CELL_SEP.join(values))
    for value, n in zip(values, counts, strict=True):
        if gate:
            found = ids.evidence(value)
            entries = ids.whole_value(value)
            found.update(k for k in entries if k[0] in context and k not in found)
            for key, k in found.items():
                hits[key] += k * n
            if entries:
                whole.append((entries[0], n))
        if free_text:
            for span in detect_free_text(value):
                if span.kind in FREE_TEXT_EVIDENCE:
                    hits[(THIRD_PARTY, span.kind)] += n
    if len(whole) >= MIN_PERSON_COLUMN_VALUES and 2 * len(whole) >= len(values):
        for key, n in whole:
            if not hits.get(key):
                hits[key] += n
    return hits


def field_text_columns(path: Path, names: list[str]) -> list[str]:
    """The free-text columns of a field table: kind ``free_text`` in the schema, else the
    columns named ``note`` or ``text``; none for a file outside ``data_clean/field``."""
    try:
        path.resolve().relative_to(FIELD_DIR.resolve())
    except ValueError:
        return []
    from observatoire.core import schema

    fields = getattr(schema, "TABLE_FIELDS", {}).get(path.stem, {})
    declared = {n for n, f in fields.items() if getattr(f, "kind", "") == "free_text"}
    return [n for n in names if n in (declared or FIELD_TEXT_COLUMNS)]


def _keyed_names(ids: Identities) -> KeyedNames:
    """The guard's names as keyed lists (their hashes are kept by :class:`Identities` under its
    key): the same membership test as ingest's."""
    if ids.keyed is None:
        ids.keyed = KeyedNames(
            frozenset(ids.name_hashes["surname"]),
            frozenset(ids.name_hashes["first_name"]),
            lambda purpose, value, key=ids.key: keyed_token(key, purpose, value),
        )
    return ids.keyed


def field_text_findings(ids: Identities, values: list[str], counts: list[int]) -> Hits:
    """Identities the whole de-identification still finds in kept field notes (a note kept
    in clear, or de-identified by an older, weaker pass)."""
    hits: Hits = Counter()
    each = deidentify_each(values, names=_keyed_names(ids), nlp=True)
    for (_, kinds), n in zip(each, counts, strict=True):
        for kind, k in kinds.items():
            if kind in FREE_TEXT_EVIDENCE:
                hits[(THIRD_PARTY, kind)] += k * n
    return hits


def _scan_arrow(path: Path, ftype: str, ids: Identities) -> Located:
    """Each text or date column is searched by its distinct values (:func:`column_findings`);
    the notes of the field tables also by the whole de-identification."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    table = pq.read_table(path) if ftype == "parquet" else feather.read_table(path)
    names = [str(n) for n in table.column_names]
    field_columns = field_text_columns(path, names)
    labels = [f"colonne « {n} »" for n in names]
    for i, name in enumerate(names):
        hits = ids.evidence(name)
        if hits:  # a column named after a person (a pivot by name): hide the name
            labels[i] = f"colonne n° {i + 1} (nom masqué)"
            yield f"nom de la colonne n° {i + 1}", hits
    metadata = table.schema.metadata or {}
    if metadata:
        text = "\n".join(b.decode("utf-8", "replace") for kv in metadata.items() for b in kv)
        yield from _gate(ids, "métadonnées du fichier", text)
    for name, label, column in zip(names, labels, table.columns, strict=True):
        for where, leaf in _arrow_leaves(label, column):
            counts = pc.value_counts(leaf)
            values = _arrow_text(counts.field("values"))
            if not values:
                continue
            kept = [
                (v, n) for v, n in zip(values, counts.field("counts").to_pylist(), strict=True) if v
            ]
            if not kept:
                continue
            is_text = pa.types.is_string(leaf.type) or pa.types.is_large_string(leaf.type)
            if not is_text and not header_kinds(name):
                continue  # a date column is a birth date only if its header says so
            hits = column_findings(
                ids,
                name,
                [v for v, _ in kept],
                [n for _, n in kept],
                is_text and _is_free_text(name),
            )
            if is_text and name in field_columns:
                more = field_text_findings(ids, [v for v, _ in kept], [n for _, n in kept])
                for key, n in more.items():
                    hits[key] = max(hits.get(key, 0), n)
            if hits:
                yield where, hits


def _scan_csv(path: Path, ids: Identities) -> Located:
    """A CSV table: each row as a line, then each column by the rules of a kept table."""
    data = path.read_bytes()
    if b"\x00" in data[:8192]:
        raise _Binary
    text = _decode(data)
    found: set[tuple[str, Entry]] = set()
    for where, hits in _by_line(ids, [(1, text)]):
        found.update(hits)
        yield where, hits
    if not ids.present(text):
        return
    try:
        sep = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
    except csv.Error:
        sep = ","
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, sep=sep)
    except (ValueError, pd.errors.ParserError):
        return
    for name in frame.columns:
        distinct = frame[name][frame[name] != ""].value_counts()
        hits = column_findings(
            ids, str(name), [str(v) for v in distinct.index], distinct.tolist(), False
        )
        hits = Counter({k: n for k, n in hits.items() if k[0] != THIRD_PARTY and k not in found})
        if hits:
            yield f"colonne « {name} »", hits


def _scan_pdf(path: Path, ids: Identities) -> Located:
    """Text extracted page by page, words hyphenated at a line end read whole (« deman-/dées »
    is « demandées »: its halves are not words of the page and matched names by chance)."""
    import logging

    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.ERROR)
    reader = PdfReader(path)
    if reader.is_encrypted and not reader.decrypt(""):
        raise ValueError("PDF chiffré")
    if reader.metadata:
        text = _CELL_SEP.join(str(v) for v in reader.metadata.values())
        yield from _gate(ids, "métadonnées du PDF", text)
    for number, page in enumerate(reader.pages, start=1):
        text = _HYPHENATED.sub(r"\1\2", page.extract_text() or "")
        yield from _gate(ids, f"page {number}", text)
        # a name broken across two lines of the layout: the page read as one line
        joined = text.replace("\n", " ")
        if joined != text and ids.present(joined):
            hits = ids.evidence(joined) - _line_evidence(ids, text)
            if hits:
                yield f"page {number}", hits


def _source(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def _output_text(output: dict[str, Any]) -> str:
    """Everything readable in a cell output; images and PDFs (base64) are left out."""
    parts = [_source(output.get(k)) for k in ("text", "ename", "evalue", "traceback")]
    for mime, value in (output.get("data") or {}).items():
        text = _source(value)
        if mime in ("text/html", "image/svg+xml"):
            parts.extend(t for _, t in _markup_pieces(text))
        elif mime == "application/javascript":
            parts.extend(t for _, t in _string_literals(text, "js"))
        elif not (mime.startswith("image/") or mime == "application/pdf"):
            parts.append(text)
    parts.append(_source(output.get("metadata")))
    return _CELL_SEP.join(p for p in parts if p)


def _scan_notebook(path: Path, ids: Identities) -> Located:
    """Cell sources (strings only for code), outputs and metadata (papermill parameters)."""
    text = _decode(path.read_bytes())
    try:
        nb = json.loads(text)
    except json.JSONDecodeError:
        nb = None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        yield from _by_line(ids, [(1, text)])
        return
    yield from _gate(ids, "métadonnées du carnet", _source(nb.get("metadata")))
    for number, cell in enumerate(nb["cells"], start=1):
        source = _source(cell.get("source"))
        if cell.get("cell_type") == "code":
            source = _CELL_SEP.join(t for _, t in _string_literals(source, "python"))
        yield from _gate(ids, f"cellule {number} (source)", source)
        outputs = _CELL_SEP.join(_output_text(o) for o in cell.get("outputs") or [])
        yield from _gate(ids, f"cellule {number} (sorties)", outputs)
        yield from _gate(ids, f"cellule {number} (métadonnées)", _source(cell.get("metadata")))


def _scan_zip(path: Path, ids: Identities) -> Located:
    """Office documents (xlsx, ods, docx...) are zips of XML parts: their text is searched."""
    with zipfile.ZipFile(path) as archive:
        for info in archive.infolist():
            if info.filename.lower().endswith((".xml", ".rels")):
                text = archive.read(info).decode("utf-8", errors="replace")
                pieces = _markup_pieces(text, frozenset({"name"}))
                joined = _CELL_SEP.join(t for _, t in pieces)
                yield from _gate(ids, f"partie « {info.filename} »", joined)


def _file_type(path: Path) -> str:
    return path.suffix.lower().lstrip(".") or "(sans extension)"


def scan_file(path: Path, ids: Identities) -> Located:
    """Identity values in one file, by place (column, line, page, cell)."""
    ftype = _file_type(path)
    if ftype in ARROW_TYPES:
        return _scan_arrow(path, ftype, ids)
    if ftype == "pdf":
        return _scan_pdf(path, ids)
    if ftype == "ipynb":
        return _scan_notebook(path, ids)
    if ftype in ("csv", "tsv"):
        return _scan_csv(path, ids)
    if ftype in ZIP_TYPES:
        return _scan_zip(path, ids)
    return _scan_text(path, ftype, ids)


def _shown_name(path: Path, root: Path, names: dict[Path, str]) -> str:
    for staged, final in names.items():
        if path == staged:
            return final
        if staged in path.parents:
            return f"{final}/{path.relative_to(staged).as_posix()}"
    return path.as_posix()


def _unreadable_errors() -> tuple[type[BaseException], ...]:
    import pyarrow as pa
    from pypdf.errors import PyPdfError

    return (OSError, ValueError, zipfile.BadZipFile, pa.ArrowException, PyPdfError)


def _reads_notes(path: Path) -> bool:
    """A field table: its notes go through the whole de-identification, NLP model included."""
    if _file_type(path) not in ARROW_TYPES:
        return False
    try:
        path.resolve().relative_to(FIELD_DIR.resolve())
    except ValueError:
        return False
    return True


_FORKED_IDS: Identities | None = None
"""The identities a forked scanning process searches: inherited from its parent, never pickled
(the keyed names hold the key)."""


def _scan_in_worker(path: Path) -> list[tuple[str, Hits]]:
    assert _FORKED_IDS is not None
    return list(scan_file(path, _FORKED_IDS))


class _NoteScans:
    """The field tables scanned in a second process while this one scans every other file.

    Their notes are read again by the whole de-identification, whose NLP engine (spaCy's French
    model and Presidio) takes seconds to build, mostly compiling regular expressions: in a
    forked process it builds while this one reads the rest, and :meth:`scan` hands back what
    the worker found, file by file, exactly what :func:`scan_file` finds here (same function,
    same identities). With one process (``OBSERVATOIRE_PROCESSUS=1``) or no field table, every
    file is scanned here, as before. A lost worker: its files are scanned here.
    """

    def __init__(self, ids: Identities, paths: list[Path], processes: int) -> None:
        self.ids = ids
        self.futures: dict[Path, Future[list[tuple[str, Hits]]]] = {}
        self.pool: ProcessPoolExecutor | None = None
        if processes <= 1 or not paths:
            return
        global _FORKED_IDS
        _FORKED_IDS = ids
        self.pool = ProcessPoolExecutor(max_workers=1, mp_context=fork_context())
        try:
            self.futures = {p: self.pool.submit(_scan_in_worker, p) for p in paths}
        finally:
            _FORKED_IDS = None

    def scan(self, path: Path) -> Iterable[tuple[str, Hits]]:
        future = self.futures.pop(path, None)
        if future is None:
            return scan_file(path, self.ids)
        try:
            return future.result()
        except BrokenProcessPool:
            return scan_file(path, self.ids)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def scan_tree(
    roots: Iterable[Path],
    ids: Identities,
    exclude: Iterable[Path] = (),
    names: dict[Path, str] | None = None,
    processes: int = 1,
) -> ScanResult:
    """Search every file under ``roots`` (files or folders) but ``exclude`` (files or folders);
    images and fonts are counted as skipped. ``names`` gives the name a file is reported by
    (a staged file by the place it is about to be published at). With ``processes`` > 1, the
    field tables are scanned in a forked process meanwhile (:class:`_NoteScans`): the same
    findings, in the same order."""
    result = ScanResult()
    excluded = [p.resolve() for p in exclude]
    errors = _unreadable_errors()
    names = names or {}
    planned: list[tuple[Path, Path]] = []
    for root in roots:
        if not root.exists():
            continue
        files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in files:
            resolved = path.resolve()
            if any(resolved == e or e in resolved.parents for e in excluded):
                continue
            planned.append((root, path))
    notes = _NoteScans(ids, [p for _, p in planned if _reads_notes(p)], processes)
    each: dict[int, ScanResult] = {}
    # the field tables last (when a worker scans them): it has had the most time to answer
    order = sorted(range(len(planned)), key=lambda i: planned[i][1] in notes.futures)
    try:
        for i in order:
            each[i] = _scan_one(*planned[i], ids, names, notes, errors)
    finally:
        notes.close()
    for i in range(len(planned)):  # counted and listed in the files' order
        result.scanned.update(each[i].scanned)
        result.skipped.update(each[i].skipped)
        result.unreadable += each[i].unreadable
        result.findings += each[i].findings
    return result


def _scan_one(
    root: Path,
    path: Path,
    ids: Identities,
    names: dict[Path, str],
    notes: _NoteScans,
    errors: tuple[type[BaseException], ...],
) -> ScanResult:
    """One file of :func:`scan_tree`: its findings and counts."""
    result = ScanResult()
    ftype = _file_type(path)
    if ftype in SKIPPED_TYPES:
        result.skipped[ftype] += 1
        return result
    shown = _shown_name(path, root, names)
    findings = FileFindings(shown)
    path_hits = ids.evidence(shown)
    if path_hits:  # the path itself names somebody: never write it out
        digest = sha256_file(path)[:12]
        top = shown.split("/")[0]
        findings.file = f"{top}/[chemin masqué, sha256 {digest}…]"
        findings.add("nom du fichier ou d'un dossier", path_hits)
    try:
        for where, hits in notes.scan(path):
            findings.add(where, hits)
    except FileNotFoundError:  # a temporary file of a stage running at the same time
        return result
    except _Binary:
        result.skipped["binaire inconnu"] += 1
        result.unreadable.append(
            {"file": findings.file, "reason": "fichier binaire de type inconnu"}
        )
        return result
    except errors as exc:
        result.unreadable.append(
            {"file": findings.file, "reason": f"illisible ({type(exc).__name__})"}
        )
        return result
    finally:
        if findings.counts:
            result.findings.append(findings)
    result.scanned[ftype] += 1
    return result


# --- report -----------------------------------------------------------------------------------


def _dvc_outs(settings: Settings, dvc_file: Path = PATHS.dvc_file) -> dict[str, str]:
    """Output path → stage that writes it, to tell the analyst which stage leaked.

    ``dvc.yaml`` reads the params file as its ``vars:``; its ``${report.year}`` are resolved
    here from the settings' attributes (a name that is no setting is left as written).
    """
    import yaml

    from observatoire.core import yamltext

    try:
        spec = yamltext.safe_load(dvc_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return {}

    def resolve(text: str) -> str:
        def value(match: re.Match[str]) -> str:
            node: Any = settings
            for key in match.group(1).split("."):
                if isinstance(node, BaseModel) and key in type(node).model_fields:
                    node = getattr(node, key)
                elif isinstance(node, dict) and key in node:
                    node = node[key]
                else:
                    return match.group(0)
            return str(node)

        return re.sub(r"\$\{([\w.]+)\}", value, text)

    outs: dict[str, str] = {}
    for stage, body in (spec.get("stages") or {}).items():
        for key in ("outs", "metrics", "plots"):
            for out in (body or {}).get(key) or []:
                name = next(iter(out)) if isinstance(out, dict) else out
                outs[resolve(str(name)).rstrip("/")] = stage
    return outs


def _stage_of(file: str, outs: dict[str, str]) -> str | None:
    owners = [(len(o), s) for o, s in outs.items() if file == o or file.startswith(f"{o}/")]
    return max(owners)[1] if owners else None


def _where(places: list[str]) -> str:
    shown = ", ".join(places[:MAX_LOCATIONS])
    more = len(places) - MAX_LOCATIONS
    return (
        f"{shown} et {_plural(more, 'autre')} endroit{'s' if more > 1 else ''}"
        if more > 0
        else shown
    )


def build_report(ids: Identities, result: ScanResult, outs: dict[str, str]) -> dict[str, Any]:
    """The JSON metric: counts, kinds and places only, never an identity value."""
    findings = []
    for ff in sorted(result.findings, key=lambda f: f.file):
        for kind in KINDS:
            if kind in ff.counts:
                findings.append(
                    {
                        "file": ff.file,
                        "kind": kind,
                        "where": _where(ff.locations[kind]),
                        "places": len(ff.locations[kind]),
                        "count": ff.counts[kind],
                        "distinct_values": len(ff.values[kind]),
                        "stage": _stage_of(ff.file, outs),
                    }
                )
    not_checked: dict[str, Any] = {k: len(v) for k, v in sorted(ids.not_checked.items())}
    not_checked["initiales"] = "jamais recherchées : 2 ou 3 lettres se trouvent partout"
    return {
        "status": "fuite" if findings else "ok",
        "raw_exports_read": ids.raw_files,
        "identity_values_checked": {k: len(ids.checked[k]) for k in KINDS},
        "identity_values_not_checked": not_checked,
        "files_scanned": {
            "total": sum(result.scanned.values()),
            "by_type": dict(sorted(result.scanned.items())),
        },
        "files_skipped": {
            "total": sum(result.skipped.values()),
            "by_type": dict(sorted(result.skipped.items())),
        },
        "files_unreadable": result.unreadable,
        "findings": findings,
    }


def _n(value: int) -> str:
    return f"{value:,}".replace(",", "\u202f")


NO_IDENTITY_DECLARED = (
    "aucune correspondance du réseau ne déclare de colonne d'identité (nom, prénom, date de "
    "naissance, identifiant de la personne) : il n'y a aucune valeur à rechercher dans les "
    "sorties (un réseau de travail de rue seul, par exemple, n'enregistre que des initiales, "
    "jamais recherchées). Si un partenaire exporte des noms, déclarez ces colonnes dans sa "
    "correspondance (docs/correspondances.md)."
)
"""Why the guard found nothing to search for, when that is what the mappings say."""


def declares_identities(partners: dict[str, PartnerMapping]) -> bool:
    """Whether some mapping reads an identity column the guard searches for."""
    return any(
        c.identity and f in FIELD_KINDS
        for partner in partners.values()
        for spec in partner.exports
        for f, c in spec.columns.items()
    )


def run_guard(settings: Settings) -> int:
    """Check ``data_clean/`` and ``outputs/`` for identities; 0 if clean, 1 if a leak is found."""
    start = time.perf_counter()
    inputs = settings.inputs
    raw_dir = inputs.raw_dir
    if not raw_dir.is_dir():
        raise ObservatoireError(
            f"Garde-fou : le dossier des exports bruts {raw_dir} est introuvable ; sans lui, "
            "impossible de savoir quelles identités chercher. Vérifiez inputs.raw_dir."
        )
    from observatoire.guard.index import identities_for

    partners = load_partners(inputs.partners_dir, inputs.codes_dir, field=True)
    declared = declares_identities(partners)
    ids = identities_for(settings, partners) if declared else Identities()
    if ids.raw_files == 0 and declared:
        raise ObservatoireError(
            f"Garde-fou : aucun export avec des identités trouvé dans {raw_dir}/ ; rien à "
            "rechercher, la vérification n'aurait aucun sens. Vérifiez inputs.raw_dir."
        )
    year = settings.report.year
    # rendered by the stages after this one, each scanning its own files before publishing
    rendered = [PATHS.reports(year), PATHS.quality(year), PATHS.maps(year)]
    # the index holds keyed hashes only, as REPORT holds counts only
    result = scan_tree(
        SCAN_ROOTS,
        ids,
        exclude=[REPORT, PATHS.identity_index, *rendered],
        processes=worker_processes(),
    )
    report = build_report(ids, result, _dvc_outs(settings))
    if not declared:
        report["note"] = NO_IDENTITY_DECLARED
        print(f"Garde-fou : {NO_IDENTITY_DECLARED}")
    write_json(REPORT, report)
    seconds = f"{time.perf_counter() - start:.1f}".replace(".", ",")
    checked = report["identity_values_checked"]
    print(
        f"Garde-fou contre les fuites d'identité : {_n(report['files_scanned']['total'])} fichiers "
        f"examinés dans data_clean/ et outputs/ ({_n(report['files_skipped']['total'])} images, "
        "polices ou feuilles de style ignorées)."
    )
    print(
        f"  Recherchés (lus dans {ids.raw_files} exports bruts) : {_n(checked[SURNAME])} noms, "
        f"{_n(checked[FIRST_NAME])} prénoms, {_n(checked[BIRTH_DATE])} dates de naissance, "
        f"{_n(checked[CLIENT_ID])} identifiants partenaires."
    )
    skipped = {k: v for k, v in report["identity_values_not_checked"].items() if isinstance(v, int)}
    if skipped:
        print("  Non vérifiables : " + ", ".join(f"{_n(v)} {k}" for k, v in skipped.items()) + ".")
    for item in result.unreadable:
        print(f"  Attention : {item['file']} n'a pas pu être vérifié ({item['reason']}).")
    if not report["findings"]:
        print(f"  Aucune identité trouvée. Détail : {REPORT} ({seconds} s).")
        return 0
    print("\n".join(_leak_message(report["findings"])), file=sys.stderr)
    return 1


class LeakFound(ObservatoireError):
    """A report stage's rendered files hold identity evidence: nothing was published."""

    exit_code = 1


def check_before_publishing(
    settings: Settings,
    staging: Path,
    members: list[str],
    target: Path,
    stage: str,
    root: Path = Path("."),
) -> None:
    """Scan a report stage's rendered files in their staging folder, before they are published.

    The ``leak_guard`` stage checks what the computations wrote before any report is rendered;
    a report adds its own text, charts and slides, so each report stage checks these too, and
    raises :class:`LeakFound` (nothing moved into ``target``, the previous publication stays)
    when one holds identity evidence. The message names the files by their final place and
    never shows a value.
    """
    from observatoire.guard.index import load_identities

    ids = load_identities(settings, root)
    if not any(ids.checked.values()):
        return
    names = {staging / m: f"{target.as_posix()}/{m}" for m in members}
    result = scan_tree([staging / m for m in members], ids, names=names)
    report = build_report(ids, result, {})
    for item in result.unreadable:
        print(f"  Attention : {item['file']} n'a pas pu être vérifié ({item['reason']}).")
    if report["findings"]:
        lines = _leak_message(report["findings"])
        lines[0] = (
            f"FUITE D'IDENTITÉ dans les fichiers rendus par l'étape « {stage} » : rien n'a été "
            "publié, la publication précédente reste en place (les valeurs ne sont jamais "
            "affichées)."
        )
        lines = [ln for ln in lines if not ln.startswith("    1. ne partagez")]
        raise LeakFound("\n".join(lines))


def _plural(n: int, word: str) -> str:
    return f"{_n(n)} {word}{'s' if n > 1 else ''}"


def _leak_message(findings: list[dict[str, Any]]) -> list[str]:
    """French alert: which files, which kinds, where, which stage, and what to do."""
    by_file: dict[str, list[dict[str, Any]]] = {}
    for f in findings:
        by_file.setdefault(f["file"], []).append(f)
    lines = [
        f"FUITE D'IDENTITÉ : des valeurs des exports bruts apparaissent dans "
        f"{_plural(len(by_file), 'fichier')} (les valeurs ne sont jamais affichées)."
    ]
    for file, items in by_file.items():
        stage = f" — écrit par l'étape « {items[0]['stage']} »" if items[0]["stage"] else ""
        lines.append(f"  - {file}{stage}")
        for f in items:
            lines.append(
                f"      {f['kind']} : {_plural(f['count'], 'occurrence')}, "
                f"{_plural(f['distinct_values'], 'valeur')} distincte"
                f"{'s' if f['distinct_values'] > 1 else ''} ; {f['where']}"
            )
    lines += [
        "  À faire :",
        "    1. ne partagez pas ces fichiers ; supprimez-les (ou tout le dossier de l'étape) ;",
        "    2. corrigez l'étape qui les écrit (indiquée ci-dessus, sinon voir les `outs` de "
        "dvc.yaml) : aucune colonne d'identité ne doit sortir de l'ingestion, seulement des "
        "jetons pseudonymisés ;",
        "    3. relancez `dvc repro`, qui repasse par ce garde-fou.",
    ]
    if any("[chemin masqué" in file for file in by_file):
        lines.append(
            "  Un chemin masqué contient lui-même une identité : retrouvez le fichier par son "
            "empreinte (`find outputs data_clean -type f -exec sha256sum {} +`)."
        )
    lines.append(f"  Détail, sans les valeurs : {REPORT}.")
    return lines
