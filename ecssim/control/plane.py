"""The ECS control plane: placement of new tasks, stop decisions, and the services' schedulers.

It talks to hosts only through the agent interface (``start_task``, ``stop_task``,
``terminate``) and hears back through the recorder's ``on_task_state`` callback, so the
same code can drive the simulated agent and, later, a Docker-backed one.
"""

from __future__ import annotations

import math

import numpy as np

from ..model.cluster import ACTIVE, DRAINING, INACTIVE, Cluster
from ..model.compaction import remap_dict, remap_slots
from ..model.fargate import (
    CAPACITY_UNAVAILABLE,
    FIRST_SLOT,
    THROTTLED,
    LaunchBucket,
    Refusal,
    fargate_slot,
    is_fargate_slot,
)
from ..model.recorder import Recorder
from ..model.task import (
    NO_INSTANCE,
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
from .capacity_provider import NO_PROVIDER_INSTANCES
from .health import HealthMonitor, HealthRules
from .provider_split import choose_provider
from .service import DRAIN

_LEAVING = STOPPING_STATES | {STOPPED}
_FREES_CONTROL_PLANE = frozenset((STOPPING, STOPPED))
#: The transitions ``on_task_state`` acts on (the recorder calls it for these only).
_HEARD = _LEAVING | {RUNNING}


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
        self.registration_epoch = 0  # bumped at every capacity registration (see capacity_registered)
        # The REPLICA and DAEMON services, in file order, listed again when a service is added
        # (see _listed); capacity_registered's active AZs when it last looked at every service,
        # and the REPLICA positions not known to be balanced over them.
        self._lists: tuple[list, list] = ([], [])
        self._listed_of = -1  # len(services) when _lists was made
        self._replica_azs: tuple[str, ...] | None = None
        self.unsettled: set[int] = set()
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
        self.fleet_providers: dict[str, object] = {}  # fleet name -> its CapacityProviderRuntime
        self.waiting_count = 0  # tasks in PROVISIONING without an instance, cluster-wide (6.4)
        self.waiting_requests: dict[str, tuple] = {}  # waiting task id -> (strategies, constraints, rng)
        self.drain_listeners: dict[int, object] = {}  # slot -> called with the slot when one of its tasks STOPPED
        self.compactor = None  # told of every instance that goes INACTIVE (model.compaction.SlotCompactor)
        self.running_listeners: list = []  # called with every task that reaches RUNNING (Fargate Spot faults)
        self.fargate_agents: list = []  # one FargateAgent per Fargate AZ (see ecssim.model.fargate)
        self.fargate_counts: dict[tuple[str, int], int] = {}  # (task group, Fargate AZ index) -> live tasks
        self.fargate_bucket = LaunchBucket(timing.fargate.launch_burst, timing.fargate.launch_rate)
        recorder.listener = self
        recorder.heard_states = _HEARD

    # ------------------------------------------------------------------ launching
    def launch(self, spec, group: str, service, started_by: str, strategies, constraints, rng,  # noqa: ANN001
               duration: float, provider=None) -> tuple[Task | None, object]:  # noqa: ANN001
        """Place one task and hand it to its instance's agent; ``(None, decision)`` if nothing fits.

        ``provider``: the capacity provider its strategy chose (a ``CapacityProviderRuntime``):
        only that provider's instances qualify, and with managed scaling a task that fits
        nowhere waits in PROVISIONING instead of failing (the task is returned then).
        """
        if provider is not None and provider.fargate:
            return self.launch_fargate(spec, group, service, started_by, duration, provider)
        view = self.cluster.view
        if provider is not None:
            constraints = (*constraints, provider.constraint)
        if self.explain is None:
            decision = place(spec.demand, view, strategies, constraints, group, rng)
        else:
            decision = self.explain.place(self, spec, group, service, started_by, strategies, constraints, rng)
        if decision.instance < 0 and provider is not None:
            if provider.can_wait():
                return self._create_waiting(spec, group, service, started_by, duration, provider,
                                            (strategies, constraints, rng)), decision
            if not provider.has_active_instance():
                decision.reason = NO_PROVIDER_INSTANCES
                decision.closest = -1
        return self._create(decision, spec, group, service, started_by, duration, provider)

    def launch_on(self, slot: int, spec, group: str, service, started_by: str,  # noqa: ANN001
                  constraints, duration: float = math.inf) -> tuple[Task | None, object]:
        """Place one task on ``slot`` (a DAEMON task, or an initial task where a snapshot found it; every
        check as ``place``); ``(None, decision)`` if it does not fit."""
        if self.explain is None:
            decision = place_on(spec.demand, self.cluster.view, slot, constraints, group)
        else:
            decision = self.explain.place_on(self, spec, slot, group, service, started_by, constraints)
        return self._create(decision, spec, group, service, started_by, duration)

    def _create_waiting(self, spec, group: str, service, started_by: str, duration: float, provider,  # noqa: ANN001
                        request: tuple) -> Task:
        """A task that waits in PROVISIONING, without an instance, for its provider's capacity (6.4)."""
        task = self._new_task(spec, group, service, started_by, NO_INSTANCE, duration, provider)
        task.cp_held = False
        self.waiting_requests[task.id] = request
        self.rec.task_state(task, PROVISIONING)
        provider.wait(task)
        return task

    def launch_fargate(self, spec, group: str, service, started_by: str, duration: float,  # noqa: ANN001
                       capacity) -> tuple[Task | None, object]:  # noqa: ANN001
        """Start one task on Fargate (``capacity``: FARGATE or FARGATE_SPOT) in its group's emptiest AZ.

        ``(None, refusal)`` when Spot capacity is unavailable or the account's launch bucket is
        empty (a service waits for the next token; RunTask records a placement failure).
        """
        now = self.env.now
        refusal = None
        if capacity.unavailable_until > now:
            refusal = Refusal(CAPACITY_UNAVAILABLE)
        elif started_by != "warmStart":  # warm-started tasks were launched before t=0
            retry_at = self.fargate_bucket.take(now)
            if retry_at is not None:
                refusal = Refusal(THROTTLED, retry_at)
        if refusal is not None:
            if service is None or refusal.retry_at is None:
                self.rec.placement_failure(service.name if service is not None else "", group, spec.key,
                                           started_by, refusal.reason, "")
            return None, refusal
        counts = self.fargate_counts
        index = min(range(len(self.fargate_agents)), key=lambda i: counts.get((group, i), 0))
        task = self._new_task(spec, group, service, started_by, fargate_slot(index), duration, capacity, "FARGATE")
        task.cp_held = False
        counts[(group, index)] = counts.get((group, index), 0) + 1
        self.rec.task_state(task, PROVISIONING)
        if self.explain is not None:
            self.explain.fargate(self, task, self.rec.fargate_azs[index])
        self._hand_over(self.fargate_agents[index], task, started_by)
        return task, None

    def agent_of(self, task: Task):  # noqa: ANN201
        """The agent running ``task``: its instance's, or its Fargate AZ's."""
        slot = task.slot
        return self.agents[slot] if slot >= 0 else self.fargate_agents[FIRST_SLOT - slot]

    def place_waiting_task(self, task: Task, provider) -> bool:  # noqa: ANN001
        """Try to place a task waiting in PROVISIONING; True once it has an instance (a ``placed`` row)."""
        strategies, constraints, rng = self.waiting_requests[task.id]
        if self.explain is None:
            decision = place(task.spec.demand, self.cluster.view, strategies, constraints, task.group, rng)
        else:
            decision = self.explain.place_waiting(self, task, strategies, constraints, rng)
        slot = decision.instance
        if slot < 0:
            return False
        del self.waiting_requests[task.id]
        provider.placed(task)
        task.slot = slot
        if task.service is not None and task.desired_running:
            task.service.placed_after_waiting(task)
        task.cp_held = True
        self.cluster.reserve(slot, task)
        self.rec.task_event(task, "placed")
        self.agents[slot].start_task(task)
        return True

    def _new_task(self, spec, group: str, service, started_by: str, slot: int, duration: float,  # noqa: ANN001
                  provider, launch_type: str = "EC2") -> Task:  # noqa: ANN001
        self.task_count += 1
        task = Task(self.task_count, spec, group, service, started_by, slot, duration)
        task.capacity_provider = provider.name if provider is not None else ""
        self.rec.log.tasks.append((
            task.id, spec.key, spec.family, group, service.name if service is not None else "", started_by,
            launch_type, spec.network_mode, task.cpu, task.memory, spec.host_ports, self.env.now,
            task.capacity_provider,
        ))
        if service is not None:
            service.adopt(task)
        return task

    def _create(self, decision, spec, group: str, service, started_by: str,  # noqa: ANN001
                duration: float, provider=None) -> tuple[Task | None, object]:  # noqa: ANN001
        """Record a placement failure, or create the placed task and hand it to its agent."""
        view = self.cluster.view
        slot = decision.instance
        if slot < 0:
            closest = view.instance_ids[decision.closest] if decision.closest >= 0 else ""
            self.rec.placement_failure(service.name if service is not None else "", group, spec.key,
                                       started_by, decision.reason, closest)
            return None, decision
        task = self._new_task(spec, group, service, started_by, slot, duration, provider)
        self.cluster.reserve(slot, task)
        self.rec.task_state(task, PROVISIONING)
        self._hand_over(self.agents[slot], task, started_by)
        return task, decision

    @staticmethod
    def _hand_over(agent, task: Task, started_by: str) -> None:  # noqa: ANN001
        """Give a newly created task to its agent: RUNNING at once for a warm start, else its lifecycle."""
        if started_by == "warmStart":
            agent.warm_start(task)
        else:
            agent.start_task(task)

    def run_task(self, spec, count: int, group: str, started_by: str, strategies, constraints, rng,  # noqa: ANN001
                 durations, providers: tuple = ((), None)) -> list[Task]:
        """RunTask: place ``count`` tasks; each that finds no instance is a placement failure.

        ``providers``: (strategy as (provider, base, weight) items, provider name -> runtime);
        the strategy's base and weights apply within the call.
        """
        items, runtimes = providers
        counts: dict[str, int] = {}
        started = []
        for k in range(count):
            provider = None
            if items:
                name = choose_provider(items, counts)
                counts[name] = counts.get(name, 0) + 1
                provider = runtimes[name]
            task, _ = self.launch(spec, group, None, started_by, strategies, constraints, rng, durations[k],
                                  provider)
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
        if task.slot == NO_INSTANCE:  # waiting for capacity: no host to stop it
            self.waiting_requests.pop(task.id, None)
            self.provider_of(task).forget(task)
            return
        self.agent_of(task).stop_task(task)

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
        if self.compactor is not None:
            self.compactor.instance_gone()

    def remap_slots(self, new_of) -> None:  # noqa: ANN001
        """The cluster dropped slots and renumbered the others (``model.compaction``): follow suit."""
        kept = []
        for slot, agent in enumerate(self.agents):
            new = int(new_of[slot])
            agent.slot = new
            if new >= 0:
                kept.append(agent)
                for task in agent.tasks.values():
                    task.slot = new
        self.agents[:] = kept
        self.draining_slots = set(remap_slots(self.draining_slots, new_of))
        self.drain_listeners = remap_dict(self.drain_listeners, new_of)

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
        self.place_waiting(slot)
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

    def provider_of(self, task: Task):  # noqa: ANN201
        """The capacity provider runtime ``task`` was launched on."""
        return next(p for p in self.fleet_providers.values() if p.name == task.capacity_provider)

    def _slot_provider(self, slot: int):  # noqa: ANN202
        return self.fleet_providers.get(self.cluster.infos[slot].fleet) if self.fleet_providers else None

    def place_waiting(self, slot: int) -> None:
        """Capacity appeared on ``slot``: its capacity provider places its waiting tasks that fit."""
        provider = self._slot_provider(slot)
        if provider is not None and provider.waiting:
            provider.place_waiting()

    def _desired_stopped(self, task: Task, old_state: str) -> None:
        task.desired_running = False
        if task.slot < 0:  # waiting for capacity, or on Fargate: no instance ledger
            if is_fargate_slot(task.slot):
                self.fargate_counts[(task.group, FIRST_SLOT - task.slot)] -= 1
            if task.service is not None:
                task.service.on_leaving(task, old_state)
            return
        self.cluster.release_desired(task.slot, task)
        if task.service is not None:
            task.service.on_leaving(task, old_state)

    # ------------------------------------------------------------------ hearing from agents
    def on_task_state(self, task: Task, old: str, new: str) -> None:
        """Every recorded transition passes here (the agent interface's report channel)."""
        if new == RUNNING:
            task.ever_running = True
            task.started_at = self.env.now
            for listener in self.running_listeners:
                listener(task)
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
            if self.waiting_count:
                self.place_waiting(task.slot)
        if new == STOPPED and task.service is not None:
            task.service.on_stopped(task)
            if self.draining_slots and task.slot in self.draining_slots:
                self._stop_daemons_if_drained(task.slot, task)
        if new == STOPPED and self.drain_listeners:
            listener = self.drain_listeners.get(task.slot)
            if listener is not None:
                listener(task.slot)

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
        self.place_waiting(slot)
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
            self.place_waiting(slot)
            self.capacity_appeared()
            self.capacity_registered()

    def capacity_registered(self) -> None:
        """An instance can take tasks again (registered, re-activated, agent back): services may rebalance.

        A service whose tasks were balanced over these same AZs at its last check, and have not
        moved since, would find the same again: it is skipped (with 500 services and thousands
        of registrations, the checks were a hot spot). Only the ``unsettled`` services are
        looked at, unless the active AZs changed: a service becomes unsettled when its counts per
        AZ change, it reaches a steady state or its check records a balance
        (``ServiceScheduler.unsettle``), or when its check here did not find it balanced. One not
        in a steady state is passed over (only a steady service rebalances). The epoch forgets
        every service's last rebalancing spread at once (ECS tries again once capacity registers).
        """
        self.registration_epoch += 1
        azs = self.cluster.active_azs()
        replicas = self._listed()[0]
        if azs != self._replica_azs:
            self._replica_azs = azs
            positions = range(len(replicas))
        else:
            positions = sorted(self.unsettled)
        unsettled = self.unsettled
        for position in positions:
            service = replicas[position]
            if not service.steady or service.balanced_over(azs):
                # balanced, or not in a steady state: then it checks its balance itself once steady,
                # and asks to be looked at again (ServiceScheduler._check_progress)
                unsettled.discard(position)
                continue
            unsettled.add(position)
            service.capacity_registered()
        for position in positions:  # the checks may have found some balanced (or moved tasks)
            if replicas[position].balanced_over(azs):
                unsettled.discard(position)

    def daemons(self) -> list:
        """The DAEMON services, in file order."""
        return self._listed()[1]

    def _listed(self) -> tuple[list, list]:
        """(REPLICA services, DAEMON services), in file order; listed again once more services
        exist (the world registers instances before its services), each REPLICA told its position."""
        if self._listed_of != len(self.services):
            replicas = [s for s in self.services.values() if s.kind == "REPLICA"]
            self._lists = (replicas, [s for s in self.services.values() if s.kind == "DAEMON"])
            self._listed_of = len(self.services)
            for position, service in enumerate(replicas):
                service.replica_position = position
            self._replica_azs = None  # look at every service next time
        return self._lists

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
                       instance_id=self.rec.where(task.slot)[0], az=self.rec.where(task.slot)[1],
                       service=task.service.name)
        return incident

    def new_incident(self) -> str:
        self.incident_count += 1
        return f"inc-{self.incident_count:04d}"

    # ------------------------------------------------------------------ helpers
    @staticmethod
    def np_slots(tasks: list[Task]) -> np.ndarray:
        return np.fromiter((t.slot for t in tasks), dtype=np.int64, count=len(tasks))
