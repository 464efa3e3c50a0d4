"""Placement strategies as key functions over instance slots (ecs-reference section 3.2).

A strategy is a ``(type, field)`` pair, as in ECS's ``placementStrategy``:
``("binpack", "cpu" | "memory")``, ``("spread", "instanceId" | "host" | "attribute:<name>")``
and ``("random", None)``. Each non-random strategy maps candidate slots to an integer key;
placement keeps the slots with the *smallest* key, scale-in picks the *largest* (the mirror
image, section 3.2). Strategies are applied lexicographically: each later one only breaks the
ties left by the earlier ones (ecs-reference 3.2, INFERENCE).

Choices documented here (ECS does not publish them):
- ``spread`` over an attribute counts the group's tasks per attribute value over the slots in
  ``weight`` (placement: all ACTIVE instances, feasible or not). Instances lacking the
  attribute form one extra bucket of their own, counted like any other value.
- ``spread`` over an attribute nobody has, or with no task of the group anywhere, cannot
  tell instances apart and is skipped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ecssim.placement.view import AZ_ATTRIBUTE, ClusterView

#: A strategy rule: ``(type, field)``; ``field`` is ``None`` for ``random``.
Strategy = tuple[str, str | None]


class DefaultServiceStrategy(tuple):
    """ECS's built-in service logic, a tuple of rules marked as *not* given by the user.

    Placement treats it as its rules; scale-in tells it apart (``isinstance``) from an
    explicit AZ spread, because ECS documents a different stop choice for each (3.2, 3.3).
    """

    __slots__ = ()


#: ECS's built-in service logic: fewest tasks of the service in the AZ, then on the instance.
DEFAULT_SERVICE_STRATEGY: tuple[Strategy, ...] = DefaultServiceStrategy(
    (
        ("spread", f"attribute:{AZ_ATTRIBUTE}"),
        ("spread", "instanceId"),
    )
)

#: RunTask's default: distribute tasks randomly across the cluster.
DEFAULT_RUNTASK_STRATEGY: tuple[Strategy, ...] = (("random", None),)

#: Valid fields per strategy type (``attribute:<name>`` is checked by prefix).
STRATEGY_FIELDS: dict[str, tuple[str, ...]] = {
    "binpack": ("cpu", "memory"),
    "spread": ("instanceId", "host", "attribute:<name>"),
    "random": (),
}

#: ``spread`` fields that mean "each instance is its own bucket".
INSTANCE_FIELDS = ("instanceId", "host")


def validate_strategies(strategies: Sequence[Strategy]) -> None:
    """Raise ``ValueError`` naming the valid choices if a rule is not a known strategy."""
    for kind, field in strategies:
        if kind == "binpack":
            ok = field in ("cpu", "memory")
        elif kind == "spread":
            ok = field in INSTANCE_FIELDS or (
                isinstance(field, str) and field.startswith("attribute:") and len(field) > 10
            )
        elif kind == "random":
            ok = True
        else:
            raise ValueError(f"unknown placement strategy type {kind!r}; valid: {', '.join(STRATEGY_FIELDS)}")
        if not ok:
            raise ValueError(
                f"invalid field {field!r} for {kind} strategy; valid: {', '.join(STRATEGY_FIELDS[kind])}"
            )


def strategy_keys(
    kind: str,
    field: str | None,
    view: ClusterView,
    slots: np.ndarray,
    counts: np.ndarray | None,
    weight: np.ndarray | None,
) -> np.ndarray | None:
    """Key of a non-random strategy for each of ``slots``, or ``None`` if all keys are equal.

    Args:
        kind, field: the strategy rule (``random`` is handled by the caller).
        view: the cluster.
        slots: slot indices to compute keys for.
        counts: tasks of the group per slot (first ``view.n`` slots), ``None`` if none.
        weight: mask of slots whose tasks count toward attribute buckets (``None`` = all).
    """
    if kind == "binpack":
        free = view.cpu_free if field == "cpu" else view.memory_free
        return free[slots]
    # spread
    if counts is None:
        return None
    if field in INSTANCE_FIELDS:
        return counts[slots]
    totals = bucket_totals(view, field[10:], counts, weight)  # type: ignore[index]
    if totals is None:
        return None
    totals, codes1 = totals
    return totals[codes1[slots]]


def full_keys(
    kind: str, field: str | None, view: ClusterView, counts: np.ndarray | None, n: int
) -> np.ndarray | None:
    """Key of a binpack or ``spread`` over instances for each of the first ``n`` slots.

    Placement's form of :func:`strategy_keys`, without an index array; ``None`` if all keys
    are equal (no task of the group). ``spread`` over an attribute is :func:`spread_ties`.
    """
    if kind == "binpack":
        return (view.cpu_free if field == "cpu" else view.memory_free)[:n]
    return counts


def spread_bucket_totals(view: ClusterView, attribute: str, counts: np.ndarray, group: str | None) -> np.ndarray:
    """Tasks of the group (``counts`` over the first n slots) on ACTIVE slots per bucket of ``attribute``.

    Bucket 0 holds the slots lacking the attribute, bucket ``code + 1`` those with value
    ``code``. With ``group``, the totals come from (and go to) the view's ``spread_totals``
    when it keeps them. The attribute must exist in the view.
    """
    entry = view.attributes[attribute]
    cache = view.spread_totals.setdefault(group, {}) if group is not None and view.spread_totals is not None \
        else None
    totals = cache.get(attribute) if cache is not None else None
    if totals is None:
        n = counts.shape[0]
        weights = np.multiply(counts, view.active[:n], dtype=np.float64)
        # exact: whole numbers far below 2**53; one bucket per value, so later slots fit too
        totals = np.bincount(entry[0][:n] + 1, weights=weights, minlength=len(entry[1]) + 1)
        if cache is not None:
            cache[attribute] = totals
    return totals


def spread_ties(view: ClusterView, attribute: str, counts: np.ndarray | None, ok: np.ndarray,
                group: str | None = None) -> np.ndarray | None:
    """Mask of the slots of ``ok`` (a mask over the first n) whose bucket holds the fewest tasks.

    Buckets count the tasks on ACTIVE slots, as :func:`strategy_keys` does for placement
    (see :func:`spread_bucket_totals`). ``None`` if the strategy cannot tell instances apart
    (no task of the group, or nobody has the attribute); ``ok`` itself if it is empty. Spread
    keys tie by design, so the tie mask is built at once (no uniqueness test as for binpack).
    """
    entry = view.attributes.get(attribute)
    if counts is None or entry is None:
        return None
    n = counts.shape[0]
    codes1 = entry[0][:n] + 1  # bucket 0: attribute missing
    totals = spread_bucket_totals(view, attribute, counts, group)
    masked = np.where(ok, totals.take(codes1), np.inf)
    least = masked.min()
    return ok if least == np.inf else masked == least


def bucket_totals(
    view: ClusterView, attribute: str, counts: np.ndarray, weight: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Group tasks per attribute value, and each slot's bucket (0 = attribute missing).

    Returns ``(totals, codes1)`` where ``totals[b]`` is the number of tasks in bucket ``b``
    and ``codes1[slot]`` the bucket of a slot, or ``None`` when no instance has the attribute.
    """
    entry = view.attributes.get(attribute)
    if entry is None:
        return None
    codes, values = entry
    n = counts.shape[0]
    # intp codes and float weights are what bincount works in: no hidden conversions.
    codes1 = np.add(codes[:n], 1, dtype=np.intp)  # a no-op cast for the intp codes views keep
    w = np.multiply(counts, True if weight is None else weight, dtype=np.float64)
    return np.bincount(codes1, weights=w, minlength=len(values) + 1).astype(np.int64), codes1


def column_name(kind: str, field: str | None) -> str:
    """Name of a strategy's column in explain output, e.g. ``binpack:memory``."""
    return kind if field is None else f"{kind}:{field}"
