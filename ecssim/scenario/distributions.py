"""Probability distributions of durations, as written in scenario files.

A duration field accepts a plain duration (``"2s"``, a constant) or a tagged object:
``{type: uniform, low: 1s, high: 10s}``, ``{type: exponential, mean: 30s}``,
``{type: lognormal, median: 8s, sigma: 0.5}``, ``{type: weibull, shape: 1.5, scale: 30d}``. Sampling takes the caller's generator, so
each entity draws from its own stream.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator

from ..units import check_magnitude, parse_duration

_DURATION_SCHEMA = {
    "anyOf": [
        {"type": "number", "minimum": 0},
        {"type": "string", "pattern": r"^\s*[0-9.]+\s*[A-Za-z]*\s*$"},
    ],
    "description": "A duration: seconds as a number, or a string such as '90s', '5m', '2h', '1d'.",
}

#: A duration in seconds, written as a number of seconds or a string with a unit.
Duration = Annotated[float, BeforeValidator(parse_duration), WithJsonSchema(_DURATION_SCHEMA)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @field_validator("*", mode="after")
    @classmethod
    def _finite_and_bounded(cls, value: object) -> object:
        """No parameter holds NaN, an infinity or an absurd magnitude."""
        return check_magnitude(value)


class Constant(_Dist):
    """Always the same value."""

    type: Literal["constant"] = "constant"
    value: Duration

    def sample(self, rng: np.random.Generator) -> float:
        return self.value

    def sample_n(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return np.full(n, self.value)

    @property
    def mean(self) -> float:
        return self.value


class Uniform(_Dist):
    """Uniform between ``low`` and ``high``."""

    type: Literal["uniform"] = "uniform"
    low: Duration
    high: Duration

    def model_post_init(self, __context: Any) -> None:
        if self.high < self.low:
            raise ValueError("uniform: high must be >= low")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))

    def sample_n(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, n)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2


class Exponential(_Dist):
    """Exponential with the given mean (memoryless waits, Poisson processes)."""

    type: Literal["exponential"] = "exponential"
    mean_value: Duration = Field(alias="mean")

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.exponential(self.mean_value))

    def sample_n(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.exponential(self.mean_value, n)

    @property
    def mean(self) -> float:
        return self.mean_value


class Lognormal(_Dist):
    """Lognormal given by its ``median`` and the ``sigma`` of the underlying normal.

    ``mean`` may be given instead of ``median`` (median = mean / exp(sigma²/2)).
    """

    type: Literal["lognormal"] = "lognormal"
    median: Duration | None = None
    mean_value: Duration | None = Field(default=None, alias="mean")
    sigma: float = Field(ge=0, le=10, description="At most 10: beyond it samples overflow to infinity.")

    def model_post_init(self, __context: Any) -> None:
        if (self.median is None) == (self.mean_value is None):
            raise ValueError("lognormal: give exactly one of median or mean")

    @property
    def mu(self) -> float:
        median = self.median if self.median is not None else self.mean_value / math.exp(self.sigma**2 / 2)
        return math.log(max(median, 1e-12))

    def sample(self, rng: np.random.Generator) -> float:
        return float(rng.lognormal(self.mu, self.sigma))

    def sample_n(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, n)

    @property
    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)


class Weibull(_Dist):
    """Weibull with ``shape`` k and ``scale`` λ (times to failure: k < 1 infant mortality, k > 1 wear-out).

    The mean is λ·Γ(1 + 1/k); ``shape: 1`` is the exponential of mean λ.
    """

    type: Literal["weibull"] = "weibull"
    shape: float = Field(ge=0.1, description="At least 0.1: below it the mean overflows (Γ(1 + 1/k)).")
    scale: Duration = Field(gt=0)

    def sample(self, rng: np.random.Generator) -> float:
        return self.scale * float(rng.weibull(self.shape))

    def sample_n(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return self.scale * rng.weibull(self.shape, n)

    @property
    def mean(self) -> float:
        return self.scale * math.gamma(1.0 + 1.0 / self.shape)


def _constant_shorthand(value: object) -> object:
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        return {"type": "constant", "value": value}
    return value


#: A duration distribution: a plain duration (constant) or a tagged object.
Distribution = Annotated[
    Constant | Uniform | Exponential | Lognormal | Weibull,
    Field(discriminator="type"),
    BeforeValidator(_constant_shorthand),
]


def constant(seconds: float) -> Constant:
    """A constant distribution (for defaults and tests)."""
    return Constant(value=seconds)
