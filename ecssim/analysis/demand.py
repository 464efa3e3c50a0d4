"""The ``demand`` table: load offered to each service against what its RUNNING tasks can serve.

Recomputed from the event log alone: the service ``demand`` rows (``to_state`` the resource,
``value`` the demand; the runtime writes one at t = 0, at every Service Auto Scaling period
and at every breakpoint of a piecewise or CSV curve, when the value changed, so the table's
demand is the scenario's curve sampled at those instants and held until the next) and the
task state rows of the service, with each task's reservation from the ``tasks`` table. One
row per service, resource and change instant (a step function, like ``capacity``):

=====================  ==================================================================
``time_s``             instant from which the row's levels hold
``service``            the service
``resource``           ``cpu`` (CPU units) or ``memory`` (MiB)
``demand``             load offered (the sampled curve)
``running_tasks``      the service's tasks in RUNNING
``capacity``           what they reserve of the resource (running x per-task reservation)
``served``             min(demand, capacity)
``unserved``           demand - served: the cost of too few tasks (slow scaling)
``utilization_pct``    100 x demand / capacity, capped at 100 (100 with demand and no
                       capacity, 0 without demand); instantaneous, unlike the one-minute
                       datapoints of the ``utilization`` rows
=====================  ==================================================================
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ecssim.analysis.lookup import lookup
from ecssim.analysis.schema import RUNNING, SCHEMAS, conform, frame
from ecssim.analysis.steps import segments

DEMAND_EVENT = "demand"
#: The resources a demand row names, and the tasks-table column of each one's reservation.
RESOURCE_COLUMNS = {"cpu": "cpu", "memory": "memory_mib"}
#: Summary metrics of this module, in the summary's order.
DEMAND_METRIC_NAMES: tuple[str, ...] = ("demand_unserved_pct", "demand_unserved_longest_s")
_LEVELS = ["demand", "running_tasks", "capacity"]


def _task_deltas(events: pd.DataFrame, tasks: pd.DataFrame, services: set[str], column: str) -> pd.DataFrame:
    """(seq, time_s, service, running, capacity) changes at each task state row of ``services``."""
    rows = events[(events["entity"] == "task") & (events["event"] == "state") & events["service"].isin(services)]
    rows = rows.sort_values("seq", kind="stable")
    running = (rows["to_state"] == RUNNING).astype("int64")
    change = running - running.groupby(rows["entity_id"].to_numpy(), sort=False).shift(fill_value=0)
    reserved = lookup(rows["entity_id"], tasks.set_index("task_id")[column], 0).astype("int64")
    return pd.DataFrame({"seq": rows["seq"], "time_s": rows["time_s"], "service": rows["service"],
                         "running_tasks": change, "capacity": change * reserved})


def _series(demand_rows: pd.DataFrame, deltas: pd.DataFrame) -> pd.DataFrame:
    """Levels per service from demand rows (values) and task deltas (summed), changes only."""
    both = pd.concat([demand_rows, deltas], ignore_index=True).sort_values("seq", kind="stable")
    grouped = both.groupby("service", sort=False)
    both["running_tasks"] = grouped["running_tasks"].cumsum()
    both["capacity"] = grouped["capacity"].cumsum()
    both["demand"] = grouped["demand"].ffill()
    both = both[both["demand"].notna()].drop_duplicates(["time_s", "service"], keep="last")
    previous = both.groupby("service", sort=False)[_LEVELS].shift()
    return both[(both[_LEVELS] != previous).any(axis=1)]


def demand_table(events: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """Demand, capacity, served and unserved per service, resource and change instant (module doc)."""
    schema = SCHEMAS["demand"]
    rows = events[(events["entity"] == "service") & (events["event"] == DEMAND_EVENT)]
    pieces = []
    for resource, column in RESOURCE_COLUMNS.items():
        part = rows[rows["to_state"] == resource]
        if part.empty:
            continue
        offered = pd.DataFrame({"seq": part["seq"], "time_s": part["time_s"], "service": part["entity_id"],
                                "demand": part["value"].astype(float), "running_tasks": 0, "capacity": 0})
        deltas = _task_deltas(events, tasks, set(offered["service"]), column)
        pieces.append(_series(offered, deltas).assign(resource=resource))
    if not pieces:
        return frame([], schema)
    out = pd.concat(pieces, ignore_index=True)
    demand, capacity = out["demand"].to_numpy(dtype=float), out["capacity"].to_numpy(dtype=float)
    out["served"] = np.minimum(demand, capacity)
    out["unserved"] = demand - out["served"]
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(capacity > 0, np.minimum(100.0, 100.0 * demand / capacity),
                         np.where(demand > 0, 100.0, 0.0))
    out["utilization_pct"] = share
    out = out.sort_values(["time_s", "service", "resource"], kind="stable")
    return conform(out, schema)


def _integral(times: np.ndarray, values: np.ndarray, start: float, end: float) -> float:
    """Time-integral of a step series over [start, end] (0 before its first row)."""
    index, weights = segments(times, start, end)
    levels = np.where(index < 0, 0.0, values[np.clip(index, 0, None)])
    return float((levels * weights).sum())


def _longest(times: np.ndarray, short: np.ndarray, start: float, end: float) -> float:
    """Longest stretch of [start, end] during which ``short`` holds (a step series)."""
    index, weights = segments(times, start, end)
    flags = np.where(index < 0, False, short[np.clip(index, 0, None)])
    longest = current = 0.0
    for flag, weight in zip(flags.tolist(), weights.tolist(), strict=True):
        current = current + weight if flag else 0.0
        longest = max(longest, current)
    return longest


def demand_metrics(demand: pd.DataFrame, start: float, end: float) -> dict[str, float]:
    """``demand_unserved_pct`` and ``demand_unserved_longest_s`` over the window (NaN without demand).

    The percentage pools the services of each resource (time-integral of unserved over
    time-integral of demand) and reports the worse resource when there are both.
    """
    shares, longest = [], math.nan
    for resource in RESOURCE_COLUMNS:
        part = demand[demand["resource"] == resource]
        offered = unserved = 0.0
        for _service, series in part.groupby("service", sort=True):
            times = series["time_s"].to_numpy(dtype=float)
            offered += _integral(times, series["demand"].to_numpy(dtype=float), start, end)
            unserved += _integral(times, series["unserved"].to_numpy(dtype=float), start, end)
            stretch = _longest(times, series["unserved"].to_numpy(dtype=float) > 0, start, end)
            longest = stretch if math.isnan(longest) else max(longest, stretch)
        if offered > 0:
            shares.append(100.0 * unserved / offered)
    return {"demand_unserved_pct": max(shares) if shares else math.nan, "demand_unserved_longest_s": longest}

