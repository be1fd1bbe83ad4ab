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
# rassemblés par `annual`), appelées aussi par le rapport et les tests ; les définitions sont
# dans `docs/indicateurs.md`. Les comptes affichés ici ne sont **pas** soumis au secret
# statistique : ce carnet est destiné au comité d'accompagnement, pas à la publication.

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
from pathlib import Path

import pandas as pd

from observatoire.indicators.annual import annual_indicators, previous_year_indicators
from observatoire.indicators.counts import monthly_distinct_persons, monthly_nights
from observatoire.intake.mapping import load_partners
from observatoire.config.params import load_params
from observatoire.core.storage import write_csv, write_json

params = load_params(Path(params_file))
params["report"]["year"] = year
contacts = pd.read_parquet("data_clean/contacts.parquet")
refusals = pd.read_parquet("data_clean/refusals.parquet")
partners = load_partners(Path(params["inputs"]["partners_dir"]), Path(params["inputs"]["codes_dir"]))
out_dir = Path("outputs/indicators") / str(year)

# %% [markdown]
# ## Chiffres de l'année

# %%
figures = annual_indicators(contacts, refusals, partners, params)
pd.DataFrame(figures["dispositifs"]).T

# %%
pd.Series(figures["network"])

# %%
pd.Series({k: v for k, v in figures["shelter"].items() if k != "capacity"})

# %% [markdown]
# ## Profil : âge à la première prise de contact de l'année, et sexe

# %%
pd.DataFrame(figures["profile"]["age_sex"]).pivot(index="age_band", columns="sex", values="persons")

# %% [markdown]
# ## Séries mensuelles (saisonnalité)

# %%
monthly = monthly_distinct_persons(contacts)
monthly_network = monthly_distinct_persons(contacts, by=None)
nights_m = monthly_nights(contacts)
monthly.pivot(index="month", columns="dispositif", values="persons").tail(12)

# %% [markdown]
# ## Occupation de l'abri et refus faute de place, par mois et par hiver
#
# Un hiver va du 1er novembre au 31 mars suivant ; les hivers coupés par le début ou la fin
# des données ont `complete = False`.

# %%
occupancy_m = pd.DataFrame(figures["occupancy_monthly"])
occupancy_m

# %%
winters = pd.DataFrame(figures["winters"])
winters

# %% [markdown]
# ## Profil complet : nationalité, parts d'inconnus, âge × sexe (toutes les personnes)

# %%
pd.Series(figures["nationality"], name="personnes")

# %%
pd.DataFrame({k: v for k, v in figures["unknown_shares"].items() if k != "persons"}).T

# %%
pd.DataFrame(figures["age_sex_full"]).pivot(index="age_band", columns="sex", values="persons")

# %% [markdown]
# ## Flux : nouveaux, continus, de retour (statut par rapport au réseau)

# %%
flows_year = pd.DataFrame(figures["flows"]["yearly"])
flows_year

# %%
pd.DataFrame(figures["flows"]["by_dispositif"]).T

# %% [markdown]
# ## Durées de prise en charge (par personne dans l'année, puis par séjour terminé)

# %%
pd.DataFrame(figures["durations"]["in_service"]).T

# %%
pd.DataFrame(figures["durations"]["stays"]).T

# %% [markdown]
# ## Personnes de longue durée et concentration des nuitées

# %%
pd.Series(figures["long_term"]["persons"], name="personnes"), figures["long_term"]["top10_nights"]

# %% [markdown]
# ## Parcours : nombre de dispositifs et combinaisons

# %%
pd.Series(figures["pathways"]["n_dispositifs"], name="personnes")

# %%
combinations = pd.DataFrame(figures["pathways"]["combinations"])
combinations[["label", "n_dispositifs", "persons"]]

# %% [markdown]
# ## Motifs de sortie, maintien en logement (Housing First), retours après relogement

# %%
pd.DataFrame({d: v["by_reason"] for d, v in figures["exits"].items()})

# %%
pd.DataFrame(figures["housing_first"]).T

# %%
pd.DataFrame(figures["returns"]).T

# %% [markdown]
# ## Interventions et contacts par mois

# %%
contacts_m = pd.DataFrame(figures["interventions"]["monthly"])
print(f"Interventions de l'urgence sociale : {figures['interventions']['urgence_sociale']}")
contacts_m.pivot(index="month", columns="dispositif", values="contacts")

# %% [markdown]
# ## L'année précédente, pour le secret statistique
#
# Le contrôle du secret statistique tient compte des tableaux publiés pour l'année précédente :
# ses indicateurs sont recalculés sur les seules données disponibles à la fin de cette année.

# %%
figures_prev = previous_year_indicators(contacts, refusals, partners, params)
pd.DataFrame(figures_prev["dispositifs"]).T

# %%
write_json(out_dir / "indicateurs.json", figures)
write_json(out_dir / "indicateurs_annee_precedente.json", figures_prev)
write_csv(monthly, out_dir / "personnes_par_mois.csv")
write_csv(monthly_network, out_dir / "personnes_par_mois_reseau.csv")
write_csv(nights_m, out_dir / "nuitees_par_mois.csv")
write_csv(occupancy_m, out_dir / "occupation_par_mois.csv")
write_csv(winters, out_dir / "hivers.csv")
write_csv(flows_year, out_dir / "flux_par_annee.csv")
write_csv(contacts_m, out_dir / "contacts_par_mois.csv")
write_csv(
    combinations.assign(combination=combinations["combination"].map("+".join)),
    out_dir / "combinaisons_dispositifs.csv",
)
print(f"Indicateurs écrits dans {out_dir}/")
