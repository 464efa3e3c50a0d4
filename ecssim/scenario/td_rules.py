"""ECS's registration rules for a task definition, as far as they matter on EC2.

RegisterTaskDefinition enforces these; a task definition pasted from ECS passes them all,
a hand-written one may not. Each problem comes with its path inside the scenario.
"""

from __future__ import annotations

from collections.abc import Iterable

from .ecs_objects import TaskDefinition

Problems = list[tuple[str, str]]


def hard_memory_limit_mib(td: TaskDefinition) -> int | None:
    """The memory above which a task of ``td`` is OOM-killed, or None if it has no hard limit.

    The smallest container-level hard ``memory`` of an essential container; else the
    task-level ``memory`` (a hard limit for the whole task); else none.
    """
    limits = [c.memory for c in td.container_definitions if c.essential and c.memory is not None]
    if limits:
        return min(limits)
    return td.memory


def check_task_definition(
    td: TaskDefinition, path: str, reserved_ports: Iterable[int] = ()
) -> tuple[Problems, list[str]]:
    """Errors (path, message) and warnings of one task definition at ``path``."""
    errors: Problems = []
    warnings: list[str] = []
    containers = td.container_definitions
    if not any(c.essential for c in containers):
        errors.append((f"{path}.containerDefinitions", "at least one container must be essential"))
    names = [c.name for c in containers]
    for i, container in enumerate(containers):
        cpath = f"{path}.containerDefinitions[{i}]"
        if names.index(container.name) != i:
            errors.append((f"{cpath}.name", f"duplicate container name {container.name!r}"))
        if td.memory is None and container.memory is None and container.memory_reservation is None:
            errors.append(
                (
                    f"{cpath}.memory",
                    "required on EC2 when the task definition has no task-level memory "
                    "(give memory or memoryReservation)",
                )
            )
        if (
            container.memory is not None
            and container.memory_reservation is not None
            and container.memory_reservation > container.memory
        ):
            errors.append(
                (
                    f"{cpath}.memoryReservation",
                    f"must be <= memory ({container.memory}), got {container.memory_reservation}",
                )
            )
    if td.memory is not None:
        hard = sum(c.memory for c in containers if c.memory is not None)
        if hard > td.memory:
            errors.append(
                (
                    f"{path}.memory",
                    f"the containers' memory ({hard} MiB) exceeds the task's memory ({td.memory} MiB)",
                )
            )
    _check_ports(td, path, set(reserved_ports), errors, warnings)
    return errors, warnings


def _check_ports(
    td: TaskDefinition, path: str, reserved: set[int], errors: Problems, warnings: list[str]
) -> None:
    """Port-mapping rules per network mode, duplicate static host ports, agent-reserved ports."""
    seen: dict[tuple[int, str], str] = {}
    for i, container in enumerate(td.container_definitions):
        for j, mapping in enumerate(container.port_mappings):
            mpath = f"{path}.containerDefinitions[{i}].portMappings[{j}]"
            host, port = mapping.host_port, mapping.container_port
            if td.network_mode in ("host", "awsvpc") and host not in (None, 0) and host != port:
                errors.append(
                    (
                        f"{mpath}.hostPort",
                        f"must equal containerPort ({port}) in {td.network_mode} mode, got {host}",
                    )
                )
                continue
            if td.network_mode == "awsvpc":
                continue  # ports live on the task's ENI, not on the host
            static = port if td.network_mode == "host" else host
            if not static:
                continue  # dynamic host port (bridge, hostPort 0 or absent)
            key = (static, mapping.protocol)
            if key in seen:
                errors.append(
                    (
                        f"{mpath}.hostPort",
                        f"host port {static}/{mapping.protocol} is already used by {seen[key]}",
                    )
                )
            else:
                seen[key] = mpath
            if mapping.protocol == "tcp" and static in reserved:
                warnings.append(
                    f"{mpath}: host port {static} is reserved by the ECS agent on every instance; "
                    "this task can never be placed"
                )
