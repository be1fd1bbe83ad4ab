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
# # Habitants-relais : activité, besoins et défraiements
#
# Pour le comité de pilotage du Contrat Local Social-Santé. Pour l'année du rapport Y et Y − 1 :
#
# 1. **prestations** (fiches-relevés) et **personnes aidées** par relais (pseudonyme), par point
#    (fixe, vélo-cargo), par mois, jour et moment de la journée ;
# 2. **besoins** par domaine, **actions**, **orientations** et **obstacles** (questions à choix
#    multiples : une fiche compte une fois par domaine), leurs parts avec IC 95 % (Wilson) et
#    leur évolution (« plus / moins » : différence de proportions, IC de Newcombe, correction de
#    Holm) ;
# 3. **défraiements** par volontaire et par jour comparés aux plafonds légaux de l'année
#    (`params/terrain.yaml`, section `relais:`, loi du 3 juillet 2005).
#
# Les calculs sont dans `observatoire.field.relays`. Carnet interne : ses comptes ne passent pas
# par le secret statistique (les rapports n'impriment que les cases publiées) et les chiffres
# individuels des volontaires restent dans `outputs/field/relais/<Y>/interne/`.

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
from IPython.display import display

from observatoire.config.paths import PATHS
from observatoire.field.relays import compute_relays, load_relay_tables, write_relays
from observatoire.field.relays_settings import load_relays_settings

settings = load_relays_settings(PATHS.terrain_params)
services, allowances, notes = load_relay_tables(PATHS.field_clean)
results = compute_relays(year, services, allowances, settings)
results.notes[:0] = notes
for note in results.notes:
    print(note)
print(f"Années : {results.years} ; relais : {len(results.codes)}")

# %% [markdown]
# ## Prestations et personnes aidées

# %%
display(results.counts.query("dimension in ['total', 'point', 'relais']"))

# %% [markdown]
# ## Besoins, actions, orientations, obstacles : parts et évolution

# %%
display(results.shares)
display(results.changes)
print(results.totals_change)

# %% [markdown]
# ## Défraiements et plafonds légaux (interne)

# %%
display(results.volunteers)
display(results.days_above)
display(results.allowance_months)

# %%
written = write_relays(results, PATHS.relays(year))
print(f"{len(written)} fichiers écrits dans {PATHS.relays(year)}/")
