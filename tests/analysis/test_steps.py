"""Step-function helpers against brute force on random series."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.analysis.steps import integral, next_true

series = st.lists(st.tuples(st.integers(0, 50), st.integers(0, 3)), min_size=0, max_size=12)


def as_arrays(rows):
    times = np.array(sorted({t for t, _ in rows}), dtype=float)
    values = {t: v for t, v in rows}  # last value per instant
    return times, np.array([values[t] for t in times], dtype=float)


def value_at(times, values, t):
    index = np.searchsorted(times, t, side="right") - 1
    return 0.0 if index < 0 else values[index]


@settings(max_examples=60, deadline=None)
@given(series, st.integers(0, 60))
def test_integral_matches_a_riemann_sum(rows, until):
    times, values = as_arrays(rows)
    brute = sum(value_at(times, values, t + 0.5) for t in range(until))  # exact: integer steps
    assert integral(times, values, np.array([float(until)]))[0] == brute


@settings(max_examples=60, deadline=None)
@given(series, st.integers(0, 60), st.booleans())
def test_next_true_matches_a_scan(rows, since, before):
    times, values = as_arrays(rows)
    ok = values >= 2
    got = next_true(times, ok, np.array([float(since)]), before=before)[0]
    candidates = [float(since)] + [t for t in times if t > since]
    def holds(t):
        index = np.searchsorted(times, t, side="right") - 1
        return before if index < 0 else bool(ok[index])
    expected = next((t for t in candidates if holds(t)), np.nan)
    assert got == expected or (np.isnan(got) and np.isnan(expected))
    assert np.isnan(next_true(times, ok, np.array([np.inf]))[0])
