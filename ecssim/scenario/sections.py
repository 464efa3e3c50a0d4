"""Building blocks shared by ecssim's own scenario sections: the base model, units, selectors."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
    field_validator,
)
from pydantic.alias_generators import to_camel

from ..units import check_magnitude, parse_rate_per_s, parse_size_mib

#: A size in MiB: a number of MiB or a string such as "8 GiB".
SizeMiB = Annotated[
    float,
    BeforeValidator(parse_size_mib),
    WithJsonSchema({"type": ["number", "string"], "description": "MiB, or e.g. '8 GiB'"}),
]
#: A rate in events per second: a number per second or a string such as "150/h".
Rate = Annotated[
    float,
    BeforeValidator(parse_rate_per_s),
    WithJsonSchema({"type": ["number", "string"], "description": "per second, or e.g. '150/h'"}),
]


class Section(BaseModel):
    """Base of ecssim's own sections: camelCase names, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)

    @field_validator("*", mode="after")
    @classmethod
    def _finite_and_bounded(cls, value: object) -> object:
        """No field holds NaN, an infinity or an absurd magnitude (see ``units.check_magnitude``)."""
        return check_magnitude(value)


class InstanceSelector(Section):
    """Which container instances a fault or action hits; the criteria combine (AND)."""

    instance_ids: list[str] | None = None
    fleet: str | None = None
    availability_zone: str | None = None
    attribute: dict[str, str] | None = None
    count: int | None = Field(default=None, ge=1, description="Pick this many at random among the matches.")
    fraction: float | None = Field(default=None, gt=0, le=1, description="Pick this fraction (rounded up).")


