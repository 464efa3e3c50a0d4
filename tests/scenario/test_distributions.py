"""Duration distributions as written in files: shorthand, tagged objects, sampling."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import TypeAdapter, ValidationError

from ecssim.scenario.distributions import Constant, Distribution, Exponential, Lognormal, Uniform

ADAPTER = TypeAdapter(Distribution)


def test_plain_duration_is_a_constant() -> None:
    assert ADAPTER.validate_python("2s") == Constant(value=2.0)
    assert ADAPTER.validate_python(5).mean == 5.0


def test_tagged_objects_parse_units() -> None:
    assert ADAPTER.validate_python({"type": "uniform", "low": "1s", "high": "1m"}) == Uniform(low=1, high=60)
    exp = ADAPTER.validate_python({"type": "exponential", "mean": "5m"})
    assert isinstance(exp, Exponential) and exp.mean == 300.0


def test_lognormal_median_or_mean() -> None:
    by_median = ADAPTER.validate_python({"type": "lognormal", "median": 8, "sigma": 0.5})
    assert by_median.mu == pytest.approx(math.log(8))
    by_mean = ADAPTER.validate_python({"type": "lognormal", "mean": by_median.mean, "sigma": 0.5})
    assert by_mean.mu == pytest.approx(math.log(8))


@pytest.mark.parametrize(
    "bad",
    [
        {"type": "lognormal", "sigma": 0.5},
        {"type": "lognormal", "median": 1, "mean": 2, "sigma": 0.5},
        {"type": "uniform", "low": 10, "high": 1},
        {"type": "normal", "mean": 1},
        {"type": "exponential", "mean": 1, "rate": 2},
    ],
)
def test_invalid_distributions(bad: dict) -> None:
    with pytest.raises(ValidationError):
        ADAPTER.validate_python(bad)


@pytest.mark.parametrize(
    "dist",
    [Constant(value=3), Uniform(low=1, high=10), Exponential(mean=30), Lognormal(median=8, sigma=0.5)],
    ids=lambda d: d.type,
)
def test_sample_means_match(dist: Constant | Uniform | Exponential | Lognormal) -> None:
    rng = np.random.default_rng(1)
    draws = dist.sample_n(rng, 200_000)
    assert draws.mean() == pytest.approx(dist.mean, rel=0.02)
    assert isinstance(dist.sample(rng), float)


def test_sampling_is_reproducible() -> None:
    dist = Lognormal(median=8, sigma=0.5)
    assert dist.sample(np.random.default_rng(7)) == dist.sample(np.random.default_rng(7))
