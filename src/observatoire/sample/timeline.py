"""The simulated calendar: one integer index per day, from the burn-in years to the last year.

Working in day indices keeps every interval computation vectorised; dates are only rendered as
text when the exports are written, through per-day lookup tables.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Timeline"]


class Timeline:
    """Days from 1 January of ``first_year - burn_in_years`` to 31 December of ``last_year``.

    ``window_start`` / ``window_end`` delimit the exported years (end exclusive). The winter plan
    (Plan Grand Froid) runs from 1 November to 31 March.
    """

    def __init__(self, first_year: int, last_year: int, burn_in_years: int) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.origin = np.datetime64(f"{first_year - burn_in_years}-01-01", "D")
        end = np.datetime64(f"{last_year + 1}-01-01", "D")
        self.n_days = int((end - self.origin).astype(int))
        self.dates = self.origin + np.arange(self.n_days)
        self.window_start = self.day_of(f"{first_year}-01-01")
        self.window_end = self.n_days
        years = self.dates.astype("datetime64[Y]")
        self.year = years.astype(int) + 1970
        self.month = (self.dates.astype("datetime64[M]") - years.astype("datetime64[M]")).astype(
            int
        ) + 1
        self.day_of_year = (self.dates - years.astype("datetime64[D]")).astype(int)
        # 1970-01-01 was a Thursday: shift so that Monday = 0.
        self.weekday = (self.dates.astype(int) + 3) % 7
        self.winter = (self.month >= 11) | (self.month <= 3)

    def day_of(self, date: str | np.datetime64) -> int:
        """Index of a calendar date."""
        return int((np.datetime64(date, "D") - self.origin).astype(int))

    def year_start(self, year: int) -> int:
        """Index of 1 January of ``year``."""
        return self.day_of(f"{year}-01-01")

    def seasonal(self, amplitude: float) -> np.ndarray:
        """Winter-peaked profile 1 + a·cos, maximal mid-January: demand rises with the cold."""
        return 1.0 + amplitude * np.cos(2 * np.pi * (self.day_of_year - 15) / 365.25)

    def cold_bump(self) -> np.ndarray:
        """0 from May to September, rising through autumn to 1 in mid-January: the extra
        shelter demand of cold nights (about 0.45 on 1 November and 31 March)."""
        return np.clip((np.cos(2 * np.pi * (self.day_of_year - 15) / 365.25) + 0.3) / 1.3, 0, 1)

    def growth(self, annual_growth: float) -> np.ndarray:
        """Smooth year-on-year growth, equal to 1 on 1 January of the first exported year."""
        return (1.0 + annual_growth) ** ((np.arange(self.n_days) - self.window_start) / 365.25)

    def format_days(self, fmt: str) -> np.ndarray:
        """Every day rendered with a strftime format (a lookup table for vectorised export)."""
        return np.array(
            [d.strftime(fmt) for d in self.dates.astype("datetime64[D]").tolist()], dtype=object
        )
