"""ECS's service-event text for a task that could not be placed (ecs-reference section 3.5)."""

from __future__ import annotations

from ecssim.placement.pipeline import (
    REASON_CPU,
    REASON_ENI,
    REASON_GPU,
    REASON_MEMBER_OF,
    REASON_MEMORY,
    REASON_NO_ACTIVE_INSTANCES,
    REASON_PORTS,
    PlacementDecision,
)
from ecssim.placement.view import ClusterView

#: What ECS says about the closest matching instance, per failure reason. CPU, memory and
#: ports are ECS's documented texts (DG23:service-event-messages); ``RESOURCE:ENI`` is the
#: observed ``encountered error "RESOURCE:ENI".`` (ecs-reference 2.4). ECS documents no text
#: for GPUs or for a memberOf constraint no instance met: ecssim uses the same observed form,
#: ``encountered error "<reason>".``, as for every other reason (AGENT, distinctInstance).
_CLOSEST_TEXT: dict[str, str] = {
    REASON_CPU: "has insufficient CPU units available.",
    REASON_MEMORY: "has insufficient memory available.",
    REASON_PORTS: "is already using a port required by your task.",
    REASON_ENI: f'encountered error "{REASON_ENI}".',
    REASON_GPU: f'encountered error "{REASON_GPU}".',
    REASON_MEMBER_OF: f'encountered error "{REASON_MEMBER_OF}".',
}


def unable_to_place_message(service: str, decision: PlacementDecision, view: ClusterView) -> str:
    """The service event ECS shows when no container instance met a task's requirements.

    Example: ``service web was unable to place a task because no container instance met all
    of its requirements. The closest matching container-instance i-0abc has insufficient CPU
    units available. For more information, see the Troubleshooting section.``
    Without any ACTIVE instance, only the first sentence.
    """
    head = (
        f"service {service} was unable to place a task because no container instance met "
        "all of its requirements."
    )
    if decision.reason == REASON_NO_ACTIVE_INSTANCES or decision.closest < 0:
        return head
    what = _CLOSEST_TEXT.get(decision.reason, f'encountered error "{decision.reason}".')
    instance_id = view.instance_ids[decision.closest]
    return (
        f"{head} The closest matching container-instance {instance_id} {what} "
        "For more information, see the Troubleshooting section."
    )
