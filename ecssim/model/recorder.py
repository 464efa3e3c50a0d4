"""Writes the rows of the event log; the single place where a task changes state.

Keeping every transition here means each one is recorded the same way, zero-duration
transitions included, and listeners (the control plane) hear of it at once.

The hot rows read SimPy's ``env._now`` rather than the ``env.now`` property: the same value,
without a call per row (a task writes about twelve rows).
"""

from __future__ import annotations

import math

from .eventlog import EventLog
from .task import Task

NAN = math.nan


class Recorder:
    """Appends rows to an :class:`EventLog` at the environment's current time."""

    __slots__ = ("env", "log", "_add", "instance_ids", "instance_azs", "listener", "heard_states", "fargate_azs")

    def __init__(self, env, log: EventLog) -> None:  # noqa: ANN001
        self.env = env
        self.log = log
        events = log.events
        self._add = getattr(events, "add", events.append)  # EventRows' unchecked append, when it has one
        self.instance_ids: list[str] = []  # slot -> instance id
        self.instance_azs: list[str] = []  # slot -> AZ
        self.listener = None  # object with on_task_state(task, old, new) and on_task_health(...)
        #: The states whose transitions the listener hears (the others are only recorded):
        #: the control plane reacts to a few states, and this spares a call per other row.
        self.heard_states: frozenset[str] = frozenset()
        self.fargate_azs: list[str] = []  # Fargate AZ of slot -2, -3, ...

    # ------------------------------------------------------------------ tasks
    def remap_slots(self, new_of) -> None:  # noqa: ANN001
        """The cluster dropped slots and renumbered the others (``model.compaction``): follow suit."""
        kept = [slot for slot in range(len(self.instance_ids)) if new_of[slot] >= 0]
        self.instance_ids[:] = [self.instance_ids[s] for s in kept]
        self.instance_azs[:] = [self.instance_azs[s] for s in kept]

    def where(self, slot: int) -> tuple[str, str]:
        """(instance id, AZ) of a task's row: empty while it waits for capacity (slot -1); no
        instance, only the AZ, on Fargate (slots -2, -3, ...)."""
        if slot >= 0:
            return self.instance_ids[slot], self.instance_azs[slot]
        if slot == -1:
            return "", ""
        return "", self.fargate_azs[-2 - slot]

    def task_state(self, task: Task, new_state: str) -> None:
        """Record ``task`` moving to ``new_state`` and tell the listener."""
        old = task.state
        task.state = new_state
        slot = task.slot
        if slot >= 0:  # the common case, inline: this runs for every transition of every task
            instance_id, az = self.instance_ids[slot], self.instance_azs[slot]
        else:
            instance_id, az = self.where(slot)
        service = task.service
        self._add((
            self.env._now, "task", task.id, "state", old, new_state, task.stop_reason, task.stop_code,
            instance_id, az, service.name if service is not None else "", task.group, task.spec.key,
            task.incident, NAN,
        ))
        if new_state in self.heard_states:
            self.listener.on_task_state(task, old, new_state)

    def task_event(self, task: Task, event: str) -> None:
        """A non-state task row (pull_started, pull_stopped, host_acquired, host_released)."""
        slot = task.slot
        if slot >= 0:
            instance_id, az = self.instance_ids[slot], self.instance_azs[slot]
        else:
            instance_id, az = self.where(slot)
        service = task.service
        state = task.state
        self._add((
            self.env._now, "task", task.id, event, state, state, "", "", instance_id, az,
            service.name if service is not None else "", task.group, task.spec.key, task.incident, NAN,
        ))

    def task_health(self, task: Task, new_health: str, reason: str = "") -> None:
        """Record a service task's health changing (``event="health"``) and tell the listener."""
        old = task.health
        task.health = new_health
        slot = task.slot
        self._add((
            self.env.now, "task", task.id, "health", old, new_health,
            reason, "", *self.where(slot),
            task.service.name if task.service is not None else "", task.group, task.spec.key,
            task.incident, NAN,
        ))
        listener = self.listener
        if listener is not None:
            listener.on_task_health(task, old, new_health, reason)

    # ------------------------------------------------------------------ other entities
    def deployment(self, deployment_id: str, service: str, task_definition: str, event: str, old: str, new: str,
                   reason: str = "", value: float = NAN) -> None:
        """A service deployment's status (``event="state"``) or rolloutState (``event="rollout"``) changed."""
        self._add((
            self.env.now, "deployment", deployment_id, event, old, new, reason, "", "", "", service, "",
            task_definition, "", value,
        ))

    def instance_state(self, slot: int, old: str, new: str, reason: str = "", incident: str = "") -> None:
        self._add((
            self.env.now, "instance", self.instance_ids[slot], "state", old, new, reason, "",
            self.instance_ids[slot], self.instance_azs[slot], "", "", "", incident, NAN,
        ))

    def agent_state(self, slot: int, old: str, new: str, reason: str = "", incident: str = "") -> None:
        """The agent's connection changed (``event="agent"``: CONNECTED <-> DISCONNECTED)."""
        self._add((
            self.env.now, "instance", self.instance_ids[slot], "agent", old, new, reason, "",
            self.instance_ids[slot], self.instance_azs[slot], "", "", "", incident, NAN,
        ))

    def service_row(self, name: str, event: str, old: str, new: str, value: float = NAN, reason: str = "") -> None:
        self._add((
            self.env.now, "service", name, event, old, new, reason, "", "", "", name, "", "", "", value,
        ))

    def fault(self, incident: str, event: str, kind: str, name: str, *, instance_id: str = "", az: str = "",
              service: str = "") -> None:
        self._add((
            self.env.now, "fault", incident, event, "", kind, name, "", instance_id, az, service, "", "",
            incident, NAN,
        ))

    def action(self, name: str, kind: str, description: str, *, service: str = "", instance_id: str = "") -> None:
        self._add((
            self.env.now, "action", name, "action", "", kind, description, "", instance_id, "", service, "", "",
            "", NAN,
        ))

    def capacity_provider(self, name: str, event: str, old: str, new: str, value: float, reason: str = "") -> None:
        """A capacity provider's metric or desired capacity changed (``entity="capacity_provider"``)."""
        self._add((
            self.env.now, "capacity_provider", name, event, old, new, reason, "", "", "", "", "", "", "", value,
        ))

    def service_event(self, service: str, kind: str, message: str) -> None:
        self.log.service_events.append((self.env.now, service, kind, message))

    def placement_failure(self, service: str, group: str, task_definition: str, started_by: str, reason: str,
                          closest_instance_id: str) -> None:
        failures = self.log.placement_failures
        failures.append((f"pf-{len(failures) + 1:06d}", self.env.now, service, group, task_definition, started_by,
                         reason, closest_instance_id))
