"""Realism targets of the synthetic network, gathered in one place so a reviewer can check them.

All volumes are for ``scale = 1.0`` and the first exported year; they grow with
``annual_growth`` and are multiplied by ``scale``. Sources: the domain brief (a mid-size Walloon
city: 1,500–3,000 distinct persons a year, about three quarters men, a 40-bed shelter full in
winter) and the shelter-use literature (Kuhn & Culhane 1998: ~80 % transitional, ~10 % episodic,
~10 % chronic users, the chronic tenth using about half of all shelter nights).
"""

from __future__ import annotations

__all__ = [
    "ARCHETYPE_LABELS",
    "ARCHETYPE_SHARES_ADULT",
    "ARCHETYPE_SHARES_YOUTH",
    "BURN_IN_YEARS",
    "CHRONIC_PRESENCE_MEDIAN_DAYS",
    "CONTACT_SHARES",
    "CONTACT_VOLUMES",
    "ENTRY_SERVICE_WEIGHTS",
    "EPISODIC_EPISODE_MEDIAN_DAYS",
    "EPISODIC_GAP_MEDIAN_DAYS",
    "EU_COUNTRIES",
    "FEMALE_SHARE_ADULT",
    "FEMALE_SHARE_CHRONIC",
    "FEMALE_SHARE_YOUTH",
    "HF_BACK_TO_STREET_REASONS",
    "HF_CHRONIC_SHARE",
    "HF_EXIT_REASONS",
    "HF_HOUSED_AT_12_MONTHS",
    "HF_NEW_TENANCIES",
    "MA_EXIT_REASONS",
    "MA_HOUSED_REASONS",
    "MA_STAY_MEDIAN_DAYS",
    "MINOR_SHARE",
    "NATIONALITY_GROUPS",
    "NEWCOMERS_FIRST_YEAR",
    "NON_EU_COUNTRIES",
    "OPEN_WEEKDAYS",
    "OTHER_SEX_SHARE",
    "PARTICIPATION",
    "SEASONAL_AMPLITUDE",
    "SHELTER_BEDS",
    "SHELTER_DEMAND_SHARES",
    "SHELTER_DEMAND_SUMMER",
    "SHELTER_DEMAND_WINTER_EXTRA",
    "SHELTER_FEE_EXEMPT_SHARE",
    "SHELTER_FEE_PER_NIGHT",
    "SHELTER_STAY_ON",
    "SHELTER_WINTER_EXTRA_BEDS",
    "TRANSITIONAL_EPISODE_MEDIAN_DAYS",
    "YOUTH_SHELTER_FACTOR",
]

# Archetypes of homelessness trajectories (index order is used in arrays throughout).
TRANSITIONAL, EPISODIC, CHRONIC = 0, 1, 2
ARCHETYPE_LABELS = ("transitionnel", "épisodique", "chronique")

# Years simulated before the first exported year, so that the first year already holds the
# stock of chronic and episodic persons known to the network (no artificial "year zero").
BURN_IN_YEARS = 6

# Newcomers to the network in the first exported year at scale 1.0. Together with the stock of
# chronic and episodic persons this gives ≈ 2,000 distinct persons in the first year.
NEWCOMERS_FIRST_YEAR = 1_480

# Archetype of newcomers. Chronic persons stay for years, so they weigh more in any one year than
# among newcomers; these shares give ≈ 80 / 10 / 10 over everyone seen in the exported years.
ARCHETYPE_SHARES_ADULT = (0.825, 0.09, 0.085)
# Young people are less often long-term homeless (King Baudouin Foundation: 12.8 % of 18–25
# homeless for over two years vs 32.7 % of those aged 26+).
ARCHETYPE_SHARES_YOUTH = (0.88, 0.09, 0.03)

# Share of newcomers aged 16–17, met only by street workers (kept well under 1 %).
MINOR_SHARE = 0.005

# Sex: about three quarters men; more women among the young (KBF: 38.9 % vs 29.4 %).
FEMALE_SHARE_YOUTH = 0.36
FEMALE_SHARE_ADULT = 0.24
FEMALE_SHARE_CHRONIC = 0.15
OTHER_SEX_SHARE = 0.004

# Nationality groups and the countries behind them (labels differ between partners).
NATIONALITY_GROUPS = {"BE": 0.60, "UE": 0.15, "HORS_UE": 0.20, "INCONNU": 0.05}
EU_COUNTRIES = {
    "FR": 0.24, "RO": 0.20, "IT": 0.12, "PL": 0.10, "NL": 0.08,
    "PT": 0.08, "ES": 0.07, "BG": 0.05, "DE": 0.06,
}  # fmt: skip
NON_EU_COUNTRIES = {
    "MA": 0.27, "DZ": 0.13, "TN": 0.06, "CD": 0.12, "GN": 0.08,
    "SY": 0.07, "AF": 0.08, "ER": 0.06, "TR": 0.06, "UA": 0.07,
}  # fmt: skip

# Episode lengths (days). Transitional: one short episode; episodic: 2–6 episodes of weeks to
# months separated by months; chronic: continuous presence for years.
TRANSITIONAL_EPISODE_MEDIAN_DAYS = 14
EPISODIC_EPISODE_MEDIAN_DAYS = 40
EPISODIC_GAP_MEDIAN_DAYS = 200
CHRONIC_PRESENCE_MEDIAN_DAYS = 3 * 365

# Probability that a person uses each service during their trajectory, per archetype
# (transitional, episodic, chronic). Most people use 1–2 services; chronic persons use most.
PARTICIPATION = {
    "abri_nuit": (0.33, 0.55, 0.72),
    "accueil_jour": (0.45, 0.70, 0.90),
    "travail_rue": (0.22, 0.45, 0.70),
    "urgence_sociale": (0.40, 0.50, 0.60),
    "maison_accueil": (0.025, 0.18, 0.15),
}
# The 18–24 group was once the largest age group in Walloon emergency shelters (IWEPS).
YOUTH_SHELTER_FACTOR = 1.3

# Annual volumes at scale 1.0 in the first year, and the share of each archetype in them.
CONTACT_VOLUMES = {
    "accueil_jour": 21_000,  # visit intensity (15–25k a year once same-day repeats merge)
    "travail_rue": 5_200,  # contacts (4–8k)
    "urgence_sociale": 2_000,  # interventions (2–4k), plus the entry contacts of new episodes
    "maison_accueil": 230,  # stay requests (100–250 stays once overlaps are removed)
}
CONTACT_SHARES = {
    "accueil_jour": (0.25, 0.19, 0.56),
    "travail_rue": (0.25, 0.17, 0.58),
    "urgence_sociale": (0.45, 0.20, 0.35),
    "maison_accueil": (0.25, 0.35, 0.40),
}
# Amplitude of the winter peak (1 + a·cos, maximum mid-January) and opening days (Mon = 0).
SEASONAL_AMPLITUDE = {
    "accueil_jour": 0.18,
    "travail_rue": 0.20,
    "urgence_sociale": 0.25,
    "maison_accueil": 0.0,
}
OPEN_WEEKDAYS = {
    "accueil_jour": (0, 1, 2, 3, 4, 5),  # closed on Sundays
    "travail_rue": (0, 1, 2, 3, 4),  # street rounds on weekdays
    "urgence_sociale": (0, 1, 2, 3, 4, 5, 6),
    "maison_accueil": (0, 1, 2, 3, 4, 5, 6),
}
# Which service a new episode starts at (day centre, social emergency, street work).
ENTRY_SERVICE_WEIGHTS = {"accueil_jour": 0.45, "urgence_sociale": 0.35, "travail_rue": 0.20}

# Beds of the night shelter, as declared in params/partners/abri_nuit.yaml (a test checks that
# they agree): 40 beds all year, 15 more during the winter plan (1 November – 31 March).
SHELTER_BEDS = 40
SHELTER_WINTER_EXTRA_BEDS = 15

# Night shelter: beds wanted per night at scale 1.0 in the first year: a summer level plus a cold
# bump (0 from May to September, 1 in mid-January). Summer ≈ 0.65 × 40 beds (not full); from
# December to February demand is well above the 55 winter beds (full, with refusals).
SHELTER_DEMAND_SUMMER = 26.0
SHELTER_DEMAND_WINTER_EXTRA = 50.0
SHELTER_DEMAND_SHARES = (0.27, 0.18, 0.55)  # the chronic tenth wants about half of the nights
# Probability of staying one more night once in (mean stay = 1 / (1 − q) nights).
SHELTER_STAY_ON = (0.55, 0.60, 0.70)
SHELTER_FEE_PER_NIGHT = 2.5  # € per night; some persons are exempted (CPAS)
SHELTER_FEE_EXEMPT_SHARE = 0.3

# Maison d'accueil: stays of weeks to months.
MA_STAY_MEDIAN_DAYS = 55
MA_EXIT_REASONS = {
    "départ volontaire": 0.16,
    "parti sans prévenir": 0.08,
    "fin de séjour": 0.06,
    "exclusion (règlement)": 0.07,
    "exclusion (violence)": 0.05,
    "relogement": 0.14,
    "logement social": 0.08,
    "logement privé": 0.07,
    "retour en famille": 0.04,
    "orientation": 0.07,
    "hospitalisation": 0.05,
    "institution de soins": 0.02,
    "inconnu": 0.11,
}
MA_HOUSED_REASONS = frozenset(
    {"relogement", "logement social", "logement privé", "retour en famille"}
)

# Housing First: new tenancies a year (20–40), mostly chronic persons, ~82 % still housed at
# 12 months (constant hazard); exits to the street start a new episode.
HF_NEW_TENANCIES = 26
HF_CHRONIC_SHARE = 0.85
HF_HOUSED_AT_12_MONTHS = 0.82
HF_EXIT_REASONS = {
    "fin de bail (expulsion)": 0.20,
    "départ volontaire": 0.15,
    "logement autonome": 0.15,
    "logement social": 0.10,
    "décès": 0.10,
    "institution de soins": 0.10,
    "prison": 0.10,
    "inconnu": 0.10,
}
HF_BACK_TO_STREET_REASONS = frozenset(
    {"fin de bail (expulsion)", "départ volontaire", "prison", "inconnu"}
)
