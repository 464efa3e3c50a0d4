"""An Auto Scaling group capacity provider: its PROVISIONING tasks and cluster auto scaling (ecs-reference 6).

Tasks whose capacity provider strategy picks this provider are placed only on its group's
instances. With managed scaling a task that fits nowhere waits in PROVISIONING (up to
``timing.clusterAutoScaling.provisioningLimit`` per cluster; beyond it the launch fails as
without managed scaling) and is placed as soon as capacity appears on the group, in arrival
order; after ``provisioningTimeout`` it stops (stopCode ``TaskFailedToStart``, stoppedReason
``Timed out waiting for capacity from capacity provider <name>``: ecssim's wording, ECS
publishes none).

Every ``evaluationPeriod`` (ECS: every minute) the provider computes
CapacityProviderReservation = M / N x 100 (6.3):
- N: the group's instances in service (launched, not terminated, not being scaled in);
- M with tasks in PROVISIONING: :func:`~ecssim.placement.scale_out.needed_when_waiting` (2 from
  an empty group, "200%"; else N plus the documented scale-out step);
- M otherwise: N minus the *empty* instances, those running no non-daemon task and out of
  their ``instanceWarmupPeriod`` (a fresh instance does not yet contribute to the metric).
  ecssim uses M / N for scale-in too, not the 2023 guide's ``100 - empty``: the two agree on
  the sign (below 100 exactly when an instance is empty) at targetCapacity 100, but only
  M / N makes sense with a targetCapacity below 100, which the same guide describes as
  keeping spare instances.
The target tracking policy then acts:
- scale-out after ``scaleOutDatapoints`` datapoints above targetCapacity, unless an instance of
  the group is still within its warm-up: DesiredCapacity = ceil(M x 100 / targetCapacity) up to
  MaxSize; it cancels a scale-in under way (the low alarm's count restarts);
- scale-in after ``scaleInDatapoints`` consecutive datapoints below it, then each period while
  it stays below: DesiredCapacity = ceil(M x 100 / targetCapacity), at least MinSize, at most
  ``scaleInMaxFraction`` of the group (at least one instance) per step. With managed termination
  protection only empty instances are terminated (others are protected); without it the
  group's termination policy picks any. With managed draining the chosen instance is set
  DRAINING first and terminated once no non-daemon task is left on it (or after
  ``managedDrainingTimeout``); without it, terminated at once.
Rows (``entity="capacity_provider"``, ``value`` the number): ``instances`` (N),
``instances_needed`` (M), ``reservation`` (the metric, percent) and ``desired_capacity``, each
written when it changes.
"""

from __future__ import annotations

from ..model.asg import PROVIDER_ATTRIBUTE
from ..model.compaction import remap_dict
from ..model.task import NO_INSTANCE, STOPPED, STOPPING, TASK_FAILED_TO_START, Task
from ..model.timers import call_later
from ..placement.pipeline import compiled_query
from ..placement.scale_out import (
    InstanceShape,
    needed_when_waiting,
    reservation,
    scale_in_limit,
    target_size,
)

#: Placement failure reason when the provider has no ACTIVE instance at all (ECS's message:
#: "No Container Instances were found in your capacity provider.").
NO_PROVIDER_INSTANCES = "NO_CAPACITY_PROVIDER_INSTANCES"
NO_PROVIDER_INSTANCES_TEXT = "No Container Instances were found in your capacity provider."


def timeout_reason(provider: str) -> str:
    """stoppedReason of a task that waited in PROVISIONING too long (ecssim's wording)."""
    return f"Timed out waiting for capacity from capacity provider {provider}"


class CapacityProviderRuntime:
    """One Auto Scaling group capacity provider of the cluster."""

    fargate = False  # see ecssim.model.fargate.FargateCapacity for FARGATE and FARGATE_SPOT

    def __init__(self, world, model, asg) -> None:  # noqa: ANN001
        self.world = world
        self.env = world.env
        self.plane = world.plane
        self.model = model
        self.name: str = model.name
        self.asg = asg
        group = model.auto_scaling_group_provider
        self.scaling = group.managed_scaling
        self.managed: bool = model.managed
        self.protection: bool = group.managed_termination_protection == "ENABLED"
        self.draining: bool = group.managed_draining == "ENABLED"
        self.settings = world.scenario.timing.cluster_auto_scaling
        self.rng = world.streams.get("capacity-provider", model.name)
        self.constraint = ("memberOf", compiled_query(f"attribute:{PROVIDER_ATTRIBUTE} == {model.name}"))
        self.waiting: list[Task] = []  # tasks in PROVISIONING without an instance, in arrival order
        self.shape = InstanceShape(asg.cpu, asg.memory, asg.task_enis, asg.entry.gpus,
                                   world.cluster.reserved_ports)
        self.high = 0  # consecutive datapoints above targetCapacity
        self.low = 0  # consecutive datapoints below it
        self.last: dict[str, float] = {}  # row kind -> last value written
        self.drain_deadline: dict[int, float] = {}  # slot draining for scale-in -> when it is terminated anyway
        asg.capacity_provider = model.name

    # ------------------------------------------------------------------ waiting tasks
    def can_wait(self) -> bool:
        """A task that fits nowhere may wait here (managed scaling, cluster PROVISIONING limit not reached)."""
        return self.managed and self.plane.waiting_count < self.settings.provisioning_limit

    def has_active_instance(self) -> bool:
        """Some instance of the group is ACTIVE (registered and not draining)."""
        view = self.world.cluster.view
        return any(bool(view.active[slot]) for slot in self.asg.slots)

    def wait(self, task: Task) -> None:
        """``task`` (already recorded PROVISIONING, no instance) waits for capacity."""
        self.waiting.append(task)
        self.plane.waiting_count += 1
        timeout = self.settings.provisioning_timeout.sample(self.rng)
        call_later(self.env, timeout, self._timed_out, task)

    def _timed_out(self, task: Task) -> None:
        if task.slot == NO_INSTANCE and task.desired_running:
            self.plane.stop_task(task, TASK_FAILED_TO_START, timeout_reason(self.name))

    def forget(self, task: Task) -> None:
        """A waiting task was stopped: it waits no more (recorded STOPPING -> STOPPED, no host)."""
        self.waiting.remove(task)
        self.plane.waiting_count -= 1
        task.cp_held = False
        self.world.rec.task_state(task, STOPPING)
        self.world.rec.task_state(task, STOPPED)

    def place_waiting(self) -> None:
        """Capacity appeared on the group: place the waiting tasks that fit now, in arrival order.

        After one task of a kind (task definition, group, strategy, constraints) finds no
        instance, the later ones of that kind are not tried again this time.
        """
        if not self.waiting:
            return
        failed: set[tuple] = set()
        for task in list(self.waiting):
            kind = (task.spec.key, task.group, id(task.service))
            if kind in failed:
                continue
            if not self.plane.place_waiting_task(task, self):
                failed.add(kind)

    def placed(self, task: Task) -> None:
        self.waiting.remove(task)
        self.plane.waiting_count -= 1

    # ------------------------------------------------------------------ cluster auto scaling
    def start(self) -> None:
        """Begin the evaluations (managed scaling only: without it the group keeps its size)."""
        if self.managed:
            call_later(self.env, self.settings.evaluation_period, self._evaluate)

    def _in_warmup(self, slot: int, now: float) -> bool:
        return now - self.asg.launched_at[slot] < self.scaling.instance_warmup_period

    def _busy(self, slot: int) -> bool:
        """The instance runs a non-daemon task (one not yet STOPPED): managed termination protection holds it."""
        # A task just recorded STOPPED is still in the agent's dict while the listeners hear of it.
        return any(t.state != STOPPED and (t.service is None or t.service.kind != "DAEMON")
                   for t in self.plane.agents[slot].tasks.values())

    def measure(self) -> tuple[int, int, float, list[int]]:
        """(N, M, CapacityProviderReservation, the empty instances out of warm-up) now."""
        now = self.env.now
        in_service = self.asg.in_service()
        n = len(in_service)
        if self.waiting:
            m = needed_when_waiting([t.spec.demand for t in self.waiting], self.shape, n,
                                    self.scaling.minimum_scaling_step_size, self.scaling.maximum_scaling_step_size,
                                    minimum_only=self.settings.minimum_step_for_multi_az_groups and self._multi_az())
            return n, m, reservation(m, n, True), []
        empty = [s for s in in_service if not self._in_warmup(s, now) and not self._busy(s)]
        m = n - len(empty)
        return n, m, reservation(m, n, False), empty

    def _multi_az(self) -> bool:
        return len(self.asg.fleet.availability_zones) > 1

    def _evaluate(self) -> None:
        call_later(self.env, self.settings.evaluation_period, self._evaluate)
        n, m, cpr, empty = self.measure()
        self._row("instances", n)
        self._row("instances_needed", m)
        self._row("reservation", cpr)
        self._row("desired_capacity", self.asg.desired)
        target = self.scaling.target_capacity
        if cpr > target:
            self.high += 1
            self.low = 0
        elif cpr < target:
            self.low += 1
            self.high = 0
        else:
            self.high = self.low = 0
        if self.high >= self.settings.scale_out_datapoints:
            self._scale_out(n, m, cpr)
        elif self.low >= self.settings.scale_in_datapoints:
            self._scale_in(n, m, empty)

    def _scale_out(self, n: int, m: int, cpr: float) -> None:
        now = self.env.now
        if any(self._in_warmup(s, now) for s in self.asg.in_service()):
            return  # the next step waits until every recent instance passed instanceWarmupPeriod
        desired = min(self.asg.fleet.maximum, target_size(m, self.scaling.target_capacity))
        if desired <= self.asg.desired:
            return
        reason = (f"Capacity provider {self.name} scales out: CapacityProviderReservation {cpr:g} > "
                  f"targetCapacity {self.scaling.target_capacity} (M={m}, N={n})")
        self._desired_row(desired, reason)
        self.asg.scale_out(desired, reason)

    def _scale_in(self, n: int, m: int, empty: list[int]) -> None:
        floor = max(self.asg.fleet.minimum, target_size(m, self.scaling.target_capacity),
                    n - scale_in_limit(n, self.settings.scale_in_max_fraction))
        count = n - floor
        if count <= 0:
            return
        in_service = self.asg.in_service()
        candidates = empty if self.protection else in_service
        victims = self.asg.choose_scale_in(candidates, count)
        if not victims:
            return
        reason = (f"Capacity provider {self.name} scales in: CapacityProviderReservation below targetCapacity "
                  f"{self.scaling.target_capacity} for {self.low} datapoints (M={m}, N={n})")
        self._desired_row(n - len(victims), reason)
        self.asg.desired = n - len(victims)
        for slot in victims:
            self._retire(slot, reason)

    def _retire(self, slot: int, reason: str) -> None:
        """Take ``slot`` out of the group: drain it first (managed draining) or terminate it now."""
        self.asg.scaling_in.add(slot)
        if self.draining and self.plane.drain_instance(slot, reason):
            self.drain_deadline[slot] = self.env.now + self.settings.managed_draining_timeout
            self.plane.drain_listeners[slot] = self._drained
            call_later(self.env, self.settings.managed_draining_timeout, self._overdue, self.world.cluster.infos[slot])
            self._terminate_if_drained(slot)
            return
        self.world.ec2.terminate(slot, reason)

    def _drained(self, slot: int) -> None:
        """A task on a scaled-in DRAINING instance STOPPED: terminate the instance if no non-daemon
        task is left, just after this stop (the agent lets go of the task once its row is written)."""
        if slot in self.drain_deadline and not self._busy(slot):
            info = self.world.cluster.infos[slot]  # its slot may be renumbered meanwhile (model.compaction)
            self.env.timeout(0).callbacks.append(lambda _event: self._terminate_if_drained(info.slot))

    def _terminate_if_drained(self, slot: int) -> None:
        """Terminate a scaled-in DRAINING instance once no non-daemon task is left on it."""
        if slot in self.drain_deadline and not self._busy(slot):
            self._terminate_drained(slot)

    def _terminate_drained(self, slot: int) -> None:
        del self.drain_deadline[slot]
        self.plane.drain_listeners.pop(slot, None)
        self.world.ec2.terminate(slot, f"Capacity provider {self.name} scaled in (instance drained)")

    def _overdue(self, info) -> None:  # noqa: ANN001
        if info.slot in self.drain_deadline:  # -1 once the instance's slot was dropped (model.compaction)
            self._terminate_drained(info.slot)

    def remap_slots(self, new_of) -> None:  # noqa: ANN001
        """The cluster dropped slots and renumbered the others (``model.compaction``): follow suit."""
        self.drain_deadline = remap_dict(self.drain_deadline, new_of)

    # ------------------------------------------------------------------ rows
    def _row(self, kind: str, value: float) -> None:
        if self.last.get(kind) != value:
            old = self.last.get(kind)
            self.last[kind] = value
            self.world.rec.capacity_provider(self.name, kind, "" if old is None else f"{old:g}", f"{value:g}",
                                             float(value))

    def _desired_row(self, desired: int, reason: str) -> None:
        self.world.rec.capacity_provider(self.name, "desired_capacity", f"{self.asg.desired:g}", f"{desired:g}",
                                         float(desired), reason)
        self.last["desired_capacity"] = desired

