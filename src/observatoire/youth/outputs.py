"""Writing the youth study's results: tables as CSV, scalars as JSON, types per person.

``outputs/youth/<year>/`` holds aggregates only (what the report reads); the type of each
person's trajectory is person-level, pseudonymous data and goes to ``data_clean/`` with the
other clean tables, never to a shared output.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from observatoire.core.person_level import NO_PERSONS_REASON, has_persons
from observatoire.core.storage import write_csv, write_json, write_parquet
from observatoire.youth.cohort import ADULTS, YOUTH, StudyParams, build_cohort

# The study and its models load where it runs: the youth stage's own process only checks
# that a cohort exists before handing over to the notebook.
if TYPE_CHECKING:
    from observatoire.youth.study import StudyResults

__all__ = ["person_types", "summary", "write_results"]


def _clean(value: Any) -> Any:
    """JSON-safe scalars (NaN → None, numpy → Python)."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def summary(results: StudyResults) -> dict[str, Any]:
    """The study's scalar results (counts are raw: the report applies disclosure control)."""
    study, cohort = results.study, results.cohort
    typ = results.typology
    surv = {}
    for key, s in results.survival.items():
        surv[key] = {
            "n": s["n"],
            "events": s["events"],
            "medians": s["medians"],
            "survival_at": s["survival_at"],
            "logrank_chi2": s["logrank_chi2"],
            "logrank_p": s["logrank_p"],
            "rmst": s.get("rmst", {}),
            "rmst_adjusted": s.get("rmst_adjusted", []),
        }
        if "primary" in s:
            surv[key]["primary"] = s["primary"]
        if "competing" in s:
            comp = s["competing"]
            surv[key]["competing"] = {
                "destinations": comp["destinations"],
                "groups": {
                    g: {kk: v for kk, v in d.items() if kk != "curve"}
                    for g, d in comp["groups"].items()
                },
            }
    return _clean(
        {
            "year": study.year,
            "window": [study.window_start, study.window_end],
            "follow_up_months": study.follow_up_months,
            "data_end": study.data_end,
            "lookback_incomplete": bool(cohort.attrs.get("lookback_incomplete", False)),
            "cohort": {
                "youth": int((cohort["group"] == YOUTH).sum()),
                "adults": int((cohort["group"] == ADULTS).sum()),
                "by_band": cohort["band"].value_counts().to_dict(),
                "street_only": cohort.groupby("group")["street_only"].sum().to_dict(),
                "age_estimated": cohort.groupby("group")["age_estimated"].sum().to_dict(),
            },
            "typology": None
            if typ is None
            else {
                "k": typ.k,
                "method": typ.method,
                "distance": study.distance,
                "substitution": study.substitution,
                "indel": study.indel,
                "silhouette_by_k": typ.silhouette_by_k,
                "silhouette": typ.silhouette_by_k[typ.k],
                "silhouette_distinct_by_k": typ.silhouette_distinct_by_k,
                "silhouette_distinct": typ.asw_distinct,
                "sizes": results.types.set_index("type")["persons"].to_dict(),
                "presented": int(results.types["stable"].sum()),
                "checks": results.typology_checks,
            },
            "survival": surv,
            "multiplicity": {"method": "holm", "m": int(results.tests["p"].notna().sum())},
            "youth_share_trend": results.youth_share_trend,
        }
        # only when something was skipped: a complete study's results stay as they were
        | ({"non_calculable": dict(results.not_computable)} if results.not_computable else {})
    )


def write_results(results: StudyResults, out_dir: Path, types_path: Path) -> list[Path]:
    """Write every table and the summary; return the paths written."""
    out_dir = Path(out_dir)
    written = [out_dir / "resultats.json"]
    write_json(written[0], summary(results))
    population = results.profile.get(
        "population", pd.Series("cohorte", index=results.profile.index)
    )
    tables: dict[str, pd.DataFrame] = {
        "profil": results.profile[population == "cohorte"],
        "profil_actifs": results.profile[population == "actifs"],
        "tests": results.tests,
        "sensibilite_typologie": results.sensitivity,
        "services_actives": results.activated,
        "services_quittes": results.fled,
        "sorties_de_sejour": results.exits,
        "premiers_services": results.first_services,
        "types": results.types,
        "flux": results.flows,
    }
    for group in (YOUTH, ADULTS):
        tables[f"parcours_{group}"] = results.paths[group]
        tables[f"combinaisons_{group}"] = results.combinations[group]
        tables[f"chronogramme_{group}"] = results.distributions[group].rename_axis("month")
        counts, probs = results.transitions[group]
        tables[f"transitions_{group}"] = probs.rename_axis("from_state")
        tables[f"transitions_effectifs_{group}"] = counts.rename_axis("from_state")
    for key, s in results.survival.items():
        for group, curve in s["curves"].items():
            tables[f"survie_{key}_{group}"] = curve
        for group, d in s.get("competing", {}).get("groups", {}).items():
            tables[f"incidence_{key}_{group}"] = d["curve"]
    for name, frame in tables.items():
        index = frame.index.name is not None
        written.append(out_dir / f"{name}.csv")
        write_csv(frame.reset_index() if index else frame, written[-1])
    write_parquet(person_types(results), Path(types_path))
    written.append(Path(types_path))
    return written


def person_types(results: StudyResults) -> pd.DataFrame:
    """The type of each young person's trajectory; no row when the typology was not computed
    (the reason is in ``resultats.json``, key ``non_calculable``), so that the stage always
    writes its declared output."""
    if results.typology is None:
        return pd.DataFrame(
            {"person_id": pd.Series([], dtype="str"), "type": pd.Series([], dtype=np.int64)}
        )
    youth_ids = results.cohort.index[results.cohort["group"] == YOUTH]
    ids = results.sequences.person_ids
    youth_ids = ids[np.isin(ids, youth_ids)]
    return pd.DataFrame({"person_id": youth_ids, "type": results.typology.labels})


COHORT_KEY = "cohorte"
"""Key of ``non_calculable`` in ``resultats.json`` when the whole study could not run."""


def cohort_unavailable_reason(contacts: pd.DataFrame, study: StudyParams) -> str | None:
    """None when the entry cohort has someone; otherwise why the study cannot run, in French:
    the entry window, what the data cover, the parameters that set the window, what to do."""
    if not has_persons(contacts):
        return (
            f"Étude de cohorte non réalisée : {NO_PERSONS_REASON}. La cohorte, les profils, les "
            "trajectoires, les services quittés et la typologie se calculent sur les contacts "
            "de chaque personne ; les comptages (lits, nuitées, personnes par statut) n'en "
            "disent rien. À faire : si un partenaire peut transmettre une ligne par personne et "
            "par contact, la déclarer dans sa correspondance (README, « Ajouter un partenaire »)."
        )
    rows = contacts[contacts["year"] <= study.year]
    if len(rows) and len(build_cohort(rows, study)):
        return None
    first = pd.to_datetime(rows["date_start"]).min() if len(rows) else None
    covered = (
        f"les données commencent le {first:%d/%m/%Y}" if first is not None else "aucun contact"
    )
    return (
        "Étude de cohorte non réalisée : aucune personne n'entre dans la cohorte, dont la fenêtre "
        f"d'entrée va du {study.window_start:%d/%m/%Y} au {study.window_end:%d/%m/%Y} ({covered}). "
        f"La fenêtre est fixée par youth.entry_years ({study.entry_years} ans) et "
        f"youth.follow_up_months ({study.follow_up_months} mois de suivi jusqu'au "
        f"{study.data_end:%d/%m/%Y}) dans params/pipeline.yaml : chaque personne doit entrer "
        "assez tôt pour être suivie jusqu'au bout. Profils, trajectoires, services quittés et "
        "typologie ne sont donc pas calculés. À faire : ajouter les exports des années de la "
        f"fenêtre d'entrée et des {study.lookback_months} mois qui la précèdent "
        "(youth.lookback_months ; README, « Ajouter une année »)."
    )


def write_unavailable(reason: str, year: int, out_dir: Path, types_path: Path) -> list[Path]:
    """The declared outputs of a study that could not run: ``resultats.json`` with the reason
    under ``non_calculable`` (and no ``cohort``), and an empty types table."""
    out_dir = Path(out_dir)
    written = [out_dir / "resultats.json"]
    write_json(written[0], {"year": int(year), "non_calculable": {COHORT_KEY: reason}})
    written.append(Path(types_path))
    empty = pd.DataFrame({"person_id": pd.Series(dtype=str), "type": pd.Series(dtype="Int64")})
    write_parquet(empty, written[-1])
    return written
