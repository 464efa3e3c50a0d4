"""How available each service was over the measurement window: the ``availability`` table.

One row per service (every service of the ``services`` table, plus any other service the
log counts tasks for), in name order, over the window ``[measure_from_s, duration_s]``.
Levels come from :func:`~ecssim.analysis.capacity.service_counts`, ECS's view: RUNNING
tasks, *healthy* tasks (by the task health rows, see :mod:`ecssim.analysis.health`) and
the desired count; all are step functions, so every figure is an exact time-weighted
average, not a sample.

=================================  ========================================================
``service``                        the service
``window_s``                       length of the window, seconds
``fraction_at_desired``            fraction of the window with healthy tasks >= desired
                                   count (a desired count of 0 is always met)
``fraction_at_minimum_healthy``    fraction with healthy tasks >= ceil(desired ×
                                   ``minimum_healthy_percent`` / 100), the service's
                                   deployment floor from the ``services`` table
``fraction_down``                  fraction with no RUNNING task while desired > 0
``mean_running``                   time-weighted mean number of RUNNING tasks
``mean_healthy``                   time-weighted mean number of healthy tasks
``mean_desired``                   time-weighted mean desired count
=================================  ========================================================

Every figure is NaN when the window has zero length.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecssim.analysis.schema import SCHEMAS, frame
from ecssim.analysis.steps import check_window, level, segments, weighted_mean

#: ``minimumHealthyPercent`` assumed for a service missing from the ``services`` table
#: (the REPLICA default, ``ecs-reference.md`` §4.5).
DEFAULT_MINIMUM_HEALTHY_PERCENT = 100


def minimum_healthy(desired: np.ndarray, percent: float) -> np.ndarray:
    """ECS's floor of healthy tasks: ``ceil(desired * percent / 100)`` (§4.5, rounded up)."""
    scaled = np.asarray(desired, dtype="int64") * int(round(percent * 100))
    return -(-scaled // 10_000)


def _row(part: dict[str, np.ndarray], percent: float, start: float, end: float) -> dict[str, float]:
    """The figures of one service from its step series (``part``: column -> values)."""
    index, weights = segments(part["time_s"], start, end)
    desired = level(part["desired_count"], index)
    running = level(part["running"], index)
    healthy = level(part["healthy"], index)
    floor = minimum_healthy(desired.astype("int64"), percent)
    return {
        "fraction_at_desired": weighted_mean((healthy >= desired).astype(float), weights),
        "fraction_at_minimum_healthy": weighted_mean((healthy >= floor).astype(float), weights),
        "fraction_down": weighted_mean(((running == 0) & (desired > 0)).astype(float), weights),
        "mean_running": weighted_mean(running, weights),
        "mean_healthy": weighted_mean(healthy, weights),
        "mean_desired": weighted_mean(desired, weights),
    }


def availability_table(
    counts: pd.DataFrame, services: pd.DataFrame, *, start_s: float, end_s: float
) -> pd.DataFrame:
    """One row per service over ``[start_s, end_s]``; see the module docstring."""
    start, end = check_window(start_s, end_s)
    percents = services.set_index("service")["minimum_healthy_percent"].to_dict()
    parts = counts.groupby("service", sort=False).indices
    names = sorted(set(services["service"]) | set(parts))
    # numpy columns sliced per service (``iloc`` on the frame costs more than the figures)
    columns = {c: counts[c].to_numpy() for c in ("time_s", "desired_count", "running", "healthy")}
    nothing = np.array([], dtype=np.intp)
    rows = []
    for name in names:
        where = parts.get(name, nothing)
        part = {c: values[where] for c, values in columns.items()}
        percent = percents.get(name, DEFAULT_MINIMUM_HEALTHY_PERCENT)
        rows.append({"service": name, "window_s": end - start, **_row(part, percent, start, end)})
    if not rows:
        return frame([], SCHEMAS["availability"])
    return frame({c: [r[c] for r in rows] for c in SCHEMAS["availability"]},
                 SCHEMAS["availability"])
