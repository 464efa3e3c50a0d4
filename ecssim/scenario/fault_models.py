"""Scenario models of instance draining and EC2 Spot interruptions (ecs-reference 5.3, 9b E).

Kept apart from ``models`` so that it stays one idea per module; ``models`` imports these
into its ``faults`` and ``actions`` unions once ``Section`` and ``InstanceSelector`` exist.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .distributions import Duration
from .models import InstanceSelector, Section


class DrainInstance(Section):
    """The operator sets instances DRAINING (UpdateContainerInstancesState, 5.3).

    Only ACTIVE instances drain. Nothing new is placed there; service tasks not yet RUNNING
    stop at once and are replaced elsewhere; RUNNING service tasks are replaced within the
    service's minimumHealthyPercent / maximumPercent; standalone tasks are untouched; DAEMON
    tasks stop last. The instance stays DRAINING (registered) until terminated.
    """

    type: Literal["drainInstance"]
    name: str | None = None
    at: Duration
    select: InstanceSelector


class SpotInterruption(Section):
    """EC2 interrupts Spot instances at ``at`` with a notice (``timing.spotInterruptionNotice``, 5.3).

    ``select`` chooses among the instances of ``market: spot`` fleets only (default: one at
    random). At the notice an instance of a fleet with ``spotInstanceDraining`` goes DRAINING
    (as ``drainInstance``); when the notice runs out EC2 terminates it: its remaining tasks
    stop with the host-terminated reason and its Auto Scaling group replaces it. Each
    interrupted instance is an incident of kind ``spot_interruption``.
    """

    type: Literal["spotInterruption"]
    name: str | None = None
    at: list[Duration] = Field(min_length=1)
    select: InstanceSelector = Field(default_factory=lambda: InstanceSelector(count=1))
