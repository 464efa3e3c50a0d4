"""Faults: instance failures, AZ outages, agent disconnects and task crashes; each occurrence an incident.

An incident is one fault occurrence (one instance failure, one AZ outage, one disconnect,
one crash); the rows it causes carry its id so that recovery can be measured from the event
table alone. Hosts fail in one of two modes (ecs-reference 5.1, 5.2, 12), carried out by
:class:`~ecssim.model.ec2.Ec2`:

- ``terminated``: EC2 terminates the instance; ECS marks it INACTIVE and stops its tasks
  after ``timing.instanceLossDetectionDelay``; its Auto Scaling group replaces it.
- ``impaired``: the host stops working; ECS sees ``agentConnected=false`` after
  ``timing.agentHeartbeatTimeout`` and keeps its tasks RUNNING, unreplaced, until
  ``terminateAfter`` (if given) terminates the instance.

Stochastic instance failures (``timeToFailure``) draw, for every matching instance when it
registers (replacements included), its time to failure from a stream keyed by the fault and
the instance's stable key (``<fleet>/<index>``).
"""

from __future__ import annotations

import math

from ..scenario.models import AgentDisconnect, AzOutage, InstanceFailure, InstanceSelector, TaskCrash
from .cluster import ACTIVE, DRAINING, INACTIVE
from .selection import matches, select_instances

_ONE_AT_RANDOM = InstanceSelector(count=1)


def fault_key(fault, position: int) -> str:  # noqa: ANN001
    """The stable name of a fault's random stream: its name, else its kind and position."""
    return fault.name or f"{fault.type}[{position}]"


class CrashRuntime:
    """Draws the time to crash of each task of a service when it starts RUNNING."""

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


def install_faults(world) -> None:  # noqa: ANN001
    """Start the processes of every fault in the scenario."""
    for position, fault in enumerate(world.scenario.faults):
        name = fault_key(fault, position)
        rng = world.streams.get("fault", name)
        if isinstance(fault, TaskCrash):
            world.plane.crash_faults.setdefault(fault.service, []).append(CrashRuntime(fault, name, rng))
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
        rng = world.streams.get("fault", f"{self.name}/{info.stream_key}")
        timer = world.env.timeout(self.distribution.sample(rng))
        timer.callbacks.append(lambda _event: self._fail(slot))

    def _fail(self, slot: int) -> None:
        world = self.world
        agent = world.plane.agents[slot]
        info = world.cluster.infos[slot]
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


def _agent_disconnect(world, fault: AgentDisconnect, name: str, rng, at: float):  # noqa: ANN001
    env, plane = world.env, world.plane
    yield env.timeout(at)
    cut = []
    for slot in select_instances(world.cluster.infos, fault.select, rng):
        incident = plane.new_incident()
        info = world.cluster.infos[slot]
        plane.rec.fault(incident, "fault", "agent_disconnect", name, instance_id=info.id, az=info.az)
        if world.ec2.disconnect(slot, incident):
            cut.append((slot, incident))
    if fault.duration is None or not cut:
        return
    yield env.timeout(fault.duration)
    for slot, incident in cut:
        info = world.cluster.infos[slot]
        plane.rec.fault(incident, "fault_end", "agent_disconnect", name, instance_id=info.id, az=info.az)
        world.ec2.reconnect(slot, incident)
