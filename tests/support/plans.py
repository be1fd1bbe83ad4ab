"""Synthetic daily series with a known temperature effect, for the plans' tests and bench."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["planted_winters"]


def planted_winters(
    seed: int,
    per_degree: float = 0.05,
    threshold: float = 0.0,
    winters: tuple[int, ...] = (2021, 2022, 2023, 2024),
    base: float = 60.0,
    alpha: float = 0.02,
    rho: float = 0.5,
    heat: bool = False,
) -> pd.DataFrame:
    """Daily demand over plan windows (15 Nov → 31 Mar, or 1 Jun → 31 Aug when ``heat``) with
    a planted log rate ratio ``per_degree`` per °C beyond ``threshold``.

    The temperature is seasonal (coldest in mid-January, hottest in late July) with AR(1)
    weather spells; demand also has its own seasonal bump in mid-winter (a confounder: a naive
    comparison of cold and mild nights mixes the season with the cold), a weekday pattern, a
    yearly growth, NB2 noise (``alpha``) and an AR(1) latent day effect (``rho``) so that days
    are not independent."""
    rng = np.random.default_rng(seed)
    frames = []
    for y in winters:
        if heat:
            days = pd.date_range(f"{y}-06-01", f"{y}-08-31", freq="D")
            phase = (days - pd.Timestamp(f"{y}-07-25")).days.to_numpy()
            normal = 24.0 - 6.0 * (phase / 60.0) ** 2
        else:
            days = pd.date_range(f"{y - 1}-11-15", f"{y}-03-31", freq="D")
            phase = (days - pd.Timestamp(f"{y}-01-15")).days.to_numpy()
            normal = 2.5 + 5.0 * (phase / 75.0) ** 2
        n = len(days)
        spell = np.zeros(n)
        for i in range(1, n):
            spell[i] = 0.8 * spell[i - 1] + rng.normal(0, 2.2)
        temp = normal + spell
        latent = np.zeros(n)
        for i in range(1, n):
            latent[i] = rho * latent[i - 1] + rng.normal(0, 0.05)
        season = 0.10 * np.exp(-((phase / 45.0) ** 2))
        weekday = np.where(days.dayofweek >= 5, 0.06, 0.0)
        trend = 0.05 * (y - winters[0])
        hinge = np.clip(temp - threshold, 0, None) if heat else np.clip(threshold - temp, 0, None)
        mu = base * np.exp(season + weekday + trend + latent + per_degree * hinge)
        lam = rng.gamma(1 / alpha, alpha * mu) if alpha > 0 else mu
        demand = rng.poisson(lam)
        col = "tmax" if heat else "tmin"
        frames.append(pd.DataFrame({"date": days, col: temp.round(1), "demand": demand}))
    return pd.concat(frames, ignore_index=True)
