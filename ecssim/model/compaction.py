"""Giving back the slots of instances that are gone for good, so memory stays flat in long runs.

Every container instance takes a slot: a cell in each per-slot array of the cluster (one per
task group among them), an entry in the agents list, the recorder's lists, the groups' books.
An instance that is INACTIVE keeps nothing alive but these, yet in a run of weeks with
failures and replacements the instances ever launched keep growing. :class:`SlotCompactor`
drops the slots of INACTIVE instances once enough of them piled up, renumbering the others
downwards in order, between two events (a zero-delay timer), when no caller holds a slot
number on its stack. Every component that keeps slot numbers renumbers them in its own
``remap_slots(new_of)``; deferred work holds the instance's :class:`InstanceInfo` (whose
``slot`` is kept current, -1 once dropped) instead of a number.

Order is kept, so placement tie-breaks and every random draw are the same: a run compacts
its slots or not with the same rows. On by default only in summary-only runs, where nothing
reads the rows of dropped slots afterwards (a full run's ``cluster_state``, ``explain`` and
the invariant checker look at every instance ever launched).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .cluster import INACTIVE

#: Fewest INACTIVE slots worth a compaction (each one copies every per-slot array once).
MIN_DEAD_SLOTS = 256
#: A compaction waits until the INACTIVE slots are at least this fraction of the slots in use,
#: so that its cost, proportional to the slots in use, is spread over as many terminations.
DEAD_FRACTION = 0.25


def remap_dict(mapping: dict, new_of: np.ndarray) -> dict:
    """``mapping`` keyed by slot, keyed by the new slots (dropped slots' entries left out; order kept)."""
    out = {}
    for slot, value in mapping.items():
        new = int(new_of[slot])
        if new >= 0:
            out[new] = value
    return out


def remap_slots(slots: Iterable[int], new_of: np.ndarray) -> list[int]:
    """The new numbers of ``slots``, in their order, the dropped ones left out."""
    return [new for new in (int(new_of[s]) for s in slots) if new >= 0]


class SlotCompactor:
    """Counts the instances that became INACTIVE and compacts the slots when enough did.

    ``min_dead`` and ``dead_fraction``: compact once the INACTIVE slots number at least both
    ``min_dead`` and ``dead_fraction`` of the slots in use (tests set ``min_dead=1`` to compact
    at every chance).
    """

    __slots__ = ("world", "min_dead", "dead_fraction", "dead", "scheduled", "compactions")

    def __init__(self, world, min_dead: int = MIN_DEAD_SLOTS, dead_fraction: float = DEAD_FRACTION) -> None:  # noqa: ANN001
        self.world = world
        self.min_dead = int(min_dead)
        self.dead_fraction = float(dead_fraction)
        self.dead = 0  # INACTIVE slots not yet dropped
        self.scheduled = False
        self.compactions = 0

    def instance_gone(self) -> None:
        """An instance became INACTIVE (called by the control plane, a slot number on the stack)."""
        self.dead += 1
        if (not self.scheduled and self.dead >= self.min_dead
                and self.dead >= self.dead_fraction * self.world.cluster.view.n):
            self.scheduled = True
            self.world.env.timeout(0).callbacks.append(self._compact)

    def _compact(self, _event) -> None:  # noqa: ANN001
        self.scheduled = False
        compact(self.world)
        self.dead = 0
        self.compactions += 1


def compact(world) -> np.ndarray:  # noqa: ANN001
    """Drop the slots of every INACTIVE instance of ``world`` now; returns old slot -> new (-1: dropped).

    Only between events: a caller holding a slot number across this call would hold a stale one.
    """
    cluster, plane = world.cluster, world.plane
    keep = np.fromiter((info.status != INACTIVE for info in cluster.infos), dtype=bool, count=cluster.view.n)
    for slot in np.flatnonzero(~keep).tolist():
        agent = plane.agents[slot]
        if agent.tasks or not agent.terminated:
            raise RuntimeError(f"slot {slot} is INACTIVE but its agent still has tasks or was not terminated")
    new_of = cluster.compact(keep)
    plane.remap_slots(new_of)
    world.rec.remap_slots(new_of)
    for asg in world.asgs.values():
        asg.remap_slots(new_of)
    for provider in world.providers.values():
        remap = getattr(provider, "remap_slots", None)  # Fargate providers hold no instance slots
        if remap is not None:
            remap(new_of)
    for daemon in plane.daemons():
        daemon.remap_slots(new_of)
    return new_of
