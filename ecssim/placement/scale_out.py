"""How many instances cluster auto scaling adds for the tasks waiting in PROVISIONING (ecs-reference 6.3).

ECS's documented computation (DG23 cluster-auto-scaling, "Managed scale-out behavior"):
group the provisioning tasks by identical resource requirements; for each group binpack the
tasks onto empty instances of the group's type (vCPU, memory, ENIs, ports, GPUs); a group
that does not fit one empty instance is excluded; then the step is
``minimumScalingStepSize`` when the count is below it, else ``min(maximumScalingStepSize,
count)``; 0 when every task is excluded (CapacityProviderReservation stays at 100).

ecssim's fleets have one instance type, so "the smallest and the largest type" are the same.
Groups are binpacked separately and their counts added (the guide computes per group and
does not say how groups share instances). Daemon tasks a new instance will also run are not
counted, as the guide does not mention them. Pure functions: no SimPy.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ecssim.placement.demand import TaskDemand


@dataclass(frozen=True)
class InstanceShape:
    """What one empty instance of a group registers: CPU units, MiB, task ENIs, GPUs, reserved ports."""

    cpu: int
    memory_mib: int
    enis: int = 0
    gpus: int = 0
    reserved_ports: tuple[int, ...] = ()


def tasks_per_instance(demand: TaskDemand, shape: InstanceShape) -> int:
    """How many tasks of ``demand`` one empty instance of ``shape`` holds (0: the task does not fit)."""
    limits: list[int] = []
    if demand.memory_mib:
        limits.append(shape.memory_mib // demand.memory_mib)
    if demand.cpu:
        limits.append(shape.cpu // demand.cpu)
    if demand.enis:
        limits.append(shape.enis // demand.enis)
    if demand.gpus:
        limits.append(shape.gpus // demand.gpus)
    if demand.tcp_ports or demand.udp_ports:
        if set(demand.tcp_ports) & set(shape.reserved_ports):
            return 0
        limits.append(1)  # a static host port: one task per instance
    return min(limits) if limits else 0


def instances_for(demands: Iterable[TaskDemand], shape: InstanceShape) -> int:
    """Empty instances of ``shape`` that the tasks need, group by group (excluded tasks need none)."""
    groups: dict[TaskDemand, int] = {}
    for demand in demands:
        groups[demand] = groups.get(demand, 0) + 1
    total = 0
    for demand, count in groups.items():
        per_instance = tasks_per_instance(demand, shape)
        if per_instance > 0:
            total += math.ceil(count / per_instance)
    return total


def scale_out_step(needed: int, minimum_step: int, maximum_step: int, *, minimum_only: bool = False) -> int:
    """Instances one scale-out adds: 0 if nothing is needed, else the documented step rule.

    ``minimum_only``: the aws-sdk-ecs text's rule for groups with several instance types or
    AZs ("scale up by the exact minimum scaling step size"), a named option.
    """
    if needed <= 0:
        return 0
    if minimum_only or needed < minimum_step:
        return minimum_step
    return min(maximum_step, needed)


def reservation(needed: int, in_group: int, waiting: bool) -> float:
    """CapacityProviderReservation ``M / N x 100``; 200 with tasks waiting and no instance; 100 for 0/0."""
    if in_group == 0:
        return 200.0 if waiting and needed > 0 else 100.0
    return needed / in_group * 100.0


def target_size(needed: int, target_capacity: int) -> int:
    """The group size target tracking aims at: ``ceil(M x 100 / targetCapacity)``."""
    return math.ceil(needed * 100 / target_capacity - 1e-9)


def scale_in_limit(in_group: int, fraction: float) -> int:
    """Most instances one scale-in step removes: ``fraction`` of the group, at least one."""
    return max(1, math.floor(in_group * fraction))


def needed_when_waiting(demands: Sequence[TaskDemand], shape: InstanceShape, in_group: int, minimum_step: int,
                        maximum_step: int, *, minimum_only: bool = False) -> int:
    """M with tasks in PROVISIONING: 2 from an empty group ('200%'), else N plus the scale-out step."""
    step = scale_out_step(instances_for(demands, shape), minimum_step, maximum_step, minimum_only=minimum_only)
    if step == 0:
        return in_group  # every waiting task is excluded: CapacityProviderReservation stays at 100
    if in_group == 0:
        return 2
    return in_group + step
