"""Faults: instance failures, AZ outages, agent disconnects, Spot interruptions, task crashes, failed
starts and OOM kills.

An incident is one fault occurrence (one instance failure, one AZ outage, one disconnect,
one crash, one OOM kill); the rows it causes carry its id so that recovery can be measured from the event
table alone. Hosts fail in one of two modes (ecs-reference 5.1, 5.2, 12), carried out by
:class:`~ecssim.model.ec2.Ec2`:

- ``terminated``: EC2 terminates the instance; ECS marks it INACTIVE and stops its tasks
  after ``timing.instanceLossDetectionDelay``; its Auto Scaling group replaces it.
- ``impaired``: the host stops working; ECS sees ``agentConnected=false`` after
  ``timing.agentHeartbeatTimeout`` and keeps its tasks RUNNING, unreplaced, until
  ``terminateAfter`` (if given) terminates the instance.

A Spot interruption (``spotInterruption``, 5.3) gives the notice
(``timing.spotInterruptionNotice``): an instance of a fleet with ``spotInstanceDraining`` goes
DRAINING at once (the agent polls the notice every second; that second is not modelled), then
EC2 terminates it. Its tasks that are still there stop with the host-terminated reason and an
empty stopCode, as for every host termination: ECS's documentation leaves open whether EC2
Spot tasks get ``SpotInterruption`` or ``TerminationNotice`` (its only example of either is
Fargate Spot's ``TerminationNotice``, ecs-reference 1.3), and ecssim does not guess.

Stochastic instance failures (``timeToFailure``) draw, for every matching instance when it
registers (replacements included), its time to failure from a stream keyed by the fault and
the instance's stable key (``<fleet>/<index>``).

Every occurrence is an incident except a failed start (``failedStart``): a task that never
reached RUNNING took no running capacity away, so it opens no incident and writes no fault
row; its trace is the task's own rows (stopCode ``TaskFailedToStart``) and the service's
start-failure throttle.
"""

from __future__ import annotations

import math

from ..scenario.models import (
    AgentDisconnect,
    AzOutage,
    FailedStart,
    FargateSpotInterruption,
    HealthCheckFailure,
    InstanceFailure,
    InstanceSelector,
    MemoryUse,
    SpotInterruption,
    TaskCrash,
)
from ..scenario.td_rules import hard_memory_limit_mib
from .cluster import ACTIVE, DRAINING, INACTIVE
from .fargate_spot import FargateSpotFault
from .selection import matches, select_instances
from .task import ESSENTIAL_EXIT_REASON, OOM_REASON

_ONE_AT_RANDOM = InstanceSelector(count=1)


def fault_key(fault, position: int) -> str:  # noqa: ANN001
    """The stable name of a fault's random stream: its name, else its kind and position."""
    return fault.name or f"{fault.type}[{position}]"


class CrashRuntime:
    """Draws the time to crash of each task of a service when it starts RUNNING."""

    kind = "task_crash"
    reason = ESSENTIAL_EXIT_REASON
    __slots__ = ("name", "mean", "start", "end", "rng")

    def __init__(self, fault: TaskCrash, name: str, rng) -> None:  # noqa: ANN001
        self.name = name
        self.mean = fault.mean_time_to_crash
        self.start = fault.start
        self.end = fault.end if fault.end is not None else math.inf
        self.rng = rng

    def draw(self, now: float) -> float:
        """Delay from ``now`` to this task's crash (exponential; none outside [start, end))."""
        begin = max(now, self.start)
        if begin >= self.end:
            return math.inf
        at = begin + float(self.rng.exponential(self.mean))
        return at - now if at < self.end else math.inf


class TaskTarget:
    """The tasks a task-level fault applies to: a service's, or a task definition's (or family's)."""

    __slots__ = ("name", "rng", "service", "key", "family")

    def __init__(self, fault: FailedStart | MemoryUse, name: str, rng) -> None:  # noqa: ANN001
        self.name = name
        self.rng = rng
        self.service = fault.service
        reference = (fault.task_definition or "").rsplit("/", 1)[-1]  # an ARN's last part is family:revision
        family, _, revision = reference.partition(":")
        self.key = reference if revision else None  # family:revision, or None for every revision
        self.family = family

    def applies(self, task) -> bool:  # noqa: ANN001
        """Whether ``task`` is one of the fault's tasks."""
        if self.service is not None:
            return task.service is not None and task.service.name == self.service
        return task.spec.key == self.key if self.key is not None else task.spec.family == self.family


class StartFailure(TaskTarget):
    """Decides, one draw per task start, whether a task of a service or task definition fails to start."""

    __slots__ = ("probability", "start", "end")

    def __init__(self, fault: FailedStart, name: str, rng) -> None:  # noqa: ANN001
        super().__init__(fault, name, rng)
        self.probability = fault.probability
        self.start = fault.start
        self.end = fault.end if fault.end is not None else math.inf

    def fails(self, task, now: float) -> bool:  # noqa: ANN001
        """Whether this start of ``task`` fails (a draw only for tasks it applies to, within [start, end))."""
        if not self.applies(task) or not self.start <= now < self.end:
            return False
        return float(self.rng.random()) < self.probability


class MemoryKill(TaskTarget):
    """Draws each matching task's memory use when it reaches RUNNING; above the hard limit, an OOM kill."""

    kind = "oom_kill"
    reason = OOM_REASON
    __slots__ = ("usage", "ramp", "limits")

    def __init__(self, fault: MemoryUse, name: str, rng, limits: dict) -> None:  # noqa: ANN001
        super().__init__(fault, name, rng)
        self.usage = fault.usage
        self.ramp = fault.ramp
        self.limits = limits  # task definition key -> hard memory limit (MiB) or None

    def draw(self, task) -> float:  # noqa: ANN001
        """Delay from RUNNING to the OOM kill of ``task`` (inf if its use stays within the limit).

        The use grows linearly from 0 to the drawn value over ``ramp``: it crosses the limit
        at ``ramp * limit / use``.
        """
        if not self.applies(task):
            return math.inf
        limit = self.limits.get(task.spec.key)
        if limit is None:
            return math.inf
        use = float(self.usage.sample(self.rng))
        return self.ramp * limit / use if use > limit else math.inf


class HealthFailure(TaskTarget):
    """Decides, one draw per task reaching RUNNING, whether and when its application fails its health checks."""

    kind = "health_check_failure"
    __slots__ = ("probability", "time_to_failure", "start", "end", "plane")

    def __init__(self, fault: HealthCheckFailure, name: str, rng, plane) -> None:  # noqa: ANN001
        super().__init__(fault, name, rng)
        self.probability = fault.probability
        self.time_to_failure = fault.time_to_failure
        self.start = fault.start
        self.end = fault.end if fault.end is not None else math.inf
        self.plane = plane

    def draw(self, task, now: float) -> float:  # noqa: ANN001
        """Delay from RUNNING (now) to the application failing (inf if this task is not hit)."""
        if not self.applies(task) or not self.start <= now < self.end:
            return math.inf
        if self.probability < 1.0 and float(self.rng.random()) >= self.probability:
            return math.inf
        return self.time_to_failure.sample(self.rng) if self.time_to_failure is not None else 0.0

    def record(self, task) -> str:  # noqa: ANN001
        """The failure was noticed now: open its incident and return its id."""
        return self.plane.record_crash(task, self)


def install_faults(world) -> None:  # noqa: ANN001
    """Start the processes of every fault in the scenario."""
    for position, fault in enumerate(world.scenario.faults):
        name = fault_key(fault, position)
        rng = world.streams.get("fault", name)
        if isinstance(fault, TaskCrash):
            world.plane.crash_faults.setdefault(fault.service, []).append(CrashRuntime(fault, name, rng))
        elif isinstance(fault, FailedStart):
            world.plane.start_faults.append(StartFailure(fault, name, rng))
        elif isinstance(fault, HealthCheckFailure):
            world.plane.health.failure_faults.append(HealthFailure(fault, name, rng, world.plane))
        elif isinstance(fault, MemoryUse):
            limits = {td.key: hard_memory_limit_mib(td) for td in world.scenario.task_definitions}
            world.plane.oom_faults.append(MemoryKill(fault, name, rng, limits))
        elif isinstance(fault, InstanceFailure) and fault.time_to_failure is not None:
            FailureClock(world, fault, name).install()
        elif isinstance(fault, InstanceFailure):
            for at in sorted(fault.at):
                world.env.process(_instance_failure(world, fault, name, rng, at))
        elif isinstance(fault, AzOutage):
            world.env.process(_az_outage(world, fault, name))
        elif isinstance(fault, AgentDisconnect):
            for at in sorted(fault.at):
                world.env.process(_agent_disconnect(world, fault, name, rng, at))
        elif isinstance(fault, SpotInterruption):
            for at in sorted(fault.at):
                world.env.process(_spot_interruption(world, fault, name, rng, at))
        elif isinstance(fault, FargateSpotInterruption):
            FargateSpotFault(world, fault, name, rng).install()


def fail_instance(world, slot: int, fault, name: str, kind: str, incident: str) -> None:  # noqa: ANN001
    """Fail one host in the fault's mode (the incident's fault row is already recorded)."""
    if fault.mode == "impaired":
        world.ec2.impair(slot, incident, fault.terminate_after, f"Impaired instance terminated (fault {name})")
    elif kind == "az_outage":
        world.ec2.terminate(slot, f"Availability zone outage (fault {name})", incident)
    else:
        world.ec2.terminate(slot, f"Instance terminated (fault {name})", incident)


def _instance_failure(world, fault: InstanceFailure, name: str, rng, at: float):  # noqa: ANN001
    yield world.env.timeout(at)
    plane = world.plane
    for slot in select_instances(world.cluster.infos, fault.select or _ONE_AT_RANDOM, rng):
        incident = plane.new_incident()
        info = world.cluster.infos[slot]
        plane.rec.fault(incident, "fault", "instance_failure", name, instance_id=info.id, az=info.az)
        fail_instance(world, slot, fault, name, "instance_failure", incident)


class FailureClock:
    """Stochastic instance failures: each matching instance fails after its own drawn time."""

    def __init__(self, world, fault: InstanceFailure, name: str) -> None:  # noqa: ANN001
        self.world = world
        self.fault = fault
        self.name = name
        self.distribution = fault.time_to_failure

    def install(self) -> None:
        """Arm the instances registered already (warm start) and every one that registers later."""
        for info in self.world.cluster.infos:
            if info.status in (ACTIVE, DRAINING):
                self.arm(info.slot)
        self.world.plane.registration_listeners.append(self.arm)

    def arm(self, slot: int) -> None:
        """Draw the time to failure of a newly registered instance, if the fault selects it."""
        world = self.world
        info = world.cluster.infos[slot]
        if not matches(info, self.fault.select):
            return
        rng = world.streams.fresh("fault", f"{self.name}/{info.stream_key}")  # an instance registers once
        timer = world.env.timeout(self.distribution.sample(rng))
        timer.callbacks.append(lambda _event: self._fail(info))  # the instance: slots get renumbered

    def _fail(self, info) -> None:  # noqa: ANN001
        world = self.world
        slot = info.slot
        if slot < 0:  # INACTIVE and its slot dropped meanwhile (model.compaction)
            return
        agent = world.plane.agents[slot]
        if agent.terminated or info.status == INACTIVE or (self.fault.mode == "impaired" and not agent.alive):
            return
        incident = world.plane.new_incident()
        world.plane.rec.fault(incident, "fault", "instance_failure", self.name, instance_id=info.id, az=info.az)
        fail_instance(world, slot, self.fault, self.name, "instance_failure", incident)


def _az_outage(world, fault: AzOutage, name: str):  # noqa: ANN001
    env, plane = world.env, world.plane
    zone = fault.availability_zone
    yield env.timeout(fault.start)
    incident = plane.new_incident()
    plane.rec.fault(incident, "fault", "az_outage", name, az=zone)
    world.down_azs.add(zone)
    if fault.refuse_new_instances:
        world.refusing_azs.add(zone)  # before the terminations, so that replacements go elsewhere
    for info in list(world.cluster.infos):
        if info.az == zone and info.status != INACTIVE:
            fail_instance(world, info.slot, fault, name, "az_outage", incident)
    if fault.end is not None:
        yield env.timeout(max(fault.end - fault.start, 0.0))
        world.down_azs.discard(zone)
        world.refusing_azs.discard(zone)
        plane.rec.fault(incident, "fault_end", "az_outage", name, az=zone)
        for asg in world.asgs.values():
            asg.retry_pending()
            asg.rebalance()


def _agent_disconnect(world, fault: AgentDisconnect, name: str, rng, at: float):  # noqa: ANN001
    env, plane = world.env, world.plane
    yield env.timeout(at)
    cut = []
    for slot in select_instances(world.cluster.infos, fault.select, rng):
        incident = plane.new_incident()
        info = world.cluster.infos[slot]
        plane.rec.fault(incident, "fault", "agent_disconnect", name, instance_id=info.id, az=info.az)
        if world.ec2.disconnect(slot, incident):
            cut.append((info, incident))  # the instance, not its slot: slots get renumbered meanwhile
    if fault.duration is None or not cut:
        return
    yield env.timeout(fault.duration)
    for info, incident in cut:
        plane.rec.fault(incident, "fault_end", "agent_disconnect", name, instance_id=info.id, az=info.az)
        if info.slot >= 0:  # -1: INACTIVE and its slot dropped meanwhile, nothing to reconnect
            world.ec2.reconnect(info.slot, incident)


def _spot_interruption(world, fault: SpotInterruption, name: str, rng, at: float):  # noqa: ANN001
    env, plane = world.env, world.plane
    yield env.timeout(at)
    spot = [info for info in world.cluster.infos if info.market == "spot" and not plane.agents[info.slot].terminated]
    noticed = []
    for slot in select_instances(spot, fault.select, rng):
        incident = plane.new_incident()
        info = world.cluster.infos[slot]
        plane.rec.fault(incident, "fault", "spot_interruption", name, instance_id=info.id, az=info.az)
        if world.asgs[info.fleet].fleet.spot_instance_draining:
            plane.drain_instance(slot, f"Spot instance interruption notice (fault {name})", incident)
        noticed.append((info, incident))  # the instance, not its slot: slots get renumbered meanwhile
    yield env.timeout(world.scenario.timing.spot_interruption_notice)
    for info, incident in noticed:
        if info.slot >= 0:  # -1: terminated otherwise and its slot dropped meanwhile
            world.ec2.terminate(info.slot, f"Spot instance interrupted (fault {name})", incident)
