"""Stage ``street_diagnosis_report``: the neighbourhood diagnosis, one document per zone and
an overview.

For report year Y, in ``outputs/reports/<Y>/diagnostic-communautaire/``:

* ``diagnostic-communautaire.{qmd,html,pdf}``: the overview (every zone, the map of the
  zones, the network's « plus / moins », the model of young people's presence);
* ``diagnostic-communautaire-<zone>.{qmd,html,pdf}``: one per zone with at least
  ``diagnostic.observations_min`` observations in Y (``params/terrain.yaml``);
* ``carte-des-zones.pdf``: the printed map of the zones;
* ``figures/``: each chart as PNG with the CSV of what it draws.

Everything printed comes from the ``street_diagnosis`` stage (observations, hours, shares of
observations, tests and model estimates: no person) and, for the persons met, from the year's
ledger (keys of :mod:`observatoire.disclosure.diagnostic`): printed as the publication decided
(« < k », « s » or the number). A rate or model estimate is printed only when the person counts
it is computed from are published. The rendered files are scanned by
:func:`observatoire.guard.leaks.check_before_publishing` before they replace the previous ones.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import Settings
from observatoire.core.formatting import french_fraction as pct
from observatoire.core.formatting import french_number as num
from observatoire.core.formatting import french_points as pts
from observatoire.core.spreadsheet import write_safe_csv
from observatoire.core.storage import publish_members, temp_dir
from observatoire.disclosure.diagnostic import DIAGNOSTIC_FOLDER, diagnosis_key
from observatoire.disclosure.ledger import LedgerCells, LedgerError
from observatoire.field.street import (
    AGE_BANDS,
    ENSEMBLE,
    FAMILIES,
    ORIENTATION_EXTRA,
    SEXES,
    WEEKDAYS,
    read_diagnosis,
    zone_slug,
)
from observatoire.field.street_settings import DiagnosticSettings, load_diagnostic
from observatoire.guard.leaks import check_before_publishing
from observatoire.intake.mapping import load_partners
from observatoire.reports.charts import save_figure
from observatoire.reports.common import code_version, report_template, stage_logo
from observatoire.reports.diagnostic.charts import (
    HEAT_MIN_OBSERVATIONS,
    code_chart,
    heat_map,
    persons_chart,
    young_chart,
    zones_map,
)

__all__ = ["FOLDER", "OVERVIEW", "build_diagnosis_report", "zone_stem"]

FOLDER = DIAGNOSTIC_FOLDER
OVERVIEW = "diagnostic-communautaire"
FIGURES = "figures"
MAP_PDF = "carte-des-zones.pdf"


def zone_stem(zone: str) -> str:
    """``diagnostic-communautaire-centre-ville``."""
    return f"{OVERVIEW}-{zone_slug(zone)}"


def _md_table(frame: pd.DataFrame, align: str | None = None) -> str:
    cols = list(frame.columns)
    align = align or "l" + "r" * (len(cols) - 1)
    head = "| " + " | ".join(str(c) for c in cols) + " |"
    rule = "|" + "|".join(":--" if a == "l" else "--:" for a in align) + "|"
    rows = ["| " + " | ".join(str(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join([head, rule, *rows])


def _p_text(p: float | None) -> str:
    if p is None or pd.isna(p):
        return "–"
    return "< 0,001" if p < 0.001 else num(p, 3)


class _Cells(LedgerCells):
    """The ledger's texts of the diagnosis' counts, by zone, year and measure."""

    def get(self, zone: str, data_year: int, measure: str):  # noqa: ANN201
        return self.cell(diagnosis_key(self.year, zone, data_year, measure))

    def text(self, zone: str, data_year: int, measure: str) -> str:
        return self.get(zone, data_year, measure).text

    def shown(self, zone: str, data_year: int, measure: str) -> bool:
        return self.get(zone, data_year, measure).value is not None


def _save(fig, drawn: pd.DataFrame, fig_dir: Path, name: str) -> str:  # noqa: ANN001
    save_figure(fig, fig_dir / f"{name}.png")
    write_safe_csv(drawn, fig_dir / f"{name}.csv", quote_all=False)
    return f"{FIGURES}/{name}.png"


def _zone_label(zone: str) -> str:
    return "l'ensemble des zones" if zone == ENSEMBLE else f"la zone {zone}"


def _code_label(family: str, code: str) -> str:
    return FAMILIES[family][code]


def _changes_rows(changes: pd.DataFrame, zone: str) -> pd.DataFrame:
    c = changes[changes["zone"] == zone].copy()
    c["label"] = [_code_label(f, code) for f, code in zip(c["family"], c["code"], strict=True)]
    return c


def _changes_table(c: pd.DataFrame, years: tuple[int, int]) -> str:
    rows = []
    for r in c.itertuples(index=False):
        tested = bool(r.tested)
        rows.append(
            (
                r.label,
                pct(r.share_prev) if r.obs_prev else "–",
                pct(r.share_cur) if r.obs_cur else "–",
                pts(r.diff) if tested else "–",
                f"{pts(r.diff_lo)} à {pts(r.diff_hi)}" if tested else "–",
                _p_text(r.p_adjusted) if tested else "–",
                f"**{r.verdict}**" if r.verdict in ("plus", "moins") else r.verdict,
            )
        )  # fmt: skip
    return _md_table(
        pd.DataFrame(
            rows,
            columns=[
                "Code",
                str(years[0]),
                str(years[1]),
                "Écart",
                "IC 95 %",
                "p corrigée",
                "Verdict",
            ],
        )  # fmt: skip
    )


def _findings_changes(c: pd.DataFrame, zone: str, year: int) -> list[str]:
    out = []
    for verdict, word in (("plus", "plus souvent"), ("moins", "moins souvent")):
        hit = c[c["verdict"] == verdict]
        for r in hit.itertuples(index=False):
            out.append(
                f"« {verdict.capitalize()} » : {r.label.lower()} noté {word} en {year} dans "
                f"{_zone_label(zone)} ({pct(r.share_cur)} des observations contre "
                f"{pct(r.share_prev)} en {year - 1})."
            )
    if c["tested"].any() and not len(out):
        out.append(
            f"Aucun problème ni ressource ne change de façon établie entre {year - 1} et {year} "
            f"dans {_zone_label(zone)} (tests corrigés pour la multiplicité)."
        )
    return out


def _young_rows(model: dict[str, Any], cells: _Cells, zones: list[str], y: int) -> pd.DataFrame:
    """Zones whose model estimate may be printed: computed, and both years' young cells
    published (an estimate from a masked count is not printed)."""
    rows = []
    for zone in zones:
        e = (model.get("zones") or {}).get(zone) or {}
        if not e.get("computed"):
            continue
        if not (cells.shown(zone, y - 1, "jeunes") and cells.shown(zone, y, "jeunes")):
            continue
        rows.append(
            {
                "zone": zone,
                "rr": e["rr"],
                "lo": e["ci95"][0],
                "hi": e["ci95"][1],
                "p": e["p"],
                "naive": e.get("naive_rr"),
                "naive_lo": (e.get("naive_ci95") or [None, None])[0],
                "naive_hi": (e.get("naive_ci95") or [None, None])[1],
                "vs_others": e.get("rr_vs_others"),
                "vs_lo": (e.get("rr_vs_others_ci95") or [None, None])[0],
                "vs_hi": (e.get("rr_vs_others_ci95") or [None, None])[1],
            }
        )
    return pd.DataFrame(rows)


def _ratio(v: float | None) -> str:
    return "–" if v is None or pd.isna(v) else num(v, 2)


def _young_table(rows: pd.DataFrame) -> str:
    return _md_table(
        pd.DataFrame(
            [
                (r.zone, _ratio(r.rr), f"{_ratio(r.lo)} – {_ratio(r.hi)}", _p_text(r.p),
                 _ratio(r.naive), _ratio(r.vs_others),
                 f"{_ratio(r.vs_lo)} – {_ratio(r.vs_hi)}")
                for r in rows.itertuples(index=False)
            ],
            columns=["Zone", "Rapport ajusté", "IC 95 %", "p", "Rapport naïf",
                     "Rapport aux autres zones", "IC 95 % "],
        )
    )  # fmt: skip


def _per(model: dict[str, Any]) -> str:
    """« par passage » or « par heure de présence »: the model's exposure."""
    return "par heure de présence" if model.get("exposure") == "heures" else "par passage"


def _young_finding(r: Any, y: int, per: str) -> str:
    if r.rr >= 1:
        size = f"{_ratio(r.rr)} fois plus de jeunes"
    else:
        size = f"{pct(1 - r.rr, 0)} de jeunes en moins"
    text = (
        f"Zone {r.zone} : {size} (15–25 ans) rencontrés {per} en {y} qu'en {y - 1} (rapport "
        f"ajusté {_ratio(r.rr)}, IC 95 % {_ratio(r.lo)} – {_ratio(r.hi)}), à tranche horaire et "
        "type de jour égaux"
    )
    if r.naive is not None and not pd.isna(r.naive):
        text += f" ; le rapport brut, sans tenir compte de l'horaire, vaut {_ratio(r.naive)}"
    return text + "."


def _main_problem(shares: pd.DataFrame, zone: str, y: int) -> str:
    s = shares[(shares["zone"] == zone) & (shares["year"] == y) & (shares["family"] == "problemes")]
    s = s[s["code"] != "autre"]
    if s.empty or s["with_code"].max() == 0:
        return ""
    top = s.sort_values(["share", "code"], ascending=[False, True]).iloc[0]
    return f"{PROBLEMS_SHORT.get(top['code'], top['code'])} ({pct(top['share'], 0)})"


PROBLEMS_SHORT = {c: label.lower() for c, label in FAMILIES["problemes"].items()}


def _orientation_names(settings: Settings) -> dict[str, str]:
    inputs = settings.inputs
    names = {pid: m.name for pid, m in load_partners(inputs.partners_dir, inputs.codes_dir).items()}
    return names | ORIENTATION_EXTRA


class _Context:
    """What the documents share: the stage's tables, the ledger's cells, the settings."""

    def __init__(self, settings: Settings, diag: DiagnosticSettings) -> None:
        self.year = settings.report.year
        self.k = settings.report.disclosure_threshold
        self.diag = diag
        read = read_diagnosis(PATHS.street_diagnosis(self.year))
        if read is None:
            raise LedgerError(
                f"Diagnostic communautaire {self.year} non calculé ("
                f"{PATHS.street_diagnosis(self.year)}/diagnostic.json absent ou sans données). "
                "À faire : lancez « observatoire street-diagnosis » puis « observatoire "
                "publication »."
            )
        self.meta, self.frames = read
        self.cells = _Cells.of_year(PATHS.tables(self.year), self.year, self.k, "street-diagnosis")
        self.names = _orientation_names(settings)

    @property
    def years(self) -> tuple[int, int]:
        return (self.year - 1, self.year)

    def presence(self, zone: str, data_year: int) -> dict[str, float]:
        p = self.frames["presence"]
        row = p[(p["zone"] == zone) & (p["year"] == data_year)]
        return row.iloc[0].to_dict() if len(row) else {"observations": 0, "hours": 0.0}


def _persons_section(ctx: _Context, zone: str) -> dict[str, Any]:
    y, c = ctx.year, ctx.cells
    pres_prev, pres_cur = ctx.presence(zone, y - 1), ctx.presence(zone, y)
    table = _md_table(
        pd.DataFrame(
            [
                ("Observations (présences de l'équipe)", num(pres_prev["observations"]),
                 num(pres_cur["observations"])),
                ("Heures de présence", num(pres_prev["hours"], 0), num(pres_cur["hours"], 0)),
                ("Personnes rencontrées (rencontres)", c.text(zone, y - 1, "personnes"),
                 c.text(zone, y, "personnes")),
                ("dont jeunes de 15 à 25 ans", c.text(zone, y - 1, "jeunes"),
                 c.text(zone, y, "jeunes")),
            ],
            columns=["", str(y - 1), str(y)],
        )
    )  # fmt: skip
    return {"presence_table": table, "obs_cur": num(pres_cur["observations"]),
            "hours_cur": num(pres_cur["hours"], 0)}  # fmt: skip


def _publics_table(ctx: _Context, zones: list[str]) -> tuple[str, str, str]:
    y, c = ctx.year, ctx.cells
    labels = {ENSEMBLE: "Ensemble"} | {z: z for z in zones}
    scopes = [z for z in zones] + ([ENSEMBLE] if len(zones) > 1 else [])
    age = _md_table(
        pd.DataFrame(
            [(AGE_BANDS[b], *(c.text(z, y, f"age={b}") for z in scopes)) for b in AGE_BANDS],
            columns=["Âge", *(labels[z] for z in scopes)],
        )
    )
    sex = _md_table(
        pd.DataFrame(
            [(SEXES[s], *(c.text(z, y, f"sexe={s}") for z in scopes)) for s in SEXES],
            columns=["Sexe (du groupe)", *(labels[z] for z in scopes)],
        )
    )
    from observatoire.disclosure.diagnostic import SIZE_LABELS

    groups = _md_table(
        pd.DataFrame(
            [(SIZE_LABELS[s], *(c.text(z, y, f"groupes={s}") for z in scopes)) for s in SIZE_LABELS]
            + [("Groupes", *(c.text(z, y, "groupes") for z in scopes))],
            columns=["Taille du groupe", *(labels[z] for z in scopes)],
        )
    )
    return age, sex, groups


def _collective_orientations(ctx: _Context, zone: str) -> tuple[str, str | None]:
    y, c = ctx.year, ctx.cells
    col = ctx.frames["collective"]
    sessions = {
        d: int(col[(col["zone"] == zone) & (col["year"] == d)]["sessions"].sum()) for d in ctx.years
    }
    collective = _md_table(
        pd.DataFrame(
            [
                ("Séances collectives", num(sessions[y - 1]), num(sessions[y])),
                ("Participants (rencontres)", c.text(zone, y - 1, "participants"),
                 c.text(zone, y, "participants")),
            ],
            columns=["", str(y - 1), str(y)],
        )
    )  # fmt: skip
    o = ctx.frames["orientations"]
    o = o[(o["zone"] == zone) & (o["year"] == y)]
    orient = None
    if len(o):
        orient = _md_table(
            pd.DataFrame(
                [(ctx.names.get(code, code), c.text(zone, y, f"orientation={code}"))
                 for code in o["code"]],
                columns=["Orientation vers", f"Observations {y}"],
            )
        )  # fmt: skip
    return collective, orient


def _codes_section(ctx: _Context, zone: str, fig_dir: Path, slug: str) -> dict[str, Any]:
    y = ctx.year
    changes = _changes_rows(ctx.frames["changes"], zone)
    out: dict[str, Any] = {"findings": _findings_changes(changes, zone, y)}
    figs = {}
    for family in ("problemes", "ressources"):
        part = changes[changes["family"] == family]
        out[f"{family}_table"] = _changes_table(part, ctx.years)
        rows = part[["label", "share_prev", "share_cur", "verdict"]].fillna(0.0)
        fig, drawn = code_chart(rows, ctx.years)
        figs[family] = _save(fig, drawn, fig_dir, f"{slug}-{family}")
    out["figures"] = figs
    shares = ctx.frames["shares"]
    clim = shares[(shares["zone"] == zone) & (shares["family"] == "climat")]
    out["climate_table"] = _md_table(
        pd.DataFrame(
            [
                (FAMILIES["climat"][code], *(pct(clim[(clim["code"] == code) &
                 (clim["year"] == d)]["share"].sum()) for d in ctx.years))
                for code in FAMILIES["climat"]
            ],
            columns=["Climat", str(y - 1), str(y)],
        )
    )  # fmt: skip
    tense = changes[changes["family"] == "climat"]
    out["climate_verdict"] = tense["verdict"].iloc[0] if len(tense) else "non testé"
    out["tested"] = bool(changes["tested"].any())
    return out


def _heat(ctx: _Context, zone: str, fig_dir: Path, slug: str) -> str | None:
    grid = ctx.frames["grid"]
    g = grid[grid["zone"] == zone]
    if g.empty:
        return None
    days = [d for d in WEEKDAYS if d in set(g["jour"])]
    bands = list(dict.fromkeys(g.sort_values("band")["tranche"]))
    rows = []
    for r in g.itertuples(index=False):
        cell = ctx.cells.get(zone, ctx.year, f"jour={r.jour}|tranche={r.tranche}")
        rows.append({"jour": r.jour, "tranche": r.tranche, "value": cell.value, "text": cell.text,
                     "observations": r.observations,
                     "cle": diagnosis_key(ctx.year, zone, ctx.year,
                                          f"jour={r.jour}|tranche={r.tranche}")})  # fmt: skip
    fig, drawn = heat_map(pd.DataFrame(rows), days, bands)
    return _save(fig, drawn, fig_dir, f"{slug}-jour-heure")


def _bands_table(ctx: _Context, zone: str) -> str | None:
    """Per band of hours (report year): the team's observations, the persons met (published
    cell ``tranche=…``) and the persons met per observation (printed only when the count is
    published) — where the heat map's shades come from, in numbers."""
    grid = ctx.frames["grid"]
    g = grid[grid["zone"] == zone]
    if g.empty:
        return None
    rows = []
    for _band, part in g.groupby("band", sort=True):
        label = str(part["tranche"].iloc[0])
        n = int(part["observations"].sum())
        cell = ctx.cells.get(zone, ctx.year, f"tranche={label}")
        rate = num(cell.value / n, 1) if n and cell.value is not None else "–"
        rows.append((label, num(n), cell.text if n else "–", rate))
    return _md_table(
        pd.DataFrame(
            rows,
            columns=["Tranche horaire", "Observations", "Rencontres", "Rencontres par observation"],
        )
    )


def _young(ctx: _Context, zones: list[str], fig_dir: Path, slug: str) -> dict[str, Any]:
    model = ctx.meta.get("young_model") or {}
    out: dict[str, Any] = {"computed": bool(model.get("computed")), "table": None,
                           "figure": None, "findings": [], "model": {}, "not_printed": [],
                           "omitted": [], "reason": model.get("reason", ""),
                           "per": _per(model)}  # fmt: skip
    if not model.get("computed"):
        return out
    out["omitted"] = [z for z in zones if z not in ctx.meta["reported_zones"]]
    zones = [z for z in zones if z in ctx.meta["reported_zones"]]
    rows = _young_rows(model, ctx.cells, zones, ctx.year)
    not_printed = [z for z in zones if z not in set(rows.get("zone", []))]
    out["not_printed"] = not_printed
    out["model"] = {
        "family": model["family"],
        "dispersion": num(model["dispersion"], 2),
        "alpha": num(model["alpha"], 2) if model.get("alpha") is not None else "–",
        "observations": num(model["observations"]),
        "zeros_observed": pct(model["zero_share_observed"]),
        "zeros_expected": pct(model["zero_share_expected"]),
        "interaction_p": (lambda t: t if t.startswith("<") or t == "–" else f"= {t}")(
            _p_text(model.get("interaction_p"))
        ),
        "covariates": ", ".join(model.get("covariates") or []) or "aucun",
        "exposure": model.get("exposure", "heures"),
        "elasticity": num(model["duration_elasticity"], 2)
        if model.get("duration_elasticity") is not None
        else None,
        "elasticity_ci": " à ".join(num(v, 2) for v in model["duration_elasticity_ci95"])
        if model.get("duration_elasticity_ci95")
        else None,
        "exposure_warning": bool(
            model.get("exposure_preferred")
            and model.get("exposure_preferred") != model.get("exposure", "heures")
        ),
    }
    if rows.empty:
        return out
    out["table"] = _young_table(rows)
    fig, drawn = young_chart(rows, ctx.years, out["per"])
    out["figure"] = _save(fig, drawn, fig_dir, f"{slug}-jeunes")
    established = [r for r in rows.itertuples(index=False) if r.lo > 1 or r.hi < 1]
    per = out["per"]
    out["findings"] = [_young_finding(r, ctx.year, per) for r in established]
    stable = [r.zone for r in rows.itertuples(index=False) if not (r.lo > 1 or r.hi < 1)]
    if stable:
        out["findings"].append(
            f"{', '.join(stable)} : pas de changement établi du nombre de jeunes (15–25 ans) "
            f"rencontrés {per} entre {ctx.year - 1} et {ctx.year}."
        )
    return out


def _map(ctx: _Context, settings: Settings, fig_dir: Path, work: Path) -> str | None:
    from observatoire.reports.maps.geodata import read_city
    from observatoire.reports.maps.printed import save_pdf

    city = read_city(settings.maps.city)
    y = ctx.year
    rows = []
    for zone in ctx.meta["zones"]:
        reported = zone in ctx.meta["reported_zones"]
        cell = ctx.cells.get(zone, y, "personnes")
        rows.append({
            "zone": zone,
            "reported": reported,
            "value": cell.value if reported else None,
            "text": cell.text if reported else "",
            "observations": num(ctx.presence(zone, y)["observations"]),
            "young_text": ctx.cells.text(zone, y, "jeunes") if reported else "",
            "problem": _main_problem(ctx.frames["shares"], zone, y) if reported else "",
        })  # fmt: skip
    cells = pd.DataFrame(rows)
    title = f"Zones du diagnostic communautaire — {y}"
    caption = (
        f"Personnes rencontrées en {y} (rencontres, non des personnes distinctes), dont les "
        f"jeunes de 15 à 25 ans, observations de l'équipe et problème le plus souvent noté (part "
        f"des observations). Hachuré : nombre masqué (moins de {ctx.k} ou « s »). Zones de moins "
        f"de {ctx.diag.observations_min} observations : non teintées. Source : fiches "
        f"d'observation du travail de rue ; fond : {city.name}."
    )
    fig, drawn = zones_map(city, cells, ctx.k, title, caption)
    save_figure(fig, fig_dir / "carte-des-zones.png")
    write_safe_csv(drawn, fig_dir / "carte-des-zones.csv", quote_all=False)
    fig2, _ = zones_map(city, cells, ctx.k, title, caption)
    save_pdf(fig2, work / MAP_PDF)
    return f"{FIGURES}/carte-des-zones.png"


def _front(settings: Settings) -> dict[str, Any]:
    rep = settings.report
    return {
        "year": rep.year,
        "previous_year": rep.year - 1,
        "organisation": rep.organisation,
        "colour_primary": rep.colour_primary,
        "colour_secondary": rep.colour_secondary,
        "date": f"{rep.year + 1}-03-31",
        "version": code_version(),
        "k": rep.disclosure_threshold,
    }


def document_context(
    ctx: _Context, zone: str, fig_dir: Path, settings: Settings, work: Path
) -> dict[str, Any]:
    """Everything one document prints: ``zone`` is a zone's name or :data:`ENSEMBLE`."""
    overview = zone == ENSEMBLE
    slug = "ensemble" if overview else zone_slug(zone)
    y = ctx.year
    zones = list(ctx.meta["zones"]) if overview else [zone]
    out: dict[str, Any] = {
        "overview": overview,
        "zone": zone,
        "zone_title": "ensemble des zones" if overview else f"zone {zone}",
        "reported_zones": ctx.meta["reported_zones"],
        "zone_docs": [(z, f"{zone_stem(z)}.html") for z in ctx.meta["reported_zones"]],
        "notes": list(ctx.meta.get("notes") or []),
        "observations_min": ctx.diag.observations_min,
        "correction": "Holm" if ctx.diag.correction == "holm" else "Benjamini–Hochberg",
        "alpha": pct(ctx.diag.alpha, 0),
        "bands": ", ".join(ctx.diag.band_labels()),
        "heat_min": HEAT_MIN_OBSERVATIONS,
    }
    out |= _persons_section(ctx, zone)
    findings = [
        f"En {y}, l'équipe a fait {out['obs_cur']} observations ({out['hours_cur']} heures de "
        f"présence) dans {_zone_label(zone)} et y a compté "
        f"{ctx.cells.text(zone, y, 'personnes')} rencontres, dont "
        f"{ctx.cells.text(zone, y, 'jeunes')} avec des jeunes de 15 à 25 ans."
    ]
    if overview:
        cells = []
        for z in zones:
            for d in ctx.years:
                cell = ctx.cells.get(z, d, "personnes")
                cells.append({"zone": z, "year": d, "value": cell.value, "text": cell.text,
                              "cle": diagnosis_key(y, z, d, "personnes")})  # fmt: skip
        fig, drawn = persons_chart(pd.DataFrame(cells), ctx.years)
        out["persons_figure"] = _save(fig, drawn, fig_dir, "ensemble-personnes-par-zone")
        out["map"] = _map(ctx, settings, fig_dir, work)
        out["heat"] = None
        out["bands_table"] = None
    else:
        out["persons_figure"] = None
        out["map"] = None
        out["heat"] = _heat(ctx, zone, fig_dir, slug)
        out["bands_table"] = _bands_table(ctx, zone)
    out["age_table"], out["sex_table"], out["groups_table"] = _publics_table(ctx, zones)
    out["collective_table"], out["orientation_table"] = _collective_orientations(ctx, zone)
    codes = _codes_section(ctx, zone, fig_dir, slug)
    out["codes"] = codes
    young = _young(ctx, zones, fig_dir, slug)
    out["young"] = young
    out["findings"] = findings + young["findings"] + codes["findings"]
    return out


def _not_computed(settings: Settings) -> None:
    """No observation this year: a one-page document that says so (and publishes no number),
    so the stage finishes and the reader knows why there is no diagnosis."""
    from observatoire.reports.render import render_document

    year = settings.report.year
    out_dir = PATHS.reports(year)
    tmp = temp_dir(out_dir, FOLDER)
    work = tmp / FOLDER
    (work / FIGURES).mkdir(parents=True)
    reason = (
        f"aucune observation de terrain n'a été transmise pour {year} ni pour {year - 1} "
        "(aucune fiche « observation de rue » dans les exports)"
    )
    try:
        front = _front(settings) | {"logo": stage_logo(settings.report.logo, work / FIGURES)}
        source = work / f"{OVERVIEW}.qmd"
        text = report_template("diagnostic-communautaire-non-realise.qmd.j2").render(
            **front, reason=reason
        )
        source.write_text(text, "utf-8")
        render_document(source, work)
        members = [f"{OVERVIEW}.{ext}" for ext in ("qmd", "html", "pdf")] + [FIGURES]
        check_before_publishing(
            settings, work, members, out_dir / FOLDER, "street_diagnosis_report"
        )
        publish_members(tmp, out_dir, [FOLDER])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"Diagnostic communautaire {year} non réalisé : {reason} ({out_dir / FOLDER}/).")


def build_diagnosis_report(settings: Settings) -> None:
    """Render the overview and each zone's document into
    ``outputs/reports/<Y>/diagnostic-communautaire/``."""
    from observatoire.reports.render import render_documents

    year = settings.report.year
    diag = load_diagnostic(PATHS.terrain_params)
    if read_diagnosis(PATHS.street_diagnosis(year)) is None:
        _not_computed(settings)
        return
    ctx = _Context(settings, diag)
    out_dir = PATHS.reports(year)
    tmp = temp_dir(out_dir, FOLDER)
    work = tmp / FOLDER
    fig_dir = work / FIGURES
    fig_dir.mkdir(parents=True)
    try:
        front = _front(settings) | {"logo": stage_logo(settings.report.logo, fig_dir)}
        written, sources = [], []
        for zone, stem in [(ENSEMBLE, OVERVIEW)] + [
            (z, zone_stem(z)) for z in ctx.meta["reported_zones"]
        ]:
            doc = front | document_context(ctx, zone, fig_dir, settings, work)
            source = work / f"{stem}.qmd"
            text = report_template("diagnostic-communautaire.qmd.j2").render(**doc)
            source.write_text(text, "utf-8")
            sources.append((source, work))
            written.append(stem)
        engine = render_documents(sources)[-1].engine
        members = [f"{s}.{ext}" for s in written for ext in ("qmd", "html", "pdf")]
        members += [MAP_PDF, FIGURES]
        check_before_publishing(
            settings, work, members, out_dir / FOLDER, "street_diagnosis_report"
        )
        publish_members(tmp, out_dir, [FOLDER])
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Diagnostic communautaire {year} : {len(written)} documents dans {out_dir / FOLDER}/ "
        f"({', '.join(written)} ; moteur : {engine})"
    )
