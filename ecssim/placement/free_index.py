"""Slots sorted by free memory (or CPU), so most placements find their instance without a full scan.

With 5,000 instances a full scan is some twenty numpy passes per task; binpack only wants the
feasible slot with the least free memory, which the sorted order gives after a binary search
and usually a step or two. :func:`fast_choose` answers exactly what
:func:`~ecssim.placement.pipeline.place`'s scan would (the same slot, the same random draw
among ties) for the rules most tasks use: ``binpack`` alone, ``spread`` over an attribute then
``binpack`` (one sorted list per attribute value), and ``random``. It gives up (``None``)
whenever it cannot be sure within ``MAX_WALK`` steps, and the scan runs as before.

An order holds the slots that are ACTIVE, connected and have at least a threshold of the other
resource free (the task's own CPU, say, for a memory order), so every slot in it from the
binary search on fits the task. The owner of the view (``model.cluster.Cluster``) keeps the
orders up to date through :meth:`FreeIndex.moved` and :meth:`FreeIndex.refresh`; copies of a
view have no index.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort

import numpy as np

from ecssim.placement.strategies import spread_bucket_totals
from ecssim.placement.view import ClusterView

#: A sorted key is ``free << SLOT_BITS | slot``: ints compare faster than tuples.
SLOT_BITS = 24
SLOT_MASK = (1 << SLOT_BITS) - 1
#: Slots a walk may visit before it gives up and lets the full scan decide (a bound on the
#: cost of a miss; the answer is the same either way).
MAX_WALK = 48
#: Orders kept at most (one per binpack field, threshold and spread attribute met so far).
MAX_ORDERS = 8
#: Attribute values a spread may have for the index to answer (one binary search each).
MAX_BUCKETS = 16


class FreeOrder:
    """The slots that are ACTIVE, connected and have at least ``threshold`` of the other resource
    free, sorted by their free amount of ``field`` as keys ``free << SLOT_BITS | slot``: one list
    per bucket of ``attribute`` (its value's code + 1, 0 = missing), or one list (bucket 0).

    ``key_of`` and ``list_of`` give each slot's key and its bucket's list (None: not in the
    order). They are lists indexed by slot, not dicts of tuples: moving a slot, twice per task,
    then builds no tuple and reads two list items (a tenth faster, measured within a run).
    """

    __slots__ = ("field", "threshold", "attribute", "lists", "key_of", "list_of", "slots")

    def __init__(self, field: str, threshold: int, attribute: str | None, view: ClusterView) -> None:
        self.field = field
        self.threshold = threshold
        self.attribute = attribute
        self.lists: dict[int, list[int]] = {}
        self.key_of: list[int | None] = [None] * view.n
        self.list_of: list[list[int] | None] = [None] * view.n
        for slot in range(view.n):
            state = self._state(slot, view)
            if state is not None:
                keys = self.lists.setdefault(state[0], [])
                keys.append(state[1])
                self.key_of[slot], self.list_of[slot] = state[1], keys
        for keys in self.lists.values():
            keys.sort()
        self.slots = [slot for slot, state in enumerate(self.key_of) if state is not None]  # slot order

    def _bucket(self, slot: int, view: ClusterView) -> int:
        entry = view.attributes.get(self.attribute) if self.attribute is not None else None
        return 0 if entry is None else int(entry[0][slot]) + 1

    def _state(self, slot: int, view: ClusterView) -> tuple[int, int] | None:
        if self.field == "memory":
            free, other = view.memory_free, view.cpu_free
        else:
            free, other = view.cpu_free, view.memory_free
        if not view.active[slot] or not view.connected[slot] or other[slot] < self.threshold:
            return None
        return self._bucket(slot, view), (int(free[slot]) << SLOT_BITS) | slot

    def put(self, slot: int, new: tuple[int, int] | None) -> None:
        """Move ``slot`` to ``new`` (bucket, key), or out of the order (``None``)."""
        key_of, list_of = self.key_of, self.list_of
        if slot >= len(key_of):
            key_of.extend([None] * (slot + 1 - len(key_of)))
            list_of.extend([None] * (slot + 1 - len(list_of)))
        old_key, old_keys = key_of[slot], list_of[slot]
        if old_keys is None:
            if new is None:
                return
            insort(self.slots, slot)
        else:
            if new is not None and new[1] == old_key and self.lists.get(new[0]) is old_keys:
                return  # same bucket, same key
            del old_keys[bisect_left(old_keys, old_key)]
        if new is None:
            key_of[slot] = list_of[slot] = None
            del self.slots[bisect_left(self.slots, slot)]
        else:
            keys = self.lists.setdefault(new[0], [])
            insort(keys, new[1])
            key_of[slot], list_of[slot] = new[1], keys

    def refresh(self, slot: int, view: ClusterView) -> None:
        """Put ``slot`` where its current state says (in or out, bucket, free amount)."""
        self.put(slot, self._state(slot, view))


class FreeIndex:
    """The orders placements asked for, each built on first use and kept by the view's owner."""

    __slots__ = ("orders", "_exact")

    def __init__(self) -> None:
        self.orders: list[FreeOrder] = []
        self._exact: dict[tuple[str, int, str | None], FreeOrder] = {}

    def order(self, field: str, threshold: int, attribute: str | None, view: ClusterView,
              create: bool = True) -> FreeOrder | None:
        """The order for exactly this threshold (made, if ``create``, when there is room for one
        more), else the one with the highest threshold below it, or None."""
        found = self._exact.get((field, threshold, attribute))
        if found is not None:
            return found
        best = None
        for order in self.orders:
            if (order.field == field and order.attribute == attribute and order.threshold <= threshold
                    and (best is None or order.threshold > best.threshold)):
                best = order
        if (best is None or best.threshold != threshold) and create and len(self.orders) < MAX_ORDERS:
            best = FreeOrder(field, threshold, attribute, view)
            self.orders.append(best)
        if best is not None and best.threshold == threshold:
            self._exact[(field, threshold, attribute)] = best
        return best

    def rebuild(self, view: ClusterView) -> None:
        """Build every order again from ``view`` (its slots were renumbered), keeping which orders exist."""
        rebuilt = {id(order): FreeOrder(order.field, order.threshold, order.attribute, view) for order in self.orders}
        self.orders = [rebuilt[id(order)] for order in self.orders]
        self._exact = {key: rebuilt[id(order)] for key, order in self._exact.items()}

    def refresh(self, slot: int, view: ClusterView) -> None:
        """``slot``'s status, connection or attributes changed."""
        for order in self.orders:
            order.refresh(slot, view)

    def moved(self, slot: int, cpu: int, memory: int, view: ClusterView) -> None:
        """``slot``'s free amounts are now ``cpu`` and ``memory`` (nothing else changed).

        The hot path (twice per task): a slot already in an order keeps its bucket and is
        ACTIVE and connected, so only a slot entering an order needs the view read.
        """
        live = None
        for order in self.orders:
            free, other = (memory, cpu) if order.field == "memory" else (cpu, memory)
            key_of = order.key_of
            old = key_of[slot] if slot < len(key_of) else None
            if other < order.threshold:
                if old is not None:
                    order.put(slot, None)
                continue
            if old is None:
                if live is None:
                    live = bool(view.active[slot]) and bool(view.connected[slot])
                if live:
                    order.put(slot, (order._bucket(slot, view), (free << SLOT_BITS) | slot))
            elif old >> SLOT_BITS != free:  # put() inlined: same bucket, new place
                keys = order.list_of[slot]
                del keys[bisect_left(keys, old)]
                key = (free << SLOT_BITS) | slot
                insort(keys, key)
                key_of[slot] = key


#: strategies -> (spread attribute or None, binpack field or "random"), or None when not for the index.
_PLANS: dict[tuple, tuple[str | None, str] | None] = {}


def _plan(strategies) -> tuple[str | None, str] | None:  # noqa: ANN001
    if not strategies or strategies[0][0] == "random":
        return None, "random"
    if len(strategies) == 1:
        (kind, field), attribute = strategies[0], None
    elif len(strategies) == 2 and strategies[0][0] == "spread" and (strategies[0][1] or "").startswith("attribute:"):
        attribute = strategies[0][1][10:]
        kind, field = strategies[1]
    else:
        return None
    if kind != "binpack" or field not in ("memory", "cpu"):
        return None
    return attribute, field


def fast_choose(demand, view: ClusterView, strategies, group: str, rng: np.random.Generator) -> int | None:  # noqa: ANN001
    """The slot ``place`` would choose, or ``None`` if this cannot tell quickly (or nothing fits).

    Only for a task without static ports, ENIs or GPUs, and no constraint (the caller checks).
    """
    index = view.index
    if index is None or view.n > SLOT_MASK:
        return None
    try:
        plan = _PLANS[strategies]
    except KeyError:
        plan = _PLANS[strategies] = _plan(strategies)
    except TypeError:  # a list of rules: unhashable
        plan = _plan(strategies)
    if plan is None:
        return None
    attribute, field = plan
    if field == "random":
        return _random_choice(demand, view, index, rng)
    create = True
    if attribute is not None and (view.group_counts.get(group) is None or attribute not in view.attributes):
        # the spread cannot tell slots apart: skipped, as the scan does (a group's first task:
        # not worth an order of its own to keep up)
        attribute, create = None, False
    if field == "memory":
        need, other_free, other_need = demand.memory_mib, view.cpu_free, demand.cpu
    else:
        need, other_free, other_need = demand.cpu, view.memory_free, demand.memory_mib
    order = index.order(field, other_need, attribute, view, create)
    if order is None or len(order.lists) > MAX_BUCKETS:
        return None
    check_other = order.threshold < other_need  # else every slot of the order has enough
    lowest = need << SLOT_BITS
    # the first slot that fits in each bucket, among the buckets with the fewest tasks so far
    if attribute is None:
        buckets = list(order.lists.items())
    else:
        counts = view.group_counts[group]
        totals = spread_bucket_totals(view, attribute, counts[: view.n], group).tolist()
        buckets = sorted(order.lists.items(), key=lambda item: totals[item[0]])
    firsts: list[tuple[list[int], int]] = []  # (bucket's keys, position of its first fit)
    least = None
    budget = MAX_WALK
    for bucket, keys in buckets:
        if least is not None and totals[bucket] > least:
            break  # sorted by total: every later bucket holds more
        i = bisect_left(keys, lowest)
        while i < len(keys) and check_other and other_free[keys[i] & SLOT_MASK] < other_need:
            i += 1
            budget -= 1
            if budget <= 0:
                return None
        if i < len(keys):
            firsts.append((keys, i))
            if attribute is not None:
                least = totals[bucket]
    if not firsts:
        return None  # nothing fits: the scan says why
    level = min(keys[i] for keys, i in firsts) >> SLOT_BITS
    hits: list[int] = []
    for keys, i in firsts:
        while i < len(keys) and keys[i] >> SLOT_BITS == level:
            slot = keys[i] & SLOT_MASK
            if not check_other or other_free[slot] >= other_need:
                hits.append(slot)
            i += 1
            budget -= 1
            if budget <= 0:
                return None
    if len(hits) == 1:
        return hits[0]
    hits.sort()
    return hits[int(rng.random() * len(hits))]


def _random_choice(demand, view: ClusterView, index: FreeIndex, rng: np.random.Generator) -> int | None:  # noqa: ANN001
    """The scan's random pick: the ``int(rng.random() * k)``-th of the k feasible slots in slot order.

    The feasible slots are the order's (ACTIVE, connected, CPU at least the task's) from the
    first with enough memory on; the few before it (at most ``MAX_WALK``) are skipped while
    counting along the order's slots.
    """
    order = index.order("memory", demand.cpu, None, view)
    if order is None or order.threshold != demand.cpu:
        return None
    keys = order.lists.get(0, [])
    start = bisect_left(keys, demand.memory_mib << SLOT_BITS)
    size = len(keys) - start
    if size == 0 or start > MAX_WALK:
        return None  # nothing fits (the scan says why), or too many to skip
    skipped = sorted(key & SLOT_MASK for key in keys[:start]) if start else []
    slots = order.slots
    wanted = 0 if size == 1 else int(rng.random() * size)
    # the smallest position j whose slot is not skipped and has `wanted` unskipped slots before it
    j = wanted
    while True:
        at = wanted + bisect_right(skipped, slots[j])
        if at == j:
            return slots[j]
        j = at
