"""The key-figures slide deck (``chiffres-cles.pptx``) for the Relais social's meetings.

It prints the same formatted, disclosure-controlled numbers as the report, taken from the
chapters' contexts, and the report's own charts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from observatoire.core.formatting import MOIS_NOMS
from observatoire.reports.annual.context import Masthead, fr_num
from observatoire.reports.slides import Slide, slides_markdown, write_deck

__all__ = [
    "build_deck",
    "deck_slides",
    "flows_slide",
    "forecast_slide",
    "method_slide",
    "network_slides",
    "pathways_slide",
    "shelter_slide",
]


def build_deck(
    masthead: Masthead,
    contexts: Mapping[str, Mapping[str, Any]],
    figs: Mapping[str, str],
    folder: Path,
    target: Path,
) -> Path:
    """The key-figures slide deck, from the same formatted numbers as the report: ``contexts``
    are the chapters' contexts by chapter name, ``figs`` the figures' paths by name."""
    year = masthead.year
    day = dt.date.fromisoformat(masthead.date)
    markdown = slides_markdown(
        f"{masthead.title} — chiffres clés {year}",
        f"Données {year}, présentées aux instances du Relais social",
        masthead.organisation,
        f"{day.day} {MOIS_NOMS[day.month - 1]} {day.year}",
        deck_slides(masthead, contexts, figs),
    )
    return write_deck(
        markdown,
        folder,
        target,
        primary=masthead.colour_primary,
        secondary=masthead.colour_secondary,
        date=dt.date.fromisoformat(masthead.date),
    )


def deck_slides(
    masthead: Masthead, contexts: Mapping[str, Mapping[str, Any]], figs: Mapping[str, str]
) -> list[Slide]:
    """The slides in order; a slide whose chapter has nothing to show is left out."""
    if "counts_only" in contexts:
        return [*counts_only_slides(masthead.year, contexts), method_slide(masthead.k)]
    slides = [
        *network_slides(masthead.year, contexts["network"], figs),
        shelter_slide(contexts["dispositifs"]["shelter"], figs),
        flows_slide(contexts["flows"]["flows"], figs),
        pathways_slide(contexts["flows"]["pathways"], figs),
        forecast_slide(contexts["forecast"]["forecast"], figs),
        method_slide(masthead.k),
    ]
    return [slide for slide in slides if slide is not None]


def counts_only_slides(year: int, contexts: Mapping[str, Mapping[str, Any]]) -> list[Slide]:
    """A network whose partners send counts only: what is not counted, then each partner's
    counts (as the aggregate chapter prints them)."""
    slides = [
        Slide(
            f"Le réseau en {year} : des comptages, pas de personnes",
            [
                contexts["counts_only"]["no_persons"]["reason"].capitalize(),
                "Aucun nombre de personnes distinctes n'est calculé ; les comptages ne "
                "s'additionnent jamais à des personnes",
            ],
        )
    ]
    for s in contexts["aggregates"]["aggregate_sections"]:
        bullets = [f"{r['label']} : **{r['value']}**" for r in s["counts"]]
        if s["occupancy"]:
            bullets.insert(0, f"Taux d'occupation des lits : **{s['occupancy']}**")
        bullets += [f"{r['label']} : **{r['cells'][0]}**" for r in s["persons"]]
        slides.append(Slide(f"{s['name']} ({s['dispositif']})", bullets[:6]))
    return slides


def network_slides(year: int, network: Mapping[str, Any], figs: Mapping[str, str]) -> list[Slide]:
    """The network's key figures, and persons per dispositif."""
    return [
        Slide(
            f"Le réseau en {year}",
            [
                f"**{network['persons']}** personnes distinctes ({network['persons_change']} "
                f"par rapport à {year - 1})",
                f"**{network['activity']['visits']}** visites (passages, interventions, contacts "
                f"de rue) ; {network['activity']['stays']} séjours commencés, comptés à part",
                f"**{network['profile']['youth_share']}** de jeunes de 18 à 25 ans",
                f"{network['partners_reporting']} services partenaires ont transmis leurs données",
            ],
            image=figs.get("monthly"),
            image_alt="Personnes distinctes par mois et par dispositif",
        ),
        Slide(
            "Par dispositif",
            table="\n".join(
                ["| Dispositif | Personnes | Évolution |", "|:--|--:|--:|"]
                + [
                    f"| {d['label']} | {d['persons']} | {d['persons_change']} |"
                    for d in network["dispositifs"]
                ]
            ),
        ),
    ]


def shelter_slide(sh: Mapping[str, Any] | None, figs: Mapping[str, str]) -> Slide | None:
    if not sh:
        return None
    return Slide(
        "Hébergement d'urgence",
        [
            f"**{sh['nights']}** nuitées ({sh['nights_change']})",
            f"Taux d'occupation **{sh['occupancy']}**",
            f"**{sh['refusals']}** refus faute de place ({sh['refusals_change']})",
        ],
        image=figs.get("occupancy"),
        image_alt="Taux d'occupation et refus par mois",
    )


def flows_slide(flows: Mapping[str, Any], figs: Mapping[str, str]) -> Slide | None:
    if not flows.get("calculable"):
        return None
    return Slide(
        "Nouveaux, continus, de retour",
        [
            f"**{flows['new']}** nouvelles personnes ({flows['new_share']})",
            f"**{flows['continuing']}** personnes suivies en continu",
            f"**{flows['returning']}** personnes de retour",
        ],
        image=figs.get("flows"),
        image_alt="Personnes par statut de flux et par année",
    )


def pathways_slide(pathways: Mapping[str, Any], figs: Mapping[str, str]) -> Slide:
    return Slide(
        "Parcours entre dispositifs",
        [
            f"**{pathways['several_share']}** des personnes identifiées par leur nom "
            "fréquentent plusieurs services d'urgence et de jour"
        ],
        image=figs.get("upset"),
        image_alt="Combinaisons de services d'urgence et de jour fréquentés",
    )


def forecast_slide(fc: Mapping[str, Any] | None, figs: Mapping[str, str]) -> Slide | None:
    if not (fc and fc.get("total")):
        return None
    return Slide(
        f"L'hiver prochain ({fc.get('winter', '')})",
        [
            f"Demande attendue : **{fr_num(fc['total'].get('point'))}** nuitées",
            f"Intervalle de prévision à 80 % : {fr_num(fc['total'].get('lo80'))} à "
            f"{fr_num(fc['total'].get('hi80'))}",
            f"Capacité : {fc['capacity']} nuitées ; probabilité de dépassement {fc['p_exceed']}",
        ],
        image=figs.get("forecast"),
        image_alt="Prévision de la demande de nuitées pour l'hiver prochain",
    )


def method_slide(k: int) -> Slide:
    return Slide(
        "Méthode",
        [
            "Exports des partenaires pseudonymisés dès la lecture ; personnes reliées "
            "entre services par un modèle probabiliste",
            f"Aucun nombre de personnes entre 1 et {k - 1} n'est publié",
            "Rapport complet, tableaux et carnets : outputs/ du dépôt de l'observatoire",
        ],
    )
