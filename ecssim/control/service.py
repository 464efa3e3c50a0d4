"""The service scheduler of one REPLICA service: keep ``desiredCount`` tasks running.

Event-driven: it wakes when one of its tasks stops or starts, when its desired count
changes, and on the timers ECS itself has (the placement back-off, the launch-rate bucket).
How soon it reacts is ECS's unpublished reconcile behaviour, a named parameter
(``timing.serviceReaction``): by default a reconcile at the next tick of a per-service
15 s cycle with a random phase; only woken when something changed.

Task counting (document of record, README "Model"):
- the reconcile compares ``desiredCount`` with the tasks whose desired status is RUNNING
  (PROVISIONING, PENDING, ACTIVATING, RUNNING);
- the ``maximumPercent`` bound (floor(desired x max% / 100), ecs-reference 4.5) counts every
  task not yet STOPPED: PROVISIONING and ACTIVATING count as PENDING, and DEACTIVATING,
  STOPPING and DEPROVISIONING still count as RUNNING until STOPPED (ECS: with
  maximumPercent 100 replacements wait until draining tasks stop, 5.3).

Draining (UpdateContainerInstancesState DRAINING, ecs-reference 5.3, 9b E): the control
plane stops the service's tasks that are not yet RUNNING on a draining instance at once and
hands the RUNNING ones to the scheduler as *to be replaced* (``draining``). Such a task still
counts toward the ``maximumPercent`` bound (it is not STOPPED) but no longer toward
``desiredCount``: the reconcile launches a replacement for it elsewhere, and stops it when
- start-first: the service keeps ``desiredCount`` RUNNING tasks without it (its replacement
  is RUNNING), or
- stop-first, when no replacement can start now (the ``maximumPercent`` bound leaves no room,
  or placement is backing off for want of capacity): the service keeps
  ceil(desired x minimumHealthyPercent / 100) RUNNING tasks without it; the replacement
  starts once the stopped task frees room.
RUNNING is what counts here (ecssim has no health state yet). When neither is possible and
nothing is moving (e.g. minimumHealthyPercent 100 with maximumPercent 100) the drain blocks,
as in ECS, and the service event ``service <name> was unable to replace tasks on draining
container instances: maximumPercent <max> leaves no room to start a replacement and
minimumHealthyPercent <min> forbids stopping a task first.`` is written (ecssim's wording:
ECS publishes none; once until a steady state or 6 hours pass). A service with tasks on
draining instances is not in a steady state (ECS's TaskSet stability, 3.5). Drained tasks stop
with stopCode ``ServiceSchedulerInitiated`` and stoppedReason ``Container instance <id> is
draining (deployment <id>)`` (ecssim's wording).

Start-failure throttling (ecs-reference 4.3): when a task stops with stopCode
``TaskFailedToStart`` (it never reached RUNNING) the next launch waits
``timing.startFailureThrottle``: ``initial`` after the first such failure, then
``multiplier`` times longer per further failure, up to ``max`` (27 min), counted from the
failure. Tasks launched in one wave count as one failure (a wave of ten failing tasks is one
step, not ten). A task of the service reaching RUNNING resets the throttle; tasks that
reached RUNNING and then died never throttle. When throttling begins the service event
``service <name> is unable to consistently start tasks successfully.`` is written, once
until the service reaches a steady state or 6 hours pass.
"""

from __future__ import annotations

import math

from ..model.streams import stable_key
from ..model.task import RUNNING, SERVICE_SCHEDULER_INITIATED, STARTING_STATES, TASK_FAILED_TO_START, Task
from ..placement import choose_tasks_to_stop, unable_to_place_message

#: ECS suppresses a repeated service event until its cause is resolved or 6 hours pass (3.5).
DUPLICATE_EVENT_WINDOW_S = 6 * 3600.0
#: Launch tokens lost to floating-point rounding that still count as a whole token.
_TOKEN_EPSILON = 1e-9


def next_delay(previous: float, policy) -> float:  # noqa: ANN001
    """The next back-off delay: ``policy.initial`` first, then ``multiplier`` times longer, up to ``max``."""
    if previous <= 0.0:
        return policy.initial
    return min(previous * policy.multiplier, policy.max)


class ServiceScheduler:
    """Reconciles one service toward its desired count."""

    kind = "REPLICA"

    def __init__(self, plane, model, spec, constraints, strategies, rng, placement_rng) -> None:  # noqa: ANN001
        self.plane = plane
        self.env = plane.env
        self.name: str = model.service_name
        self.spec = spec
        self.group = f"service:{self.name}"
        self.desired: int = model.desired_count
        self.max_percent: int = model.deployment_configuration.maximum_percent
        self.min_percent: int = model.deployment_configuration.minimum_healthy_percent
        self.strategies = strategies
        self.constraints = constraints
        self.rng = rng  # reaction phase and delays
        self.placement_rng = placement_rng  # placement ties and scale-in choices: a stream of their own
        self.live: dict[str, Task] = {}  # desired status RUNNING, in creation order
        self.draining: dict[str, Task] = {}  # live RUNNING tasks on DRAINING instances, to be replaced
        self.last_drain_blocked: float | None = None  # when the "unable to replace" event was written
        self.not_stopped = 0  # tasks of this service not yet STOPPED
        self.running = 0  # live tasks whose last status is RUNNING
        timing = plane.timing
        self.reaction = timing.service_reaction
        self.retry = timing.placement_retry
        self.rate = timing.service_launch_rate
        self.burst = timing.service_launch_burst
        self.tokens = float(self.burst)
        self.token_time = 0.0
        self.backoff_until = -math.inf
        self.backoff_delay = 0.0
        self.throttle = timing.start_failure_throttle
        self.throttle_until = -math.inf
        self.throttle_delay = 0.0
        self.throttle_wave = 0  # tasks numbered up to this were launched before the current throttle step
        self.last_unable_start: float | None = None  # when "unable to consistently start" was written
        self.phase = float(rng.uniform(0.0, self.reaction.period))
        self.wake_event = None
        self.wake_at = math.inf
        self.reaction_pending = False  # delay mode: a reaction wake-up is scheduled
        self.steady = False
        self.last_unable: tuple[str, float] | None = None
        self.deployment_id = f"ecs-svc/{stable_key(self.name) % 10**19:019d}"

    # ------------------------------------------------------------------ waking up
    def notify(self) -> None:
        """Something changed: reconcile at the next reaction time (cycle tick or drawn delay)."""
        now = self.env.now
        if self.reaction.mode == "cycle":
            period = self.reaction.period
            ticks = math.ceil((now - self.phase) / period)
            at = self.phase + ticks * period
            if at < now:
                at += period
        else:
            if self.reaction_pending:
                return  # the reaction already on its way will see this change too
            # A pending back-off or launch-rate timer must not postpone the reaction
            # (a scale-in would otherwise wait out a placement back-off of up to 15 min).
            self.reaction_pending = True
            at = now + self.reaction.delay.sample(self.rng)
        self.wake_no_later_than(at)

    def wake_no_later_than(self, at: float) -> None:
        """Make sure a reconcile happens at ``at`` or earlier (explicit timer)."""
        if self.wake_at <= at:
            return
        now = self.env.now
        event = self.env.timeout(max(at - now, 0.0))
        event.callbacks.append(self._wake)
        self.wake_event = event
        self.wake_at = at

    def _wake(self, event) -> None:  # noqa: ANN001
        if event is not self.wake_event:
            return  # superseded by an earlier wake-up
        self.wake_event = None
        self.wake_at = math.inf
        self.reaction_pending = False
        self.reconcile()

    # ------------------------------------------------------------------ reconcile
    def reconcile(self) -> None:
        """Launch or stop tasks so that the desired count is met, within ECS's limits."""
        count = len(self.live) - len(self.draining)
        if count > self.desired:
            self._scale_in(count - self.desired)
        elif count < self.desired:
            self._launch(self.desired - count)
        if self.draining:
            self._drain()
        self._check_steady()

    def announce(self, kind: str, tasks: list[Task]) -> None:
        """ECS's service event for tasks started or stopped (``kind``: started | stopped)."""
        ids = " ".join(f"task {t.id}" for t in tasks)
        what = "has started {} tasks" if kind == "started" else "has stopped {} running tasks"
        self.plane.rec.service_event(self.name, kind, f"service {self.name} {what.format(len(tasks))}: {ids}.")

    def drain_reason(self, instance_id: str) -> str:
        """stoppedReason of a task stopped because its instance is draining."""
        return f"Container instance {instance_id} is draining (deployment {self.deployment_id})"

    def _drain(self) -> None:
        """Stop the draining tasks whose replacement is RUNNING, or stop first down to the minimum."""
        now = self.env.now
        missing = self.desired - (len(self.live) - len(self.draining))
        room = (self.desired * self.max_percent) // 100 - self.not_stopped
        floor = self.desired
        if missing > 0 and (room <= 0 or self.backoff_until > now):  # no replacement can start first
            floor = -(-self.desired * self.min_percent // 100)
        running = self.running
        chosen = []
        for task in self.draining.values():
            if running - 1 < floor:
                break
            chosen.append(task)
            running -= 1
        for task in chosen:
            self.plane.stop_task(task, SERVICE_SCHEDULER_INITIATED,
                                 self.drain_reason(self.plane.cluster.infos[task.slot].id))
        if chosen:
            self.announce("stopped", chosen)
        elif room <= 0 and self.running == len(self.live) == self.not_stopped:
            self._drain_blocked(now)

    def _drain_blocked(self, now: float) -> None:
        last = self.last_drain_blocked
        if last is None or now - last >= DUPLICATE_EVENT_WINDOW_S:
            self.last_drain_blocked = now
            self.plane.rec.service_event(
                self.name, "drain_blocked",
                f"service {self.name} was unable to replace tasks on draining container instances: "
                f"maximumPercent {self.max_percent} leaves no room to start a replacement and "
                f"minimumHealthyPercent {self.min_percent} forbids stopping a task first.")

    def _launch(self, missing: int) -> None:
        now = self.env.now
        hold = self.backoff_until if self.backoff_until > self.throttle_until else self.throttle_until
        if now < hold:
            self.wake_no_later_than(hold)
            return
        self.tokens = min(float(self.burst), self.tokens + (now - self.token_time) * self.rate)
        self.token_time = now
        room = (self.desired * self.max_percent) // 100 - self.not_stopped
        # Tolerate rounding (0.9999999999999998 tokens is one token), or the refill wake-up
        # below could land on this same instant again and again.
        want = min(missing, room, int(self.tokens + _TOKEN_EPSILON))
        started: list[Task] = []
        failure = None
        for _ in range(max(want, 0)):
            task, decision = self.plane.launch(self.spec, self.group, self, "service", self.strategies,
                                               self.constraints, self.placement_rng, math.inf)
            if task is None:
                failure = decision
                break
            self.tokens -= 1.0
            started.append(task)
        if started:
            if failure is None:  # only a launch that placed everything it tried ends the back-off
                self.backoff_delay = 0.0
                self.last_unable = None
            self.announce("started", started)
        if failure is not None:
            self._placement_failed(failure)
        if failure is None and len(self.live) - len(self.draining) < self.desired and room > len(started):
            # Short only because the launch-rate bucket is empty: wake when a token is back.
            self.wake_no_later_than(max(now + (1.0 - self.tokens) / self.rate, math.nextafter(now, math.inf)))

    def _placement_failed(self, decision) -> None:  # noqa: ANN001
        now = self.env.now
        message = unable_to_place_message(self.name, decision, self.plane.cluster.view)
        last = self.last_unable
        if last is None or last[0] != message or now - last[1] >= DUPLICATE_EVENT_WINDOW_S:
            self.plane.rec.service_event(self.name, "unable_to_place", message)
            self.last_unable = (message, now)
        self.backoff_delay = next_delay(self.backoff_delay, self.retry)
        self.backoff_until = now + self.backoff_delay
        self.wake_no_later_than(self.backoff_until)

    def _start_failed(self, task: Task) -> None:
        """A task stopped before reaching RUNNING: throttle the next launch (one step per launch wave)."""
        if task.num <= self.throttle_wave:
            return  # launched before the failure that set the current delay: same wave
        now = self.env.now
        began = self.throttle_delay <= 0.0
        self.throttle_delay = next_delay(self.throttle_delay, self.throttle)
        self.throttle_until = now + self.throttle_delay
        self.throttle_wave = self.plane.task_count
        last = self.last_unable_start
        if began and (last is None or now - last >= DUPLICATE_EVENT_WINDOW_S):
            self.last_unable_start = now
            self.plane.rec.service_event(self.name, "unable_to_start",
                                         f"service {self.name} is unable to consistently start tasks successfully.")

    def capacity_appeared(self) -> None:
        """Capacity was freed or registered; cut the back-off short only if configured to."""
        if self.retry.retry_on_capacity_change and self.backoff_until > self.env.now:
            self.backoff_until = self.env.now
            self.notify()

    def _scale_in(self, extra: int) -> None:
        draining = self.draining
        starting = [t for t in self.live.values() if t.state in STARTING_STATES]
        chosen = list(reversed(starting))[:extra]  # newest not-yet-running tasks first
        remaining = extra - len(chosen)
        if remaining > 0:
            running = [t for t in self.live.values() if t.state not in STARTING_STATES and t.id not in draining]
            slots = self.plane.np_slots(running)
            picks = choose_tasks_to_stop(slots, remaining, self.plane.cluster.view, self.strategies, self.group,
                                         self.placement_rng, demand=self.spec.demand)
            chosen.extend(running[int(k)] for k in picks)
        reason = f"Scaling activity initiated by (deployment {self.deployment_id})"
        for task in chosen:
            self.plane.stop_task(task, SERVICE_SCHEDULER_INITIATED, reason)
        if chosen:
            self.announce("stopped", chosen)

    # ------------------------------------------------------------------ task news
    def on_running(self, task: Task) -> None:
        self.running += 1
        if self.throttle_delay > 0.0:  # a task reached RUNNING: the start-failure throttle resets
            self.throttle_delay = 0.0
            self.throttle_until = -math.inf
            if len(self.live) - len(self.draining) < self.desired:
                self.notify()
        if self.draining:
            self.notify()  # a replacement may be RUNNING: a draining task can stop
        self._check_steady()

    def on_leaving(self, task: Task, old_state: str) -> None:
        """The task's desired status became STOPPED."""
        del self.live[task.id]
        if self.draining:
            self.draining.pop(task.id, None)
        if old_state == RUNNING:
            self.running -= 1
        elif task.stop_code == TASK_FAILED_TO_START:
            self._start_failed(task)
        self.steady = False
        if len(self.live) - len(self.draining) < self.desired:
            self.notify()

    def on_stopped(self, task: Task) -> None:
        self.not_stopped -= 1
        if len(self.live) - len(self.draining) < self.desired:
            self.notify()  # the maximumPercent bound may have been what held a launch back
        self._check_steady()

    def set_desired(self, desired: int) -> None:
        """UpdateService with a new desiredCount."""
        old = self.desired
        self.desired = desired
        self.plane.rec.service_row(self.name, "desired_count", str(old), str(desired), float(desired))
        self.steady = False
        self.notify()

    def _check_steady(self) -> None:
        if not self.steady and self.running == self.desired and self.not_stopped == self.desired \
                and not self.draining:
            self.steady = True
            self.last_unable_start = None
            self.last_drain_blocked = None  # the cause is resolved: a new episode is news again
            self.plane.rec.service_event(self.name, "steady_state", f"service {self.name} has reached a steady state.")
