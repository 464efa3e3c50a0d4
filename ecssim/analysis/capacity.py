"""Level time series recomputed from the event log: cluster capacity and per-service counts.

Each series is built the same vectorised way: every relevant log row becomes a row of
*deltas* (+1 task RUNNING, -512 CPU units reserved, ...), the deltas are summed cumulatively
per scope, rows at the same instant are collapsed into the value after the last of them,
and instants where nothing changed in total are dropped. The result is a step function: a
level holds from its row's ``time_s`` until the next row of the same scope; before the
first row every level is 0.

Capacity columns (``capacity`` table, one row per scope and change instant; ``scope`` is
``"cluster"`` or an availability-zone name):

=============================  ==========================================================
``instances_active``           container instances whose capacity is registered
                               (state ACTIVE or DRAINING)
``cpu_registered``             CPU units those instances registered
``memory_registered_mib``      MiB those instances registered
``cpu_reserved``               CPU units reserved by the control-plane ledger: from a
                               task's creation until its first row into STOPPING or
                               STOPPED (ECS frees optimistically at STOPPING)
``memory_reserved_mib``        MiB reserved by the control-plane ledger
``cpu_reserved_host``          CPU units held by the host (agent) ledger: from a task's
                               ``host_acquired`` row to its ``host_released`` row
``memory_reserved_host_mib``   MiB held by the host ledger
``tasks_provisioning``         tasks in PROVISIONING
``tasks_pending``              tasks in PENDING
``tasks_activating``           tasks in ACTIVATING
``tasks_running``              tasks in RUNNING
``tasks_stopping``             tasks in DEACTIVATING, STOPPING or DEPROVISIONING
=============================  ==========================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecssim.analysis.health import HEALTH_EVENT, healthy_flags, task_status
from ecssim.analysis.lookup import lookup
from ecssim.analysis.schema import (
    ACTIVATING,
    CONTROL_PLANE_FREE_STATES,
    PENDING,
    PROVISIONING,
    REGISTERED_INSTANCE_STATES,
    RUNNING,
    SCHEMAS,
    STOPPING_COUNT_STATES,
    conform,
)

CLUSTER = "cluster"
#: Scope of a capacity provider's rows: ``provider:<name>``.
PROVIDER_PREFIX = "provider:"
#: The capacity provider figures, from its ``capacity_provider`` rows (NaN in other scopes).
PROVIDER_METRICS = {
    "provider_instances": "instances",
    "provider_instances_needed": "instances_needed",
    "capacity_provider_reservation": "reservation",
    "desired_capacity": "desired_capacity",
}
_ALL_LEVELS = [c for c in SCHEMAS["capacity"] if c not in ("time_s", "scope")]
_LEVELS = [c for c in _ALL_LEVELS if c not in PROVIDER_METRICS]
_COUNT_LEVELS = [c for c in SCHEMAS["service_counts"] if c not in ("time_s", "service")]
_TASK_STATE_LEVELS = {
    "tasks_provisioning": (PROVISIONING,),
    "tasks_pending": (PENDING,),
    "tasks_activating": (ACTIVATING,),
    "tasks_running": (RUNNING,),
    "tasks_stopping": STOPPING_COUNT_STATES,
}


#: The columns of ``events`` the capacity and service-count computations read (taking only
#: these keeps row selections of long runs cheap).
_ROW_COLUMNS = ["seq", "time_s", "entity_id", "event", "to_state", "instance_id", "az", "service", "value"]


def _rows(events: pd.DataFrame, entity: str, kinds: tuple[str, ...]) -> pd.DataFrame:
    mask = (events["entity"] == entity) & events["event"].isin(kinds)
    return events.loc[mask, _ROW_COLUMNS].sort_values("seq", kind="stable")


def _step_deltas(indicators: pd.DataFrame, entity_ids: pd.Series) -> pd.DataFrame:
    """Change of each 0/1 indicator from an entity's previous row (its first row starts at 0)."""
    previous = indicators.groupby(entity_ids.to_numpy(), sort=False).shift(fill_value=0)
    return indicators - previous


def _delta_frame(rows: pd.DataFrame, az: pd.Series, deltas: dict[str, pd.Series]) -> pd.DataFrame:
    out = pd.DataFrame({"seq": rows["seq"], "time_s": rows["time_s"], "az": az})
    for name, values in deltas.items():
        out[name] = np.asarray(values, dtype="int64")
    return out


def _az_of(rows: pd.DataFrame, instances: pd.DataFrame) -> pd.Series:
    """The row's AZ, or the AZ of its instance when the row leaves it empty."""
    by_instance = lookup(rows["instance_id"], instances.set_index("instance_id")["az"], "")
    return rows["az"].where(rows["az"] != "", by_instance).astype("str")


def _instance_deltas(events: pd.DataFrame, instances: pd.DataFrame) -> pd.DataFrame:
    rows = _rows(events, "instance", ("state",))
    on = rows["to_state"].isin(REGISTERED_INSTANCE_STATES).astype("int64").to_frame("on")
    change = _step_deltas(on, rows["entity_id"])["on"]
    info = instances.set_index("instance_id")
    cpu = lookup(rows["entity_id"], info["cpu_registered"], 0)
    memory = lookup(rows["entity_id"], info["memory_registered_mib"], 0)
    az = rows["az"].where(rows["az"] != "", lookup(rows["entity_id"], info["az"], ""))
    return _delta_frame(
        rows,
        az,
        {
            "instances_active": change,
            "cpu_registered": change * cpu,
            "memory_registered_mib": change * memory,
        },
    )


def _task_deltas(rows: pd.DataFrame, scope: pd.Series, info: pd.DataFrame) -> pd.DataFrame:
    """Task-state and control-plane-ledger deltas of the task rows in one kind of scope.

    ``rows``: the ``state`` and ``placed`` rows of the tasks, restricted to those with a
    scope (a task waiting in PROVISIONING has no instance, hence no AZ, until its ``placed``
    row); each task's deltas start from 0 at its first row in the kind of scope. A task
    reserves capacity from its first row with an instance until it is freed.
    """
    ids = rows["entity_id"]
    cpu, memory = lookup(ids, info["cpu"], 0), lookup(ids, info["memory_mib"], 0)
    levels = {name: rows["to_state"].isin(states) for name, states in _TASK_STATE_LEVELS.items()}
    by_task = ids.to_numpy()
    freed = rows["to_state"].isin(CONTROL_PLANE_FREE_STATES).groupby(by_task).cummax()
    placed = (rows["instance_id"] != "").groupby(by_task).cummax()
    indicators = pd.DataFrame({**levels, "reserved": placed & ~freed}).astype("int64")
    change = _step_deltas(indicators, ids)
    reserved = change.pop("reserved")
    deltas = {c: change[c] for c in change.columns}
    deltas |= {"cpu_reserved": reserved * cpu, "memory_reserved_mib": reserved * memory}
    return _delta_frame(rows, scope, deltas)


def _host_deltas(events: pd.DataFrame, info: pd.DataFrame, instances: pd.DataFrame) -> pd.DataFrame:
    host = _rows(events, "task", ("host_acquired", "host_released"))
    sign = np.where(host["event"] == "host_acquired", 1, -1)
    hids = host["entity_id"]
    return _delta_frame(
        host,
        _az_of(host, instances),
        {
            "cpu_reserved_host": sign * lookup(hids, info["cpu"], 0),
            "memory_reserved_host_mib": sign * lookup(hids, info["memory_mib"], 0),
        },
    )


def _provider_of(rows: pd.DataFrame, tasks: pd.DataFrame, instances: pd.DataFrame) -> pd.Series:
    """``provider:<name>`` of each row: its instance's capacity provider, else its task's ("" if none)."""
    by_instance = lookup(rows["instance_id"], instances.set_index("instance_id")["capacity_provider"], "")
    by_task = lookup(rows["entity_id"], tasks.set_index("task_id")["capacity_provider"], "")
    name = by_instance.where(rows["instance_id"] != "", by_task).astype("str")
    return (PROVIDER_PREFIX + name).where(name != "", "")


def _levels(deltas: pd.DataFrame, key: str, columns: list[str]) -> pd.DataFrame:
    """Cumulative levels per ``key``, collapsed to the last value per instant, changes only."""
    levels = deltas.groupby(key, sort=False)[columns].cumsum()
    out = pd.concat([deltas[["time_s", key]], levels], axis=1)
    out = out.drop_duplicates(["time_s", key], keep="last")
    previous = out.groupby(key, sort=False)[columns].shift(fill_value=0)
    return out[(out[columns] != previous).any(axis=1)]


def _order(df: pd.DataFrame, key: str, first: str | None = None) -> pd.DataFrame:
    """Sort by time, then by key name (``first`` before all others); stable, hash-free."""
    rank = (df[key] != first).astype("int64") if first is not None else 0
    df = df.assign(_rank=rank).sort_values(["time_s", "_rank", key], kind="stable")
    return df.drop(columns="_rank")


def capacity_table(
    events: pd.DataFrame, tasks: pd.DataFrame, instances: pd.DataFrame
) -> pd.DataFrame:
    """Registered and reserved capacity and task-state counts at every change (module doc).

    Rows are ordered by ``time_s``, then ``cluster`` before the AZs and capacity providers in
    name order.
    """
    info = tasks.set_index("task_id")
    task_rows = _rows(events, "task", ("state", "placed"))
    instance_part = _instance_deltas(events, instances)
    host_part = _host_deltas(events, info, instances)
    az = _az_of(task_rows, instances)
    cluster = _levels(_deltas([instance_part, _task_deltas(task_rows, az, info), host_part]).assign(scope=CLUSTER),
                      "scope", _LEVELS)
    zoned = task_rows[az != ""]
    per_az = _deltas([instance_part, _task_deltas(zoned, az[az != ""], info), host_part])
    per_az = _levels(per_az[per_az["az"] != ""].rename(columns={"az": "scope"}), "scope", _LEVELS)
    parts = [cluster, per_az]
    if (instances["capacity_provider"] != "").any() or (tasks["capacity_provider"] != "").any():
        parts.append(_provider_levels(events, tasks, instances, info, task_rows))
    both = pd.concat(parts, ignore_index=True).reindex(columns=list(SCHEMAS["capacity"]))
    return conform(_order(both, "scope", first=CLUSTER), SCHEMAS["capacity"])


def _deltas(parts: list[pd.DataFrame]) -> pd.DataFrame:
    deltas = pd.concat(parts, ignore_index=True).fillna(dict.fromkeys(_LEVELS, 0))
    deltas = deltas.astype(dict.fromkeys(_LEVELS, "int64")).sort_values("seq", kind="stable")
    return deltas[(deltas[_LEVELS] != 0).any(axis=1)]


def _provider_levels(events: pd.DataFrame, tasks: pd.DataFrame, instances: pd.DataFrame, info: pd.DataFrame,
                     task_rows: pd.DataFrame) -> pd.DataFrame:
    """The capacity provider scopes: levels over their instances and tasks, plus their N, M, metric and
    desired capacity (forward-filled from the provider's rows)."""
    by_instance = instances.set_index("instance_id")["capacity_provider"]
    instance_part = _instance_deltas(events, instances)
    iid = events.loc[instance_part.index, "entity_id"] if len(instance_part) else pd.Series([], dtype="str")
    instance_part["az"] = (PROVIDER_PREFIX + iid.map(by_instance).astype(object).fillna("")).where(
        iid.map(by_instance).astype(object).fillna("") != "", "")
    host_rows = _rows(events, "task", ("host_acquired", "host_released"))
    host_part = _host_deltas(events, info, instances)
    host_part["az"] = _provider_of(host_rows, tasks, instances).to_numpy()
    scope = _provider_of(task_rows, tasks, instances)
    task_part = _task_deltas(task_rows[scope != ""], scope[scope != ""], info)
    deltas = _deltas([instance_part, task_part, host_part])
    levels = _levels(deltas[deltas["az"] != ""].rename(columns={"az": "scope"}), "scope", _LEVELS)
    metric_rows = events[events["entity"] == "capacity_provider"]
    if metric_rows.empty:
        return levels
    metrics = metric_rows.assign(scope=PROVIDER_PREFIX + metric_rows["entity_id"].astype("str"))
    metrics = metrics.pivot_table(index=["time_s", "scope"], columns="event", values="value", aggfunc="last")
    metrics = metrics.reindex(columns=list(PROVIDER_METRICS.values())).reset_index()
    metrics = metrics.rename(columns={v: k for k, v in PROVIDER_METRICS.items()})
    out = pd.concat([levels, metrics], ignore_index=True).sort_values(["scope", "time_s"], kind="stable")
    out = out.groupby(["scope", "time_s"], sort=False).last().reset_index()
    filled = out.groupby("scope", sort=False)[_ALL_LEVELS].ffill()
    filled[_LEVELS] = filled[_LEVELS].fillna(0)
    return pd.concat([out[["time_s", "scope"]], filled], axis=1)


def _seconds(every: str | float | pd.Timedelta) -> float:
    if isinstance(every, (int, float)):
        return float(every)
    return pd.Timedelta(every).total_seconds()


def resample_capacity(
    capacity: pd.DataFrame,
    every: str | float | pd.Timedelta = "1min",
    *,
    start_s: float = 0.0,
    end_s: float | None = None,
) -> pd.DataFrame:
    """The capacity step series sampled on a regular grid, per scope (forward-filled).

    ``every`` is a pandas duration (``"1min"``, ``"30s"``) or a number of seconds; the grid
    runs from ``start_s`` to ``end_s`` inclusive (default: the last change in ``capacity``).
    Each sample is the level in force at that instant (0 before a scope's first row).
    The output has the capacity columns only; add wall-clock twins with ``add_timestamps``.
    """
    step = _seconds(every)
    if step <= 0:
        raise ValueError(f"resample step must be positive, got {every!r}")
    if end_s is None:
        end_s = float(capacity["time_s"].max()) if len(capacity) else start_s
    grid = start_s + step * np.arange(int(np.floor((end_s - start_s) / step + 1e-9)) + 1)
    pieces = []
    for scope in pd.unique(capacity["scope"]):
        part = capacity[capacity["scope"] == scope]
        index = np.searchsorted(part["time_s"].to_numpy(), grid, side="right") - 1
        values = part[_ALL_LEVELS].to_numpy()[np.clip(index, 0, None)]
        values[index < 0] = 0
        piece = pd.DataFrame(values, columns=_ALL_LEVELS)
        piece.insert(0, "scope", scope)
        piece.insert(0, "time_s", grid)
        pieces.append(piece)
    if not pieces:
        return conform(capacity, SCHEMAS["capacity"])
    out = pd.concat(pieces, ignore_index=True)
    return conform(_order(out, "scope", first=CLUSTER), SCHEMAS["capacity"])


def service_counts(events: pd.DataFrame) -> pd.DataFrame:
    """Per-service step series: ``desired_count``, ``running``, ``pending``, ``healthy``.

    ``desired_count`` follows the service's ``desired_count`` rows; ``running`` counts its
    tasks in RUNNING and ``pending`` those in PROVISIONING, PENDING or ACTIVATING, from the
    task state rows; ``healthy`` counts its tasks that are healthy by their health rows (see
    :mod:`ecssim.analysis.health`). One row per service and change instant, ordered by time
    then name.
    """
    desired_rows = _rows(events, "service", ("desired_count",))
    desired = desired_rows["value"].fillna(0).astype("int64").to_frame("desired_count")
    desired_part = _delta_frame(
        desired_rows,
        desired_rows["entity_id"],
        {"desired_count": _step_deltas(desired, desired_rows["entity_id"])["desired_count"]},
    )
    rows = _rows(events, "task", ("state", HEALTH_EVENT))
    rows = rows[rows["service"] != ""]
    status = task_status(rows)
    indicators = pd.DataFrame(
        {
            "running": status == RUNNING,
            "pending": status.isin((PROVISIONING, PENDING, ACTIVATING)),
            "healthy": healthy_flags(rows, status),
        }
    ).astype("int64")
    change = _step_deltas(indicators, rows["entity_id"])
    task_part = _delta_frame(rows, rows["service"], dict(change.items()))
    deltas = pd.concat([desired_part, task_part], ignore_index=True)
    deltas = deltas.fillna(dict.fromkeys(_COUNT_LEVELS, 0)).astype(
        dict.fromkeys(_COUNT_LEVELS, "int64")
    )
    deltas = deltas.sort_values("seq", kind="stable").rename(columns={"az": "service"})
    deltas = deltas[(deltas[_COUNT_LEVELS] != 0).any(axis=1)]
    counts = _levels(deltas, "service", _COUNT_LEVELS)
    return conform(_order(counts, "service"), SCHEMAS["service_counts"])
