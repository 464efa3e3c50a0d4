"""Slots sorted by free memory (or CPU), so a binpack placement finds its instance without a full scan.

With 5,000 instances a full scan is some twenty numpy passes per task; binpack only wants the
feasible slot with the least free memory, which a walk up the sorted order usually meets within
a few steps. :func:`fast_choose` answers exactly what :func:`~ecssim.placement.pipeline.place`'s
scan would (the same slot, the same random draw among ties) for the rules most services use
(``binpack`` alone, or ``spread`` over an attribute then ``binpack``; ``random``) and gives up (``None``)
whenever it cannot be sure within ``MAX_WALK`` steps: the scan then runs as before.

The owner of the view (``model.cluster.Cluster``) keeps the orders up to date through
:meth:`FreeIndex.moved` and :meth:`FreeIndex.added`; copies of a view have no index.
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
#: Orders kept at most (one per binpack field and threshold of the other resource met so far).
MAX_ORDERS = 8


class FreeOrder:
    """The slots that are ACTIVE, connected and have at least ``threshold`` of the other resource
    free, sorted by their free amount of ``field``, as keys ``free << SLOT_BITS | slot``."""

    __slots__ = ("field", "threshold", "keys", "key_of", "slots")

    def __init__(self, field: str, threshold: int, view: ClusterView) -> None:
        self.field = field
        self.threshold = threshold
        self.keys: list[int] = []
        self.key_of: dict[int, int] = {}  # slot -> its key in ``keys``
        for slot in range(view.n):
            key = self._key(slot, view)
            if key is not None:
                self.key_of[slot] = key
                self.keys.append(key)
        self.keys.sort()
        self.slots = sorted(self.key_of)  # the same slots in slot order (random placements)

    def _key(self, slot: int, view: ClusterView) -> int | None:
        if self.field == "memory":
            free, other = view.memory_free, view.cpu_free
        else:
            free, other = view.cpu_free, view.memory_free
        if not view.active[slot] or not view.connected[slot] or other[slot] < self.threshold:
            return None
        return (int(free[slot]) << SLOT_BITS) | slot

    def refresh(self, slot: int, view: ClusterView) -> None:
        """Put ``slot`` where its current state says (in or out, at its free amount)."""
        new = self._key(slot, view)
        old = self.key_of.get(slot)
        if new == old:
            return
        keys = self.keys
        if old is not None:
            del keys[bisect_left(keys, old)]
        else:
            insort(self.slots, slot)
        if new is None:
            del self.key_of[slot]
            del self.slots[bisect_left(self.slots, slot)]
        else:
            insort(keys, new)
            self.key_of[slot] = new


class FreeIndex:
    """Sorted orders of the slots by free memory (or CPU), one per threshold on the other resource.

    An order is built the first time a placement asks for it, then kept by the view's owner,
    which calls :meth:`refresh` whenever a slot's free amounts, status or connection change.
    ``version`` is bumped by the owner whenever an instance's status or attributes change,
    which is what the cached buckets-with-an-ACTIVE-instance depend on.
    """

    __slots__ = ("orders", "version", "_live_buckets", "_exact")

    def __init__(self) -> None:
        self.orders: list[FreeOrder] = []
        self._exact: dict[tuple[str, int], FreeOrder | None] = {}  # (field, threshold) -> order()
        self.version = 0
        self._live_buckets: dict[str, tuple[int, int, list[int]]] = {}

    def order(self, field: str, threshold: int, view: ClusterView) -> FreeOrder | None:
        """The order of ``field`` with the highest threshold not above ``threshold``: made for
        exactly ``threshold`` when there is room for one more, else the best there is (or None)."""
        found = self._exact.get((field, threshold))
        if found is not None:
            return found
        best = None
        for order in self.orders:
            if order.field == field and order.threshold <= threshold and (best is None or order.threshold > best.threshold):
                best = order
        if (best is None or best.threshold != threshold) and len(self.orders) < MAX_ORDERS:
            best = FreeOrder(field, threshold, view)
            self.orders.append(best)
        if best is not None and best.threshold == threshold:
            self._exact[(field, threshold)] = best
        return best

    def refresh(self, slot: int, view: ClusterView) -> None:
        """``slot``'s status or connection changed."""
        for order in self.orders:
            order.refresh(slot, view)

    def moved(self, slot: int, cpu: int, memory: int, view: ClusterView) -> None:
        """``slot``'s free amounts are now ``cpu`` and ``memory`` (its status and connection did not change).

        :meth:`FreeOrder.refresh` inlined for the hot path (twice per task): a slot in an order
        is ACTIVE and connected, so only one outside every order needs the view read.
        """
        live = None
        for order in self.orders:
            free, other = (memory, cpu) if order.field == "memory" else (cpu, memory)
            key_of = order.key_of
            old = key_of.get(slot)
            if other >= order.threshold:
                if old is None:
                    if live is None:
                        live = bool(view.active[slot]) and bool(view.connected[slot])
                    if not live:
                        continue
                new = (free << SLOT_BITS) | slot
                if new == old:
                    continue
                keys = order.keys
                if old is not None:
                    del keys[bisect_left(keys, old)]
                else:
                    insort(order.slots, slot)
                insort(keys, new)
                key_of[slot] = new
            elif old is not None:
                del order.keys[bisect_left(order.keys, old)]
                del key_of[slot]
                del order.slots[bisect_left(order.slots, slot)]

    def live_buckets(self, attribute: str, codes: np.ndarray, view: ClusterView) -> list[int]:
        """The buckets (attribute code + 1; 0 = attribute missing) holding an ACTIVE slot."""
        cached = self._live_buckets.get(attribute)
        if cached is not None and cached[0] == self.version and cached[1] == view.n:
            return cached[2]
        n = view.n
        buckets = np.unique(codes[:n][view.active[:n]] + 1).tolist()
        self._live_buckets[attribute] = (self.version, n, buckets)
        return buckets


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

    Only for ``[binpack]`` and ``[spread(attribute), binpack]`` rules, a task without static
    ports, ENIs or GPUs, and no constraint (the caller checks the last three).
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
    codes = totals = None
    least = 0.0
    if attribute is not None:
        counts = view.group_counts.get(group)
        entry = view.attributes.get(attribute)
        if counts is not None and entry is not None:  # else the spread cannot tell slots apart: skipped
            codes = entry[0]
            totals = spread_bucket_totals(view, attribute, counts[: view.n], group).tolist()
            live = index.live_buckets(attribute, codes, view)
            if not live:
                return None
            # No feasible slot lies in a bucket with fewer tasks than this: a feasible slot in
            # a bucket holding exactly this many is in the spread's tie set.
            least = min(totals[bucket] for bucket in live)
    if field == "memory":
        need, other_free, other_need = demand.memory_mib, view.cpu_free, demand.cpu
    else:
        need, other_free, other_need = demand.cpu, view.memory_free, demand.memory_mib
    order = index.order(field, other_need, view)
    if order is None:
        return None
    keys = order.keys
    check_other = order.threshold < other_need  # else every slot of the order has enough
    start = bisect_left(keys, need << SLOT_BITS)
    end = len(keys)
    stop = min(end, start + MAX_WALK)
    hits: list[int] = []
    level = -1
    i = start
    while i < stop:
        key = keys[i]
        i += 1
        if hits and key >> SLOT_BITS != level:
            break  # past the tie run of the least free amount: complete
        slot = key & SLOT_MASK
        if check_other and other_free[slot] < other_need:
            continue
        if codes is not None and totals[codes[slot] + 1] != least:
            continue
        level = key >> SLOT_BITS
        hits.append(slot)
    else:
        if i < end or not hits:
            return None  # gave up within the walk, or no slot found at all: the scan decides
    if len(hits) == 1:
        return hits[0]
    return hits[int(rng.random() * len(hits))]


def _random_choice(demand, view: ClusterView, index: FreeIndex, rng: np.random.Generator) -> int | None:  # noqa: ANN001
    """The scan's random pick: the ``int(rng.random() * k)``-th of the k feasible slots in slot order.

    The feasible slots are the order's (ACTIVE, connected, CPU at least the task's) from the
    first with enough memory on; the few before it (at most ``MAX_WALK``) are skipped while
    counting along the order's slots.
    """
    order = index.order("memory", demand.cpu, view)
    if order is None or order.threshold != demand.cpu:
        return None
    keys = order.keys
    start = bisect_left(keys, demand.memory_mib << SLOT_BITS)
    size = len(keys) - start
    if size == 0 or start > MAX_WALK:
        return None  # nothing fits (the scan says why), or too many to skip
    if start == 0:
        skipped: list[int] = []
    else:
        skipped = sorted(key & SLOT_MASK for key in keys[:start])
    slots = order.slots
    wanted = 0 if size == 1 else int(rng.random() * size)
    # the smallest position j whose slot is not skipped and has `wanted` unskipped slots before it
    j = wanted
    while True:
        at = wanted + bisect_right(skipped, slots[j])
        if at == j:
            return slots[j]
        j = at
