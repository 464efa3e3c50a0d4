"""Column names and dtypes of every output table, and the helpers that enforce them.

One place says what each column holds, so that building a table, writing it and reading it
back all agree (a reloaded table equals the saved one, dtypes included). Dtypes:

- ``"str"``: pandas' string dtype; a missing string is ``""`` (never NaN), as in the log;
- ``"float64"``: times in seconds and other measures; missing is NaN (an empty CSV field);
- ``"int64"``: counts, CPU units and MiB;
- ``"bool"``: flags;
- instants also get a tz-aware ``datetime64[ns, tz]`` twin when the run has a ``startTime``
  (see :func:`add_timestamps`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ecssim.model.eventlog import (
    DEPLOYMENT_COLUMNS,
    EVENT_COLUMNS,
    INSTANCE_COLUMNS,
    PLACEMENT_FAILURE_COLUMNS,
    SERVICE_COLUMNS,
    SERVICE_EVENT_COLUMNS,
    TASK_COLUMNS,
)

# Task lifecycle states (ECS lastStatus) and the groups the tables count.
PROVISIONING, PENDING, ACTIVATING, RUNNING = "PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"
DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED = (
    "DEACTIVATING",
    "STOPPING",
    "DEPROVISIONING",
    "STOPPED",
)
#: States a task is in once a stop has been decided (``stoppingAt`` is the first of them).
STOP_STATES: tuple[str, ...] = (DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED)
#: States counted as ``tasks_stopping`` in the capacity table.
STOPPING_COUNT_STATES: tuple[str, ...] = (DEACTIVATING, STOPPING, DEPROVISIONING)
#: The control-plane ledger frees a task's resources at its first row into one of these.
CONTROL_PLANE_FREE_STATES: tuple[str, ...] = (STOPPING, STOPPED)
#: Instance states whose registered capacity counts.
REGISTERED_INSTANCE_STATES: tuple[str, ...] = ("ACTIVE", "DRAINING")

_STR, _F, _I, _B = "str", "float64", "int64", "bool"

_EVENT_TYPES = {"time_s": _F, "value": _F}
_TASK_TYPES = {"cpu": _I, "memory_mib": _I, "created_at_s": _F}
_INSTANCE_TYPES = {"cpu_registered": _I, "memory_registered_mib": _I, "launched_at_s": _F}
_SERVICE_TYPES = {"desired_count": _I, "maximum_percent": _I, "minimum_healthy_percent": _I}
_DEPLOYMENT_TYPES = {"created_at_s": _F, "ended_at_s": _F, "failed_tasks": _F, "duration_s": _F}


def _typed(columns: tuple[str, ...], special: dict[str, str]) -> dict[str, str]:
    return {c: special.get(c, _STR) for c in columns}


#: Column -> dtype for each table, in column order (timestamp twins excluded).
SCHEMAS: dict[str, dict[str, str]] = {
    "events": {"seq": _I, **_typed(EVENT_COLUMNS, _EVENT_TYPES)},
    "tasks": {
        **_typed(TASK_COLUMNS, _TASK_TYPES),
        "pull_started_at_s": _F,
        "pull_stopped_at_s": _F,
        "started_at_s": _F,
        "stopping_at_s": _F,
        "stopped_at_s": _F,
        "instance_id": _STR,
        "az": _STR,
        "last_status": _STR,
        "stop_code": _STR,
        "stopped_reason": _STR,
        "incident_id": _STR,
    },
    "instances": {
        **_typed(INSTANCE_COLUMNS, _INSTANCE_TYPES),
        "registered_at_s": _F,
        "terminated_at_s": _F,
        "termination_reason": _STR,
        "incident_id": _STR,
    },
    "services": _typed(SERVICE_COLUMNS, _SERVICE_TYPES),
    "deployments": _typed(DEPLOYMENT_COLUMNS, _DEPLOYMENT_TYPES),
    "placement_failures": _typed(PLACEMENT_FAILURE_COLUMNS, {"time_s": _F}),
    "service_events": _typed(SERVICE_EVENT_COLUMNS, {"time_s": _F}),
    "capacity": {
        "time_s": _F,
        "scope": _STR,
        "instances_active": _I,
        "cpu_registered": _I,
        "cpu_reserved": _I,
        "memory_registered_mib": _I,
        "memory_reserved_mib": _I,
        "cpu_reserved_host": _I,
        "memory_reserved_host_mib": _I,
        "tasks_provisioning": _I,
        "tasks_pending": _I,
        "tasks_activating": _I,
        "tasks_running": _I,
        "tasks_stopping": _I,
        "provider_instances": _F,
        "provider_instances_needed": _F,
        "capacity_provider_reservation": _F,
        "desired_capacity": _F,
    },
    "recovery": {
        "incident_id": _STR,
        "kind": _STR,
        "fault_time_s": _F,
        "service": _STR,
        "tasks_lost": _I,
        "time_to_first_replacement_s": _F,
        "time_to_desired_s": _F,
        "recovered_at_s": _F,
        "overlapped": _B,
        "not_recovered_reason": _STR,
        "tasks_impaired": _I,
        "time_to_detection_s": _F,
        "time_to_first_placement_s": _F,
        "time_to_healthy_s": _F,
        "shortfall_task_s": _F,
        "stall_reason": _STR,
    },
    "availability": {
        "service": _STR,
        "window_s": _F,
        "fraction_at_desired": _F,
        "fraction_at_minimum_healthy": _F,
        "fraction_down": _F,
        "mean_running": _F,
        "mean_healthy": _F,
        "mean_desired": _F,
    },
    "cost": {
        "resource_type": _STR,
        "resource_id": _STR,
        "instance_type": _STR,
        "market": _STR,
        "vcpu": _F,
        "memory_gb": _F,
        "start_s": _F,
        "end_s": _F,
        "billed_s": _F,
        "hourly_usd": _F,
        "cost_usd": _F,
    },
    "demand": {
        "time_s": _F,
        "service": _STR,
        "resource": _STR,
        "demand": _F,
        "running_tasks": _I,
        "capacity": _I,
        "served": _F,
        "unserved": _F,
        "utilization_pct": _F,
    },
    "service_counts": {
        "time_s": _F,
        "service": _STR,
        "desired_count": _I,
        "running": _I,
        "pending": _I,
        "healthy": _I,
    },
}

#: The tables a :class:`~ecssim.analysis.result.Result` saves, in file order.
TABLE_NAMES: tuple[str, ...] = (
    "events",
    "tasks",
    "instances",
    "services",
    "deployments",
    "placement_failures",
    "service_events",
    "capacity",
    "recovery",
    "availability",
    "cost",
    "demand",
)

_INSTANT = re.compile(r"^(time_s|fault_time_s|.*_at_s)$")


def timestamp_name(column: str) -> str | None:
    """Name of the timestamp twin of an instant column, or None for other columns.

    ``time_s`` -> ``timestamp``; ``fault_time_s`` -> ``fault_time``; ``X_at_s`` -> ``X_at``
    (so ``created_at_s`` -> ``created_at``, ECS's ``createdAt``). Durations such as
    ``time_to_desired_s`` have no twin.
    """
    if not _INSTANT.match(column):
        return None
    return "timestamp" if column == "time_s" else column[: -len("_s")]


def frame(rows: list[tuple] | np.ndarray | dict, schema: dict[str, str]) -> pd.DataFrame:
    """Build a DataFrame with exactly the schema's columns and dtypes."""
    columns = list(schema)
    if isinstance(rows, dict):
        df = pd.DataFrame({c: rows[c] for c in columns})
    else:
        df = pd.DataFrame.from_records(rows, columns=columns) if len(rows) else None
        if df is None:
            df = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return conform(df, schema)


def conform(df: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """Return ``df`` restricted to the schema's columns, in order, cast to its dtypes."""
    out = df.loc[:, list(schema)].reset_index(drop=True)
    return out.astype(schema)


def add_timestamps(df: pd.DataFrame, start_time: str | pd.Timestamp | None) -> pd.DataFrame:
    """Insert a tz-aware twin after every instant column (see :func:`timestamp_name`).

    ``start_time`` is the wall-clock time of simulated second 0, ISO 8601 with a zone
    (``"2024-05-01T09:00:00Z"``); with ``None`` the frame is returned unchanged. Missing
    instants (NaN) become NaT. A new frame is returned; the input is not modified.
    """
    if start_time is None:
        return df
    start = parse_start_time(start_time)
    out = df.copy()
    for column in list(df.columns):
        name = timestamp_name(column)
        if name is None or name in out.columns:
            continue
        stamps = start + pd.to_timedelta(out[column].to_numpy(dtype="float64"), unit="s")
        twin = pd.Series(stamps.as_unit("ns"), index=out.index)
        out.insert(out.columns.get_loc(column) + 1, name, twin)
    return out


def parse_start_time(start_time: str | pd.Timestamp) -> pd.Timestamp:
    """Parse an ISO 8601 start time; it must carry a zone so timestamps are unambiguous."""
    start = pd.Timestamp(start_time)
    if start.tz is None:
        raise ValueError(
            f"start time {start_time!r} has no time zone; add one, e.g. '2024-05-01T09:00:00Z'"
        )
    return start
