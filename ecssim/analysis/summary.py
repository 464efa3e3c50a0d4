"""The summary metrics of a run (fixed names, then MTTR names from the data) over a window.

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
``placement_failure_fraction``     placement failures / (placement failures + tasks created)
                                   in the window: the share of launch attempts that found no
                                   instance (a RunTask-only cluster's blocking probability);
                                   NaN when there was no attempt
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
``deployments_completed``          deployments whose rollout reached COMPLETED in the window
                                   (each REPLICA service's initial deployment included)
``deployments_failed``             deployments whose rollout reached FAILED in the window
                                   (the deployment circuit breaker)
``deployment_duration_mean_s``     mean ``duration_s`` (``deployments`` table) of those in
                                   ``deployments_completed``, leaving out each service's
                                   initial deployment (its first, created at t=0); NaN if
                                   none
``mttr_instance_failure_mean_s``   mean time to repair of ``instance_failure`` incidents:
                                   mean ``time_to_desired_s`` of their recovery rows whose
                                   fault is in the window and that recovered (NaN if none)
``mttr_instance_failure_p50_s``    median (linear interpolation) of the same
``mttr_instance_failure_p95_s``    95th percentile of the same
``mttr_instance_failure_p99_s``    99th percentile of the same
``mttr_az_outage_mean_s``          the same four for ``az_outage`` incidents
``mttr_az_outage_p50_s``
``mttr_az_outage_p95_s``
``mttr_az_outage_p99_s``
``mttr_task_crash_mean_s``         the same four for ``task_crash`` incidents
``mttr_task_crash_p50_s``
``mttr_task_crash_p95_s``
``mttr_task_crash_p99_s``
``cost_usd``                       what the run cost, USD (``cost`` table): each resource's
                                   billed interval clipped to start at ``measure_from_s``;
                                   NaN without the scenario's ``prices`` or when a resource
                                   has no price
``cost_instances_usd``             the container instances' part of it
``cost_fargate_usd``               the Fargate tasks' part of it
``cost_per_task_hour_usd``         ``cost_usd`` / task-hours RUNNING in the window (from the
                                   tasks' state rows); NaN without RUNNING time
``demand_unserved_pct``            percent of the offered demand (``demand`` table) not served:
                                   time-integral of ``unserved`` over that of ``demand``,
                                   services pooled per resource, the worse resource when
                                   there are both; NaN without demand
``demand_unserved_longest_s``      longest stretch of the window during which one service's
                                   ``unserved`` (of one resource) stayed above 0; NaN
                                   without demand
=================================  =========================================================

Names that depend on the run's data follow the fixed ones (see
:data:`DYNAMIC_METRIC_PATTERNS`), each statistic defined as for the fixed MTTR names:

- ``mttr_<kind>_{mean,p50,p95,p99}_s`` for every other fault kind in the log's fault rows
  (kinds in name order), e.g. ``mttr_agent_disconnect_p95_s``;
- ``mttr_service_<service>_{mean,p50,p95,p99}_s`` for every service of the run (services in
  name order, NaN for a service no incident hit in the window), over the recovery rows of
  that service whatever the fault kind.

Unrecovered rows have no ``time_to_desired_s`` and are left out of every MTTR figure;
``unrecovered_incidents`` counts them.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from ecssim.analysis.capacity import CLUSTER, service_counts
from ecssim.analysis.cost import COST_METRIC_NAMES, cost_metrics
from ecssim.analysis.demand import DEMAND_METRIC_NAMES, demand_metrics, demand_table
from ecssim.analysis.deployments import COMPLETED, FAILED, deployments_table, initial
from ecssim.analysis.steps import check_window, level, segments, weighted_mean

#: Fault kinds whose MTTR names are always present (NaN when the window has none).
KNOWN_FAULT_KINDS: tuple[str, ...] = ("instance_failure", "az_outage", "task_crash")
#: Statistics of every MTTR group, in name order.
MTTR_STATISTICS: tuple[str, ...] = ("mean", "p50", "p95", "p99")
#: The name patterns of the data-dependent metrics, as the README documents them.
DYNAMIC_METRIC_PATTERNS: tuple[str, ...] = (
    "mttr_<kind>_{mean,p50,p95,p99}_s",
    "mttr_service_<service>_{mean,p50,p95,p99}_s",
)
_DYNAMIC = re.compile(r"^mttr_(service_)?.+_(mean|p50|p95|p99)_s$")


def mttr_names(group: str) -> list[str]:
    """The four MTTR names of a group: a fault kind, or ``service_<service>``."""
    return [f"mttr_{group}_{stat}_s" for stat in MTTR_STATISTICS]


def is_dynamic_metric(name: str) -> bool:
    """True when ``name`` matches one of :data:`DYNAMIC_METRIC_PATTERNS`."""
    return bool(_DYNAMIC.match(name))


METRIC_NAMES: tuple[str, ...] = (
    "duration_s",
    "measure_from_s",
    "tasks_created",
    "tasks_started",
    "tasks_stopped",
    "tasks_failed_to_start",
    "placement_failures",
    "placement_failure_fraction",
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
    "deployments_completed",
    "deployments_failed",
    "deployment_duration_mean_s",
    *(name for kind in KNOWN_FAULT_KINDS for name in mttr_names(kind)),
    *COST_METRIC_NAMES,
    *DEMAND_METRIC_NAMES,
)


def _peak(levels: np.ndarray) -> float:
    return float(np.nanmax(levels)) if np.any(~np.isnan(levels)) else math.nan


def _fraction(part: pd.DataFrame, used: str, total: str) -> np.ndarray:
    registered = part[total].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(registered > 0, part[used].to_numpy(dtype=float) / registered, np.nan)


def _capacity_metrics(capacity: pd.DataFrame, start: float, end: float) -> dict[str, float]:
    cluster = capacity[capacity["scope"] == CLUSTER]
    index, weights = segments(cluster["time_s"].to_numpy(), start, end)
    out: dict[str, float] = {}
    for name, used, total in (
        ("cpu", "cpu_reserved", "cpu_registered"),
        ("memory", "memory_reserved_mib", "memory_registered_mib"),
    ):
        levels = level(_fraction(cluster, used, total), index, before=math.nan)
        out[f"peak_{name}_reserved_fraction"] = _peak(levels)
        out[f"mean_{name}_reserved_fraction"] = weighted_mean(levels, weights)
    running = level(cluster["tasks_running"].to_numpy(), index)
    out["mean_tasks_running"] = weighted_mean(running, weights)
    return out


def _availability(events: pd.DataFrame, services: pd.DataFrame, start: float, end: float) -> float:
    counts = service_counts(events)
    names = sorted(set(services["service"]) | set(counts["service"]))
    fractions = []
    for name in names:
        part = counts[counts["service"] == name]
        ok = (part["running"] >= part["desired_count"]).to_numpy()
        index, weights = segments(part["time_s"].to_numpy(), start, end)
        fractions.append(weighted_mean(level(ok, index, before=1.0), weights))
    return float(np.mean(fractions)) if fractions else math.nan


def _deployment_metrics(deployments: pd.DataFrame, start: float, end: float) -> dict[str, float | int]:
    ended = deployments["ended_at_s"].between(start, end).to_numpy()
    state = deployments["rollout_state"].to_numpy()
    completed = ended & (state == COMPLETED)
    later = deployments["duration_s"].to_numpy()[completed & ~initial(deployments)]
    return {
        "deployments_completed": int(completed.sum()),
        "deployments_failed": int((ended & (state == FAILED)).sum()),
        "deployment_duration_mean_s": float(later.mean()) if len(later) else math.nan,
    }


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


def _mttr(times: np.ndarray) -> list[float]:
    if len(times) == 0:
        return [math.nan] * len(MTTR_STATISTICS)
    return [float(times.mean()), *(float(v) for v in np.percentile(times, [50, 95, 99]))]


def _mttr_metrics(
    events: pd.DataFrame, services: pd.DataFrame, recovery: pd.DataFrame, start: float, end: float
) -> dict[str, float]:
    """MTTR per fault kind (known kinds first, then the others) and per service."""
    rows = recovery[recovery["fault_time_s"].between(start, end)]
    rows = rows[rows["time_to_desired_s"].notna()]
    faults = events.loc[(events["entity"] == "fault") & (events["event"] == "fault"), "to_state"]
    others = (set(faults) | set(recovery["kind"])) - set(KNOWN_FAULT_KINDS) - {""}
    out: dict[str, float] = {}
    for kind in (*KNOWN_FAULT_KINDS, *sorted(others)):
        times = rows.loc[rows["kind"] == kind, "time_to_desired_s"].to_numpy(dtype=float)
        out |= dict(zip(mttr_names(kind), _mttr(times), strict=True))
    for service in sorted(set(services["service"]) | set(recovery["service"])):
        times = rows.loc[rows["service"] == service, "time_to_desired_s"].to_numpy(dtype=float)
        out |= dict(zip(mttr_names(f"service_{service}"), _mttr(times), strict=True))
    return out


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
    deployments: pd.DataFrame | None = None,
    cost: pd.DataFrame | None = None,
    demand: pd.DataFrame | None = None,
) -> dict[str, float | int]:
    """The metrics of the module table, in that order, then the data-dependent MTTR names,
    over ``[measure_from_s, duration_s]``.

    ``deployments``: the table of that name (built from ``events`` when omitted).
    ``cost``: the table of that name, or None when the run has no prices (cost metrics NaN).
    ``demand``: the table of that name (built from ``events`` and ``tasks`` when omitted).
    """
    start, end = check_window(measure_from_s, duration_s)
    if deployments is None:
        deployments = deployments_table(events)
    stopped = tasks["stopped_at_s"].between(start, end)
    faults = events[(events["entity"] == "fault") & (events["event"] == "fault")]
    lost = instances[instances["incident_id"] != ""]
    created = _count(tasks["created_at_s"], start, end)
    failures = _count(placement_failures["time_s"], start, end)
    out: dict[str, float | int] = {
        "duration_s": end,
        "measure_from_s": start,
        "tasks_created": created,
        "tasks_started": _count(tasks["started_at_s"], start, end),
        "tasks_stopped": int(stopped.sum()),
        "tasks_failed_to_start": int((stopped & tasks["started_at_s"].isna()).sum()),
        "placement_failures": failures,
        "placement_failure_fraction": failures / (failures + created) if failures + created else math.nan,
        "instances_launched": _count(instances["launched_at_s"], start, end),
        "instances_lost": _count(lost["terminated_at_s"], start, end),
        "incidents": int(faults.loc[faults["time_s"].between(start, end), "incident_id"].nunique()),
        **_capacity_metrics(capacity, start, end),
        **_recovery_metrics(recovery, start, end),
        "service_availability_mean": _availability(events, services, start, end),
        **_deployment_metrics(deployments, start, end),
        **_mttr_metrics(events, services, recovery, start, end),
        **cost_metrics(cost, events, start, end),
        **demand_metrics(demand if demand is not None else demand_table(events, tasks), start, end),
    }
    fixed = {name: out.pop(name) for name in METRIC_NAMES}
    return fixed | out
