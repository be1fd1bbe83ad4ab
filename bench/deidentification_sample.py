"""De-identification measured on the synthetic sample's own planted identities (issue 19).

The sample's generator (:mod:`observatoire.sample.fieldwork`) plants identities in the notes of
the KoboToolbox exports with a generator independent of ``bench/deidentification.py`` (other
sentence templates, other address formats), and writes where each one is
(``data_raw/sample_truth/notes_identites.csv``: file, sheet, row, column, kind, text, whether the
name is in the exports' keyed lists). This script reads what ingest kept
(``data_clean/field/*.parquet``) and counts, per kind, the planted identities no longer found in
the kept text. Run after ``observatoire generate-sample && observatoire ingest``:

    python bench/deidentification_sample.py

Writes ``bench/results/deidentification_sample.json``; ``tests/integration/test_field_sample.py``
asserts the issue's thresholds on the same measure.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
TRUTH = ROOT / "data_raw/sample_truth/notes_identites.csv"
FIELD = ROOT / "data_clean/field"
OUT = ROOT / "bench/results/deidentification_sample.json"
TEXT_COLUMNS = ("note", "text")


def kept_texts(field_dir: Path = FIELD) -> dict[tuple[str, int], str]:
    """The kept free text of every field table, by (file under the raw folder, row)."""
    kept: dict[tuple[str, int], str] = {}
    for path in sorted(field_dir.glob("*.parquet")):
        frame = pd.read_parquet(path)
        for column in TEXT_COLUMNS:
            if column not in frame:
                continue
            for file, row, text in zip(
                frame["source_file"], frame["source_row"], frame[column], strict=True
            ):
                name = str(file).split("#")[0]
                name = name.split("data_raw/sample/", 1)[-1]
                kept[(name, int(row))] = "" if pd.isna(text) else str(text)
    return kept


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def measure(truth_path: Path = TRUTH, field_dir: Path = FIELD) -> dict:
    """Recall per kind (a planted identity counts as removed when its text no longer appears in
    the kept note) and the share of the kept notes' words that are placeholders."""
    truth = pd.read_csv(truth_path)
    kept = kept_texts(field_dir)
    rows = []
    for t in truth.itertuples(index=False):
        text = kept.get((t.source_file, int(t.source_row)))
        if text is None:
            continue
        leaked = t.text in text or _squash(t.text) in _squash(text)
        kind = t.kind
        if kind == "nom":
            kind = "nom (liste)" if bool(t.in_keyed_list) else "nom (hors liste)"
        rows.append((kind, not leaked))
    found = pd.DataFrame(rows, columns=["kind", "removed"])
    recall = found.groupby("kind")["removed"].agg(["mean", "size"])
    patterned = found[~found["kind"].str.startswith("nom")]["removed"]
    words = [w for text in kept.values() for w in text.split()]
    placeholders = sum(1 for w in words if w.startswith("["))
    return {
        "planted": int(len(truth)),
        "matched_to_kept_rows": int(len(found)),
        "recall": {k: round(float(r["mean"]), 4) for k, r in recall.iterrows()},
        "planted_by_kind": {k: int(r["size"]) for k, r in recall.iterrows()},
        "recall_patterned": round(float(patterned.mean()), 4) if len(patterned) else None,
        "placeholder_share_of_kept_words": round(placeholders / max(len(words), 1), 4),
    }


def main() -> int:
    if not (TRUTH.exists() and FIELD.is_dir()):
        print("Échantillon non généré ou non ingéré : observatoire generate-sample && ingest.")
        return 1
    result = measure()
    OUT.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
