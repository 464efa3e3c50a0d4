"""The append-only record of a run: every state change, plus the registries of what was created.

The simulation writes plain tuples here (cheap in the hot path); ``ecssim.analysis`` turns them
into DataFrames once the run ends. Reports never read live model objects, only this log, so
every figure can be traced back to the rows that produced it.

Conventions (a public contract, see the README's "Tables" section):
- times are simulated seconds (float) since the start of the run;
- missing strings are ``""`` and missing numbers ``nan`` (never ``None``), so that the
  CSV output is byte-identical from run to run;
- ids are strings at this edge: tasks ``t-000001``, instances ``i-`` + 17 hex digits,
  incidents ``inc-0001``, placement failures ``pf-000001``, services by their ``serviceName``,
  deployments ``ecs-svc/`` + 19 digits.

Rows beyond plain state changes that the reports read (see ``ecssim.analysis``):
- task *health* rows (``entity="task"``, ``event="health"``): ``from_state`` the previous
  health (``UNKNOWN`` on a task's first), ``to_state`` ``HEALTHY`` or ``UNHEALTHY``, ``reason``
  "" or why (``Task failed ELB health checks in (target-group tg-web)``); the task's
  ``instance_id``, ``az``, ``service``, ``group``, ``task_definition``, ``incident_id`` as on
  its state rows. Written only for service tasks (REPLICA and DAEMON) and only while the
  task is RUNNING; its health ends, without a row, when it leaves RUNNING.
- *deployment* rows (``entity="deployment"``, ``entity_id`` the deployment id, ``service``
  the service, ``task_definition`` the deployment's ``family:revision``, ``incident_id`` ""):
  ``event="state"`` rows carry the deployment status (``""`` -> ``PRIMARY`` when created,
  ``PRIMARY`` -> ``ACTIVE`` when a newer one replaces it, ``ACTIVE``/``PRIMARY`` ->
  ``INACTIVE`` when it ends); ``event="rollout"`` rows carry the rolloutState (``""`` ->
  ``IN_PROGRESS`` at creation, then ``COMPLETED`` or ``FAILED``, with ``reason`` saying why
  it failed) and ``value`` = the deployment's failedTasks at that moment.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Iterable, Iterator

NAN = math.nan

#: Columns of one row of ``EventLog.events`` (the ``events`` table adds ``seq`` and,
#: with a ``startTime``, ``timestamp``).
EVENT_COLUMNS: tuple[str, ...] = (
    "time_s",  # float, simulated seconds
    "entity",  # "task" | "instance" | "service" | "deployment" | "fault" | "action"
    "entity_id",  # task id, instance id, service name, deployment id, incident id or action name
    "event",  # "state" for a state change; otherwise a named row ("health", "rollout", ...; README)
    "from_state",  # previous state, health or rolloutState ("" when the entity is new)
    "to_state",  # new state (for other rows: a detail such as the fault kind)
    "reason",  # stoppedReason for tasks, why a rollout FAILED, human text otherwise
    "stop_code",  # ECS stopCode for tasks reaching STOPPED ("" when ECS gives none)
    "instance_id",  # instance involved ("" if none)
    "az",  # availability zone of that instance ("" if none)
    "service",  # service name for service tasks/events ("" otherwise)
    "group",  # ECS task group (service:<name>, family:<family> or a RunTask group)
    "task_definition",  # family:revision of the task or deployment, "" for other rows
    "incident_id",  # the fault occurrence that caused this row ("" if none)
    "value",  # a number: desired count on service rows, failedTasks on rollout rows; else nan
)

#: One row per task created (ECS creates a task once it is placed, or when it starts waiting in
#: PROVISIONING for a capacity provider with managed scaling).
TASK_COLUMNS: tuple[str, ...] = (
    "task_id",
    "task_definition",  # family:revision
    "family",
    "group",
    "service",  # "" for standalone (RunTask) tasks
    "started_by",  # "service" | "workload:<name>" | "action:<name>" | "warmStart"
    "launch_type",  # "EC2"
    "network_mode",  # bridge | host | awsvpc | none
    "cpu",  # CPU units the task reserves (ECS's accounting, section 2.2)
    "memory_mib",  # MiB the task reserves
    "host_ports",  # static host ports, "80/tcp 443/tcp" ("" if none)
    "created_at_s",  # time the task was created (placed, or put in PROVISIONING to wait for capacity)
    "capacity_provider",  # the provider its strategy chose (FARGATE for launchType FARGATE, "" for EC2)
)

#: One row per container instance that was launched.
INSTANCE_COLUMNS: tuple[str, ...] = (
    "instance_id",
    "fleet",
    "instance_type",
    "az",
    "market",  # "on-demand" | "spot"
    "cpu_registered",
    "memory_registered_mib",
    "launched_at_s",
    "capacity_provider",  # the capacity provider of its Auto Scaling group (fleet), "" if none
)

#: One row per service.
SERVICE_COLUMNS: tuple[str, ...] = (
    "service",
    "task_definition",
    "scheduling_strategy",
    "desired_count",  # the initial desiredCount
    "maximum_percent",
    "minimum_healthy_percent",
)

#: One row per RunTask or service launch that found no instance (ECS creates no task then).
PLACEMENT_FAILURE_COLUMNS: tuple[str, ...] = (
    "failure_id",  # pf-000001, pf-000002, ... in order (what ``Result.explain`` takes)
    "time_s",
    "service",  # "" for RunTask
    "group",
    "task_definition",
    "started_by",
    "reason",  # RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, AGENT, NO_INSTANCES, ...
    "closest_instance_id",  # "" when there was no instance at all
)

#: One row per deployment of the ``deployments`` table. The log keeps no list of these: the
#: analysis recomputes them from the deployment rows of ``events`` (see module docstring).
DEPLOYMENT_COLUMNS: tuple[str, ...] = (
    "deployment_id",  # ecs-svc/0123456789012345678
    "service",
    "task_definition",  # family:revision the deployment runs
    "created_at_s",  # time of its first row (PRIMARY, IN_PROGRESS)
    "status",  # last status: PRIMARY | ACTIVE | INACTIVE
    "rollout_state",  # last rolloutState: IN_PROGRESS | COMPLETED | FAILED
    "rollout_state_reason",  # reason of its last rollout row
    "ended_at_s",  # time of its rollout row to COMPLETED or FAILED (nan while IN_PROGRESS)
    "failed_tasks",  # value (failedTasks) of its last rollout row (nan if none)
    "duration_s",  # ended_at_s - created_at_s
)

#: One row per message ECS would show in a service's event log.
SERVICE_EVENT_COLUMNS: tuple[str, ...] = (
    "time_s",
    "service",
    "kind",  # "started" | "stopped" | "unable_to_place" | "steady_state" | ...
    "message",  # the text ECS would show
)


#: Values in one ``events`` row.
ROW_WIDTH = len(EVENT_COLUMNS)


class EventRows:
    """The ``events`` rows, stored flat: one list of values, :data:`ROW_WIDTH` per row.

    It reads as a list of tuples (``len``, iteration, indexing and slicing give tuples) and
    grows by :meth:`append`. Stored as tuples, each of the millions of rows of a large run was
    one more object for Python's cyclic garbage collector to scan (a tenth of the simulation's
    time at 5,000 instances) and 48 bytes more; flat, a row costs only its values, and a
    column is one slice (:meth:`column`).
    """

    __slots__ = ("flat", "add")

    def __init__(self, rows: Iterable[tuple] = ()) -> None:
        self.flat: list = []
        #: Append one row without checking its width: the recorder's hot path, whose rows are
        #: always :data:`ROW_WIDTH` values (``list.extend``, no Python call).
        self.add = self.flat.extend
        self.extend(rows)

    def append(self, row: tuple) -> None:
        """Append one row of :data:`ROW_WIDTH` values."""
        if len(row) != ROW_WIDTH:
            raise ValueError(f"an events row has {ROW_WIDTH} values, got {len(row)}: {row!r}")
        self.flat.extend(row)

    def extend(self, rows: Iterable[tuple]) -> None:
        for row in rows:
            self.append(row)

    def column(self, position: int) -> list:
        """The values of column ``position`` (see ``EVENT_COLUMNS``), one per row."""
        return self.flat[position::ROW_WIDTH]

    def __len__(self) -> int:
        return len(self.flat) // ROW_WIDTH

    def __iter__(self) -> Iterator[tuple]:
        values = iter(self.flat)
        return zip(*(values,) * ROW_WIDTH, strict=True)

    def __getitem__(self, key: int | slice) -> tuple | list[tuple]:
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step != 1:
                return [self[k] for k in range(start, stop, step)]
            values = iter(self.flat[start * ROW_WIDTH:max(stop, start) * ROW_WIDTH])
            return list(zip(*(values,) * ROW_WIDTH, strict=True))
        k, rows = operator.index(key), len(self)
        if k < 0:
            k += rows
        if not 0 <= k < rows:
            raise IndexError("events row index out of range")
        return tuple(self.flat[k * ROW_WIDTH:(k + 1) * ROW_WIDTH])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, EventRows):
            return self.flat == other.flat
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # mutable, like a list

    def __repr__(self) -> str:
        return repr(list(self))

    def __getstate__(self) -> list:
        return self.flat

    def __setstate__(self, flat: list) -> None:
        self.flat = flat
        self.add = flat.extend


class EventLog:
    """Append-only lists of tuples (``events`` stored flat, see :class:`EventRows`); see the
    ``*_COLUMNS`` constants for their fields."""

    __slots__ = ("events", "tasks", "instances", "services", "placement_failures", "service_events")

    def __init__(self) -> None:
        self.events: EventRows = EventRows()
        self.tasks: list[tuple] = []
        self.instances: list[tuple] = []
        self.services: list[tuple] = []
        self.placement_failures: list[tuple] = []
        self.service_events: list[tuple] = []
