"""A small builder of hand-made event logs, shared by the analysis tests."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest

from ecssim.model.eventlog import EVENT_COLUMNS, EventLog


class LogBuilder:
    """Collects rows in any order; ``build()`` sorts them by time (ties: insertion order)."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.log = EventLog()
        self.instance_az: dict[str, str] = {}
        self._task: dict[str, dict] = {}
        self._health: dict[str, str] = {}
        self._deployment: dict[str, dict] = {}

    def row(self, time_s: float, entity: str, entity_id: str, event: str, **fields) -> None:
        values = {c: "" for c in EVENT_COLUMNS} | {"value": math.nan}
        values |= {"time_s": float(time_s), "entity": entity, "entity_id": entity_id}
        values |= {"event": event, **fields}
        self.rows.append(tuple(values[c] for c in EVENT_COLUMNS))

    def instance(self, iid: str, az: str, cpu: int = 2048, memory: int = 4000,
                 launched: float = 0.0, active: float = 10.0) -> None:
        self.instance_az[iid] = az
        self.log.instances.append((iid, "fleet", "m5.large", az, "on-demand", cpu, memory,
                                   launched, ""))
        common = {"instance_id": iid, "az": az}
        self.row(launched, "instance", iid, "state", to_state="REGISTERING", **common)
        self.row(active, "instance", iid, "state", from_state="REGISTERING",
                 to_state="ACTIVE", **common)

    def terminate(self, time_s: float, iid: str, incident: str = "", reason: str = "") -> None:
        self.row(time_s, "instance", iid, "state", from_state="ACTIVE", to_state="INACTIVE",
                 instance_id=iid, az=self.instance_az[iid], incident_id=incident,
                 reason=reason or f"Host EC2 (instance {iid}) terminated.")

    def service(self, name: str, desired: int, time_s: float = 0.0,
                minimum_healthy: int = 100) -> None:
        self.log.services.append((name, "web:1", "REPLICA", desired, 200, minimum_healthy))
        self.row(time_s, "service", name, "state", to_state="ACTIVE", service=name)
        self.desired(name, desired, time_s)

    def desired(self, name: str, desired: int, time_s: float) -> None:
        self.row(time_s, "service", name, "desired_count", service=name, value=float(desired))

    def agent(self, time_s: float, iid: str, state: str, incident: str = "") -> None:
        """An agent row: ``state`` is CONNECTED or DISCONNECTED."""
        before = "CONNECTED" if state == "DISCONNECTED" else "DISCONNECTED"
        self.row(time_s, "instance", iid, "agent", from_state=before, to_state=state,
                 instance_id=iid, az=self.instance_az[iid], incident_id=incident)

    def placement_failure(self, time_s: float, service: str, reason: str = "RESOURCE:CPU"
                          ) -> None:
        number = len(self.log.placement_failures) + 1
        self.log.placement_failures.append((f"pf-{number:06d}", float(time_s), service,
                                            f"service:{service}", "web:1", "service", reason,
                                            ""))

    def fault(self, time_s: float, incident: str, kind: str, **fields) -> None:
        self.row(time_s, "fault", incident, "fault", to_state=kind, reason=f"{kind}-fault",
                 incident_id=incident, **fields)

    def _task_row(self, time_s, tid, event, frm="", to="", **fields) -> None:
        self.row(time_s, "task", tid, event, from_state=frm, to_state=to, **self._task[tid],
                 **fields)

    def task(self, tid: str, instance: str, *, service: str = "", cpu: int = 256,
             memory: int = 512, created: float = 0.0, running: float | None = None,
             stopping: float | None = None, stopped: float | None = None,
             killed: float | None = None, incident: str = "", reason: str = "",
             stop_code: str = "", pull: tuple[float, float] | None = None,
             healthy: float | None = None) -> None:
        """A task lifecycle. ``stopping``: stop decided (ECS path); ``killed``: host gone;
        ``healthy``: time of a health row to HEALTHY (written just after the RUNNING rows)."""
        group = f"service:{service}" if service else "family:batch"
        self._task[tid] = {"instance_id": instance, "az": self.instance_az[instance],
                           "service": service, "group": group, "task_definition": "web:1"}
        started_by = "service" if service else "workload:batch"
        self.log.tasks.append((tid, "web:1", "web", group, service, started_by, "EC2",
                               "bridge", cpu, memory, "", float(created), ""))
        row = self._task_row
        row(created, tid, "state", "", "PROVISIONING")
        row(created, tid, "state", "PROVISIONING", "PENDING")
        row(created, tid, "host_acquired")
        if pull is not None:
            row(pull[0], tid, "pull_started")
            row(pull[1], tid, "pull_stopped")
        state = "PENDING"
        if running is not None:
            row(running, tid, "state", "PENDING", "ACTIVATING")
            row(running, tid, "state", "ACTIVATING", "RUNNING")
            state = "RUNNING"
        if healthy is not None:
            self.health(healthy, tid, "HEALTHY")
        stop = {"reason": reason, "stop_code": stop_code, "incident_id": incident}
        if stopping is not None:
            if state == "RUNNING":
                row(stopping, tid, "state", "RUNNING", "DEACTIVATING", **stop)
                row(stopping, tid, "state", "DEACTIVATING", "STOPPING", **stop)
            else:
                row(stopping, tid, "state", "PENDING", "STOPPING", **stop)
            state = "STOPPING"
        if stopped is not None:
            row(stopped, tid, "state", state, "DEPROVISIONING", **stop)
            row(stopped, tid, "state", "DEPROVISIONING", "STOPPED", **stop)
            row(stopped, tid, "host_released")
        elif killed is not None:
            row(killed, tid, "state", state, "STOPPED", **stop)
            row(killed, tid, "host_released")

    def health(self, time_s: float, tid: str, to: str, reason: str = "") -> None:
        """A health row of task ``tid`` (HEALTHY or UNHEALTHY); call in time order per task."""
        before = self._health.get(tid, "UNKNOWN")
        self._health[tid] = to
        self._task_row(time_s, tid, "health", before, to, reason=reason)

    def deployment_row(self, time_s: float, did: str, event: str, frm: str, to: str,
                       reason: str = "", value: float = math.nan) -> None:
        """One row of deployment ``did`` (``event`` is ``state`` or ``rollout``)."""
        self.row(time_s, "deployment", did, event, from_state=frm, to_state=to,
                 reason=reason, value=value, **self._deployment[did])

    def deployment(self, did: str, service: str, created: float, *,
                   task_definition: str = "web:1", completed: float | None = None,
                   failed: float | None = None, reason: str = "", failed_tasks: int = 0,
                   replaced: float | None = None, inactive: float | None = None) -> None:
        """A deployment: created PRIMARY/IN_PROGRESS; then COMPLETED or FAILED (with
        ``reason`` and ``failed_tasks``); ``replaced``: PRIMARY -> ACTIVE; ``inactive``: ends."""
        self._deployment[did] = {"service": service, "task_definition": task_definition}
        row = self.deployment_row
        row(created, did, "state", "", "PRIMARY")
        row(created, did, "rollout", "", "IN_PROGRESS", value=0.0)
        if completed is not None:
            row(completed, did, "rollout", "IN_PROGRESS", "COMPLETED", value=float(failed_tasks))
        if failed is not None:
            row(failed, did, "rollout", "IN_PROGRESS", "FAILED", reason=reason,
                value=float(failed_tasks))
        status = "PRIMARY"
        if replaced is not None:
            row(replaced, did, "state", "PRIMARY", "ACTIVE")
            status = "ACTIVE"
        if inactive is not None:
            row(inactive, did, "state", status, "INACTIVE")

    def build(self) -> EventLog:
        order = sorted(range(len(self.rows)), key=lambda i: (self.rows[i][0], i))
        self.log.events = [self.rows[i] for i in order]
        return self.log


@pytest.fixture
def builder() -> LogBuilder:
    return LogBuilder()


def tiny_log(b: LogBuilder) -> EventLog:
    """Two instances in two AZs; one task stops, one keeps running."""
    b.instance("i-a", "us-east-1a", cpu=2048, memory=4000, active=10)
    b.instance("i-b", "us-east-1b", cpu=1024, memory=2000, active=10)
    b.task("t-000001", "i-a", cpu=512, memory=1000, created=20, running=25, stopping=100,
           stopped=110, reason="Task stopped by user", stop_code="UserInitiated",
           pull=(21, 23))
    b.task("t-000002", "i-b", cpu=256, memory=500, created=30, running=30)
    return b.build()


@pytest.fixture
def tiny(builder: LogBuilder) -> EventLog:
    return tiny_log(builder)


def outage_log(b: LogBuilder) -> EventLog:
    """Service web (desired 2) loses both tasks to an instance failure; two replacements.

    Each task's health row to HEALTHY comes 40 s after it is RUNNING.
    """
    b.instance("i-a", "us-east-1a", active=0)
    b.instance("i-b", "us-east-1b", active=0)
    b.service("web", 2)
    b.task("t-000001", "i-a", service="web", created=0, running=10, killed=105, healthy=50,
           incident="inc-0001", reason="Host EC2 (instance i-a) terminated.")
    b.task("t-000002", "i-a", service="web", created=0, running=10, killed=105, healthy=50,
           incident="inc-0001", reason="Host EC2 (instance i-a) terminated.")
    b.fault(100, "inc-0001", "instance_failure", instance_id="i-a", az="us-east-1a")
    b.terminate(100, "i-a", incident="inc-0001")
    b.task("t-000003", "i-b", service="web", created=120, running=130, healthy=170)
    b.task("t-000004", "i-b", service="web", created=125, running=140, healthy=180)
    return b.build()


@pytest.fixture
def outage(builder: LogBuilder) -> EventLog:
    return outage_log(builder)


@pytest.fixture(scope="session")
def logs() -> SimpleNamespace:
    """The builder and the canned logs, for tests that need several fresh copies."""
    return SimpleNamespace(LogBuilder=LogBuilder, tiny=tiny_log, outage=outage_log)
