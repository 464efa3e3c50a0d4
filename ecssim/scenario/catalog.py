"""The EC2 instance-type catalog and the resources the ECS agent registers.

The catalog (``data/instance_types.csv``, built by ``scripts/build_instance_catalog.py``
from EC2's DescribeInstanceTypes data as published in the Apache-2.0 moto project) gives
vCPUs, memory, ENIs, GPUs and architectures per type.

Registered resources (ecs-reference 2.1, decisions.md): CPU = vCPUs x 1024; memory =
floor(catalog MiB x (1 - overhead fraction)) - ``ECS_RESERVED_MEMORY``. The agent really
registers ``MemTotal`` from /proc/meminfo, which the catalog does not carry; the default
fraction 0.026 reproduces ECS's published figures within 0.3 %: m4.large 8192 MiB gives
7979 (ECS observed 7985), t2.micro 1024 MiB gives 997 (ECS observed 995).
"""

from __future__ import annotations

import csv
import difflib
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources

#: Default share of nominal memory the OS and agent take before registration (2.1).
DEFAULT_MEMORY_OVERHEAD_FRACTION = 0.026


class UnknownInstanceType(KeyError):
    """An instance type the catalog does not know; carries the closest valid names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        super().__init__(name)
        self.name = name
        self.suggestions = suggestions

    def __str__(self) -> str:
        hint = f"; did you mean {', '.join(self.suggestions)}?" if self.suggestions else ""
        return f"unknown instance type {self.name!r}{hint}"


@dataclass(frozen=True, slots=True)
class InstanceType:
    """One EC2 instance type as the catalog lists it."""

    name: str
    vcpus: int
    memory_mib: int
    max_enis: int
    gpus: int
    architectures: tuple[str, ...]
    spot: bool
    current_generation: bool

    @property
    def cpu_architecture(self) -> str:
        """The ``ecs.cpu-architecture`` attribute: ``x86_64`` or ``arm64``.

        Types listing both i386 and x86_64 report x86_64; Mac types (``x86_64_mac``,
        ``arm64_mac``) report their processor's architecture.
        """
        plain = [arch.removesuffix("_mac") for arch in self.architectures]
        for arch in ("x86_64", "arm64"):
            if arch in plain:
                return arch
        return plain[0]


def _bool(text: str) -> bool:
    return text.strip().lower() == "true"


@cache
def catalog() -> dict[str, InstanceType]:
    """Every instance type of the shipped catalog, by name (read once, on first use)."""
    path = resources.files("ecssim.scenario").joinpath("data", "instance_types.csv")
    with path.open("r", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {
        row["instance_type"]: InstanceType(
            name=row["instance_type"],
            vcpus=int(row["vcpus"]),
            memory_mib=int(row["memory_mib"]),
            max_enis=int(row["max_enis"]),
            gpus=int(row["gpus"]),
            architectures=tuple(row["architectures"].split("|")),
            spot=_bool(row["spot"]),
            current_generation=_bool(row["current_generation"]),
        )
        for row in rows
    }


@cache
def eni_trunking_table() -> dict[str, int]:
    """awsvpc tasks per instance with ENI trunking, for the types ECS's guide lists (2.4).

    Read from ``data/eni_trunking.csv`` (source in ``data/NOTICE.md``).
    """
    path = resources.files("ecssim.scenario").joinpath("data", "eni_trunking.csv")
    with path.open("r", encoding="utf-8", newline="") as handle:
        return {row["instance_type"]: int(row["trunk_task_enis"]) for row in csv.DictReader(handle)}


def task_eni_limit(
    type_: str | InstanceType, trunking: bool = False, trunking_limit: int | None = None
) -> int:
    """How many awsvpc tasks an instance of ``type_`` can run at once (one ENI each, 2.4).

    Without trunking: the catalog's ``max_enis`` minus the instance's own primary ENI. With
    trunking: ``trunking_limit`` when given, else the shipped table; a type missing from the
    table without a limit raises ``ValueError`` (ecssim never invents the number).
    """
    entry = type_ if isinstance(type_, InstanceType) else instance_type(type_)
    if not trunking:
        return max(entry.max_enis - 1, 0)
    if trunking_limit is not None:
        return int(trunking_limit)
    table = eni_trunking_table()
    if entry.name not in table:
        raise ValueError(
            f"{entry.name} is not in ecssim's ENI trunking table ({', '.join(sorted(table))}); give "
            "eniTrunkingLimit: the awsvpc tasks per instance with trunking, from the ECS developer guide"
        )
    return table[entry.name]


def closest_instance_types(name: str, n: int = 3) -> list[str]:
    """The ``n`` catalog names closest to ``name`` (for "did you mean" messages)."""
    return difflib.get_close_matches(name.strip().lower(), list(catalog()), n=n, cutoff=0.5)


def instance_type(name: str) -> InstanceType:
    """The catalog entry for ``name``; raises :class:`UnknownInstanceType` with suggestions."""
    try:
        return catalog()[name]
    except KeyError:
        raise UnknownInstanceType(name, closest_instance_types(name)) from None


def registered_resources(
    type_: str | InstanceType,
    memory_overhead_fraction: float = DEFAULT_MEMORY_OVERHEAD_FRACTION,
    reserved_memory_mib: float = 0,
    cpu_override: int | None = None,
    memory_override: float | None = None,
) -> tuple[int, int]:
    """``(cpu_units, memory_mib)`` the agent registers for an instance of ``type_``.

    CPU = vCPUs x 1024; memory = floor(MiB x (1 - fraction)) - reserved. An override
    is the registered amount itself (a fleet's ``registeredCpu`` / ``registeredMemory``),
    so no overhead or reservation is taken from it. Raises ValueError if the reserved
    memory leaves nothing, as the agent refuses to register then.
    """
    entry = type_ if isinstance(type_, InstanceType) else instance_type(type_)
    cpu = int(cpu_override) if cpu_override is not None else entry.vcpus * 1024
    if memory_override is not None:
        return cpu, int(memory_override)
    total = math.floor(entry.memory_mib * (1.0 - memory_overhead_fraction))
    memory = total - int(math.ceil(reserved_memory_mib))
    if memory <= 0:
        raise ValueError(
            f"reserved memory {reserved_memory_mib:g} MiB leaves nothing of {entry.name}'s {total} MiB"
        )
    return cpu, memory


def builtin_attributes(
    type_: str | InstanceType, availability_zone: str, os_type: str = "linux"
) -> dict[str, str]:
    """ECS's built-in container-instance attributes for an instance of ``type_`` in an AZ."""
    entry = type_ if isinstance(type_, InstanceType) else instance_type(type_)
    return {
        "ecs.instance-type": entry.name,
        "ecs.availability-zone": availability_zone,
        "ecs.os-type": os_type,
        "ecs.cpu-architecture": entry.cpu_architecture,
    }
