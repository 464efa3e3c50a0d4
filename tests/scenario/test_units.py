"""Human units in scenario files: durations, sizes, ECS cpu/memory strings, rates."""

from __future__ import annotations

import math

import pytest

from ecssim.units import (
    format_duration,
    parse_duration,
    parse_ecs_cpu,
    parse_ecs_memory,
    parse_rate_per_s,
    parse_size_mib,
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("90s", 90.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1d", 86400.0),
        ("250ms", 0.25),
        ("1.5 h", 5400.0),
        ("10 minutes", 600.0),
        ("30", 30.0),
        ("0", 0.0),
    ],
)
def test_durations(text: object, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["5x", "-3s", -1, True, None, "s", "1h30m", [1]])
def test_bad_durations(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(
    ("text", "mib"),
    [
        (512, 512.0),
        ("512 MiB", 512.0),
        ("8 GiB", 8192.0),
        ("2 GB", 2048.0),
        ("2gb", 2048.0),
        ("1 TiB", 1048576.0),
    ],
)
def test_sizes_are_powers_of_two(text: object, mib: float) -> None:
    assert parse_size_mib(text) == mib


@pytest.mark.parametrize("bad", ["8 GiBs", "-1", "lots", False])
def test_bad_sizes(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_size_mib(bad)


@pytest.mark.parametrize(
    ("text", "units"), [("1024", 1024), (256, 256), ("1 vCPU", 1024), ("0.25 vcpu", 256), ("2 vCPU", 2048)]
)
def test_ecs_cpu(text: object, units: int) -> None:
    assert parse_ecs_cpu(text) == units


@pytest.mark.parametrize("bad", ["1.5", "1 core", -1, "0.1 vCPU"])
def test_bad_ecs_cpu(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_ecs_cpu(bad)


@pytest.mark.parametrize(("text", "mib"), [("2048", 2048), ("2 GB", 2048), ("0.5 GB", 512), (512, 512)])
def test_ecs_memory_reads_gb_as_gib(text: object, mib: int) -> None:
    assert parse_ecs_memory(text) == mib


def test_ecs_memory_must_be_whole_mib() -> None:
    with pytest.raises(ValueError):
        parse_ecs_memory("1.0001 GB")


@pytest.mark.parametrize(
    ("text", "per_s"),
    [
        (2, 2.0),
        ("150/h", 150 / 3600),
        ("2.5/m", 2.5 / 60),
        ("0.1/s", 0.1),
        ("30 per hour", 30 / 3600),
        ("10/5m", 10 / 300),
        ("3", 3.0),
    ],
)
def test_rates(text: object, per_s: float) -> None:
    assert parse_rate_per_s(text) == pytest.approx(per_s)


@pytest.mark.parametrize("bad", ["5 apples/h", "/h", "abc", -1, "5/0s"])
def test_bad_rates(bad: object) -> None:
    with pytest.raises(ValueError):
        parse_rate_per_s(bad)


def test_format_duration() -> None:
    assert format_duration(45) == "45s"
    assert format_duration(3900) == "1h 5m"
    assert format_duration(math.nan) == "n/a"
