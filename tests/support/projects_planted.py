"""Planted truth for the project measures (participation, affiliation, Housing First outcomes):
small seeded simulations whose answer is known, shared by ``tests/unit/projects`` and
``bench/projects_methods.py``. The frames have exactly the canonical tables' columns the
measures read (``core/schema.py`` project tables, ``contacts.parquet``)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from observatoire.projects.affiliation import DOMAINS

__all__ = [
    "COUNCIL_START",
    "FOLLOWUP_COLUMNS",
    "PROJECT_START",
    "RATE",
    "SEASON",
    "affiliation_log",
    "contacts_frame",
    "council_attendance",
    "followups_frame",
    "null_tenants",
    "project_tables",
]

COUNCIL_START = "2024-03"
PROJECT_START = pd.Timestamp("2023-01-15")
FOLLOWUP_COLUMNS = ["date", "participant_id", "domain", "place", "goal_set", "goal_reached"]


def project_tables(sessions: list[tuple[str, str, str]], presences: list[tuple[str, str, str]]):
    """sessions: (activity_id, date, activity); presences: (activity_id, participant, role)."""
    act = pd.DataFrame(sessions, columns=["activity_id", "date", "activity"])
    act["date"] = pd.to_datetime(act["date"])
    act["partner_id"] = "affiliation_hf"
    by_id = act.set_index("activity_id")
    att = pd.DataFrame(presences, columns=["activity_id", "participant_id", "role"])
    att["date"] = att["activity_id"].map(by_id["date"])
    att["activity"] = att["activity_id"].map(by_id["activity"])
    att["partner_id"] = "affiliation_hf"
    return att, act


def followups_frame(rows):
    """rows: (date, participant_id, domain, place, goal_set, goal_reached)."""
    f = pd.DataFrame(rows, columns=FOLLOWUP_COLUMNS)
    f["date"] = pd.to_datetime(f["date"])
    f["partner_id"] = "affiliation_hf"
    f["team"] = "hf_nord"
    return f


def contacts_frame(rows):
    """rows: (person_id, partner_id, date_start, date_end, exit_reason)."""
    c = pd.DataFrame(
        rows, columns=["person_id", "partner_id", "date_start", "date_end", "exit_reason"]
    )
    c["date_start"] = pd.to_datetime(c["date_start"])
    c["date_end"] = pd.to_datetime(c["date_end"])
    return c


SEASON = (0.9, 0.9, 1.0, 1.0, 1.1, 1.15, 1.2, 1.05, 1.05, 1.0, 0.9, 0.85)  # the sample's
RATE = 8.0  # distinct participants per session before the council (season 1)


def council_attendance(ratio: float, seed: int, trend_per_month: float = 0.0):
    """24 months of sessions; distinct non-council participants per month ~ Poisson(sessions ×
    RATE × season × exp(trend·t) × ratio^after), council monthly from 2024-03 with six tenants."""
    rng = np.random.default_rng(seed)
    pool = [f"T{i:04d}" for i in range(1500)]
    months = pd.period_range("2023-01", "2024-12", freq="M")
    sessions, presences = [], []
    for t, m in enumerate(months):
        after = m >= pd.Period("2024-03", freq="M")
        n_s = int(rng.integers(8, 15))
        ids = [f"{m}|sport|{k}" for k in range(n_s)]
        for k, sid in enumerate(ids):
            sessions.append((sid, str(m.start_time.date() + pd.Timedelta(days=k * 2)), "sport"))
        lam = n_s * RATE * SEASON[m.month - 1] * math.exp(trend_per_month * t)
        lam *= ratio if after else 1.0
        y = min(int(rng.poisson(lam)), len(pool))
        for person in rng.choice(pool, size=y, replace=False):
            for sid in rng.choice(ids, size=int(rng.integers(1, 4)), replace=True):
                presences.append((sid, person, "locataire"))
        if after:
            cid = f"{m}|conseil|0"
            sessions.append((cid, str(m.start_time.date() + pd.Timedelta(days=27)), "conseil"))
            for person in rng.choice(pool[:10], size=6, replace=False):
                presences.append((cid, person, "locataire"))
    return project_tables(sessions, presences)


def affiliation_log(change: int, seed: int, n: int = 60):
    """Each tenant has k0 ∈ {0,1,2} domains at entry and k0 + change (± 1 noise, symmetric, for
    half of them) at 12 months; entries reached 20 days before each time, plus noise the
    definition must ignore (goals not reached, reached 100 days before)."""
    rng = np.random.default_rng(seed)
    rows, truth = [], {}
    for i in range(n):
        pid = f"T{i:02d}"
        start = pd.Timestamp(f"2023-{int(rng.integers(1, 4)):02d}-01")
        k0 = int(rng.integers(0, 3))
        # symmetric noise (none when it could push the score below 0): the change is planted
        noise = int(rng.choice([-1, 0, 0, 1])) if k0 + change >= 1 else 0
        k12 = min(k0 + change + noise, len(DOMAINS))
        k6 = (k0 + k12) // 2
        truth[pid] = (k0, k6, k12)
        rows.append((start, pid, "", "", False, False))
        for months, k in ((0, k0), (6, k6), (12, k12)):
            when = start + pd.offsets.MonthEnd(0) + pd.DateOffset(months=months)
            when = when + pd.offsets.MonthEnd(0)
            doms = rng.choice(DOMAINS, size=k, replace=False)
            for d in doms:
                rows.append((when - pd.Timedelta(days=20), pid, d, "", True, True))
            rows.append((when - pd.Timedelta(days=5), pid, "culture", "", True, False))
            if months:
                rows.append((when - pd.Timedelta(days=100), pid, "sport", "", True, True))
    return followups_frame(rows), truth


def null_tenants(seed: int, n: int = 400):
    """Exits at a constant hazard (0.5 a year) whatever the tenant does; half the tenants housed
    at the project's start would join after 0–330 days — if still housed then. Returns to the
    night shelter at a constant rate. No effect of participation on anything."""
    rng = np.random.default_rng(seed)
    rows, link, parts = [], [], []
    for i in range(n):
        pid = f"H{i:03d}"
        entry = pd.Timestamp("2021-01-01") + pd.Timedelta(days=int(rng.integers(0, 720)))
        exit_ = entry + pd.Timedelta(days=int(rng.exponential(365 / 0.5)))
        end = exit_ if exit_ <= pd.Timestamp("2024-12-31") else None
        rows.append((pid, "housing_first", entry, end, "exclusion" if end is not None else None))
        t = PROJECT_START - pd.Timedelta(days=400)
        while True:
            t += pd.Timedelta(days=int(rng.exponential(365 / 0.4)) + 1)
            if t > pd.Timestamp("2024-12-31"):
                break
            rows.append((pid, "abri_nuit", t, None, None))
        join = PROJECT_START + pd.Timedelta(days=int(rng.integers(0, 330)))
        if rng.random() < 0.5 and entry <= join and (end is None or end >= join):
            link.append((f"q{i}", pid, "cle_partenaire"))
            parts.append((f"q{i}", join))
    rows.append(("Z", "accueil_jour", pd.Timestamp("2024-12-31"), None, None))
    return (
        contacts_frame(rows),
        pd.DataFrame(link, columns=["participant_id", "person_id", "how"]),
        pd.DataFrame(parts, columns=["participant_id", "date"]),
    )
