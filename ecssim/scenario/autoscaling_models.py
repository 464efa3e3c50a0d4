"""Scenario models of Service Auto Scaling (target tracking) and of the demand that drives it.

``demand`` offers load to a REPLICA service over time (CPU units or MiB) as a curve:
piecewise points, a diurnal cosine or a CSV file. ``serviceAutoScaling`` is Application
Auto Scaling's RegisterScalableTarget plus PutScalingPolicy for a service, with AWS's own
names (ecs-reference 11). ``timing.serviceAutoScaling`` holds the CloudWatch alarm settings
AWS does not publish. Cross-references (services, task definitions, files) are checked in
:mod:`ecssim.scenario.checks`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from .distributions import Duration
from .sections import Section

#: The predefined metrics ecssim computes, and the resource each one divides by.
METRIC_RESOURCE: dict[str, str] = {
    "ECSServiceAverageCPUUtilization": "cpu",
    "ECSServiceAverageMemoryUtilization": "memory",
}

Interpolation = Literal["linear", "step"]


class PiecewiseCurve(Section):
    """Demand through ``points`` [[time, value], ...]; constant before the first and after the last."""

    type: Literal["piecewise"]
    points: list[tuple[Duration, float]] = Field(
        min_length=1, description="[time, value] pairs, times strictly increasing, values >= 0."
    )
    interpolation: Interpolation = Field(
        default="linear", description="linear: straight lines between points; step: each value holds until the next."
    )

    @field_validator("points")
    @classmethod
    def _ordered(cls, points: list[tuple[float, float]]) -> list[tuple[float, float]]:
        """Times strictly increase and values are not negative."""
        for i, (time, value) in enumerate(points):
            if value < 0 or value != value:
                raise ValueError(f"points[{i}]: a demand value must be zero or positive, got {value!r}")
            if i and time <= points[i - 1][0]:
                raise ValueError(f"points[{i}]: times must strictly increase, got {time:g} s after "
                                 f"{points[i - 1][0]:g} s")
        return points


class DiurnalCurve(Section):
    """A daily cycle: a cosine between ``low`` and ``high`` that peaks at ``peakAt`` every ``period``."""

    type: Literal["diurnal"]
    low: float = Field(ge=0, description="Demand at the trough.")
    high: float = Field(ge=0, description="Demand at the peak.")
    peak_at: Duration = Field(default=14 * 3600.0, description="Time of the (first) peak (default 14h).")
    period: Duration = Field(default=24 * 3600.0, gt=0, description="Length of one cycle (default 24h).")

    @model_validator(mode="after")
    def _low_below_high(self) -> DiurnalCurve:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}) must not be below low ({self.low:g})")
        return self


class CsvCurve(Section):
    """Demand read from a CSV file: one column of times (seconds), one of values."""

    type: Literal["csv"]
    file: str = Field(description="Path of the CSV file, relative to the scenario file.")
    time_column: str = Field(default="time_s", description="Column of the times, in seconds.")
    value_column: str = Field(default="demand", description="Column of the demand values.")
    interpolation: Interpolation = Field(default="linear", description="As for piecewise curves.")
    time_scale: float = Field(default=1.0, gt=0, description="Multiply the times by this.")


DemandCurveModel = Annotated[PiecewiseCurve | DiurnalCurve | CsvCurve, Field(discriminator="type")]


class Demand(Section):
    """Load offered to a REPLICA service over time, in CPU units (cpu) or MiB (memory)."""

    service: str = Field(description="serviceName of a REPLICA service of the scenario.")
    resource: Literal["cpu", "memory"] = Field(description="cpu: CPU units; memory: MiB.")
    curve: DemandCurveModel


class PredefinedMetricSpecification(Section):
    """Application Auto Scaling's predefined metric; ecssim computes the two ECS utilisation metrics."""

    predefined_metric_type: Literal[
        "ECSServiceAverageCPUUtilization", "ECSServiceAverageMemoryUtilization", "ALBRequestCountPerTarget"
    ]
    resource_label: str | None = Field(default=None, description="Only for ALBRequestCountPerTarget (not supported).")

    @field_validator("predefined_metric_type")
    @classmethod
    def _supported(cls, value: str) -> str:
        if value not in METRIC_RESOURCE:
            raise ValueError(f"{value} is not supported yet: ecssim models ECSServiceAverageCPUUtilization and "
                             "ECSServiceAverageMemoryUtilization (ecs-reference 11)")
        return value

    @property
    def resource(self) -> str:
        """``cpu`` or ``memory``: what the metric divides by."""
        return METRIC_RESOURCE[self.predefined_metric_type]


class TargetTrackingScalingPolicyConfiguration(Section):
    """Keep the metric at ``targetValue`` percent (ecs-reference 11)."""

    target_value: float = Field(gt=0, le=100, description="Target utilisation, percent.")
    predefined_metric_specification: PredefinedMetricSpecification
    scale_out_cooldown: Duration = Field(
        default=300.0,
        description=("Seconds after a scale-out before the next scale-out. Default 300 s: commonly given for "
                     "ECS services (ecs-reference 11, INFERENCE; a CLI example uses 60)."),
    )
    scale_in_cooldown: Duration = Field(
        default=300.0,
        description=("Seconds after a scaling activity (out or in) before a scale-in. Default 300 s "
                     "(ecs-reference 11, INFERENCE)."),
    )
    disable_scale_in: bool = Field(default=False, description="Never scale in with this policy.")


class ScalingPolicy(Section):
    """PutScalingPolicy: a target tracking policy of the service's scalable target."""

    policy_name: str = Field(min_length=1)
    policy_type: Literal["TargetTrackingScaling"] = "TargetTrackingScaling"
    target_tracking_scaling_policy_configuration: TargetTrackingScalingPolicyConfiguration


class ServiceAutoScaling(Section):
    """RegisterScalableTarget (ecs:service:DesiredCount) plus its target tracking policies."""

    service_name: str = Field(description="serviceName of a REPLICA service of the scenario.")
    min_capacity: int = Field(ge=0, description="Scaling never sets desiredCount below this.")
    max_capacity: int = Field(ge=0, description="Scaling never sets desiredCount above this.")
    policies: list[ScalingPolicy] = Field(min_length=1)

    @model_validator(mode="after")
    def _bounds_and_names(self) -> ServiceAutoScaling:
        if self.min_capacity > self.max_capacity:
            raise ValueError(f"minCapacity ({self.min_capacity}) must not exceed maxCapacity ({self.max_capacity})")
        names = [p.policy_name for p in self.policies]
        duplicate = sorted({n for n in names if names.count(n) > 1})
        if duplicate:
            raise ValueError(f"policyName must be unique per service; repeated: {', '.join(duplicate)}")
        return self


class ServiceAutoScalingTiming(Section):
    """The CloudWatch alarms Application Auto Scaling creates for target tracking (ecs-reference 11)."""

    period: Duration = Field(
        default=60.0, gt=0,
        description="Metric period and alarm evaluation interval: 60 s (CloudWatch one-minute ECS metrics).",
    )
    scale_out_datapoints: int = Field(
        default=3, ge=1,
        description=("Consecutive datapoints above the target for the high alarm: 3 (ecs-reference 11, OBSERVED: "
                     "the settings visible on the managed CloudWatch alarms)."),
    )
    scale_in_datapoints: int = Field(
        default=15, ge=1,
        description=("Consecutive datapoints below scaleInThreshold x target for the low alarm: 15 "
                     "(ecs-reference 11, OBSERVED: the settings visible on the managed CloudWatch alarms)."),
    )
    scale_in_threshold: float = Field(
        default=0.9, gt=0, le=1,
        description=("The low alarm's threshold as a fraction of the target: 0.9 (ecs-reference 11, OBSERVED: "
                     "the settings visible on the managed CloudWatch alarms)."),
    )
