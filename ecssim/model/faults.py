"""Faults: instance failures, AZ outages and task crashes, each occurrence an incident.

An incident is one fault occurrence (one instance failure, one AZ outage, one crash); the
rows it causes carry its id so that recovery can be measured from the event table alone.
In the core, an AZ outage terminates the AZ's instances for good (nothing replaces them
yet); its end only lets new instances register there again.
"""

from __future__ import annotations

import math

from ..scenario.models import AzOutage, InstanceFailure, TaskCrash
from .cluster import INACTIVE
from .selection import select_instances


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
        elif isinstance(fault, InstanceFailure):
            for at in sorted(fault.at):
                world.env.process(_instance_failure(world, fault, name, rng, at))
        elif isinstance(fault, AzOutage):
            world.env.process(_az_outage(world, fault, name))


def _instance_failure(world, fault: InstanceFailure, name: str, rng, at: float):  # noqa: ANN001
    yield world.env.timeout(at)
    plane = world.plane
    for slot in select_instances(world.cluster.infos, fault.select, rng):
        incident = plane.new_incident()
        info = world.cluster.infos[slot]
        plane.rec.fault(incident, "fault", "instance_failure", name, instance_id=info.id, az=info.az)
        plane.terminate_instance(slot, f"Instance terminated (fault {name})", incident)


def _az_outage(world, fault: AzOutage, name: str):  # noqa: ANN001
    env, plane = world.env, world.plane
    yield env.timeout(fault.start)
    incident = plane.new_incident()
    plane.rec.fault(incident, "fault", "az_outage", name, az=fault.availability_zone)
    world.down_azs.add(fault.availability_zone)
    for info in list(world.cluster.infos):
        if info.az == fault.availability_zone and info.status != INACTIVE:
            plane.terminate_instance(info.slot, f"Availability zone outage (fault {name})", incident)
    if fault.end is not None:
        yield env.timeout(max(fault.end - fault.start, 0.0))
        world.down_azs.discard(fault.availability_zone)
        plane.rec.fault(incident, "fault_end", "az_outage", name, az=fault.availability_zone)
