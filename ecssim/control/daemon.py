"""The DAEMON service scheduler: one task on every eligible ACTIVE instance (ecs-reference 4.1).

An instance is eligible when it is ACTIVE and satisfies the service's memberOf constraints
(resources do not decide eligibility: where the daemon does not fit, the scheduler keeps
retrying on that instance, with the placement back-off). The desired count follows the
number of eligible instances, as ECS reports it.

Daemon tasks come first on an instance:
- when an instance registers, its daemon tasks are placed at once, before any REPLICA
  service reacts (they only react at their next reconcile);
- while a daemon task is being replaced, its CPU and memory stay held on its instance, so
  that REPLICA tasks cannot take them meanwhile (ecssim's reading of "resources reserved for
  daemon tasks"; ports, ENIs and GPUs are not held). Holds are not tasks: the ``capacity``
  table, built from the event log, does not show them.
"""

from __future__ import annotations

import math

from ..model.cluster import ACTIVE
from ..model.compaction import remap_dict, remap_slots
from ..model.task import HEALTHY, RUNNING, Task
from ..placement.single import eligible_slots
from .service import ServiceScheduler, next_delay


class DaemonScheduler(ServiceScheduler):
    """Keeps one task of the service on each eligible ACTIVE instance."""

    kind = "DAEMON"

    def __init__(self, plane, model, spec, constraints, rng, placement_rng, rules_for=None) -> None:  # noqa: ANN001
        super().__init__(plane, model, spec, constraints, (), rng, placement_rng, rules_for=rules_for)
        self.desired = 0
        self.by_slot: dict[int, Task] = {}  # the daemon task of each instance
        self.held: set[int] = set()  # slots whose CPU/memory are held for a replacement
        self.retry_at: dict[int, tuple[float, float]] = {}  # slot -> (back-off delay, retry time)

    # ------------------------------------------------------------------ reconcile
    def reconcile(self) -> None:
        """Place the daemon on every eligible instance that lacks it and is not backing off."""
        view = self.plane.cluster.view
        eligible = eligible_slots(view, self.constraints, self.group)
        if len(eligible) != self.desired:
            self._record_desired(len(eligible))
        now = self.env.now
        started: list[Task] = []
        next_retry = math.inf
        for slot in eligible.tolist():
            if slot in self.by_slot:
                continue
            delay, retry = self.retry_at.get(slot, (0.0, -math.inf))
            if retry > now:
                next_retry = min(next_retry, retry)
                continue
            task = self._launch_on(slot)
            if task is None:
                delay = next_delay(delay, self.retry)
                self.retry_at[slot] = (delay, now + delay)
                next_retry = min(next_retry, now + delay)
            else:
                self.retry_at.pop(slot, None)
                started.append(task)
        if started and not self.plane.warm_starting:  # warm-started tasks are not news, as for REPLICA
            self.announce("started", started)
        if next_retry < math.inf:
            self.wake_no_later_than(next_retry)
        self._check_progress()

    def _launch_on(self, slot: int) -> Task | None:
        if slot in self.held:
            self.held.discard(slot)
            self.plane.cluster.unhold(slot, self.spec.demand)
        started_by = "warmStart" if self.plane.warm_starting else "service"
        task, decision = self.plane.launch_on(slot, self.spec, self.group, self, started_by, self.constraints)
        if task is None:
            self._placement_failed(decision)
            self.backoff_until = -math.inf  # the back-off is per instance (retry_at), not per service
            return None
        self.by_slot[slot] = task
        return task

    def remap_slots(self, new_of) -> None:  # noqa: ANN001
        """The cluster dropped slots and renumbered the others (``model.compaction``): follow suit."""
        self.by_slot = remap_dict(self.by_slot, new_of)
        self.held = set(remap_slots(self.held, new_of))
        self.retry_at = remap_dict(self.retry_at, new_of)

    # ------------------------------------------------------------------ instance news
    def instance_registered(self, slot: int) -> None:
        """A new instance: place the daemon now, before REPLICA services react."""
        self.reconcile()

    def instance_gone(self, slot: int) -> None:
        """The instance became INACTIVE: nothing to hold or retry there; the count drops."""
        if slot in self.held:
            self.held.discard(slot)
            self.plane.cluster.unhold(slot, self.spec.demand)  # its ledger ends as its tasks left it
        self.retry_at.pop(slot, None)
        self.reconcile()

    # ------------------------------------------------------------------ task news
    def on_leaving(self, task: Task, old_state: str) -> None:
        del self.live[task.id]
        del task.deployment.live[task.id]
        if task.slot >= 0:
            self._count_in_az(task, -1)
        if task.health == HEALTHY:
            self.healthy -= 1
        if self.by_slot.get(task.slot) is task:
            del self.by_slot[task.slot]
        if old_state == RUNNING:
            self.running -= 1
        self.steady = False
        if self.plane.cluster.infos[task.slot].status == ACTIVE:
            self.held.add(task.slot)
            self.plane.cluster.hold(task.slot, self.spec.demand)
            self.notify()

    def on_stopped(self, task: Task) -> None:
        self.not_stopped -= 1
        task.deployment.not_stopped -= 1
        self._check_progress()

    def _unhealthy(self, task: Task, reason: str) -> None:
        """Unhealthy daemon tasks are not replaced (ECS does replace them; not simulated yet)."""

    def set_desired(self, desired: int) -> None:  # pragma: no cover - refused at validation
        raise ValueError(f"service {self.name} is a DAEMON service: its desired count follows the instances")

    def _scale_in(self, extra: int) -> None:  # pragma: no cover - a daemon never has extra tasks
        return
