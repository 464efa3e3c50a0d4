"""A task: one placement of a task definition on a container instance, and its ECS states."""

from __future__ import annotations

import math

PROVISIONING = "PROVISIONING"
PENDING = "PENDING"
ACTIVATING = "ACTIVATING"
RUNNING = "RUNNING"
DEACTIVATING = "DEACTIVATING"
STOPPING = "STOPPING"
DEPROVISIONING = "DEPROVISIONING"
STOPPED = "STOPPED"

#: ECS's lastStatus values in lifecycle order (ecs-reference 1.1).
STATES = (PROVISIONING, PENDING, ACTIVATING, RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING, STOPPED)
#: States in which the task counts as PENDING for a service (not yet RUNNING).
STARTING_STATES = frozenset((PROVISIONING, PENDING, ACTIVATING))
#: States of a task on its way out, still holding host resources.
STOPPING_STATES = frozenset((DEACTIVATING, STOPPING, DEPROVISIONING))

# Stop codes and reasons as ECS writes them (ecs-reference 1.3).
ESSENTIAL_CONTAINER_EXITED = "EssentialContainerExited"
SERVICE_SCHEDULER_INITIATED = "ServiceSchedulerInitiated"
USER_INITIATED = "UserInitiated"
TASK_FAILED_TO_START = "TaskFailedToStart"
#: A task waiting for capacity has no instance yet.
NO_INSTANCE = -1
ESSENTIAL_EXIT_REASON = "Essential container in task exited"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"

# Task health (ecs-reference 1.2): a service task's health while RUNNING.
UNKNOWN = "UNKNOWN"
HEALTHY = "HEALTHY"
UNHEALTHY = "UNHEALTHY"


def host_terminated_reason(instance_id: str) -> str:
    """ECS's stoppedReason for a task whose instance was terminated under it."""
    return f"Host EC2 (instance {instance_id}) terminated."


def pull_error_reason(task) -> str:  # noqa: ANN001
    """ECS-shaped stoppedReason of a task whose image pull failed (ecs-reference 1.3)."""
    image = task.spec.images[0] if task.spec.images else "image"
    return (f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
            f"failed to resolve ref {image}: not found")


class Task:
    """Live state of one task. Plain slots: tens of thousands exist in a run.

    ``slot`` is its container instance, or -1 while it waits in PROVISIONING for a capacity
    provider's instances (ecs-reference 6.4).
    """

    __slots__ = (
        "num",
        "id",
        "spec",
        "group",
        "service",
        "started_by",
        "slot",
        "state",
        "desired_running",
        "duration",
        "stop_code",
        "stop_reason",
        "incident",
        "process",
        "host_acquired",
        "ever_running",
        "cpu",
        "memory",
        "cp_held",
        "deployment",
        "health",
        "started_at",
        "deregistration_s",
        "capacity_provider",
    )

    def __init__(self, num: int, spec, group: str, service, started_by: str, slot: int, duration: float) -> None:
        self.num = num
        self.id = f"t-{num:06d}"
        self.spec = spec  # TaskSpec: task definition facts shared by its tasks
        self.group = group
        self.service = service  # ServiceState or None
        self.started_by = started_by
        self.slot = slot
        self.state = ""
        self.desired_running = True
        self.duration = duration if duration is not None else math.inf
        self.stop_code = ""
        self.stop_reason = ""
        self.incident = ""
        self.process = None
        self.host_acquired = False
        self.ever_running = False
        self.cpu = spec.demand.cpu
        self.memory = spec.demand.memory_mib
        self.cp_held = True  # the control-plane ledger holds its resources
        self.deployment = None  # the service deployment that launched it (None for standalone tasks)
        self.health = ""  # "" until RUNNING; then UNKNOWN, HEALTHY or UNHEALTHY (ECS's view)
        self.started_at = math.nan  # startedAt: when it reached RUNNING
        self.deregistration_s = 0.0  # load balancer deregistration delay spent DEACTIVATING when stopped
        self.capacity_provider = ""  # the capacity provider its strategy chose ("" with a launch type)

    @property
    def service_name(self) -> str:
        return self.service.name if self.service is not None else ""
