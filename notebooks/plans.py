# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python (observatoire)
#     language: python
#     name: observatoire
# ---

# %% [markdown]
# # Plans saisonniers : bilans et note de préparation de l'hiver
#
# Pour le comité d'accompagnement. Pour l'année du rapport Y :
#
# 1. le **bilan du Plan Grand Froid** (hiver Y−1 – Y) et du **Plan Canicule** (été Y) : nuits
#    offertes et occupées, refus et nuits avec refus, jours par phase (calendrier tiré de la
#    météo, `observatoire.plans.phases`), ce que les lits supplémentaires ont absorbé, personnes
#    (nouvelles, connues, jeunes), tournées et distributions des retours agrégés, comparaison
#    avec chaque plan antérieur des données ;
# 2. l'**effet de la température sur la demande** (nuitées occupées + refus) : modèle de
#    comptage (binomiale négative ou quasi-Poisson selon la dispersion), terme « en charnière »
#    sous 0 °C (au-delà de 25 °C l'été), jour de semaine, mois, tendance ; erreurs de
#    Newey–West ; comparaison naïve (nuits froides contre nuits douces, sans ajustement) ;
# 3. la **note de préparation** : lits nécessaires par mois de l'hiver à venir pour que la part
#    attendue des nuits avec refus reste sous la cible de `params/plans.yaml`, et son
#    **back-test** sur les hivers passés.
#
# Les calculs sont dans `observatoire.plans` ; ce carnet les appelle et les montre. Les comptes
# affichés ici ne passent pas par le secret statistique (carnet interne) : les rapports
# n'impriment que les cases publiées par l'étape `publication`.

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
import json
from pathlib import Path

import pandas as pd
from IPython.display import display

from observatoire.config.paths import PATHS
from observatoire.config.settings import load_settings
from observatoire.core.storage import read_parquet
from observatoire.indicators.aggregates import empty_aggregates
from observatoire.indicators.capacity import shelter_capacity_series
from observatoire.intake.mapping import load_partners
from observatoire.plans.outputs import compute_plans, write_plans
from observatoire.plans.settings import load_plans

settings = load_settings(Path(params_file))
plans = load_plans(PATHS.plans_params)
contacts = read_parquet(PATHS.contacts)
refusals = pd.read_parquet(PATHS.refusals)
aggregates = pd.read_parquet(PATHS.aggregates) if PATHS.aggregates.exists() else empty_aggregates()
weather = pd.read_parquet(PATHS.weather) if PATHS.weather.exists() else None
partners = load_partners(settings.inputs.partners_dir, settings.inputs.codes_dir)
winter = (settings.report.winter_start, settings.report.winter_end)
capacity = shelter_capacity_series(partners, aggregates, winter)
trends_file = PATHS.trends(year) / "tendances.json"
method = "hiver"
if trends_file.exists():  # the forecast model the annual report published
    forecast = json.loads(trends_file.read_text(encoding="utf-8")).get("forecast") or {}
    method = forecast.get("method", method)  # no forecast (too short a history): the default

# %%
results = compute_plans(
    year,
    plans,
    contacts,
    refusals,
    aggregates,
    weather,
    capacity,
    winter,
    draws=settings.report.forecast.draws,
    seed=settings.report.forecast.seed,
    method=method,
)
for note in results.notes:
    print(note)

# %% [markdown]
# ## Bilans : l'année du rapport et les plans antérieurs

# %%
for pid, frame in results.comparison.items():
    print(results.bilans[pid]["label"])
    display(frame)
    for note in results.bilans[pid].get("notes", []):
        print(note)

# %% [markdown]
# ## Effet de la température sur la demande

# %%
for pid, entry in results.bilans.items():
    print(entry["label"], "— réseau :", json.dumps(entry["effect_network"], ensure_ascii=False))
    for partner, p in entry["partners"].items():
        print(f"  {partner} :", json.dumps(p["effect"], ensure_ascii=False))

# %% [markdown]
# ## Note de préparation : lits nécessaires et back-test

# %%
print(
    json.dumps({k: v for k, v in results.preparation.items() if k != "months"}, ensure_ascii=False)
)
for frame in (results.beds, results.backtest, results.grid):
    if frame is not None:
        display(frame)

# %%
written = write_plans(results, PATHS.plans(year))
print(f"{len(written)} fichiers écrits dans {PATHS.plans(year)}/")
