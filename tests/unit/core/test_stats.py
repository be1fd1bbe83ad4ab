"""core.stats: the Wilson interval computed without statsmodels, bit-identical to it."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint

from observatoire.core.stats import newcombe_diff, proportion_ci

ALPHAS = (0.05, 0.01, 0.1, 0.2, 0.5, 0.001, 0.32)


def _cases() -> list[tuple[object, object]]:
    rng = np.random.default_rng(21)
    cases: list[tuple[object, object]] = []
    for n in (*range(1, 41), 57, 100, 333, 1000, 4097, 12345, 10**6):
        cases += [(0, n), (n, n), (1, n), (n - 1, n), (n // 2, n), (n // 3, n)]
        cases += [(int(x), n) for x in rng.integers(0, n + 1, size=5)]
    # The callers also pass NumPy integers and floats read from tables.
    cases += [(np.int64(7), np.int64(19)), (3.0, 11.0), (np.float64(5), 8)]
    return cases


@pytest.mark.parametrize("alpha", ALPHAS)
def test_wilson_bit_identical_to_statsmodels(alpha: float) -> None:
    for x, n in _cases():
        expected = proportion_confint(x, n, alpha=alpha, method="wilson")
        got = proportion_ci(x, n, alpha=alpha)  # type: ignore[arg-type]
        assert got == (float(expected[0]), float(expected[1])), (x, n, alpha)
        assert all(type(v) is float for v in got)


def test_default_alpha_is_95_percent() -> None:
    assert proportion_ci(12, 40) == proportion_confint(12, 40, alpha=0.05, method="wilson")


def test_empty_denominator_gives_nan() -> None:
    assert all(math.isnan(v) for v in proportion_ci(0, 0))
    assert all(math.isnan(v) for v in newcombe_diff(1, 0, 2, 5))


def test_newcombe_diff_from_statsmodels_wilson() -> None:
    x1, n1, x2, n2 = 14, 60, 25, 71
    l1, u1 = proportion_confint(x1, n1, method="wilson")
    l2, u2 = proportion_confint(x2, n2, method="wilson")
    p1, p2 = x1 / n1, x2 / n2
    d = p2 - p1
    expected = (
        d,
        d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2),
        d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2),
    )
    assert newcombe_diff(x1, n1, x2, n2) == expected


def test_core_stats_does_not_import_statsmodels() -> None:
    code = (
        "import sys; from observatoire.core.stats import proportion_ci; proportion_ci(3, 9); "
        "print(sorted(m for m in sys.modules if m.startswith(('statsmodels', 'scipy.stats'))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
