"""The append-only record of a run: every state change, plus the registries of what was created.

The simulation writes plain tuples here (cheap in the hot path); ``ecssim.analysis`` turns them
into DataFrames once the run ends. Reports never read live model objects, only this log, so
every figure can be traced back to the rows that produced it.

Conventions (a public contract, see the README's "Tables" section):
- times are simulated seconds (float) since the start of the run;
- missing strings are ``""`` and missing numbers ``nan`` (never ``None``), so that the
  CSV output is byte-identical from run to run;
- ids are strings at this edge: tasks ``t-000001``, instances ``i-`` + 17 hex digits,
  incidents ``inc-0001``, placement failures ``pf-000001``, services by their ``serviceName``.
"""

from __future__ import annotations

import math

NAN = math.nan

#: Columns of one row of ``EventLog.events`` (the ``events`` table adds ``seq`` and,
#: with a ``startTime``, ``timestamp``).
EVENT_COLUMNS: tuple[str, ...] = (
    "time_s",  # float, simulated seconds
    "entity",  # "task" | "instance" | "service" | "fault" | "action"
    "entity_id",  # task id, instance id, service name, incident id or action name
    "event",  # "state" for a state change; otherwise a named non-state row (see README)
    "from_state",  # previous state ("" when the entity is new)
    "to_state",  # new state (for non-state rows: a detail such as the fault kind)
    "reason",  # stoppedReason for tasks, human text otherwise
    "stop_code",  # ECS stopCode for tasks reaching STOPPED ("" when ECS gives none)
    "instance_id",  # instance involved ("" if none)
    "az",  # availability zone of that instance ("" if none)
    "service",  # service name for service tasks/events ("" otherwise)
    "group",  # ECS task group (service:<name>, family:<family> or a RunTask group)
    "task_definition",  # family:revision of the task, "" for non-task rows
    "incident_id",  # the fault occurrence that caused this row ("" if none)
    "value",  # a number carried by the row (desired count for service rows), else nan
)

#: One row per task created (ECS creates a task only once it has been placed).
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
    "created_at_s",  # time the task was created (placed)
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

#: One row per message ECS would show in a service's event log.
SERVICE_EVENT_COLUMNS: tuple[str, ...] = (
    "time_s",
    "service",
    "kind",  # "started" | "stopped" | "unable_to_place" | "steady_state" | ...
    "message",  # the text ECS would show
)


class EventLog:
    """Append-only lists of tuples; see the ``*_COLUMNS`` constants for their fields."""

    __slots__ = ("events", "tasks", "instances", "services", "placement_failures", "service_events")

    def __init__(self) -> None:
        self.events: list[tuple] = []
        self.tasks: list[tuple] = []
        self.instances: list[tuple] = []
        self.services: list[tuple] = []
        self.placement_failures: list[tuple] = []
        self.service_events: list[tuple] = []
