"""Level time series recomputed from the event log: cluster capacity and per-service counts.

Each series is built the same vectorised way: every relevant log row becomes a row of
*deltas* (+1 task RUNNING, -512 CPU units reserved, ...), the deltas are summed cumulatively
per scope, rows at the same instant are collapsed into the value after the last of them,
and instants where nothing changed in total are dropped (:mod:`ecssim.analysis.levels`).
The result is a step function: a level holds from its row's ``time_s`` until the next row
of the same scope; before the first row every level is 0.

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

from ecssim.analysis.eventcodes import CodedRows, EventCodes
from ecssim.analysis.groups import Groups, as_objects, previous_rows
from ecssim.analysis.health import HEALTH_EVENT, healthy_rows, status_codes
from ecssim.analysis.levels import (
    Deltas,
    Labels,
    level_rows,
    levels_frame,
    order_rows,
    ordered_levels,
    step_levels,
)
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


def _rows(codes: EventCodes, entity: str, kinds: tuple[str, ...]) -> CodedRows:
    """The rows of ``entity`` whose ``event`` is one of ``kinds``, in log (``seq``) order."""
    rows = codes.rows(codes.equals("entity", entity) & codes.member("event", kinds))
    seq = rows.number("seq")
    # the events table is in seq order already: sorting it again would only copy it
    if np.all(seq[1:] >= seq[:-1]):
        return rows
    return CodedRows(codes, rows.index[np.argsort(seq, kind="stable")])


def _deltas(rows: CodedRows, scope: np.ndarray | Labels | str, columns: dict[str, np.ndarray]) -> Deltas:
    """:class:`~ecssim.analysis.levels.Deltas` of ``rows`` (in log order)."""
    return Deltas(rows.number("seq"), rows.number("time_s"), scope, columns)


def _step_deltas(indicators: np.ndarray, entities: np.ndarray) -> np.ndarray:
    """Change of each 0/1 indicator from an entity's previous row (its first row starts at 0);
    ``entities``: one integer code per row."""
    groups = Groups(entities)
    return groups.ungroup(groups.step(indicators[groups.order]))


def _at(table: pd.Series, found: np.ndarray, fill: object) -> np.ndarray:
    """``table``'s value at each position of ``found`` (from ``positions_in``), ``fill`` at -1
    (strings as an object array)."""
    numeric = pd.api.types.is_numeric_dtype(table.dtype) and not pd.api.types.is_bool_dtype(table.dtype)
    values = table.to_numpy() if numeric else as_objects(table)
    out = values[found] if len(values) else np.full(len(found), fill, dtype=values.dtype)
    out[found < 0] = fill
    return out


def _az_of(rows: CodedRows, info: pd.DataFrame, key: str = "instance_id") -> Labels:
    """The row's AZ, or the AZ of its instance (``key`` in ``info``, the instances by id) when
    the row leaves it empty ("" for an unknown instance)."""
    logged = rows.source.names("az")  # the events' AZ names by code, then NaN (code -1)
    instance_codes, instance_names = pd.factorize(info["az"])
    # names: the events' AZs, then the instances' AZs, then "" (an instance not found)
    names = np.concatenate([logged, np.asarray(instance_names, dtype=object), [""]])
    by_instance = len(logged) + np.append(instance_codes, len(instance_names))[rows.positions_in(key, info.index)]
    own = rows.code("az")
    return Labels(np.where(rows.filled("az"), np.where(own < 0, len(logged) - 1, own), by_instance), names)


def _instance_part(rows: CodedRows, info: pd.DataFrame, scope: Labels) -> Deltas:
    """Registered-capacity deltas of the instance state rows ``rows`` (``info``: instances by id)."""
    registered = rows.member("to_state", REGISTERED_INSTANCE_STATES).astype(np.int64)
    change = _step_deltas(registered, rows.code("entity_id"))
    found = rows.positions_in("entity_id", info.index)
    deltas = {
        "instances_active": change,
        "cpu_registered": change * _at(info["cpu_registered"], found, 0),
        "memory_registered_mib": change * _at(info["memory_registered_mib"], found, 0),
    }
    return _deltas(rows, scope, deltas)


class _TaskRows:
    """The task ``state`` and ``placed`` rows as arrays, computed once for every kind of scope."""

    def __init__(self, rows: CodedRows, info: pd.DataFrame) -> None:
        self.rows = rows
        self.seq, self.time_s = rows.number("seq"), rows.number("time_s")
        self.codes = rows.code("entity_id")
        found = rows.positions_in("entity_id", info.index)
        #: the rows task by task, each task's rows in log order
        self.order = np.argsort(self.codes, kind="stable")
        self.cpu, self.memory = _at(info["cpu"], found, 0), _at(info["memory_mib"], found, 0)
        #: per row, its ``to_state`` code, then a last -1 (a missing state) that "no row" reads
        self.states = np.append(rows.code("to_state"), -1)
        self.freed = rows.member("to_state", CONTROL_PLANE_FREE_STATES)
        self.placed = rows.filled("instance_id")

    def part(self, keep: np.ndarray, scope: Labels) -> Deltas:
        """Task-state and control-plane-ledger deltas of the rows ``keep`` in one kind of scope.

        ``keep``: the rows with a scope (a task waiting in PROVISIONING has no instance, hence
        no AZ, until its ``placed`` row); each task's deltas start from 0 at its first kept
        row. A task reserves capacity from its first row with an instance until it is freed.
        """
        rows = self.order[keep[self.order]]  # task by task, each task's rows in log order
        tasks = Groups(self.codes[rows], order=np.arange(len(rows)))
        reserved = np.zeros(len(keep) + 1, dtype=np.int8)  # per row, then 0 for "no row"
        reserved[rows] = tasks.any_so_far(self.placed[rows]) & ~tasks.any_so_far(self.freed[rows])
        logged = slice(None) if len(rows) == len(keep) else np.flatnonzero(keep)
        before = previous_rows(rows, tasks.starts, len(keep))[logged]
        # each level's change from the task's previous kept row (0 before its first), in log order
        now, then = self.states[:-1][logged], self.states[before]
        columns = {}
        for name, states in _TASK_STATE_LEVELS.items():
            level = self.rows.source.table("to_state", states).astype(np.int8)  # per code, then -1: 0
            columns[name] = level[now] - level[then]
        change = reserved[:-1][logged] - reserved[before]
        columns["cpu_reserved"] = change * self.cpu[logged]
        columns["memory_reserved_mib"] = change * self.memory[logged]
        return Deltas(self.seq[logged], self.time_s[logged], scope.take(logged), columns)


def _host_part(rows: CodedRows, info: pd.DataFrame, scope: Labels) -> Deltas:
    """Host-ledger deltas of the ``host_acquired``/``host_released`` rows ``rows``."""
    sign = np.where(rows.member("event", ("host_acquired",)), 1, -1)
    found = rows.positions_in("entity_id", info.index)
    deltas = {
        "cpu_reserved_host": sign * _at(info["cpu"], found, 0),
        "memory_reserved_host_mib": sign * _at(info["memory_mib"], found, 0),
    }
    return _deltas(rows, scope, deltas)


def _provider_of(rows: CodedRows, tasks: pd.DataFrame, instances: pd.DataFrame) -> Labels:
    """``provider:<name>`` of each row: its instance's capacity provider, else its task's ("" if none)."""
    by_id = instances.set_index("instance_id")["capacity_provider"]
    by_instance = _at(by_id, rows.positions_in("instance_id", by_id.index), "")
    by_id = tasks.set_index("task_id")["capacity_provider"]
    by_task = _at(by_id, rows.positions_in("entity_id", by_id.index), "")
    return _provider_scope(np.where(rows.filled("instance_id"), by_instance, by_task))


def _provider_scope(names: np.ndarray) -> Labels:
    """``provider:<name>`` for each capacity provider name ("" stays "")."""
    codes, uniques = pd.factorize(names)
    labels = np.array([PROVIDER_PREFIX + name if name else "" for name in uniques] + [""], dtype=object)
    return Labels(np.where(codes < 0, len(uniques), codes), labels)  # a missing name takes the trailing ""


def capacity_table(
    events: pd.DataFrame, tasks: pd.DataFrame, instances: pd.DataFrame, *, codes: EventCodes | None = None
) -> pd.DataFrame:
    """Registered and reserved capacity and task-state counts at every change (module doc).

    Rows are ordered by ``time_s``, then ``cluster`` before the AZs and capacity providers in
    name order. ``codes``: :class:`~ecssim.analysis.eventcodes.EventCodes` of ``events`` when
    already made.
    """
    codes = codes if codes is not None else EventCodes(events)
    info = tasks.set_index("task_id")
    by_instance = instances.set_index("instance_id")
    task_rows = _TaskRows(_rows(codes, "task", ("state", "placed")), info)
    instance_rows = _rows(codes, "instance", ("state",))
    host_rows = _rows(codes, "task", ("host_acquired", "host_released"))
    instance_part = _instance_part(instance_rows, by_instance, _az_of(instance_rows, by_instance, "entity_id"))
    host_part = _host_part(host_rows, info, _az_of(host_rows, by_instance))
    az = _az_of(task_rows.rows, by_instance)
    in_az = az.filled()
    every_task = task_rows.part(np.ones(len(az), dtype=bool), az)
    # tasks waiting in PROVISIONING have no AZ yet; without such rows both parts are the same
    az_task = every_task if in_az.all() else task_rows.part(in_az, az)
    cluster = [part._replace(scope=CLUSTER) for part in (instance_part, every_task, host_part)]
    per_az = [instance_part, az_task, host_part]
    series = [level_rows(cluster, _LEVELS), level_rows(per_az, _LEVELS, scoped=True)]
    if (instances["capacity_provider"] != "").any() or (tasks["capacity_provider"] != "").any():
        parts = [levels_frame(one, "scope", _LEVELS) for one in series]
        parts.append(_provider_levels(codes, tasks, instances, info, task_rows))
        both = pd.concat(parts, ignore_index=True).reindex(columns=list(SCHEMAS["capacity"]))
        return conform(order_rows(both, "scope", first=CLUSTER), SCHEMAS["capacity"])
    both = ordered_levels(series, "scope", _LEVELS, first=CLUSTER).reindex(columns=list(SCHEMAS["capacity"]))
    return conform(both, SCHEMAS["capacity"])


def _provider_levels(codes: EventCodes, tasks: pd.DataFrame, instances: pd.DataFrame, info: pd.DataFrame,
                     task_rows: _TaskRows) -> pd.DataFrame:
    """The capacity provider scopes: levels over their instances and tasks, plus their N, M, metric and
    desired capacity (forward-filled from the provider's rows)."""
    by_instance = instances.set_index("instance_id")
    instance_rows = _rows(codes, "instance", ("state",))
    found = instance_rows.positions_in("entity_id", by_instance.index)
    instance_scope = _provider_scope(_at(by_instance["capacity_provider"], found, ""))
    instance_part = _instance_part(instance_rows, by_instance, instance_scope)
    host_rows = _rows(codes, "task", ("host_acquired", "host_released"))
    host_part = _host_part(host_rows, info, _provider_of(host_rows, tasks, instances))
    scope = _provider_of(task_rows.rows, tasks, instances)
    levels = step_levels([instance_part, task_rows.part(scope.filled(), scope), host_part], "scope", _LEVELS,
                         scoped=True)
    metric_rows = codes.events[codes.equals("entity", "capacity_provider")]
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
    return conform(order_rows(out, "scope", first=CLUSTER), SCHEMAS["capacity"])


def service_counts(events: pd.DataFrame, *, codes: EventCodes | None = None) -> pd.DataFrame:
    """Per-service step series: ``desired_count``, ``running``, ``pending``, ``healthy``.

    ``desired_count`` follows the service's ``desired_count`` rows; ``running`` counts its
    tasks in RUNNING and ``pending`` those in PROVISIONING, PENDING or ACTIVATING, from the
    task state rows; ``healthy`` counts its tasks that are healthy by their health rows (see
    :mod:`ecssim.analysis.health`). One row per service and change instant, ordered by time
    then name. ``codes``: :class:`~ecssim.analysis.eventcodes.EventCodes` of ``events`` when
    already made.
    """
    codes = codes if codes is not None else EventCodes(events)
    desired_rows = _rows(codes, "service", ("desired_count",))
    desired = pd.Series(desired_rows.number("value")).fillna(0).astype("int64").to_numpy()
    desired_part = _deltas(desired_rows, desired_rows.objects("entity_id"),
                           {"desired_count": _step_deltas(desired, desired_rows.code("entity_id"))})
    rows = _rows(codes, "task", ("state", HEALTH_EVENT))
    rows = rows.where(rows.filled("service"))
    tasks = Groups(rows.code("entity_id"))
    status = status_codes(rows, tasks)  # -1 (no state yet) reads the tables' trailing False
    running = codes.table("to_state", (RUNNING,))[status]
    indicators = [
        running,
        codes.table("to_state", (PROVISIONING, PENDING, ACTIVATING))[status],
        healthy_rows(rows, running),
    ]
    before = tasks.previous_rows()
    # each count's change from the task's previous row (a first row starts from 0), in log order
    changes = {}
    for name, flags in zip(_COUNT_LEVELS[1:], indicators, strict=True):
        flags = np.append(flags, False).view(np.int8)  # then 0 for "no previous row"
        changes[name] = flags[:-1] - flags[before]
    task_part = _deltas(rows, Labels(rows.code("service"), codes.names("service")), changes)
    counts = ordered_levels([level_rows([desired_part, task_part], _COUNT_LEVELS)], "service", _COUNT_LEVELS)
    return conform(counts, SCHEMAS["service_counts"])
