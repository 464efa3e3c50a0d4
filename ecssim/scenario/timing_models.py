"""The scenario's ``timing`` section: every latency and period the model uses, as named parameters.

ECS publishes few of them; each field carries its default and its basis (ecs-reference 9b, the
project's decisions). Sub-sections group the parameters of one mechanism (the service reaction,
back-offs, container-start contention, cluster auto scaling, Fargate, Service Auto Scaling).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from .autoscaling_models import ServiceAutoScalingTiming
from .distributions import Constant, Distribution, Duration, Lognormal, Uniform
from .sections import Rate, Section


class ServiceReaction(Section):
    """How the service scheduler reacts to a change; ECS does not publish it (4.2).

    ``cycle`` (default): a reconcile at the next tick of a per-service period with a random
    phase, woken only when something changed. ``delay``: a reconcile a drawn delay after
    each change. Both give the observed 10-40 s from a stop to the replacement.
    """

    mode: Literal["cycle", "delay"] = "cycle"
    period: Duration = Field(
        default=15.0, gt=0, description="Reconcile period (cycle mode); observed 10-40 s."
    )
    delay: Distribution = Field(
        default_factory=lambda: Uniform(low=10, high=40),
        description="Delay after each change (delay mode); observed 10-40 s.",
    )


class PlacementRetry(Section):
    """Back-off of a service after a launch found no instance (4.2, observed minutes)."""

    initial: Duration = Field(default=30.0, gt=0, description="First retry delay.")
    multiplier: float = Field(default=2.0, ge=1, description="Growth of the delay per failed attempt.")
    max: Duration = Field(default=900.0, gt=0, description="Cap of the delay (15 min observed).")
    retry_on_capacity_change: bool = Field(
        default=False,
        description=(
            "Cut the back-off short when capacity appears. Off by default: ECS is observed to wait "
            "minutes even after instances join."
        ),
    )


class StartFailureThrottle(Section):
    """Delay before a service's next launch after its tasks stop without reaching RUNNING (4.3).

    ECS publishes only the cap ("increases incrementally up to" 27 min in the current guide,
    15 min before 2024); the first delay and the growth are ecssim's assumption.
    """

    initial: Duration = Field(default=30.0, gt=0, description="Delay after the first failed start (assumed).")
    multiplier: float = Field(default=2.0, ge=1, description="Growth of the delay per further failed start (assumed).")
    max: Duration = Field(default=1620.0, gt=0, description="Cap of the delay: 27 min (current guide); 15m before 2024.")


class ContainerStartContention(Section):
    """How container starts in progress on one Docker engine slow each other down.

    ECS publishes no figure; ``ecssim docker-calibrate`` measures ``slowdown`` on a local
    engine (about 0.4 on a 2-core machine). With n starts in progress each progresses at
    rate 1 / (1 + slowdown * (n - 1)) of its ``containerStart`` draw (processor sharing).
    """

    slowdown: float = Field(
        default=0.0, ge=0,
        description="Slowdown per further concurrent start; 0 (default): starts never contend.",
    )
    scope: Literal["instance", "cluster"] = Field(
        default="instance",
        description=(
            "Which starts share an engine: each instance's own (ECS: one Docker engine per container "
            "instance), or the whole cluster's (the Docker-backed mode, whose virtual instances share one "
            "local engine)."
        ),
    )


class ClusterAutoScaling(Section):
    """Cluster auto scaling (managed scaling) beyond the capacity provider's own settings (6.2-6.4).

    ECS publishes the evaluation period, the 15-datapoint scale-in and the 50% step; the
    scale-out datapoints are observed; the PROVISIONING limit and timeout have changed
    over time (300 in the Service Quotas table, 100 and "10 to 30 minutes" in the 2020 blog).
    """

    evaluation_period: Duration = Field(
        default=60.0, gt=0,
        description="ECS computes CapacityProviderReservation every minute (DG23 cluster-auto-scaling).",
    )
    scale_out_datapoints: int = Field(
        default=1, ge=1,
        description="Datapoints above targetCapacity that trigger a scale-out (OBSERVED: 'more than 100 for 1 minute', 6.3).",
    )
    scale_in_datapoints: int = Field(
        default=15, ge=1,
        description="Consecutive datapoints below targetCapacity before scale-in starts (15, DG23 cluster-auto-scaling).",
    )
    scale_in_max_fraction: float = Field(
        default=0.5, gt=0, le=1,
        description="Most of the group one scale-in step removes (50% per minute, at least one instance; 6.3).",
    )
    minimum_step_for_multi_az_groups: bool = Field(
        default=False,
        description=(
            "The aws-sdk-ecs ManagedScaling text (docs.rs aws-sdk-ecs 0.24.0, 2023): with several instance types or "
            "AZs ECS scales out by exactly minimumScalingStepSize, ignoring demand. Off: the developer guide's "
            "computation (DG23 cluster-auto-scaling, 2023-06), which both the guide and the deep-dive blog describe."
        ),
    )
    provisioning_timeout: Distribution = Field(
        default_factory=lambda: Uniform(low=600, high=1800),
        description="A task waiting in PROVISIONING for capacity stops after this ('between 10 and 30 minutes', 6.4).",
    )
    provisioning_limit: int = Field(
        default=300, ge=1,
        description="Tasks in PROVISIONING per cluster (Service Quotas: 300; 100 in the 2020 blog; 6.4, 8).",
    )
    managed_draining_timeout: Duration = Field(
        default=48 * 3600.0, gt=0,
        description=(
            "With managedDraining, longest wait for a scaled-in instance to empty before it is terminated anyway "
            "(INFERENCE: EC2 Auto Scaling's 48 h lifecycle-hook limit; ECS publishes none)."
        ),
    )


class FargateTiming(Section):
    """Fargate's task start and launch rate (ecs-reference 6.5, 7); start latencies are OBSERVED ranges."""

    provisioning: Distribution = Field(
        default_factory=lambda: Lognormal(median=15, sigma=0.4),
        description=(
            "PROVISIONING on Fargate: capacity and the task's ENI (ecssim's assumption inside the observed "
            "1-3 min cold start, 7)."
        ),
    )
    image_pull: Distribution = Field(
        default_factory=lambda: Lognormal(median=30, sigma=0.5),
        description="Image pull, every launch: Fargate caches no image (BP23 pull-behavior; no published figure).",
    )
    launch_rate: Rate = Field(
        default=20.0, gt=0, description="Account launch token bucket refill: 20 tasks/s (throttling page, 6.5)."
    )
    launch_burst: int = Field(default=100, ge=1, description="Account launch token bucket size: 100 tasks (6.5).")


class Timing(Section):
    """Every latency and period the model uses, with its default and basis (ecs-reference 9b)."""

    service_reaction: ServiceReaction = Field(default_factory=ServiceReaction)
    service_launch_rate: Rate = Field(
        default=500 / 60,
        gt=0,
        description="Tasks a service may launch per second, token bucket (500/min quota, 4.2, 8).",
    )
    service_launch_burst: int = Field(
        default=500, ge=1, description="Size of the service's launch token bucket (500 tasks)."
    )
    placement_retry: PlacementRetry = Field(default_factory=PlacementRetry)
    start_failure_throttle: StartFailureThrottle = Field(default_factory=StartFailureThrottle)
    agent_registration: Distribution = Field(
        default_factory=lambda: Lognormal(median=60, sigma=0.3),
        description="Instance launch to agent registered (one observed 41 s plus boot, 7).",
    )
    eni_attach: Distribution = Field(
        default_factory=lambda: Constant(value=5),
        description="awsvpc ENI attachment in PROVISIONING ('several seconds', BP23:task).",
    )
    eni_detach: Distribution = Field(
        default_factory=lambda: Constant(value=5),
        description="awsvpc ENI detachment in DEPROVISIONING ('several seconds').",
    )
    image_pull: Distribution = Field(
        default_factory=lambda: Lognormal(median=8, sigma=0.5),
        description="Image pull when the image is not cached on the instance (no published figure).",
    )
    container_start: Distribution = Field(
        default_factory=lambda: Constant(value=2), description="Container create and start (agent logs)."
    )
    container_start_contention: ContainerStartContention = Field(default_factory=ContainerStartContention)
    container_stop: Distribution = Field(
        default_factory=lambda: Uniform(low=1, high=10),
        description="SIGTERM to exit, capped by the stop timeout (1.4).",
    )
    stop_timeout: Duration = Field(
        default=30.0, description="ECS_CONTAINER_STOP_TIMEOUT: SIGTERM to SIGKILL (default 30 s, 1.4)."
    )
    healthy_after_running: Duration = Field(
        default=40.0,
        description=(
            "Without a load balancer or container health check a task counts as healthy this long "
            "after RUNNING (40 s, API DeploymentConfiguration, 4.5)."
        ),
    )
    instance_loss_detection_delay: Distribution = Field(
        default_factory=lambda: Constant(value=0),
        description=(
            "EC2 terminates an instance to ECS marking it INACTIVE and its tasks STOPPED (0: 'INACTIVE "
            "immediately' when the agent is connected, 5.1)."
        ),
    )
    agent_heartbeat_timeout: Distribution = Field(
        default_factory=lambda: Uniform(low=60, high=120),
        description=(
            "An impaired host stops answering to ECS seeing agentConnected=false (ACS heartbeat timeout "
            "1 min + up to 1 min jitter, 5.2)."
        ),
    )
    spot_interruption_notice: Duration = Field(
        default=120.0,
        ge=0,
        description="EC2 Spot interruption notice to termination (2 minutes, 5.3).",
    )
    circuit_breaker_minimum_threshold: int = Field(
        default=3,
        ge=1,
        description=(
            "Lower clamp of the deployment circuit breaker's BOUNDED_PERCENT threshold: 3 (2026 API); 10 in the "
            "2023 guide (4.6)."
        ),
    )
    cluster_auto_scaling: ClusterAutoScaling = Field(default_factory=ClusterAutoScaling)
    fargate: FargateTiming = Field(default_factory=FargateTiming)
    service_auto_scaling: ServiceAutoScalingTiming = Field(
        default_factory=ServiceAutoScalingTiming,
        description="Alarm settings of Service Auto Scaling's target tracking (ecs-reference 11).",
    )
    asg_replacement_delay: Distribution = Field(
        default_factory=lambda: Constant(value=0),
        description=(
            "EC2 terminates an instance to its Auto Scaling group launching a replacement (0: no published "
            "figure; launch, boot and registration are agentRegistration)."
        ),
    )
