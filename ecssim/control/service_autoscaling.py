"""Service Auto Scaling: target tracking on a service's average CPU or memory utilisation (ecs-reference 11).

One timer, as CloudWatch has: every ``timing.serviceAutoScaling.period`` seconds (t = 60,
120, ...) each scaled service gets a datapoint per metric it uses, the average utilisation
over the last period::

    mean demand over (t - period, t] / reservation of the service's RUNNING tasks at t, in %

capped at 100 (ecssim's modelling choice: a task cannot use more than it reserves; on EC2
CPU is a soft share and ECS's metric can exceed 100%). With no RUNNING task the datapoint
is 100 when there is demand and 0 when there is none.

Each policy has the two alarms AWS creates for target tracking: the high alarm is in ALARM
after ``scaleOutDatapoints`` (3) consecutive datapoints above the target, the low alarm after
``scaleInDatapoints`` (15) consecutive datapoints below ``scaleInThreshold`` (0.9) x target.
At an evaluation a policy in high ALARM proposes ceil(desiredCount x metric / target) capped
to [minCapacity, maxCapacity] (AWS's proportional rule), unless within its
``scaleOutCooldown`` of the service's last scale-out (a scale-out during a scale-in cooldown
happens at once). A policy in low ALARM proposes max(ceil(desiredCount x metric / target),
minCapacity), unless within its ``scaleInCooldown`` of the last scaling activity (out or
in), while the service has a deployment in progress (Application Auto Scaling suspends
scale-in then) or with ``disableScaleIn``. AWS "scales in more gradually"; ecssim scales in
by the same proportional rule, held back by the 15-datapoint alarm and the cooldown. With
several policies the largest capacity wins: any scale-out proposal wins, and a scale-in
happens only when every policy that may scale in proposes one (the largest of them).

Rows: ``utilization`` service rows (to_state the resource, value the datapoint in percent),
``demand`` rows (to_state the resource, value the demand) at t = 0, at every period and at
every breakpoint of a piecewise or CSV curve, written only when the value changed, so that
the step function of the rows is the curve sampled at those instants; ``alarm`` rows when
an alarm changes state (OK <-> ALARM, reason ``high (policy <name>)`` or ``low (...)``).
A scaling activity sets the desired count (a ``desired_count`` row) and writes the service
event ``Service Auto Scaling set desiredCount from 4 to 6 (policy cpu-70:
ECSServiceAverageCPUUtilization 93.5 > 70 for 3 datapoints)`` (ecssim's wording).
"""

from __future__ import annotations

import math

from ..model.task import RUNNING
from ..scenario.demand_curve import DemandCurve, build_curve
from .deployment import IN_PROGRESS

OK, ALARM = "OK", "ALARM"


def utilization_pct(demand: float, reserved: float) -> float:
    """The datapoint: ``demand`` over the reservation of the RUNNING tasks, percent, capped at 100."""
    if reserved <= 0:
        return 100.0 if demand > 0 else 0.0
    return min(100.0, 100.0 * demand / reserved)


def deployment_in_progress(service) -> bool:  # noqa: ANN001
    """A rolling deployment is under way: several deployments, or a PRIMARY one created later still IN_PROGRESS."""
    if len(service.deployments) > 1:
        return True
    primary = service.primary
    return primary.rollout == IN_PROGRESS and (primary.created_at > 0.0 or service.created_deployments > 1)


class _Policy:
    """One target tracking policy and the state of its two alarms."""

    __slots__ = ("name", "metric", "resource", "target", "out_cooldown", "in_cooldown", "disable_in", "above",
                 "below", "high", "low")

    def __init__(self, model) -> None:  # noqa: ANN001
        config = model.target_tracking_scaling_policy_configuration
        spec = config.predefined_metric_specification
        self.name = model.policy_name
        self.metric = spec.predefined_metric_type
        self.resource = spec.resource
        self.target = float(config.target_value)
        self.out_cooldown = float(config.scale_out_cooldown)
        self.in_cooldown = float(config.scale_in_cooldown)
        self.disable_in = config.disable_scale_in
        self.above = 0  # consecutive datapoints above the target
        self.below = 0  # consecutive datapoints below the low threshold
        self.high = OK
        self.low = OK


class _Target:
    """A scalable target: one service, its bounds, policies and last activities."""

    def __init__(self, model, service) -> None:  # noqa: ANN001
        self.service = service
        self.minimum = model.min_capacity
        self.maximum = model.max_capacity
        self.policies = [_Policy(p) for p in model.policies]
        self.resources = sorted({p.resource for p in self.policies})
        self.last_out = -math.inf
        self.last_activity = -math.inf


class ServiceAutoScaler:
    """Samples the demand curves and runs every scaled service's target tracking policies."""

    def __init__(self, world) -> None:  # noqa: ANN001
        scenario = world.scenario
        self.env = world.env
        self.rec = world.rec
        self.duration = world.duration
        settings = scenario.timing.service_auto_scaling
        self.period = float(settings.period)
        self.out_points = settings.scale_out_datapoints
        self.in_points = settings.scale_in_datapoints
        self.in_threshold = float(settings.scale_in_threshold)
        #: (service, resource) -> curve, in the scenario's order
        self.curves: dict[tuple[str, str], DemandCurve] = {
            (d.service, d.resource): build_curve(d.curve, scenario.resolve_path) for d in scenario.demand
        }
        self.sampled: dict[tuple[str, str], float] = {}
        services = world.plane.services
        self.targets = [_Target(m, services[m.service_name]) for m in scenario.service_auto_scaling]
        points = [t for curve in self.curves.values() for t in curve.breakpoints().tolist()]
        self.breakpoints = sorted({t for t in points if 0.0 < t < self.duration})

    # ------------------------------------------------------------------ the timer
    def run(self):  # noqa: ANN201 - a SimPy process
        """Sample at t = 0, then at every breakpoint and period (demand first, then the alarms)."""
        env = self.env
        self.sample()
        k, i, points = 1, 0, self.breakpoints
        while True:
            at_period = k * self.period
            at_point = points[i] if i < len(points) else math.inf
            t = min(at_period, at_point)
            if t >= self.duration:
                return
            yield env.timeout(t - env.now)
            self.sample()
            if at_point == t:
                i += 1
            if at_period == t:
                k += 1
                self.evaluate()

    def sample(self) -> None:
        """A ``demand`` row per curve whose value changed since its last row."""
        now = self.env.now
        for (service, resource), curve in self.curves.items():
            value = curve.value(now)
            if self.sampled.get((service, resource)) != value:
                self.sampled[(service, resource)] = value
                self.rec.service_row(service, "demand", "", resource, value)

    # ------------------------------------------------------------------ the alarms
    def evaluate(self) -> None:
        """One evaluation period: a datapoint per target and metric, then the policies."""
        for target in self.targets:
            service = target.service
            points = {}
            for resource in target.resources:
                points[resource] = self.datapoint(service, resource)
                self.rec.service_row(service.name, "utilization", "", resource, points[resource])
            for policy in target.policies:
                self._update_alarms(service.name, policy, points[policy.resource])
            self._decide(target, points)

    def datapoint(self, service, resource: str) -> float:  # noqa: ANN001
        """The utilisation datapoint of ``service`` now (module docstring)."""
        now = self.env.now
        curve = self.curves.get((service.name, resource))
        demand = curve.mean(now - self.period, now) if curve is not None else 0.0
        tasks = [t for t in service.live.values() if t.state == RUNNING]
        reserved = sum(t.cpu if resource == "cpu" else t.memory for t in tasks)
        return utilization_pct(demand, reserved)

    def _update_alarms(self, service: str, policy: _Policy, point: float) -> None:
        policy.above = policy.above + 1 if point > policy.target else 0
        policy.below = policy.below + 1 if point < self.in_threshold * policy.target else 0
        high = ALARM if policy.above >= self.out_points else OK
        low = ALARM if policy.below >= self.in_points else OK
        if high != policy.high:
            self.rec.service_row(service, "alarm", policy.high, high, reason=f"high (policy {policy.name})")
            policy.high = high
        if low != policy.low:
            self.rec.service_row(service, "alarm", policy.low, low, reason=f"low (policy {policy.name})")
            policy.low = low

    def _decide(self, target: _Target, points: dict[str, float]) -> None:
        """Scale out if any policy asks (the largest wins); scale in only if every voter asks."""
        now, service = self.env.now, target.service
        current = service.desired
        outs, ins, voters = [], [], 0
        for policy in target.policies:
            point = points[policy.resource]
            want = math.ceil(current * point / policy.target - 1e-9)
            if policy.high == ALARM and now - target.last_out >= policy.out_cooldown:
                capped = min(max(want, target.minimum), target.maximum)
                if capped > current:
                    outs.append((capped, policy, point, ">", policy.target, self.out_points))
            if policy.disable_in:
                continue
            voters += 1
            if policy.low == ALARM and now - target.last_activity >= policy.in_cooldown:
                lowered = max(want, target.minimum)
                if lowered < current:
                    ins.append((lowered, policy, point, "<", self.in_threshold * policy.target, self.in_points))
        if outs:
            self._apply(target, max(outs, key=lambda o: o[0]), scale_out=True)
        elif ins and len(ins) == voters and not deployment_in_progress(service):
            self._apply(target, max(ins, key=lambda o: o[0]), scale_out=False)

    def _apply(self, target: _Target, choice: tuple, *, scale_out: bool) -> None:
        desired, policy, point, sign, threshold, count = choice
        service, now = target.service, self.env.now
        message = (f"Service Auto Scaling set desiredCount from {service.desired} to {desired} (policy {policy.name}: "
                   f"{policy.metric} {point:.1f} {sign} {threshold:g} for {count} datapoints)")
        self.rec.service_event(service.name, "autoscaling", message)
        service.set_desired(desired)
        target.last_activity = now
        if scale_out:
            target.last_out = now


def install_service_autoscaling(world) -> None:  # noqa: ANN001
    """Start the Service Auto Scaling timer when the scenario has demand or scaling policies."""
    scenario = world.scenario
    if not scenario.demand and not scenario.service_auto_scaling:
        return
    world.env.process(ServiceAutoScaler(world).run())
