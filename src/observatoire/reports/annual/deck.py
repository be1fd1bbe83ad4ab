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

__all__ = ["build_deck"]


def build_deck(
    masthead: Masthead,
    contexts: Mapping[str, Mapping[str, Any]],
    figs: Mapping[str, str],
    folder: Path,
    target: Path,
) -> Path:
    """The key-figures slide deck, from the same formatted numbers as the report: ``contexts``
    are the chapters' contexts by chapter name, ``figs`` the figures' paths by name."""
    network, flows, pathways = (
        contexts["network"],
        contexts["flows"]["flows"],
        contexts["flows"]["pathways"],
    )
    year = masthead.year
    slides = [
        Slide(
            f"Le réseau en {year}",
            [
                f"**{network['persons']}** personnes distinctes ({network['persons_change']} "
                f"par rapport à {year - 1})",
                f"**{network['contacts']}** contacts, passages, séjours et interventions",
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
    if contexts["dispositifs"]["shelter"]:
        sh = contexts["dispositifs"]["shelter"]
        slides.append(
            Slide(
                "Hébergement d'urgence",
                [
                    f"**{sh['nights']}** nuitées ({sh['nights_change']})",
                    f"Taux d'occupation **{sh['occupancy']}**",
                    f"**{sh['refusals']}** refus faute de place ({sh['refusals_change']})",
                ],
                image=figs.get("occupancy"),
                image_alt="Taux d'occupation et refus par mois",
            )
        )
    if flows.get("calculable"):
        slides.append(
            Slide(
                "Nouveaux, continus, de retour",
                [
                    f"**{flows['new']}** nouvelles personnes ({flows['new_share']})",
                    f"**{flows['continuing']}** personnes suivies en continu",
                    f"**{flows['returning']}** personnes de retour",
                ],
                image=figs.get("flows"),
                image_alt="Personnes par statut de flux et par année",
            )
        )
    slides.append(
        Slide(
            "Parcours entre dispositifs",
            [f"**{pathways['several_share']}** des personnes fréquentent plusieurs dispositifs"],
            image=figs.get("upset"),
            image_alt="Combinaisons de dispositifs fréquentés",
        )
    )
    fc = contexts["forecast"]["forecast"]
    if fc and fc.get("total"):
        slides.append(
            Slide(
                f"L'hiver prochain ({fc.get('winter', '')})",
                [
                    f"Demande attendue : **{fr_num(fc['total'].get('point'))}** nuitées",
                    f"Intervalle à 80 % : {fr_num(fc['total'].get('lo80'))} à "
                    f"{fr_num(fc['total'].get('hi80'))}",
                    f"Capacité : {fc['capacity']} nuitées ; probabilité de dépassement "
                    f"{fc['p_exceed']}",
                ],
                image=figs.get("forecast"),
                image_alt="Prévision de la demande de nuitées pour l'hiver prochain",
            )
        )
    slides.append(
        Slide(
            "Méthode",
            [
                "Exports des partenaires pseudonymisés dès la lecture ; personnes reliées "
                "entre services par un modèle probabiliste",
                f"Aucun nombre de personnes entre 1 et {masthead.k - 1} n'est publié",
                "Rapport complet, tableaux et carnets : outputs/ du dépôt de l'observatoire",
            ],
        )
    )
    day = dt.date.fromisoformat(masthead.date)
    markdown = slides_markdown(
        f"{masthead.title} — chiffres clés {year}",
        f"Données {year}, présentées aux instances du Relais social",
        masthead.organisation,
        f"{day.day} {MOIS_NOMS[day.month - 1]} {day.year}",
        slides,
    )
    return write_deck(
        markdown,
        folder,
        target,
        primary=masthead.colour_primary,
        secondary=masthead.colour_secondary,
        date=dt.date.fromisoformat(masthead.date),
    )
