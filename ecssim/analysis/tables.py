"""Turn an :class:`~ecssim.model.eventlog.EventLog` into the per-thing output tables.

Pure functions, run once when the simulation ends. ``events`` is the log itself as a
DataFrame; ``tasks`` and ``instances`` add the lifecycle timestamps ECS shows
(``createdAt`` -> ``created_at_s`` and so on), recomputed from the ``events`` rows so that a
saved run can be re-analysed from its files alone. Column dtypes are fixed in
:mod:`ecssim.analysis.schema`; add wall-clock twins with
:func:`~ecssim.analysis.schema.add_timestamps`.

Task timestamps (seconds since the start of the run; NaN when the task never got there):

============================  =============================================================
``created_at_s``              the task was created (placed); ECS ``createdAt``
``pull_started_at_s``         first image pull started; ``pullStartedAt``
``pull_stopped_at_s``         last image pull finished; ``pullStoppedAt``
``started_at_s``              first transition to RUNNING; ``startedAt``
``stopping_at_s``             first transition to DEACTIVATING, STOPPING or STOPPED;
                              ``stoppingAt``
``stopped_at_s``              transition to STOPPED; ``stoppedAt``
``last_status``               the task's state when the run ended; ``lastStatus``
``stop_code``                 first non-empty stop code of its stop rows; ``stopCode``
                              ("" for host terminations: ECS documents none)
``stopped_reason``            first non-empty reason of its stop rows; ``stoppedReason``
``incident_id``               first fault incident found on its stop rows ("" if none)
============================  =============================================================
"""

from __future__ import annotations

import pandas as pd

from ecssim.analysis.lookup import lookup
from ecssim.analysis.schema import (
    RUNNING,
    SCHEMAS,
    STOP_STATES,
    STOPPED,
    conform,
    frame,
)
from ecssim.model.eventlog import (
    EVENT_COLUMNS,
    INSTANCE_COLUMNS,
    TASK_COLUMNS,
    EventLog,
)


def events_table(log: EventLog) -> pd.DataFrame:
    """Every row of the log, in order, with a leading ``seq`` (0, 1, ...) giving that order."""
    schema = SCHEMAS["events"]
    rows = log.events
    if not rows:
        return frame([], schema)
    # Column by column: a long run's millions of rows never become one object array at once.
    columns = {"seq": pd.Series(range(len(rows)), dtype=schema["seq"])}
    for index, name in enumerate(EVENT_COLUMNS):
        columns[name] = pd.Series([row[index] for row in rows], dtype=schema[name])
    return pd.DataFrame(columns, copy=False)


def services_table(log: EventLog) -> pd.DataFrame:
    """One row per service, as the simulator registered it (initial desired count)."""
    return frame(log.services, SCHEMAS["services"])


def placement_failures_table(log: EventLog) -> pd.DataFrame:
    """One row per launch that found no instance (ECS created no task then)."""
    return frame(log.placement_failures, SCHEMAS["placement_failures"])


def service_events_table(log: EventLog) -> pd.DataFrame:
    """One row per message ECS would show in a service's event log."""
    return frame(log.service_events, SCHEMAS["service_events"])


def _first(rows: pd.DataFrame, column: str, how: str = "first") -> pd.Series:
    """Per-entity first (or min/max/last) value of ``column`` among ``rows``."""
    return rows.groupby("entity_id", sort=False)[column].agg(how)


def _attach(
    base: pd.DataFrame, key: str, values: dict[str, pd.Series], fill: dict[str, object]
) -> pd.DataFrame:
    """Add one column per ``values`` entry by looking ``base[key]`` up in it."""
    out = base.copy()
    for name, series in values.items():
        out[name] = lookup(out[key], series, fill[name]) if len(series) else fill[name]
    return out


def _per_task(events: pd.DataFrame, mask: pd.Series, column: str, how: str = "first") -> pd.Series:
    """Per-task first (or min/max/last) value of ``column`` among the rows of ``mask``.

    Only the two columns it needs are taken from the rows (a long run has millions of them).
    """
    rows = events.loc[mask, ["entity_id", column]]
    return rows.groupby("entity_id", sort=False)[column].agg(how)


def tasks_table(log: EventLog, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per task created: the registry row plus ECS's lifecycle fields (see module doc).

    ``events`` is the already built ``events`` table (built from ``log`` when omitted).
    """
    if events is None:
        events = events_table(log)
    schema = SCHEMAS["tasks"]
    base = frame(log.tasks, {c: schema[c] for c in TASK_COLUMNS})
    is_task = events["entity"] == "task"
    event, to_state = events["event"], events["to_state"]
    state = is_task & (event == "state")
    stops = state & to_state.isin(STOP_STATES)
    nan = float("nan")
    times = {
        "pull_started_at_s": _per_task(events, is_task & (event == "pull_started"), "time_s", "min"),
        "pull_stopped_at_s": _per_task(events, is_task & (event == "pull_stopped"), "time_s", "max"),
        "started_at_s": _per_task(events, state & (to_state == RUNNING), "time_s", "min"),
        "stopping_at_s": _per_task(events, stops, "time_s", "min"),
        "stopped_at_s": _per_task(events, state & (to_state == STOPPED), "time_s", "min"),
    }
    labels = {
        "instance_id": _per_task(events, is_task & (events["instance_id"] != ""), "instance_id"),
        # Fargate tasks have an AZ but no instance
        "az": _per_task(events, is_task & (events["az"] != ""), "az"),
        "last_status": _per_task(events, state, "to_state", "last"),
        "stop_code": _per_task(events, stops & (events["stop_code"] != ""), "stop_code"),
        "stopped_reason": _per_task(events, stops & (events["reason"] != ""), "reason"),
        "incident_id": _per_task(events, stops & (events["incident_id"] != ""), "incident_id"),
    }
    fill = {**dict.fromkeys(times, nan), **dict.fromkeys(labels, "")}
    return conform(_attach(base, "task_id", {**times, **labels}, fill), schema)


def instances_table(log: EventLog, events: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per instance launched, plus when it registered and when/why it was terminated.

    ``registered_at_s`` is its first transition to ACTIVE (the agent registered);
    ``terminated_at_s``, ``termination_reason`` and ``incident_id`` come from its first
    transition to INACTIVE (NaN / "" while it is still alive at the end of the run).
    """
    if events is None:
        events = events_table(log)
    schema = SCHEMAS["instances"]
    base = frame(log.instances, {c: schema[c] for c in INSTANCE_COLUMNS})
    state = events[(events["entity"] == "instance") & (events["event"] == "state")]
    gone = state[state["to_state"] == "INACTIVE"]
    values = {
        "registered_at_s": _first(state[state["to_state"] == "ACTIVE"], "time_s", "min"),
        "terminated_at_s": _first(gone, "time_s"),
        "termination_reason": _first(gone, "reason"),
        "incident_id": _first(gone, "incident_id"),
    }
    fill = {"registered_at_s": float("nan"), "terminated_at_s": float("nan")}
    fill |= {"termination_reason": "", "incident_id": ""}
    return conform(_attach(base, "instance_id", values, fill), schema)
