"""False alarms of the leak guard on the default sample drawn with 10 seeds and 3 scales.

For each draw (seeds 1..10 at the default scale, and the default seed at scales 0.04 and 0.15):
generate the synthetic exports, collect their identities as the guard does, ingest them (free
text de-identified) and run the guard on

- the draw's own kept tables (``data_clean/`` as ingest writes them: contacts with free text,
  refusals, aggregates), and
- the fixed report texts: every file of ``outputs/`` already rendered from the default sample
  (reports, quality sheets, tables, notebooks, Data Docs) and the report templates
  (``src/observatoire/assets/reports``), i.e. the prose any draw's report is made of.

A full ``dvc repro`` per draw is too heavy for now; this proves that no sample name collides, as
evidence, with report prose or kept tables. It also counts the *word collisions* (a name of the
draw found as a lone word somewhere in these texts): what a word-based guard without a stop list
would have raised, the « Cles » in « Chiffres clés » of issue 17.

    python bench/leak_guard_seeds.py [--seeds 10] [--quick]

Writes ``bench/results/leak_guard_seeds.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from observatoire.config.settings import load_settings  # noqa: E402
from observatoire.core.storage import write_parquet  # noqa: E402
from observatoire.guard.leaks import (  # noqa: E402
    build_report,
    collect_identities,
    scan_tree,
)
from observatoire.intake.ingest import ingest_network  # noqa: E402
from observatoire.intake.mapping import load_partners  # noqa: E402
from observatoire.intake.pseudonymise import Pseudonymiser  # noqa: E402
from observatoire.sample import generate_sample  # noqa: E402

RESULT = ROOT / "bench/results/leak_guard_seeds.json"
FIXED_TEXTS = [ROOT / "outputs", ROOT / "src/observatoire/assets/reports"]
EXCLUDE = [ROOT / "outputs/metrics/leak_guard.json"]
ISSUE_WORDS = ("cles", "belge", "winter", "wilson", "lang", "grand", "alpha", "sans", "jeune")
"""Words of the reports that issue 17 (and the former stop list) found to be sample names."""


def _word_collisions(ids, roots: list[Path]) -> int:
    """Files where some name of the draw appears as a lone word (no evidence rule applied)."""
    n = 0
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.suffix.lower() not in {
                ".qmd",
                ".j2",
                ".md",
                ".csv",
                ".json",
                ".svg",
                ".html",
                ".typ",
            }:
                continue
            text = path.read_text(encoding="utf-8", errors="replace")
            if any(kind in ("nom", "prénom") for kind, _ in ids.match(text)):
                n += 1
    return n


def one_draw(seed: int, scale: float) -> dict:
    settings = load_settings(ROOT / "params/pipeline.yaml")
    params = settings.sample.model_dump()
    params.update(seed=seed, scale=scale)
    partners = load_partners(ROOT / "params/partners", ROOT / "params/codes")
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="guard-bench-") as tmp:
        raw, truth, clean = Path(tmp) / "raw", Path(tmp) / "truth", Path(tmp) / "data_clean"
        generate_sample(params, raw, truth)
        ids = collect_identities(raw, partners)
        result = ingest_network(
            raw, partners, Pseudonymiser(b"bench-key-" * 4), progress=lambda _: None
        )
        write_parquet(result.contacts, clean / "contacts.parquet")
        write_parquet(result.refusals, clean / "refusals.parquet")
        write_parquet(result.aggregates, clean / "aggregates.parquet")
        kept = build_report(ids, scan_tree([clean], ids), {})
        texts = build_report(ids, scan_tree(FIXED_TEXTS, ids, exclude=EXCLUDE), {})
        collisions = _word_collisions(ids, FIXED_TEXTS)
    findings = kept["findings"] + texts["findings"]
    return {
        "seed": seed,
        "scale": scale,
        "raw_exports": ids.raw_files,
        "identity_values_checked": kept["identity_values_checked"],
        "files_scanned": kept["files_scanned"]["total"] + texts["files_scanned"]["total"],
        "free_text_deidentified": result.free_text,
        "false_alarms": len(findings),
        "false_alarm_files": sorted({f["file"] for f in findings}),
        "false_alarm_kinds": dict(Counter(f["kind"] for f in findings)),
        "files_with_a_lone_name_word": collisions,
        "issue_words_that_are_names_of_the_draw": sorted(
            w for w in ISSUE_WORDS if ids.names.hashed(w) in ids.names.singles
        ),
        "seconds": round(time.perf_counter() - start, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="one seed, scale 0.04 (smoke)")
    args = parser.parse_args()
    default_seed = load_settings(ROOT / "params/pipeline.yaml").sample.seed
    draws = (
        [(default_seed, 0.04)]
        if args.quick
        else (
            [(s, 1.0) for s in range(1, args.seeds + 1)]
            + [(default_seed, 0.04), (default_seed, 0.15)]
        )
    )
    runs = []
    for seed, scale in draws:
        run = one_draw(seed, scale)
        print(
            f"graine {seed}, échelle {scale} : {run['false_alarms']} fausse(s) alerte(s), "
            f"{run['files_with_a_lone_name_word']} fichiers avec un nom isolé ({run['seconds']} s)",
            flush=True,
        )
        runs.append(run)
    summary = {
        "draws": len(runs),
        "false_alarms_total": sum(r["false_alarms"] for r in runs),
        "files_with_a_lone_name_word_total": sum(r["files_with_a_lone_name_word"] for r in runs),
        "fixed_texts": [p.relative_to(ROOT).as_posix() for p in FIXED_TEXTS],
        "runs": runs,
    }
    if not args.quick:
        RESULT.parent.mkdir(parents=True, exist_ok=True)
        RESULT.write_text(
            json.dumps(summary, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
    print(json.dumps({k: v for k, v in summary.items() if k != "runs"}, ensure_ascii=False))


if __name__ == "__main__":
    main()
