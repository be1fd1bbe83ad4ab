"""The worker survey on violence (form ``enquete_travailleurs``, one wave in 2024) and the
testimonies of users, « experts du vécu » and workers (form ``temoignage``).

Survey: the staffing frame (every worker of the six services, by service and role) is
simulated with its true answers; workers respond with a probability depending on their role,
and prevalence depends on the role too, so the unweighted share is biased and the share
post-stratified on role recovers the frame's. Testimonies: each carries planted themes (the
sentences contain the theme's keywords); about half are hand-coded (the researcher's Kobo
tags, ``_tags``).
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from observatoire.sample.fieldwork.common import (
    FIELD_YEARS,
    FieldFile,
    at,
    kobo_file,
    new_submission,
    number_submissions,
)
from observatoire.sample.fieldwork.incidents import SERVICES
from observatoire.sample.fieldwork.kobo import KoboForm, Submission, kobo_form
from observatoire.sample.fieldwork.notes import Identity, NoteWriter

__all__ = ["FRAME", "RESPONSE_RATE", "THEMES", "survey_files", "testimony_files"]

ROLES = ("educateur", "assistant_social", "accueil", "veilleur", "infirmier", "direction", "autre")
FRAME = {  # staff by service and role (the survey's frame; its true sizes)
    "abri_nuit": (12, 4, 6, 16, 2, 2, 4),
    "accueil_jour": (16, 6, 12, 0, 4, 2, 5),
    "maison_accueil": (20, 6, 4, 8, 2, 2, 5),
    "urgence_sociale": (5, 16, 6, 0, 0, 2, 3),
    "travail_rue": (16, 2, 0, 0, 1, 1, 2),
    "housing_first": (8, 6, 0, 0, 2, 1, 1),
}
RESPONSE_RATE = dict(zip(ROLES, (0.65, 0.75, 0.4, 0.3, 0.7, 0.9, 0.35), strict=True))
PREVALENCE = {
    "verbal_12m": dict(zip(ROLES, (0.75, 0.6, 0.85, 0.85, 0.55, 0.45, 0.5), strict=True)),
    "physical_12m": dict(zip(ROLES, (0.2, 0.08, 0.25, 0.35, 0.15, 0.05, 0.1), strict=True)),
    "threat_12m": dict(zip(ROLES, (0.45, 0.35, 0.55, 0.6, 0.3, 0.3, 0.25), strict=True)),
    "witnessed_12m": dict(zip(ROLES, (0.8, 0.6, 0.8, 0.85, 0.6, 0.7, 0.5), strict=True)),
}
ITEMS = {
    "verbal_12m": "violences/verbale_12m",
    "physical_12m": "violences/physique_12m",
    "threat_12m": "violences/menaces_12m",
    "witnessed_12m": "violences/temoin_12m",
}
SENIORITY = ("moins_2", "2_5", "plus_5")
SUPPORT = ("oui", "partiel", "non", "sans_objet")
YES_NO = ("oui", "non")
SURVEY_YEAR = 2024
SURVEY_VERSION = "2024.1"

SURVEY_NOTES = [
    "Les nuits où l'abri est complet sont les plus dures à tenir",
    "On manque de formation à la désescalade",
    "Le soutien de la direction après un incident est réel mais arrive tard",
    "Les agressions verbales sont devenues quotidiennes, on finit par ne plus les noter",
    "Il faudrait un deuxième veilleur la nuit",
    "L'intervision en équipe aide beaucoup",
    "Les situations de santé mentale non prises en charge augmentent",
]


def survey_form() -> KoboForm:
    return kobo_form("enquete_travailleurs", SURVEY_VERSION)


def survey_files(
    rng: np.random.Generator, writer: NoteWriter, identity_rate: float
) -> tuple[list[FieldFile], list[tuple[str, str, int, str, Identity]], dict]:
    staff = [
        (service, role)
        for service in SERVICES
        for role, n in zip(ROLES, FRAME[service], strict=True)
        for _ in range(n)
    ]
    answers = {
        item: np.array([rng.random() < PREVALENCE[item][r] for _, r in staff]) for item in ITEMS
    }
    responds = np.array([rng.random() < RESPONSE_RATE[r] for _, r in staff])
    subs: list[Submission] = []
    opening = dt.date(SURVEY_YEAR, 3, 4)
    for k in np.flatnonzero(responds):
        service, role = staff[k]
        day = opening + dt.timedelta(days=int(rng.integers(0, 40)))
        physical = bool(answers["physical_12m"][k])
        any_violence = any(
            bool(answers[i][k]) for i in ("verbal_12m", "physical_12m", "threat_12m")
        )
        safety = int(
            np.clip(round(rng.normal(3.6 - 1.0 * physical - 0.4 * any_violence, 0.8)), 1, 5)
        )
        # « soutien » is asked only after a violence suffered (relevant): empty otherwise.
        support = str(rng.choice(SUPPORT[:3], p=[0.4, 0.4, 0.2])) if any_violence else None
        note, spans = ("", [])
        if rng.random() < 0.3:
            note, spans = writer.note([writer.pick(SURVEY_NOTES)], identity_rate)
        row = {
            "profil/service": service,
            "profil/fonction": role,
            "profil/anciennete": str(rng.choice(SENIORITY, p=[0.3, 0.35, 0.35])),
            **{path: "oui" if answers[item][k] else "non" for item, path in ITEMS.items()},
            "securite/sentiment": str(safety),
            "securite/formation": "oui" if rng.random() < 0.55 else "non",
            "securite/soutien": support,
            "commentaire/texte": note or None,
        }
        filled = at(day, int(rng.integers(8, 22)), int(rng.integers(0, 60)))
        sub = new_submission(rng, row, filled, float(rng.uniform(6, 18)), "enquete_barometre")
        sub.meta["_spans"] = spans
        subs.append(sub)
    number_submissions(subs, 270_000_000, rng)
    path = f"barometre_violences/enquete_travailleurs_{SURVEY_YEAR}.xlsx"
    files = [kobo_file(path, "barometre_violences/enquete", SURVEY_YEAR, survey_form(), subs)]
    planted = []
    for row, sub in enumerate(subs, start=1):
        planted += [
            (path, "enquete_travailleurs", row, "commentaire/texte", s)
            for s in sub.meta.pop("_spans")
        ]
    roles = np.array([r for _, r in staff])
    frame_n = {r: int((roles == r).sum()) for r in ROLES}
    resp_n = {r: int((responds & (roles == r)).sum()) for r in ROLES}
    estimates = {}
    for item in ITEMS:
        a = answers[item]
        census = float(a.mean())
        expected = sum(frame_n[r] * PREVALENCE[item][r] for r in ROLES) / len(staff)
        unweighted = float(a[responds].mean())
        strata = [r for r in ROLES if resp_n[r]]
        post = sum(frame_n[r] * a[responds & (roles == r)].mean() for r in strata) / sum(
            frame_n[r] for r in strata
        )
        expected_unweighted = sum(
            frame_n[r] * RESPONSE_RATE[r] * PREVALENCE[item][r] for r in ROLES
        ) / sum(frame_n[r] * RESPONSE_RATE[r] for r in ROLES)
        estimates[item] = {
            "frame_true_share": round(census, 4),
            "model_share": round(expected, 4),
            "unweighted_estimate": round(unweighted, 4),
            "expected_unweighted_share": round(expected_unweighted, 4),
            "post_stratified_estimate_by_role": round(float(post), 4),
            "prevalence_by_role": PREVALENCE[item],
        }
    truth = {
        "worker_survey": {
            "form": "enquete_travailleurs",
            "partner": "barometre_violences",
            "year": SURVEY_YEAR,
            "wave": "une vague, du 4 mars au 12 avril 2024",
            "frame": {s: dict(zip(ROLES, n, strict=True)) for s, n in FRAME.items()},
            "frame_size": len(staff),
            "frame_by_role": frame_n,
            "respondents": int(responds.sum()),
            "respondents_by_role": resp_n,
            "response_rate_by_role": RESPONSE_RATE,
            "mechanism": "réponse indépendante des réponses, ne dépendant que de la fonction "
            "(MAR sachant la fonction) : la post-stratification sur la fonction est sans biais",
            "estimates": estimates,
        }
    }
    return files, planted, truth


THEMES = {  # the codes and keywords of the codebook in params/terrain.yaml (barometre)
    "attente": {
        "label": "Attente et file",
        "keywords": ["attente", "attendre", "file", "queue", "places"],
        "sentences": [
            "On passe des heures dans la file devant la porte",
            "L'attente rend tout le monde nerveux, surtout quand il pleut",
            "Attendre sans savoir si on rentrera, c'est ça qui fait monter la tension",
            "Quand il n'y a plus de places, ceux qui restent dehors s'énervent",
        ],
    },
    "regles": {
        "label": "Règles et sanctions",
        "keywords": ["regle", "reglement", "exclu", "exclusion", "sanction", "interdit"],
        "sentences": [
            "J'ai été exclu une semaine pour une dispute, sans pouvoir m'expliquer",
            "Le règlement change selon qui est de service",
            "Les sanctions tombent sans qu'on comprenne pourquoi",
        ],
    },
    "consommation": {
        "label": "Consommation",
        "keywords": ["alcool", "drogue", "consomm", "bourre", "ivre", "came"],
        "sentences": [
            "L'alcool est souvent là quand ça part en vrille",
            "Avec la drogue qui circule près de la gare, la nuit est imprévisible",
            "Quelqu'un d'ivre à l'entrée, et toute la soirée bascule",
        ],
    },
    "peur": {
        "label": "Peur et insécurité",
        "keywords": ["peur", "danger", "securite", "insecurite", "crainte", "menace"],
        "sentences": [
            "La nuit j'ai peur de fermer les yeux dans le dortoir",
            "On ne se sent pas en sécurité quand les gardiens sont seuls",
            "Il m'a menacé avec un couteau, depuis je dors mal",
        ],
    },
    "respect": {
        "label": "Respect et dignité",
        "keywords": ["respect", "humili", "mepris", "dignite", "ecoute"],
        "sentences": [
            "Ce qui change tout, c'est quand on me parle avec respect",
            "Se sentir humilié au guichet, ça rend violent",
            "On demande juste un peu de dignité, pas un traitement de faveur",
        ],
    },
    "soutien": {
        "label": "Soutien après l'incident",
        "keywords": ["soutien", "debrief", "equipe", "collegue", "aide"],
        "sentences": [
            "Après l'agression, le débriefing avec l'équipe m'a permis de revenir",
            "Sans le soutien des collègues, j'aurais arrêté",
            "Personne ne nous a aidés après ce soir-là",
        ],
    },
}
THEME_P = {
    "attente": 0.35,
    "regles": 0.3,
    "consommation": 0.3,
    "peur": 0.3,
    "respect": 0.3,
    "soutien": 0.25,
}
PAIRED = {"attente": "peur", "consommation": "regles"}
PAIR_P = 0.6
TESTIMONY_ROLES = ("usager", "expert_du_vecu", "travailleur")
TESTIMONY_VERSION = {2023: "2023.1", 2024: "2024.1"}
HAND_CODED = 0.5
PER_YEAR = 40


def testimony_form(year: int) -> KoboForm:
    return kobo_form("temoignage", TESTIMONY_VERSION[year])


def testimony_files(
    rng: np.random.Generator, writer: NoteWriter, identity_rate: float
) -> tuple[list[FieldFile], list[tuple[str, str, int, str, Identity]], dict]:
    out, planted, records = [], [], []
    for year in FIELD_YEARS:
        subs: list[Submission] = []
        for _ in range(int(rng.integers(PER_YEAR - 4, PER_YEAR + 5))):
            role = str(rng.choice(TESTIMONY_ROLES, p=[0.5, 0.25, 0.25]))
            themes = {t for t, p in THEME_P.items() if rng.random() < p}
            for a, b in PAIRED.items():
                if a in themes and rng.random() < PAIR_P:
                    themes.add(b)
            if not themes:
                themes.add(str(rng.choice(list(THEMES))))
            ordered = [t for t in THEMES if t in themes]
            sentences = [writer.pick(THEMES[t]["sentences"]) for t in rng.permutation(ordered)]
            text, spans = writer.note(sentences, identity_rate)
            coded = rng.random() < HAND_CODED
            day = dt.date(year, 1, 1) + dt.timedelta(days=int(rng.integers(0, 365)))
            service = str(rng.choice(SERVICES)) if rng.random() < 0.85 else None
            row = {
                "temoignage/date": day.isoformat(),
                "temoignage/accord": "oui",
                "temoignage/role": role,
                "temoignage/service": service,
                "temoignage/texte": text,
            }
            sub = new_submission(
                rng,
                row,
                at(day, int(rng.integers(10, 19))),
                float(rng.uniform(15, 50)),
                "recherche_action",
            )
            sub.meta["_spans"] = spans
            sub.meta["_themes"] = (ordered, coded)
            # The researcher's hand coding: Kobo tags on the submission (codes, space-separated).
            sub.meta["_tags"] = " ".join(ordered) if coded else None
            subs.append(sub)
        number_submissions(subs, 290_000_000 + 1_000_000 * (year - FIELD_YEARS[0]), rng)
        path = f"barometre_violences/temoignage_{year}.xlsx"
        out.append(
            kobo_file(path, "barometre_violences/temoignages", year, testimony_form(year), subs)
        )
        for k, sub in enumerate(subs, start=1):
            planted += [
                (path, "temoignage", k, "temoignage/texte", s) for s in sub.meta.pop("_spans")
            ]
            themes, coded = sub.meta.pop("_themes")
            records.append(
                {
                    "source_file": path,
                    "source_row": k,
                    "uuid": sub.meta["_uuid"],
                    "themes": " ".join(sorted(themes)),
                    "hand_coded": coded,
                }
            )
    counts = {t: sum(t in r["themes"].split() for r in records) for t in THEMES}
    truth = {
        "testimonies": {
            "form": "temoignage",
            "partner": "barometre_violences",
            "per_year": f"{PER_YEAR - 4} à {PER_YEAR + 4} (uniforme)",
            "codebook": {
                t: {"label": v["label"], "keywords": v["keywords"]} for t, v in THEMES.items()
            },
            "theme_probabilities": THEME_P,
            "planted_co_occurrence": {f"{a} → {b}": PAIR_P for a, b in PAIRED.items()},
            "hand_coded_share": HAND_CODED,
            "hand_coding": "_tags (étiquettes KoboToolbox posées par la chercheuse) = codes des "
            "thèmes plantés, séparés par une espace ; vide si non codé",
            "text": "une phrase par thème planté, contenant au moins un mot-clé du thème",
            "realised_counts": counts,
            "records": records,
        }
    }
    return out, planted, truth
