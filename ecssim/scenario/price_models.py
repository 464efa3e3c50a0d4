"""Optional prices of the scenario (``prices``): what an hour of each resource costs, in USD.

ecssim ships no prices on purpose: they differ per Region and change over time (Spot prices
every few minutes), so any number shipped would be stale. The user copies them from AWS's
pricing pages or ``aws pricing get-products`` (README "Prices and cost"). Billing rules
(per second, a one-minute minimum) follow AWS's published EC2 Linux and Fargate billing.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from .catalog import UnknownInstanceType, instance_type
from .distributions import Duration
from .sections import Section

_USD_HOUR = "USD per hour"


class InstancePrice(Section):
    """Hourly price of one EC2 instance type: On-Demand and/or Spot.

    A fleet needs the price of its own market (``market: on-demand`` -> ``onDemand``,
    ``spot`` -> ``spot``); the scenario checks say which one is missing.
    """

    on_demand: float | None = Field(default=None, ge=0, description=f"On-Demand price, {_USD_HOUR}.")
    spot: float | None = Field(
        default=None,
        ge=0,
        description=(
            f"Spot price, {_USD_HOUR}: Spot prices move with supply and demand, so use the average over "
            "a recent period for the Region/AZ (EC2 Spot price history)."
        ),
    )

    def for_market(self, market: str) -> float | None:
        """The price for a fleet ``market`` (``on-demand`` or ``spot``), or None if not given."""
        return self.spot if market == "spot" else self.on_demand


class FargatePrices(Section):
    """Fargate's per-resource prices: per vCPU-hour and per GB-hour of the task's size.

    The Spot pair prices FARGATE_SPOT tasks; give both or neither.
    """

    vcpu_hour: float = Field(ge=0, description=f"Price of one vCPU, {_USD_HOUR}.")
    gb_hour: float = Field(ge=0, description=f"Price of one GB (GiB) of task memory, {_USD_HOUR}.")
    spot_vcpu_hour: float | None = Field(default=None, ge=0, description=f"FARGATE_SPOT vCPU, {_USD_HOUR}.")
    spot_gb_hour: float | None = Field(default=None, ge=0, description=f"FARGATE_SPOT GB, {_USD_HOUR}.")

    @model_validator(mode="after")
    def _spot_pair(self) -> FargatePrices:
        """A Spot price needs its partner: half a price would silently under-count."""
        if (self.spot_vcpu_hour is None) != (self.spot_gb_hour is None):
            raise ValueError("give spotVcpuHour and spotGbHour together (the FARGATE_SPOT prices), or neither")
        return self

    def hourly(self, vcpu: float, memory_gb: float, spot: bool) -> float | None:
        """Hourly price of a task of ``vcpu`` vCPUs and ``memory_gb`` GB (None: no Spot prices)."""
        if spot:
            if self.spot_vcpu_hour is None or self.spot_gb_hour is None:
                return None
            return vcpu * self.spot_vcpu_hour + memory_gb * self.spot_gb_hour
        return vcpu * self.vcpu_hour + memory_gb * self.gb_hour


class Prices(Section):
    """What the run's resources cost (USD); without it the ``cost`` table is empty and the
    cost metrics are NaN."""

    instances: dict[str, InstancePrice] = Field(
        default_factory=dict,
        description="Per EC2 instance type (catalog name), its On-Demand and/or Spot price, USD per hour.",
    )
    fargate: FargatePrices | None = Field(default=None, description="Fargate prices, USD per vCPU-hour and GB-hour.")
    minimum_billed_seconds: Duration = Field(
        default=60.0,
        ge=0,
        description=(
            "Shortest charge of a resource that ends before the run does: EC2 Linux instances and Fargate "
            "tasks bill per second with a 1-minute minimum (AWS, 'Announcing Amazon EC2 per second "
            "billing', 2017; aws.amazon.com/fargate/pricing)."
        ),
    )

    @field_validator("instances")
    @classmethod
    def _known_types(cls, value: dict[str, InstancePrice]) -> dict[str, InstancePrice]:
        """Every priced type must be in the catalog (a typo would leave a fleet unpriced)."""
        problems = []
        for name in sorted(value):
            try:
                instance_type(name)
            except UnknownInstanceType as exc:
                problems.append(str(exc))
        if problems:
            raise ValueError("; ".join(problems))
        return value
