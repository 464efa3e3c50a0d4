"""Step functions of time: the arithmetic every level-based figure shares.

A step series is a sorted array of change instants ``times`` and, per instant, the level
that holds from that instant until the next one (the last level holds for ever). Before the
first instant the level is a caller-given ``before`` value (0 for counts, as in the
``capacity`` and ``service_counts`` series). All functions are vectorised over query
instants, so callers loop at most over scopes (services, AZs), never over events.
"""

from __future__ import annotations

import math

import numpy as np


def check_window(start_s: float, end_s: float) -> tuple[float, float]:
    """The measurement window as floats; raise ``ValueError`` unless 0 <= start <= end."""
    start, end = float(start_s), float(end_s)
    if not 0 <= start <= end:
        raise ValueError(
            f"measurement window [{start_s}, {end_s}] is invalid: "
            "need 0 <= measure_from_s <= duration_s"
        )
    return start, end


def in_force(times: np.ndarray, at: np.ndarray | float) -> np.ndarray:
    """Index of the row in force at each instant of ``at`` (-1: before the first row)."""
    return np.searchsorted(times, at, side="right") - 1


def segments(times: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the rows in force over ``[start, end]`` and how long each holds there.

    Index -1 means "before the first row". The durations sum to ``end - start``.
    """
    inside = np.flatnonzero((times > start) & (times <= end))
    first = in_force(times, start)
    index = np.concatenate([[first], inside])
    bounds = np.concatenate([[start], times[inside], [end]])
    return index, np.diff(bounds)


def level(values: np.ndarray, index: np.ndarray, before: float = 0.0) -> np.ndarray:
    """Values at ``index`` (as floats) with ``before`` where the index is -1."""
    if len(values) == 0:
        return np.full(len(index), before, dtype=float)
    picked = np.asarray(values)[np.clip(index, 0, None)].astype(float)
    picked[index < 0] = before
    return picked


def weighted_mean(levels: np.ndarray, weights: np.ndarray) -> float:
    """Mean of ``levels`` weighted by ``weights``, ignoring NaN levels (NaN if no weight)."""
    keep = ~np.isnan(levels) & (weights > 0)
    total = weights[keep].sum()
    return float((levels[keep] * weights[keep]).sum() / total) if total > 0 else math.nan


def next_true(
    times: np.ndarray, ok: np.ndarray, since: np.ndarray, *, before: bool = True
) -> np.ndarray:
    """First instant at or after each ``since`` at which ``ok`` holds (NaN if never).

    ``before`` says whether ``ok`` holds before the first row. A NaN or infinite ``since``
    gives NaN.
    """
    since = np.asarray(since, dtype=float)
    out = np.full(len(since), np.nan)
    finite = np.isfinite(since)
    if len(times) == 0:
        out[finite] = since[finite] if before else np.nan
        return out
    size = len(ok)
    # next_ok[k]: first index >= k where ok holds (size if none); next_ok[size] = size
    candidates = np.where(ok, np.arange(size), size)
    next_ok = np.append(np.minimum.accumulate(candidates[::-1])[::-1], size)
    row = in_force(times, np.where(finite, since, -np.inf))
    holds = np.where(row < 0, before, ok[np.clip(row, 0, None)])
    hit = next_ok[np.clip(row, 0, None)]
    # where the level in force at `since` already holds, `since` itself is the answer;
    # before the first row without ok, the first ok row (from index 0) is
    hit = np.where(row < 0, next_ok[0], hit)
    later = times[np.clip(hit, 0, size - 1)]
    answer = np.where(holds, since, np.where(hit < size, later, np.nan))
    out[finite] = answer[finite]
    return out


def integral(times: np.ndarray, values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Integral of the step function from before its first row (level 0) up to each ``at``."""
    at = np.asarray(at, dtype=float)
    if len(times) == 0:
        return np.zeros(len(at))
    values = np.asarray(values, dtype=float)
    widths = np.diff(times)
    cumulative = np.concatenate([[0.0], np.cumsum(values[:-1] * widths)])
    row = in_force(times, at)
    safe = np.clip(row, 0, None)
    area = cumulative[safe] + values[safe] * (at - times[safe])
    return np.where(row < 0, 0.0, area)
