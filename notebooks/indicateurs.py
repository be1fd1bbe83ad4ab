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
# nuitées, taux d'occupation, refus faute de place, profil par âge et sexe. Tous les calculs
# sont des fonctions du paquet `observatoire` (module `indicators`), appelées aussi par le
# rapport et les tests. Les comptes affichés ici ne sont **pas** soumis au secret statistique :
# ce carnet est destiné au comité d'accompagnement, pas à la publication.

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
from pathlib import Path

import pandas as pd

from observatoire.annual import annual_indicators
from observatoire.indicators import monthly_distinct_persons, monthly_nights
from observatoire.mapping import load_partners
from observatoire.params import load_params
from observatoire.storage import write_csv, write_json

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

# %%
write_json(out_dir / "indicateurs.json", figures)
write_csv(monthly, out_dir / "personnes_par_mois.csv")
write_csv(monthly_network, out_dir / "personnes_par_mois_reseau.csv")
write_csv(nights_m, out_dir / "nuitees_par_mois.csv")
print(f"Indicateurs écrits dans {out_dir}/")
