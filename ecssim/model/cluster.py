"""Container instances: the control-plane ledger in numpy arrays, one slot per instance.

The arrays are shared with the placement :class:`~ecssim.placement.ClusterView`, which
reads them; only this module writes them. Integer slots inside, instance ids at the edges.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime

import numpy as np

from ..placement import ClusterView
from ..placement.free_index import FreeIndex

REGISTERING = "REGISTERING"
ACTIVE = "ACTIVE"
DRAINING = "DRAINING"
INACTIVE = "INACTIVE"

_INT_ARRAYS = ("cpu_free", "memory_free", "cpu_registered", "memory_registered", "eni_free", "gpu_free")


class InstanceInfo:
    """The fixed facts of one container instance, and its status."""

    __slots__ = ("slot", "id", "fleet", "instance_type", "az", "market", "attributes", "status", "stream_key")

    def __init__(self, slot: int, instance_id: str, fleet: str, instance_type: str, az: str, market: str,
                 attributes: dict[str, str], stream_key: str) -> None:
        self.slot = slot
        self.id = instance_id
        self.fleet = fleet
        self.instance_type = instance_type
        self.az = az
        self.market = market
        self.attributes = attributes
        self.status = REGISTERING
        self.stream_key = stream_key


class Cluster:
    """All container instances of the run and the control plane's view of their resources.

    Args:
        reserved_ports: TCP ports the agent reserves on every instance.
        capacity: initial number of slots (grows by a quarter, at least 64 slots, when full:
            each task group keeps an array of this size, so doubling would waste up to half).
        start_time: the datetime of simulated t=0, for ``registeredAt`` dates in queries.
        clock: the simulated time now (e.g. ``lambda: env.now``); :meth:`activate` records
            it as the registration time when it is not given ``now``.
    """

    def __init__(self, reserved_ports: list[int], capacity: int = 64, *, start_time: datetime | None = None,
                 clock: Callable[[], float] | None = None) -> None:
        self.reserved_ports = tuple(sorted(set(int(p) for p in reserved_ports)))
        self._clock = clock
        self.infos: list[InstanceInfo] = []
        self._attr_codes: dict[str, dict[str, int]] = {}
        capacity = max(int(capacity), 1)
        self.view = ClusterView(
            instance_ids=[],
            active=np.zeros(capacity, dtype=bool),
            connected=np.zeros(capacity, dtype=bool),
            cpu_free=np.zeros(capacity, dtype=np.int32),
            memory_free=np.zeros(capacity, dtype=np.int32),
            cpu_registered=np.zeros(capacity, dtype=np.int32),
            memory_registered=np.zeros(capacity, dtype=np.int32),
            tcp_ports_used={},
            udp_ports_used={},
            reserved_port_count=np.zeros(capacity, dtype=np.int32),
            attributes={},
            group_counts={},
            running_tasks_count=np.zeros(capacity, dtype=np.int32),
            n=0,
            eni_free=np.zeros(capacity, dtype=np.int32),
            gpu_free=np.zeros(capacity, dtype=np.int32),
            registered_at_s=np.full(capacity, np.nan),
            agent_versions=[],
            start_time=start_time,
        )
        self.view.spread_totals = {}  # kept up to date below (reserve, release_desired, active flips)
        self.view.index = self.index = FreeIndex()  # kept up to date below (_take, status and connection changes)
        self._capacity = capacity
        self.launched = 0  # instances ever added: their ids count up, whatever slot they take
        #: Bumped whenever an instance's status or attributes change (what eligibility depends on),
        #: so callers can cache per-membership answers such as a service's eligible AZs.
        self.membership_version = 0
        self._active_azs: tuple[int, tuple[str, ...]] = (-1, ())
        self._active_per_az: dict[str, int] = {}  # ACTIVE instances per AZ

    # ------------------------------------------------------------------ instances
    def add_instance(self, *, fleet: str, instance_type: str, az: str, market: str, cpu: int, memory: int,
                     attributes: dict[str, str], stream_key: str, task_enis: int = 0, gpus: int = 0,
                     agent_version: str | None = None) -> InstanceInfo:
        """Add a launched (REGISTERING) instance; it accepts tasks once :meth:`activate` is called.

        ``task_enis`` is how many awsvpc tasks it can attach ENIs for (2.4), ``gpus`` its
        GPUs (2.5), ``agent_version`` the ECS agent it runs (``agentVersion`` in queries).
        """
        view = self.view
        slot = view.n
        if slot >= self._capacity:
            self._grow(max(self._capacity + 64, self._capacity * 5 // 4))
        self.launched += 1
        instance_id = f"i-{self.launched:017x}"
        info = InstanceInfo(slot, instance_id, fleet, instance_type, az, market, dict(attributes), stream_key)
        self.infos.append(info)
        view.instance_ids.append(instance_id)
        view.n = slot + 1
        view.cpu_registered[slot] = cpu
        view.memory_registered[slot] = memory
        view.cpu_free[slot] = cpu
        view.memory_free[slot] = memory
        view.eni_free[slot] = task_enis
        view.gpu_free[slot] = gpus
        view.agent_versions.append(agent_version)
        for port in self.reserved_ports:
            self._port_mask(view.tcp_ports_used, port)[slot] = True
        view.reserved_port_count[slot] = len(self.reserved_ports)
        for name, value in info.attributes.items():
            self._set_attribute(slot, name, value)
        return info

    def activate(self, slot: int, now: float | None = None) -> None:
        """The agent registered (at ``now``, default the cluster's clock): ACTIVE and connected."""
        if now is None:
            now = self._clock() if self._clock is not None else math.nan
        self.view.registered_at_s[slot] = now
        self.membership_version += 1
        self.infos[slot].status = ACTIVE
        self._set_active_flag(slot, True)
        self.view.connected[slot] = True
        self.index.refresh(slot, self.view)

    def active_azs(self) -> tuple[str, ...]:
        """The AZs that have an ACTIVE instance, sorted (cached until the membership changes)."""
        version, azs = self._active_azs
        if version != self.membership_version:
            azs = tuple(sorted(az for az, count in self._active_per_az.items() if count > 0))
            self._active_azs = (self.membership_version, azs)
        return azs

    def _take(self, slot: int, cpu: int, memory: int) -> None:
        """Take ``cpu`` units and ``memory`` MiB off ``slot``'s free amounts (negative: give back)."""
        view = self.view
        # .item(): a Python int at once (no numpy scalar to convert), twice per task
        new_cpu, new_memory = view.cpu_free.item(slot) - cpu, view.memory_free.item(slot) - memory
        view.cpu_free[slot] = new_cpu
        view.memory_free[slot] = new_memory
        if self.index.orders:
            self.index.moved(slot, new_cpu, new_memory, view)

    def _set_active_flag(self, slot: int, active: bool) -> None:
        """Flip ``view.active`` of ``slot``, keeping the count of ACTIVE instances per AZ."""
        view = self.view
        if bool(view.active[slot]) != active:
            az = self.infos[slot].az
            self._active_per_az[az] = self._active_per_az.get(az, 0) + (1 if active else -1)
            view.active[slot] = active
            self.index.refresh(slot, view)
            if not view.spread_totals or not view.running_tasks_count[slot]:
                return  # no cache, or no task on the slot: no total changes
            sign = 1 if active else -1
            for group, per_attribute in view.spread_totals.items():
                tasks = view.group_counts[group][slot]
                if tasks:
                    for attribute, totals in per_attribute.items():
                        totals[view.attributes[attribute][0][slot] + 1] += sign * tasks

    def _spread_change(self, group: str, slot: int, change: int) -> None:
        """A task of ``group`` came to or left ``slot``: update the group's spread totals."""
        view = self.view
        if view.spread_totals and view.active[slot]:
            per_attribute = view.spread_totals.get(group)
            if per_attribute:
                for attribute, totals in per_attribute.items():
                    bucket = view.attributes[attribute][0].item(slot) + 1  # Python ints: no numpy scalars
                    totals[bucket] = totals.item(bucket) + change

    def set_connected(self, slot: int, connected: bool) -> None:
        """The agent's connection (``agentConnected``): nothing is placed where it is false."""
        self.view.connected[slot] = connected
        self.index.refresh(slot, self.view)

    def set_draining(self, slot: int) -> None:
        """UpdateContainerInstancesState DRAINING: still registered, but nothing new is placed there."""
        self.membership_version += 1
        self.infos[slot].status = DRAINING
        self._set_active_flag(slot, False)

    def set_active(self, slot: int) -> None:
        """UpdateContainerInstancesState ACTIVE on a DRAINING instance: tasks are placed there again."""
        self.membership_version += 1
        self.infos[slot].status = ACTIVE
        self._set_active_flag(slot, True)

    def deactivate(self, slot: int) -> None:
        """The instance is gone (INACTIVE): it never takes a task again."""
        self.membership_version += 1
        self.infos[slot].status = INACTIVE
        self._set_active_flag(slot, False)
        self.view.connected[slot] = False
        self.index.refresh(slot, self.view)

    def _set_attribute(self, slot: int, name: str, value: str) -> None:
        self.membership_version += 1
        attributes = self.view.attributes
        if name not in attributes:
            attributes[name] = (np.full(self._capacity, -1, dtype=np.intp), [])
            self._attr_codes[name] = {}
        codes, values = attributes[name]
        code_of = self._attr_codes[name]
        code = code_of.get(value)
        new_bucket = code is None
        if new_bucket:
            code = len(values)
            values.append(value)
            code_of[value] = code
        if self.view.spread_totals and (new_bucket or self.view.active[slot]):
            # a new bucket, or a counted slot moving: totals of this attribute are built again
            for per_attribute in self.view.spread_totals.values():
                per_attribute.pop(name, None)
        codes[slot] = code
        if self.index.orders:
            self.index.refresh(slot, self.view)  # it may be in another bucket of a spread's order

    def _port_mask(self, masks: dict[int, np.ndarray], port: int) -> np.ndarray:
        mask = masks.get(port)
        if mask is None:
            mask = np.zeros(self._capacity, dtype=bool)
            masks[port] = mask
        return mask

    def _grow(self, capacity: int) -> None:
        view = self.view
        old = self._capacity

        def grown(array: np.ndarray, fill=0) -> np.ndarray:  # noqa: ANN001
            out = np.full(capacity, fill, dtype=array.dtype)
            out[:old] = array
            return out

        for name in _INT_ARRAYS + ("active", "connected", "reserved_port_count", "running_tasks_count"):
            setattr(view, name, grown(getattr(view, name)))
        view.registered_at_s = grown(view.registered_at_s, math.nan)
        for masks in (view.tcp_ports_used, view.udp_ports_used):
            for port in list(masks):
                masks[port] = grown(masks[port])
        for group in list(view.group_counts):
            view.group_counts[group] = grown(view.group_counts[group])
        for name, (codes, values) in list(view.attributes.items()):
            view.attributes[name] = (grown(codes, -1), values)
        self._capacity = capacity

    def compact(self, keep: np.ndarray) -> np.ndarray:
        """Drop the slots where ``keep`` (one bool per slot in use) is False and renumber the others
        downwards in order; returns each old slot's new number (-1: dropped).

        For instances that are gone for good (INACTIVE, no task): keeping their slots would make
        every per-slot array, every task group's among them, grow with the instances ever launched.
        The order of the kept slots, and so every placement tie-break, is unchanged. The arrays
        keep their capacity; the freed tail gets the values of an empty slot again.
        """
        view = self.view
        n = view.n
        keep = np.asarray(keep, dtype=bool)[:n]
        kept = int(keep.sum())
        new_of = np.full(n, -1, dtype=np.int64)
        new_of[keep] = np.arange(kept)

        def squeeze(array: np.ndarray, fill) -> None:  # noqa: ANN001
            array[:kept] = array[:n][keep]
            array[kept:n] = fill

        for name in _INT_ARRAYS + ("reserved_port_count", "running_tasks_count"):
            squeeze(getattr(view, name), 0)
        squeeze(view.active, False)
        squeeze(view.connected, False)
        squeeze(view.registered_at_s, math.nan)
        for masks in (view.tcp_ports_used, view.udp_ports_used):
            for mask in masks.values():
                squeeze(mask, False)
        for counts in view.group_counts.values():
            squeeze(counts, 0)
        for codes, _values in view.attributes.values():
            squeeze(codes, -1)
        kept_slots = np.flatnonzero(keep).tolist()
        view.instance_ids[:] = [view.instance_ids[s] for s in kept_slots]
        view.agent_versions[:] = [view.agent_versions[s] for s in kept_slots]
        for info in self.infos:
            info.slot = int(new_of[info.slot])  # -1 for the dropped ones: holders check before use
        self.infos[:] = [self.infos[s] for s in kept_slots]
        view.n = kept
        self.membership_version += 1
        self.index.rebuild(view)
        return new_of

    # ------------------------------------------------------------------ control-plane ledger
    def reserve(self, slot: int, task) -> None:  # noqa: ANN001
        """Take a newly placed task's resources (and count it as desired RUNNING)."""
        view = self.view
        demand = task.spec.demand
        self._take(slot, task.cpu, task.memory)
        if demand.tcp_ports or demand.udp_ports:
            for port in demand.tcp_ports:
                self._port_mask(view.tcp_ports_used, port)[slot] = True
            for port in demand.udp_ports:
                self._port_mask(view.udp_ports_used, port)[slot] = True
            view.reserved_port_count[slot] += len(demand.tcp_ports) + len(demand.udp_ports)
        if demand.enis:
            view.eni_free[slot] -= demand.enis
        if demand.gpus:
            view.gpu_free[slot] -= demand.gpus
        counts = view.group_counts.get(task.group)
        if counts is None:
            counts = np.zeros(self._capacity, dtype=np.int32)
            view.group_counts[task.group] = counts
        counts[slot] = counts.item(slot) + 1  # .item(): a Python int, no numpy scalar made
        running = view.running_tasks_count
        running[slot] = running.item(slot) + 1
        self._spread_change(task.group, slot, 1)

    def release_desired(self, slot: int, task) -> None:  # noqa: ANN001
        """The task's desired status became STOPPED: it no longer counts for its group."""
        view = self.view
        counts, running = view.group_counts[task.group], view.running_tasks_count
        counts[slot] = counts.item(slot) - 1
        running[slot] = running.item(slot) - 1
        self._spread_change(task.group, slot, -1)

    def release(self, slot: int, task) -> None:  # noqa: ANN001
        """Free the task's resources in the control-plane ledger (at STOPPING, ecs-reference 2.6).

        The task's ENI and GPUs are freed with its CPU and memory (ECS does not say when its
        scheduler counts a detaching ENI as free; the agent's DEPROVISIONING follows).
        """
        view = self.view
        demand = task.spec.demand
        self._take(slot, -task.cpu, -task.memory)
        if demand.tcp_ports or demand.udp_ports:
            for port in demand.tcp_ports:
                view.tcp_ports_used[port][slot] = False
            for port in demand.udp_ports:
                view.udp_ports_used[port][slot] = False
            view.reserved_port_count[slot] -= len(demand.tcp_ports) + len(demand.udp_ports)
        if demand.enis:
            view.eni_free[slot] += demand.enis
        if demand.gpus:
            view.gpu_free[slot] += demand.gpus

    def hold(self, slot: int, demand) -> None:  # noqa: ANN001
        """Set CPU and memory aside on ``slot`` for a DAEMON task being replaced (no task holds them)."""
        self._take(slot, demand.cpu, demand.memory_mib)

    def unhold(self, slot: int, demand) -> None:  # noqa: ANN001
        """Give back what :meth:`hold` set aside, just before the replacement is placed."""
        self._take(slot, -demand.cpu, -demand.memory_mib)
