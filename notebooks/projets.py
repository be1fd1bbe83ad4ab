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
# # Projets suivis : objectifs, participation, affiliation, budget
#
# Pour chaque projet de `params/projets.yaml` (affiliation sociale des locataires Housing First,
# équipe de football de rue) et l'année du rapport Y :
#
# 1. **liaison** des participants aux personnes de l'observatoire (code du partenaire, ou nom et
#    date de naissance en jetons exacts) et taux de liaison ;
# 2. **participation** (participants, séances, nouveaux et revenants, rétention à 3 mois),
#    **conseil des locataires** (présences, propositions) et son **effet** sur la participation
#    aux autres activités (régression segmentée, comparée au rapport naïf avant / après) ;
# 3. **affiliation** des locataires (score à l'entrée, 6 et 12 mois) et **issues de logement**
#    des participants et non-participants (descriptif : comparaison non randomisée) ;
# 4. **objectifs** : l'indicateur de chaque objectif face à sa cible, mois par mois ;
# 5. **budget** : prévu, engagé, dépensé par ligne et financeur, projection de fin d'année
#    (dépensé + engagé non payé + rythme des derniers mois × mois restants, comparée à la
#    projection linéaire naïve) et lignes en dérive au-delà du seuil.
#
# Les calculs sont dans `observatoire.projects`. Carnet interne : ses comptes ne passent pas par
# le secret statistique (les rapports n'impriment que les cases publiées).

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
from IPython.display import display

from observatoire.config.paths import PATHS
from observatoire.projects.run import run_projects
from observatoire.projects.settings import load_projects_settings

settings = load_projects_settings(PATHS.projects_params)
results = run_projects(year, settings)
for project, res in results.items():
    print(
        f"{project} : {len(res.tables) + len(res.payloads) + 1} fichiers dans "
        f"{PATHS.projects(year) / project}/"
    )
    for note in res.notes:
        print(f"  - {note}")

# %% [markdown]
# ## Objectifs

# %%
for project, res in results.items():
    print(project)
    display(res.tables["objectifs.csv"])

# %% [markdown]
# ## Participation, conseil et liaison

# %%
for project, res in results.items():
    print(project, res.summary.get("analyses"))
    display(res.tables["participation_mois.csv"])
    display(res.tables["liaison.csv"])
    print(res.payloads.get("effet_conseil.json"))

# %% [markdown]
# ## Affiliation et issues de logement (projets d'affiliation)

# %%
for project, res in results.items():
    print(project, res.summary["analyses"].get("affiliation"))
    display(res.tables["affiliation_scores.csv"])
    display(res.tables["issues_logement.csv"])

# %% [markdown]
# ## Budget

# %%
for project, res in results.items():
    print(project, res.summary["budget"]["rule"])
    display(res.tables["budget.csv"].query("level in ['ligne', 'total']"))
    display(res.tables["budget_controle.csv"])
