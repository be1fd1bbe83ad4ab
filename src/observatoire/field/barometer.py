"""Stage ``barometer``: every number of the violence barometer, computed once.

The notebook ``notebooks/barometre.py`` calls :func:`compute_barometer` and
:func:`write_barometer`; the ``publication`` stage protects the counts (incidents, respondents,
testimonies: :mod:`observatoire.disclosure.barometre`), the ``barometer_report`` stage prints the
published cells and the estimates whose cells are published. Written to
``outputs/field/barometre/<year>/``:

* ``resultats.json``: rates, the trend model and its diagnostics, closing time, refusal nights,
  exclusions, the survey's estimates and comparisons, the themes' agreement, the chosen quotes
  and what could not be computed (in French);
* ``comptes.csv``: every count the report may print, long format ``table, row, col, value``
  (the publication's input: never printed as is);
* ``mois.csv`` (incidents and exposure per service and month), ``heures.csv`` (incidents per
  hour and service, report year), ``comparaisons_<role|service>.csv``, ``cooccurrences.csv``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.core.free_text import choose_quotes
from observatoire.core.storage import write_csv, write_results_json
from observatoire.field import survey as sv
from observatoire.field import themes as th
from observatoire.field import violence as vi
from observatoire.field.violence_settings import BarometreSettings

__all__ = [
    "COUNTS_FILE",
    "RESULTS_FILE",
    "TABLES",
    "BarometerResults",
    "compute_barometer",
    "read_field_tables",
    "write_barometer",
]

TABLES: dict[str, tuple[str, ...]] = {
    "incidents": (
        "date", "hour", "service", "types", "direction", "severity", "consequences", "context",
        "persons_involved", "person_id", "note", "year",
    ),
    "worker_survey": (
        "service", "role", "seniority", "verbal_12m", "physical_12m", "threat_12m",
        "witnessed_12m", "safety", "trained", "support_after", "note", "year",
    ),
    "testimonies": ("date", "role", "service", "themes", "text", "year"),
}  # fmt: skip
"""The canonical field tables the barometer reads and the columns it uses (coord19)."""
RESULTS_FILE = "resultats.json"
COUNTS_FILE = "comptes.csv"
QUOTES = 4


@dataclass
class BarometerResults:
    year: int
    results: dict[str, Any] = field(default_factory=dict)
    counts: list[dict[str, Any]] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, table: str, frame: pd.DataFrame) -> None:
        """Count cells of ``frame`` (rows × columns) under ``table``."""
        for row, values in frame.iterrows():
            for col, value in values.items():
                self.counts.append(
                    {"table": table, "row": str(row), "col": str(col), "value": int(value)}
                )


def _incidents(res: BarometerResults, incidents, contacts, refusals, s, winter) -> None:
    year = res.year
    years = [year - 1, year]
    inc = incidents[incidents["year"].isin(years)].copy()
    res.results["incidents"] = {str(y): int((inc["year"] == y).sum()) for y in years}
    if "form_version" in inc:
        res.results["form_versions"] = {
            str(y): sorted(set(inc.loc[inc["year"] == y, "form_version"].fillna("").astype(str)))
            for y in years
        }
    for column, (codes, multiple) in vi.DIMENSIONS.items():
        table = vi.code_counts(inc, column, codes, multiple).reindex(columns=years, fill_value=0)
        res.add(column, table)
        if not multiple:
            unanswered = inc.groupby("year").size().reindex(years, fill_value=0) - table.sum()
            res.results.setdefault("unanswered", {})[column] = {
                str(y): int(unanswered[y]) for y in years
            }
    month = pd.to_datetime(inc["date"]).dt.month
    months = inc.groupby([month.rename("month"), "year"]).size().unstack("year")
    res.add("mois", months.reindex(index=range(1, 13), columns=years).fillna(0).astype("int64"))
    # rates and the trend model
    exposure = vi.monthly_exposure(contacts, s.exposure, years)
    panel = vi.monthly_panel(inc, exposure)
    res.frames["mois"] = panel
    services = sorted(set(inc["service"].dropna()) | set(panel["service"]))
    by_service = inc.groupby(["service", "year"]).size().unstack("year")
    by_service = by_service.reindex(index=services, columns=years).fillna(0).astype("int64")
    by_service.loc["total"] = by_service.sum()
    res.add("services", by_service)
    rates = []
    for (service, y), g in panel.groupby(["service", "year"]):
        rates.append(
            {
                "service": service,
                "year": int(y),
                "unit": g["unit"].iloc[0],
                "incidents": int(g["incidents"].sum()),
                "exposure": float(g["exposure"].sum()),
                "rate_per_1000": 1000 * g["incidents"].sum() / g["exposure"].sum(),
            }
        )
    res.results["rates"] = rates
    without = sorted(set(inc["service"]) - set(s.exposure))
    if without:
        res.notes.append(
            "Services sans dénominateur (barometre.exposure) : incidents comptés, sans taux : "
            + ", ".join(without)
            + "."
        )
    try:
        res.results["trend"] = {"computed": True, **vi.fit_trend(panel, year).to_dict()}
    except ValueError as exc:
        res.results["trend"] = {"computed": False, "reason": str(exc)}
    # timing
    cur = inc[inc["year"] == year]
    hours, closing = {}, {}
    for service, oh in s.opening_hours.items():
        by_hour, rr = vi.closing_concentration(cur, service, oh)
        hours[service] = by_hour
        closing[service] = {
            "open_hours": oh.open_hours(),
            "closing_hours": oh.closing_hours(),
            "opens": oh.opens,
            "closes": oh.closes,
            "computed": rr is not None,
            **({"rate_ratio": rr.to_dict()} if rr is not None else {"reason": "aucun incident"}),
        }
    res.results["closing"] = closing
    window = {
        svc: {"fenetre": c["rate_ratio"]["x1"], "autres_heures": c["rate_ratio"]["x0"]}
        for svc, c in closing.items()
        if c["computed"]
    }
    if window:
        res.add("fermeture", pd.DataFrame(window).T)
    res.results["hour_unknown"] = int(cur["hour"].isna().sum())
    res.add(
        "heure_inconnue",
        pd.DataFrame({str(year): [res.results["hour_unknown"]]}, index=["incidents"]),
    )
    if hours:
        frame = pd.DataFrame(hours).rename_axis("hour").astype("int64")
        res.frames["heures"] = frame.reset_index()
        res.add("heures", frame)
    refusal = {}
    for service, unit in s.exposure.items():
        if unit == "nights" and len(refusals) and (refusals["partner_id"] == service).any():
            refusal[service] = r = vi.refusal_nights(
                incidents, contacts, refusals, service, year, winter, s.refusal_min_nights
            )
            sides = {
                "hiver_avec_refus": r["within_winter"]["incidents"][0],
                "hiver_sans_refus": r["within_winter"]["incidents"][1],
                "autres_nuits": r["winter_refusal_vs_other"]["incidents"][1],
                "avec_refus": r["refusal_vs_none"]["incidents"][0],
                "sans_refus": r["refusal_vs_none"]["incidents"][1],
            }
            res.add(
                f"refus_{service}",
                pd.DataFrame({"incidents": list(sides.values())}, index=list(sides)),
            )
    res.results["refusal_nights"] = refusal
    res.results["winter"] = list(winter)
    links = {y: vi.exclusion_links(incidents, contacts, y, s.exclusion_days) for y in years}
    res.results["exclusions"] = links[year] | {"by_year": {str(y): v for y, v in links.items()}}
    rows = ["exclusions", "exclusions_liees", "liees_personne", "incidents_exclusion",
            "incidents_lies"]  # fmt: skip
    res.add(
        "exclusions",
        pd.DataFrame(
            {
                str(y): [
                    v["total"]["exclusions"],
                    v["total"]["exclusions_linked"],
                    v["linked_by_person"],
                    v["total"]["incidents_exclusion"],
                    v["total"]["incidents_exclusion_linked"],
                ]
                for y, v in links.items()
            },
            index=rows,
        ),
    )


def _survey(res: BarometerResults, survey: pd.DataFrame, s: BarometreSettings) -> None:
    survey = survey[survey["year"] == res.year] if "year" in survey else survey
    if survey.empty:
        res.results["survey"] = {"computed": False, "reason": "aucune réponse à l'enquête"}
        return
    strata = sv.poststrata(survey, s.staffing)
    prevalences = sv.prevalences(survey, strata)
    roles = sv.compare_groups(survey, strata, "role")
    services = sv.compare_groups(survey, strata, "service")
    if strata.over:
        res.notes.append(
            "Effectifs de params/terrain.yaml (barometre.staffing) inférieurs au nombre de "
            "répondants pour " + ", ".join(strata.over) + " : effectif porté au nombre de "
            "répondants ; à faire : mettez les effectifs à jour."
        )
    res.frames["comparaisons_role"] = roles
    res.frames["comparaisons_service"] = services
    frame_total = sum(sum(r.values()) for r in s.staffing.values())
    res.results["survey"] = {
        "computed": True,
        "respondents": int(len(survey)),
        "frame": int(frame_total),
        "not_covered": strata.not_covered,
        "out_of_frame": strata.out_of_frame,
        "collapsed": strata.collapsed,
        "over_frame": strata.over,
        "prevalences": prevalences,
        "roles": roles.to_dict(orient="records"),
        "services": services.to_dict(orient="records"),
    }
    for by in ("service", "role"):
        n = survey[by].fillna("").astype(str).value_counts().sort_index()
        n.loc["total"] = len(survey)
        res.add(f"repondants_{by}", n.rename("repondants").to_frame())
    values = sv.outcome_values(survey)
    answers = pd.DataFrame(
        {
            "oui": [int((values[c] == 1).sum()) for c in sv.OUTCOMES],
            "non": [int((values[c] == 0).sum()) for c in sv.OUTCOMES],
        },
        index=list(sv.OUTCOMES),
    )
    res.add("reponses", answers)
    # The answers of each role and service: a comparison prints a group's share only when
    # the group's « oui » and « non » are published cells.
    for by in ("role", "service"):
        group = survey[by].fillna("").astype(str)
        cols = {}
        for c in sv.OUTCOMES:
            cols[f"{c}_oui"] = (values[c] == 1).groupby(group).sum()
            cols[f"{c}_non"] = (values[c] == 0).groupby(group).sum()
        res.add(f"reponses_{by}", pd.DataFrame(cols).sort_index().astype("int64"))
    for by in ("role", "service"):
        groups = survey.groupby(by).size()
        res.results["survey"][f"n_by_{by}"] = {str(k): int(v) for k, v in groups.items()}


def _themes(res: BarometerResults, testimonies: pd.DataFrame, s: BarometreSettings) -> None:
    t = testimonies[testimonies["year"] == res.year] if "year" in testimonies else testimonies
    if t.empty:
        res.results["themes"] = {"computed": False, "reason": "aucun témoignage"}
        return
    codes, info = th.final_codes(t, s.codebook)
    roles = t["role"].fillna("").astype(str)
    freq = codes.groupby(roles).sum().T
    freq["total"] = codes.sum()
    res.add("themes", freq.astype("int64"))
    res.add("temoignages", roles.value_counts().rename("temoignages").to_frame())
    res.add(
        "codage",
        pd.DataFrame(
            {"temoignages": [info["hand_coded"], info["keyword_coded"], len(t)]},
            index=["manuel", "mots_cles", "total"],
        ),
    )
    co = th.cooccurrence(codes)
    res.frames["cooccurrences"] = co.rename_axis("code").reset_index()
    res.add("cooccurrences", co)
    quotes = choose_quotes(list(t["text"]), list(roles), n=QUOTES)
    res.results["themes"] = {
        "computed": True,
        "testimonies": int(len(t)),
        **info,
        "codebook": {
            c: {"label": v.label, "definition": v.definition} for c, v in s.codebook.items()
        },
        "quotes": [{"text": q, "role": r} for q, r in quotes],
        "quote_selector": "observatoire.core.free_text.choose_quotes",
    }


def read_field_tables(folder: Path) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """The barometer's tables from ``data_clean/field/<table>.parquet``; an absent table is an
    empty frame with its columns, and a French note says so."""
    tables, notes = {}, []
    for name, columns in TABLES.items():
        path = Path(folder) / f"{name}.parquet"
        if path.exists():
            tables[name] = pd.read_parquet(path)
        else:
            tables[name] = pd.DataFrame(columns=list(columns))
            notes.append(f"Table « {name} » absente ({path}) : partie correspondante vide.")
    return tables, notes


def compute_barometer(
    year: int,
    settings: BarometreSettings,
    incidents: pd.DataFrame,
    survey: pd.DataFrame,
    testimonies: pd.DataFrame,
    contacts: pd.DataFrame,
    refusals: pd.DataFrame,
    winter: tuple[str, str],
) -> BarometerResults:
    """Everything the barometer prints for ``year`` (and ``year − 1`` for « plus / moins »)."""
    res = BarometerResults(year)
    if incidents.empty:
        res.results["incidents"] = {}
        res.notes.append("Aucune fiche incident : la partie « incidents » n'est pas calculée.")
    else:
        incidents = incidents.copy()
        incidents["year"] = pd.to_datetime(incidents["date"]).dt.year
        _incidents(res, incidents, contacts, refusals, settings, winter)
    _survey(res, survey, settings)
    _themes(res, testimonies, settings)
    return res


def write_barometer(res: BarometerResults, out: Path) -> list[Path]:
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    payload = {"year": res.year, **res.results, "notes": res.notes}
    path = out / RESULTS_FILE
    write_results_json(path, payload)
    written = [path]
    counts = pd.DataFrame(res.counts, columns=["table", "row", "col", "value"])
    written.append(out / COUNTS_FILE)
    write_csv(counts, written[-1])
    for name, frame in res.frames.items():
        written.append(out / f"{name}.csv")
        write_csv(frame, written[-1])
    return written
