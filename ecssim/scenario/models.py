"""The scenario file format: ecssim's own sections (cluster, timing, workloads, faults, actions).

ecssim's own sections are camelCase like ECS's JSON and reject unknown keys; durations
and sizes are human strings or plain numbers (seconds / MiB). Every unpublished ECS
behaviour is a named parameter in ``timing`` with its default and basis in the description.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    Field,
    PrivateAttr,
    field_validator,
    model_validator,
)

from .action_models import (  # noqa: F401  (re-exported: the scenario's actions)
    Action,
    ActivateInstance,
    DrainInstance,
    RunTask,
    StopTask,
    TerminateInstance,
    UpdateService,
)
from .autoscaling_models import Demand, ServiceAutoScaling
from .capacity_models import CapacityProvider
from .catalog import UnknownInstanceType, instance_type
from .distributions import Distribution, Duration
from .ecs_objects import (
    CapacityProviderStrategy,
    PlacementConstraints,
    PlacementStrategies,
    Service,
    TaskDefinition,
)
from .fault_models import (  # noqa: F401  (re-exported: the scenario's faults)
    AgentDisconnect,
    AzOutage,
    FailedStart,
    FailureMode,
    FargateSpotInterruption,
    Fault,
    HealthCheckFailure,
    InstanceFailure,
    MemoryUse,
    SizeDistribution,
    SpotInterruption,
    TaskCrash,
)
from .price_models import Prices
from .sections import InstanceSelector, Rate, Section, SizeMiB  # noqa: F401  (re-exported)
from .target_groups import TargetGroup
from .timing_models import (  # noqa: F401  (re-exported: the timing section and its sub-sections)
    ClusterAutoScaling,
    ContainerStartContention,
    FargateTiming,
    PlacementRetry,
    ServiceReaction,
    StartFailureThrottle,
    Timing,
)

# --------------------------------------------------------------------------- cluster


class Fleet(Section):
    """A group of identical container instances: an Auto Scaling group.

    Instances are spread round-robin over ``availabilityZones``. Their GPUs are the catalog's
    ``gpus`` column: ecssim assumes every instance of a GPU type runs the GPU-enabled agent
    (``ECS_ENABLE_GPU_SUPPORT=true``, ecs-reference 2.1). As an Auto Scaling group it keeps
    its desired size (``count``): a terminated instance is replaced (``replaceLostInstances``).
    """

    name: str = Field(min_length=1, description="Name of the fleet (the Auto Scaling group).")
    instance_type: str = Field(description="EC2 instance type from the catalog, e.g. m5.large.")
    count: int = Field(ge=0, le=5000, description="Number of instances at the start (the group's desired capacity).")
    min_size: int | None = Field(
        default=None, ge=0, le=5000,
        description="Auto Scaling group MinSize: managed scale-in never goes below it (default 0).",
    )
    max_size: int | None = Field(
        default=None, ge=0, le=5000,
        description="Auto Scaling group MaxSize: scale-out never goes above it (default: count).",
    )
    launch_delay: Distribution | None = Field(
        default=None,
        description=(
            "EC2 launch + boot + agent registration of this group's instances, initial, scaled-out and "
            "replacement ones alike (default: timing.agentRegistration)."
        ),
    )
    availability_zones: list[str] = Field(
        default_factory=lambda: ["us-east-1a", "us-east-1b", "us-east-1c"],
        min_length=1,
        description="AZs the instances are spread over, round-robin in this order.",
    )
    market: Literal["on-demand", "spot"] = "on-demand"
    attributes: dict[str, str] = Field(
        default_factory=dict, description="Custom container-instance attributes (name: value)."
    )
    registered_cpu: int | None = Field(
        default=None, ge=0, description="Override of the registered CPU units (default vCPUs x 1024)."
    )
    registered_memory: SizeMiB | None = Field(
        default=None, description="Override of the registered memory (default: catalog MiB minus overheads)."
    )
    reserved_memory: SizeMiB = Field(
        default=0, description="ECS_RESERVED_MEMORY: MiB the agent keeps back from registration (default 0)."
    )
    os_type: Literal["linux"] = "linux"
    agent_version: str = Field(
        default="1.89.0",
        pattern=r"^\d+(\.\d+)*$",
        description=(
            "ECS agent version the instances run, for agentVersion in memberOf expressions "
            "(ecssim's assumption: a recent agent, 1.89.0)."
        ),
    )
    awsvpc_trunking: bool = Field(
        default=False,
        description=(
            "ENI trunking (awsvpcTrunking): more awsvpc tasks per instance, from ecssim's table of "
            "the types ECS's guide lists, or eniTrunkingLimit (2.4)."
        ),
    )
    eni_trunking_limit: int | None = Field(
        default=None,
        ge=1,
        description="awsvpc tasks per instance with trunking, for types not in ecssim's table (or to override it).",
    )
    spot_instance_draining: bool = Field(
        default=False,
        description=(
            "ECS_ENABLE_SPOT_INSTANCE_DRAINING: the agent sets the instance DRAINING at a Spot "
            "interruption notice, so service tasks are replaced before the host dies (default false, "
            "as in the agent, 5.3). Only spot fleets get notices."
        ),
    )
    replace_lost_instances: bool = Field(
        default=True,
        description=(
            "Auto Scaling group: launch a replacement when an instance is terminated (fault or action), "
            "in the AZ with the fewest of the fleet's instances among those accepting new instances; it "
            "registers after timing.asgReplacementDelay + timing.agentRegistration (as an ASG keeps its "
            "desired capacity)."
        ),
    )
    az_rebalance: bool = Field(
        default=True,
        description=(
            "Auto Scaling group's AZRebalance process (on by default in EC2 Auto Scaling): when an AZ "
            "accepts instances again after an outage, launch instances there and, once each registers, "
            "terminate one in the AZ with the most (its tasks stop with the host), until the AZs differ "
            "by at most one instance."
        ),
    )

    @model_validator(mode="after")
    def _sizes_ordered(self) -> Fleet:
        """MinSize <= count (the initial desired capacity) <= MaxSize, as EC2 Auto Scaling requires."""
        if self.min_size is not None and self.min_size > self.count:
            raise ValueError(f"minSize ({self.min_size}) must not exceed count ({self.count})")
        if self.max_size is not None and self.max_size < self.count:
            raise ValueError(f"maxSize ({self.max_size}) must not be below count ({self.count})")
        return self

    @property
    def minimum(self) -> int:
        """MinSize in force (0 when not given: only managed scaling reads it)."""
        return 0 if self.min_size is None else self.min_size

    @property
    def maximum(self) -> int:
        """MaxSize in force (count when not given)."""
        return self.count if self.max_size is None else self.max_size

    @field_validator("instance_type")
    @classmethod
    def _in_catalog(cls, value: str) -> str:
        """The type must be in the shipped catalog; suggest the closest names if not."""
        try:
            instance_type(value)
        except UnknownInstanceType as exc:
            raise ValueError(str(exc)) from None
        return value


class Cluster(Section):
    """The ECS cluster: its fleets of container instances and the agent's registration rules."""

    name: str = "default"
    fleets: list[Fleet] = Field(
        default_factory=list, description="Auto Scaling groups of container instances (none for Fargate only)."
    )
    fargate_availability_zones: list[str] | None = Field(
        default=None,
        min_length=1,
        description=(
            "AZs of the subnets Fargate tasks run in (their awsvpcConfiguration); default: the fleets' AZs, "
            "else us-east-1a, us-east-1b, us-east-1c."
        ),
    )
    memory_overhead_fraction: float = Field(
        default=0.026,
        ge=0,
        lt=1,
        description=(
            "Fraction of an instance's nominal memory taken by the OS and agent before registration "
            "(m4.large 8192 -> 7985 MiB, t2.micro 1024 -> 995 MiB; ecs-reference 2.1)."
        ),
    )
    reserved_ports: list[int] = Field(
        default_factory=lambda: [22, 2375, 2376, 51678, 51679],
        description="TCP ports the agent reserves on every instance (ECS_RESERVED_PORTS default, 2.1).",
    )
    max_reserved_ports: int = Field(
        default=100, ge=1, description="Host ports an instance can reserve at once, defaults included (2.3)."
    )
    default_capacity_provider_strategy: CapacityProviderStrategy = Field(
        default_factory=list,
        description=(
            "PutClusterCapacityProviders' default strategy: used by services and RunTasks that give neither a "
            "launchType nor a capacityProviderStrategy (6.1)."
        ),
    )


# --------------------------------------------------------------------------- workloads


class PoissonArrivals(Section):
    """Arrivals as a Poisson process of the given rate between ``start`` and ``end``."""

    type: Literal["poisson"]
    rate: Rate = Field(gt=0, description="Arrivals per second, or e.g. '120/h'.")
    start: Duration = 0.0
    end: Duration | None = None


class ScheduledArrivals(Section):
    """Arrivals at fixed times."""

    type: Literal["schedule"]
    at: list[Duration] = Field(min_length=1)


class TraceArrivals(Section):
    """Arrivals read from a CSV or Parquet trace (columns documented in the README).

    Columns: ``arrival_s``, ``duration_s``, ``cpu``, ``memory_mib``, optional ``count``
    (default 1), ``group`` and ``family``.
    """

    type: Literal["trace"]
    file: str = Field(description="Path of the trace, relative to the scenario file.")
    time_scale: float = Field(default=1.0, gt=0, description="Multiply arrival times and durations by this.")
    limit: int | None = Field(default=None, ge=1, description="Read only the first N rows.")


Arrivals = Annotated[PoissonArrivals | ScheduledArrivals | TraceArrivals, Field(discriminator="type")]


class Workload(Section):
    """Standalone tasks started with RunTask: a task definition, arrivals and how long each task runs."""

    name: str | None = Field(
        default=None, description="Name; keeps its random stream stable when the file is edited."
    )
    task_definition: str = Field(description="family or family:revision of the tasks' task definition.")
    arrivals: Arrivals
    duration: Distribution | None = Field(
        default=None, description="How long each task runs (not needed for a trace, which carries durations)."
    )
    count: int = Field(default=1, ge=1, le=10, description="Tasks per RunTask call (ECS allows 10).")
    group: str | None = Field(default=None, description="Task group (default family:<family>).")
    placement_strategy: PlacementStrategies = None
    placement_constraints: PlacementConstraints = Field(default_factory=list)
    launch_type: Literal["EC2", "FARGATE"] | None = Field(
        default=None,
        description="EC2 or FARGATE; or leave it out for a capacityProviderStrategy (or the cluster's default).",
    )
    capacity_provider_strategy: CapacityProviderStrategy = Field(
        default_factory=list, description="RunTask's capacity provider strategy (6.1); exclusive with launchType."
    )

    @model_validator(mode="after")
    def _launch_type_or_strategy(self) -> Workload:
        if self.launch_type is not None and self.capacity_provider_strategy:
            raise ValueError("give either launchType or capacityProviderStrategy, not both (ECS refuses both)")
        return self


class InitialTask(Section):
    """Tasks RUNNING at t=0 on a given instance: the state a snapshot of a live cluster starts in.

    Needs ``warmStart``. The instance is the ``instance``-th (0-based) of ``fleet``; the tasks
    are placed there as they are (their resources taken, no placement decision), before the
    services top their counts up to ``desiredCount``.
    """

    task_definition: str = Field(description="family or family:revision (or a task definition ARN).")
    fleet: str = Field(description="The fleet whose instance runs the tasks.")
    instance: int = Field(ge=0, description="Index of the instance in its fleet, 0-based.")
    service: str | None = Field(default=None, description="The REPLICA service the tasks belong to, if any.")
    group: str | None = Field(default=None, description="Task group of standalone tasks (default family:<family>).")
    count: int = Field(default=1, ge=1, description="Identical tasks on that instance.")
    duration: Distribution | None = Field(
        default=None, description="How much longer standalone tasks run (default: to the end of the run)."
    )


# --------------------------------------------------------------------------- scenario


class Scenario(Section):
    """A whole scenario: cluster, ECS objects, workloads, faults, actions, timing and run length."""

    name: str = "scenario"
    description: str = ""
    duration: Duration = Field(gt=0, description="Simulated time to run.")
    start_time: str | None = Field(
        default=None, description="ISO date-time with zone of t=0; tables then carry timestamps."
    )
    warm_start: bool = Field(
        default=False,
        description="Start with instances registered and every service's tasks RUNNING at t=0.",
    )
    measure_from: Duration = Field(default=0.0, description="Statistics ignore what happens before this.")
    cluster: Cluster
    task_definitions: list[TaskDefinition] = Field(default_factory=list)
    capacity_providers: list[CapacityProvider] = Field(
        default_factory=list,
        description="Auto Scaling group capacity providers (create-capacity-provider inputs), all on the cluster.",
    )
    services: list[Service] = Field(default_factory=list)
    initial_tasks: list[InitialTask] = Field(
        default_factory=list,
        description="Tasks RUNNING at t=0 where they are (a cluster snapshot's state; needs warmStart).",
    )
    target_groups: list[TargetGroup] = Field(
        default_factory=list, description="Health check timing of the target groups services name (ELB defaults otherwise)."
    )
    workloads: list[Workload] = Field(default_factory=list)
    faults: list[Fault] = Field(default_factory=list)
    actions: list[Action] = Field(default_factory=list)
    timing: Timing = Field(default_factory=Timing)
    demand: list[Demand] = Field(
        default_factory=list, description="Load offered to REPLICA services over time (drives Service Auto Scaling)."
    )
    service_auto_scaling: list[ServiceAutoScaling] = Field(
        default_factory=list, description="Service Auto Scaling: scalable targets and target tracking policies (11)."
    )
    prices: Prices | None = Field(
        default=None, description="Optional USD prices for the cost table (ecssim ships none; README 'Prices and cost')."
    )

    #: Folder of the scenario file (set by the loader); relative paths resolve against it.
    _base_dir: Path | None = PrivateAttr(default=None)

    @field_validator("start_time", mode="before")
    @classmethod
    def _iso_with_zone(cls, value: object) -> object:
        """An ISO 8601 date-time with a zone; YAML may hand over a datetime already."""
        if value is None:
            return None
        if isinstance(value, datetime):
            moment = value
        elif isinstance(value, str):
            try:
                moment = datetime.fromisoformat(value.strip())
            except ValueError:
                raise ValueError(
                    f"expected an ISO 8601 date-time such as 2024-05-01T09:00:00Z, got {value!r}"
                ) from None
        else:
            raise ValueError(f"expected an ISO 8601 date-time string, got {value!r}")
        if moment.tzinfo is None:
            raise ValueError(f"the start time needs a zone, e.g. 'Z' or '+02:00', got {value!r}")
        return value if isinstance(value, str) else moment.isoformat()

    @property
    def base_dir(self) -> Path | None:
        """Folder of the file the scenario was loaded from (None when built in Python)."""
        return self._base_dir

    def resolve_path(self, path: str | Path) -> Path:
        """``path`` made absolute against the scenario file's folder (or the working directory)."""
        candidate = Path(path).expanduser()
        if candidate.is_absolute():
            return candidate
        return (self._base_dir or Path.cwd()) / candidate

    def start_datetime(self) -> datetime | None:
        """``startTime`` as an aware datetime (None when the scenario has none)."""
        return datetime.fromisoformat(self.start_time) if self.start_time else None
