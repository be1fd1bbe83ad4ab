"""Does `dvc repro` finish on small and partial networks? Every variant, end to end.

    python bench/small_networks.py            # every variant (about 2 minutes each on 2 cores)
    python bench/small_networks.py sans_abri  # some variants by name

Each variant is the synthetic sample at a reduced scale (fewer than 30 young newcomers), read
through only some partners' mappings (see ``tests/support/small_network.py``): one partner
alone, each dispositif missing in turn, and a network with two years of history. For each run:
whether it finished, the stage that failed, the declared DVC outputs missing, what the youth
study and the trends stage say they could not compute (their French reasons) and what the annual
report prints of it. Results in
``bench/results/small_networks.json``; ``make test`` keeps one case
(``tests/integration/test_small_network.py``).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.small_network import Network, NetworkRun, run_network  # noqa: E402

ALL = (
    "abri_nuit",
    "accueil_jour",
    "housing_first",
    "maison_accueil",
    "travail_rue",
    "urgence_sociale",
)
VARIANTS = (
    Network("abri_seul", ("abri_nuit",)),
    Network("accueil_jour_seul", ("accueil_jour",)),
    Network("travail_rue_seul", ("travail_rue",)),
    *(Network(f"sans_{p}", tuple(q for q in ALL if q != p)) for p in ALL),
    Network("deux_annees", ALL, first_year=2023),
    # Foreign formats onboarded by mapping files alone (tests/fixtures/foreign/), each alone.
    Network("hmis_seul", ("reseau_hmis",), fixture="hmis"),
    Network("occupation_seule", ("la_traverse",), fixture="occupation_quotidienne"),
    Network("liste_nominative_seule", ("liste_nominative",), fixture="liste_nominative_mensuelle"),
)


def _skipped(run: NetworkRun) -> dict[str, object]:
    year = run.network.year
    out: dict[str, object] = {}
    youth = run.project / f"outputs/youth/{year}/resultats.json"
    if youth.exists():
        res = json.loads(youth.read_text(encoding="utf-8"))
        out["jeunes"] = res.get("non_calculable", {})
        out["cohorte_jeunes"] = (res.get("cohort") or {}).get("youth", 0)
    trends = run.project / f"outputs/trends/{year}/tendances.json"
    if trends.exists():
        out["tendances"] = json.loads(trends.read_text(encoding="utf-8")).get("non_calcule", {})
    report = run.project / f"outputs/reports/{year}/observatoire.qmd"
    if report.exists():
        text = report.read_text(encoding="utf-8")
        out["rapport_annuel"] = {
            # sentences « … : aucun partenaire de ce dispositif ne transmet … »: one per absent
            # dispositif in the coverage box, plus the introduction's when only one is absent
            "phrases_aucun_partenaire": text.count(
                " : aucun partenaire de ce dispositif ne transmet"
            ),
            "reseau_partiel": "Réseau partiel" in text,
            "encadres_non_calcule": text.count("## Ce qui n'a pas pu être calculé"),
        }
    return out


def summarise(run: NetworkRun) -> dict[str, object]:
    tail = [line for line in run.log.splitlines() if line.strip()][-8:]
    return {
        "partenaires": list(run.network.partners),
        "echelle": run.network.scale,
        "premiere_annee": run.network.first_year,
        "termine": run.returncode == 0,
        "secondes": round(run.seconds, 1),
        "etape_en_echec": run.failed_stage,
        "sorties_declarees_manquantes": run.missing_outputs,
        "non_calcule": _skipped(run),
        "fin_du_journal": [] if run.returncode == 0 else tail,
    }


def main(names: list[str]) -> int:
    variants = [v for v in VARIANTS if not names or v.name in names]
    out = ROOT / "bench/results/small_networks.json"
    results = json.loads(out.read_text(encoding="utf-8")) if names and out.exists() else {}
    with tempfile.TemporaryDirectory() as tmp:
        for network in variants:
            run = run_network(network, Path(tmp))
            results[network.name] = summarise(run)
            verdict = "terminé" if run.returncode == 0 else f"échec ({run.failed_stage})"
            print(f"{network.name} : {verdict} en {run.seconds:.0f} s", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return 0 if all(r["termine"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
