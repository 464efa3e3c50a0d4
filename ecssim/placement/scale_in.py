"""Which tasks a service stops when it scales in: the mirror image of placement.

What ECS documents (ecs-reference 3.2, 3.3):
- default service logic: stop from the AZ with the most tasks of the service, then from the
  instance with the most tasks of the service;
- ``spread``: keep the spread balanced (for AZs: "random within an AZ");
- ``binpack``: stop the task whose removal leaves its instance with the most available
  resource of that kind.

What is inferred here:
- Rules are applied lexicographically, as for placement, each keeping the tasks with the
  *largest* key: spread-over-attribute = tasks of the group in the task's bucket, spread over
  ``instanceId``/``host`` = tasks of the group on the task's instance, binpack = the instance's
  current free amount (a task's own share is unknown here and is the same for every task of
  a service, so the largest free amount now is the largest after the stop). ``random`` and
  ties left after the last rule: uniform with ``rng``; an empty list means random.
- When the first rule spreads over an attribute and no rule spreads over instances, a final
  "most tasks of the group on the instance" rule is appended (the default service logic).
  So ``spread AZ, binpack memory`` picks the AZ, then the instance with the most free memory.
- Counts start from the view's group counts on every slot in use (ACTIVE or not: tasks on a
  DRAINING instance still belong to the service), raised where needed to at least the
  candidate tasks on each slot, and are decremented as tasks are chosen one at a time.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecssim.placement.strategies import Strategy, strategy_keys, validate_strategies
from ecssim.placement.view import ClusterView

_INSTANCE_SPREAD = ("spread", "instanceId")


def choose_tasks_to_stop(
    task_slots: np.ndarray,
    count: int,
    view: ClusterView,
    strategies: Sequence[Strategy],
    group: str,
    rng: np.random.Generator,
) -> np.ndarray:
    """Indices into ``task_slots`` of the ``count`` tasks to stop, in the order chosen.

    Args:
        task_slots: instance slot of each candidate task (e.g. the service's running tasks).
        count: how many to stop (0 <= count <= len(task_slots)).
        view: the cluster's instance state (read only).
        strategies: the service's placement strategy rules.
        group: the task group of the candidates.
        rng: random stream for ties.
    """
    task_slots = np.asarray(task_slots, dtype=np.intp)
    if not 0 <= count <= task_slots.size:
        raise ValueError(f"cannot stop {count} of {task_slots.size} tasks")
    validate_strategies(strategies)
    rules = _scale_in_rules(strategies)
    n = view.n
    counts = np.bincount(task_slots, minlength=n).astype(np.int64)
    known = view.group_counts.get(group)
    if known is not None:
        np.maximum(counts, known[:n], out=counts)
    remaining = np.ones(task_slots.size, dtype=bool)
    chosen = np.empty(count, dtype=np.intp)
    for i in range(count):
        k = _pick(np.flatnonzero(remaining), task_slots, rules, view, counts, rng)
        chosen[i] = k
        remaining[k] = False
        counts[task_slots[k]] -= 1
    return chosen


def _scale_in_rules(strategies: Sequence[Strategy]) -> list[Strategy]:
    """The rules to apply, with the implicit instance spread after an attribute spread."""
    rules = list(strategies) or [("random", None)]
    kind, field = rules[0]
    spreads_attribute = kind == "spread" and str(field).startswith("attribute:")
    spreads_instances = any(k == "spread" and f in ("instanceId", "host") for k, f in rules)
    if spreads_attribute and not spreads_instances:
        rules.append(_INSTANCE_SPREAD)
    return rules


def _pick(
    idx: np.ndarray,
    task_slots: np.ndarray,
    rules: list[Strategy],
    view: ClusterView,
    counts: np.ndarray,
    rng: np.random.Generator,
) -> int:
    """One task index among ``idx``: largest key per rule, lexicographically, random ties."""
    for kind, field in rules:
        if idx.size == 1 or kind == "random":
            break
        keys = strategy_keys(kind, field, view, task_slots[idx], counts, None)
        if keys is not None:
            idx = idx[keys == keys.max()]
    if idx.size == 1:
        return int(idx[0])
    return int(idx[int(rng.random() * idx.size)])
