"""Plausible ``projects`` stage outputs (the coord20 contract) for the report's tests.

Writes ``<root>/<year>/<project>/`` for two projects, as lane ``pstage``'s stage would, with
known small cells so the publication and the report can be checked without running the
analysis:

* ``affiliation_hf`` (type ``affiliation``): about 45 tenants a year, a monthly council from
  March whose **six** tenants attend 3 to 6 at a time (every session's attendance is under k=5
  or barely above), affiliation scores at entry/6/12 months, Housing First outcomes;
* ``sport_foot`` (type ``socio_sport``): about 30 players, volunteers, workers; no council,
  no affiliation, no outcomes (``results.json`` says why, in French).

Planted (returned by :func:`write_projects_outputs`): the council's six tenants, a month with
2 new participants (``nouveaux`` of May < k), a role with 3 participants (``volontaire``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["COUNCIL_TENANTS", "write_projects_outputs"]

COUNCIL_TENANTS = 6
ROLES = ("locataire", "joueur", "volontaire", "travailleur", "autre")
DOMAINS = ("culture", "sport", "communautaire", "famille", "formation_emploi",
           "sante_bien_etre", "citoyennete", "logement_appropriation")  # fmt: skip


def _write(folder: Path, name: str, frame: pd.DataFrame) -> None:
    frame.to_csv(folder / name, index=False)


def _json(folder: Path, name: str, data: dict) -> None:
    (folder / name).write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


def _participation(
    folder: Path,
    rng: np.random.Generator,
    year: int,
    role: str,
    base: int,
    small_role: str,
    council: bool,
) -> dict:
    rows, cal = [], []
    total_new = 0
    for m in range(1, 13):
        rise = 1.25 if council and m >= 3 else 1.0
        participants = int(base * rise) + int(rng.integers(0, 4))
        new = 2 if m == 5 else (participants if m == 1 else int(rng.integers(5, 9)))
        total_new += new
        sessions = int(rng.integers(6, 10))
        presences = participants * 2 + int(rng.integers(0, 6))
        row = {
            "month": f"{year}-{m:02d}",
            "sessions": sessions,
            "presences": presences,
            "participants": participants,
            "nouveaux": new,
            "revenants": participants - new,
        }
        for r in ROLES:
            row[f"participants_{r}"] = 0
        # participants = the participant roles (main + « autre »); volunteers, workers beside
        row["participants_autre"] = 1 if m % 3 else 0
        row[f"participants_{role}"] = participants - row["participants_autre"]
        row[f"participants_{small_role}"] = 2
        row["participants_travailleur"] = 3
        rows.append(row)
        days = pd.date_range(f"{year}-{m:02d}-01", periods=28, freq="D")
        picks = rng.choice(len(days), size=sessions, replace=False)
        for i in sorted(picks):
            act = "sport" if i % 2 else ("culture" if role == "locataire" else "entrainement")
            cal.append(
                {
                    "date": days[i].date().isoformat(),
                    "activity": act,
                    "sessions": 1,
                    "presences": int(rng.integers(3, 12)),
                }
            )
        if council and m >= 3:
            cal.append(
                {
                    "date": f"{year}-{m:02d}-15",
                    "activity": "conseil",
                    "sessions": 1,
                    "presences": int(rng.integers(3, 7)),
                }
            )
    _write(folder, "participation_mois.csv", pd.DataFrame(rows))
    _write(folder, "activites_calendrier.csv", pd.DataFrame(cal))
    # the year's distinct participants: fewer than the sum of months
    total = total_new
    bands = {1: total // 3, 2: total // 5, 3: total // 6, 5: total // 8, 8: 3}
    bands[12] = total - sum(bands.values())
    _write(
        folder,
        "participation_seances.csv",
        pd.DataFrame({"n_seances": list(bands), "participants": list(bands.values())}),
    )
    ret = pd.DataFrame(
        {
            "month": [f"{year}-{m:02d}" for m in range(1, 13)],
            "participants": [r["participants"] for r in rows],
        }
    )
    ret["seen_again"] = (ret["participants"] * 0.6).round().astype(int)
    ret["share"] = ret["seen_again"] / ret["participants"]
    ret["complete"] = [m <= 9 for m in range(1, 13)]
    _write(folder, "retention.csv", ret)
    roles = {r: 0 for r in ROLES}
    roles[role] = total - 1
    roles["autre"] = 1
    roles[small_role] = 3
    roles["travailleur"] = 4
    return {"participants": total, "nouveaux": total_new, "roles": roles}


def _objectives(folder: Path, project: str, summary: dict) -> None:
    total = summary["participants"]
    cum = np.linspace(total * 0.3, total, 12).round().astype(int)
    rows = [
        {
            "code": "participants_uniques",
            "libelle": "Participants différents dans l'année",
            "indicateur": "participants_uniques",
            "cible": 40,
            "sens": "au_moins",
            "valeur": total,
            "atteint": total >= 40,
            "statut": "atteint" if total >= 40 else "en_cours",
            **{f"m{m:02d}": int(cum[m - 1]) for m in range(1, 13)},
        },
        {
            "code": "taux_retention",
            "libelle": "Participants revus dans les 3 mois",
            "indicateur": "retention_3_mois",
            "cible": 0.5,
            "sens": "au_moins",
            "valeur": 0.6,
            "atteint": True,
            **{f"m{m:02d}": 0.55 + 0.005 * m for m in range(1, 13)},
        },
    ]
    if project == "affiliation_hf":
        rows.append(
            {
                "code": "conseils_tenus",
                "libelle": "Conseils des locataires tenus",
                "indicateur": "seances:conseil",
                "cible": 10,
                "sens": "au_moins",
                "valeur": 10,
                "atteint": True,
                **{f"m{m:02d}": max(0, m - 2) for m in range(1, 13)},
            }
        )
        rows.append(
            {
                "code": "locataires_affilies",
                "libelle": "Locataires affiliés à 12 mois",
                "indicateur": "affilies_12_mois",
                "cible": 0.4,
                "sens": "au_moins",
                "valeur": 0.55,
                "atteint": True,
                **{f"m{m:02d}": None for m in range(1, 13)},
            }
        )
    _write(folder, "objectifs.csv", pd.DataFrame(rows))


def _budget(folder: Path, drift_line: str, year: int) -> None:
    """Lane pstage's shapes: ``budget.csv`` by ``level``, ``budget_mois.csv`` with a total."""
    lines = [("personnel", "Région wallonne", 60000.0), ("activites", "Fondation Roi Baudouin",
             8000.0), ("transport", "Ville", 3000.0), (drift_line, "Ville", 4000.0)]  # fmt: skip
    rows, months = [], []
    for line, funder, planned in lines:
        rate = 1.25 if line == drift_line else 0.95
        spent = planned * rate * 10 / 12
        projected = planned * rate
        rows.append(
            {
                "level": "ligne_financeur",
                "line": line,
                "funder": funder,
                "planned": planned,
                "committed": round(spent * 0.05, 2),
                "spent": round(spent, 2),
                "projected": round(projected, 2),
                "execution": round(spent / planned, 3),
                "drift": projected > planned * 1.10,
                "drift_kind": "depassement" if projected > planned * 1.10 else "",
            }
        )
        for m in range(1, 11):
            months.append({"month": f"{year}-{m:02d}", "month_index": m, "line": line,
                           "spent_cum": round(planned * rate * m / 12, 2)})  # fmt: skip
    frame = pd.DataFrame(rows)
    total = frame[["planned", "committed", "spent", "projected"]].sum().to_dict()
    total_row = {"level": "total", "line": "total", "funder": "(tous)", **total,
                 "drift": False, "drift_kind": ""}  # fmt: skip
    _write(folder, "budget.csv", pd.concat([frame, pd.DataFrame([total_row])]))
    months = pd.DataFrame(months)
    tot = months.groupby(["month", "month_index"], as_index=False)["spent_cum"].sum()
    _write(folder, "budget_mois.csv", pd.concat([months, tot.assign(line="total")]))


def _affiliation(folder: Path) -> None:
    dist = {"entree": [14, 16, 10, 4, 1, 0, 0, 0, 0], "6_mois": [8, 13, 12, 7, 3, 2, 0, 0, 0],
            "12_mois": [5, 8, 9, 6, 3, 1, 0, 0, 0]}  # fmt: skip
    rows = [{"time": t, "score": s, "locataires": n} for t, v in dist.items()
            for s, n in enumerate(v)]  # fmt: skip
    _write(folder, "affiliation_scores.csv", pd.DataFrame(rows))
    dom = [{"domain": d, "time": t, "locataires": n}
           for t, base in (("entree", 4), ("6_mois", 7), ("12_mois", 9))
           for d, n in zip(DOMAINS, (base + 6, base + 4, base + 2, base, 2, base - 1, 1, base + 3),
                           strict=True)]  # fmt: skip
    _write(folder, "domaines.csv", pd.DataFrame(dom))
    _json(folder, "affiliation.json", {
        "summary": {"entree": {"n": 45, "median": 1.0, "q1": 0.0, "q3": 2.0},
                    "6_mois": {"n": 45, "median": 2.0, "q1": 1.0, "q3": 3.0},
                    "12_mois": {"n": 32, "median": 2.0, "q1": 1.0, "q3": 3.0}},
        "paired": {"n": 32, "median_change": 1.0, "wilcoxon_p": 0.0012, "hl_estimate": 1.0,
                   "hl_ci_low": 0.5, "hl_ci_high": 1.5},
        "definition": "domaines actifs : objectif atteint dans les 90 jours",
    })  # fmt: skip


def _outcomes(folder: Path) -> None:
    rows = [
        {
            "group": "participants",
            "tenants": 38,
            "n_retention": 34,
            "n_returns": 34,
            "retained_12m": 33,
            "returns": 3,
            "share_retained": 33 / 38,
            "ci_low": 0.72,
            "ci_high": 0.94,
        },
        {
            "group": "non_participants",
            "tenants": 52,
            "n_retention": 45,
            "n_returns": 45,
            "retained_12m": 39,
            "returns": 9,
            "share_retained": 39 / 52,
            "ci_low": 0.62,
            "ci_high": 0.85,
        },
    ]
    _write(folder, "issues_logement.csv", pd.DataFrame(rows))
    _json(folder, "issues_logement.json", {
        "difference": {"retention": {"d": 0.118, "ci_low": -0.05, "ci_high": 0.27}},
        "tenure_median_months": {"participants": 22, "non_participants": 14},
        "caveats": ["Comparaison non randomisée : les participants sont restés assez longtemps "
                    "pour rejoindre les activités."],
    })  # fmt: skip


def write_projects_outputs(root: Path, year: int = 2024) -> dict:
    """Write both projects' folders under ``root/<year>/`` and return what was planted."""
    rng = np.random.default_rng(20)
    planted = {}
    for project, role, small, label, kind in (
        ("affiliation_hf", "locataire", "volontaire",
         "Affiliation sociale des locataires Housing First", "affiliation"),
        ("sport_foot", "joueur", "volontaire",
         "Projet socio-sportif (équipe de football de rue)", "socio_sport"),
    ):  # fmt: skip
        folder = Path(root) / str(year) / project
        folder.mkdir(parents=True, exist_ok=True)
        council = kind == "affiliation"
        summary = _participation(folder, rng, year, role, 30 if council else 18, small, council)
        _objectives(folder, project, summary)
        _budget(folder, "location" if council else "equipement", year)
        _write(folder, "liaison.csv", pd.DataFrame(
            {"how": ["cle_partenaire", "nom_naissance", "aucun"] if not council
             else ["cle_partenaire", "aucun"],
             "participants": [0, 12, summary["participants"] - 12] if not council
             else [summary["participants"] - 3, 3]}))  # fmt: skip
        res = {
            "project": project,
            "year": year,
            "label": label,
            "type": kind,
            "notes": [],
            "participants_par_role": summary["roles"],
            "details": {
                "participation": {
                    "indicators": {"participants_uniques": summary["participants"]},
                    "retention_3m": {"newcomers": summary["nouveaux"],
                                     "retained": round(summary["nouveaux"] * 0.45)},
                }
            },
            "budget": {"rule": "Projection de fin d'année = dépensé + engagé non payé + rythme "
                               "des 3 derniers mois × mois restants."},
        }  # fmt: skip
        if council:
            sessions = [f"{year}-{m:02d}-15" for m in range(3, 13)]
            pres = [6, 5, 4, 6, 3, 5, 4, 6, 5, 4]
            _write(folder, "conseil.csv", pd.DataFrame(
                {"date": sessions, "activity_id": [f"{d}|conseil|1" for d in sessions],
                 "presences": pres}))  # fmt: skip
            res["details"]["participation"]["council_summary"] = {
                "sessions": 10,
                "mean_presences": 4.8,
                "attendees_year": COUNCIL_TENANTS,
            }
            _write(folder, "propositions.csv", pd.DataFrame(
                {"theme": ["activite", "cadre_de_vie", "partenariat", "reglement"],
                 "realisee": [4, 3, 0, 0], "en_cours": [2, 0, 0, 0], "refusee": [0, 0, 1, 0],
                 "abandonnee": [0, 0, 0, 1], "total": [6, 3, 1, 1]}))  # fmt: skip
            _json(folder, "effet_conseil.json", {
                "computed": True, "estimate": 1.24, "ci_low": 1.08, "ci_high": 1.42,
                "naive": 1.31, "model": "Poisson segmentée, offset séances, tendance linéaire",
                "diagnostics": {"lag1_autocorrelation": 0.08, "dispersion": 1.1}})  # fmt: skip
            _affiliation(folder)
            _outcomes(folder)
            res["council"] = {
                "activity": "conseil",
                "start": f"{year}-03",
                "tenants": COUNCIL_TENANTS,
            }
        else:
            res["notes"] = [
                "Affiliation et issues de logement : sans objet pour un projet socio-sportif."
            ]
        _json(folder, "results.json", res)
        planted[project] = summary
    return planted
