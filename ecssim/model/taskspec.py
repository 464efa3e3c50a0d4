"""What a task definition means to the simulator: its resource demand and start/stop facts.

Demand follows ECS exactly (ecs-reference 2.2, the agent's ``ToHostResources``): task-level
cpu/memory when set, else the sum over containers, with ``memoryReservation`` preferred over
``memory``; static host ports conflict, dynamic ones (``hostPort`` 0 or absent in bridge mode)
do not, and awsvpc tasks reserve no host ports (their ports live on the task's ENI) but one
ENI each (2.4). GPUs are the sum of the containers' ``resourceRequirements`` of type GPU (2.5).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..placement import TaskDemand
from ..scenario.ecs_objects import TaskDefinition


@dataclass(frozen=True, slots=True)
class TaskSpec:
    """The facts of one task definition that the hot path needs, resolved once."""

    key: str  # family:revision
    family: str
    demand: TaskDemand
    network_mode: str
    images: tuple[str, ...]
    stop_timeout_s: float
    host_ports: str  # "80/tcp 53/udp", for the tasks table

    def with_demand(self, cpu: int, memory_mib: int) -> TaskSpec:
        """The same task definition with another cpu/memory (trace rows carry their own)."""
        demand = replace(self.demand, cpu=cpu, memory_mib=memory_mib)
        return TaskSpec(self.key, self.family, demand, self.network_mode, self.images,
                        self.stop_timeout_s, self.host_ports)


def task_demand(td: TaskDefinition) -> TaskDemand:
    """The CPU units, MiB, static host ports, ENIs and GPUs ECS reserves for one task of ``td``."""
    containers = td.container_definitions
    cpu = td.cpu if td.cpu else sum(c.cpu for c in containers)
    if td.memory:
        memory = td.memory
    else:
        memory = sum(
            (c.memory_reservation if c.memory_reservation is not None else (c.memory or 0)) for c in containers
        )
    tcp: list[int] = []
    udp: list[int] = []
    if td.network_mode in ("bridge", "host"):
        for container in containers:
            for mapping in container.port_mappings:
                port = mapping.host_port
                if td.network_mode == "host" and not port:
                    port = mapping.container_port
                if port:
                    (udp if mapping.protocol == "udp" else tcp).append(port)
    return TaskDemand(cpu=int(cpu), memory_mib=int(memory), tcp_ports=tuple(sorted(set(tcp))),
                      udp_ports=tuple(sorted(set(udp))), enis=1 if td.network_mode == "awsvpc" else 0,
                      gpus=sum(c.gpus for c in containers))


def task_spec(td: TaskDefinition, default_stop_timeout_s: float) -> TaskSpec:
    """Resolve a task definition once for the run."""
    demand = task_demand(td)
    timeouts = [c.stop_timeout for c in td.container_definitions if c.stop_timeout is not None]
    ports = [f"{p}/tcp" for p in demand.tcp_ports] + [f"{p}/udp" for p in demand.udp_ports]
    return TaskSpec(
        key=td.key,
        family=td.family,
        demand=demand,
        network_mode=td.network_mode,
        images=tuple(sorted({c.image for c in td.container_definitions if c.image})),
        stop_timeout_s=float(max(timeouts)) if timeouts else float(default_stop_timeout_s),
        host_ports=" ".join(ports),
    )
