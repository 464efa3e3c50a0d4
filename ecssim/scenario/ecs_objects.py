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

from ..units import parse_ecs_cpu, parse_ecs_memory
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


class ContainerDefinition(EcsModel):
    """One container of a task definition (the fields that decide placement and stopping)."""

    name: str = Field(min_length=1, max_length=255)
    image: str = ""
    cpu: int = Field(default=0, ge=0)
    memory: int | None = Field(default=None, ge=6)
    memory_reservation: int | None = Field(default=None, ge=6)
    essential: bool = True
    port_mappings: list[PortMapping] = Field(default_factory=list)
    stop_timeout: int | None = Field(default=None, ge=0, le=120 * 60)


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


class PlacementConstraint(EcsModel):
    """``{type: distinctInstance|memberOf, expression}``; memberOf arrives with the placement issue."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)

    type: Literal["distinctInstance", "memberOf"]
    expression: str | None = Field(default=None, max_length=2000)

    @field_validator("type")
    @classmethod
    def _supported(cls, value: str) -> str:
        """memberOf needs the cluster query language, which arrives with the placement issue."""
        if value == "memberOf":
            raise ValueError(
                "memberOf placement constraints are not supported yet (they come with the placement issue)"
            )
        return value

    @field_validator("expression")
    @classmethod
    def _no_expression(cls, value: str | None, info: ValidationInfo) -> str | None:
        """ECS refuses an expression on a distinctInstance constraint."""
        if info.data.get("type") == "distinctInstance" and value:
            raise ValueError("distinctInstance takes no expression")
        return value

    def as_tuple(self) -> tuple[str, str | None]:
        """The ``(type, expression)`` pair the placement functions take."""
        return (self.type, self.expression)


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
    placement_constraints: list[PlacementConstraint] = Field(default_factory=list, max_length=10)

    @property
    def key(self) -> str:
        """``family:revision``, as ECS names a task definition."""
        return f"{self.family}:{self.revision}"


class DeploymentConfiguration(EcsModel):
    """The bounds on a service's task count while it replaces or deploys tasks (section 4.5)."""

    maximum_percent: int = Field(default=200, ge=100, le=2000)
    minimum_healthy_percent: int = Field(default=100, ge=0, le=100)


class Service(EcsModel):
    """An ECS service (``create-service`` input or a ``describe-services`` entry)."""

    service_name: str = Field(min_length=1, max_length=255)
    task_definition: str = Field(min_length=1, description="family or family:revision of a task definition")
    desired_count: int = Field(default=0, ge=0, le=5000)
    launch_type: Literal["EC2"] = "EC2"
    scheduling_strategy: Literal["REPLICA"] = "REPLICA"
    placement_strategy: list[PlacementStrategy] | None = Field(default=None, max_length=5)
    placement_constraints: list[PlacementConstraint] = Field(default_factory=list, max_length=10)
    deployment_configuration: DeploymentConfiguration = Field(default_factory=DeploymentConfiguration)

    @field_validator("launch_type", mode="before")
    @classmethod
    def _ec2_only(cls, value: object) -> object:
        """Name the issue that brings a launch type the core refuses."""
        if value == "FARGATE":
            raise ValueError("FARGATE comes with the capacity-provider issue; the core simulates EC2 only")
        if value == "EXTERNAL":
            raise ValueError("EXTERNAL (ECS Anywhere) is not simulated; the core simulates EC2 only")
        return value

    @field_validator("scheduling_strategy", mode="before")
    @classmethod
    def _replica_only(cls, value: object) -> object:
        """DAEMON services need per-instance placement, which arrives with the placement issue."""
        if value == "DAEMON":
            raise ValueError("DAEMON services come with the placement issue; the core runs REPLICA services")
        return value
