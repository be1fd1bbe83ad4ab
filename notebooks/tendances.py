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
# 4. une décomposition **STL** de la série mensuelle ;
# 5. les mêmes **modèles mensuels par dispositif** (personnes distinctes et contacts par mois),
#    les **nuitées de l'abri rapportées à sa capacité** (offset = nuitées-lits du mois), la
#    variation annuelle et la décomposition STL de chaque dispositif ;
# 6. la **prévision de la demande d'hébergement de l'hiver à venir** (nuitées occupées + refus
#    faute de place), avec intervalles de prédiction à 80 et 95 %, confrontée à la capacité,
#    et sa **validation rétrospective** sur les hivers passés.
#
# Diagnostics affichés : rapport de dispersion (χ² de Pearson / ddl), test de Cameron–Trivedi,
# autocorrélation des résidus (Ljung–Box, 12 retards). Les comptes affichés ici ne sont pas
# soumis au secret statistique : ce carnet est destiné au comité d'accompagnement.

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
import math
from pathlib import Path

import pandas as pd

from observatoire.indicators import counts as indicators
from observatoire.models import forecast, trends
from observatoire.reports import charts
from observatoire.indicators.counts import dispositif_order, monthly_nights
from observatoire.intake.mapping import load_partners
from observatoire.config.params import load_params
from observatoire.core.storage import write_csv, write_json

params = load_params(Path(params_file))
report = params["report"]
winter = (report["winter_start"], report["winter_end"])
forecast_params = report.get("forecast", {})
ind_dir = Path("outputs/indicators") / str(year)
out_dir = Path("outputs/trends") / str(year)
end_month = pd.Timestamp(f"{year}-12-01")
contacts = pd.read_parquet("data_clean/contacts.parquet")
contacts = contacts[contacts["year"] <= year]
refusals = pd.read_parquet("data_clean/refusals.parquet")
refusals = refusals[pd.to_datetime(refusals["date"]).dt.year <= year]
partners = load_partners(Path(params["inputs"]["partners_dir"]), Path(params["inputs"]["codes_dir"]))
capacity = forecast.shelter_capacity(partners)
capacity

# %% [markdown]
# ## Personnes distinctes par an, réseau

# %%
# Persons present in each year (a stay counts in every year it covers), as in the report.
yearly = indicators.yearly_distinct_persons(contacts).set_index("year")["persons"]
network_trend = trends.fit_yearly_trend(yearly)
print(network_trend.summary_text)
print(network_trend.interpretation)

# %% [markdown]
# ## Par dispositif

# %%
by_disp = {}
yearly_disp = indicators.yearly_distinct_persons(contacts, by="dispositif")
for disp, grp in yearly_disp.groupby("dispositif"):
    series = grp.set_index("year")["persons"].reindex(yearly.index, fill_value=0)
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

# %% [markdown]
# ## Modèles mensuels par dispositif
#
# Pour chaque dispositif, deux séries mensuelles (mois de début du contact) : les **personnes
# distinctes** du mois et les **contacts** (séjours, passages, interventions). Même modèle que
# ci-dessus : tendance log-linéaire + effets de mois ; Poisson, ou binomiale négative (alpha
# estimé par la méthode des moments de Breslow) si la surdispersion est significative. Une
# série de moins de 24 mois, ou nulle plus d'un mois sur deux, n'est pas modélisée (raison
# indiquée). Un rapport de dispersion nettement inférieur à 1 (sous-dispersion, fréquente pour
# des personnes distinctes qui reviennent d'un mois à l'autre) rend les intervalles du modèle
# de Poisson prudents (trop larges), jamais trop étroits.

# %%
monthly_disp = trends.monthly_dispositif_counts(contacts, end_month)
disp_models = trends.fit_dispositif_models(monthly_disp)

# %% [markdown]
# ### Nuitées de l'abri rapportées à sa capacité
#
# Exposition = nuitées-lits offertes dans le mois (lits permanents + lits du Plan Grand Froid
# les nuits d'hiver, d'après les fiches partenaires). Le rapport de taux annuel porte donc sur
# le **taux d'occupation**. En hiver l'abri est plein : les nuitées occupées y mesurent la
# capacité, pas le besoin — d'où la prévision de la *demande* plus bas.

# %%
shelter_nights = monthly_nights(contacts)
shelter_nights = shelter_nights[shelter_nights["month"] <= end_month].copy()
shelter_nights["capacity"] = forecast.monthly_bed_nights(
    capacity, shelter_nights["month"], winter
).to_numpy()
shelter_model = trends.fit_series(
    shelter_nights, "nights", "hebergement_urgence", exposure="capacity"
)
print(shelter_model.model.interpretation if shelter_model.model else shelter_model.skipped)

# %% [markdown]
# ### Diagnostics

# %%
all_models = [m for per in disp_models.values() for m in per.values()] + [shelter_model]
diagnostics = trends.diagnostics_table(all_models)
diagnostics["dispositif"] = diagnostics["dispositif"].map(charts.dispositif_label)
diagnostics["series"] = diagnostics["series"].map(trends.SERIES_LABELS)
diagnostics.rename(
    columns={
        "dispositif": "Dispositif", "series": "Série", "n_months": "Mois", "zero_months": "Mois à 0",
        "family": "Famille", "annual_rate_ratio": "RR annuel", "ci_low": "IC bas",
        "ci_high": "IC haut", "p_value": "p", "dispersion": "X²/ddl (Poisson)",
        "ct_alpha": "alpha Cameron–Trivedi", "ct_p": "p Cameron–Trivedi", "alpha": "alpha (BN)",
        "residual_dispersion": "X²/ddl (retenu)", "ljung_box_p": "p Ljung–Box",
        "exposure": "Exposition", "skipped": "Non modélisé",
    }
).round(4)

# %%
for m in all_models:
    for note in (m.model.notes if m.model else []):
        print(f"{charts.dispositif_label(m.dispositif)} ({trends.SERIES_LABELS[m.series]}) : {note}")

# %%
fitted_frames = {
    d: per["persons"].model.fitted for d, per in disp_models.items() if per["persons"].model
}
charts.dispositif_fits(fitted_frames)

# %% [markdown]
# ### Variation d'une année sur l'autre, par dispositif
#
# Personnes distinctes de l'année contre l'année précédente (rapport de taux, IC 95 % de Wald
# sur l'échelle log, exact si un compte est nul).

# %%
yoy_disp = trends.yoy_by_dispositif(contacts, year)
yoy_order = dispositif_order(list(yoy_disp))
yoy_rows = [
    {"dispositif": d, "rate_ratio": yoy_disp[d].rate_ratio, "ci_low": yoy_disp[d].ci_low,
     "ci_high": yoy_disp[d].ci_high}
    for d in yoy_order
]
for d in yoy_order:
    print(f"{charts.dispositif_label(d)} : {yoy_disp[d].interpretation}")
charts.rate_ratio_forest(yoy_rows)

# %% [markdown]
# ### Décomposition STL par dispositif (personnes distinctes)

# %%
stl_by_disp, stl_skipped = {}, {}
for d, sub in monthly_disp.groupby("dispositif"):
    try:
        stl_by_disp[d] = trends.stl(sub, "persons")
    except ValueError as exc:
        stl_skipped[d] = str(exc)
stl_skipped

# %% [markdown]
# ## Prévision de la demande de l'hiver à venir
#
# **Demande** = nuitées occupées + refus faute de place, par mois : un refus est une nuit
# demandée et non donnée, et les nuitées occupées plafonnent à la capacité. Les données
# s'arrêtent au 31 décembre de l'année du rapport, publié l'année suivante : l'hiver « à
# venir » est donc celui qui commence le **1er novembre de l'année suivante** (horizon de 11 à
# 15 mois). Modèle : tendance + effets de mois sur la demande par jour (offset = jours du mois),
# Poisson ou binomiale négative. Intervalles de prédiction par simulation : coefficients tirés
# dans leur loi normale asymptotique, puis comptes tirés autour de la moyenne simulée.

# %%
demand = forecast.monthly_demand(contacts, refusals, end_month)
winter_fc = forecast.forecast_winter(
    demand,
    capacity=capacity,
    winter=winter,
    draws=int(forecast_params.get("draws", 5000)),
    seed=int(forecast_params.get("seed", 20250101)),
    min_history=int(forecast_params.get("min_history_months", 24)),
)
print(winter_fc.interpretation)
print(winter_fc.model.interpretation)
for note in winter_fc.model.notes + winter_fc.notes:
    print("Note :", note)
winter_fc.months

# %%
capacity_line = forecast.monthly_bed_nights(
    capacity, pd.concat([demand["month"], winter_fc.months["month"]]), winter
)
charts.winter_forecast(demand, winter_fc.months, capacity_line)

# %% [markdown]
# ### Validation rétrospective
#
# Chaque hiver passé entièrement observé est prévu à partir des seules données antérieures à
# son origine, puis comparé à la demande observée (erreur absolue en %, APE ; moyenne, MAPE ;
# l'hiver observé tombe-t-il dans les intervalles ?). **Horizon du rapport** : origine au
# 31 décembre, 11 mois avant l'hiver, exactement comme la prévision ci-dessus. **Horizon
# court** (à titre de comparaison) : origine au 31 octobre, juste avant l'hiver. Il faut au
# moins 24 mois d'historique avant l'origine ; avec 5 ans de données, peu d'hivers s'y prêtent.

# %%
backtests = {
    h: forecast.backtest(
        demand,
        horizon=h,
        winter=winter,
        draws=int(forecast_params.get("draws", 5000)),
        seed=int(forecast_params.get("seed", 20250101)),
        min_history=int(forecast_params.get("min_history_months", 24)),
    )
    for h in ("rapport", "court")
}
for h, bt in backtests.items():
    mape = "–" if bt.mape is None else f"{charts.french_number(bt.mape, 1)}\u202f%"
    print(f"{bt.description} : {len(bt.winters)} hiver(s), MAPE {mape}")
    for note in bt.notes:
        print("  Note :", note)
backtest_table = pd.concat([bt.table() for bt in backtests.values()], ignore_index=True)
backtest_table

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
    "monthly_by_dispositif": {
        d: {**per["persons"].record(), "contacts": per["contacts"].record()}
        for d, per in disp_models.items()
    },
    "yoy_by_dispositif": {
        d: {
            "current": r.current, "previous": r.previous, "rate_ratio": r.rate_ratio,
            "ci_low": r.ci_low, "ci_high": r.ci_high, "p_value": r.p_value, "method": r.method,
            "interpretation": r.interpretation,
        }
        for d, r in yoy_disp.items()
    },
    "shelter_nights_model": shelter_model.record(),
    "stl_skipped": stl_skipped,
    "forecast": {
        **winter_fc.to_dict(),
        "backtest": {h: bt.to_dict() for h, bt in backtests.items()},
        "mape": backtests["rapport"].mape,
    },
}


def finite(value):
    """Infinite or undefined numbers (a rate ratio over a zero count) become JSON null."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


write_json(out_dir / "tendances.json", finite(result))
write_csv(network_trend.fitted, out_dir / "tendance_reseau.csv")
write_csv(
    pd.DataFrame({"month": monthly["month"], "observed": stl_result.observed.to_numpy(),
                  "trend": stl_result.trend.to_numpy(), "seasonal": stl_result.seasonal.to_numpy(),
                  "resid": stl_result.resid.to_numpy()}),
    out_dir / "stl_reseau.csv",
)
write_csv(trends.diagnostics_table(all_models), out_dir / "diagnostics_mensuels.csv")
for d, per in disp_models.items():
    if per["persons"].model is not None:
        write_csv(per["persons"].model.fitted, out_dir / f"mensuel_{d}_ajuste.csv")
if shelter_model.model is not None:
    write_csv(
        shelter_model.model.fitted, out_dir / "mensuel_hebergement_urgence_nuitees_ajuste.csv"
    )
for d, res in stl_by_disp.items():
    write_csv(
        pd.DataFrame({"month": res.observed.index, "observed": res.observed.to_numpy(),
                      "trend": res.trend.to_numpy(), "seasonal": res.seasonal.to_numpy(),
                      "resid": res.resid.to_numpy()}),
        out_dir / f"stl_{d}.csv",
    )
write_csv(demand, out_dir / "demande_abri_mensuelle.csv")
write_csv(
    winter_fc.months[["month", "forecast", "lo80", "hi80", "lo95", "hi95", "capacity"]],
    out_dir / "prevision_hiver.csv",
)
write_csv(backtest_table, out_dir / "backtest_hiver.csv")
print(f"Tendances écrites dans {out_dir}/")
