"""Who held what where: per-task placement intervals and per-instance reservations over time.

The capacity table says how much of the *cluster* is reserved; the per-instance pictures
(Gantt timeline, utilisation heatmap, fragmentation scatter, animation) need the same
ledger broken down by instance. These pure functions rebuild it from the ``tasks``,
``instances`` and ``events`` tables with the capacity table's rules
(:mod:`ecssim.analysis.capacity`), so that summing any of them over instances gives the
cluster series back:

- a task reserves its CPU and memory on its instance from its creation (``created_at_s``,
  ECS places a task when it creates it) until its first state row into STOPPING or STOPPED
  (:data:`~ecssim.analysis.schema.CONTROL_PLANE_FREE_STATES`: ECS frees optimistically);
- an instance's capacity counts from its first transition to ACTIVE until it becomes
  INACTIVE (it is registered while ACTIVE or DRAINING).

Levels are step functions: a reservation holds on ``[placed_at_s, released_at_s)`` and an
instance on ``[active_from_s, active_until_s)``; NaN ends mean "still there at the end".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ecssim.analysis.schema import CONTROL_PLANE_FREE_STATES, RUNNING

#: Resource name -> (task column, instance registered column, unit label).
RESOURCES: dict[str, tuple[str, str, str]] = {
    "cpu": ("cpu", "cpu_registered", "CPU units"),
    "memory": ("memory_mib", "memory_registered_mib", "MiB"),
}

PLACEMENT_COLUMNS: tuple[str, ...] = (
    "task_id", "service", "instance_id", "az", "cpu", "memory_mib",
    "placed_at_s", "running_at_s", "released_at_s", "stop_code",
)
SPAN_COLUMNS: tuple[str, ...] = (
    "instance_id", "az", "fleet", "instance_type", "cpu_registered", "memory_registered_mib",
    "launched_at_s", "active_from_s", "active_until_s", "lost", "incident_id",
)


def _table(source: Any, name: str) -> pd.DataFrame:
    """Table ``name`` of a Result (attribute) or of a mapping of tables."""
    if isinstance(source, Mapping):
        return source[name]
    return getattr(source, name)


def resource_columns(resource: str) -> tuple[str, str, str]:
    """Task column, instance column and unit of ``resource`` ("cpu" or "memory")."""
    try:
        return RESOURCES[resource]
    except KeyError:
        raise ValueError(f"unknown resource {resource!r}; use one of: {', '.join(RESOURCES)}") from None


def task_placements(result_or_tables: Any) -> pd.DataFrame:
    """One row per task placed on an instance, with the interval it held resources there.

    Columns: ``task_id``, ``service`` ("" for standalone), ``instance_id``, ``az``, ``cpu``,
    ``memory_mib``, ``placed_at_s`` (created), ``running_at_s`` (first RUNNING; NaN if
    never), ``released_at_s`` (first row into STOPPING or STOPPED; NaN if still held at the
    end), ``stop_code``. Accepts a Result or a mapping with ``tasks`` and ``events`` tables.
    """
    tasks = _table(result_or_tables, "tasks")
    events = _table(result_or_tables, "events")
    rows = events[(events["entity"] == "task") & (events["event"] == "state")]
    freed = rows[rows["to_state"].isin(CONTROL_PLANE_FREE_STATES)]
    released = freed.groupby("entity_id", sort=False)["time_s"].min()
    running = rows[rows["to_state"] == RUNNING].groupby("entity_id", sort=False)["time_s"].min()
    placed = tasks[tasks["instance_id"] != ""]
    out = pd.DataFrame({
        "task_id": placed["task_id"],
        "service": placed["service"],
        "instance_id": placed["instance_id"],
        "az": placed["az"],
        "cpu": placed["cpu"],
        "memory_mib": placed["memory_mib"],
        "placed_at_s": placed["created_at_s"],
        "running_at_s": placed["task_id"].map(running).astype("float64"),
        "released_at_s": placed["task_id"].map(released).astype("float64"),
        "stop_code": placed["stop_code"],
    })
    return out.sort_values(["placed_at_s", "task_id"], kind="stable").reset_index(drop=True)


def instance_spans(result_or_tables: Any) -> pd.DataFrame:
    """One row per instance launched, with the interval its capacity was registered.

    Columns: ``instance_id``, ``az``, ``fleet``, ``instance_type``, ``cpu_registered``,
    ``memory_registered_mib``, ``launched_at_s``, ``active_from_s`` (first ACTIVE; NaN if it
    never registered), ``active_until_s`` (INACTIVE: terminated or deregistered; NaN if alive
    at the end), ``lost`` (terminated by a fault, i.e. with an incident id), ``incident_id``.
    Rows are ordered by AZ, then launch time, then id: the row order of every per-instance plot.
    """
    instances = _table(result_or_tables, "instances")
    out = pd.DataFrame({
        "instance_id": instances["instance_id"],
        "az": instances["az"],
        "fleet": instances["fleet"],
        "instance_type": instances["instance_type"],
        "cpu_registered": instances["cpu_registered"],
        "memory_registered_mib": instances["memory_registered_mib"],
        "launched_at_s": instances["launched_at_s"],
        "active_from_s": instances["registered_at_s"],
        "active_until_s": instances["terminated_at_s"],
        "lost": instances["terminated_at_s"].notna() & (instances["incident_id"] != ""),
        "incident_id": instances["incident_id"],
    })
    out = out.sort_values(["az", "launched_at_s", "instance_id"], kind="stable")
    return out.reset_index(drop=True)


def _holds(start: np.ndarray, end: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Boolean (rows x times): ``start <= t < end``, NaN end = open, NaN start = never."""
    start, end = start[:, None], end[:, None]
    return (start <= times[None, :]) & ~(end <= times[None, :])


def reservation_matrix(
    result_or_tables: Any, times_s: Sequence[float] | np.ndarray, *, resource: str = "cpu"
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Per instance and instant: reserved amount and registered amount of ``resource``.

    Returns ``(spans, reserved, registered)``: ``spans`` is :func:`instance_spans`, and the
    two arrays have one row per span row and one column per time in ``times_s``. ``reserved``
    counts every task holding the resource on that instance (also on an instance that is no
    longer registered, as the capacity table does); ``registered`` is NaN where the instance's
    capacity was not registered.
    """
    task_column, instance_column, _ = resource_columns(resource)
    times = np.asarray(times_s, dtype="float64")
    spans = instance_spans(result_or_tables)
    placements = task_placements(result_or_tables)
    row = pd.Series(np.arange(len(spans)), index=spans["instance_id"].to_numpy())
    placements = placements[placements["instance_id"].isin(row.index)]
    holds = _holds(placements["placed_at_s"].to_numpy(float),
                   placements["released_at_s"].to_numpy(float), times)
    amounts = holds * placements[task_column].to_numpy(float)[:, None]
    reserved = np.zeros((len(spans), len(times)))
    np.add.at(reserved, row[placements["instance_id"]].to_numpy(), amounts)
    active = _holds(spans["active_from_s"].to_numpy(float), spans["active_until_s"].to_numpy(float), times)
    registered = np.where(active, spans[instance_column].to_numpy(float)[:, None], np.nan)
    return spans, reserved, registered


def reserved_at(result_or_tables: Any, t: float) -> pd.DataFrame:
    """Per instance at time ``t``: registered, reserved and free CPU and memory.

    Columns: ``instance_id``, ``az``, ``active`` (capacity registered at ``t``),
    ``cpu_registered``, ``cpu_reserved``, ``cpu_free``, ``memory_registered_mib``,
    ``memory_reserved_mib``, ``memory_free_mib``. Registered (and free) amounts are 0 for an
    instance not registered at ``t``; reserved amounts count as in the capacity table, so
    their sums over instances equal the cluster row of ``capacity`` in force at ``t``.
    """
    spans, cpu, cpu_registered = reservation_matrix(result_or_tables, [t], resource="cpu")
    _, memory, memory_registered = reservation_matrix(result_or_tables, [t], resource="memory")
    active = ~np.isnan(cpu_registered[:, 0])
    cpu_reg = np.nan_to_num(cpu_registered[:, 0]).astype("int64")
    mem_reg = np.nan_to_num(memory_registered[:, 0]).astype("int64")
    cpu_res, mem_res = cpu[:, 0].astype("int64"), memory[:, 0].astype("int64")
    return pd.DataFrame({
        "instance_id": spans["instance_id"],
        "az": spans["az"],
        "active": active,
        "cpu_registered": cpu_reg,
        "cpu_reserved": cpu_res,
        "cpu_free": np.where(active, cpu_reg - cpu_res, 0),
        "memory_registered_mib": mem_reg,
        "memory_reserved_mib": mem_res,
        "memory_free_mib": np.where(active, mem_reg - mem_res, 0),
    })
