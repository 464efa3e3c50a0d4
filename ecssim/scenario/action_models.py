"""Scenario models of operator actions at given times: updateService, stopTask, runTask,
terminateInstance, drainInstance and activateInstance."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    model_validator,
)

from .distributions import Distribution, Duration
from .ecs_objects import PlacementConstraints, PlacementStrategies
from .sections import InstanceSelector, Section


class UpdateService(Section):
    """UpdateService at a time: a new desiredCount, and/or a new deployment (ecs-reference 4.5).

    A ``taskDefinition`` different from the service's current one, or ``forceNewDeployment``,
    starts a rolling deployment: the new deployment becomes PRIMARY and replaces the tasks of
    the older ones within ``maximumPercent`` / ``minimumHealthyPercent``.
    """

    type: Literal["updateService"]
    name: str | None = None
    at: Duration
    service: str
    desired_count: int | None = Field(default=None, ge=0, le=5000)
    task_definition: str | None = Field(default=None, description="family or family:revision to deploy.")
    force_new_deployment: bool = False

    @model_validator(mode="after")
    def _changes_something(self) -> UpdateService:
        if self.desired_count is None and self.task_definition is None and not self.force_new_deployment:
            raise ValueError("give desiredCount, taskDefinition or forceNewDeployment: true")
        return self


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


class ActivateInstance(Section):
    """The operator sets DRAINING instances back to ACTIVE (UpdateContainerInstancesState ACTIVE, 5.3).

    Tasks placed there again; the services stop replacing the tasks still RUNNING on them.
    Selected instances that are not DRAINING are left alone.
    """

    type: Literal["activateInstance"]
    name: str | None = None
    at: Duration
    select: InstanceSelector


Action = Annotated[UpdateService | StopTask | RunTask | TerminateInstance | DrainInstance | ActivateInstance,
                   Field(discriminator="type")]
