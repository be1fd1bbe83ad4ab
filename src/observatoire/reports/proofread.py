"""Proofreading of the rendered reports: French errors a generator makes, found in the text a
reader sees.

The reports are assembled from templates, labels and sentences made by code, so an error is
made once and printed every year: « modèle binomiale négative » (a family name put after
« modèle »), « de urgence sociale » (a label lower-cased after « de »), « Horizon court :
horizon court : » (a label printed before a description that already starts with it), the same
figure stated twice in two sentences in a row. :func:`proofread` reads the *rendered* text
(the PDF's text by pypdf, or the HTML without its tags) and returns every finding; the
end-to-end tests run it on every report, so the same error cannot come back.

Two kinds of checks:

* :data:`FORBIDDEN`: patterns that are wrong wherever they appear (agreement, elision, doubled
  labels and words, a double negative the youth report used to print);
* :func:`doubled_statements`: two sentences in a row that say the same thing (the same
  sentence, or the same confidence interval printed twice, once as a rate ratio and once as a
  percentage), which a pattern cannot see.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FORBIDDEN",
    "Finding",
    "Rule",
    "doubled_statements",
    "html_text",
    "pdf_text",
    "proofread",
    "proofread_file",
    "sentences",
]


@dataclass(frozen=True)
class Rule:
    """A pattern that is an error wherever it matches, and why (in French, for the analyst)."""

    name: str
    pattern: re.Pattern[str]
    why: str


@dataclass(frozen=True)
class Finding:
    """One error found: the rule, the text matched and some context around it."""

    rule: str
    match: str
    context: str
    why: str

    def __str__(self) -> str:
        return f"[{self.rule}] « {self.match} » ({self.why}) … {self.context} …"


_VOWEL = "aeiouéèêëàâäîïôöûüù"
_LETTER = r"[^\W\d_]"
_SPACE = "[ \u00a0\u202f]"


def _rule(name: str, pattern: str, why: str, flags: int = 0) -> Rule:
    return Rule(name, re.compile(pattern, flags), why)


FORBIDDEN: tuple[Rule, ...] = (
    _rule(
        "accord-modele",
        r"\bmodèles? (?:binomiale|quasi-binomiale|négative)\b",
        "« modèle » est masculin : modèle binomial négatif",
        re.I,
    ),
    _rule(
        "elision-de",
        rf"\b[dD]e (?!onze\b|oui\b|ouate\b|yoga\b)(?=[{_VOWEL}])[{_VOWEL}]{_LETTER}*",
        "élision : « d' » devant une voyelle (d'urgence sociale)",
    ),
    _rule(
        "elision-que",
        rf"\b[qQ]ue (?=(?:il|ils|elle|elles|on|un|une|en)\b){_LETTER}+",
        "élision : « qu' » devant une voyelle",
    ),
    _rule(
        "elision-le-la",
        rf"\b(?:[lL]e|[lL]a) (?=(?:urgence|accueil|abri|hébergement|hiver|année|observatoire)\b)"
        rf"{_LETTER}+",
        "élision : « l' » devant une voyelle (l'urgence, l'accueil)",
    ),
    _rule(
        "libelle-double",
        rf"\b((?:[^\W\d_]+{_SPACE}?){{1,4}}\d*){_SPACE}?:{_SPACE}+\1{_SPACE}?:",
        "libellé répété (« Horizon court : horizon court : », « Type 1 : Type 1 : »)",
        re.I,
    ),
    _rule(
        "mot-double",
        r"\b(?!(?:nous|vous|oui|non|masqué|masquée)\b)([a-zàâäéèêëîïôöùûüç]{2,})\s+\1\b",
        "mot répété (en minuscules : deux cellules de tableau voisines ne comptent pas)",
    ),
    _rule(
        "double-negation",
        r"\bne\s+\w+\s+pas\b[^.;]{0,60}?\b(?:plus|moins)\s+souvent\s+que\b",
        "double négation difficile à lire : « sont plus nombreux à ne pas … »",
    ),
    _rule(
        "modele-poisson",
        r"\bmodèles? Poisson\b",
        "« modèle de Poisson » (Poisson est un nom propre)",
    ),
    _rule(
        "nom-repete-separateur",
        r"\b([A-ZÉ][\w'’-]+(?:[ \u00a0][\w'’-]+){2,6})\s+·\s+\1\b",
        "le même nom répété de part et d'autre d'un séparateur (organisation deux fois)",
    ),
)
"""Patterns that are errors wherever they appear in a rendered report."""


def _normalise(text: str) -> str:
    """One line of text: soft hyphens and line-end hyphenation removed, spaces collapsed."""
    text = text.replace("\u00ad", "").replace("\u2060", "").replace("\f", "\n")
    text = re.sub(r"(\w)-\n\s*(\w)", r"\1\2", text)
    return re.sub(r"\s+", " ", text).strip()


def _context(text: str, start: int, end: int, width: int = 60) -> str:
    return text[max(0, start - width) : min(len(text), end + width)]


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀÂÉÈÊÎÔÛÇ«(])")


def sentences(text: str) -> list[str]:
    """The sentences of a normalised text (split after . ! ? before a capital)."""
    return [s.strip() for s in _SENTENCE_END.split(_normalise(text)) if s.strip()]


_NUMBER = r"[+−-]?\d+(?:[,.]\d+)?"
_INTERVAL = re.compile(
    rf"IC[ \u00a0\u202f]*\d+[ \u00a0\u202f]*%[ \u00a0\u202f]*:?[ \u00a0\u202f]*"
    rf"({_NUMBER})[ \u00a0\u202f]*(%|pts?)?[ \u00a0\u202f]*(?:à|–|-|;)[ \u00a0\u202f]*({_NUMBER})"
)


def _value(text: str) -> tuple[float, int]:
    text = text.replace("−", "-").replace(",", ".")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return float(text), decimals


def _same_number(a: tuple[float, int], b: tuple[float, int]) -> bool:
    """Equal once the more precise is rounded to the precision of the other."""
    d = min(a[1], b[1])
    return round(a[0], d) == round(b[0], d)


def _as_percentages(lo: tuple[float, int], hi: tuple[float, int], percent: bool) -> list:
    """An interval as the percentages it can stand for: itself when printed in %, and, for a
    rate ratio near 1 (1,053), its change in % (5,3 %)."""
    forms = [(lo, hi)]
    if not percent and 0 < lo[0] < 3 and 0 < hi[0] < 3:
        forms.append(
            (
                (100 * (lo[0] - 1), max(lo[1] - 2, 0)),
                (100 * (hi[0] - 1), max(hi[1] - 2, 0)),
            )
        )
    return forms


def _intervals(sentence: str) -> list[list]:
    out = []
    for m in _INTERVAL.finditer(sentence):
        lo, hi = _value(m.group(1)), _value(m.group(3))
        out.append(_as_percentages(lo, hi, bool(m.group(2))))
    return out


def _same_interval(a: list, b: list) -> bool:
    return any(
        _same_number(x[0], y[0]) and _same_number(x[1], y[1]) for x in a for y in b
    ) and not all(x[0][1] == y[0][1] == 0 for x in a for y in b)


def doubled_statements(text: str, window: int = 2) -> list[Finding]:
    """Sentences that repeat one within ``window`` sentences before them: the same sentence
    (over 30 characters), or the same confidence interval (once as a rate ratio 1,053 à 1,078,
    once as a change +5,3 % à +7,8 %, or the same interval rounded differently)."""
    found = []
    sents = sentences(text)
    for i, s in enumerate(sents):
        for j in range(max(0, i - window), i):
            prev = sents[j]
            if len(s) > 30 and s.lower() == prev.lower():
                found.append(Finding("phrase-double", s[:80], prev[:160], "phrase répétée"))
                break
            a, b = _intervals(prev), _intervals(s)
            if any(_same_interval(x, y) for x in a for y in b):
                found.append(
                    Finding(
                        "chiffre-double",
                        s[:80],
                        f"{prev[:160]} | {s[:160]}",
                        "le même intervalle énoncé deux fois dans des phrases voisines",
                    )
                )
                break
    for s in sents:  # within one sentence: « 1,066 (IC 1,053 à 1,078) : hausse … 5,3 % à 7,8 % »
        ivs = _intervals(s)
        if any(_same_interval(x, y) for x, y in zip(ivs, ivs[1:], strict=False)):
            found.append(Finding("chiffre-double", s[:80], s[:200], "le même intervalle deux fois"))
    return found


def proofread(text: str) -> list[Finding]:
    """Every finding of :data:`FORBIDDEN` and :func:`doubled_statements` in ``text``."""
    flat = _normalise(text)
    found = [
        Finding(rule.name, m.group(0), _context(flat, m.start(), m.end()), rule.why)
        for rule in FORBIDDEN
        for m in rule.pattern.finditer(flat)
    ]
    return found + doubled_statements(text)


_TAGS = re.compile(r"<(script|style)\b.*?</\1>|<[^>]+>", re.S | re.I)
_BLOCKS = re.compile(r"</?(p|li|h\d|td|th|tr|div|figcaption|caption|br)\b[^>]*>", re.I)


def html_text(source: str) -> str:
    """The text of an HTML page as a reader sees it (scripts, styles and tags removed, embedded
    images dropped, block ends as line breaks); ``alt`` texts are kept, since a screen reader
    reads them."""
    alts = " ".join(html_lib.unescape(a) for a in re.findall(r'\balt="([^"]*)"', source))
    source = re.sub(r'src="data:[^"]*"', 'src=""', source)
    text = _TAGS.sub(" ", _BLOCKS.sub("\n", source))
    return html_lib.unescape(text) + "\n" + alts


def pdf_text(path: Path) -> str:
    """The text of a PDF (pypdf, page after page, in reading order): a library of the lock, so
    that proofreading needs nothing installed beside it (poppler's ``pdftotext`` was)."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def proofread_file(path: Path) -> list[Finding]:
    """:func:`proofread` of a rendered report, PDF or HTML."""
    path = Path(path)
    if path.suffix.lower() == ".pdf":
        return proofread(pdf_text(path))
    return proofread(html_text(path.read_text(encoding="utf-8")))
