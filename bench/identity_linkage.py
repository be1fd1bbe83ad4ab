"""Identity rules of the linkage on planted truth, over seeds: before (the naive reading) and
after (network-wide id, safeguards), with the pairs compared and the time taken.

    python bench/identity_linkage.py [--seeds 5] [--persons 800]

Writes ``bench/results/identity_linkage.json``. Scenarios (tests/support/identity_network.py):
``reseau_identifiant`` (three partners sharing a person id, no names; naive = the id declared
local), ``nom_constant`` (a partner writing one placeholder for every name; naive = no
safeguard), and ``debit`` (the placeholder scenario at a larger scale without safeguards: pairs
scored per second on this machine, the ground of ``linkage.identity_checks.max_pairs``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "src"))

from observatoire.linkage.link import link_records  # noqa: E402
from observatoire.linkage.quality import pairwise  # noqa: E402
from observatoire.linkage.settings import LinkageSettings  # noqa: E402
from tests.support.identity_network import (  # noqa: E402
    named_network_with_placeholder,
    persons_in_several_dispositifs,
    shared_id_network,
)

NO_SAFEGUARD = LinkageSettings.model_validate(
    {"identity_checks": {"constant_share": 1.0, "constant_min_records": 10**6}}
)
NAMED = {"abri_nuit", "accueil_jour", "urgence_sociale"}


def _quality(net, person: pd.Series, partners: set[str] | None = None) -> dict:
    units = pd.DataFrame({"person_id": person, "true_person_id": net.truth.reindex(person.index)})
    if partners is not None:
        of = net.tokens.drop_duplicates("record_key").set_index("record_key")["partner_id"]
        units = units[of.reindex(units.index).isin(partners)]
    q = pairwise(units)
    return {"precision": q["precision"], "rappel": q["rappel"]}


def _run(net, settings=None) -> tuple:
    start = time.perf_counter()
    linkage = link_records(net.contacts, net.tokens, settings)
    seconds = time.perf_counter() - start
    pairs = linkage.scored.n_pairs if linkage.scored else 0
    return linkage, linkage.person_of(), {"paires_comparees": pairs, "secondes": round(seconds, 2)}


def network_case(seed: int, persons: int) -> dict:
    out = {}
    for label, scope in (("avant_identifiant_local", "local"), ("apres_scope_network", "network")):
        net, planted = shared_id_network(persons, seed, scope)
        _, person, run = _run(net)
        out[label] = {
            "part_plusieurs_dispositifs": round(
                persons_in_several_dispositifs(net.contacts, person), 4
            ),
            "personnes": int(person.nunique()),
            **_quality(net, person),
            **run,
        }
    out["verite"] = {"part_plusieurs_dispositifs": round(planted, 4), "personnes": persons}
    return out


def placeholder_case(seed: int, persons: int) -> dict:
    out = {}
    clean = named_network_with_placeholder(persons, seed, placeholder=False, hidden_dates=0.0)
    net = named_network_with_placeholder(persons, seed, hidden_dates=0.0)
    for label, network, settings in (
        ("sans_valeur_de_remplacement", clean, None),
        ("avant_sans_garde_fou", net, NO_SAFEGUARD),
        ("apres_garde_fous", net, None),
    ):
        try:
            linkage, person, run = _run(network, settings)
        except ValueError as exc:  # Splink's EM underflow on small clean networks (see report)
            out[label] = {"echec": str(exc)[:120]}
            continue
        out[label] = {
            "tous_les_dossiers": _quality(network, person),
            "partenaires_nominatifs": _quality(network, person, NAMED),
            "avertissements": len(linkage.identity.warnings()),
            **run,
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--persons", type=int, default=800)
    parser.add_argument("--debit-persons", type=int, default=4000)
    args = parser.parse_args()
    results = {
        "reseau_identifiant": {str(s): network_case(s, 300) for s in range(1, args.seeds + 1)},
        "nom_constant": {
            str(s): placeholder_case(s, args.persons) for s in range(1, args.seeds + 1)
        },
    }
    big = named_network_with_placeholder(args.debit_persons, 1, hidden_dates=0.0)
    _, _, run = _run(big, NO_SAFEGUARD)
    run["paires_par_seconde"] = round(run["paires_comparees"] / run["secondes"])
    results["debit"] = {"personnes": args.debit_persons, **run}
    out = ROOT / "bench/results/identity_linkage.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(results["debit"], ensure_ascii=False))
    print(f"→ {out}")


if __name__ == "__main__":
    main()
