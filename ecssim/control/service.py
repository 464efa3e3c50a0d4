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
- start-first: the service keeps ``desiredCount`` healthy tasks without it (its replacement
  is healthy), or
- stop-first, when no replacement can start now (the ``maximumPercent`` bound leaves no room,
  or placement is backing off for want of capacity): the service keeps
  ceil(desired x minimumHealthyPercent / 100) healthy tasks without it; the replacement
  starts once the stopped task frees room.
*Healthy* is what counts here (see ``health``: ECS's minimumHealthyPercent counts healthy
tasks). When neither is possible and
nothing is moving (e.g. minimumHealthyPercent 100 with maximumPercent 100) the drain blocks,
as in ECS, and the service event ``service <name> was unable to replace tasks on draining
container instances: maximumPercent <max> leaves no room to start a replacement and
minimumHealthyPercent <min> forbids stopping a task first.`` is written (ecssim's wording:
ECS publishes none; once until a steady state or 6 hours pass). A service with tasks on
draining instances is not in a steady state (ECS's TaskSet stability, 3.5). Drained tasks stop
with stopCode ``ServiceSchedulerInitiated`` and stoppedReason ``Container instance <id> is
draining (deployment <id>)`` (ecssim's wording).

Unhealthy tasks (ecs-reference 4.4) are replaced the same way: an UNHEALTHY task (once
``healthCheckGracePeriodSeconds`` after its start have passed) no longer counts toward
``desiredCount``; a replacement starts first when ``maximumPercent`` leaves room, and the
unhealthy task stops once the service has ``desiredCount`` healthy tasks without it; when no
replacement can start, unhealthy tasks stop one at a time (each after the previous one
STOPPED). Their stoppedReason is ECS's: ``Task failed ELB health checks in (target-group
<arn>)`` or ``Task failed container health checks``.

Rolling deployments (4.5, 4.6): see ``deployment``. At each reconcile, after scaling any
deployment down to its desired count, the scheduler *retires* tasks of the older
deployments: those not healthy at once, healthy ones only while the service keeps
ceil(desired x minimumHealthyPercent / 100) healthy tasks (stopCode
``ServiceSchedulerInitiated``, stoppedReason ``Scaling activity initiated by (deployment
<old id>)``), then launches the PRIMARY deployment's missing tasks (and any missing task of
an older one, with its own revision) within floor(desired x maximumPercent / 100) tasks not
yet STOPPED. The rollout is COMPLETED when the PRIMARY deployment has ``desiredCount``
healthy tasks and no older deployment has a task left; older deployments become INACTIVE
when their last task STOPPED. When both bounds forbid any move (e.g. 100/100) the service
event ``service <name> was unable to stop or start tasks during a deployment because of the
service deployment configuration. Update the minimumHealthyPercent or maximumPercent value
and try again.`` is written (ECS's text, once per episode). A new deployment resets the
start-failure throttle (4.3). The circuit breaker's FAILED rollout launches nothing more;
with ``rollback`` the last COMPLETED deployment becomes PRIMARY again (or is re-created if
its tasks are all gone) and the failed one's tasks are retired.

A service is in a *steady state* when it has ``desiredCount`` tasks, all RUNNING and
healthy, none to be replaced, and a single deployment.

AZ rebalancing (4.7; see ``rebalance``): a service whose first strategy spreads over AZs
(with ``availabilityZoneRebalancing`` ENABLED, the default) checks its spread when it
reaches a steady state and when capacity registers; if an AZ where its task fits has 2 fewer
tasks than another, it writes ``service <name> has started Availability Zone rebalancing: <n>
tasks to move.``, replaces that many tasks of the fullest AZs (start-first, like draining;
stoppedReason ``Availability Zone rebalancing initiated by (deployment <id>)``, ecssim's
wording) and, once they are stopped, ``service <name> has completed Availability Zone
rebalancing.``

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

from ..model.fargate import CAPACITY_UNAVAILABLE, CAPACITY_UNAVAILABLE_TEXT
from ..model.streams import stable_key
from ..model.task import (
    HEALTHY,
    RUNNING,
    SERVICE_SCHEDULER_INITIATED,
    STARTING_STATES,
    TASK_FAILED_TO_START,
    Task,
)
from ..model.timers import call_later
from ..placement import choose_tasks_to_stop, unable_to_place_message
from ..placement.pipeline import check_masks
from ..placement.single import eligible_slots
from .capacity_provider import NO_PROVIDER_INSTANCES, NO_PROVIDER_INSTANCES_TEXT
from .deployment import (
    ACTIVE,
    COMPLETED,
    FAILED,
    IN_PROGRESS,
    INACTIVE,
    PRIMARY,
    Deployment,
    circuit_breaker_threshold,
)
from .provider_split import choose_provider
from .rebalance import moves, spreads_over_azs

#: ECS suppresses a repeated service event until its cause is resolved or 6 hours pass (3.5).
DUPLICATE_EVENT_WINDOW_S = 6 * 3600.0
#: Launch tokens lost to floating-point rounding that still count as a whole token.
_TOKEN_EPSILON = 1e-9
#: Why a task is being replaced (the kind of a ``replacing`` entry).
DRAIN, HEALTH, REBALANCE = "drain", "health", "rebalance"
#: ECS's service event when the deployment bounds forbid any move (4.5).
DEADLOCK_MESSAGE = ("service {name} was unable to stop or start tasks during a deployment because of the service "
                    "deployment configuration. Update the minimumHealthyPercent or maximumPercent value and try again.")


def next_delay(previous: float, policy) -> float:  # noqa: ANN001
    """The next back-off delay: ``policy.initial`` first, then ``multiplier`` times longer, up to ``max``."""
    if previous <= 0.0:
        return policy.initial
    return min(previous * policy.multiplier, policy.max)


class ServiceScheduler:
    """Reconciles one REPLICA service toward its desired count, deployment by deployment."""

    kind = "REPLICA"

    def __init__(self, plane, model, spec, constraints, strategies, rng, placement_rng, *,  # noqa: ANN001
                 constraints_for=None, rules_for=None) -> None:  # noqa: ANN001
        self.plane = plane
        self.env = plane.env
        self.name: str = model.service_name
        self.group = f"service:{self.name}"
        self.desired: int = model.desired_count
        config = model.deployment_configuration
        self.max_percent: int = config.maximum_percent
        self.min_percent: int = config.minimum_healthy_percent
        breaker = config.deployment_circuit_breaker
        self.breaker = breaker if breaker is not None and breaker.enable else None
        self.grace = float(model.health_check_grace_period_seconds)
        self.strategies = strategies
        self.constraints_for = constraints_for if constraints_for is not None else (lambda _spec: constraints)
        self.rules_for = rules_for  # spec -> HealthRules (None: the plane's default rules)
        self.rng = rng  # reaction phase and delays
        self.placement_rng = placement_rng  # placement ties and scale-in choices: a stream of their own
        self.live: dict[str, Task] = {}  # desired status RUNNING, in creation order (every deployment)
        self.placed_per_az: dict[str, int] = {}  # live tasks with an instance, per AZ (AZ rebalancing)
        self.counts_version = 0  # bumped when placed_per_az changes
        self.replica_position: int | None = None  # set by the plane (capacity_registered)
        #: (AZs, counts_version) when check_balance last found the tasks balanced over those AZs
        #: (None otherwise, and always with a memberOf constraint): the plane skips the service on a
        #: registration while both still hold, since the check would find the same.
        self.balanced_for: tuple | None = None
        self._member_of: tuple[tuple, bool] = ((), False)  # (constraints, whether one is memberOf)
        self.rebalanced_epoch = -1  # the plane's registration epoch when rebalanced_from was set
        self.replacing: dict[str, tuple[Task, str, str]] = {}  # id -> (task, stop reason, DRAIN | HEALTH)
        self.replaced_in_flight: set[str] = set()  # unhealthy tasks stopped stop-first, not yet STOPPED
        self.last_drain_blocked: float | None = None  # when the "unable to replace" event was written
        self.last_deadlock: float | None = None  # when the deployment-configuration event was written
        self.not_stopped = 0  # tasks of this service not yet STOPPED
        self.running = 0  # live tasks whose last status is RUNNING
        self.healthy = 0  # live tasks whose health is HEALTHY
        timing = plane.timing
        self.reaction = timing.service_reaction
        self.retry = timing.placement_retry
        self.rate = timing.service_launch_rate
        self.burst = timing.service_launch_burst
        self.breaker_minimum = timing.circuit_breaker_minimum_threshold
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
        self.rebalances = model.availability_zone_rebalancing == "ENABLED" and spreads_over_azs(strategies)
        self.rebalancing = False  # an AZ rebalancing episode is under way
        self.rebalanced_from: dict[str, int] | None = None  # tasks per AZ when the last episode began
        self.deployments: list[Deployment] = []  # live deployments, oldest first; the last one is PRIMARY
        self.created_deployments = 0
        self.completed: Deployment | None = None  # the newest deployment whose rollout COMPLETED
        self._launching: Deployment | None = None  # the deployment a launch in progress is for
        self.provider_items: tuple = ()  # its capacity provider strategy as (provider, base, weight)
        self.providers: dict = {}  # provider name -> CapacityProviderRuntime
        self.provider_counts: dict[str, int] = {}  # live tasks per capacity provider
        self._new_deployment(spec, constraints)

    def use_providers(self, items: tuple, providers: dict) -> None:
        """Launch through a capacity provider strategy (``items``: (provider, base, weight)); () for EC2."""
        self.provider_items = items
        self.providers = providers

    def _next_provider(self):  # noqa: ANN202
        """The capacity provider runtime of the next task (None with the EC2 launch type)."""
        if not self.provider_items:
            return None
        return self.providers[choose_provider(self.provider_items, self.provider_counts)]

    # ------------------------------------------------------------------ deployments
    @property
    def primary(self) -> Deployment:
        return self.deployments[-1]

    @property
    def spec(self):  # noqa: ANN201
        """The PRIMARY deployment's task definition facts."""
        return self.primary.spec

    @property
    def constraints(self) -> tuple:
        return self.primary.constraints

    @property
    def deployment_id(self) -> str:
        return self.primary.id

    def _new_deployment(self, spec, constraints) -> Deployment:  # noqa: ANN001
        number = self.created_deployments
        self.created_deployments += 1
        key = self.name if number == 0 else f"{self.name}/{number}"
        threshold = 0
        if self.breaker is not None:
            threshold = circuit_breaker_threshold(self.desired, self.breaker.threshold_configuration,
                                                  self.breaker_minimum)
        deployment = Deployment(f"ecs-svc/{stable_key(key) % 10**19:019d}", spec, constraints, self.desired,
                                self.env.now, self.breaker, threshold)
        self.deployments.append(deployment)
        rec = self.plane.rec
        rec.deployment(deployment.id, self.name, spec.key, "state", "", PRIMARY)
        rec.deployment(deployment.id, self.name, spec.key, "rollout", "", IN_PROGRESS, value=0.0)
        return deployment

    def _set_status(self, deployment: Deployment, status: str) -> None:
        if deployment.status != status:
            self.plane.rec.deployment(deployment.id, self.name, deployment.spec.key, "state", deployment.status,
                                      status)
            deployment.status = status

    def _set_rollout(self, deployment: Deployment, rollout: str, reason: str = "") -> None:
        if deployment.rollout != rollout:
            self.plane.rec.deployment(deployment.id, self.name, deployment.spec.key, "rollout", deployment.rollout,
                                      rollout, reason, float(deployment.failed_tasks))
            deployment.rollout = rollout

    def update(self, spec, force: bool) -> bool:  # noqa: ANN001
        """UpdateService with a task definition: start a deployment if it differs (or ``force``)."""
        if spec is self.primary.spec and not force:
            return False
        self._demote(self.primary)
        self._new_deployment(spec, self.constraints_for(spec))
        self._reset_throttle()  # a new deployment resets the start-failure throttle (4.3)
        self.steady = False
        self.notify()
        return True

    def _demote(self, deployment: Deployment) -> None:
        """A newer deployment replaces ``deployment``: ACTIVE, keeping at most the tasks it has."""
        self._set_status(deployment, ACTIVE)
        deployment.target = min(deployment.target, self._active(deployment))

    def _active(self, deployment: Deployment) -> int:
        """Tasks of ``deployment`` that count toward its desired count (live, not being replaced)."""
        return len(deployment.live) - deployment.replacing

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
        """Launch, retire or stop tasks so that every deployment meets its desired count, within ECS's limits."""
        for deployment in list(self.deployments):
            extra = self._active(deployment) - deployment.target
            if extra > 0:
                self._scale_in(deployment, extra)
        retired = self._retire_old() if len(self.deployments) > 1 else 0
        launched = self._launch()
        if self.replacing:
            self._replace()
        if len(self.deployments) > 1 and not retired and not launched:
            self._check_deadlock()
        self._check_progress()

    def announce(self, kind: str, tasks: list[Task]) -> None:
        """ECS's service event for tasks started or stopped (``kind``: started | stopped)."""
        ids = " ".join(f"task {t.id}" for t in tasks)
        what = "has started {} tasks" if kind == "started" else "has stopped {} running tasks"
        self.plane.rec.service_event(self.name, kind, f"service {self.name} {what.format(len(tasks))}: {ids}.")

    def drain_reason(self, instance_id: str) -> str:
        """stoppedReason of a task stopped because its instance is draining."""
        return f"Container instance {instance_id} is draining (deployment {self.deployment_id})"

    def _floor(self) -> int:
        """ceil(desired x minimumHealthyPercent / 100): the healthy tasks a stop must leave."""
        return -(-self.desired * self.min_percent // 100)

    def _room(self) -> int:
        """Tasks that may still start under floor(desired x maximumPercent / 100) not yet STOPPED."""
        return (self.desired * self.max_percent) // 100 - self.not_stopped

    def _retire_old(self) -> int:
        """Stop tasks of older deployments: those not healthy at once, healthy ones down to the floor."""
        if not self.primary.launching:
            return 0  # a FAILED deployment (without rollback) moves nothing more
        healthy_replacing = sum(1 for task, _reason, _kind in self.replacing.values() if task.health == HEALTHY)
        budget = self.healthy - healthy_replacing - self._floor()
        chosen: list[Task] = []
        for deployment in self.deployments[:-1]:
            deployment.target = min(deployment.target, self._active(deployment))
            if deployment.target <= 0:
                continue
            candidates = [t for t in deployment.live.values() if t.id not in self.replacing]
            picked = [t for t in reversed(candidates) if t.health != HEALTHY]  # newest first
            healthy = [t for t in candidates if t.health == HEALTHY]
            take = min(budget, len(healthy))
            if take > 0:
                picked.extend(self._choose_stops(healthy, take, deployment.spec.demand))
                budget -= take
            deployment.target -= len(picked)
            chosen.extend(picked)
        for task in chosen:
            self.plane.stop_task(task, SERVICE_SCHEDULER_INITIATED,
                                 f"Scaling activity initiated by (deployment {task.deployment.id})")
        if chosen:
            self.announce("stopped", chosen)
        return len(chosen)

    def _check_deadlock(self) -> None:
        """Both bounds forbid any move while older deployments still have tasks: ECS's event, once per episode."""
        if self._room() > 0 or not self.primary.launching:
            return
        if not self.healthy == len(self.live) == self.not_stopped:
            return  # something is still moving
        if not any(d.target > 0 for d in self.deployments[:-1]):
            return
        now = self.env.now
        last = self.last_deadlock
        if last is None or now - last >= DUPLICATE_EVENT_WINDOW_S:
            self.last_deadlock = now
            self.plane.rec.service_event(self.name, "deployment_blocked", DEADLOCK_MESSAGE.format(name=self.name))

    def _missing(self) -> int:
        """Tasks the deployments that still launch lack."""
        missing = 0
        # a plain loop rather than sum() over a generator: this runs at nearly every task stop
        for deployment in self.deployments:
            if deployment.launching:
                lacking = deployment.target - self._active(deployment)
                if lacking > 0:
                    missing += lacking
        return missing

    def _replace(self) -> None:
        """Stop tasks being replaced (draining or unhealthy) whose replacement is healthy, or stop-first."""
        now = self.env.now
        room = self._room()
        waiting = self.backoff_until > now or self.throttle_until > now
        stop_first = self._missing() > 0 and (room <= 0 or waiting)
        floor = self._floor() if stop_first else self.desired
        healthy = self.healthy
        may_stop_unhealthy = stop_first and not self.replaced_in_flight
        chosen: list[tuple[Task, str]] = []
        for task, reason, _kind in self.replacing.values():
            if task.health == HEALTHY:
                if healthy - 1 < floor:
                    continue
                healthy -= 1
            elif stop_first:
                if not may_stop_unhealthy:
                    continue
                may_stop_unhealthy = False  # one at a time (4.4)
                self.replaced_in_flight.add(task.id)
            elif healthy < floor:
                continue  # its replacement is not healthy yet
            chosen.append((task, reason))
        for task, reason in chosen:
            self.plane.stop_task(task, SERVICE_SCHEDULER_INITIATED, reason)
        if chosen:
            self.announce("stopped", [task for task, _reason in chosen])
        elif room <= 0 and self.healthy == len(self.live) == self.not_stopped \
                and any(kind == DRAIN for _t, _r, kind in self.replacing.values()):
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

    def _launch(self) -> int:
        """Launch the missing tasks of every deployment that launches, PRIMARY first."""
        missing_total = self._missing()
        if missing_total <= 0:
            return 0
        now = self.env.now
        hold = self.backoff_until if self.backoff_until > self.throttle_until else self.throttle_until
        if now < hold:
            self.wake_no_later_than(hold)
            return 0
        self.tokens = min(float(self.burst), self.tokens + (now - self.token_time) * self.rate)
        self.token_time = now
        room = self._room()
        # Tolerate rounding (0.9999999999999998 tokens is one token), or the refill wake-up
        # below could land on this same instant again and again.
        allowed = min(room, int(self.tokens + _TOKEN_EPSILON))
        started: list[Task] = []
        failure = None
        throttled = False  # Fargate's account launch bucket ran dry (a wake-up is set for its next token)
        for deployment in reversed(self.deployments):
            if not deployment.launching:
                continue
            want = min(deployment.target - self._active(deployment), allowed - len(started))
            self._launching = deployment
            for _ in range(max(want, 0)):
                task, decision = self.plane.launch(deployment.spec, self.group, self, "service", self.strategies,
                                                   deployment.constraints, self.placement_rng, math.inf,
                                                   self._next_provider())
                if task is None:
                    retry_at = getattr(decision, "retry_at", None)
                    if retry_at is not None:  # Fargate's launch bucket is empty: not a failure, wait for a token
                        self.wake_no_later_than(retry_at)
                        throttled = True
                    else:
                        failure = decision
                    break
                self.tokens -= 1.0
                started.append(task)
            if failure is not None or throttled:
                break
        self._launching = None
        if started:
            if failure is None:  # only a launch that placed everything it tried ends the back-off
                self.backoff_delay = 0.0
                self.last_unable = None
            self.announce("started", started)
        if failure is not None:
            self._placement_failed(failure)
        elif missing_total > len(started) and room > len(started) and not throttled:
            # Short only because the launch-rate bucket is empty: wake when a token is back.
            self.wake_no_later_than(max(now + (1.0 - self.tokens) / self.rate, math.nextafter(now, math.inf)))
        return len(started)

    def adopt(self, task: Task) -> None:
        """A task of this service was just created: it belongs to the deployment being launched."""
        deployment = self._launching if self._launching is not None else self.primary
        task.deployment = deployment
        deployment.live[task.id] = task
        deployment.not_stopped += 1
        self.live[task.id] = task
        if task.slot >= 0:
            self._count_in_az(task, 1)
        self.not_stopped += 1
        if task.capacity_provider:
            self.provider_counts[task.capacity_provider] = self.provider_counts.get(task.capacity_provider, 0) + 1
        rules = self.plane.rules_of(task)
        if rules.target_group is not None:
            task.deregistration_s = float(rules.target_group.deregistration_delay)

    def _placement_failed(self, decision) -> None:  # noqa: ANN001
        now = self.env.now
        if decision.reason == CAPACITY_UNAVAILABLE:
            message = f"service {self.name} was unable to place a task. Reason: {CAPACITY_UNAVAILABLE_TEXT}."
        elif decision.reason == NO_PROVIDER_INSTANCES:
            message = (f"service {self.name} was unable to place a task because no container instance met all of "
                       f"its requirements. Reason: {NO_PROVIDER_INSTANCES_TEXT}")
        else:
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

    def _reset_throttle(self) -> None:
        self.throttle_delay = 0.0
        self.throttle_until = -math.inf
        self.throttle_wave = self.plane.task_count

    def capacity_appeared(self) -> None:
        """Capacity was freed or registered; cut the back-off short only if configured to."""
        if self.retry.retry_on_capacity_change and self.backoff_until > self.env.now:
            self.backoff_until = self.env.now
            self.notify()

    def _scale_in(self, deployment: Deployment, extra: int) -> None:
        replacing = self.replacing
        candidates = [t for t in deployment.live.values() if t.id not in replacing]
        starting = [t for t in candidates if t.state in STARTING_STATES]
        chosen = list(reversed(starting))[:extra]  # newest not-yet-running tasks first
        remaining = extra - len(chosen)
        if remaining > 0:
            running = [t for t in candidates if t.state not in STARTING_STATES]
            chosen.extend(self._choose_stops(running, remaining, deployment.spec.demand))
        reason = f"Scaling activity initiated by (deployment {deployment.id})"
        for task in chosen:
            self.plane.stop_task(task, SERVICE_SCHEDULER_INITIATED, reason)
        if chosen:
            self.announce("stopped", chosen)

    def _choose_stops(self, tasks: list[Task], count: int, demand) -> list[Task]:  # noqa: ANN001
        """The ``count`` of ``tasks`` to stop: the placement strategy's mirror image (``scale_in``) on
        instances; on Fargate, from the AZ with the most of them, newest first (ECS keeps AZs balanced)."""
        if all(t.slot >= 0 for t in tasks):
            picks = choose_tasks_to_stop(self.plane.np_slots(tasks), count, self.plane.cluster.view,
                                         self.strategies, self.group, self.placement_rng, demand=demand)
            return [tasks[int(k)] for k in picks]
        where = self.plane.rec.where
        per_az: dict[str, list[Task]] = {}
        for task in tasks:
            per_az.setdefault(where(task.slot)[1], []).append(task)
        chosen: list[Task] = []
        for _ in range(count):
            az = max(sorted(per_az), key=lambda z: len(per_az[z]))
            chosen.append(per_az[az].pop())
            if not per_az[az]:
                del per_az[az]
        return chosen

    # ------------------------------------------------------------------ replacing tasks
    def replace(self, task: Task, reason: str, kind: str) -> None:
        """Replace ``task`` (it stops once its replacement is healthy, or stop-first); ``kind``: DRAIN | HEALTH."""
        if task.id in self.replacing or not task.desired_running:
            return
        self.replacing[task.id] = (task, reason, kind)
        task.deployment.replacing += 1
        self.steady = False
        self.notify()

    def keep(self, task: Task) -> None:
        """Stop replacing ``task`` (its instance is ACTIVE again)."""
        entry = self.replacing.pop(task.id, None)
        if entry is not None:
            task.deployment.replacing -= 1
            self.notify()

    # ------------------------------------------------------------------ task news
    def on_running(self, task: Task) -> None:
        self.running += 1
        if self.throttle_delay > 0.0:  # a task reached RUNNING: the start-failure throttle resets
            self.throttle_delay = 0.0
            self.throttle_until = -math.inf
            if self._missing() > 0:
                self.notify()
        if self.replacing:
            self.notify()  # a replacement may be RUNNING: a task being replaced can stop

    def on_health(self, task: Task, old: str, new: str, reason: str) -> None:
        """The task's health changed (ECS's view; see ``health``)."""
        if not task.desired_running:
            return
        if new == HEALTHY:
            self.healthy += 1
            deployment = task.deployment
            if deployment.breaker is not None and deployment.breaker.reset_on_healthy_task:
                deployment.failed_tasks = 0
            if self.replacing or len(self.deployments) > 1:
                self.notify()  # a replacement or a new deployment's task is healthy: something may move
            self._check_progress()
            return
        if old == HEALTHY:
            self.healthy -= 1
        self.steady = False
        # healthCheckGracePeriodSeconds: act on it only that long after the task started
        call_later(self.env, task.started_at + self.grace - self.env.now, self._unhealthy, task, reason)

    def _unhealthy(self, task: Task, reason: str) -> None:
        if task.desired_running and task.health != HEALTHY:
            self.replace(task, reason, HEALTH)

    def on_leaving(self, task: Task, old_state: str) -> None:
        """The task's desired status became STOPPED."""
        deployment = task.deployment
        del self.live[task.id]
        del deployment.live[task.id]
        if task.slot >= 0:
            self._count_in_az(task, -1)
        if task.capacity_provider:
            self.provider_counts[task.capacity_provider] -= 1
        entry = self.replacing.pop(task.id, None)
        if entry is not None:
            deployment.replacing -= 1
        if task.health == HEALTHY:
            self.healthy -= 1
        if old_state == RUNNING:
            self.running -= 1
        elif task.stop_code == TASK_FAILED_TO_START:
            self._start_failed(task)
            self._count_failure(deployment, "tasks failed to start")
        if entry is not None and entry[2] == HEALTH and task.stop_reason == entry[1]:
            self._count_failure(deployment, "tasks failed health checks")
        self.steady = False
        if self._missing() > 0 or len(self.deployments) > 1:
            self.notify()

    def on_stopped(self, task: Task) -> None:
        self.not_stopped -= 1
        task.deployment.not_stopped -= 1
        self.replaced_in_flight.discard(task.id)
        if self._missing() > 0 or self.replacing or len(self.deployments) > 1:
            self.notify()  # the maximumPercent bound may have been what held a launch back
        self._check_progress()

    def set_desired(self, desired: int) -> None:
        """UpdateService with a new desiredCount."""
        self._record_desired(desired)
        self.notify()

    def _record_desired(self, desired: int) -> None:
        """The desired count (and the PRIMARY deployment's) becomes ``desired``: a service row."""
        old = self.desired
        self.desired = desired
        self.primary.target = desired
        self.plane.rec.service_row(self.name, "desired_count", str(old), str(desired), float(desired))
        self.steady = False

    # ------------------------------------------------------------------ circuit breaker
    def _count_failure(self, deployment: Deployment, why: str) -> None:
        if deployment.breaker is None or deployment.rollout != IN_PROGRESS:
            return
        deployment.failed_tasks += 1
        if deployment.failed_tasks >= deployment.threshold:
            self._fail(deployment, why)

    def _fail(self, deployment: Deployment, why: str) -> None:
        """The circuit breaker trips: the rollout FAILED; roll back if asked and possible (4.6)."""
        self._set_rollout(deployment, FAILED, f"deployment failed: {why} (circuit breaker: "
                                              f"{deployment.failed_tasks} failed tasks)")
        self.plane.rec.service_event(self.name, "deployment_failed",
                                     f"service {self.name} (deployment {deployment.id}) deployment failed: {why}.")
        target = self.completed
        if not deployment.breaker.rollback or target is None or deployment is not self.primary:
            return
        self._demote(deployment)
        if target in self.deployments:  # the last COMPLETED deployment still has tasks: PRIMARY again
            self.deployments.remove(target)
            self.deployments.append(target)
            self._set_status(target, PRIMARY)
            self._set_rollout(target, IN_PROGRESS)
            target.target = self.desired
            target.failed_tasks = 0
            back = target
        else:
            back = self._new_deployment(target.spec, target.constraints)
        self.plane.rec.service_event(self.name, "rollback",
                                     f"service {self.name} rolling back to deployment {back.id}.")
        self._reset_throttle()
        self.notify()

    # ------------------------------------------------------------------ progress
    def _check_progress(self) -> None:
        """Retire drained old deployments, complete the rollout, and note a steady state."""
        primary = self.primary
        if len(self.deployments) > 1:
            for deployment in self.deployments[:-1]:
                if deployment.not_stopped == 0 and deployment.target == 0:
                    self._set_status(deployment, INACTIVE)
            self.deployments = [d for d in self.deployments if d.status != INACTIVE]
        if primary.rollout == IN_PROGRESS and len(self.deployments) == 1 and self._active(primary) == self.desired \
                and primary.not_stopped == self.desired \
                and all(t.health == HEALTHY for t in primary.live.values()):
            self._set_rollout(primary, COMPLETED)
            self.completed = primary
            if primary.created_at > 0.0 or self.created_deployments > 1:
                self.plane.rec.service_event(self.name, "deployment_completed",
                                             f"service {self.name} (deployment {primary.id}) deployment completed.")
        if self.rebalancing and not any(kind == REBALANCE for _t, _r, kind in self.replacing.values()):
            self.rebalancing = False
            self.plane.rec.service_event(self.name, "rebalancing_completed",
                                         f"service {self.name} has completed Availability Zone rebalancing.")
        if not self.steady and len(self.deployments) == 1 and not self.replacing \
                and self.running == self.desired == self.healthy and self.not_stopped == self.desired:
            self.steady = True
            self.unsettle()  # the next registration looks at it again (the plane skips unsteady services)
            self.last_unable_start = None
            self.last_drain_blocked = None  # the cause is resolved: a new episode is news again
            self.last_deadlock = None
            self.plane.rec.service_event(self.name, "steady_state", f"service {self.name} has reached a steady state.")
            self.check_balance()

    # ------------------------------------------------------------------ AZ rebalancing
    def balanced_over(self, azs: tuple[str, ...]) -> bool:
        """Whether the last check found the tasks balanced over ``azs`` and none moved since."""
        balanced = self.balanced_for
        return balanced is not None and balanced[1] == self.counts_version and balanced[0] == azs

    def unsettle(self) -> None:
        """Have the plane look at this service at the next registration (``capacity_registered``)."""
        if self.replica_position is not None:
            self.plane.unsettled.add(self.replica_position)

    def capacity_registered(self) -> None:
        """An instance registered or became ACTIVE again: the AZs may be worth rebalancing over."""
        self.rebalanced_from = None
        if self.steady:
            self.check_balance()

    def _azs_of_eligible_slots(self) -> tuple[str, ...]:
        """The AZs of the instances the service may use, sorted.

        Without a memberOf constraint these are the AZs with an ACTIVE instance, which the
        cluster caches per membership change; a memberOf query may read task groups or
        running-task counts, so it is evaluated each time.
        """
        cluster = self.plane.cluster
        if not self._has_member_of():
            return cluster.active_azs()
        infos = cluster.infos
        return tuple(sorted({infos[slot].az for slot in eligible_slots(cluster.view, self.constraints,
                                                                       self.group).tolist()}))

    def _has_member_of(self) -> bool:
        """Whether the primary deployment's constraints include a memberOf (asked on every balance
        check: the answer is kept until the constraints change)."""
        constraints = self.constraints
        known, answer = self._member_of
        if known is not constraints:
            answer = any(kind == "memberOf" for kind, _rule in constraints)
            self._member_of = (constraints, answer)
        return answer

    def _count_in_az(self, task: Task, change: int) -> None:
        az = self.plane.cluster.infos[task.slot].az
        self.placed_per_az[az] = self.placed_per_az.get(az, 0) + change
        self.counts_version += 1
        self.unsettle()

    def placed_after_waiting(self, task: Task) -> None:
        """A live task that waited in PROVISIONING got an instance: it now counts in that AZ."""
        self._count_in_az(task, 1)

    def _tasks_in(self, per_az: dict[str, int]) -> dict[str, list[Task]]:
        """The service's placed live tasks in each of the AZs of ``per_az``, in creation order."""
        infos = self.plane.cluster.infos
        tasks_in: dict[str, list[Task]] = {}
        for task in self.live.values():
            if task.slot < 0:
                continue  # waiting in PROVISIONING for capacity: in no AZ yet
            az = infos[task.slot].az
            if az in per_az:
                tasks_in.setdefault(az, []).append(task)
        return tasks_in

    def check_balance(self) -> None:
        """In a steady state, start AZ rebalancing when the tasks are unevenly spread (4.7).

        Only when the bounds let a task move (room under maximumPercent, or a
        minimumHealthyPercent below 100), and not again from the same spread as the last
        episode began with (the replacements found no room where they were wanted) until
        capacity registers.
        """
        if not self.rebalances or not self.steady or self.replacing or len(self.deployments) > 1:
            return
        if self._room() <= 0 and self._floor() >= self.desired:
            return
        view = self.plane.cluster.view
        infos = self.plane.cluster.infos
        azs = self._azs_of_eligible_slots()
        if len(azs) < 2:
            return
        counted = self.placed_per_az
        per_az = {az: counted.get(az, 0) for az in azs}
        if per_az == self.rebalanced_from and self.rebalanced_epoch == self.plane.registration_epoch:
            return
        if max(per_az.values()) - min(per_az.values()) <= 1:
            # balanced: no AZ has 2 more than another, whatever has room (moves gives nothing)
            if not self._has_member_of():
                self.balanced_for = (azs, self.counts_version)
                self.unsettle()
            return
        n = view.n
        fits = view.active[:n].copy()
        counts = view.group_counts.get(self.group)
        for _reason, mask in check_masks(self.spec.demand, view, n, self.constraints,
                                         None if counts is None else counts[:n]):
            fits &= mask
        plan = moves(per_az, {infos[slot].az for slot in fits.nonzero()[0].tolist()})
        if not plan:
            return
        tasks_in = self._tasks_in(per_az)
        self.rebalanced_from = per_az
        self.rebalanced_epoch = self.plane.registration_epoch
        self.rebalancing = True
        self.plane.rec.service_event(self.name, "rebalancing_started",
                                     f"service {self.name} has started Availability Zone rebalancing: "
                                     f"{sum(plan.values())} tasks to move.")
        reason = f"Availability Zone rebalancing initiated by (deployment {self.deployment_id})"
        for az in sorted(plan):
            candidates = tasks_in[az]
            picks = choose_tasks_to_stop(self.plane.np_slots(candidates), plan[az], view, self.strategies,
                                         self.group, self.placement_rng, demand=self.spec.demand)
            for k in picks:
                self.replace(candidates[int(k)], reason, REBALANCE)
