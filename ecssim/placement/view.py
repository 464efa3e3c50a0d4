"""The placement-facing state of a cluster: one numpy slot per container instance.

The simulator owns these arrays and mutates them in place between placements; placement only
reads them. Arrays may be longer than the number of slots in use (spare capacity for growth):
only the first ``n`` slots count. Slots of instances that are not ACTIVE (INACTIVE, DRAINING,
REGISTERING, or simply unused) have ``active == False`` and are never chosen.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np

#: TCP host ports the ECS agent reserves on every Linux instance (``ECS_RESERVED_PORTS``).
AGENT_RESERVED_TCP_PORTS: tuple[int, ...] = (22, 2375, 2376, 51678, 51679)

#: ECS limit on reserved host ports per container instance, default reserved ports included.
MAX_RESERVED_PORTS = 100

#: Attribute holding the availability zone of an instance.
AZ_ATTRIBUTE = "ecs.availability-zone"


class ClusterView:
    """Arrays of per-instance state read by :func:`ecssim.placement.place`.

    Attributes:
        instance_ids: slot -> instance id (used for messages and explain output only).
        active: status is ACTIVE.
        connected: ``agentConnected``.
        cpu_free, memory_free: the control-plane ledger's remaining CPU units / MiB.
        cpu_registered, memory_registered: registered CPU units / MiB.
        tcp_ports_used, udp_ports_used: static host port -> mask of slots where it is taken
            (the agent-reserved ports included). A missing port is free everywhere.
        reserved_port_count: reserved host ports per slot (tcp and udp, defaults included).
        attributes: attribute name -> (per-slot code into the values list, -1 where the
            instance lacks the attribute; the values list). Codes are ``np.intp``, the index
            type ``take`` and ``bincount`` work in, so lookups by code convert nothing.
        group_counts: task group -> tasks of that group per slot (desired status RUNNING).
            A missing group means zero everywhere.
        running_tasks_count: all tasks with desired status RUNNING per slot (PENDING ones
            included, as ECS counts them).
        eni_free: task ENIs an awsvpc task may still attach per slot (section 2.4).
        gpu_free: GPUs not yet reserved per slot (section 2.5).
        registered_at_s: simulated seconds at which each instance registered (NaN before).
        agent_versions: ECS agent version per slot (``None`` = unknown); for ``agentVersion``.
        start_time: the datetime of simulated t=0 (``None`` = the scenario has none); lets
            ``registeredAt`` compare with dates.
        n: number of slots in use.
    """

    __slots__ = (
        "instance_ids",
        "active",
        "connected",
        "cpu_free",
        "memory_free",
        "cpu_registered",
        "memory_registered",
        "tcp_ports_used",
        "udp_ports_used",
        "reserved_port_count",
        "attributes",
        "group_counts",
        "running_tasks_count",
        "eni_free",
        "gpu_free",
        "registered_at_s",
        "agent_versions",
        "start_time",
        "spread_totals",
        "index",
        "n",
    )

    def __init__(
        self,
        *,
        instance_ids: list[str],
        active: np.ndarray,
        connected: np.ndarray,
        cpu_free: np.ndarray,
        memory_free: np.ndarray,
        cpu_registered: np.ndarray,
        memory_registered: np.ndarray,
        tcp_ports_used: dict[int, np.ndarray],
        udp_ports_used: dict[int, np.ndarray],
        reserved_port_count: np.ndarray,
        attributes: dict[str, tuple[np.ndarray, list[str]]],
        group_counts: dict[str, np.ndarray],
        running_tasks_count: np.ndarray,
        n: int,
        eni_free: np.ndarray | None = None,
        gpu_free: np.ndarray | None = None,
        registered_at_s: np.ndarray | None = None,
        agent_versions: list[str | None] | None = None,
        start_time: datetime | None = None,
    ) -> None:
        self.instance_ids = instance_ids
        self.active = active
        self.connected = connected
        self.cpu_free = cpu_free
        self.memory_free = memory_free
        self.cpu_registered = cpu_registered
        self.memory_registered = memory_registered
        self.tcp_ports_used = tcp_ports_used
        self.udp_ports_used = udp_ports_used
        self.reserved_port_count = reserved_port_count
        self.attributes = attributes
        self.group_counts = group_counts
        self.running_tasks_count = running_tasks_count
        self.n = n
        cap = active.shape[0]
        self.eni_free = np.zeros(cap, dtype=np.int32) if eni_free is None else eni_free
        self.gpu_free = np.zeros(cap, dtype=np.int32) if gpu_free is None else gpu_free
        self.registered_at_s = np.full(cap, np.nan) if registered_at_s is None else registered_at_s
        self.agent_versions = [None] * len(instance_ids) if agent_versions is None else agent_versions
        self.start_time = start_time
        #: group -> attribute -> tasks of the group on ACTIVE slots per attribute bucket, kept up
        #: to date by the owner of the view (``model.cluster.Cluster``); None: no such cache (copies).
        self.spread_totals: dict[str, dict[str, np.ndarray]] | None = None
        #: slots sorted by free memory and CPU (``placement.free_index.FreeIndex``), kept by the
        #: owner of the view for fast binpack placements; None: no index (copies, built views).
        self.index = None

    @property
    def size(self) -> int:
        """Number of slots in use (alias of ``n``)."""
        return self.n

    @classmethod
    def build(
        cls,
        cpu: Sequence[int],
        memory: Sequence[int],
        *,
        azs: Sequence[str | None] | None = None,
        cpu_free: Sequence[int] | None = None,
        memory_free: Sequence[int] | None = None,
        active: Sequence[bool] | None = None,
        connected: Sequence[bool] | None = None,
        tcp_ports: Sequence[Iterable[int]] | None = None,
        udp_ports: Sequence[Iterable[int]] | None = None,
        attributes: Mapping[str, Sequence[str | None]] | None = None,
        group_counts: Mapping[str, Sequence[int]] | None = None,
        instance_ids: Sequence[str] | None = None,
        capacity: int | None = None,
        enis: Sequence[int] | None = None,
        gpus: Sequence[int] | None = None,
        registered_at_s: Sequence[float] | None = None,
        agent_versions: Sequence[str | None] | None = None,
        start_time: datetime | None = None,
    ) -> ClusterView:
        """Build a view from per-instance lists (for tests and small tools).

        Args:
            cpu, memory: registered CPU units and MiB per instance.
            azs: availability zone per instance (``None`` = attribute missing).
            cpu_free, memory_free: remaining amounts (default: the registered amounts).
            active, connected: default all True.
            tcp_ports, udp_ports: static host ports taken by tasks per instance; the
                agent-reserved TCP ports are always added.
            attributes: further attributes, name -> value per instance (``None`` = missing).
            group_counts: task group -> tasks of that group per instance.
            instance_ids: default ``i-`` + 17 hex digits of the slot.
            capacity: array length (>= number of instances); spare slots are inactive.
            enis, gpus: free task ENIs / GPUs per instance (default 0: no awsvpc or GPU task
                fits unless given).
            registered_at_s: registration time per instance in simulated seconds (default NaN).
            agent_versions: agent version per instance (default unknown).
            start_time: datetime of t=0, for ``registeredAt`` dates.
        """
        n = len(cpu)
        cap = n if capacity is None else max(capacity, n)

        def arr(values: Sequence | None, default, dtype) -> np.ndarray:
            out = np.zeros(cap, dtype=dtype)
            out[:n] = default if values is None else np.asarray(values, dtype=dtype)
            return out

        cpu_reg = arr(cpu, 0, np.int32)
        mem_reg = arr(memory, 0, np.int32)
        tcp = _port_masks(tcp_ports, n, cap, AGENT_RESERVED_TCP_PORTS)
        udp = _port_masks(udp_ports, n, cap, ())
        port_count = np.zeros(cap, dtype=np.int32)
        for masks in (tcp, udp):
            for mask in masks.values():
                port_count += mask
        attrs = dict(attributes or {})
        if azs is not None:
            attrs[AZ_ATTRIBUTE] = azs
        counts = {g: arr(c, 0, np.int32) for g, c in (group_counts or {}).items()}
        running = np.zeros(cap, dtype=np.int32)
        for c in counts.values():
            running += c
        registered = np.full(cap, np.nan)
        if registered_at_s is not None:
            registered[:n] = np.asarray(registered_at_s, dtype=np.float64)
        ids = list(instance_ids) if instance_ids is not None else [f"i-{s:017x}" for s in range(n)]
        return cls(
            instance_ids=ids,
            active=arr(active, True, bool),
            connected=arr(connected, True, bool),
            cpu_free=cpu_reg.copy() if cpu_free is None else arr(cpu_free, 0, np.int32),
            memory_free=mem_reg.copy() if memory_free is None else arr(memory_free, 0, np.int32),
            cpu_registered=cpu_reg,
            memory_registered=mem_reg,
            tcp_ports_used=tcp,
            udp_ports_used=udp,
            reserved_port_count=port_count,
            attributes={name: _encode(values, cap) for name, values in attrs.items()},
            group_counts=counts,
            running_tasks_count=running,
            n=n,
            eni_free=arr(enis, 0, np.int32),
            gpu_free=arr(gpus, 0, np.int32),
            registered_at_s=registered,
            agent_versions=list(agent_versions) if agent_versions is not None else [None] * n,
            start_time=start_time,
        )


def _port_masks(
    per_instance: Sequence[Iterable[int]] | None, n: int, cap: int, everywhere: Iterable[int]
) -> dict[int, np.ndarray]:
    """Port -> mask of slots where it is taken; ``everywhere`` ports are taken on all n slots."""
    masks: dict[int, np.ndarray] = {}
    for port in everywhere:
        masks.setdefault(port, np.zeros(cap, dtype=bool))[:n] = True
    for slot, ports in enumerate(per_instance or ()):
        for port in ports:
            masks.setdefault(port, np.zeros(cap, dtype=bool))[slot] = True
    return masks


def _encode(values: Sequence[str | None], cap: int) -> tuple[np.ndarray, list[str]]:
    """Encode per-instance attribute values as (codes, values list); missing is -1."""
    distinct = sorted({v for v in values if v is not None})
    index = {v: i for i, v in enumerate(distinct)}
    codes = np.full(cap, -1, dtype=np.intp)
    codes[: len(values)] = [-1 if v is None else index[v] for v in values]
    return codes, distinct
