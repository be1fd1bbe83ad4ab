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
# # Tendances : modèles de comptage et saisonnalité
#
# Pour le comité d'accompagnement. On modélise :
#
# 1. le nombre annuel de **personnes distinctes** (réseau et par dispositif) par une régression
#    de Poisson log-linéaire sur l'année, remplacée par une binomiale négative / quasi-Poisson si
#    la surdispersion est significative ; l'exponentielle de la pente est le **rapport de taux
#    annuel** (RR) avec son intervalle de confiance à 95 % ;
# 2. les **séries mensuelles** (personnes distinctes par mois, nuitées) avec une tendance, des
#    effets fixes de mois (saisonnalité) et, pour les nuitées, un offset de capacité ;
# 3. la **variation d'une année sur l'autre** (RR année/année précédente, IC 95 %) ;
# 4. une décomposition **STL** de la série mensuelle.
#
# Diagnostics affichés : rapport de dispersion (χ² de Pearson / ddl), test de Cameron–Trivedi,
# autocorrélation des résidus (Ljung–Box, 12 retards).

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
from pathlib import Path

import pandas as pd

from observatoire import trends
from observatoire.params import load_params
from observatoire.storage import write_csv, write_json

params = load_params(Path(params_file))
ind_dir = Path("outputs/indicators") / str(year)
out_dir = Path("outputs/trends") / str(year)
contacts = pd.read_parquet("data_clean/contacts.parquet")
contacts = contacts[contacts["year"] <= year]

# %% [markdown]
# ## Personnes distinctes par an, réseau

# %%
yearly = contacts.groupby("year")["person_id"].nunique()
network_trend = trends.fit_yearly_trend(yearly)
print(network_trend.summary_text)
print(network_trend.interpretation)

# %% [markdown]
# ## Par dispositif

# %%
by_disp = {}
for disp, grp in contacts.groupby("dispositif"):
    series = grp.groupby("year")["person_id"].nunique().reindex(yearly.index, fill_value=0)
    if (series > 0).sum() >= 3:
        by_disp[disp] = trends.fit_yearly_trend(series)
pd.DataFrame(
    {d: {"famille": r.family, "RR annuel": r.annual_rate_ratio, "IC bas": r.ci_low,
         "IC haut": r.ci_high, "dispersion": r.dispersion} for d, r in by_disp.items()}
).T

# %% [markdown]
# ## Variation d'une année sur l'autre

# %%
yoy = trends.year_on_year(float(yearly.get(year, 0)), float(yearly.get(year - 1, 0)))
print(yoy.interpretation)

# %% [markdown]
# ## Série mensuelle : tendance et saisonnalité

# %%
monthly = pd.read_csv(ind_dir / "personnes_par_mois_reseau.csv", parse_dates=["month"])
monthly = monthly[monthly["month"].dt.year <= year]
monthly_model = trends.fit_monthly_model(monthly, value="persons")
print(monthly_model.summary_text)

# %%
stl_result = trends.stl(monthly, value="persons")
seasonal = pd.Series(stl_result.seasonal.to_numpy(), index=monthly["month"]).tail(12)
seasonal

# %%
def trend_record(r):
    return {
        "family": r.family,
        "annual_rate_ratio": r.annual_rate_ratio,
        "ci_low": r.ci_low,
        "ci_high": r.ci_high,
        "p_value": r.p_value,
        "dispersion": r.dispersion,
        "interpretation": r.interpretation,
    }


result = {
    "year": year,
    "network": trend_record(network_trend),
    "by_dispositif": {d: trend_record(r) for d, r in by_disp.items()},
    "year_on_year": {
        "rate_ratio": yoy.rate_ratio, "ci_low": yoy.ci_low, "ci_high": yoy.ci_high,
        "interpretation": yoy.interpretation,
    },
    "monthly": {
        "family": monthly_model.family,
        "annual_rate_ratio": monthly_model.annual_rate_ratio,
        "ci_low": monthly_model.ci_low,
        "ci_high": monthly_model.ci_high,
        "dispersion": monthly_model.dispersion,
        "ljung_box_p": monthly_model.ljung_box_p,
    },
}
write_json(out_dir / "tendances.json", result)
write_csv(network_trend.fitted, out_dir / "tendance_reseau.csv")
write_csv(
    pd.DataFrame({"month": monthly["month"], "observed": stl_result.observed.to_numpy(),
                  "trend": stl_result.trend.to_numpy(), "seasonal": stl_result.seasonal.to_numpy(),
                  "resid": stl_result.resid.to_numpy()}),
    out_dir / "stl_reseau.csv",
)
print(f"Tendances écrites dans {out_dir}/")
