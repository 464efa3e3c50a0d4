"""The fixed set of summary metrics of a run, computed over a measurement window.

Every statistic uses only the window ``[measure_from_s, duration_s]`` (both ends included):
counts take the things whose defining instant falls in it, levels are averaged over it
weighted by time, and recovery figures use the incidents whose fault happened in it. The
names are stable and carry their unit; values are plain Python ``int``/``float`` (NaN when
undefined; ``summary.json`` writes NaN as ``null``).

=================================  =========================================================
metric                             meaning
=================================  =========================================================
``duration_s``                     end of the run (and of the window), simulated seconds
``measure_from_s``                 start of the window (earlier activity is warm-up)
``tasks_created``                  tasks created (placed) in the window
``tasks_started``                  tasks that first reached RUNNING in the window
``tasks_stopped``                  tasks that reached STOPPED in the window
``tasks_failed_to_start``          of those, the ones that never were RUNNING
``placement_failures``             launches that found no instance, in the window
``instances_launched``             container instances launched in the window
``instances_lost``                 instances that became INACTIVE in the window because of
                                   a fault (their row carries an incident id)
``incidents``                      fault occurrences in the window
``peak_cpu_reserved_fraction``     highest cluster CPU reserved / registered (control-plane
                                   ledger) in force during the window
``peak_memory_reserved_fraction``  the same for memory
``mean_cpu_reserved_fraction``     time-weighted mean of cluster CPU reserved / registered
                                   over the part of the window with registered CPU > 0
``mean_memory_reserved_fraction``  the same for memory
``mean_tasks_running``             time-weighted mean number of RUNNING tasks (cluster)
``recovery_time_mean_s``           mean ``time_to_desired_s`` of the recovery rows (one per
                                   incident and affected service) that recovered
``recovery_time_p95_s``            95th percentile (linear interpolation) of the same
``recovery_time_max_s``            maximum of the same
``first_replacement_time_mean_s``  mean ``time_to_first_replacement_s`` of the rows
``unrecovered_incidents``          incidents with at least one affected service that did not
                                   get back to its desired count before the end of the run
``service_availability_mean``      per service, the fraction of the window during which its
                                   RUNNING count was at least its desired count (a service
                                   with desired 0 counts as available), averaged over the
                                   services; NaN when the run has no service
=================================  =========================================================
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ecssim.analysis.capacity import CLUSTER, service_counts

METRIC_NAMES: tuple[str, ...] = (
    "duration_s",
    "measure_from_s",
    "tasks_created",
    "tasks_started",
    "tasks_stopped",
    "tasks_failed_to_start",
    "placement_failures",
    "instances_launched",
    "instances_lost",
    "incidents",
    "peak_cpu_reserved_fraction",
    "peak_memory_reserved_fraction",
    "mean_cpu_reserved_fraction",
    "mean_memory_reserved_fraction",
    "mean_tasks_running",
    "recovery_time_mean_s",
    "recovery_time_p95_s",
    "recovery_time_max_s",
    "first_replacement_time_mean_s",
    "unrecovered_incidents",
    "service_availability_mean",
)


def _segments(times: np.ndarray, start: float, end: float) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the step-series rows in force over ``[start, end]`` and their durations.

    Index -1 means "before the first row" (every level 0 there).
    """
    inside = np.flatnonzero((times > start) & (times <= end))
    first = np.searchsorted(times, start, side="right") - 1
    index = np.concatenate([[first], inside])
    bounds = np.concatenate([[start], times[inside], [end]])
    return index, np.diff(bounds)


def _level(values: np.ndarray, index: np.ndarray, before: float = 0.0) -> np.ndarray:
    """Values at ``index`` with ``before`` where the index is -1."""
    if len(values) == 0:
        return np.full(len(index), before, dtype=float)
    picked = values[np.clip(index, 0, None)].astype(float)
    picked[index < 0] = before
    return picked


def _weighted_mean(levels: np.ndarray, weights: np.ndarray) -> float:
    keep = ~np.isnan(levels) & (weights > 0)
    total = weights[keep].sum()
    return float((levels[keep] * weights[keep]).sum() / total) if total > 0 else math.nan


def _peak(levels: np.ndarray) -> float:
    return float(np.nanmax(levels)) if np.any(~np.isnan(levels)) else math.nan


def _fraction(part: pd.DataFrame, used: str, total: str) -> np.ndarray:
    registered = part[total].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(registered > 0, part[used].to_numpy(dtype=float) / registered, np.nan)


def _capacity_metrics(capacity: pd.DataFrame, start: float, end: float) -> dict[str, float]:
    cluster = capacity[capacity["scope"] == CLUSTER]
    index, weights = _segments(cluster["time_s"].to_numpy(), start, end)
    out: dict[str, float] = {}
    for name, used, total in (
        ("cpu", "cpu_reserved", "cpu_registered"),
        ("memory", "memory_reserved_mib", "memory_registered_mib"),
    ):
        levels = _level(_fraction(cluster, used, total), index, before=math.nan)
        out[f"peak_{name}_reserved_fraction"] = _peak(levels)
        out[f"mean_{name}_reserved_fraction"] = _weighted_mean(levels, weights)
    running = _level(cluster["tasks_running"].to_numpy(), index)
    out["mean_tasks_running"] = _weighted_mean(running, weights)
    return out


def _availability(events: pd.DataFrame, services: pd.DataFrame, start: float, end: float) -> float:
    counts = service_counts(events)
    names = sorted(set(services["service"]) | set(counts["service"]))
    fractions = []
    for name in names:
        part = counts[counts["service"] == name]
        ok = (part["running"] >= part["desired_count"]).to_numpy()
        index, weights = _segments(part["time_s"].to_numpy(), start, end)
        fractions.append(_weighted_mean(_level(ok, index, before=1.0), weights))
    return float(np.mean(fractions)) if fractions else math.nan


def _recovery_metrics(recovery: pd.DataFrame, start: float, end: float) -> dict[str, float | int]:
    rows = recovery[recovery["fault_time_s"].between(start, end)]
    times = rows["time_to_desired_s"].dropna().to_numpy(dtype=float)
    first = rows["time_to_first_replacement_s"].dropna().to_numpy(dtype=float)
    stuck = rows.loc[rows["not_recovered_reason"] != "", "incident_id"]
    return {
        "recovery_time_mean_s": float(times.mean()) if len(times) else math.nan,
        "recovery_time_p95_s": float(np.percentile(times, 95)) if len(times) else math.nan,
        "recovery_time_max_s": float(times.max()) if len(times) else math.nan,
        "first_replacement_time_mean_s": float(first.mean()) if len(first) else math.nan,
        "unrecovered_incidents": int(stuck.nunique()),
    }


def _count(column: pd.Series, start: float, end: float) -> int:
    return int(column.between(start, end).sum())


def summarize(
    *,
    events: pd.DataFrame,
    tasks: pd.DataFrame,
    instances: pd.DataFrame,
    services: pd.DataFrame,
    capacity: pd.DataFrame,
    recovery: pd.DataFrame,
    placement_failures: pd.DataFrame,
    measure_from_s: float,
    duration_s: float,
) -> dict[str, float | int]:
    """The metrics of the module table, in that order, over ``[measure_from_s, duration_s]``."""
    start, end = float(measure_from_s), float(duration_s)
    if not 0 <= start <= end:
        raise ValueError(
            f"measurement window [{measure_from_s}, {duration_s}] is invalid: "
            "need 0 <= measure_from_s <= duration_s"
        )
    stopped = tasks["stopped_at_s"].between(start, end)
    faults = events[(events["entity"] == "fault") & (events["event"] == "fault")]
    lost = instances[instances["incident_id"] != ""]
    out: dict[str, float | int] = {
        "duration_s": end,
        "measure_from_s": start,
        "tasks_created": _count(tasks["created_at_s"], start, end),
        "tasks_started": _count(tasks["started_at_s"], start, end),
        "tasks_stopped": int(stopped.sum()),
        "tasks_failed_to_start": int((stopped & tasks["started_at_s"].isna()).sum()),
        "placement_failures": _count(placement_failures["time_s"], start, end),
        "instances_launched": _count(instances["launched_at_s"], start, end),
        "instances_lost": _count(lost["terminated_at_s"], start, end),
        "incidents": int(faults.loc[faults["time_s"].between(start, end), "incident_id"].nunique()),
        **_capacity_metrics(capacity, start, end),
        **_recovery_metrics(recovery, start, end),
        "service_availability_mean": _availability(events, services, start, end),
    }
    return {name: out[name] for name in METRIC_NAMES}
