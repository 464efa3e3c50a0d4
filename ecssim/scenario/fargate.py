"""What a task definition needs to run on Fargate (ecs-reference 6.5), as pure checks.

The valid task sizes are the API's table (RegisterTaskDefinitionRequest ``memory``): for
each task-level ``cpu`` the memory values it allows, in MiB. 8 and 16 vCPU need platform
version 1.4.0 or later, which ecssim assumes (it is the default, LATEST).
"""

from __future__ import annotations

from .ecs_objects import TaskDefinition

GIB = 1024

#: Task-level CPU units -> the memory values (MiB) Fargate accepts with it.
FARGATE_SIZES: dict[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1 * GIB, 4 * GIB + 1, GIB)),
    1024: tuple(range(2 * GIB, 8 * GIB + 1, GIB)),
    2048: tuple(range(4 * GIB, 16 * GIB + 1, GIB)),
    4096: tuple(range(8 * GIB, 30 * GIB + 1, GIB)),
    8192: tuple(range(16 * GIB, 60 * GIB + 1, 4 * GIB)),
    16384: tuple(range(32 * GIB, 120 * GIB + 1, 8 * GIB)),
}
#: Fargate's longest stopTimeout (seconds): SIGTERM to SIGKILL (ecs-reference 1.4, 7).
FARGATE_MAX_STOP_TIMEOUT_S = 120


def _gb(mib: int) -> str:
    return f"{mib // GIB} GB" if mib % GIB == 0 else f"{mib} MiB"


def valid_memory_text(cpu: int) -> str:
    """The memory values Fargate allows with ``cpu``, as the API's table writes them."""
    values = FARGATE_SIZES[cpu]
    if cpu == 256:
        return ", ".join(f"{v} MiB" for v in values[:2]) + f", {_gb(values[2])}"
    step = values[1] - values[0]
    return f"{_gb(values[0])} to {_gb(values[-1])} in {_gb(step)} steps"


def size_problem(cpu: int | None, memory: int | None) -> str | None:
    """Why a task-level ``cpu``/``memory`` pair is not a Fargate size (None when it is)."""
    if cpu is None or memory is None:
        return "Fargate needs task-level cpu and memory (e.g. cpu: 256, memory: 512)"
    allowed = FARGATE_SIZES.get(cpu)
    if allowed is None:
        return f"task cpu {cpu} is not a Fargate size; valid cpu values: {', '.join(map(str, FARGATE_SIZES))}"
    if memory not in allowed:
        return f"task memory {memory} MiB is not valid with cpu {cpu} on Fargate; valid: {valid_memory_text(cpu)}"
    return None


def fargate_problems(td: TaskDefinition) -> list[tuple[str, str]]:
    """(field, message) for every reason ``td`` cannot run on Fargate."""
    problems: list[tuple[str, str]] = []
    if td.requires_compatibilities and "FARGATE" not in td.requires_compatibilities:
        problems.append(("requiresCompatibilities", "does not include FARGATE: ECS refuses to run it on Fargate"))
    if td.network_mode != "awsvpc":
        problems.append(("networkMode", f"Fargate needs awsvpc, got {td.network_mode}"))
    problem = size_problem(td.cpu, td.memory)
    if problem is not None:
        problems.append(("memory" if td.cpu in FARGATE_SIZES and td.memory is not None else "cpu", problem))
    for i, container in enumerate(td.container_definitions):
        stop = getattr(container, "stop_timeout", None)
        if stop is not None and stop > FARGATE_MAX_STOP_TIMEOUT_S:
            problems.append((f"containerDefinitions[{i}].stopTimeout",
                             f"at most {FARGATE_MAX_STOP_TIMEOUT_S} s on Fargate, got {stop}"))
    return problems
