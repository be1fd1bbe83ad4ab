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
# # Diagnostic communautaire de quartier : observations du travail de rue
#
# Pour le comité d'accompagnement. Pour l'année du rapport Y et l'année précédente, à partir
# des fiches « observation de rue » (tables `street_observations` et `street_groups` de
# `data_clean/field/`) :
#
# 1. **présence** par zone, jour de semaine et tranche horaire : observations, heures,
#    personnes rencontrées (des *rencontres* : aucune identité n'est notée, la même personne
#    vue dix soirs compte dix fois) ;
# 2. **publics** rencontrés (tranches d'âge, jeunes de 15 à 25 ans, sexe, taille des groupes) ;
# 3. **problèmes, ressources et climat** : part des observations où chaque code est noté, et
#    son évolution Y−1 → Y avec un test par code corrigé pour la multiplicité (Holm) ;
# 4. **projets collectifs** avec les jeunes et **orientations** vers les partenaires ;
# 5. **présence des jeunes** : rapport des taux de jeunes rencontrés par passage (ou par heure
#    de présence, selon `exposition`), Y / Y−1, par zone (modèle de comptage ajusté sur
#    l'horaire, comparé au rapport naïf ; l'exposition choisie est vérifiée sur les données).
#
# Les calculs sont dans `observatoire.field.street` ; ce carnet les appelle et les montre.
# Les comptes affichés ici ne passent pas par le secret statistique (carnet interne) : les
# rapports n'impriment que les cases publiées par l'étape `publication`.

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
from observatoire.core.schema import typed_field_table
from observatoire.field.street import (
    compute_diagnosis,
    orientation_codes,
    write_diagnosis,
    write_not_computed,
)
from observatoire.field.street_settings import load_diagnostic
from observatoire.intake.mapping import load_partners

settings = load_settings(Path(params_file))
diagnostic = load_diagnostic(PATHS.terrain_params)
observations_file = PATHS.field_clean / "street_observations.parquet"
groups_file = PATHS.field_clean / "street_groups.parquet"
present = observations_file.exists() and groups_file.exists()
observations = (
    typed_field_table(pd.read_parquet(observations_file), "street_observations")
    if present
    else None
)
groups = typed_field_table(pd.read_parquet(groups_file), "street_groups") if present else None
partners = load_partners(settings.inputs.partners_dir, settings.inputs.codes_dir)
print(diagnostic)

# %%
if observations is None or observations.empty:
    reason = (
        f"Aucune observation de rue ({observations_file} absent ou vide) : diagnostic "
        f"communautaire {year} non calculé."
    )
    print(reason)
    write_not_computed(PATHS.street_diagnosis(year), year, reason)
    results = None
else:
    codes = orientation_codes(observations, partners)
    results = compute_diagnosis(observations, groups, diagnostic, year, codes)
    for note in results.notes:
        print(note)

# %% [markdown]
# ## Présence par zone et par année

# %%
if results is not None:
    display(results.presence)

# %% [markdown]
# ## Problèmes, ressources et climat : évolution et tests (correction de Holm)

# %%
if results is not None:
    cols = ["zone", "family", "code", "share_prev", "share_cur", "diff", "diff_lo", "diff_hi",
            "p", "p_adjusted", "verdict"]  # fmt: skip
    display(results.changes[cols])

# %% [markdown]
# ## Présence des jeunes : modèle de comptage et rapport naïf

# %%
if results is not None:
    model = results.model
    print(json.dumps({k: v for k, v in model.items() if k != "zones"}, ensure_ascii=False))
    if model.get("computed"):
        lo, hi = model["duration_elasticity_ci95"]
        print(
            f"Exposition choisie : {model['exposure']} ; coefficient de log(durée) laissé libre : "
            f"{model['duration_elasticity']:.2f} (IC 95 % {lo:.2f} à {hi:.2f}) ; plus proche de : "
            f"{model['exposure_preferred']}"
        )
    display(pd.DataFrame(model["zones"]).T)

# %%
if results is not None:
    written = write_diagnosis(results, PATHS.street_diagnosis(year))
    print(f"{len(written)} fichiers écrits dans {PATHS.street_diagnosis(year)}/")
