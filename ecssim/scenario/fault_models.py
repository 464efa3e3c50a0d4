"""Scenario models of faults: instance failures, AZ outages, agent disconnects, Spot
interruptions and task-level faults (crashes, failed starts, memory use, health-check failures).

Each fault occurrence is an incident in the ``recovery`` table (failed starts excepted: they
take no running capacity away). See the README's "faults" section for the ECS behaviour behind
each kind.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    BeforeValidator,
    Field,
    WithJsonSchema,
    model_validator,
)

from ..units import parse_size_mib
from .distributions import Distribution, Duration
from .sections import InstanceSelector, Section, SizeMiB  # noqa: F401

#: How a host fails: EC2 terminates it, or it stops working without being terminated (5.1, 5.2, 12).
FailureMode = Literal["terminated", "impaired"]

_MODE = (
    "terminated: EC2 terminates the instance; ECS marks it INACTIVE and its tasks STOPPED after "
    "timing.instanceLossDetectionDelay, and its Auto Scaling group replaces it. impaired: the host stops "
    "working but is not terminated; agentConnected becomes false after timing.agentHeartbeatTimeout and ECS "
    "keeps its tasks RUNNING and does not replace them (until terminateAfter, if given)."
)
_TERMINATE_AFTER = (
    "impaired mode: EC2 (or the ASG's health check) finally terminates the instance this long after the "
    "failure; its tasks then go STOPPED and the ASG replaces it. Absent: it stays impaired to the end."
)


class InstanceFailure(Section):
    """Instances fail at given times (``at`` + ``select``) or after a per-instance ``timeToFailure``.

    With ``timeToFailure`` every instance that ``select`` matches (by default all), replacements
    included, draws its own time to failure, counted from its registration, from a stream keyed
    by the fault and the instance's stable key.
    """

    type: Literal["instanceFailure"]
    name: str | None = None
    at: list[Duration] | None = Field(default=None, min_length=1, description="Failure times (or timeToFailure).")
    time_to_failure: Distribution | None = Field(
        default=None,
        description="Per-instance time from registration to failure, e.g. {type: exponential, mean: 30d}.",
    )
    select: InstanceSelector | None = Field(
        default=None,
        description="Which instances: with at, by default one at random (count: 1); with timeToFailure, all.",
    )
    mode: FailureMode = Field(default="terminated", description=_MODE)
    terminate_after: Duration | None = Field(default=None, ge=0, description=_TERMINATE_AFTER)


class AzOutage(Section):
    """Every instance of an AZ fails at ``start`` (``mode`` as for instanceFailure); the AZ may refuse
    new instances until ``end``."""

    type: Literal["azOutage"]
    name: str | None = None
    availability_zone: str
    start: Duration
    end: Duration | None = None
    mode: FailureMode = Field(default="terminated", description=_MODE)
    terminate_after: Duration | None = Field(default=None, ge=0, description=_TERMINATE_AFTER)
    refuse_new_instances: bool = Field(
        default=True,
        description="The AZ launches no new instance until the outage ends (Auto Scaling groups use the others).",
    )


class AgentDisconnect(Section):
    """The ECS agent of instances loses its connection at ``at`` and reconnects after ``duration``.

    The instance stays ACTIVE with agentConnected=false: its tasks keep running and are not
    replaced, nothing new is placed there (AGENT, 5.2).
    """

    type: Literal["agentDisconnect"]
    name: str | None = None
    at: list[Duration] = Field(min_length=1)
    select: InstanceSelector = Field(default_factory=lambda: InstanceSelector(count=1))
    duration: Duration | None = Field(
        default=None, gt=0, description="Time until the agent reconnects (absent: it stays disconnected)."
    )


class TaskCrash(Section):
    """Essential containers of a service's tasks exit at random (exponential time to crash per RUNNING task)."""

    type: Literal["taskCrash"]
    name: str | None = None
    service: str
    mean_time_to_crash: Duration = Field(gt=0, description="Mean RUNNING time before a task crashes.")
    start: Duration = 0.0
    end: Duration | None = None


class TaskFault(Section):
    """Base of the faults that hit tasks of a service or of a task definition (give exactly one)."""

    name: str | None = None
    service: str | None = Field(default=None, description="Tasks of this service (or give taskDefinition).")
    task_definition: str | None = Field(
        default=None,
        description="Tasks of this task definition: family:revision, or a bare family for all its revisions.",
    )


class FailedStart(TaskFault):
    """Tasks of a service or task definition fail to start with ``probability`` (ecs-reference 1.3, 4.3).

    A failing task goes PENDING -> STOPPING -> STOPPED at the end of its image pull, with
    stopCode ``TaskFailedToStart`` and a ``CannotPullContainerError`` reason, never RUNNING.
    """

    type: Literal["failedStart"]
    probability: float = Field(ge=0, le=1, description="Chance that one task start fails (one draw per start).")
    start: Duration = 0.0
    end: Duration | None = None


_SIZE_KEYS = ("value", "low", "high", "mean", "median", "scale")


def _sizes_in_mib(value: object) -> object:
    """A memory distribution written with sizes ("900 MiB", "1.5 GiB") as one in MiB."""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return parse_size_mib(value)
    if isinstance(value, dict):
        return {k: parse_size_mib(v) if k in _SIZE_KEYS and isinstance(v, str) else v for k, v in value.items()}
    return value


#: A distribution of memory sizes in MiB: a size (a constant) or a tagged distribution of sizes.
SizeDistribution = Annotated[
    Distribution,
    BeforeValidator(_sizes_in_mib),
    WithJsonSchema({"description": "MiB or e.g. '900 MiB', or a distribution such as "
                                   "{type: lognormal, median: 900 MiB, sigma: 0.2}"}),
]


class MemoryUse(TaskFault):
    """Memory use of a service's or task definition's tasks against the container's hard limit.

    Each task draws its usage when it reaches RUNNING; the usage grows linearly from 0 to that
    value over ``ramp``. Above the hard ``memory`` limit the container is OOM-killed
    (stoppedReason ``OutOfMemoryError: Container killed due to memory usage``, stopCode
    ``EssentialContainerExited``), an ``oom_kill`` incident.
    """

    type: Literal["memoryUse"]
    usage: SizeDistribution = Field(description="Memory each task reaches (MiB or sizes), drawn per task.")
    ramp: Duration = Field(default=0.0, ge=0, description="Time after RUNNING to reach the usage (linear).")


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


class FargateSpotInterruption(Section):
    """AWS reclaims Fargate Spot capacity: tasks of the ``FARGATE_SPOT`` provider are interrupted (6.5).

    Stochastic (``mtti``: each FARGATE_SPOT task running is interrupted after an exponential
    time of this mean) or scheduled (``at``: ``count`` or ``fraction`` of the running ones, at
    random), optionally only of one ``service``. An interrupted task gets the two-minute
    warning as ECS sends it: a stop with stopCode ``TerminationNotice`` and stoppedReason
    ``Your Spot Task was interrupted.`` (SIGTERM; the task exits within its stopTimeout, which
    Fargate caps at 120 s). ``capacityUnavailableFor`` keeps new FARGATE_SPOT launches failing
    that long after each interruption ("Capacity is unavailable at this time"), so a service
    waits for Spot capacity, as ECS's does. Each interruption is an incident of kind
    ``fargate_spot_interruption``.
    """

    type: Literal["fargateSpotInterruption"]
    name: str | None = None
    at: list[Duration] | None = Field(default=None, min_length=1, description="Times of scheduled interruptions.")
    count: int | None = Field(default=None, ge=1, description="Tasks interrupted at each ``at`` (default 1).")
    fraction: float | None = Field(default=None, gt=0, le=1, description="Or this share of them (rounded up).")
    mtti: Duration | None = Field(default=None, gt=0, description="Mean time to interruption of each running task.")
    service: str | None = Field(default=None, description="Only tasks of this service.")
    capacity_unavailable_for: Duration = Field(
        default=0.0, ge=0, description="FARGATE_SPOT launches fail this long after each interruption (default 0)."
    )

    @model_validator(mode="after")
    def _one_kind(self) -> FargateSpotInterruption:
        if (self.at is None) == (self.mtti is None):
            raise ValueError("give either at (scheduled interruptions) or mtti (stochastic ones)")
        if self.count is not None and self.fraction is not None:
            raise ValueError("give count or fraction, not both")
        if self.mtti is not None and (self.count is not None or self.fraction is not None):
            raise ValueError("count and fraction go with at, not with mtti")
        return self


class HealthCheckFailure(TaskFault):
    """The application in tasks of a service or task definition stops answering its health checks.

    Each task reaching RUNNING within [start, end) is hit with ``probability``; its
    application fails ``timeToFailure`` after RUNNING (0: at once, a bad deploy). The failure
    is noticed by the task's container health check (UNHEALTHY after ``retries`` x
    ``interval``, failures within ``startPeriod`` not counting, 1.2) and by its load
    balancer's target group (unhealthy after ``unhealthyThresholdCount`` x
    ``healthCheckIntervalSeconds``), whichever comes first; the service scheduler then
    replaces the task (4.4). Each hit task is a ``health_check_failure`` incident once noticed.
    """

    type: Literal["healthCheckFailure"]
    probability: float = Field(default=1.0, ge=0, le=1, description="Chance that a task is hit (a draw per task).")
    time_to_failure: Distribution | None = Field(
        default=None, description="RUNNING to the application failing (default: at once)."
    )
    start: Duration = 0.0
    end: Duration | None = None


Fault = Annotated[InstanceFailure | AzOutage | AgentDisconnect | TaskCrash | FailedStart | MemoryUse
                  | SpotInterruption | HealthCheckFailure | FargateSpotInterruption, Field(discriminator="type")]
