"""Stage ``maps``: for each seasonal plan of ``params/plans.yaml``, the printable maps (A4, A3),
the interactive HTML map, the flyer and the map of zones where people were met, in
``outputs/maps/<year>/``.

It reads the services directory, the commune's GeoJSON and the year's ledger (the zones'
counts as the ``publication`` stage decided them), checks the directory against the plans,
draws everything in a staging folder, refuses an HTML page that would load anything from
outside (unless the analyst turned tiles on), scans every file with the leak guard and only
then publishes the files, each replaced whole.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from observatoire.config.paths import PATHS
from observatoire.config.services import load_services
from observatoire.config.settings import Settings
from observatoire.core.errors import ObservatoireError
from observatoire.core.storage import publish_members, temp_dir
from observatoire.disclosure.ledger import read_ledger
from observatoire.guard.leaks import check_before_publishing
from observatoire.plans.settings import load_plans
from observatoire.reports.maps.directory import check_against_plans, services_of_plan
from observatoire.reports.maps.flyer import flyer
from observatoire.reports.maps.geodata import read_city
from observatoire.reports.maps.interactive import external_resources, interactive_map
from observatoire.reports.maps.printed import save_pdf, services_map, zones_map
from observatoire.reports.maps.zones import write_zone_cells, zone_cells

__all__ = ["MapsError", "build_maps", "members_of"]


class MapsError(ObservatoireError):
    """A map would break a promise of the stage (an external resource in the HTML page)."""


def members_of(plan_id: str) -> list[str]:
    """The files the stage writes for one plan."""
    return [
        f"carte-{plan_id}-A4.pdf",
        f"carte-{plan_id}-A3.pdf",
        f"carte-{plan_id}.html",
        f"flyer-{plan_id}.pdf",
        f"zones-{plan_id}.pdf",
        f"zones-{plan_id}.csv",
    ]


def build_maps(settings: Settings) -> list[Path]:
    rep, maps = settings.report, settings.maps
    year, k = rep.year, rep.disclosure_threshold
    plans = load_plans(PATHS.plans_params)
    directory = load_services(maps.services)
    check_against_plans(directory, plans)
    city = read_city(maps.city)
    ledger = read_ledger(PATHS.tables(year))
    out_dir = PATHS.maps(year)
    sources = (
        f"répertoire des services ({maps.services}), plans saisonniers "
        f"({PATHS.plans_params.name}), fond de carte ({maps.city})"
    )
    tmp = temp_dir(out_dir, "maps")
    members: list[str] = []
    try:
        for plan in plans.plans.values():
            services = services_of_plan(directory, plan, year)
            cells = zone_cells(ledger, year, plan.id, k)
            names = members_of(plan.id)
            for page, name in (("A4", names[0]), ("A3", names[1])):
                fig = services_map(
                    city,
                    services,
                    plan,
                    year,
                    page,
                    organisation=rep.organisation,
                    sources=sources,
                )
                save_pdf(fig, tmp / name)
            page = interactive_map(
                city, services, plan, year, cells, k, maps, organisation=rep.organisation
            )
            outside = external_resources(page)
            if outside and not maps.tiles:
                raise MapsError(
                    f"Carte HTML {names[2]} : ressource(s) externe(s) : {', '.join(outside[:3])}. "
                    "Rien n'a été publié. À faire : signalez-le à l'équipe du code."
                )
            (tmp / names[2]).write_text(page, encoding="utf-8")
            save_pdf(
                flyer(
                    city, services, plan, year, directory.emergency, organisation=rep.organisation
                ),
                tmp / names[3],
            )
            save_pdf(
                zones_map(
                    city,
                    cells,
                    plan,
                    year,
                    k,
                    organisation=rep.organisation,
                    sources=f"travail de rue (contacts), tableaux publiés {year} "
                    f"(outputs/tables/{year}/cartes/)",
                ),
                tmp / names[4],
            )
            write_zone_cells(cells, tmp / names[5])
            members += names
        check_before_publishing(settings, tmp, members, out_dir, "maps")
        publish_members(tmp, out_dir, members)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(
        f"Cartes {year} : {len(plans.plans)} plan(s) ({', '.join(plans.plans)}) ; cartes A4 et "
        f"A3, carte HTML, dépliant et zones dans {out_dir}/"
        + (" ; fond de carte en ligne activé (maps.tiles)" if maps.tiles else "")
    )
    return [out_dir / m for m in members]
