"""The ``--check-invariants`` mode: the run checks itself after every SimPy step that recorded something.

The checker keeps its own books from the event log as it grows (which task holds what on
which instance, in which state, for which service) and compares them with the simulator's
counters: the control-plane ledger (``ClusterView``), each host's ledger (the agent), the
services' task counts. A mismatch raises :class:`InvariantViolation` at the simulated time it
happens, naming the entity, the invariant and the numbers. At the end of the run every
table's time columns are checked to be in order. Off by default (it costs time on every
step); ``ECSSIM_CHECK_INVARIANTS=1`` turns it on wherever a run does not say otherwise.
"""

from __future__ import annotations

import math
import os
from collections import Counter

import numpy as np

from .task import SERVICE_SCHEDULER_INITIATED, STATES

#: Environment variable that turns the mode on by default (``1``/``true``/``yes``/``on``).
ENV_VAR = "ECSSIM_CHECK_INVARIANTS"
_RANK = {state: k for k, state in enumerate(STATES)}
_FREES_CONTROL_PLANE = ("STOPPING", "STOPPED")
_HEALTHY = "HEALTHY"
#: Tables whose rows are in time order, and the column that carries it (``events`` by ``seq``;
#: ``cost`` and ``availability`` are per instance/task and per service, not in time order).
ORDERED_TABLES = {
    "events": "time_s", "tasks": "created_at_s", "instances": "launched_at_s", "deployments": "created_at_s",
    "placement_failures": "time_s", "service_events": "time_s", "demand": "time_s", "recovery": "fault_time_s",
}
#: Tables in time order within each group (the column that carries the time, the grouping columns).
GROUPED_ORDERED_TABLES = {"capacity": ("time_s", ["scope"])}


class InvariantViolation(RuntimeError):
    """An invariant of the simulation broke: a bug in ecssim, not in the scenario."""


def enabled_by_default() -> bool:
    """Whether ``ECSSIM_CHECK_INVARIANTS`` asks for the mode (runs that do not say otherwise)."""
    return os.environ.get(ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")


def resolve(check_invariants: bool | None) -> bool:
    """An explicit choice, else the environment's default."""
    return enabled_by_default() if check_invariants is None else bool(check_invariants)


def _ports(host_ports: str) -> tuple[tuple[str, int], ...]:
    """``"80/tcp 53/udp"`` -> (("tcp", 80), ("udp", 53))."""
    out = []
    for item in host_ports.split():
        port, proto = item.split("/")
        out.append((proto, int(port)))
    return tuple(out)


class _Slot:
    """The checker's own books for one container instance."""

    __slots__ = ("cpu", "memory", "enis", "gpus", "ports", "cp_tasks", "host_cpu", "host_memory", "host_tasks",
                 "tasks", "groups")

    def __init__(self) -> None:
        self.cpu = self.memory = self.enis = self.gpus = 0  # held in the control-plane ledger
        self.ports: dict[tuple[str, int], str] = {}  # (protocol, port) -> the task holding it
        self.cp_tasks: set[str] = set()
        self.host_cpu = self.host_memory = 0  # held in the host's ledger
        self.host_tasks: set[str] = set()
        self.tasks: set[str] = set()  # tasks on it not yet STOPPED
        self.groups: set[str] = set()  # task groups of its rows since its last check


class InvariantChecker:
    """Checks a :class:`~ecssim.model.world.World` continuously; call :meth:`check` after each step."""

    def __init__(self, world) -> None:  # noqa: ANN001
        self.world = world
        self._events = world.log.events
        self.cursor = 0  # rows of the event log already read
        self._membership_seen = -1  # the cluster's membership_version at the last spread-totals check
        self._last_time = -math.inf
        self._state: dict[str, str] = {}  # live task -> its state per its rows
        self._where: dict[str, str] = {}  # live task -> its instance id ("" without one)
        self._health: dict[str, str] = {}  # live task -> its health per its rows
        self._created = 0
        self._stopped = 0
        self._slots: dict[int, _Slot] = {}
        self._dirty: set[int] = set()
        self._just_stopped: list[tuple[str, str]] = []  # (task, instance id) STOPPED in this step
        self._desired: dict[str, int] = {}  # service -> desiredCount per its rows
        self._not_stopped: Counter[str] = Counter()  # service -> its tasks not yet STOPPED
        self._scheduler_stops: set[str] = set()  # services whose scheduler stopped a healthy task this step
        self._scaling_in: set[str] = set()
        self._daemons = [s for s in world.plane.services.values() if s.kind == "DAEMON"]
        self._install_wrappers()

    # ------------------------------------------------------------------ hooks (no edits to the model)
    def _install_wrappers(self) -> None:
        """Hear the control plane's stop decisions (they write no row): minimumHealthyPercent checks."""
        plane = self.world.plane
        stop_task = plane.stop_task

        def checked_stop(task, stop_code: str, reason: str) -> None:  # noqa: ANN001
            service = task.service
            if (stop_code == SERVICE_SCHEDULER_INITIATED and task.desired_running and service is not None
                    and service.kind == "REPLICA" and task.health == _HEALTHY
                    and service.name not in self._scaling_in):
                self._scheduler_stops.add(service.name)
            stop_task(task, stop_code, reason)

        plane.stop_task = checked_stop
        for service in plane.services.values():
            if service.kind == "REPLICA":
                self._wrap_scale_in(service)

    def _wrap_scale_in(self, service) -> None:  # noqa: ANN001
        """Scale-in (a lower desiredCount) may stop healthy tasks below the floor: ECS's own exception."""
        scale_in = service._scale_in

        def checked_scale_in(*args) -> None:  # noqa: ANN002
            self._scaling_in.add(service.name)
            try:
                scale_in(*args)
            finally:
                self._scaling_in.discard(service.name)

        service._scale_in = checked_scale_in

    # ------------------------------------------------------------------ the step check
    @property
    def pending(self) -> bool:
        """Something to check: new rows, or a stop decision without a row."""
        return len(self._events) != self.cursor or bool(self._scheduler_stops)

    @property
    def stops_pending(self) -> bool:
        """A scheduler stop decision (no row) waits to be checked."""
        return bool(self._scheduler_stops)

    def check(self) -> None:
        """Read the rows recorded since the last call, then check every instance and service they touched."""
        events = self._events
        end = len(events)
        for row in events[self.cursor:end]:
            self._row(row)
        self.cursor = end
        for task_id, instance_id in self._just_stopped:
            self._check_stopped(task_id, instance_id)
        self._just_stopped.clear()
        touched: set[str] = set()
        for slot in sorted(self._dirty):
            self._check_slot(slot)
            touched |= self._slots[slot].groups
            self._slots[slot].groups.clear()
        self._dirty.clear()
        self._check_spread_totals(touched)
        for name in sorted(self._scheduler_stops):
            self._check_minimum_healthy(name)
        self._scheduler_stops.clear()
        self._check_conservation()

    def _check_spread_totals(self, touched: set[str]) -> None:
        """The cluster's per-group spread totals (a placement cache) equal a recount from the view.

        The groups whose rows this step touched, or every cached group once the instances'
        membership (status, attributes) changed.
        """
        cluster = self.world.cluster
        view = cluster.view
        cache = view.spread_totals
        if not cache:
            return
        if cluster.membership_version != self._membership_seen:
            self._membership_seen = cluster.membership_version
            touched = set(cache)
        n = view.n
        for group in sorted(touched & cache.keys()):
            counts = view.group_counts[group][:n]
            for attribute, totals in cache[group].items():
                codes, values = view.attributes[attribute]
                weights = np.multiply(counts, view.active[:n], dtype=np.float64)
                recount = np.bincount(codes[:n] + 1, weights=weights, minlength=len(values) + 1)
                if not np.array_equal(totals[: len(recount)], recount) or totals[len(recount):].any():
                    self.fail(f"group {group}", "spread totals",
                              f"{attribute}: cached {totals.tolist()}, recounted {recount.tolist()}")

    def finish(self) -> None:
        """The last check, when the tables are built: also the tasks on no instance (Fargate, waiting)."""
        self.check()
        plane = self.world.plane
        rows = {task_id for task_id, where in self._where.items() if not where}
        held = {task_id for agent in plane.fargate_agents for task_id in agent.tasks} | set(plane.waiting_requests)
        if rows != held:
            self.fail("tasks", "task conservation", f"{len(rows)} live tasks on no instance per the rows, "
                      f"{len(held)} on Fargate or waiting (differing: {sorted(rows ^ held)[:5]})")

    def fail(self, entity: str, invariant: str, detail: str) -> None:
        """Raise the violation: time, entity, invariant, numbers, on one line."""
        now = float(self.world.env.now)
        raise InvariantViolation(f"invariant violated at t={now:.10g}s: {entity}: {invariant}: {detail}")

    # ------------------------------------------------------------------ reading rows
    def _row(self, row: tuple) -> None:
        time_s, entity, entity_id = row[0], row[1], row[2]
        if time_s < self._last_time:
            self.fail("events", "time goes backwards", f"row {entity} {entity_id} at {time_s} after {self._last_time}")
        self._last_time = time_s
        if entity == "task":
            self._task_row(row)
        elif entity == "service" and row[3] == "desired_count":
            self._desired[entity_id] = int(row[14])
        elif entity == "instance":
            self._dirty.add(self._slot_of(row[8]))

    @staticmethod
    def _slot_of(instance_id: str) -> int:
        # i-<launch number in hex> (Cluster.add_instance): slot + 1, as no slot is ever dropped
        # while the checker runs (Simulation refuses it with compact_slots)
        return int(instance_id[2:], 16) - 1

    def _book(self, slot: int) -> _Slot:
        books = self._slots.get(slot)
        if books is None:
            books = self._slots[slot] = _Slot()
        return books

    def _task_row(self, row: tuple) -> None:
        task_id, event, old, new, instance_id, service = row[2], row[3], row[4], row[5], row[8], row[10]
        known = self._state.get(task_id)
        if event == "state" and old == "":
            self._created_row(task_id, new, instance_id, service)
            return
        if known is None:
            if event == "host_released" and any(t == task_id for t, _ in self._just_stopped):
                self._host_release(task_id, instance_id)
                return
            self.fail(f"task {task_id}", "conservation", f"{event} row {old} -> {new} for a task that is not live")
        if event == "health":
            if known != "RUNNING" or old != self._health.get(task_id, "UNKNOWN"):
                self.fail(f"task {task_id}", "health", f"health {old} -> {new} while {known}, "
                          f"health {self._health.get(task_id, 'UNKNOWN')}")
            self._health[task_id] = new
            return
        if old != known:
            self.fail(f"task {task_id}", "one lifecycle state", f"{event} row from {old} but the task is {known}")
        where = self._where[task_id]
        if instance_id:
            self._book(self._slot_of(instance_id)).groups.add(row[11])
        if event == "placed":
            if where != "" or not instance_id:
                self.fail(f"task {task_id}", "one instance", f"placed on {instance_id!r} while on {where!r}")
            self._where[task_id] = instance_id
            self._take(task_id, instance_id)
            return
        if instance_id != where:
            self.fail(f"task {task_id}", "one instance", f"{event} row on {instance_id!r}, task on {where!r}")
        if event == "state":
            self._state_row(task_id, known, new, instance_id, service)
        elif event == "host_acquired":
            slot = self._slot_of(instance_id)
            books = self._book(slot)
            if task_id in books.host_tasks:
                self.fail(f"task {task_id}", "host ledger", f"acquires {instance_id}'s resources twice")
            cpu, memory = self._demand(task_id)[:2]
            books.host_tasks.add(task_id)
            books.host_cpu += cpu
            books.host_memory += memory
            self._dirty.add(slot)
        elif event == "host_released":
            self._host_release(task_id, instance_id)

    def _created_row(self, task_id: str, new: str, instance_id: str, service: str) -> None:
        if task_id in self._state or int(task_id[2:]) != self._created + 1 or new != "PROVISIONING":
            self.fail(f"task {task_id}", "conservation",
                      f"created as {new} after {self._created} tasks (live: {task_id in self._state})")
        self._created += 1
        self._state[task_id] = new
        self._where[task_id] = instance_id
        if instance_id:
            self._take(task_id, instance_id)
        if service:
            self._not_stopped[service] += 1
            self._check_maximum(task_id, service)

    def _state_row(self, task_id: str, known: str, new: str, instance_id: str, service: str) -> None:
        if _RANK.get(new, -1) <= _RANK[known]:
            self.fail(f"task {task_id}", "states move forward", f"{known} -> {new}")
        self._state[task_id] = new
        slot = self._slot_of(instance_id) if instance_id else None
        if new in _FREES_CONTROL_PLANE and slot is not None and task_id in self._book(slot).cp_tasks:
            self._give(task_id, slot)
        if new == "RUNNING" or known == "RUNNING":
            self._health.pop(task_id, None)
        if new == "STOPPED":
            del self._state[task_id]
            del self._where[task_id]
            self._stopped += 1
            if service:
                self._not_stopped[service] -= 1
            if slot is not None:
                self._book(slot).tasks.discard(task_id)
                self._dirty.add(slot)
            self._just_stopped.append((task_id, instance_id))

    def _demand(self, task_id: str) -> tuple:
        """(cpu, memory, ports, ENIs, GPUs) of a task, from the tasks log and its task definition."""
        record = self.world.log.tasks[int(task_id[2:]) - 1]
        spec = self.world.spec_for(record[1])
        return int(record[8]), int(record[9]), _ports(record[10]), spec.demand.enis, spec.demand.gpus

    def _take(self, task_id: str, instance_id: str) -> None:
        """The task took the control-plane ledger of its instance (created there, or placed)."""
        slot = self._slot_of(instance_id)
        books = self._book(slot)
        cpu, memory, ports, enis, gpus = self._demand(task_id)
        reserved = self.world.cluster.reserved_ports
        for port in ports:
            holder = books.ports.get(port)
            if holder is not None or (port[0] == "tcp" and port[1] in reserved):
                self.fail(f"instance {instance_id}", "no port reserved twice",
                          f"{port[1]}/{port[0]} of {task_id} already held by {holder or 'the agent'}")
            books.ports[port] = task_id
        books.cp_tasks.add(task_id)
        books.tasks.add(task_id)
        books.groups.add(self.world.log.tasks[int(task_id[2:]) - 1][3])
        books.cpu += cpu
        books.memory += memory
        books.enis += enis
        books.gpus += gpus
        self._dirty.add(slot)

    def _give(self, task_id: str, slot: int) -> None:
        books = self._book(slot)
        cpu, memory, ports, enis, gpus = self._demand(task_id)
        for port in ports:
            books.ports.pop(port, None)
        books.cp_tasks.discard(task_id)
        books.cpu -= cpu
        books.memory -= memory
        books.enis -= enis
        books.gpus -= gpus
        self._dirty.add(slot)

    def _host_release(self, task_id: str, instance_id: str) -> None:
        slot = self._slot_of(instance_id)
        books = self._book(slot)
        if task_id not in books.host_tasks:
            self.fail(f"task {task_id}", "host ledger", f"releases {instance_id}'s resources it does not hold")
        cpu, memory = self._demand(task_id)[:2]
        books.host_tasks.discard(task_id)
        books.host_cpu -= cpu
        books.host_memory -= memory
        self._dirty.add(slot)

    # ------------------------------------------------------------------ checks
    def _check_stopped(self, task_id: str, instance_id: str) -> None:
        """No STOPPED task still holds resources in either ledger."""
        if not instance_id:
            return
        books = self._book(self._slot_of(instance_id))
        if task_id in books.cp_tasks or task_id in books.host_tasks:
            ledger = "control-plane" if task_id in books.cp_tasks else "host"
            self.fail(f"task {task_id}", "a STOPPED task holds nothing", f"still in the {ledger} ledger of {instance_id}")

    def _check_slot(self, slot: int) -> None:
        """Both ledgers of one instance against the checker's books, and its tasks."""
        world = self.world
        view = world.cluster.view
        info = world.cluster.infos[slot]
        record = world.log.instances[slot]
        cpu_registered, memory_registered = int(record[5]), int(record[6])
        asg = world.asgs[info.fleet]
        books = self._book(slot)
        name = f"instance {info.id}"
        # The control-plane ledger: registered - what the plane holds there (tasks, daemon holds) == free.
        hold_cpu = hold_memory = 0
        for service in self._daemons:
            if slot in service.held:
                hold_cpu += service.spec.demand.cpu
                hold_memory += service.spec.demand.memory_mib
        for resource, registered, held, free in (
            ("cpu", cpu_registered, books.cpu + hold_cpu, view.cpu_free[slot]),
            ("memory", memory_registered, books.memory + hold_memory, view.memory_free[slot]),
            ("enis", asg.task_enis, books.enis, view.eni_free[slot]),
            ("gpus", asg.entry.gpus, books.gpus, view.gpu_free[slot]),
        ):
            if free < 0 or registered - held != free:
                self.fail(name, "control-plane ledger", f"{resource} free {int(free)}, registered {registered} - "
                          f"held {held} = {registered - held} ({len(books.cp_tasks)} tasks)")
        self._check_ports(slot, books, name)
        agent = world.plane.agents[slot]
        host = (("cpu", cpu_registered, books.host_cpu, agent.host_cpu_free),
                ("memory", memory_registered, books.host_memory, agent.host_memory_free))
        for resource, registered, held, free in host:
            if free < 0 or registered - held != free:
                self.fail(name, "host ledger", f"{resource} free {free}, registered {registered} - held {held} = "
                          f"{registered - held} ({len(books.host_tasks)} tasks)")
        self._check_tasks(slot, agent, books, name)

    def _check_ports(self, slot: int, books: _Slot, name: str) -> None:
        view = self.world.cluster.view
        reserved = self.world.cluster.reserved_ports
        for proto, masks in (("tcp", view.tcp_ports_used), ("udp", view.udp_ports_used)):
            for port, mask in masks.items():
                expected = (proto, port) in books.ports or (proto == "tcp" and port in reserved)
                if bool(mask[slot]) != expected:
                    self.fail(name, "control-plane ports", f"{port}/{proto} marked {bool(mask[slot])}, "
                              f"held by {books.ports.get((proto, port), 'nobody')}")
        count = len(books.ports) + len(reserved)
        if view.reserved_port_count[slot] != count:
            self.fail(name, "control-plane ports", f"{int(view.reserved_port_count[slot])} ports counted, {count} held")

    def _check_tasks(self, slot: int, agent, books: _Slot, name: str) -> None:  # noqa: ANN001
        """The host runs the tasks its rows say; the plane counts its desired-RUNNING ones per group."""
        tasks = agent.tasks
        if tasks.keys() != books.tasks:
            extra = sorted(tasks.keys() ^ books.tasks)[:5]
            self.fail(name, "task conservation", f"the agent has {len(tasks)} tasks, the rows "
                      f"{len(books.tasks)} (differing: {extra})")
        view = self.world.cluster.view
        groups: dict[str, int] = {}
        for task in tasks.values():
            if task.desired_running:
                groups[task.group] = groups.get(task.group, 0) + 1
        desired = sum(groups.values())
        if view.running_tasks_count[slot] != desired:
            self.fail(name, "control-plane task count", f"{int(view.running_tasks_count[slot])} counted, "
                      f"{desired} desired RUNNING")
        group_counts = view.group_counts
        for group in groups.keys() | books.groups:  # the groups it has, and those its rows just touched
            counts = group_counts.get(group)
            if counts is not None and counts[slot] != groups.get(group, 0):
                self.fail(name, "control-plane group count", f"{group}: {int(counts[slot])} counted, "
                          f"{groups.get(group, 0)} desired RUNNING")
        for service in self._daemons:
            count = sum(1 for t in tasks.values() if t.service is service and t.desired_running)
            if count > 1:
                self.fail(name, "one daemon task per instance", f"{service.name} has {count} desired RUNNING")

    def _check_maximum(self, task_id: str, service: str) -> None:
        """A new REPLICA task keeps the service within floor(desired x maximumPercent / 100) not STOPPED.

        Exempt: warm-started tasks (``initialTasks`` is a snapshot, not a decision). A lower
        desiredCount or lost instances may leave more tasks than the bound (ECS too); the
        bound only forbids starting more.
        """
        scheduler = self.world.plane.services.get(service)
        if scheduler is None or scheduler.kind != "REPLICA":
            return
        if self.world.log.tasks[int(task_id[2:]) - 1][5] == "warmStart":
            return
        bound = self._desired.get(service, 0) * scheduler.max_percent // 100
        if self._not_stopped[service] > bound:
            self.fail(f"service {service}", "maximumPercent",
                      f"{task_id} makes {self._not_stopped[service]} tasks not STOPPED > floor("
                      f"{self._desired.get(service, 0)} x {scheduler.max_percent}%) = {bound}")

    def _check_minimum_healthy(self, service: str) -> None:
        """After the scheduler stopped a healthy task, ceil(desired x minimumHealthyPercent / 100) stay healthy."""
        scheduler = self.world.plane.services[service]
        floor = -(-self._desired.get(service, 0) * scheduler.min_percent // 100)
        healthy = sum(1 for t in scheduler.live.values() if self._health.get(t.id) == _HEALTHY)
        if healthy < floor:
            self.fail(f"service {service}", "minimumHealthyPercent",
                      f"the scheduler stopped a healthy task, leaving {healthy} healthy < ceil("
                      f"{self._desired.get(service, 0)} x {scheduler.min_percent}%) = {floor}")

    def _check_conservation(self) -> None:
        """Tasks created = live + stopped, and the plane and the tasks table agree."""
        created = self.world.plane.task_count
        if not created == len(self.world.log.tasks) == self._created == len(self._state) + self._stopped:
            self.fail("tasks", "conservation", f"plane created {created}, tasks table {len(self.world.log.tasks)}, "
                      f"rows created {self._created} = live {len(self._state)} + stopped {self._stopped}?")


def check_tables(result) -> None:  # noqa: ANN001
    """Every table's time column is in order (``events`` by ``seq``; ``capacity`` within each scope)."""
    tables = result.tables()
    for name, column in ORDERED_TABLES.items():
        frame = tables[name]
        if name == "events" and "seq" in frame:
            frame = frame.sort_values("seq", kind="stable")
        _check_column(name, column, frame[column])
    for name, (column, keys) in GROUPED_ORDERED_TABLES.items():
        frame = tables[name]
        for key, part in frame.groupby(keys, sort=True):
            _check_column(f"{name} {key}", column, part[column])


def _check_column(table: str, column: str, values) -> None:  # noqa: ANN001
    values = values.dropna().to_numpy()
    if len(values) > 1:
        back = (values[1:] < values[:-1]).nonzero()[0]
        if len(back):
            k = int(back[0])
            raise InvariantViolation(f"invariant violated: table {table}: {column} in time order: row {k + 1} "
                                     f"at {values[k + 1]} after {values[k]}")
