"""A small neighbourhood-relays network with PLANTED truth, for the relays' tests.

Two years (2023, 2024) of service sheets by eight relays and their allowance sheet, built as the
canonical tables ``relay_services`` and ``relay_allowances`` (columns of coord19). What is
planted (and returned in :class:`RelaysTruth`):

* the share of sheets noting each need domain, per year; only ``logement`` changes (0.25 in
  2023 → 0.45 in 2024), every other domain keeps its share;
* volunteer ``over`` is paid the daily ceiling on 41 days of 2024 (41 × 41,48 € = 1 700,68 €,
  above the yearly ceiling of 1 659,29 €);
* volunteer ``near`` is paid 92 % of the 2024 yearly ceiling (at or above 90 %: « proche »);
* volunteer ``spike`` has one day at 45 € in 2024 (daily ceiling 41,48 €), and that day only;
* the five others stay well below both ceilings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.field.relays_settings import RelaysSettings, relays_from_mapping

__all__ = ["RelaysTruth", "planted_relays", "relays_settings"]

NEED_SHARES = {
    2023: {"social": 0.35, "sante": 0.20, "logement": 0.25, "administratif": 0.40, "langue": 0.15},
    2024: {"social": 0.35, "sante": 0.20, "logement": 0.45, "administratif": 0.40, "langue": 0.15},
}
ACTION_SHARES = {"information": 0.6, "accompagnement": 0.3, "orientation": 0.4, "ecoute": 0.5}
ORIENT = ("cpas", "mutuelle", "accueil_jour", "logement_social", "sante")
BARRIERS = ("langue", "numerique", "documents", "horaires")


@dataclass(frozen=True)
class RelaysTruth:
    relays: dict[str, str]  # role ("over", "near", "spike", "r3"…) → relay_id (pseudonym)
    need_shares: dict[int, dict[str, float]]
    services: dict[int, int]
    spike_day: pd.Timestamp
    over_total: float
    near_total: float


def relays_settings() -> RelaysSettings:
    return relays_from_mapping(
        {
            "warning_share": 0.9,
            "ceilings": {
                2023: {
                    "daily": 40.67,
                    "yearly": 1626.77,
                    "source": "source de test (montants 2023)",
                    "url": "https://example.org/2023",
                },
                2024: {
                    "daily": 41.48,
                    "yearly": 1659.29,
                    "source": "source de test (montants 2024)",
                    "url": "https://example.org/2024",
                },
            },
        }
    )


def _pseudonym(name: str) -> str:
    return hashlib.sha256(f"test-key\x1f{name}".encode()).hexdigest()[:32]


def _codes(rng: np.random.Generator, shares: dict[str, float]) -> str:
    return " ".join(sorted(c for c, p in shares.items() if rng.random() < p))


def planted_relays(
    seed: int = 7, per_year: dict[int, int] | None = None
) -> tuple[pd.DataFrame, pd.DataFrame, RelaysTruth]:
    """(relay_services, relay_allowances, truth)."""
    per_year = per_year or {2023: 700, 2024: 800}
    rng = np.random.default_rng(seed)
    roles = ["over", "near", "spike", "r3", "r4", "r5", "r6", "r7"]
    relays = {role: _pseudonym(role) for role in roles}
    rows = []
    for year, n in per_year.items():
        days = pd.date_range(f"{year}-01-01", f"{year}-12-31", freq="D")
        for i in range(n):
            day = days[rng.integers(len(days))]
            orient = [c for c in ORIENT if rng.random() < 0.2]
            rows.append(
                {
                    "partner_id": "relais_quartier",
                    "submission_id": f"uuid-{year}-{i}",
                    "form_version": "v1" if year == 2023 else "v2",
                    "year": year,
                    "source_file": f"relais_prestation_{year}.xlsx",
                    "source_row": i + 2,
                    "date": day,
                    "hour": pd.NA if rng.random() < 0.05 else int(rng.integers(9, 20)),
                    "relay_id": relays[roles[rng.integers(len(roles))]],
                    "point": "mobile" if rng.random() < 0.3 else "fixe",
                    "people_helped": int(rng.integers(1, 4)),
                    "needs": _codes(rng, NEED_SHARES[year]),
                    "actions": _codes(rng, ACTION_SHARES),
                    "oriented_to": " ".join(sorted(orient)),
                    "barriers": _codes(rng, dict.fromkeys(BARRIERS, 0.15)),
                    "note": "",
                }
            )
    services = pd.DataFrame(rows)
    services["hour"] = services["hour"].astype("Int64")
    services["people_helped"] = services["people_helped"].astype("Int64")
    allowance_rows = []

    def add(role: str, day: pd.Timestamp, hours: float, eur: float) -> None:
        allowance_rows.append(
            {
                "partner_id": "relais_quartier",
                "submission_id": f"row-{len(allowance_rows)}",
                "form_version": "",
                "year": day.year,
                "source_file": f"defraiements_{day.year}.xlsx",
                "source_row": len(allowance_rows) + 2,
                "date": day,
                "relay_id": relays[role],
                "hours": hours,
                "allowance_eur": eur,
            }
        )

    for year in (2023, 2024):
        mondays = pd.date_range(f"{year}-01-02", f"{year}-12-31", freq="W-MON")
        for role in roles[3:]:
            for day in mondays[::2]:  # 26 days at 20 € : 520 €, about a third of the ceiling
                add(role, day, 3.0, 20.0)
    days24 = pd.date_range("2024-01-03", "2024-12-31", freq="W-WED")
    for day in days24[:41]:
        add("over", day, 4.0, 41.48)
    near_total = round(0.92 * 1659.29, 2)
    per_day = round(near_total / 40, 2)
    for day in days24[:40]:
        add("near", day, 3.5, per_day)
    spike_day = pd.Timestamp("2024-06-14")
    for day in days24[:10]:
        add("spike", day, 3.0, 30.0)
    add("spike", spike_day, 6.0, 45.0)
    for day in pd.date_range("2023-01-04", "2023-12-31", freq="W-WED")[:20]:
        add("over", day, 3.0, 30.0)
    allowances = pd.DataFrame(allowance_rows)
    truth = RelaysTruth(
        relays=relays,
        need_shares=NEED_SHARES,
        services=dict(per_year),
        spike_day=spike_day,
        over_total=round(41 * 41.48, 2),
        near_total=round(per_day * 40, 2),
    )
    return services, allowances, truth
