"""Placement on one given instance, as a DAEMON service does (pure, like ``place``).

A daemon task does not choose among instances: it belongs on a particular one. The
instance must still pass every check ``place`` applies (agent, CPU, memory, ports, ENIs,
GPUs, constraints), and when it does not, the reason is that instance's first failing
check, so the service event names the real cause on the real instance.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecssim.placement.demand import TaskDemand
from ecssim.placement.pipeline import (
    REASON_NO_ACTIVE_INSTANCES,
    Constraint,
    PlacementDecision,
    check_masks,
    constraint_masks,
)
from ecssim.placement.view import ClusterView


def place_on(
    demand: TaskDemand, view: ClusterView, slot: int, constraints: Sequence[Constraint], group: str
) -> PlacementDecision:
    """Place one task on ``slot`` if it passes every check; else its first failing reason."""
    if slot < 0 or slot >= view.n or not view.active[slot]:
        return PlacementDecision(-1, REASON_NO_ACTIVE_INSTANCES, -1)
    counts = view.group_counts.get(group)
    if counts is not None:
        counts = counts[: view.n]
    for reason, passing in check_masks(demand, view, view.n, constraints, counts):
        if not passing[slot]:
            return PlacementDecision(-1, reason, slot)
    return PlacementDecision(slot, "", slot)


def eligible_slots(view: ClusterView, constraints: Sequence[Constraint], group: str) -> np.ndarray:
    """Slots of the ACTIVE instances whose attributes satisfy the constraints (DAEMON eligibility).

    Resources do not decide eligibility: an eligible instance without room is one where the
    daemon keeps retrying (ECS, section 4.1).
    """
    n = view.n
    ok = view.active[:n].copy()
    counts = view.group_counts.get(group)
    member_of = [c for c in constraints if c[0] == "memberOf"]
    for _reason, mask in constraint_masks(member_of, view, n, None if counts is None else counts[:n]):
        ok &= mask
    return np.flatnonzero(ok)
