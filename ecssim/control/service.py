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
        count = len(self.live)
        if count > self.desired:
            self._scale_in(count - self.desired)
        elif count < self.desired:
            self._launch(self.desired - count)
        self._check_steady()

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
            ids = " ".join(f"task {t.id}" for t in started)
            self.plane.rec.service_event(self.name, "started",
                                         f"service {self.name} has started {len(started)} tasks: {ids}.")
        if failure is not None:
            self._placement_failed(failure)
        if failure is None and len(self.live) < self.desired and room > len(started):
            # Short only because the launch-rate bucket is empty: wake when a token is back.
            self.wake_no_later_than(max(now + (1.0 - self.tokens) / self.rate, math.nextafter(now, math.inf)))

    def _placement_failed(self, decision) -> None:  # noqa: ANN001
        now = self.env.now
        message = unable_to_place_message(self.name, decision, self.plane.cluster.view)
        last = self.last_unable
        if last is None or last[0] != message or now - last[1] >= DUPLICATE_EVENT_WINDOW_S:
            self.plane.rec.service_event(self.name, "unable_to_place", message)
            self.last_unable = (message, now)
        retry = self.retry
        if self.backoff_delay <= 0.0:
            self.backoff_delay = retry.initial
        else:
            self.backoff_delay = min(self.backoff_delay * retry.multiplier, retry.max)
        self.backoff_until = now + self.backoff_delay
        self.wake_no_later_than(self.backoff_until)

    def _start_failed(self, task: Task) -> None:
        """A task stopped before reaching RUNNING: throttle the next launch (one step per launch wave)."""
        if task.num <= self.throttle_wave:
            return  # launched before the failure that set the current delay: same wave
        now = self.env.now
        throttle = self.throttle
        began = self.throttle_delay <= 0.0
        if began:
            self.throttle_delay = throttle.initial
        else:
            self.throttle_delay = min(self.throttle_delay * throttle.multiplier, throttle.max)
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
        starting = [t for t in self.live.values() if t.state in STARTING_STATES]
        chosen = list(reversed(starting))[:extra]  # newest not-yet-running tasks first
        remaining = extra - len(chosen)
        if remaining > 0:
            running = [t for t in self.live.values() if t.state not in STARTING_STATES]
            slots = self.plane.np_slots(running)
            picks = choose_tasks_to_stop(slots, remaining, self.plane.cluster.view, self.strategies, self.group,
                                         self.placement_rng, demand=self.spec.demand)
            chosen.extend(running[int(k)] for k in picks)
        reason = f"Scaling activity initiated by (deployment {self.deployment_id})"
        for task in chosen:
            self.plane.stop_task(task, SERVICE_SCHEDULER_INITIATED, reason)
        if chosen:
            ids = " ".join(f"task {t.id}" for t in chosen)
            self.plane.rec.service_event(
                self.name, "stopped", f"service {self.name} has stopped {len(chosen)} running tasks: {ids}."
            )

    # ------------------------------------------------------------------ task news
    def on_running(self, task: Task) -> None:
        self.running += 1
        if self.throttle_delay > 0.0:  # a task reached RUNNING: the start-failure throttle resets
            self.throttle_delay = 0.0
            self.throttle_until = -math.inf
            if len(self.live) < self.desired:
                self.notify()
        self._check_steady()

    def on_leaving(self, task: Task, old_state: str) -> None:
        """The task's desired status became STOPPED."""
        del self.live[task.id]
        if old_state == RUNNING:
            self.running -= 1
        elif task.stop_code == TASK_FAILED_TO_START:
            self._start_failed(task)
        self.steady = False
        if len(self.live) < self.desired:
            self.notify()

    def on_stopped(self, task: Task) -> None:
        self.not_stopped -= 1
        if len(self.live) < self.desired:
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
        if not self.steady and self.running == self.desired and self.not_stopped == self.desired:
            self.steady = True
            self.last_unable_start = None  # the cause is resolved: a new episode is news again
            self.plane.rec.service_event(self.name, "steady_state", f"service {self.name} has reached a steady state.")
