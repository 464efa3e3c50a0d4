"""Target groups: the load-balancer health check timing of the services that register in them.

ECS's service JSON names a target group only by its ARN (``loadBalancers[].targetGroupArn``);
the health check and deregistration settings belong to Elastic Load Balancing. A scenario
describes them in its ``targetGroups`` section, with ELB's names and defaults; a target group a
service names but the section does not describe gets ELB's defaults (ecs-reference 7).
"""

from __future__ import annotations

from pydantic import Field

from .distributions import Duration
from .sections import Section


class TargetGroup(Section):
    """One ELB target group's health check and deregistration timing (ELBv2 defaults).

    A target becomes healthy ``healthCheckIntervalSeconds x healthyThresholdCount`` after it
    registers (defaults: 30 s x 5 = 150 s) and unhealthy ``healthCheckIntervalSeconds x
    unhealthyThresholdCount`` after it stops answering (30 s x 2 = 60 s); a task stopped while
    registered stays DEACTIVATING for ``deregistrationDelay`` (300 s).
    """

    target_group_arn: str = Field(min_length=1, description="The ARN (or name) services use in loadBalancers.")
    health_check_interval_seconds: int = Field(default=30, ge=5, le=300)
    healthy_threshold_count: int = Field(default=5, ge=2, le=10)
    unhealthy_threshold_count: int = Field(default=2, ge=2, le=10)
    deregistration_delay: Duration = Field(
        default=300.0, ge=0, le=3600, description="deregistration_delay.timeout_seconds (default 300 s)."
    )

    @property
    def healthy_after_s(self) -> float:
        """Seconds from registration to a healthy target."""
        return float(self.health_check_interval_seconds * self.healthy_threshold_count)

    @property
    def unhealthy_after_s(self) -> float:
        """Seconds from a target that stops answering to an unhealthy one."""
        return float(self.health_check_interval_seconds * self.unhealthy_threshold_count)
