"""Scenario models of operator actions at given times: updateService, stopTask, runTask,
terminateInstance and drainInstance."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
)

from .distributions import Distribution, Duration
from .ecs_objects import PlacementConstraints, PlacementStrategies
from .sections import InstanceSelector, Section


class UpdateService(Section):
    """Change a service's desiredCount at a time (a new task definition comes with deployments)."""

    type: Literal["updateService"]
    name: str | None = None
    at: Duration
    service: str
    desired_count: int = Field(ge=0, le=5000)


class StopTask(Section):
    """Stop tasks (StopTask API, stopCode UserInitiated): named ones or a count of a service's tasks."""

    type: Literal["stopTask"]
    name: str | None = None
    at: Duration
    service: str | None = None
    task_ids: list[str] | None = None
    count: int = Field(default=1, ge=1)
    reason: str = Field(default="Task stopped by user", max_length=255)


class RunTask(Section):
    """Start standalone tasks once (RunTask API)."""

    type: Literal["runTask"]
    name: str | None = None
    at: Duration
    task_definition: str
    count: int = Field(default=1, ge=1, le=10)
    duration: Distribution | None = Field(
        default=None, description="How long the tasks run (forever if absent)."
    )
    group: str | None = None
    placement_strategy: PlacementStrategies = None
    placement_constraints: PlacementConstraints = Field(default_factory=list)


class TerminateInstance(Section):
    """The operator terminates instances (tasks stop as for a failure, but it is no incident)."""

    type: Literal["terminateInstance"]
    name: str | None = None
    at: Duration
    select: InstanceSelector


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


Action = Annotated[UpdateService | StopTask | RunTask | TerminateInstance | DrainInstance,
                   Field(discriminator="type")]
