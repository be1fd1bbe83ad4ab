"""An exact integer attacker of small published tables (the disclosure unit tests).

It is written independently of :func:`observatoire.disclosure.suppression.audit` and of the engine's
linear programs: it reads only the *published text* (« < 5 », « s », numbers with a narrow
no-break space), rebuilds the identities from the table layout itself, and either enumerates
integer solutions exhaustively (small cases) or solves integer programs with
``scipy.optimize.milp`` over every cell (random tables). It imports nothing from ``observatoire``
(not even the formatting constants), so a bug in the engine cannot hide itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, milp

__all__ = ["Reader"]

NNBSP = "\u202f"  # narrow no-break space: the thousands separator of the printed counts


@dataclass
class Reader:
    """What a reader of the published text knows: fixed values, label bounds, identities."""

    k: int = 5  # the threshold of the hand-made tables
    ub: int = 1000  # a generous upper bound for « s » cells (enumeration needs a finite domain)
    fixed: dict[str, int] = field(default_factory=dict)
    labels: dict[str, tuple[int, int]] = field(default_factory=dict)
    identities: list[tuple[str, list[str]]] = field(default_factory=list)

    def read(
        self,
        text: pd.DataFrame,
        keys: pd.DataFrame,
        row_total: str | None = None,
        col_total: str | None = None,
    ) -> None:
        for i in range(text.shape[0]):
            for j in range(text.shape[1]):
                key, shown = keys.iat[i, j], text.iat[i, j]
                if shown == f"< {self.k}":
                    self._label(key, (1, self.k - 1))
                elif shown == "s":
                    self._label(key, (self.k, self.ub))
                else:
                    self.fixed[key] = int(shown.replace(NNBSP, ""))
        labels = keys.to_numpy()
        if row_total is not None:
            r = list(keys.index).index(row_total)
            for j in range(labels.shape[1]):
                parts = [labels[i, j] for i in range(labels.shape[0]) if i != r]
                self.identities.append((labels[r, j], parts))
        if col_total is not None:
            c = list(keys.columns).index(col_total)
            for i in range(labels.shape[0]):
                parts = [labels[i, j] for j in range(labels.shape[1]) if j != c]
                self.identities.append((labels[i, c], parts))

    def _label(self, key: str, bounds: tuple[int, int]) -> None:
        lo, hi = self.labels.get(key, (0, self.ub))
        self.labels[key] = (max(lo, bounds[0]), min(hi, bounds[1]))

    def unknowns(self) -> list[str]:
        return sorted(key for key in self.labels if key not in self.fixed)

    # exhaustive integer enumeration, for hand-sized cases
    def feasible_values(self, target: str) -> set[int]:
        if target in self.fixed:
            return {self.fixed[target]}
        lo, hi = self.labels[target]
        return {v for v in range(lo, hi + 1) if self._solvable({target: v})}

    def _solvable(self, assigned: dict[str, int]) -> bool:
        assigned = dict(assigned)
        changed = True
        while changed:  # an identity with one unknown left fixes it
            changed = False
            for total, parts in self.identities:
                terms = [(total, 1)] + [(p, -1) for p in parts]
                rest = 0
                free = []
                for key, sign in terms:
                    if key in self.fixed:
                        rest += sign * self.fixed[key]
                    elif key in assigned:
                        rest += sign * assigned[key]
                    else:
                        free.append((key, sign))
                if not free:
                    if rest != 0:
                        return False
                elif len(free) == 1:
                    key, sign = free[0]
                    value = -rest * sign
                    lo, hi = self.labels[key]
                    if not lo <= value <= hi:
                        return False
                    assigned[key] = value
                    changed = True
        left = [key for key in self.unknowns() if key not in assigned]
        if not left:
            return True
        key = min(left, key=lambda x: (self.labels[x][1] - self.labels[x][0], x))
        lo, hi = self.labels[key]
        return any(self._solvable({**assigned, key: v}) for v in range(lo, hi + 1))

    # integer programming over every quantity, for random tables
    def integer_range(self, target: str) -> tuple[int, int]:
        names = sorted(set(self.fixed) | set(self.labels))
        index = {name: n for n, name in enumerate(names)}
        lower = np.array([self.fixed.get(n, self.labels.get(n, (0, 0))[0]) for n in names], float)
        upper = np.array(
            [
                self.fixed[n]
                if n in self.fixed
                else (math.inf if self.labels[n][1] >= self.ub else self.labels[n][1])
                for n in names
            ],
            float,
        )
        rows = []
        for total, parts in self.identities:
            row = np.zeros(len(names))
            row[index[total]] += 1
            for p in parts:
                row[index[p]] -= 1
            rows.append(row)
        constraints = [LinearConstraint(np.array(rows), 0, 0)] if rows else []
        out = []
        for sense in (1, -1):
            c = np.zeros(len(names))
            c[index[target]] = sense
            res = milp(
                c,
                constraints=constraints,
                integrality=np.ones(len(names)),
                bounds=Bounds(lower, upper),
            )
            assert res.success, res.message
            out.append(round(sense * res.fun))
        return out[0], out[1]
