"""One instant of a narrated run: its rows gathered, grouped and turned into lines.

A :class:`Moment` is fed the event rows of one simulated instant in ``seq`` order, then that
instant's placement failures and service events; :meth:`Moment.finish` groups them (see
:mod:`ecssim.insight.narrate` for what is told and what is left out) and returns the lines,
each placed at the ``seq`` of the first row it tells.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ecssim.analysis.schema import RUNNING, STOP_STATES, STOPPED
from ecssim.insight import narrate_text as text
from ecssim.insight.narrate_placement import PlacementLedger

#: Task rows that are routine plumbing, never narrated.
SILENT_TASK_EVENTS = frozenset({"host_acquired", "host_released", "pull_started", "pull_stopped"})
#: service_events kinds that only repeat what the event rows already tell.
REPEATED_SERVICE_EVENTS = frozenset(
    {"started", "stopped", "unable_to_place", "deployment_completed", "deployment_failed", "rollback"}
)
_STOP_STATES = frozenset(STOP_STATES)
_EVENTS, _FAILURES, _MESSAGES = 0, 1, 2


@dataclass(frozen=True)
class NarratedLine:
    """One line of the narration: when, what kind, about which service, and its text.

    ``service`` is the service's name, ``""`` for standalone tasks, ``None`` for lines about the
    cluster (instances, faults, actions, rows of unknown kind without a service). ``order``
    sorts the lines of one instant: event rows by ``seq``, then placement failures, then
    service events, each in table order.
    """

    time_s: float
    order: tuple[int, int]
    kind: str
    service: str | None
    text: str

    def __str__(self) -> str:
        return f"{text.format_time(self.time_s)} {self.text}"


class LogContext:
    """Facts read once from the whole log: the task each task-level fault hit, stops already told."""

    def __init__(self, events: pd.DataFrame) -> None:
        tasks = events[(events["entity"] == "task") & (events["incident_id"] != "")]
        first = tasks.sort_values("seq").drop_duplicates("incident_id")
        self.incident_task: dict[str, str] = dict(zip(first["incident_id"], first["entity_id"], strict=True))
        self.stop_told: set[str] = set()


def task_label(service: str, task_definition: str) -> str:
    """Who a task line is about: the service, or ``standalone <family>``."""
    return service or f"standalone {task_definition.partition(':')[0]}"


class Moment:
    """The rows of one instant, gathered by :meth:`feed` and told by :meth:`finish`."""

    def __init__(self, time_s: float, ledger: PlacementLedger, context: LogContext) -> None:
        self.time_s = time_s
        self.ledger = ledger
        self.context = context
        self.lines: list[NarratedLine] = []
        self.instances: dict[str, dict] = {}
        self.agents: list = []
        self.fault_incidents: set[str] = set()
        self.running: dict[str, list] = {}
        self.stops: dict[str, tuple] = {}  # task -> (seq, label, service, code, reason)
        self.stopped: dict[str, tuple[str, str, str]] = {}  # task STOPPED now -> (instance, label, service)
        self.health: dict[tuple, list] = {}
        self.runs: list[tuple[int, str, list]] = []  # (seq, service, rows) of service/deployment rows
        self.last_topic: object = None
        self.failures: dict[tuple, list] = {}
        self.messages: list = []
        self.touched: set[str] = set()  # services told about in a line that is not theirs

    def add(self, seq: int, kind: str, service: str | None, words: str, source: int = _EVENTS) -> None:
        self.lines.append(NarratedLine(self.time_s, (source, int(seq)), kind, service, words))

    # ------------------------------------------------------------------ gathering
    def feed(self, row) -> None:  # noqa: ANN001  (a named tuple of the events table)
        """Take one event row (rows of this instant, in ``seq`` order)."""
        topic: object = row.seq
        entity, event = row.entity, row.event
        if entity == "task" and event == "state":
            self._task_state(row)
        elif entity == "task" and event == "health":
            self._health(row)
        elif entity == "task" and event == "placed":
            self._task_state(row)
        elif entity == "task" and event in SILENT_TASK_EVENTS:
            pass
        elif entity == "capacity_provider":
            if event == "desired_capacity" and row.from_state:
                self.add(row.seq, "capacity", None, f"capacity provider {row.entity_id}: DesiredCapacity "
                                                    f"{row.from_state} -> {row.to_state} ({row.reason})")
        elif entity == "instance" and event == "state":
            self.ledger.instance_state(row.entity_id, row.to_state)
            self._instance_state(row)
        elif entity == "instance" and event == "agent":
            self.agents.append(row)
        elif entity == "fault" and event in ("fault", "fault_end"):
            self._fault(row)
        elif entity == "action" and event == "action":
            service = f" {row.service}" if row.service else ""
            detail = f": {row.reason}" if row.reason else ""
            self.add(row.seq, "action", None, f"action {row.entity_id}: {row.to_state}{service}{detail}")
        elif entity in ("service", "deployment"):
            topic = ("service", row.service)
            if self.last_topic != topic:
                self.runs.append((row.seq, row.service, []))
            self.runs[-1][2].append(row)
        else:
            self._generic(row)
        self.last_topic = topic

    def _task_state(self, row) -> None:  # noqa: ANN001
        task, label = row.entity_id, task_label(row.service, row.task_definition)
        rationale = self.ledger.task_state(task, row.instance_id, row.to_state, row.service, row.task_definition)
        if rationale is not None:
            self.add(row.seq, "placement", row.service, f"{label}: placed task {task} on {row.instance_id} ({rationale})")
        elif not row.instance_id and row.to_state == "PROVISIONING" and row.from_state == "" and row.az:
            self.add(row.seq, "placement", row.service, f"{label}: started task {task} on Fargate in {row.az} "
                                                        "(the AZ with the fewest of its group)")
        elif not row.instance_id and row.to_state == "PROVISIONING":
            self.add(row.seq, "placement", row.service,
                     f"{label}: task {task} waits in PROVISIONING for capacity (no instance of its capacity "
                     f"provider fits it)")
        if row.to_state == RUNNING:
            self.running.setdefault(label, []).append((row.seq, task, row.service))
        if row.to_state in _STOP_STATES and task not in self.context.stop_told:
            self.context.stop_told.add(task)
            self.stops[task] = (row.seq, label, row.service, row.stop_code, row.reason)
        if row.to_state == STOPPED:
            self.stopped[task] = (row.instance_id, label, row.service)

    def _health(self, row) -> None:  # noqa: ANN001
        if row.to_state == "UNHEALTHY" or (row.from_state == "UNHEALTHY" and row.to_state == "HEALTHY"):
            key = (task_label(row.service, row.task_definition), row.service, row.to_state, row.reason)
            self.health.setdefault(key, []).append((row.seq, row.entity_id, row.instance_id))

    def _instance_state(self, row) -> None:  # noqa: ANN001
        record = self.instances.setdefault(
            row.entity_id, {"seq": row.seq, "from": row.from_state, "az": row.az, "reason": ""}
        )
        record["to"] = row.to_state
        if row.reason and not record["reason"]:
            record["reason"] = row.reason

    def _fault(self, row) -> None:  # noqa: ANN001
        incident, kind = row.entity_id, row.to_state  # a fault row's entity is its incident
        self.fault_incidents.add(incident)
        if row.instance_id:
            task = self.context.incident_task.get(incident, "") if row.service else ""
            where = f"{row.instance_id} ({row.az})"
            target = f"{task} ({row.service}) on {where}" if task else where
        else:
            target = row.az or row.service
        what = text.fault_text(kind, target)
        if row.event == "fault_end":
            self.add(row.seq, "fault", None, f"fault {row.reason} ({incident}) ended: {what}")
        else:
            self.add(row.seq, "fault", None, f"fault {row.reason} ({incident}): {what}")

    def _generic(self, row) -> None:  # noqa: ANN001
        change = f"{row.from_state or '-'} -> {row.to_state}" if row.from_state or row.to_state else ""
        detail = f" ({row.reason})" if row.reason else ""
        self.add(row.seq, "other", row.service or None, f"{row.entity} {row.entity_id}: {row.event} {change}".rstrip()
                 + detail)

    def failure(self, index: int, row) -> None:  # noqa: ANN001
        """Take one ``placement_failures`` row of this instant."""
        key = (task_label(row.service, row.task_definition), row.service, row.reason)
        self.failures.setdefault(key, []).append(index)

    def message(self, row) -> None:  # noqa: ANN001
        """Take one ``service_events`` row of this instant (told in :meth:`finish`)."""
        self.messages.append(row)

    # ------------------------------------------------------------------ telling
    def finish(self, unsettled: dict[str, bool]) -> list[NarratedLine]:
        """The lines of this instant, in order; ``unsettled`` tracks services changed since a steady state."""
        self._tell_instances()
        self._tell_tasks()
        for seq, service, rows in self.runs:
            self._tell_run(seq, service, rows)
        for (label, service, reason), indexes in self.failures.items():
            what = "a task" if len(indexes) == 1 else text.plural(len(indexes), "task")
            self.add(indexes[0], "placement_failure", service,
                     f"{label}: unable to place {what}: {text.failure_text(reason)}", _FAILURES)
        lines = sorted(self.lines, key=lambda line: line.order)
        for service in self.touched | {line.service for line in lines}:
            if service:
                unsettled[service] = True
        told = [self._tell_message(k, row, unsettled) for k, row in enumerate(self.messages)]
        return lines + [line for line in told if line is not None]

    def _tell_instances(self) -> None:
        together: dict[tuple, list] = {}
        for instance, record in self.instances.items():
            phrase = _instance_phrase(record["from"], record["to"])
            if phrase == "terminated":
                self._tell_termination(instance, record)
            else:
                together.setdefault((phrase, record["reason"]), []).append((record["seq"], instance, record["az"]))
        for (phrase, reason), members in together.items():
            detail = f" ({reason})" if reason else ""
            if len(members) == 1:
                _, instance, az = members[0]
                self.add(members[0][0], "instance", None, f"instance {instance} ({az}) {phrase}{detail}")
            else:
                names = text.id_list([f"{instance} ({az})" for _, instance, az in members])
                self.add(members[-1][0], "instance", None, f"{len(members)} instances {phrase}: {names}{detail}")
        for row in self.agents:
            if row.incident_id and row.incident_id in self.fault_incidents:
                continue  # the fault's own line says it
            state = {"DISCONNECTED": "disconnected", "CONNECTED": "reconnected"}.get(row.to_state, row.to_state)
            self.add(row.seq, "instance", None, f"instance {row.entity_id} ({row.az}): agent {state}")

    def _tell_termination(self, instance: str, record: dict) -> None:
        """One line per terminated instance, with the tasks that stopped with it, per service."""
        lost: dict[str, int] = {}
        for task, (where, label, service) in self.stopped.items():
            if where == instance:
                self.stops.pop(task, None)
                lost[label] = lost.get(label, 0) + 1
                self.touched.add(service)
        if lost:
            parts = [f"{text.plural(n, 'task')} of {label}" for label, n in lost.items()]
            stopped = ", ".join(parts) + " stopped"
        else:
            stopped = "no tasks stopped"
        detail = f" ({record['reason']})" if record["reason"] else ""
        self.add(record["seq"], "instance", None, f"instance {instance} ({record['az']}) terminated: {stopped}{detail}")

    def _tell_tasks(self) -> None:
        for label, started in self.running.items():
            seq, task, service = started[-1]  # a count is told once it is complete
            if len(started) == 1:
                self.add(seq, "running", service, f"{label}: task {task} RUNNING")
            else:
                ids = text.id_list([t for _, t, _ in started])
                self.add(seq, "running", service, f"{label}: {len(started)} tasks RUNNING ({ids})")
        groups: dict[tuple, list] = {}
        for task, (seq, label, service, code, reason) in self.stops.items():
            verb = "stopped" if task in self.stopped else "stopping"
            groups.setdefault((label, service, verb, code, reason), []).append((seq, task))
        for (label, service, verb, code, reason), members in groups.items():
            detail = text.stop_detail(code, reason)
            detail = f" ({detail})" if detail else ""
            who = f"task {members[0][1]}" if len(members) == 1 else text.plural(len(members), "task")
            self.add(members[-1][0], "stop", service, f"{label}: {who} {verb}{detail}")
        for (label, service, state, reason), members in self.health.items():
            seq, task, instance = members[-1]
            if state == "HEALTHY":
                who = f"task {task}" if len(members) == 1 else f"{len(members)} tasks"
                self.add(seq, "health", service, f"{label}: {who} HEALTHY again")
            elif len(members) == 1:
                detail = f" ({reason})" if reason else ""
                self.add(seq, "health", service, f"{label}: task {task} UNHEALTHY on {instance}{detail}")
            else:
                ids = text.id_list([t for _, t, _ in members])
                detail = f"; {reason}" if reason else ""
                self.add(seq, "health", service, f"{label}: {len(members)} tasks UNHEALTHY ({ids}{detail})")

    def _tell_run(self, seq: int, service: str, rows: list) -> None:
        """Service and deployment rows of one service told together: creation, desired count, rollouts."""
        created, phrase = text.service_phrase(rows)
        deployments = text.deployment_phrases(rows, created)
        if created:
            self.add(seq, "service", service, f"{service}: {phrase}")
            return
        if phrase:
            self.add(seq, "service", service, f"{service}: {phrase}")
        if deployments:
            first = next(row.seq for row in rows if row.entity == "deployment")
            self.add(first, "deployment", service, f"{service}: " + "; ".join(deployments))

    def _tell_message(self, index: int, row, unsettled: dict[str, bool]) -> NarratedLine | None:  # noqa: ANN001
        if row.kind in REPEATED_SERVICE_EVENTS:
            return None
        if row.kind == "steady_state":
            if not unsettled.get(row.service, False):
                return None
            unsettled[row.service] = False
        else:
            unsettled[row.service] = True
        words = f"{row.service}: {text.service_message(row.service, row.message)}"
        return NarratedLine(self.time_s, (_MESSAGES, index), "service", row.service or None, words)


def _instance_phrase(first_from: str, last_to: str) -> str:
    """What an instance did in one instant, from its first and last state there."""
    if last_to == "INACTIVE":
        return "terminated"
    if last_to == "ACTIVE":
        return "active again" if first_from == "DRAINING" else "registered"
    if last_to == "REGISTERING":
        return "launched"
    if last_to == "DRAINING":
        return "draining"
    return f"{first_from or 'new'} -> {last_to}"
