"""The ECS control plane: placement of new tasks, stop decisions, and the services' schedulers.

It talks to hosts only through the agent interface (``start_task``, ``stop_task``,
``terminate``) and hears back through the recorder's ``on_task_state`` callback, so the
same code can drive the simulated agent and, later, a Docker-backed one.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.cluster import ACTIVE, DRAINING, INACTIVE, Cluster
from ..model.recorder import Recorder
from ..model.task import (
    PROVISIONING,
    RUNNING,
    SERVICE_SCHEDULER_INITIATED,
    STARTING_STATES,
    STOPPED,
    STOPPING,
    STOPPING_STATES,
    Task,
    host_terminated_reason,
)
from ..placement import place
from ..placement.single import place_on
from .health import HealthMonitor, HealthRules
from .service import DRAIN

_LEAVING = STOPPING_STATES | {STOPPED}
_FREES_CONTROL_PLANE = frozenset((STOPPING, STOPPED))


class ControlPlane:
    """Places tasks, decides stops and keeps the services at their desired counts."""

    def __init__(self, env, cluster: Cluster, recorder: Recorder, timing, explain=None) -> None:  # noqa: ANN001
        self.env = env
        self.cluster = cluster
        self.rec = recorder
        self.timing = timing
        self.agents: list = []  # slot -> agent
        self.services: dict[str, object] = {}  # name -> ServiceScheduler, in file order
        self.crash_faults: dict[str, list] = {}  # service name -> crash fault runtimes
        self.start_faults: list = []  # failed-start fault runtimes, in file order
        self.oom_faults: list = []  # memory-use fault runtimes, in file order
        self.task_count = 0
        self.incident_count = 0
        # An explain probe (ecssim.insight.explain) re-simulating up to one placement; None
        # in ordinary runs, where it costs one `is None` test per launch.
        self.explain = explain
        self.warm_starting = False  # True while the world places warm-started tasks at t=0
        # Called with the slot of every instance that registers (e.g. to draw its time to failure).
        self.registration_listeners: list = []
        self.draining_slots: set[int] = set()  # DRAINING instances whose DAEMON tasks still wait to stop
        self.health = HealthMonitor(env, recorder, [])
        self.default_rules = HealthRules(float(timing.healthy_after_running), None, None)
        self._rules: dict[tuple[str, str], HealthRules] = {}
        recorder.listener = self

    # ------------------------------------------------------------------ launching
    def launch(self, spec, group: str, service, started_by: str, strategies, constraints, rng,  # noqa: ANN001
               duration: float) -> tuple[Task | None, object]:
        """Place one task and hand it to its instance's agent; ``(None, decision)`` if nothing fits."""
        view = self.cluster.view
        if self.explain is None:
            decision = place(spec.demand, view, strategies, constraints, group, rng)
        else:
            decision = self.explain.place(self, spec, group, service, started_by, strategies, constraints, rng)
        return self._create(decision, spec, group, service, started_by, duration)

    def launch_on(self, slot: int, spec, group: str, service, started_by: str,  # noqa: ANN001
                  constraints) -> tuple[Task | None, object]:
        """Place one DAEMON task on ``slot`` (every check as ``place``); ``(None, decision)`` if it does not fit."""
        if self.explain is None:
            decision = place_on(spec.demand, self.cluster.view, slot, constraints, group)
        else:
            decision = self.explain.place_on(self, spec, slot, group, service, started_by, constraints)
        return self._create(decision, spec, group, service, started_by, math.inf)

    def _create(self, decision, spec, group: str, service, started_by: str,  # noqa: ANN001
                duration: float) -> tuple[Task | None, object]:
        """Record a placement failure, or create the placed task and hand it to its agent."""
        view = self.cluster.view
        slot = decision.instance
        if slot < 0:
            closest = view.instance_ids[decision.closest] if decision.closest >= 0 else ""
            self.rec.placement_failure(service.name if service is not None else "", group, spec.key,
                                       started_by, decision.reason, closest)
            return None, decision
        self.task_count += 1
        task = Task(self.task_count, spec, group, service, started_by, slot, duration)
        self.cluster.reserve(slot, task)
        self.rec.log.tasks.append((
            task.id, spec.key, spec.family, group, service.name if service is not None else "", started_by,
            "EC2", spec.network_mode, task.cpu, task.memory, spec.host_ports, self.env.now,
        ))
        if service is not None:
            service.adopt(task)
        self.rec.task_state(task, PROVISIONING)
        agent = self.agents[slot]
        if started_by == "warmStart":
            agent.warm_start(task)
        else:
            agent.start_task(task)
        return task, decision

    def run_task(self, spec, count: int, group: str, started_by: str, strategies, constraints, rng,  # noqa: ANN001
                 durations) -> list[Task]:
        """RunTask: place ``count`` tasks; each that finds no instance is a placement failure."""
        started = []
        for k in range(count):
            task, _ = self.launch(spec, group, None, started_by, strategies, constraints, rng, durations[k])
            if task is not None:
                started.append(task)
        return started

    # ------------------------------------------------------------------ stopping
    def stop_task(self, task: Task, stop_code: str, reason: str) -> None:
        """Decide to stop a task (desired status STOPPED) and ask its agent to stop it."""
        if not task.desired_running:
            return
        task.stop_code = stop_code
        task.stop_reason = reason
        self._desired_stopped(task, task.state)
        self.agents[task.slot].stop_task(task)

    def terminate_instance(self, slot: int, reason: str, incident: str = "") -> None:
        """EC2 terminated the instance: ECS marks it INACTIVE and its tasks STOPPED."""
        info = self.cluster.infos[slot]
        if info.status == INACTIVE:
            return
        old = info.status
        self.cluster.deactivate(slot)
        self.draining_slots.discard(slot)
        self.rec.instance_state(slot, old, INACTIVE, reason, incident)
        self.agents[slot].terminate(host_terminated_reason(info.id), incident)
        for daemon in self.daemons():
            daemon.instance_gone(slot)

    def drain_instance(self, slot: int, reason: str, incident: str = "") -> bool:
        """UpdateContainerInstancesState DRAINING (ecs-reference 5.3); False unless the instance was ACTIVE.

        Nothing new is placed there. Service tasks not yet RUNNING stop at once; each REPLICA
        scheduler replaces its RUNNING tasks there within its deployment limits (see
        ``service``); standalone tasks are untouched; DAEMON tasks stop once no other service
        task on the instance is left (not STOPPED).
        """
        info = self.cluster.infos[slot]
        if info.status != ACTIVE:
            return False
        self.cluster.set_draining(slot)
        self.rec.instance_state(slot, ACTIVE, DRAINING, reason, incident)
        self.draining_slots.add(slot)
        touched: dict[str, object] = {}
        for task in list(self.agents[slot].tasks.values()):
            service = task.service
            if not task.desired_running or service is None or service.kind != "REPLICA":
                continue
            touched[service.name] = service
            if incident:
                task.incident = incident  # its stop rows belong to the incident (e.g. a Spot interruption)
            if task.state in STARTING_STATES:
                self.stop_task(task, SERVICE_SCHEDULER_INITIATED, service.drain_reason(info.id))
            else:
                service.replace(task, service.drain_reason(info.id), DRAIN)
        for service in touched.values():
            service.notify()
        self._stop_daemons_if_drained(slot, None)
        return True

    def activate_instance(self, slot: int, reason: str) -> bool:
        """UpdateContainerInstancesState ACTIVE on a DRAINING instance (5.3); False unless it was DRAINING.

        Tasks are placed there again; the services stop replacing the tasks still RUNNING there
        and the DAEMON services start their task there again.
        """
        info = self.cluster.infos[slot]
        if info.status != DRAINING:
            return False
        self.cluster.set_active(slot)
        self.rec.instance_state(slot, DRAINING, ACTIVE, reason)
        self.draining_slots.discard(slot)
        for task in list(self.agents[slot].tasks.values()):
            service = task.service
            if task.desired_running and service is not None and service.kind == "REPLICA":
                entry = service.replacing.get(task.id)
                if entry is not None and entry[2] == DRAIN:
                    service.keep(task)
        for daemon in self.daemons():
            daemon.instance_registered(slot)
        self.capacity_appeared()
        self.capacity_registered()
        return True

    def _stop_daemons_if_drained(self, slot: int, leaving: Task | None) -> None:
        """On a DRAINING instance, stop its DAEMON tasks once no other service task is left there."""
        for task in self.agents[slot].tasks.values():
            if task is not leaving and task.service is not None and task.service.kind == "REPLICA":
                return
        self.draining_slots.discard(slot)
        instance_id = self.cluster.infos[slot].id
        for daemon in self.daemons():
            task = daemon.by_slot.get(slot)
            if task is not None:
                self.stop_task(task, SERVICE_SCHEDULER_INITIATED, daemon.drain_reason(instance_id))
                daemon.notify()  # its desired count drops: the instance is no longer eligible

    def _desired_stopped(self, task: Task, old_state: str) -> None:
        task.desired_running = False
        self.cluster.release_desired(task.slot, task)
        if task.service is not None:
            task.service.on_leaving(task, old_state)

    # ------------------------------------------------------------------ hearing from agents
    def on_task_state(self, task: Task, old: str, new: str) -> None:
        """Every recorded transition passes here (the agent interface's report channel)."""
        if new == RUNNING:
            task.ever_running = True
            task.started_at = self.env.now
            service = task.service
            if service is not None:
                service.on_running(task)
                rules = self.rules_of(task)
                self.health.task_running(task, rules, 0.0 if self.warm_starting else rules.healthy_after_s)
            return
        if new not in _LEAVING:
            return
        if task.desired_running:
            self._desired_stopped(task, old)
        if task.cp_held and new in _FREES_CONTROL_PLANE:
            task.cp_held = False
            self.cluster.release(task.slot, task)
            self.capacity_appeared()
        if new == STOPPED and task.service is not None:
            task.service.on_stopped(task)
            if self.draining_slots and task.slot in self.draining_slots:
                self._stop_daemons_if_drained(task.slot, task)

    def on_task_health(self, task: Task, old: str, new: str, reason: str) -> None:
        """A service task's health changed (a recorded ``health`` row)."""
        if task.service is not None:
            task.service.on_health(task, old, new, reason)

    def rules_of(self, task: Task) -> HealthRules:
        """The health rules of ``task`` (its service's load balancer, its task definition's checks)."""
        service = task.service
        key = (service.name if service is not None else "", task.spec.key)
        rules = self._rules.get(key)
        if rules is None:
            rules_for = getattr(service, "rules_for", None)
            rules = rules_for(task.spec) if rules_for is not None else self.default_rules
            self._rules[key] = rules
        return rules

    def host_failed(self, slot: int, incident: str) -> None:
        """The host of ``slot`` stopped working: its load balancers will find its targets unhealthy."""
        self.health.host_failed(list(self.agents[slot].tasks.values()), self.rules_of, incident)

    def capacity_appeared(self) -> None:
        """Resources were freed or an instance registered: cut back-offs short, if configured to.

        Off by default (``timing.placementRetry.retryOnCapacityChange``), and then this costs
        nothing on the hot path: it runs at every task stop.
        """
        if not self.timing.placement_retry.retry_on_capacity_change:
            return
        for service in self.services.values():
            if service.backoff_until > self.env.now:
                service.capacity_appeared()

    def instance_registered(self, slot: int) -> None:
        info = self.cluster.infos[slot]
        if info.status == INACTIVE:
            return
        self.cluster.activate(slot)
        self.rec.instance_state(slot, "REGISTERING", ACTIVE)
        for daemon in self.daemons():  # daemon tasks first, before any REPLICA service reacts
            daemon.instance_registered(slot)
        for listener in self.registration_listeners:
            listener(slot)
        self.capacity_appeared()
        self.capacity_registered()

    def agent_connection(self, slot: int, connected: bool, reason: str = "", incident: str = "") -> None:
        """ECS sees the agent of ``slot`` connect or disconnect (``agentConnected``, ecs-reference 5.2).

        While disconnected the instance stays ACTIVE and its tasks RUNNING in ECS's view, but
        nothing is placed there (``AGENT``). Recorded as an ``event="agent"`` row.
        """
        info = self.cluster.infos[slot]
        if info.status not in (ACTIVE, DRAINING) or bool(self.cluster.view.connected[slot]) == connected:
            return
        self.cluster.set_connected(slot, connected)
        old, new = ("DISCONNECTED", "CONNECTED") if connected else ("CONNECTED", "DISCONNECTED")
        self.rec.agent_state(slot, old, new, reason, incident)
        if connected:
            self.capacity_appeared()
            self.capacity_registered()

    def capacity_registered(self) -> None:
        """An instance can take tasks again (registered, re-activated, agent back): services may rebalance."""
        for service in self.services.values():
            if service.kind == "REPLICA":
                service.capacity_registered()

    def daemons(self) -> list:
        """The DAEMON services, in file order."""
        return [s for s in self.services.values() if s.kind == "DAEMON"]

    # ------------------------------------------------------------------ faults the tasks meet
    def crash_delay(self, task: Task) -> tuple[float, object]:
        """Time until ``task`` (now RUNNING) crashes or is OOM-killed, and the fault responsible (inf, None if never)."""
        best, best_fault = math.inf, None
        faults = self.crash_faults.get(task.service.name) if task.service is not None else None
        if faults:
            now = self.env.now
            for fault in faults:
                delay = fault.draw(now)
                if delay < best:
                    best, best_fault = delay, fault
        for fault in self.oom_faults:
            delay = fault.draw(task)
            if delay < best:
                best, best_fault = delay, fault
        return best, best_fault

    def start_fails(self, task: Task) -> bool:
        """Whether this start of ``task`` fails (every applicable failed-start fault draws once)."""
        now = self.env.now
        failed = False
        for fault in self.start_faults:
            if fault.fails(task, now):
                failed = True
        return failed

    def record_crash(self, task: Task, fault) -> str:  # noqa: ANN001
        """A crash or OOM kill happened now: open its incident (kind ``fault.kind``) and return its id."""
        incident = self.new_incident()
        self.rec.fault(incident, "fault", fault.kind, fault.name,
                       instance_id=self.rec.instance_ids[task.slot], az=self.rec.instance_azs[task.slot],
                       service=task.service.name)
        return incident

    def new_incident(self) -> str:
        self.incident_count += 1
        return f"inc-{self.incident_count:04d}"

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def np_slots(tasks: list[Task]) -> np.ndarray:
        return np.fromiter((t.slot for t in tasks), dtype=np.int64, count=len(tasks))
