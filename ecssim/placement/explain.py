"""Why an instance was (not) chosen: a DataFrame of every ACTIVE slot for one placement.

Built only on request (``place(..., explain=True)``), after the decision is made and without
drawing from the random stream, so explaining never changes a run.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ecssim.placement.demand import TaskDemand
from ecssim.placement.strategies import Strategy, column_name, strategy_keys
from ecssim.placement.view import ClusterView

if TYPE_CHECKING:
    from ecssim.placement.pipeline import Constraint, PlacementDecision


def explain_candidates(
    demand: TaskDemand,
    view: ClusterView,
    strategies: Sequence[Strategy],
    constraints: Sequence[Constraint] | bool,
    group: str,
    decision: PlacementDecision,
) -> pd.DataFrame:
    """One row per ACTIVE slot (index ``slot``), explaining a placement decision.

    ``constraints`` are the rules given to :func:`~ecssim.placement.place` (a bool is still
    accepted and means "distinctInstance or nothing", the form of the first version).

    Columns: ``instance_id``; ``filtered_by`` (the first failing check, "" if feasible);
    one column per strategy (``binpack:cpu``, ``spread:attribute:ecs.availability-zone``,
    ...) holding the slot's key (remaining amount, or tasks of the group in the slot's bucket;
    lower is preferred; ``random`` columns are ``NaN``: a draw has no key); and ``rank``
    (nullable integer, ``<NA>`` for filtered slots). Rank orders the feasible slots by the
    strategy keys up to the first ``random`` rule (later rules never act), then puts the
    chosen slot first among exact ties, then the lowest slot; rank 1 is the chosen slot.
    """
    from ecssim.placement.pipeline import check_masks

    if isinstance(constraints, bool):
        constraints = [("distinctInstance", None)] if constraints else []
    n = view.n
    counts = view.group_counts.get(group)
    counts = None if counts is None else counts[:n]
    slots = np.flatnonzero(view.active[:n])
    checks = check_masks(demand, view, n, constraints, counts)
    filtered_by = np.select(
        [~mask[slots] for _, mask in checks], [reason for reason, _ in checks], default=""
    )
    columns: dict[str, object] = {
        "instance_id": [view.instance_ids[s] for s in slots],
        "filtered_by": filtered_by,
    }
    rank_keys: list[np.ndarray] = []
    deterministic = True
    for kind, field in strategies or (("random", None),):
        name = _unique(column_name(kind, field), columns)
        if kind == "random":
            columns[name] = np.full(slots.size, np.nan)
            deterministic = False
            continue
        keys = strategy_keys(kind, field, view, slots, counts, view.active[:n])
        keys = np.zeros(slots.size, dtype=np.int64) if keys is None else keys.astype(np.int64)
        columns[name] = keys
        if deterministic:
            rank_keys.append(keys)
    feasible = filtered_by == ""
    not_chosen = slots != decision.instance
    # np.lexsort sorts by its last key first.
    order = np.lexsort([slots, not_chosen, *reversed(rank_keys), ~feasible])
    rank = pd.array([pd.NA] * slots.size, dtype="Int64")
    ranked = order[: int(feasible.sum())]
    rank[ranked] = np.arange(1, ranked.size + 1)
    columns["rank"] = rank
    return pd.DataFrame(columns, index=pd.Index(slots, name="slot"))


def _unique(name: str, taken: dict[str, object]) -> str:
    """``name``, or ``name#2``, ``name#3``... if a column of that name already exists."""
    candidate, k = name, 1
    while candidate in taken:
        k += 1
        candidate = f"{name}#{k}"
    return candidate
