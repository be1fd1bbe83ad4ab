"""The independent disclosure attack of the project reports (issue 20).

Runs on the worktree's own sample outputs (``outputs/tables/<Y>/projet-*/`` and
``outputs/reports/<Y>/projet-*.qmd``, their figures' CSVs and monthly sheets; skipped when the
pipeline has not been run): :mod:`tests.support.projects_attacker` names every printed cell
itself, writes the relations a reader argues from the document (argued there), and every
« < k » cell — and every increase of a cumulative curve of persons — must keep at least two
possible values in 1…k−1 whether « s » is read as ≥ 0 or ≥ k. A hand-made control shows the
attack does recover a cell when the document gives one away.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.support.projects_attacker import (
    attack_projects,
    document_leaks,
    project_folders,
    projects_relations,
)

ROOT = Path(__file__).resolve().parents[2]


def _params() -> dict:
    return yaml.safe_load((ROOT / "params/pipeline.yaml").read_text(encoding="utf-8"))["report"]


def test_no_hidden_project_cell_can_be_recovered_from_the_reports() -> None:
    report = _params()
    year, k = int(report["year"]), int(report["disclosure_threshold"])
    tables, reports = ROOT / f"outputs/tables/{year}", ROOT / f"outputs/reports/{year}"
    folders = project_folders(tables)
    if not folders or not all((reports / f"{f}.qmd").exists() for f in folders):
        pytest.skip("tableaux ou rapports des projets absents : dvc repro")
    pr = projects_relations(tables, reports)
    attack = attack_projects(pr, k)
    for f in folders:  # not vacuous: every project prints masks, all in some relation
        assert any(key.startswith(f + "/") for key in attack.hidden), f
    assert not attack.isolated, f"cellules masquées hors relations : {attack.isolated}"
    assert attack.primary and attack.relations > 50
    print(
        f"{attack.relations} relations, {len(attack.hidden)} cellules masquées dont "
        f"{len(attack.primary)} « < {k} »\n" + "\n".join(attack.report)
    )
    leaks = document_leaks(pr, reports)
    assert not leaks, "nombres imprimés hors des tableaux :\n" + "\n".join(leaks)
    assert not attack.pinned, "nombres de personnes retrouvés par un lecteur :\n" + "\n".join(
        attack.pinned
    )


def _write(folder: Path, name: str, text: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


MOIS = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
        "nov.", "déc.")  # fmt: skip


def test_the_attack_recovers_a_cell_the_document_gives_away(tmp_path: Path) -> None:
    """Control: January's participants masked in the monthly table but printed as the first
    value of the cumulative objective « participants_uniques » (the leak of the first sample
    run): « nouveaux » = 7 − 5 = 2 is recovered; and a score table whose domains give the
    masked score away (Σ domains = Σ score × tenants)."""
    tables, reports = tmp_path / "tables", tmp_path / "reports"
    f = tables / "projet-x"
    rows = ["janv.,s,< 5,5,10"] + [f"{m},20,0,20,40" for m in MOIS[1:]]
    _write(f, "mois.csv", "Mois,Participants,Nouveaux,Revenants,Présences\n" + "\n".join(rows))
    _write(f, "annee.csv", ",Année\nParticipants différents,27\nNouveaux participants,< 5\n"
           "Présences,450\n")  # fmt: skip
    cum = ["7"] + ["27"] * 11
    _write(
        f,
        "objectif_p.csv",
        "Mois,Cumul\n" + "\n".join(f"{m},{c}" for m, c in zip(MOIS, cum, strict=True)),
    )
    _write(f, "affiliation.csv", "Score,À 6 mois\n0 domaine,10\n1 domaine,10\n2 domaines,s\n"
           "3 domaines,< 5\nAu moins un domaine,s\nTotal,30\n")  # fmt: skip
    _write(f, "domaines.csv", "Domaine,À 6 mois\nA,15\nB,12\nC,6\n")
    reports.mkdir()
    (reports / "projet-x.qmd").write_text(
        "| Participants | `participants_uniques` | au moins 1 | 27 | oui |\n\n"
        "![Participants : valeur cumulée mois par mois. Données : "
        "`projet-x-figures/objectif-p.csv`.](x.png)\n",
        encoding="utf-8",
    )
    attack = attack_projects(projects_relations(tables, reports), 5)
    pinned = "\n".join(attack.pinned)
    assert "projet-x/mois[janv.|Nouveaux]" in pinned, attack.report
    # scores 2 and 3: s + t = 30 − 20 and 2s + 3t = 15 + 12 + 6 − 10 → t = 3
    assert "projet-x/affiliation[3 domaines|À 6 mois]" in pinned, attack.report
