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
#    log-linéaire **quasi-Poisson** sur l'année (variance proportionnelle à la moyenne, φ estimé,
#    quantiles de Student à n − 2 ddl ; aucun test de surdispersion sur cinq points) ;
#    l'exponentielle de la pente est le **rapport de taux annuel** (RR), IC à 95 %. Les années
#    touchées par la **troncature à gauche** (séjours commencés avant les données) sont exclues
#    (dispositifs) ou corrigées (réseau) ; analyse de sensibilité **sans 2020** (COVID-19) ;
# 2. les **séries mensuelles** (personnes distinctes par mois) avec une tendance et des effets
#    fixes de mois (saisonnalité) ; intervalles tenant compte de la corrélation entre mois
#    successifs (quasi-vraisemblance, erreurs autocorrélées, Zeger 1988) ; l'**occupation** de
#    l'abri sur une échelle bornée (logit) ;
# 3. la **variation d'une année sur l'autre**, comparaison **appariée** (personnes présentes les
#    deux années, test exact de McNemar) ; p-values ajustées par la méthode de **Holm** ;
# 4. une décomposition **STL** de la série mensuelle ;
# 5. les mêmes **modèles mensuels par dispositif** (personnes distinctes et contacts par mois),
#    les **nuitées de l'abri rapportées à sa capacité** (offset = nuitées-lits du mois), la
#    variation annuelle et la décomposition STL de chaque dispositif ;
# 6. la **prévision de la demande d'hébergement de l'hiver à venir** (nuitées occupées + refus
#    faute de place), avec intervalles de prévision à 80 et 95 %, confrontée à la capacité ; le
#    modèle (tendance commune ou propre à l'hiver) est choisi par une **validation à origine
#    glissante** contre trois prévisions naïves.
#
# Diagnostics affichés : rapport de dispersion (χ² de Pearson / ddl), test de Cameron–Trivedi,
# autocorrélation des résidus (Ljung–Box, 12 retards). Les comptes affichés ici ne sont pas
# soumis au secret statistique : ce carnet est destiné au comité d'accompagnement.
#
# Les modèles sont ajustés par le paquet (`models.contract.fit_trends`) ; ce que l'étape écrit
# (`tendances.json` et les tableaux CSV) est déclaré une fois dans `models.contract`.
#
# **Série extérieure.** Le paramètre `serie_externe` (chemin d'un CSV `mois;valeur`, `None` par
# défaut) applique en plus les mêmes modèles et la prévision de l'hiver à une série mensuelle
# fournie par l'analyste (`serie_libelle` : ce qu'elle compte ; `serie_prevision` : prévoir ou
# non) ; résultats dans `outputs/trends/series_externes/<nom>/`, comme
# `observatoire tendance --serie` (voir `docs/tendances.md`).

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5
serie_externe = None  # chemin d'un CSV « mois;valeur » : mêmes modèles sur cette série
serie_libelle = "valeurs"
serie_prevision = True

# %%
from pathlib import Path

import pandas as pd
from IPython.display import display

from observatoire.config.paths import PATHS
from observatoire.config.settings import load_settings
from observatoire.core.coverage import read_coverage
from observatoire.core.storage import read_parquet
from observatoire.indicators.contract import indicators_dir, read_network_monthly
from observatoire.indicators.counts import dispositif_order
from observatoire.intake.mapping import load_partners
from observatoire.models import not_computed, trends
from observatoire.models.contract import fit_trends, trends_dir, write_trends
from observatoire.models.external import analyse_file, series_summary
from observatoire.reports import charts

settings = load_settings(Path(params_file))
contacts = read_parquet("data_clean/contacts.parquet")
refusals = pd.read_parquet("data_clean/refusals.parquet")
partners = load_partners(settings.inputs.partners_dir, settings.inputs.codes_dir)
monthly_network = read_network_monthly(indicators_dir(year))
# The months each partner's exports cover (ingest stage): trends on years covered in full only.
coverage = read_coverage(PATHS.coverage, contacts)
# The shelters' beds night by night: declared in the mappings, or sent in aggregate returns.
aggregates_file = Path("data_clean/aggregates.parquet")
aggregates = pd.read_parquet(aggregates_file) if aggregates_file.is_file() else None
results = fit_trends(
    contacts, refusals, partners, monthly_network, settings.report, year, coverage, aggregates
)
results.capacity

# %% [markdown]
# ## Ce qui n'a pas pu être calculé
#
# Un réseau réduit (un partenaire, pas d'abri de nuit, deux années d'exports) est une entrée
# valide : les modèles qui ne peuvent pas être ajustés sont sautés, avec leur raison (écrite
# dans `tendances.json`, clé `non_calcule`, et reprise par le rapport annuel).

# %%
for key, reason in results.not_computed.items():
    print(f"{not_computed.LABELS[key]} : {reason}")
if not results.not_computed:
    print("Tous les modèles ont été ajustés.")

# %% [markdown]
# ## Personnes distinctes par an, réseau

# %%
if results.network_trend is not None:
    print(results.network_trend.summary_text)
    print(results.network_trend.interpretation)

# %% [markdown]
# ## Troncature à gauche
#
# Part manquante estimée des personnes de chaque année (séjours commencés avant le début des
# données, encore en cours) ; une année au-delà de 2 % est exclue des tendances du dispositif.

# %%
pd.DataFrame({d: t.missing_share for d, t in results.truncation.items()}).assign(
    reseau=pd.Series(results.network_missing_share)
).round(3)

# %%
for label, fit in (
    ("Sans correction", results.network_uncorrected),
    ("Sans 2020", results.network_without_2020),
):
    print(f"{label} :", fit.interpretation if fit is not None else "non estimée")

# %% [markdown]
# ## Personnes identifiées (hors travail de rue) et travail de rue
#
# Le travail de rue n'est jamais relié aux autres services : le total du réseau compte deux fois
# une personne vue en rue et ailleurs. La tendance des personnes identifiées par leur nom est
# l'estimation principale ; la série du travail de rue est donnée à côté.

# %%
named, yoy_named = results.network_named, results.year_on_year_named
print("Personnes identifiées :", named.interpretation if named is not None else "–")
street = results.by_dispositif.get("travail_rue")
print("Travail de rue :", street.interpretation if street is not None else "–")
print(
    "Personnes identifiées, d'une année sur l'autre :",
    yoy_named.interpretation if yoy_named is not None else "–",
)
pd.DataFrame({"réseau (maximum)": results.yearly, "identifiées": results.yearly_named})

# %% [markdown]
# ## Par dispositif

# %%
adjusted = results.adjusted()
pd.DataFrame(
    {
        d: {"famille": r.family, "années": r.years, "RR annuel": r.annual_rate_ratio,
            "IC bas": r.ci_low, "IC haut": r.ci_high, "p": r.p_value,
            "p Holm": adjusted[f"tendance_{d}"], "dispersion": r.dispersion}
        for d, r in results.by_dispositif.items()
    }
).T

# %%
results.trend_skipped

# %% [markdown]
# ## Famille de tests (Holm)

# %%
pd.DataFrame({"p": results.tests(), "p Holm": adjusted}).round(4)

# %% [markdown]
# ## Variation d'une année sur l'autre

# %%
if results.year_on_year is not None:
    print(results.year_on_year.interpretation)

# %% [markdown]
# ## Série mensuelle : tendance et saisonnalité

# %%
if results.monthly_model is not None:
    print(results.monthly_model.summary_text)

# %%
if results.stl_network is not None:
    seasonal = results.stl_network.seasonal.to_numpy()
    display(pd.Series(seasonal, index=results.monthly["month"]).tail(12))

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

# %% [markdown]
# ### Occupation de l'abri
#
# Taux d'occupation = nuitées / nuitées-lits offertes dans le mois (lits permanents + lits du
# Plan Grand Froid les nuits d'hiver, d'après les fiches partenaires), modélisé sur l'échelle
# logit (un taux borné à 100 %). En hiver l'abri est plein : les nuitées occupées y mesurent la
# capacité, pas le besoin — d'où la prévision de la *demande* plus bas.

# %%
occupancy = results.occupancy
print(occupancy.interpretation if occupancy else "Occupation non modélisée.")
occupancy.yearly if occupancy else None

# %% [markdown]
# ### Diagnostics

# %%
diagnostics = results.diagnostics()
diagnostics["dispositif"] = diagnostics["dispositif"].map(charts.dispositif_label)
diagnostics["series"] = diagnostics["series"].map(trends.SERIES_LABELS)
diagnostics.rename(
    columns={
        "dispositif": "Dispositif", "series": "Série", "n_months": "Mois", "zero_months": "Mois à 0",
        "family": "Famille", "annual_rate_ratio": "RR annuel", "ci_low": "IC bas",
        "ci_high": "IC haut", "p_value": "p", "dispersion": "X²/ddl (Poisson)",
        "ct_alpha": "alpha Cameron–Trivedi", "ct_p": "p Cameron–Trivedi", "alpha": "alpha (BN)",
        "residual_dispersion": "X²/ddl (retenu)", "ljung_box_p": "p Ljung–Box",
        "serial_lag1": "corrélation mois successifs",
        "exposure": "Exposition", "skipped": "Non modélisé",
    }
).round(4)

# %%
for m in results.all_models:
    for note in (m.model.notes if m.model else []):
        print(f"{charts.dispositif_label(m.dispositif)} ({trends.SERIES_LABELS[m.series]}) : {note}")

# %%
fits = {
    d: per["persons"].model.fitted
    for d, per in results.dispositif_models.items()
    if per["persons"].model
}
charts.dispositif_fits(fits) if fits else None

# %% [markdown]
# ### Variation d'une année sur l'autre, par dispositif
#
# Personnes distinctes de l'année contre l'année précédente, comparaison appariée (les
# personnes présentes les deux années comptent une fois ; IC 95 % sur l'échelle log, test exact
# de McNemar). Un dispositif touché par la troncature à gauche n'est pas interprétable.

# %%
yoy_disp = results.yoy_by_dispositif
yoy_order = dispositif_order(list(yoy_disp))
for d in yoy_order:
    print(f"{charts.dispositif_label(d)} : {yoy_disp[d].interpretation}")
charts.rate_ratio_forest(
    [
        {"dispositif": d, "rate_ratio": yoy_disp[d].rate_ratio, "ci_low": yoy_disp[d].ci_low,
         "ci_high": yoy_disp[d].ci_high}
        for d in yoy_order
    ]
) if yoy_order else None

# %% [markdown]
# ### Décomposition STL par dispositif (personnes distinctes)

# %%
results.stl_skipped

# %% [markdown]
# ## Prévision de la demande de l'hiver à venir
#
# **Demande** = nuitées occupées + refus faute de place, par mois : un refus est une nuit
# demandée et non donnée, et les nuitées occupées plafonnent à la capacité. Les données
# s'arrêtent au 31 décembre de l'année du rapport, publié l'année suivante : l'hiver « à
# venir » est donc celui qui commence le **1er novembre de l'année suivante** (horizon de 11 à
# 15 mois). Novembre et décembre de l'hiver en cours sont dans les données : ils entrent dans
# l'ajustement, dans le naïf saisonnier et, comme cibles, dans la validation.
#
# Deux modèles de comptage (offset = jours du mois, Poisson ou binomiale négative) :
# **tendance commune** à tous les mois (le seul modèle jusqu'au rapport 2024), ou **tendance
# propre à l'hiver** (interaction tendance × mois du Plan Grand Froid). Intervalles de
# prévision par simulation : coefficients tirés dans leur loi normale asymptotique, puis
# comptes tirés autour de la moyenne simulée.

# %%
outlook = results.outlook
if outlook is None:
    print(results.not_computed.get(not_computed.FORECAST, "Prévision non calculée."))
else:
    winter_fc = outlook.forecast
    print(winter_fc.interpretation)
    for fc in (outlook.forecast, outlook.other):
        m = fc.model
        print(f"{m.label} ({m.family}) : {m.trend_sentence}")
        print(f"  Ljung–Box (12 retards) p = {m.ljung_box_p:.3f} ; autocorrélation d'ordre 1 "
              f"des résidus {m.acf1:.2f}")
    for note in winter_fc.model.notes + winter_fc.notes:
        print("Note :", note)
    if outlook.current is not None:
        print("Hiver en cours :", outlook.current.to_dict())
    display(pd.DataFrame(outlook.alternatives()))

# %%
outlook.forecast.months if outlook is not None else None

# %%
if outlook is not None:
    charts.winter_forecast(results.demand, outlook.forecast.months, results.forecast_capacity())

# %% [markdown]
# ### Validation à origine glissante et choix du modèle
#
# Chaque mois ayant au moins 24 mois d'historique est une origine : à partir des seules
# données jusqu'à elle, chaque méthode prévoit les 15 mois suivants. On note l'erreur absolue
# en % sur les mois d'hiver observés (MAPE) et, pour les modèles, la part des valeurs
# observées dans les intervalles de prévision à 80 et 95 %, par bande d'horizon : court
# (1–3 mois), moyen (4–10), rapport (11–15, celui de la prévision publiée). Les totaux des
# hivers complets sont notés de même. Trois références naïves : comme l'hiver dernier, naïf
# saisonnier, naïf plafonné à la capacité. Les couples (origine, mois) se recouvrent
# largement : ces scores décrivent, ils ne testent pas.

# %%
if outlook is not None:
    print(outlook.selection.rule)
    print("Modèle retenu :", outlook.selection.method, "; MAPE (horizon du rapport) :",
          outlook.selection.mape)
    display(results.backtest_summary().round(3))

# %%
outlook.report_winters() if outlook is not None else None

# %% [markdown]
# ## Série extérieure (paramètre `serie_externe`)
#
# Modèle mensuel, STL, tendance des totaux annuels et, si `serie_prevision`, prévision de l'hiver
# à venir validée contre les prévisions naïves (voir `docs/tendances.md`). Rien quand le
# paramètre est vide.

# %%
if serie_externe:
    external, external_dir, _ = analyse_file(
        Path(serie_externe), settings.report, with_forecast=serie_prevision, label=serie_libelle
    )
    print(series_summary(external))
    print(f"Résultats écrits dans {external_dir}/")
    if external.monthly_model is not None:
        display(charts.dispositif_fits({external.name: external.monthly_model.fitted},
                                       ylabel=f"{serie_libelle} par mois", ncols=1))
    if external.outlook is not None:
        display(charts.winter_forecast(
            external.series.rename(columns={"value": serie_libelle}),
            external.outlook.forecast.months, None, value=serie_libelle, ylabel=serie_libelle,
            observed_label=f"{serie_libelle} (observé)",
        ))

# %%
out_dir = trends_dir(year)
write_trends(results, out_dir)
print(f"Tendances écrites dans {out_dir}/")
