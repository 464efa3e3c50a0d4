"""Which container instances a fault or an operator action hits (a pure function)."""

from __future__ import annotations

import math

import numpy as np

from .cluster import INACTIVE, InstanceInfo


def select_instances(infos: list[InstanceInfo], selector, rng: np.random.Generator) -> list[int]:  # noqa: ANN001
    """Slots of the instances that match every criterion of ``selector``, sampled by count/fraction.

    Only instances that still exist (not INACTIVE) are considered, in slot order, so the
    choice depends only on the selector's own random stream.
    """
    matches = [info for info in infos if info.status != INACTIVE]
    if selector.instance_ids is not None:
        wanted = set(selector.instance_ids)
        matches = [info for info in matches if info.id in wanted]
    if selector.fleet is not None:
        matches = [info for info in matches if info.fleet == selector.fleet]
    if selector.availability_zone is not None:
        matches = [info for info in matches if info.az == selector.availability_zone]
    if selector.attribute:
        matches = [info for info in matches
                   if all(info.attributes.get(name) == value for name, value in selector.attribute.items())]
    slots = [info.slot for info in matches]
    take = None
    if selector.count is not None:
        take = selector.count
    elif selector.fraction is not None:
        take = math.ceil(selector.fraction * len(slots))
    if take is not None and take < len(slots):
        picks = rng.choice(len(slots), size=take, replace=False)
        slots = sorted(slots[int(k)] for k in picks)
    return slots
