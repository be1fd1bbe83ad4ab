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
# # Baromètre des violences
#
# Pour le comité de la recherche-action. Pour l'année du rapport Y (et Y−1 pour « plus / moins ») :
#
# 1. les **incidents** des fiches (`data_clean/field/incidents.parquet`) par type, sens,
#    gravité, suites, contexte, service et mois ; les types, suites et contextes sont à choix
#    multiples : un incident compte une fois dans chacun de ses codes ;
# 2. les **taux** pour 1 000 nuitées (hébergements) ou 1 000 contacts (services de jour, travail
#    de rue) tirés des données d'activité de l'observatoire, le **modèle de comptage** mensuel
#    (Poisson, binomiale négative si surdispersion ; offset log(exposition)) et ses diagnostics,
#    comparés au rapport brut ;
# 3. l'**heure** des incidents et la concentration à la fermeture (test exact), les **nuits
#    avec refus** (nuits d'hiver avec refus contre toutes les autres nuits ; hiver seul quand
#    chaque côté a assez de nuits ; modèle par nuit à mois égal) ; les **exclusions** (motif de
#    sortie) reliées aux incidents, par le pseudonyme de l'auteur quand la fiche le porte ;
# 4. l'**enquête auprès des travailleurs** redressée par service × fonction ; les **thèmes des
#    témoignages** (grille de `params/terrain.yaml`).
#
# Les calculs sont dans `observatoire.field` ; ce carnet les appelle et les montre. Les comptes
# affichés ici ne passent pas par le secret statistique (carnet interne) : le rapport n'imprime
# que les cases publiées par l'étape `publication`.

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
from observatoire.field.barometer import compute_barometer, read_field_tables, write_barometer
from observatoire.field.settings import load_field

settings = load_settings(Path(params_file))
field = load_field(PATHS.terrain_params)
if field.barometre is None:
    raise SystemExit("Section « barometre » absente de params/terrain.yaml.")
tables, notes = read_field_tables(PATHS.field_clean)
# Nights and contacts are counted in records, not persons: the contacts as `validate` kept them
# (the clean ones but their `person_id`), so the barometer does not wait for the linkage.
contacts = pd.read_parquet(PATHS.validated_contacts)
refusals = pd.read_parquet(PATHS.validated_refusals)
winter = (settings.report.winter_start, settings.report.winter_end)
for note in notes:
    print(note)

# %%
results = compute_barometer(
    year,
    field.barometre,
    tables["incidents"],
    tables["worker_survey"],
    tables["testimonies"],
    contacts,
    refusals,
    winter,
)
results.notes[:0] = notes
for note in results.notes:
    print(note)

# %% [markdown]
# ## Incidents, taux et tendance

# %%
print(json.dumps(results.results.get("incidents"), ensure_ascii=False))
display(pd.DataFrame(results.results.get("rates", [])))
print(json.dumps(results.results.get("trend"), ensure_ascii=False, indent=1, default=str))

# %% [markdown]
# ## Heure, nuits avec refus, exclusions

# %%
for key in ("closing", "refusal_nights", "exclusions"):
    print(key, json.dumps(results.results.get(key), ensure_ascii=False, default=str))

# %% [markdown]
# ## Enquête auprès des travailleurs

# %%
survey = results.results.get("survey", {})
if survey.get("computed"):
    display(pd.DataFrame(survey["prevalences"]).T)
    display(results.frames["comparaisons_role"])
else:
    print(survey.get("reason"))

# %% [markdown]
# ## Thèmes des témoignages

# %%
themes = results.results.get("themes", {})
print(json.dumps({k: v for k, v in themes.items() if k != "quotes"}, ensure_ascii=False))
if "cooccurrences" in results.frames:
    display(results.frames["cooccurrences"])

# %%
written = write_barometer(results, PATHS.barometer(year))
print(f"{len(written)} fichiers écrits dans {PATHS.barometer(year)}/")
