"""A service deployment: one task definition's share of a REPLICA service (ecs-reference 4.5, 4.6).

A service has one PRIMARY deployment (the newest) and, during a rolling deployment, ACTIVE
older ones whose tasks are being replaced. Each deployment has its own desired count
(``target``): the PRIMARY's is the service's ``desiredCount``; an older one's starts at the
tasks it had when it was replaced and only goes down as the scheduler retires its tasks, so
a task of an older deployment that dies meanwhile is replaced with its own revision (ECS,
2025-11). Status rows: ``PRIMARY`` -> ``ACTIVE`` -> ``INACTIVE``; rolloutState rows:
``IN_PROGRESS`` -> ``COMPLETED`` or ``FAILED``.

The circuit breaker (4.6) counts the deployment's failed tasks: tasks that stopped with
``TaskFailedToStart`` (stage 1) and tasks the scheduler stopped for failing health checks
(stage 2); with ``resetOnHealthyTask`` (default) a task turning HEALTHY resets the count.
When the count reaches the threshold the rollout FAILED.
"""

from __future__ import annotations

import math

from ..model.task import Task

PRIMARY = "PRIMARY"
ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
#: Upper clamp of the circuit breaker's BOUNDED_PERCENT threshold (4.6).
CIRCUIT_BREAKER_MAX_THRESHOLD = 200


def circuit_breaker_threshold(desired: int, config, minimum: int) -> int:  # noqa: ANN001
    """Failed tasks that trip the circuit breaker: ECS's BOUNDED_PERCENT rule by default (4.6).

    ``clamp(ceil(value% x desired), minimum, 200)`` with value 50; UNBOUNDED_PERCENT drops the
    clamp (at least 1); COUNT is the value itself.
    """
    kind, value = config.type, config.value
    if kind == "COUNT":
        return value
    share = math.ceil(desired * value / 100)
    if kind == "UNBOUNDED_PERCENT":
        return max(share, 1)
    return min(max(share, minimum), CIRCUIT_BREAKER_MAX_THRESHOLD)


class Deployment:
    """One deployment of a service: its task definition, desired count, tasks and rollout."""

    def __init__(self, deployment_id: str, spec, constraints, target: int, created_at: float,  # noqa: ANN001
                 breaker=None, threshold: int = 0) -> None:  # noqa: ANN001
        self.id = deployment_id
        self.spec = spec  # TaskSpec of its task definition
        self.constraints = constraints  # the service's constraints plus its task definition's
        self.target = target  # its desired count
        self.created_at = created_at
        self.status = PRIMARY
        self.rollout = IN_PROGRESS
        self.live: dict[str, Task] = {}  # its tasks whose desired status is RUNNING
        self.not_stopped = 0  # its tasks not yet STOPPED
        self.replacing = 0  # its live tasks being replaced (draining or unhealthy)
        self.failed_tasks = 0
        self.breaker = breaker  # DeploymentCircuitBreaker or None (off)
        self.threshold = threshold

    @property
    def launching(self) -> bool:
        """A FAILED deployment launches no new tasks (4.6)."""
        return self.rollout != FAILED
