"""Which capacity provider a new task uses, by its strategy's base and weights (ecs-reference 6.1).

ECS: "The base value is satisfied first ... the remaining tasks are split by the weight
ratio"; a provider of weight 0 places no task beyond its base (in a strategy of several).
ECS does not publish the order in which it hands out the weighted tasks; ecssim gives each
new task to the provider furthest below its weighted share of the tasks beyond the base
(ties: the first in the strategy), so weights 1:3 give B A B B B A B B ..., exactly 1:3
over every four tasks. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def choose_provider(items: Sequence[tuple[str, int, int]], counts: Mapping[str, int]) -> str:
    """The provider of the next task.

    Args:
        items: the strategy as ``(provider, base, weight)`` in its order.
        counts: live tasks (desired status RUNNING) the same requester already has per provider.
    """
    for name, base, _weight in items:
        if base > 0 and counts.get(name, 0) < base:
            return name
    weighted = [(name, base, weight) for name, base, weight in items if weight > 0]
    if not weighted:  # a single provider of weight 0: it takes every task
        return items[0][0]
    beyond = {name: max(counts.get(name, 0) - base, 0) for name, base, _w in weighted}
    total = sum(beyond.values()) + 1
    weight_sum = sum(weight for _n, _b, weight in weighted)
    best, best_gap = weighted[0][0], None
    for name, _base, weight in weighted:
        gap = total * weight / weight_sum - beyond[name]
        if best_gap is None or gap > best_gap + 1e-12:
            best, best_gap = name, gap
    return best
