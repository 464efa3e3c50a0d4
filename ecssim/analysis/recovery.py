"""How services recovered from each fault: one row per (incident, affected service).

An incident *affects* a service when some task of that service has a stop row (a state row
into DEACTIVATING, STOPPING, DEPROVISIONING or STOPPED) carrying the incident's id, or when
some RUNNING task of the service sits on a host whose agent DISCONNECTED row carries it (an
*impaired* task: ECS keeps showing it RUNNING and does not replace it; see
:mod:`ecssim.analysis.incidents`). Counts are ECS's view, from the task state and health
rows (:func:`~ecssim.analysis.capacity.service_counts`). Columns:

================================  ========================================================
``incident_id``                   the fault occurrence (``inc-0001``)
``kind``                          ``instance_failure``, ``az_outage``, ``task_crash``, ...
``fault_time_s``                  when the fault happened
``service``                       the affected service
``tasks_lost``                    distinct tasks of the service the incident stopped
``time_to_first_replacement_s``   from the fault to the first RUNNING of a task of the
                                  service created at or after the fault
``time_to_desired_s``             from the fault to ``recovered_at_s``
``recovered_at_s``                first instant at or after the incident's last stop row
                                  for the service, and after its impaired tasks of the
                                  service left RUNNING, got their agent back or were found
                                  UNHEALTHY by their load balancer, at which the service's
                                  RUNNING count is at least its desired count
``overlapped``                    another row of the same service has a recovery window
                                  ``[fault_time_s, recovered_at_s]`` that intersects this
                                  row's (an unrecovered window extends to infinity)
``not_recovered_reason``          ``""``, or ``not_recovered_by_end_of_run``
``tasks_impaired``                distinct RUNNING tasks of the service on hosts whose agent
                                  the incident disconnected (not yet found UNHEALTHY then)
``time_to_detection_s``           from the fault to the first row by which ECS showed the
                                  incident (any of its task stop rows, its instances'
                                  INACTIVE rows, its agent DISCONNECTED rows); the same for
                                  every service of the incident
``time_to_first_placement_s``     from the fault to the creation (placement) of the first
                                  task of the service created at or after the fault
``time_to_healthy_s``             from the fault to the first instant, from the same start
                                  as ``recovered_at_s``, with at least desired *healthy*
                                  tasks (by the task health rows; see
                                  :mod:`ecssim.analysis.health`)
``shortfall_task_s``              task-seconds of shortfall: the integral of
                                  max(desired - RUNNING, 0) from the fault to
                                  ``recovered_at_s`` (or the end of the run)
``stall_reason``                  why recovery was slowed or stopped (first that applies):
                                  ``impaired_not_replaced`` (the row has impaired tasks
                                  that no UNHEALTHY verdict got replaced);
                                  ``circuit_breaker`` (a deployment of the service had a
                                  rollout row to FAILED, the deployment circuit breaker,
                                  between the fault and ``recovered_at_s`` or the end of
                                  the run); ``throttled`` (a task of the service stopped
                                  with ``TaskFailedToStart`` in that window, so ECS's
                                  start-failure throttle held its launches);
                                  ``no_capacity`` (a placement failure of the service in
                                  that window); ``not_recovered_by_end_of_run``; else
                                  ``""``
================================  ========================================================

Times not reached are NaN. Rows are ordered by fault time, incident id, then service name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecssim.analysis.capacity import service_counts
from ecssim.analysis.deployments import failed_rollouts
from ecssim.analysis.eventcodes import EventCodes
from ecssim.analysis.incidents import affected, detections
from ecssim.analysis.schema import SCHEMAS, conform
from ecssim.analysis.steps import integral, next_true

NOT_RECOVERED = "not_recovered_by_end_of_run"
STALL_IMPAIRED = "impaired_not_replaced"
STALL_CIRCUIT_BREAKER = "circuit_breaker"  # a rollout of the service FAILED while recovering
STALL_THROTTLED = "throttled"  # a start failed while recovering: ECS's start-failure throttle
STALL_NO_CAPACITY = "no_capacity"
#: Every value ``stall_reason`` may take besides "".
STALL_REASONS: tuple[str, ...] = (
    STALL_IMPAIRED, STALL_CIRCUIT_BREAKER, STALL_THROTTLED, STALL_NO_CAPACITY, NOT_RECOVERED,
)


def _per_service(rows: pd.DataFrame, table: pd.DataFrame, columns: list[str]):  # noqa: ANN202
    """Yield (row positions, that service's part of ``table``) for each service of ``rows``;
    the part is a dict of numpy arrays of ``columns`` (slicing numpy arrays per service is far
    cheaper than ``iloc`` on the frame)."""
    parts = table.groupby("service", sort=False).indices
    arrays = {column: table[column].to_numpy() for column in columns}
    nothing = np.array([], dtype=np.intp)
    for service, where in rows.groupby("service", sort=True).indices.items():
        at = parts.get(service, nothing)
        yield where, {column: values[at] for column, values in arrays.items()}


def _first_replacement(tasks: pd.DataFrame, rows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """Per row: first ``started_at_s`` and first ``created_at_s`` of a task of its service
    created at/after the fault."""
    started, created = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    fault = rows["fault_time_s"].to_numpy()
    columns = ["service", "created_at_s", "started_at_s"]  # not the whole table: its strings are slow to copy
    service_tasks = tasks.loc[tasks["service"] != "", columns].sort_values("created_at_s", kind="stable")
    for where, part in _per_service(rows, service_tasks, ["created_at_s", "started_at_s"]):
        at = part["created_at_s"]
        begun = np.where(np.isnan(part["started_at_s"]), np.inf, part["started_at_s"])
        suffix_min = np.minimum.accumulate(begun[::-1])[::-1]
        index = np.searchsorted(at, fault[where], side="left")
        found = index < len(at)
        created[where[found]] = at[index[found]]
        first = suffix_min[index[found]]
        started[where[found]] = np.where(np.isfinite(first), first, np.nan)
    return started, created


def _reached(counts: pd.DataFrame, rows: pd.DataFrame, since: np.ndarray, column: str) -> np.ndarray:
    """Per row: first instant >= ``since`` with ``column`` >= desired count (NaN if never)."""
    out = np.full(len(rows), np.nan)
    for where, part in _per_service(rows, counts, ["time_s", "desired_count", column]):
        ok = part[column] >= part["desired_count"]
        out[where] = next_true(part["time_s"], ok, since[where], before=True)
    return out


def _shortfall(counts: pd.DataFrame, rows: pd.DataFrame, until: np.ndarray) -> np.ndarray:
    """Per row: integral of max(desired - running, 0) from the fault to ``until``."""
    out = np.zeros(len(rows))
    fault = rows["fault_time_s"].to_numpy()
    for where, part in _per_service(rows, counts, ["time_s", "desired_count", "running"]):
        times = part["time_s"]
        gap = np.maximum(part["desired_count"] - part["running"], 0)
        out[where] = integral(times, gap, until[where]) - integral(times, gap, fault[where])
    return out


def _any_in_window(failures: pd.DataFrame, rows: pd.DataFrame, until: np.ndarray) -> np.ndarray:
    """Per row: a row of ``failures`` (any ``time_s``/``service`` frame: placement or start
    failures, failed rollouts) of its service in ``[fault_time_s, until]``."""
    out = np.zeros(len(rows), dtype=bool)
    fault = rows["fault_time_s"].to_numpy()
    ordered = failures[failures["service"] != ""].sort_values("time_s", kind="stable")
    for where, part in _per_service(rows, ordered, ["time_s"]):
        times = part["time_s"]
        first = np.searchsorted(times, fault[where], side="left")
        out[where] = np.searchsorted(times, until[where], side="right") > first
    return out


def _overlapped(rows: pd.DataFrame) -> np.ndarray:
    """True where another row of the same service has an intersecting recovery window."""
    out = np.zeros(len(rows), dtype=bool)
    ends_all = rows["recovered_at_s"].fillna(np.inf).to_numpy()
    for _, where in rows.groupby("service", sort=True).indices.items():
        order = where[np.argsort(rows["fault_time_s"].to_numpy()[where], kind="stable")]
        starts, ends = rows["fault_time_s"].to_numpy()[order], ends_all[order]
        # NaN sentinels: a comparison with NaN is False, also against an infinite end
        earlier_end = np.concatenate([[np.nan], np.maximum.accumulate(ends)[:-1]])
        later_start = np.concatenate([starts[1:], [np.nan]])
        out[order] = (earlier_end >= starts) | (later_start <= ends)
    return out


def _stall_reason(rows: pd.DataFrame, breaker: np.ndarray, throttled: np.ndarray,
                  no_capacity: np.ndarray) -> np.ndarray:
    """The first reason that applies per row, in the order of :data:`STALL_REASONS`."""
    conditions = [
        rows["tasks_unreplaced"].to_numpy() > 0,
        breaker,
        throttled,
        no_capacity,
        rows["recovered_at_s"].isna().to_numpy(),
    ]
    return np.select(conditions, list(STALL_REASONS), "")


def _failed_starts(tasks: pd.DataFrame) -> pd.DataFrame:
    """(time_s, service) of every service task that stopped without reaching RUNNING (TaskFailedToStart)."""
    failed = tasks.loc[tasks["stop_code"] == "TaskFailedToStart", ["stopped_at_s", "service"]]
    return pd.DataFrame({"time_s": failed["stopped_at_s"].to_numpy(dtype=float),
                         "service": failed["service"].to_numpy(dtype=object)})


def recovery_table(
    events: pd.DataFrame,
    tasks: pd.DataFrame,
    *,
    placement_failures: pd.DataFrame | None = None,
    counts: pd.DataFrame | None = None,
    end_s: float | None = None,
    codes: EventCodes | None = None,
) -> pd.DataFrame:
    """One row per (incident, affected service); see the module docstring for the columns.

    ``placement_failures``: the table of that name (without it no row is ``no_capacity``);
    ``counts``: :func:`~ecssim.analysis.capacity.service_counts` of ``events`` when already
    built; ``end_s``: the end of the run (default: the last row of the log), where an
    unrecovered shortfall stops being counted; ``codes``: the
    :class:`~ecssim.analysis.eventcodes.EventCodes` of ``events`` when already made.
    """
    codes = codes if codes is not None else EventCodes(events)
    end = float(end_s) if end_s is not None else float(events["time_s"].max() if len(events) else 0)
    if counts is None:
        counts = service_counts(events, codes=codes)
    rows = affected(events, tasks, codes)
    rows = rows.sort_values(["fault_time_s", "incident_id", "service"], kind="stable")
    rows = rows.reset_index(drop=True)
    fault = rows["fault_time_s"].to_numpy()
    started, created = _first_replacement(tasks, rows)
    rows["time_to_first_replacement_s"] = started - fault
    rows["time_to_first_placement_s"] = created - fault
    since = np.fmax(rows["last_loss_s"].to_numpy(), rows["impaired_until_s"].to_numpy())
    rows["recovered_at_s"] = _reached(counts, rows, since, "running")
    rows["time_to_desired_s"] = rows["recovered_at_s"] - rows["fault_time_s"]
    rows["time_to_healthy_s"] = _reached(counts, rows, since, "healthy") - fault
    rows["time_to_detection_s"] = rows["incident_id"].map(detections(events, codes)).astype(float) - fault
    until = np.fmax(rows["recovered_at_s"].fillna(end).to_numpy(), fault)
    rows["shortfall_task_s"] = _shortfall(counts, rows, until)
    rows["overlapped"] = _overlapped(rows)
    rows["not_recovered_reason"] = np.where(rows["recovered_at_s"].isna(), NOT_RECOVERED, "")
    failures = placement_failures if placement_failures is not None else pd.DataFrame(
        {"time_s": pd.Series(dtype=float), "service": pd.Series(dtype=str)}
    )
    breaker = _any_in_window(failed_rollouts(events, codes), rows, until)
    throttled = _any_in_window(_failed_starts(tasks), rows, until)
    no_capacity = _any_in_window(failures, rows, until)
    rows["stall_reason"] = _stall_reason(rows, breaker, throttled, no_capacity)
    return conform(rows, SCHEMAS["recovery"])
