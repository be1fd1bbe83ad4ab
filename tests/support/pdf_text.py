"""The reports' PDFs read as text, as a reader (or a script) reads them.

A PDF adds nothing to what the published CSVs tell a reader when (1) every number of persons in
its prose is a value the ledger publishes, and (2) every table row it prints shows a mask
wherever the same row of the CSV does. The attacker over the CSVs then covers the PDFs too.
Only pypdf and the published files are used, never the code that builds or protects the tables.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

__all__ = [
    "BARE_COUNT",
    "MASK",
    "ProseCount",
    "deck_lines",
    "masks_lost",
    "pdf_lines",
    "person_counts_in_prose",
]

MASK = re.compile(r"^(?:< \d+|s)$")
BARE_COUNT = re.compile(r"^\d{1,3}(?: \d{3})*$")
"""A slide's table cell holding a number alone (the deck's persons per dispositif)."""
_SPACES = re.compile(r"[\u202f\u00a0 ]+")
_COUNT = re.compile(
    r"(?<![\d,.\-–/])(\d{1,3}(?: \d{3})*)\s+(?:(?:nouvelles|nouveaux|autres)\s+)?"
    r"(?:personnes|jeunes|adultes)\b(?! de \d)"
)


def _norm(text: str) -> str:
    return _SPACES.sub(" ", text.replace("’", "'")).strip()


def pdf_lines(path: Path) -> list[str]:
    """Every line of text of the PDF, spaces and apostrophes normalised."""
    from pypdf import PdfReader

    return [
        _norm(line) for page in PdfReader(path).pages for line in page.extract_text().split("\n")
    ]


def deck_lines(path: Path) -> list[str]:
    """Every paragraph of every slide of a deck (the ``<a:p>`` of ``ppt/slides/*.xml``)."""
    import html
    import zipfile

    lines = []
    with zipfile.ZipFile(path) as deck:
        names = sorted(n for n in deck.namelist() if re.fullmatch(r"ppt/slides/slide\d+\.xml", n))
        for name in names:
            xml = deck.read(name).decode("utf-8")
            for para in re.findall(r"<a:p>(.*?)</a:p>", xml, flags=re.S):
                text = "".join(re.findall(r"<a:t>(.*?)</a:t>", para, flags=re.S))
                if text.strip():
                    lines.append(_norm(html.unescape(text)))
    return lines


@dataclass(frozen=True)
class ProseCount:
    value: int
    context: str


def person_counts_in_prose(lines: list[str]) -> list[ProseCount]:
    """Numbers printed right before « personnes », « jeunes » or « adultes »."""
    text = " ".join(lines)
    return [
        ProseCount(int(m.group(1).replace(" ", "")), text[max(0, m.start() - 50) : m.end() + 10])
        for m in _COUNT.finditer(text)
    ]


def masks_lost(lines: list[str], csv: Path) -> list[str]:
    """Rows of a published CSV whose masks the PDF does not show: a CSV row with a mask whose
    label starts some PDF lines must have one of them with at least as many masks (the same
    label may start lines of other tables: the row is the line that shows it best)."""
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    lost = []
    for row in frame.itertuples(index=False):
        label, cells = _norm(str(row[0])), [_norm(str(c)) for c in row[1:]]
        wanted = sum(bool(MASK.match(c)) for c in cells)
        if not wanted or len(label) < 3 or not re.search(r"[A-Za-zÀ-ÿ]", label):
            continue
        shown = [
            len(re.findall(r"(?:^|\s)(?:< \d+|s|masqué)(?=\s|$)", line[len(label) :]))
            for line in lines
            if line.startswith(label + " ")
        ]
        if shown and max(shown) < wanted:
            lost.append(f"{csv.name} « {label} » : {wanted} masque(s), PDF : {max(shown)}")
    return lost
