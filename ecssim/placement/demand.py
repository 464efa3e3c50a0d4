"""What one task asks of a container instance, as placement sees it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TaskDemand:
    """Resources one task reserves on an EC2 container instance (ecs-reference section 2.2).

    Attributes:
        cpu: CPU units (0 is allowed: only memory then constrains the task).
        memory_mib: MiB reserved in the control-plane ledger.
        tcp_ports: static TCP host ports (dynamic ports and awsvpc ports are not listed).
        udp_ports: static UDP host ports.
        enis: elastic network interfaces (1 for an awsvpc task, else 0; section 2.4).
        gpus: physical GPUs (the containers' ``resourceRequirements`` of type GPU; 2.5).
    """

    cpu: int
    memory_mib: int
    tcp_ports: tuple[int, ...] = ()
    udp_ports: tuple[int, ...] = ()
    enis: int = 0
    gpus: int = 0

    @property
    def port_count(self) -> int:
        """Host ports this task reserves (counts toward the 100-per-instance limit)."""
        return len(self.tcp_ports) + len(self.udp_ports)
