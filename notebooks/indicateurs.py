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
# # Indicateurs annuels de l'observatoire
#
# Ce carnet calcule les indicateurs de l'année du rapport à partir des données propres
# (`data_clean/`) : personnes distinctes (réseau, par dispositif, par partenaire), contacts,
# nuitées, taux d'occupation et refus par mois et par hiver, profil (âge, sexe, nationalité,
# parts d'inconnus), flux (nouveaux, continus, de retour), durées de prise en charge,
# personnes de longue durée, parcours entre dispositifs, motifs de sortie, maintien en
# logement (Housing First) et retours après relogement. Tous les calculs sont des fonctions
# du paquet `observatoire` (modules `indicators`, `pathways`, `durations`, `exits`, `housing`,
# rassemblés par `annual`), appelées aussi par le rapport et les tests ; ce que l'étape écrit
# (`indicateurs.json` et les tableaux CSV) est déclaré une fois dans `indicators.contract`.
# Les définitions sont dans `docs/indicateurs.md`. Les comptes affichés ici ne sont **pas**
# soumis au secret statistique : ce carnet est destiné au comité d'accompagnement, pas à la
# publication.

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import load_settings
from observatoire.core.coverage import read_coverage
from observatoire.core.storage import read_parquet
from observatoire.indicators.contract import compute_indicators, indicators_dir, write_indicators
from observatoire.intake.mapping import load_partners

settings = load_settings(Path(params_file))
contacts = read_parquet("data_clean/contacts.parquet")
refusals = pd.read_parquet("data_clean/refusals.parquet")
# Aggregate returns (partners that send counts): capacity series and their own figures.
aggregates_file = Path("data_clean/aggregates.parquet")
aggregates = pd.read_parquet(aggregates_file) if aggregates_file.is_file() else None
partners = load_partners(settings.inputs.partners_dir, settings.inputs.codes_dir)
# The months each partner's exports cover (ingest stage): flows and windows only where covered.
coverage = read_coverage(PATHS.coverage, contacts)
results = compute_indicators(
    contacts, refusals, partners, settings.report, year, coverage, aggregates
)
figures, families = results.figures, results.figures.families

# %% [markdown]
# ## Chiffres de l'année

# %%
pd.DataFrame({code: asdict(d) for code, d in figures.dispositifs.items()}).T

# %%
pd.Series(asdict(figures.network))

# %%
shelter = asdict(figures.shelter) if figures.shelter else {}
pd.Series({k: v for k, v in shelter.items() if k != "capacity"})

# %% [markdown]
# ## Profil : âge à la première prise de contact de l'année, et sexe

# %%
pd.DataFrame(figures.profile.age_sex).pivot(index="age_band", columns="sex", values="persons")

# %% [markdown]
# ## Séries mensuelles (saisonnalité)

# %%
results.monthly_persons.pivot(index="month", columns="dispositif", values="persons").tail(12)

# %% [markdown]
# ## Occupation de l'abri et refus faute de place, par mois et par hiver
#
# Un hiver va du 1er novembre au 31 mars suivant ; les hivers coupés par le début ou la fin
# des données ont `complete = False`.

# %%
results.occupancy_monthly()

# %%
results.winters()

# %% [markdown]
# ## Profil complet : nationalité, parts d'inconnus, âge × sexe (toutes les personnes)

# %%
pd.Series(families.nationality, name="personnes")

# %%
pd.DataFrame({k: v for k, v in families.unknown_shares.items() if k != "persons"}).T

# %%
pd.DataFrame(families.age_sex_full).pivot(index="age_band", columns="sex", values="persons")

# %% [markdown]
# ## Flux : nouveaux, continus, de retour (statut par rapport au réseau)

# %%
results.yearly_flows()

# %%
pd.DataFrame(families.flows["by_dispositif"]).T

# %% [markdown]
# ## Durées de prise en charge (par personne dans l'année, puis par séjour terminé)

# %%
pd.DataFrame(families.durations["in_service"]).T

# %%
pd.DataFrame(families.durations["stays"]).T

# %% [markdown]
# ## Personnes de longue durée et concentration des nuitées

# %%
pd.Series(families.long_term["persons"], name="personnes"), families.long_term["top10_nights"]

# %% [markdown]
# ## Parcours : nombre de dispositifs et combinaisons

# %%
pd.Series(families.pathways["n_dispositifs"], name="personnes")

# %%
results.combinations()[["label", "n_dispositifs", "persons"]]

# %% [markdown]
# ## Motifs de sortie, maintien en logement (Housing First), retours après relogement

# %%
pd.DataFrame({d: v["by_reason"] for d, v in families.exits.items()})

# %%
pd.DataFrame(families.housing_first).T

# %%
pd.DataFrame(families.returns).T

# %% [markdown]
# ## Interventions et contacts par mois

# %%
print(f"Interventions de l'urgence sociale : {families.interventions['urgence_sociale']}")
results.monthly_contacts().pivot(index="month", columns="dispositif", values="contacts")

# %% [markdown]
# ## L'année précédente, pour le secret statistique
#
# Le contrôle du secret statistique tient compte des tableaux publiés pour l'année précédente :
# ses indicateurs sont recalculés sur les seules données disponibles à la fin de cette année.

# %%
pd.DataFrame({code: asdict(d) for code, d in results.previous_year.dispositifs.items()}).T

# %%
out_dir = indicators_dir(year)
write_indicators(results, out_dir)
print(f"Indicateurs écrits dans {out_dir}/")
