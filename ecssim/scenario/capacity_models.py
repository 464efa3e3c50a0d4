"""Capacity providers and capacity provider strategies, in ECS's own JSON shapes (ecs-reference 6).

A scenario's ``capacityProviders`` are ``create-capacity-provider`` inputs (or
``describe-capacity-providers`` entries): each names its Auto Scaling group, which in ecssim
is a fleet of ``cluster.fleets`` (``autoScalingGroupArn`` is the fleet's name, or an ARN
ending in ``autoScalingGroupName/<fleet>``). Every provider defined is associated with the
cluster; ``cluster.defaultCapacityProviderStrategy`` is PutClusterCapacityProviders' default
strategy. Services and workloads take a ``capacityProviderStrategy`` or a ``launchType``,
never both (RunTask/CreateService reject that, 6.1).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from .ecs_objects import (  # noqa: F401  (re-exported: strategies live with the services that carry them)
    FARGATE_PROVIDERS,
    CapacityProviderStrategyItem,
    EcsModel,
    check_strategy,
)


class ManagedScaling(EcsModel):
    """Cluster auto scaling of the provider's Auto Scaling group (API ManagedScaling, 6.2)."""

    status: Literal["ENABLED", "DISABLED"] = Field(
        default="ENABLED",
        description="ENABLED: ECS scales the group to keep CapacityProviderReservation at targetCapacity.",
    )
    target_capacity: int = Field(
        default=100, gt=0, le=100,
        description="Target CapacityProviderReservation in percent (1-100, default 100: no spare instance).",
    )
    minimum_scaling_step_size: int = Field(
        default=1, ge=1, le=10000, description="Fewest instances one scale-out adds (default 1)."
    )
    maximum_scaling_step_size: int = Field(
        default=10000, ge=1, le=10000, description="Most instances one scale-out adds (default 10000)."
    )
    instance_warmup_period: int = Field(
        default=300, ge=0, le=10000,
        description="Seconds after its launch during which an instance blocks the next scale-out (default 300).",
    )

    @model_validator(mode="after")
    def _steps_ordered(self) -> ManagedScaling:
        if self.minimum_scaling_step_size > self.maximum_scaling_step_size:
            raise ValueError(
                f"minimumScalingStepSize ({self.minimum_scaling_step_size}) must not exceed "
                f"maximumScalingStepSize ({self.maximum_scaling_step_size})"
            )
        return self


class AutoScalingGroupProvider(EcsModel):
    """The Auto Scaling group behind a capacity provider (API AutoScalingGroupProvider)."""

    auto_scaling_group_arn: str = Field(
        min_length=1,
        description="The fleet (Auto Scaling group) by name, or an ARN ending in autoScalingGroupName/<fleet>.",
    )
    managed_scaling: ManagedScaling = Field(
        default_factory=lambda: ManagedScaling(status="DISABLED"),
        description="Cluster auto scaling; without it the group keeps its size (as the API's default, DISABLED).",
    )
    managed_termination_protection: Literal["ENABLED", "DISABLED"] = Field(
        default="DISABLED",
        description="ENABLED: scale-in never terminates an instance running a non-daemon task (5.4).",
    )
    managed_draining: Literal["ENABLED", "DISABLED"] = Field(
        default="ENABLED",
        description="ENABLED (AWS's default since 2024): ECS drains an instance before scale-in terminates it (5.4).",
    )

    @property
    def fleet(self) -> str:
        """The fleet name the ARN (or name) designates."""
        marker = "autoScalingGroupName/"
        arn = self.auto_scaling_group_arn
        return arn.split(marker, 1)[1] if marker in arn else arn

    @model_validator(mode="after")
    def _protection_needs_scaling(self) -> AutoScalingGroupProvider:
        if self.managed_termination_protection == "ENABLED" and self.managed_scaling.status != "ENABLED":
            raise ValueError(
                "managedTerminationProtection ENABLED needs managedScaling.status ENABLED (ECS refuses it otherwise)"
            )
        return self


class CapacityProvider(EcsModel):
    """An Auto Scaling group capacity provider (``create-capacity-provider`` input)."""

    name: str = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9_-]+$")
    auto_scaling_group_provider: AutoScalingGroupProvider

    @field_validator("name")
    @classmethod
    def _not_reserved(cls, value: str) -> str:
        lowered = value.lower()
        if lowered.startswith(("aws", "ecs", "fargate")):
            raise ValueError(f"{value!r}: names beginning with aws, ecs or fargate are reserved by ECS")
        return value

    @property
    def managed(self) -> bool:
        """Managed scaling is on: unplaceable tasks wait in PROVISIONING and the group scales."""
        return self.auto_scaling_group_provider.managed_scaling.status == "ENABLED"
