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
    slots = [info.slot for info in infos if info.status != INACTIVE and matches(info, selector)]
    take = None
    if selector.count is not None:
        take = selector.count
    elif selector.fraction is not None:
        take = math.ceil(selector.fraction * len(slots))
    if take is not None and take < len(slots):
        picks = rng.choice(len(slots), size=take, replace=False)
        slots = sorted(slots[int(k)] for k in picks)
    return slots


def matches(info: InstanceInfo, selector) -> bool:  # noqa: ANN001
    """True if the instance meets every criterion of ``selector`` except count/fraction (None: all)."""
    if selector is None:
        return True
    if selector.instance_ids is not None and info.id not in selector.instance_ids:
        return False
    if selector.fleet is not None and info.fleet != selector.fleet:
        return False
    if selector.availability_zone is not None and info.az != selector.availability_zone:
        return False
    if selector.attribute:
        return all(info.attributes.get(name) == value for name, value in selector.attribute.items())
    return True
