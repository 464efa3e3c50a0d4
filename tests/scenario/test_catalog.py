"""The instance-type catalog and the resources the agent registers."""

from __future__ import annotations

import pytest

from ecssim.scenario.catalog import (
    UnknownInstanceType,
    builtin_attributes,
    catalog,
    instance_type,
    registered_resources,
)


def test_catalog_is_complete() -> None:
    assert len(catalog()) == 1263
    m5 = instance_type("m5.large")
    assert (m5.vcpus, m5.memory_mib, m5.max_enis, m5.gpus) == (2, 8192, 3, 0)


def test_registered_resources_within_0_3_percent_of_ecs() -> None:
    # ECS observed: m4.large 8192 -> 7985 MiB, t2.micro 1024 -> 995 MiB (ecs-reference 2.1).
    assert registered_resources("m4.large") == (2048, 7979)
    assert registered_resources("t2.micro") == (1024, 997)
    for name, observed in (("m4.large", 7985), ("t2.micro", 995)):
        assert abs(registered_resources(name)[1] - observed) / observed < 0.003


def test_reserved_memory_and_overrides() -> None:
    assert registered_resources("m5.large", reserved_memory_mib=256) == (2048, 7979 - 256)
    assert registered_resources("m5.large", cpu_override=1000, memory_override=4000) == (1000, 4000)
    assert registered_resources("m5.large", reserved_memory_mib=100, memory_override=4000) == (2048, 4000)
    assert registered_resources("m5.large", memory_overhead_fraction=0) == (2048, 8192)
    with pytest.raises(ValueError, match="leaves nothing"):
        registered_resources("t2.micro", reserved_memory_mib=2048)


def test_unknown_type_suggests_three() -> None:
    with pytest.raises(UnknownInstanceType) as info:
        instance_type("m5.lrge")
    assert len(info.value.suggestions) == 3
    assert "m5.large" in info.value.suggestions
    assert "did you mean m5.large" in str(info.value)


@pytest.mark.parametrize(
    ("name", "arch"),
    [("t2.micro", "x86_64"), ("m6g.large", "arm64"), ("c5.xlarge", "x86_64"), ("mac2.metal", "arm64")],
)
def test_cpu_architecture(name: str, arch: str) -> None:
    assert instance_type(name).cpu_architecture == arch


def test_builtin_attributes() -> None:
    assert builtin_attributes("m6g.large", "us-east-1b") == {
        "ecs.instance-type": "m6g.large",
        "ecs.availability-zone": "us-east-1b",
        "ecs.os-type": "linux",
        "ecs.cpu-architecture": "arm64",
    }
