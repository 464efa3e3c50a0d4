"""Task health as ECS sees it: when a service task becomes HEALTHY, and when UNHEALTHY.

ECS counts a service task as healthy (ecs-reference 1.2, 4.5, 7):
- with a load balancer, once its target is healthy: ``healthCheckIntervalSeconds x
  healthyThresholdCount`` after it registers (defaults 30 s x 5 = 150 s); ecssim registers
  the target when the task reaches RUNNING;
- with a container health check on an essential container, once the container is HEALTHY:
  ecssim takes the first check, ``interval`` after RUNNING, as passing;
- with both, once both hold; with neither, ``timing.healthyAfterRunning`` (40 s) after RUNNING.

A task turns UNHEALTHY when something notices its application failing: a
``healthCheckFailure`` fault fails the application ``timeToFailure`` after RUNNING; its
container health check notices after ``retries x interval`` (failures within
``startPeriod`` do not count) and its target group after ``unhealthyThresholdCount x
healthCheckIntervalSeconds``, whichever is first. A host that stops working (impaired or
terminated) fails the load balancer's checks of its targets the same way, but not the
container health checks: a disconnected agent reports nothing, so ECS keeps the last status
(1.2, 5.2). Warm-started tasks are HEALTHY at t=0.

Each change is an ``event="health"`` task row; the control plane hears it through the
recorder and tells the service scheduler, which replaces UNHEALTHY tasks (4.4). A ``healthCheckFailure`` incident opens when the application
fails (its fault row), and ECS shows it with the UNHEALTHY row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model.task import HEALTHY, RUNNING, UNHEALTHY, UNKNOWN, Task
from ..model.timers import call_later
from ..scenario.target_groups import TargetGroup

#: ECS's stoppedReason prefix for a task its load balancer found unhealthy.
ELB_UNHEALTHY_REASON = "Task failed ELB health checks in (target-group {target})"
#: ECS's stoppedReason for a task whose container health check failed.
CONTAINER_UNHEALTHY_REASON = "Task failed container health checks"


@dataclass(frozen=True)
class HealthRules:
    """The health timing of one service's tasks of one task definition."""

    healthy_after_s: float  # RUNNING -> HEALTHY
    container_check: object | None  # the essential container's HealthCheck, or None
    target_group: TargetGroup | None  # the first load balancer's target group, or None

    def detection(self, failed_at: float) -> tuple[float, str]:
        """Seconds after RUNNING at which an application failing at ``failed_at`` (after RUNNING) is noticed.

        ``(inf, "")`` when nothing notices. The reason is ECS's stoppedReason for the stop.
        """
        best, reason = math.inf, ""
        check = self.container_check
        if check is not None:
            at = max(failed_at, float(check.start_period)) + check.retries * check.interval
            best, reason = at, CONTAINER_UNHEALTHY_REASON
        group = self.target_group
        if group is not None:
            at = failed_at + group.unhealthy_after_s
            if at < best:
                best, reason = at, ELB_UNHEALTHY_REASON.format(target=group.target_group_arn)
        return best, reason


def health_rules(spec_containers, load_balancers, target_groups: dict[str, TargetGroup],  # noqa: ANN001
                 healthy_after_running: float) -> HealthRules:
    """The health rules of a task definition's containers behind a service's load balancers."""
    check = next((c.health_check for c in spec_containers if c.essential and c.health_check is not None), None)
    group = None
    if load_balancers:
        name = load_balancers[0].target_group
        group = target_groups.get(name) or TargetGroup(target_group_arn=name)
    if check is None and group is None:
        return HealthRules(float(healthy_after_running), None, None)
    healthy = 0.0
    if check is not None:
        healthy = float(check.interval)
    if group is not None:
        healthy = max(healthy, group.healthy_after_s)
    return HealthRules(healthy, check, group)


class HealthMonitor:
    """Runs the health timers of service tasks and writes their health rows."""

    def __init__(self, env, recorder, failure_faults: list) -> None:  # noqa: ANN001
        self.env = env
        self.rec = recorder
        self.failure_faults = failure_faults  # healthCheckFailure runtimes, in file order

    def task_running(self, task: Task, rules: HealthRules, healthy_at: float) -> None:
        """``task`` reached RUNNING: HEALTHY ``healthy_at`` seconds later (0 for a warm start) and,
        if a ``healthCheckFailure`` hits it, UNHEALTHY when the failure is noticed."""
        task.health = UNKNOWN
        failing = math.inf
        fault_hit = None
        now = self.env.now
        for fault in self.failure_faults:
            delay = fault.draw(task, now)
            if delay < failing:
                failing, fault_hit = delay, fault
        notice_at, reason = rules.detection(failing) if fault_hit is not None else (math.inf, "")
        if notice_at > healthy_at:
            call_later(self.env, healthy_at, self._healthy, task)
        if notice_at < math.inf:
            call_later(self.env, failing, self._failing, task, fault_hit)
            call_later(self.env, notice_at, self._unhealthy, task, reason)

    def host_failed(self, tasks: list[Task], rules_of, incident: str) -> None:  # noqa: ANN001
        """A host stopped working: the load balancer finds its RUNNING targets unhealthy."""
        for task in tasks:
            if task.state != RUNNING or task.service is None:
                continue
            rules = rules_of(task)
            group = rules.target_group if rules is not None else None
            if group is None:
                continue
            reason = ELB_UNHEALTHY_REASON.format(target=group.target_group_arn)
            call_later(self.env, group.unhealthy_after_s, self._host_unhealthy, task, reason, incident)

    # ------------------------------------------------------------------ health changes
    def _healthy(self, task: Task) -> None:
        if task.state == RUNNING and task.health == UNKNOWN:
            self.rec.task_health(task, HEALTHY)

    def _failing(self, task: Task, fault) -> None:  # noqa: ANN001
        """The application fails now: the incident opens (its rows carry its id from here on)."""
        if task.state == RUNNING and not task.incident:
            task.incident = fault.record(task)

    def _unhealthy(self, task: Task, reason: str) -> None:
        if task.state != RUNNING or task.health == UNHEALTHY:
            return
        self.rec.task_health(task, UNHEALTHY, reason)

    def _host_unhealthy(self, task: Task, reason: str, incident: str) -> None:
        if task.state != RUNNING or task.health == UNHEALTHY:
            return
        if incident and not task.incident:
            task.incident = incident
        self.rec.task_health(task, UNHEALTHY, reason)
