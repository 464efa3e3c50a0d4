"""Which tasks a service stops when it scales in: the mirror image of placement.

What ECS documents, and what ecssim does (ecs-reference 3.2, 3.3):
- default service logic (no strategy given, :data:`DEFAULT_SERVICE_STRATEGY`): stop from the
  AZ with the most tasks of the service, then from the instance with the most tasks of the
  service; ties left: random.
- an explicit ``spread`` over an attribute as the *first* rule (typically
  ``attribute:ecs.availability-zone``): keep the spread balanced -- stop from the value (AZ)
  with the most tasks of the service -- and choose *randomly* within it ("random within an
  AZ"). Later rules do not act on scale-in then.
- ``binpack`` first: stop the task whose removal leaves its instance with the most available
  resource of that kind; ties go to the later rules, then random.

What is inferred here:
- Otherwise (``spread`` over ``instanceId``/``host`` or ``random`` first) the rules apply
  lexicographically, as for placement, each keeping the tasks with the *largest* key:
  instance spread = tasks of the group on the task's instance, attribute spread = tasks of
  the group with the task's value, binpack = the instance's free amount after the stop.
  ``random`` and ties left after the last rule: uniform with ``rng``; an empty list is random.
- Counts start from the view's group counts on every slot in use (ACTIVE or not: tasks on a
  DRAINING instance still belong to the service), raised where needed to at least the
  candidate tasks on each slot, and are decremented as tasks are chosen one at a time. With
  ``demand`` given, binpack also adds back what each chosen task frees, so stopping several
  tasks at once equals stopping them one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecssim.placement.demand import TaskDemand
from ecssim.placement.strategies import (
    INSTANCE_FIELDS,
    DefaultServiceStrategy,
    Strategy,
    strategy_keys,
    validate_strategies,
)
from ecssim.placement.view import ClusterView

_RANDOM: Strategy = ("random", None)


def choose_tasks_to_stop(
    task_slots: np.ndarray,
    count: int,
    view: ClusterView,
    strategies: Sequence[Strategy],
    group: str,
    rng: np.random.Generator,
    demand: TaskDemand | None = None,
) -> np.ndarray:
    """Indices into ``task_slots`` of the ``count`` tasks to stop, in the order chosen.

    Args:
        task_slots: instance slot of each candidate task (e.g. the service's running tasks).
        count: how many to stop (0 <= count <= len(task_slots)).
        view: the cluster's instance state (read only).
        strategies: the service's placement strategy rules; pass
            :data:`~ecssim.placement.DEFAULT_SERVICE_STRATEGY` itself for ECS's default logic.
        group: the task group of the candidates.
        rng: random stream for ties.
        demand: what one task reserves (optional); lets binpack count what earlier stops
            of the same call free.
    """
    task_slots = np.asarray(task_slots, dtype=np.intp)
    if not 0 <= count <= task_slots.size:
        raise ValueError(f"cannot stop {count} of {task_slots.size} tasks")
    validate_strategies(strategies)
    rules = scale_in_rules(strategies)
    n = view.n
    counts = np.bincount(task_slots, minlength=n).astype(np.int64)
    known = view.group_counts.get(group)
    if known is not None:
        np.maximum(counts, known[:n], out=counts)
    stopped = np.zeros(n, dtype=np.int64)
    remaining = np.ones(task_slots.size, dtype=bool)
    chosen = np.empty(count, dtype=np.intp)
    for i in range(count):
        k = _pick(np.flatnonzero(remaining), task_slots, rules, view, counts, stopped, demand, rng)
        chosen[i] = k
        remaining[k] = False
        counts[task_slots[k]] -= 1
        stopped[task_slots[k]] += 1
    return chosen


def scale_in_rules(strategies: Sequence[Strategy]) -> list[Strategy]:
    """The rules scale-in applies, in order (see the module docstring)."""
    if isinstance(strategies, DefaultServiceStrategy) or not strategies:
        return [*strategies, _RANDOM]
    kind, field = strategies[0]
    if kind == "spread" and str(field).startswith("attribute:"):
        return [strategies[0], _RANDOM]
    return [*strategies, _RANDOM]


def _pick(
    idx: np.ndarray,
    task_slots: np.ndarray,
    rules: list[Strategy],
    view: ClusterView,
    counts: np.ndarray,
    stopped: np.ndarray,
    demand: TaskDemand | None,
    rng: np.random.Generator,
) -> int:
    """One task index among ``idx``: largest key per rule, lexicographically, random ties."""
    for kind, field in rules:
        if idx.size == 1 or kind == "random":
            break
        slots = task_slots[idx]
        if kind == "spread" and field not in INSTANCE_FIELDS and _one_bucket(view, field, slots):
            continue  # every key equal (AZ rebalancing picks within one AZ): no O(instances) totals
        keys = strategy_keys(kind, field, view, slots, counts, None)
        if keys is not None and kind == "binpack" and demand is not None:
            keys = keys + stopped[slots] * (demand.cpu if field == "cpu" else demand.memory_mib)
        if keys is not None:
            idx = idx[keys == keys.max()]
    if idx.size == 1:
        return int(idx[0])
    return int(idx[int(rng.random() * idx.size)])


def _one_bucket(view: ClusterView, field: str, slots: np.ndarray) -> bool:
    """All of ``slots`` have the same value of the spread's attribute (or all lack it), so the
    rule's keys, one total per value, are all equal; also True when nobody has the attribute
    (the rule's keys are then None)."""
    entry = view.attributes.get(field[10:])
    if entry is None:
        return True
    codes = entry[0][slots]
    return bool(codes.min() == codes.max())
