"""ECS objects in ECS's own JSON shapes: task definitions and services.

JSON from ``aws ecs describe-task-definition`` (the ``taskDefinition`` object) or a
``register-task-definition`` input pastes in unchanged. Fields that ECS defines but ecssim
does not model are kept in ``model_extra`` and reported once by ``validate`` as ignored;
names ECS does not define are errors (checked in ``ecssim.scenario.ecs_fields``).
Python attributes are snake_case; the file's names are ECS's camelCase aliases.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ModelWrapValidatorHandler,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import InitErrorDetails, PydanticCustomError

from ..placement.pipeline import compiled_query
from ..placement.query import QuerySyntaxError, compile_query
from ..units import check_magnitude, parse_ecs_cpu, parse_ecs_memory
from .ecs_fields import did_you_mean, legal_fields

#: Validation context key the loader sets: keys must be the file's camelCase names.
FILE_CONTEXT_KEY = "ecssim_scenario_file"

#: Task-level ``cpu`` as ECS reads it: ``"1024"``, ``1024`` or ``"1 vCPU"``.
EcsCpu = Annotated[
    int,
    BeforeValidator(parse_ecs_cpu),
    WithJsonSchema({"type": ["string", "integer"], "description": "CPU units, or e.g. '1 vCPU'"}),
]
#: Task-level ``memory`` as ECS reads it: ``"2048"``, ``2048`` or ``"2 GB"`` (= 2048 MiB).
EcsMemory = Annotated[
    int,
    BeforeValidator(parse_ecs_memory),
    WithJsonSchema({"type": ["string", "integer"], "description": "MiB, or e.g. '2 GB'"}),
]


class EcsModel(BaseModel):
    """Base of ECS-shaped objects: camelCase aliases; ECS fields we do not model are kept aside."""

    model_config = ConfigDict(extra="allow", alias_generator=to_camel, populate_by_name=True, frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _finite_and_bounded(cls, value: object) -> object:
        """No field holds NaN, an infinity or an integer beyond ECS's 32-bit ones."""
        return check_magnitude(value)

    @classmethod
    def _aliases(cls) -> dict[str, str]:
        """File name (alias) -> Python attribute of every modelled field."""
        return {(info.alias or name): name for name, info in cls.model_fields.items()}

    @classmethod
    def _unknown_key_error(cls, key: str, value: object) -> InitErrorDetails:
        """An error for a key ECS does not define on this object, with a did-you-mean."""
        candidates = legal_fields(cls.__name__) | set(cls._aliases())
        message = f"not an ECS {cls.__name__} field{did_you_mean(key, candidates)}"
        return InitErrorDetails(
            type=PydanticCustomError("ecs_unknown_field", "{message}", {"message": message}),
            loc=(key,),
            input=value,
        )

    @model_validator(mode="wrap")
    @classmethod
    def _check_ecs_names(cls, data: Any, handler: ModelWrapValidatorHandler, info: ValidationInfo) -> Any:
        """Validate, then reject keys ECS does not define; all errors of the object at once.

        Keys ECS defines but ecssim does not model stay in ``model_extra`` (reported as
        ignored by ``validate``); their contents are not checked further.
        """
        errors: list[InitErrorDetails] = []
        result = None
        try:
            result = handler(data)
        except ValidationError as exc:
            errors = _reraisable(exc)
        if isinstance(data, dict):
            forbidden = {err["loc"][0] for err in errors if _is_own_extra(err)}
            errors = [err for err in errors if not _is_own_extra(err)]
            known = set(cls._aliases())
            if not (info.context or {}).get(FILE_CONTEXT_KEY):
                known.update(cls.model_fields)
            legal = legal_fields(cls.__name__)
            for key, value in data.items():
                if not isinstance(key, str):
                    continue
                if key in forbidden or (key not in known and key not in legal):
                    errors.append(cls._unknown_key_error(key, value))
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return result


def _is_own_extra(error: InitErrorDetails) -> bool:
    """An ``extra_forbidden`` error on a key of the object itself (not of a nested one)."""
    kind = error["type"]
    return len(error["loc"]) == 1 and getattr(kind, "type", kind) == "extra_forbidden"


def _reraisable(exc: ValidationError) -> list[InitErrorDetails]:
    """The errors of ``exc`` in a form ``from_exception_data`` accepts, keeping type and context."""
    out: list[InitErrorDetails] = []
    for err in exc.errors(include_url=False):
        ctx = {k: v for k, v in (err.get("ctx") or {}).items() if k != "error"}
        custom = PydanticCustomError(err["type"], "{message}", {**ctx, "message": err["msg"]})
        out.append(InitErrorDetails(type=custom, loc=err["loc"], input=err.get("input")))
    return out


class PortMapping(EcsModel):
    """One ``portMappings`` entry: a static ``hostPort`` conflicts, a dynamic one (0/absent) does not."""

    container_port: int | None = Field(default=None, ge=0, le=65535)
    host_port: int | None = Field(default=None, ge=0, le=65535)
    protocol: Literal["tcp", "udp"] = "tcp"


class ResourceRequirement(EcsModel):
    """``{type: GPU, value: "1"}``: physical GPUs pinned to a container (section 2.5).

    ``InferenceAccelerator`` entries are accepted and ignored (Elastic Inference is not
    simulated). GPU values are whole numbers as ECS writes them (strings); ``sharingStrategy``
    is kept aside as an ignored ECS field.
    """

    type: Literal["GPU", "InferenceAccelerator"]
    value: str = Field(min_length=1)

    @field_validator("value", mode="before")
    @classmethod
    def _gpu_count(cls, value: object, info: ValidationInfo) -> object:
        """A GPU requirement is a positive whole number of GPUs (ECS writes it as a string)."""
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if info.data.get("type") == "GPU" and not (
            isinstance(value, str) and value.strip().isdigit() and int(value) > 0
        ):
            raise ValueError(f"a GPU requirement is a positive whole number of GPUs, got {value!r}")
        return value

    @property
    def gpus(self) -> int:
        """GPUs this requirement pins (0 for other types)."""
        return int(self.value) if self.type == "GPU" else 0


class HealthCheck(EcsModel):
    """A container health check (ECS ``HealthCheck``, ecs-reference 1.2); only its timing is simulated.

    ecssim takes the first check, ``interval`` after the container starts, as the one that
    makes the container HEALTHY; a failing application makes it UNHEALTHY after ``retries``
    failed checks (``retries`` x ``interval``), failures within ``startPeriod`` not counting.
    """

    command: list[str] = Field(min_length=1)
    interval: int = Field(default=30, ge=5, le=300)
    timeout: int = Field(default=5, ge=2, le=60)
    retries: int = Field(default=3, ge=1, le=10)
    start_period: int = Field(default=0, ge=0, le=300)


class ContainerDefinition(EcsModel):
    """One container of a task definition (the fields that decide placement, health and stopping)."""

    name: str = Field(min_length=1, max_length=255)
    image: str = ""
    cpu: int = Field(default=0, ge=0)
    memory: int | None = Field(default=None, ge=6)
    memory_reservation: int | None = Field(default=None, ge=6)
    essential: bool = True
    port_mappings: list[PortMapping] = Field(default_factory=list)
    stop_timeout: int | None = Field(default=None, ge=0, le=120 * 60)
    resource_requirements: list[ResourceRequirement] = Field(default_factory=list)
    health_check: HealthCheck | None = None

    @property
    def gpus(self) -> int:
        """GPUs the container pins (its ``resourceRequirements`` of type GPU)."""
        return sum(r.gpus for r in self.resource_requirements)


class PlacementStrategy(EcsModel):
    """``{type: binpack|spread|random, field}``, ECS's placement strategy object."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)

    type: Literal["binpack", "spread", "random"]
    field: str | None = Field(default=None, validate_default=True)

    @field_validator("field")
    @classmethod
    def _field_known(cls, value: str | None, info: ValidationInfo) -> str | None:
        """binpack needs cpu|memory, spread an instance or attribute field, random nothing."""
        kind = info.data.get("type")
        if kind == "binpack":
            if value not in ("cpu", "memory"):
                raise ValueError("expected one of cpu, memory")
        elif kind == "spread":
            if value is None:
                raise ValueError("spread needs a field: instanceId, host or attribute:<name>")
            if value not in ("instanceId", "host") and not value.startswith("attribute:"):
                raise ValueError("expected one of instanceId, host, attribute:<name>")
        elif kind == "random" and value not in (None, ""):
            raise ValueError("random takes no field")
        return value

    def as_tuple(self) -> tuple[str, str | None]:
        """The ``(type, field)`` pair the placement functions take."""
        return (self.type, self.field)


def _compiled(expression: str) -> str:
    """Compile a memberOf expression now, so a malformed one is refused at load time."""
    try:
        compile_query(expression)
    except QuerySyntaxError as exc:
        raise ValueError(f"column {exc.column}: {exc.problem}") from None
    return expression


class PlacementConstraint(EcsModel):
    """``{type: distinctInstance|memberOf, expression}``, ECS's placement constraint object.

    A ``memberOf`` expression (the cluster query language) is compiled when the scenario
    loads; an error names its column. ``distinctInstance`` takes no expression.
    """

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)

    type: Literal["distinctInstance", "memberOf"]
    expression: str | None = Field(default=None, max_length=2000, validate_default=True)

    @field_validator("expression")
    @classmethod
    def _expression_fits_type(cls, value: str | None, info: ValidationInfo) -> str | None:
        """memberOf needs a valid expression; distinctInstance takes none."""
        kind = info.data.get("type")
        if kind == "distinctInstance" and value:
            raise ValueError("distinctInstance takes no expression")
        if kind == "memberOf":
            if not value or not value.strip():
                raise ValueError("memberOf needs an expression, e.g. 'attribute:ecs.instance-type =~ t3.*'")
            return _compiled(value)
        return value

    def as_tuple(self) -> tuple[str, object]:
        """The ``(type, rule)`` pair :func:`ecssim.placement.place` takes: the compiled query for
        memberOf (compiled once per process and expression), ``None`` for distinctInstance."""
        if self.type == "memberOf":
            return (self.type, compiled_query(self.expression))
        return (self.type, None)


class TaskDefinitionPlacementConstraint(PlacementConstraint):
    """A task definition's placement constraint: ECS allows only ``memberOf`` there."""

    @field_validator("type")
    @classmethod
    def _member_of_only(cls, value: str) -> str:
        """distinctInstance belongs on the service, RunTask or workload, not the task definition."""
        if value != "memberOf":
            raise ValueError(
                "a task definition takes only memberOf constraints; put distinctInstance on the service, "
                "workload or runTask"
            )
        return value


#: ECS's limits: 5 strategy rules per task, 10 constraints (task definition's included).
MAX_STRATEGIES = 5
MAX_CONSTRAINTS = 10


def _at_most_strategies(rules: list | None) -> list | None:
    if rules is not None and len(rules) > MAX_STRATEGIES:
        raise ValueError(f"at most {MAX_STRATEGIES} placement strategy rules (ECS's limit), got {len(rules)}")
    return rules


def _at_most_constraints(rules: list) -> list:
    if len(rules) > MAX_CONSTRAINTS:
        raise ValueError(
            f"at most {MAX_CONSTRAINTS} placement constraints (ECS's limit, the task definition's "
            f"included), got {len(rules)}"
        )
    return rules


#: A request's ``placementStrategy``: at most 5 rules (None = ECS's default).
PlacementStrategies = Annotated[list[PlacementStrategy] | None, AfterValidator(_at_most_strategies)]
#: A request's ``placementConstraints``: at most 10 (with the task definition's: checked later).
PlacementConstraints = Annotated[list[PlacementConstraint], AfterValidator(_at_most_constraints)]


#: The capacity providers AWS defines for every cluster (Fargate; 6.5).
FARGATE_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
#: At most this many items in a strategy (API CapacityProviderStrategyItem, 6.1).
MAX_STRATEGY_ITEMS = 20


class CapacityProviderStrategyItem(EcsModel):
    """One item of a capacity provider strategy (API CapacityProviderStrategyItem, 6.1)."""

    capacity_provider: str = Field(min_length=1)
    base: int = Field(default=0, ge=0, le=100000, description="Tasks this provider runs first (one item only).")
    weight: int = Field(default=0, ge=0, le=1000, description="Share of the tasks beyond the bases.")


def check_strategy(items: list[CapacityProviderStrategyItem]) -> list[CapacityProviderStrategyItem]:
    """ECS's rules for a strategy on its own: size, one base, unique names, not all weights 0, no mixing."""
    if not items:
        return items
    if len(items) > MAX_STRATEGY_ITEMS:
        raise ValueError(f"at most {MAX_STRATEGY_ITEMS} capacity providers in a strategy, got {len(items)}")
    names = [item.capacity_provider for item in items]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"capacity provider {repeated[0]!r} appears twice in the strategy")
    if sum(1 for item in items if item.base > 0) > 1:
        raise ValueError("only one capacity provider in a strategy may set a base")
    if len(items) > 1 and all(item.weight == 0 for item in items):
        raise ValueError(
            "every capacity provider in the strategy has weight 0: ECS cannot place any task "
            "(give at least one a weight > 0)"
        )
    fargate = [n for n in names if n in FARGATE_PROVIDERS]
    if fargate and len(fargate) != len(names):
        raise ValueError(
            "a strategy contains either Fargate capacity providers (FARGATE, FARGATE_SPOT) or Auto Scaling group "
            "providers, not both"
        )
    return items


#: A request's ``capacityProviderStrategy`` (empty: the launch type, or the cluster's default strategy).
CapacityProviderStrategy = Annotated[list[CapacityProviderStrategyItem], AfterValidator(check_strategy)]


class TaskDefinition(EcsModel):
    """An ECS task definition, as ``describe-task-definition`` returns it or ``register`` takes it."""

    family: str = Field(min_length=1, max_length=255)
    revision: int = Field(default=1, ge=1)
    container_definitions: list[ContainerDefinition] = Field(min_length=1, max_length=10)
    cpu: EcsCpu | None = None
    memory: EcsMemory | None = None
    network_mode: Literal["bridge", "host", "awsvpc", "none"] = "bridge"
    requires_compatibilities: list[Literal["EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"]] = Field(
        default_factory=list
    )
    placement_constraints: Annotated[
        list[TaskDefinitionPlacementConstraint], AfterValidator(_at_most_constraints)
    ] = Field(default_factory=list)

    @property
    def key(self) -> str:
        """``family:revision``, as ECS names a task definition."""
        return f"{self.family}:{self.revision}"


class ThresholdConfiguration(EcsModel):
    """How many failed tasks trip the circuit breaker (2026 API, ecs-reference 4.6).

    ``BOUNDED_PERCENT``: ceil(value% x desiredCount) clamped to [minimum, 200] (the minimum is
    ``timing.circuitBreakerMinimumThreshold``, 3); ``UNBOUNDED_PERCENT``: ceil(value% x
    desiredCount), at least 1; ``COUNT``: ``value`` tasks.
    """

    type: Literal["BOUNDED_PERCENT", "UNBOUNDED_PERCENT", "COUNT"] = "BOUNDED_PERCENT"
    value: int = Field(default=50, ge=1)


class DeploymentCircuitBreaker(EcsModel):
    """The deployment circuit breaker (ecs-reference 4.6): fail (and optionally roll back) a bad deployment."""

    enable: bool
    rollback: bool
    reset_on_healthy_task: bool = Field(
        default=True, description="True: count consecutive failures (a HEALTHY task resets); false: cumulative."
    )
    threshold_configuration: ThresholdConfiguration = Field(default_factory=ThresholdConfiguration)


class DeploymentConfiguration(EcsModel):
    """The bounds on a service's task count while it replaces or deploys tasks (section 4.5)."""

    maximum_percent: int = Field(default=200, ge=100, le=2000)
    minimum_healthy_percent: int = Field(default=100, ge=0, le=100)
    deployment_circuit_breaker: DeploymentCircuitBreaker | None = None


class LoadBalancer(EcsModel):
    """A service's load balancer target (ECS ``LoadBalancer``): the target group its tasks register in.

    The target group's health check timing comes from the scenario's ``targetGroups`` entry
    with this ``targetGroupArn`` (or ``loadBalancerName``), else from ELB's defaults.
    """

    target_group_arn: str | None = None
    load_balancer_name: str | None = None
    container_name: str | None = None
    container_port: int | None = Field(default=None, ge=0, le=65535)

    @model_validator(mode="after")
    def _names_a_target(self) -> LoadBalancer:
        if not (self.target_group_arn or self.load_balancer_name):
            raise ValueError("give targetGroupArn (or loadBalancerName for a Classic Load Balancer)")
        return self

    @property
    def target_group(self) -> str:
        """The target group (or Classic Load Balancer) this entry names."""
        return self.target_group_arn or self.load_balancer_name or ""


class Service(EcsModel):
    """An ECS service (``create-service`` input or a ``describe-services`` entry)."""

    service_name: str = Field(min_length=1, max_length=255)
    task_definition: str = Field(min_length=1, description="family or family:revision of a task definition")
    desired_count: int = Field(default=0, ge=0, le=5000)
    launch_type: Literal["EC2", "FARGATE"] | None = Field(
        default=None,
        description="EC2 or FARGATE; or leave it out for a capacityProviderStrategy (or the cluster's default).",
    )
    capacity_provider_strategy: CapacityProviderStrategy = Field(
        default_factory=list,
        description="Capacity providers and their base/weight (6.1); exclusive with launchType.",
    )
    scheduling_strategy: Literal["REPLICA", "DAEMON"] = "REPLICA"
    placement_strategy: PlacementStrategies = None
    placement_constraints: PlacementConstraints = Field(default_factory=list)
    deployment_configuration: DeploymentConfiguration = Field(default_factory=DeploymentConfiguration)
    load_balancers: list[LoadBalancer] = Field(default_factory=list)
    health_check_grace_period_seconds: int = Field(default=0, ge=0, le=2147483647)
    availability_zone_rebalancing: Literal["ENABLED", "DISABLED"] = Field(
        default="ENABLED", description="CreateService's default (ecs-reference 4.7)."
    )

    @field_validator("launch_type", mode="before")
    @classmethod
    def _ec2_only(cls, value: object) -> object:
        """Name the issue that brings a launch type the core refuses."""
        if value == "EXTERNAL":
            raise ValueError("EXTERNAL (ECS Anywhere) is not simulated; use EC2 or FARGATE")
        if value == "MANAGED_INSTANCES":
            raise ValueError("MANAGED_INSTANCES is not simulated; use EC2 or FARGATE")
        return value

    @model_validator(mode="after")
    def _launch_type_or_strategy(self) -> Service:
        """``launchType`` and ``capacityProviderStrategy`` are mutually exclusive (API CreateService, 6.1)."""
        if self.launch_type is not None and self.capacity_provider_strategy:
            raise ValueError("give either launchType or capacityProviderStrategy, not both (ECS refuses both)")
        if self.scheduling_strategy == "DAEMON" and self.capacity_provider_strategy:
            raise ValueError("capacityProviderStrategy: DAEMON services use launchType EC2, not capacity providers")
        if self.scheduling_strategy == "DAEMON" and self.launch_type == "FARGATE":
            raise ValueError("launchType: Fargate does not run DAEMON services (REPLICA only, 6.5)")
        return self

    @model_validator(mode="before")
    @classmethod
    def _daemon_defaults(cls, data: object) -> object:
        """DAEMON services default to minimumHealthyPercent 0 and maximumPercent 100 (4.1)."""
        if isinstance(data, dict) and data.get("schedulingStrategy") == "DAEMON":
            config = data.get("deploymentConfiguration")
            if config is None or isinstance(config, dict):
                config = dict(config or {})
                config.setdefault("maximumPercent", 100)
                config.setdefault("minimumHealthyPercent", 0)
                data = {**data, "deploymentConfiguration": config}
        return data

    @model_validator(mode="after")
    def _daemon_rules(self) -> Service:
        """ECS's rules for DAEMON services: no desired count, no strategy, maximumPercent 100."""
        if self.scheduling_strategy == "DAEMON":
            if self.desired_count:
                raise ValueError("desiredCount: a DAEMON service runs one task per instance; leave it out")
            if self.placement_strategy:
                raise ValueError("placementStrategy: DAEMON services take no placement strategy")
            if self.deployment_configuration.maximum_percent != 100:
                raise ValueError("deploymentConfiguration.maximumPercent: must be 100 for a DAEMON service")
        return self
