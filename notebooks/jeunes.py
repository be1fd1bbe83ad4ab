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
# # Jeunes en errance : profils, trajectoires, services activés et services quittés
#
# Carnet d'analyse de l'étude « jeunes en errance », pour le comité d'accompagnement. Il suit,
# à partir des contacts reliés entre partenaires (`data_clean/contacts.parquet`), une **cohorte
# d'entrée** : les personnes dont le premier contact avec le réseau tombe dans la fenêtre
# d'entrée (paramètres `youth` de `params/pipeline.yaml`), âgées de 18 à 25 ans (les jeunes)
# ou de 26 ans et plus (les adultes, groupe de comparaison), chacune suivie pendant le même
# nombre de mois.
#
# Étapes : (1) cohorte ; (2) profil jeunes / adultes avec écarts et IC 95 % ; (3) séquences
# personne-mois, chronogrammes, tapis de séquences, matrices de transition ; (4) typologie des
# trajectoires des jeunes (appariement optimal, classification hiérarchique, silhouette des
# séquences distinctes, stabilité par bootstrap, modèles nuls, sensibilité aux distances) ;
# (5) services activés et quittés, issue principale (quitter l'abri de nuit en une ou deux
# nuits), destinations en risques concurrents (Aalen–Johansen), temps moyen restreint (RMST),
# comparaisons ajustées ; (6) flux annuels ; (7) correction de Holm sur tous les tests.
#
# Durée : le bootstrap de la typologie (`youth.typology.bootstrap`, 100 tirages), les modèles
# nuls (2 × 20 tirages) et le bootstrap des incidences cumulées (200 tirages) prennent ensemble
# une quinzaine de secondes sur l'échantillon par défaut. Toutes les fonctions sont dans `observatoire.youth` ; ce carnet les appelle
# et montre leurs résultats **non masqués** (il n'est pas publié : le rapport applique le secret
# statistique).

# %% tags=["parameters"]
params_file = "params/pipeline.yaml"
year = 2024
disclosure_threshold = 5

# %%
from pathlib import Path

import pandas as pd

from observatoire.config.paths import PATHS
from observatoire.config.settings import load_settings
from observatoire.core.coverage import read_coverage
from observatoire.core.storage import read_parquet
from observatoire.reports.charts import apply_house_style, save_figure
from observatoire.reports.youth import charts as ych
from observatoire.youth.cohort import GROUP_LABELS, StudyParams
from observatoire.youth.outputs import write_results
from observatoire.youth.sequences import STATE_LABELS
from observatoire.youth.study import run_study
from observatoire.youth.typology import silhouette_quality

apply_house_style()
settings = load_settings(Path(params_file))
# the year and the threshold are papermill's parameters (the file's, when run by the pipeline)
study = StudyParams.from_section(settings.youth, year, disclosure_threshold)
contacts = read_parquet("data_clean/contacts.parquet")
out_dir = Path("outputs/youth") / str(year)
fig_dir = out_dir / "figures"
print(
    f"Fenêtre d'entrée : {study.window_start:%d/%m/%Y} – {study.window_end:%d/%m/%Y} ; "
    f"suivi de {study.follow_up_months} mois, jusqu'au {study.data_end:%d/%m/%Y}."
)

# %% [markdown]
# ## 1. La cohorte

# %%
# The months each partner's exports cover (ingest stage): look-backs only where covered.
results = run_study(contacts, study, read_coverage(PATHS.coverage, contacts))
cohort = results.cohort
pd.crosstab(cohort["band"], cohort["street_only"], margins=True).rename(
    columns={False: "nominatifs", True: "travail de rue seulement"}
)

# %% [markdown]
# Les personnes vues seulement par le travail de rue n'ont que des initiales et un **âge
# estimé** : elles entrent dans la cohorte par cet âge et sont signalées (`street_only`). Une
# personne vue en rue puis ailleurs compte pour deux (la liaison ne relie jamais le travail de
# rue aux dossiers nominatifs, voir `docs/liaison.md`).

# %% [markdown]
# ## 2. Profil : jeunes et adultes

# %%
results.profile[
    ["indicator", "p1", "p2", "diff", "lower", "upper", "pvalue", "test", "unstable"]
].round(3)

# %% [markdown]
# ## 3. Trajectoires mois par mois
# États (par priorité quand plusieurs s'appliquent dans le mois) :

# %%
pd.Series(STATE_LABELS)

# %%
fig = ych.chronogram(
    {GROUP_LABELS[g]: d for g, d in results.distributions.items()},
    title="Répartition des états, mois après mois",
    min_size=study.min_type_size,
)
save_figure(fig, fig_dir / "chronogrammes.png")

# %%
groups = cohort["group"].reindex(results.sequences.person_ids).to_numpy()
fig = ych.index_plot(
    {GROUP_LABELS[g]: results.sequences.codes[groups == g] for g in GROUP_LABELS},
    title="Tapis de séquences (une ligne par personne)",
    min_size=study.min_type_size,
)
save_figure(fig, fig_dir / "tapis.png")

# %%
fig = ych.transition_heatmaps(
    {GROUP_LABELS[g]: t[1] for g, t in results.transitions.items()},
    title="Probabilités de transition d'un mois au suivant",
)
save_figure(fig, fig_dir / "transitions.png")

# %% [markdown]
# ## 4. Typologie des trajectoires des jeunes

# %%
typ = results.typology
if typ is not None:
    print(
        f"{typ.k} types (méthode {typ.method}) ; largeur moyenne de silhouette "
        f"{typ.silhouette_by_k[typ.k]:.3f} : {silhouette_quality(typ.silhouette_by_k[typ.k])}."
    )
    fig = ych.silhouette_profile(typ.silhouette_by_k, typ.k, title="Choix du nombre de types")
    save_figure(fig, fig_dir / "silhouette.png")
    fig = ych.typology_chronograms(
        results.type_distributions,
        title="Les types de trajectoires",
        min_size=study.min_type_size,
    )
    save_figure(fig, fig_dir / "types.png")
else:
    print(results.not_computable["typologie"])
results.types[["type", "persons", "jaccard", "stable", "silhouette", "name"]]

# %% [markdown]
# ### La typologie résiste-t-elle ?
# Silhouette des séquences **distinctes** (chaque séquence une fois : des centaines de jeunes
# ont la même séquence « un mois puis rien », ce qui gonfle la silhouette calculée sur les
# personnes), stabilité de chaque type (Jaccard moyen sur les rééchantillonnages ; un type
# sous le seuil est regroupé avec les autres trajectoires sans type stable), et deux modèles
# nuls : mois mélangés dans chaque séquence, états mélangés entre personnes chaque mois.

# %%
checks = results.typology_checks
if checks:
    print(
        f"Silhouette : {checks['asw_persons']:.3f} sur les personnes, "
        f"{checks['asw_distinct']:.3f} sur les {checks['distinct_sequences']} séquences "
        "distinctes."
    )
    if "null_subsample" in checks:  # a large cohort: checks on subsamples (docs/jeunes.md)
        sub = checks["null_subsample"]
        print(
            f"Grand effectif : bootstrap « m parmi n » et modèles nuls sur {sub['persons']} "
            f"jeunes tirés au hasard ; silhouette de leurs vraies séquences distinctes "
            f"{sub['asw_distinct']:.3f} (la valeur comparée aux modèles nuls)."
        )
    for model in ("persons", "months"):
        n = checks[f"null_{model}"]
        print(
            f"Modèle nul ({model}) : silhouette moyenne {n['mean']:.3f}, 95e centile "
            f"{n['p95']:.3f}, p = {n['p']:.3f} ({n['draws']} tirages)."
        )
    print("Jaccard moyen par type (partition retenue) :", checks["jaccard"])
results.sensitivity

# %% [markdown]
# ## 5. Services activés, services quittés

# %%
results.activated[["indicator", "p1", "p2", "diff", "lower", "upper", "pvalue"]].round(3)

# %%
results.fled[["indicator", "n_youth", "p1", "n_adults", "p2", "diff", "lower", "upper"]].round(3)

# %%
results.exits[["indicator", "n_youth", "p1", "n_adults", "p2", "diff", "pvalue"]].round(3)

# %%
results.paths["jeunes"].head(12)

# %%
# %% [markdown]
# ### Issue principale : quitter l'abri de nuit après une ou deux nuits
# Parmi les personnes de la cohorte passées par l'abri de nuit pendant leur suivi (la base du
# tableau des services quittés), la première période à l'abri se termine dans les 3 jours
# (une ou deux nuits) ; le suivi de la sortie (90 jours) dit où la personne est allée.

# %%
shelter = results.survival["abri_nuit"]
primary = shelter.get("primary")
if primary is None:  # nobody of the cohort at the shelter: the reason is in not_computable
    print(results.not_computable.get("abri_nuit", "Issue principale non calculée."))
else:
    print(
        f"Issue principale : {primary['p1']:.1%} des jeunes ({primary['x_youth']}/"
        f"{primary['n_youth']}) contre {primary['p2']:.1%} des adultes ({primary['x_adults']}/"
        f"{primary['n_adults']}) ; écart {primary['diff']:+.3f} [{primary['lower']:+.3f} ; "
        f"{primary['upper']:+.3f}], p Holm {primary['p_holm']:.2g}."
    )
pd.DataFrame(primary["adjusted"]) if primary is not None else None

# %%
comp = shelter.get("competing")
pd.DataFrame(
    [
        {
            "groupe": GROUP_LABELS[g],
            "destination": comp["destinations"][c],
            **{
                f"F({t} j)": f"{v['estimate']:.3f} [{v['lower']:.3f} ; {v['upper']:.3f}]"
                for t, v in d["incidence"][c].items()
            },
            "sorties observées": d["exits"][c],
        }
        for g, d in comp["groups"].items()
        for c in comp["destinations"]
    ]
) if comp is not None else None

# %%
for key, title in (
    ("reseau", "Décrochage du réseau"),
    ("abri_nuit", "Décrochage de l'abri de nuit"),
):
    s = results.survival[key]
    if not s["curves"]:
        continue
    r = s["rmst"]
    note = (
        f"RMST à {r['tau']:.0f} j : {r['rmst_1']:.1f} contre {r['rmst_2']:.1f} jours "
        f"(écart {r['diff']:+.1f} ; IC 95 % {r['lower']:+.1f} à {r['upper']:+.1f})"
    )
    print(title, "—", note, "— médianes (jours) :", s["medians"])
    print("  log-rank (annexe) : χ² =", round(s["logrank_chi2"], 1))
    print("  ajusté (sexe, premier service) :", pd.DataFrame(s["rmst_adjusted"]).round(3))
    fig = ych.survival_curves(
        {GROUP_LABELS[g]: c for g, c in s["curves"].items()},
        title=title,
        annotation=note.replace(".", ","),
        max_days=study.follow_up_months * 31,
    )
    save_figure(fig, fig_dir / f"survie_{key}.png")

# %% [markdown]
# ### Tous les tests jeunes − adultes, corrigés par la méthode de Holm

# %%
print(f"{results.tests['p'].notna().sum()} tests ; significatifs après correction :")
results.tests[results.tests["p_holm"] < 0.05][["table", "test", "p", "p_holm"]]

# %% [markdown]
# ## 6. Flux annuels de jeunes

# %%
print(results.youth_share_trend)
fig = ych.flows_bars(
    results.flows[results.flows["new"].notna()],
    title="Jeunes de 18 à 25 ans par année et par statut",
)
save_figure(fig, fig_dir / "flux.png")
results.flows

# %% [markdown]
# ## 7. Écarts jeunes − adultes

# %%
fig = ych.comparison_forest(
    results.profile.rename(columns={"indicator": "label"}).assign(
        reference_diff=lambda t: (
            t["ref_youth"] - t["ref_adults"] if "ref_youth" in t else float("nan")
        )
    ),
    title="Écarts de profil entre jeunes et adultes (IC 95 %)",
)
save_figure(fig, fig_dir / "ecarts.png")

# %% [markdown]
# ## Écriture des résultats
# Tableaux et résultats pour le rapport dans `outputs/youth/<année>/` ; types de trajectoire par
# personne (pseudonyme) dans `data_clean/jeunes_types.parquet`.

# %%
written = write_results(results, out_dir, Path("data_clean/jeunes_types.parquet"))
sorted(p.name for p in written)
