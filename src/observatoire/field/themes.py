"""Themes of the testimonies: a codebook in params, keyword coding checked against hand codes.

Each testimony gets the codes of ``barometre.codebook``. A code given by hand (the form's
``themes`` field, filled by the research-action's coders) is the reference; the keyword coding (a
code is present when one of its indicative keywords begins a word of the text, accents and case
ignored) codes the others. Where both exist, Cohen's κ per code measures how far the keyword
coding can be trusted (Landis & Koch's words: < 0.4 weak, 0.4–0.6 moderate, 0.6–0.8 substantial,
> 0.8 almost perfect) — the report prints it so a reader knows how much of the picture rests on
keywords. Frequencies count testimonies per code (a testimony counts once in each of its
codes); the co-occurrence table counts testimonies carrying both codes.

Quotes are chosen by :func:`observatoire.core.free_text.choose_quotes` (de-identified texts in
which a second pass finds nothing, attributed to a role only).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from observatoire.field.violence_settings import Theme

__all__ = [
    "cohen_kappa",
    "cooccurrence",
    "final_codes",
    "keyword_codes",
    "normalise",
]


def normalise(text: str) -> str:
    """Lower case, accents removed (« Sécurité » → « securite »)."""
    decomposed = unicodedata.normalize("NFKD", str(text).lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def keyword_codes(texts: pd.Series, codebook: Mapping[str, Theme]) -> pd.DataFrame:
    """0/1 per code: one of the code's keywords begins a word of the text."""
    norm = texts.fillna("").map(normalise)
    out = {}
    for code, theme in codebook.items():
        if not theme.keywords:
            out[code] = pd.Series(0, index=texts.index, dtype="int64")
            continue
        pattern = re.compile(
            r"\b(?:" + "|".join(re.escape(normalise(k)) for k in theme.keywords) + ")"
        )
        out[code] = norm.map(lambda t, p=pattern: int(bool(p.search(t)))).astype("int64")
    return pd.DataFrame(out, index=texts.index)


def hand_codes(themes: pd.Series, codes: Sequence[str]) -> tuple[pd.DataFrame, pd.Series]:
    """0/1 per code from the hand-coded ``themes`` and a mask of the testimonies coded by hand."""
    tokens = themes.fillna("").astype(str).str.split()
    coded = tokens.map(len) > 0
    frame = pd.DataFrame(
        {c: tokens.map(lambda t, c=c: int(c in t)).astype("int64") for c in codes},
        index=themes.index,
    )
    return frame, coded


def cohen_kappa(a: pd.Series, b: pd.Series) -> dict[str, Any]:
    """Cohen's κ of two binary codings of the same items, with the observed agreement and the
    asymptotic standard error (Fleiss, Cohen & Everitt 1969, simple form)."""
    a = np.asarray(a, dtype="int64")
    b = np.asarray(b, dtype="int64")
    n = len(a)
    if n == 0:
        return {"n": 0, "kappa": None, "agreement": None, "se": None}
    po = float((a == b).mean())
    pa, pb = a.mean(), b.mean()
    pe = float(pa * pb + (1 - pa) * (1 - pb))
    kappa = (po - pe) / (1 - pe) if pe < 1 else None
    se = float(np.sqrt(po * (1 - po) / (n * (1 - pe) ** 2))) if pe < 1 else None
    return {"n": n, "kappa": kappa, "agreement": po, "se": se}


def final_codes(
    testimonies: pd.DataFrame, codebook: Mapping[str, Theme]
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The codes kept per testimony (hand codes where they exist, else keywords) and the
    keyword coding's agreement with the hand codes, per code."""
    codes = list(codebook)
    auto = keyword_codes(testimonies["text"], codebook)
    hand, coded = hand_codes(testimonies["themes"], codes)
    final = auto.where(~coded, hand)
    agreement = (
        {c: cohen_kappa(auto.loc[coded, c], hand.loc[coded, c]) for c in codes}
        if coded.any()
        else {}
    )
    info = {
        "hand_coded": int(coded.sum()),
        "keyword_coded": int((~coded).sum()),
        "agreement": agreement,
    }
    return final, info


def cooccurrence(codes: pd.DataFrame) -> pd.DataFrame:
    """Testimonies carrying both codes (the diagonal: each code's testimonies)."""
    m = codes.to_numpy(dtype="int64")
    return pd.DataFrame(m.T @ m, index=codes.columns, columns=codes.columns)
