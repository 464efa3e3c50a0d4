"""Fargate: tasks without container instances (ecs-reference 6.5).

Each Fargate task is its own isolation boundary, so nothing is placed and no instance is
recorded: a task's rows carry its AZ and an empty ``instance_id``. ECS ignores placement
strategies and constraints on Fargate and balances a service's tasks over the AZs of its
subnets (``cluster.fargateAvailabilityZones``): a new task goes to the AZ with the fewest
live tasks of its group (ties: the first in that list).

One :class:`FargateAgent` per AZ runs the lifecycle of that AZ's tasks with the simulated
agent's code and Fargate's latencies: PROVISIONING takes ``timing.fargate.provisioning``
(capacity and ENI), every start pulls every image (``timing.fargate.imagePull``: Fargate
caches nothing), there is no host ledger (no ``host_*`` rows, no waiting for a host), and a
stop's SIGTERM-to-SIGKILL is capped at 120 s. Its slot is negative (-2, -3, ... per AZ), so
it never meets the instances' arrays.

Launches draw from the account's token bucket (``timing.fargate.launchBurst`` tasks, refilled
at ``launchRate`` per second). The ``FARGATE`` and ``FARGATE_SPOT`` capacity providers are
:class:`FargateCapacity` objects; a Spot interruption can make FARGATE_SPOT refuse launches
for a while ("Capacity is unavailable at this time").
"""

from __future__ import annotations

import math

from ..scenario.fargate import FARGATE_MAX_STOP_TIMEOUT_S
from .agent import SimulatedAgent
from .task import Task

#: First Fargate slot; the AZ of slot s is ``fargate_azs[FIRST_SLOT - s]``.
FIRST_SLOT = -2
#: Reason of a launch refused by the account's token bucket (RunTask's ThrottlingException).
THROTTLED = "THROTTLED"
#: Reason of a FARGATE_SPOT launch refused while Spot capacity is unavailable.
CAPACITY_UNAVAILABLE = "CAPACITY_UNAVAILABLE"
CAPACITY_UNAVAILABLE_TEXT = "Capacity is unavailable at this time. Please try again later or in a different availability zone"
#: Fargate Spot interruption, as ECS writes it (DG23 fargate-capacity-providers).
TERMINATION_NOTICE = "TerminationNotice"
SPOT_INTERRUPTED_REASON = "Your Spot Task was interrupted."


def fargate_slot(index: int) -> int:
    """The slot of the Fargate agent of the ``index``-th Fargate AZ."""
    return FIRST_SLOT - index


def is_fargate_slot(slot: int) -> bool:
    return slot <= FIRST_SLOT


class FargateCapacity:
    """The ``FARGATE`` or ``FARGATE_SPOT`` capacity provider."""

    fargate = True
    managed = False
    constraint = None

    def __init__(self, name: str) -> None:
        self.name = name
        self.spot = name == "FARGATE_SPOT"
        self.unavailable_until = -math.inf  # launches fail until then (a Spot capacity shortage)
        self.waiting: list[Task] = []  # never used: Fargate tasks do not wait for instances


class Refusal:
    """A Fargate launch that did not happen (the shape of a failed placement decision)."""

    instance = -1
    closest = -1
    candidates = None

    def __init__(self, reason: str, retry_at: float | None = None) -> None:
        self.reason = reason
        self.retry_at = retry_at  # a throttled launch may be retried then (not a placement failure)


class LaunchBucket:
    """The account's Fargate launch token bucket (burst 100, 20 tasks/s by default)."""

    def __init__(self, burst: int, rate: float) -> None:
        self.burst = float(burst)
        self.rate = float(rate)
        self.tokens = float(burst)
        self.time = 0.0

    def take(self, now: float) -> float | None:
        """Take a token now; None if taken, else when the next one is available."""
        self.tokens = min(self.burst, self.tokens + (now - self.time) * self.rate)
        self.time = now
        if self.tokens >= 1.0 - 1e-9:
            self.tokens -= 1.0
            return None
        return now + (1.0 - self.tokens) / self.rate


class _FargateTiming:
    """The scenario's timing with Fargate's provisioning and image pull in place of the EC2 ones."""

    def __init__(self, timing) -> None:  # noqa: ANN001
        self._timing = timing
        self.eni_attach = timing.fargate.provisioning
        self.image_pull = timing.fargate.image_pull

    def __getattr__(self, name: str):  # noqa: ANN204
        return getattr(self._timing, name)


class FargateAgent(SimulatedAgent):
    """Runs the Fargate tasks of one AZ: the simulated lifecycle with Fargate's latencies."""

    __slots__ = ()

    def __init__(self, env, slot: int, timing, rng, recorder, control) -> None:  # noqa: ANN001
        super().__init__(env, slot, 0, 0, _FargateTiming(timing), rng, recorder, control)

    def _fits(self, task: Task) -> bool:
        return True  # each task brings its own capacity

    def _acquire(self, task: Task) -> None:
        """No host ledger on Fargate."""

    def _pull(self, task: Task):
        """Every image, every time: Fargate caches nothing."""
        for _image in task.spec.images:
            yield self.env.timeout(self.timing.image_pull.sample(self.rng))

    def _stop_containers(self, task: Task):
        stop_timeout = min(task.spec.stop_timeout_s, FARGATE_MAX_STOP_TIMEOUT_S)
        yield self.env.timeout(min(self.timing.container_stop.sample(self.rng), stop_timeout))
