"""Small count tables with their margins, for the disclosure engine's unit tests."""

from __future__ import annotations

import pandas as pd

from observatoire.disclosure.suppression import CountTable

__all__ = ["grid"]


def grid(
    inner: list[list[int]],
    name: str = "t",
    rows: list[str] | None = None,
    cols: list[str] | None = None,
    totals: str = "both",
    total: str = "T",
) -> CountTable:
    """A table of counts with its margins (``totals``: "both", "rows", "cols" or "none");
    keys are "name|row|col", rows and columns named r0.., c0.. unless given."""
    rows = rows or [f"r{i}" for i in range(len(inner))]
    cols = cols or [f"c{j}" for j in range(len(inner[0]))]
    values = pd.DataFrame(inner, index=rows, columns=cols)
    if totals in ("both", "cols"):
        values[total] = values.sum(axis=1)
    if totals in ("both", "rows"):
        values.loc[total] = values.sum(axis=0)
    keys = pd.DataFrame(
        [[f"{name}|{r}|{c}" for c in values.columns] for r in values.index],
        index=values.index,
        columns=values.columns,
    )
    return CountTable(
        name,
        name,
        values,
        keys,
        row_total=total if totals in ("both", "rows") else None,
        col_total=total if totals in ("both", "cols") else None,
    )
