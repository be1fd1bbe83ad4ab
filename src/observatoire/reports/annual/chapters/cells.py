"""Published cells as text: changes, shares and table rows that never reveal a masked count.

Every chapter prints person counts through the report's
:class:`~observatoire.disclosure.suppression.Publication`, so a count masked in a table is masked
in the text too; a change or a share is printed only when the counts it is computed from are
published.
"""

from __future__ import annotations

from typing import Any

from observatoire.core.formatting import french_fraction as fr_pct
from observatoire.disclosure.publication import Tables, key, returns_cohort_key
from observatoire.disclosure.suppression import Publication

__all__ = ["change_text", "share_text", "split_rows", "table_rows"]


def change_text(pub: Publication, current: str, previous: str) -> str:
    """Relative change between two published person counts; « – » if either is masked or was
    not computed (a previous year whose flows the coverage did not allow)."""
    if current not in pub.status or previous not in pub.status:
        return "–"
    if pub.hidden(current) or pub.hidden(previous):
        return "–"
    cur, prev = pub.values.get(current), pub.values.get(previous)
    if not prev or cur is None:
        return "–"
    return fr_pct(cur / prev - 1, 1, signed=True)


def share_text(pub: Publication, part: str, base: str, decimals: int = 1) -> str:
    """A share of two published counts; « – » when either is masked or was not computed."""
    if part not in pub.status or base not in pub.status:
        return "–"
    if pub.hidden(part) or pub.hidden(base):
        return "–"
    b = pub.values.get(base)
    p = pub.values.get(part)
    return fr_pct(p / b, decimals) if b else "–"


def table_rows(pub: Publication, tables: Tables, name: str) -> list[dict[str, Any]]:
    """A published table as rows of text, its index in ``label``."""
    if not tables.has(name):
        return []
    text = pub.text(tables.get(name))
    return [{"label": idx, "cells": list(row)} for idx, row in text.iterrows()]


def split_rows(
    ind: dict[str, Any], pub: Publication, family: str, what: str, parts: tuple[str, ...]
) -> list[tuple[str, dict[str, Any], dict[str, str], bool, bool]]:
    """Rows of a base split in published parts (see ``publication._split_table``), horizons in
    increasing order (6, 12, 24 months): per horizon, the record, the texts of the base and of
    each part (``base`` and the part names), whether a share of the parts may be printed
    (base and every part published) and whether the base is published."""
    y = int(ind["year"])
    rows = []
    family_rows = ind.get(family) or {}
    for months in sorted(family_rows, key=int):
        r = family_rows[months]
        base_count = "cohort" if family == "housing_first" else "exits"
        if not r or not r.get(base_count):
            continue
        base = (
            returns_cohort_key(y) if family == "returns" else key(y, f"horizon={months}", what=what)
        )
        part_keys = [key(y, f"horizon={months}", p, what=what) for p in parts]
        ok = not (pub.hidden(base) or any(pub.hidden(k) for k in part_keys))
        texts = {"base": pub.cell_text(base)}
        texts.update({p: pub.cell_text(k) for p, k in zip(parts, part_keys, strict=True)})
        texts["part"] = texts[parts[0]]
        rows.append((str(months), r, texts, ok, not pub.hidden(base)))
    return rows
