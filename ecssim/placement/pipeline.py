"""Placement of one task: binding filters, then lexicographic strategy ranking (section 3.1).

:func:`place` is called for every task launch, so the common path is a handful of vectorised
numpy operations over the slots in use and never builds Python objects per instance. The rules
most services use (binpack, or spread over an attribute then binpack) are first asked of the
view's sorted free-amount index (:mod:`ecssim.placement.free_index`), which gives the same
answer in a few steps or gives up and leaves it to the scan.

Choices documented here (ECS does not publish them):
- Ties left after the last strategy are broken uniformly at random with the caller's ``rng``;
  an empty strategy list means ``random``. The draw is ``int(rng.random() * k)`` (one double
  per call, bias below 2**-40 for k <= 5000) and is only made when more than one slot is tied.
- On failure, the "closest matching" instance is the ACTIVE instance that passes the most
  checks in the order AGENT, RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, RESOURCE:ENI,
  RESOURCE:GPU, then the constraints in the order given (request level first, then the task
  definition's); ties go to the lowest slot. The reason is that instance's first failing check.
- The 100-reserved-port limit counts a task's static TCP and UDP host ports together.
- ENI and GPU checks are skipped for tasks that need none (most tasks), so they cost nothing.
- Strategies are validated once per distinct tuple (lists every call), not on every placement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ecssim.placement.demand import TaskDemand
from ecssim.placement.free_index import fast_choose
from ecssim.placement.query import Query, QueryContext, compile_query
from ecssim.placement.strategies import INSTANCE_FIELDS, Strategy, full_keys, spread_ties, validate_strategies
from ecssim.placement.view import MAX_RESERVED_PORTS, ClusterView

if TYPE_CHECKING:
    import pandas as pd

#: Failure reasons, in the order the checks are applied (ECS's RunTask failure reasons).
REASON_AGENT = "AGENT"
REASON_CPU = "RESOURCE:CPU"
REASON_MEMORY = "RESOURCE:MEMORY"
REASON_PORTS = "RESOURCE:PORTS"
REASON_ENI = "RESOURCE:ENI"
REASON_GPU = "RESOURCE:GPU"
REASON_MEMBER_OF = "MemberOf placement constraint unsatisfied"
REASON_DISTINCT_INSTANCE = "DistinctInstance placement constraint unsatisfied"
#: No ACTIVE instance at all (``closest`` is -1).
REASON_NO_ACTIVE_INSTANCES = "NO_ACTIVE_INSTANCES"

#: Masked key of an infeasible slot: above every real key (free amounts, task counts).
#: Key of an infeasible slot, per key dtype: above any real key.
_NO_SLOT = {np.dtype(t): np.iinfo(t).max for t in (np.int32, np.int64)}

#: Strategy tuples already validated: ``place`` checks each distinct tuple once.
_VALIDATED: set[tuple[Strategy, ...]] = set()

#: The query context :func:`query_context` built last (reused while the view's objects are).
_last_context: list[QueryContext] = [QueryContext(np.empty(0))]

#: A constraint rule: ``("distinctInstance", None)`` or ``("memberOf", Query | expression)``.
Constraint = tuple[str, Query | str | None]


@dataclass(slots=True)
class PlacementDecision:
    """The outcome of :func:`place`.

    Attributes:
        instance: chosen slot, -1 if no instance fits.
        reason: "" on success, else the failure reason (``REASON_*``).
        closest: on failure the closest matching slot (-1 without any ACTIVE instance);
            on success the chosen slot.
        candidates: with ``explain=True``, one row per ACTIVE slot (see
            :func:`ecssim.placement.explain.explain_candidates`), else ``None``.
    """

    instance: int
    reason: str
    closest: int
    candidates: pd.DataFrame | None = None

    @property
    def placed(self) -> bool:
        """True if an instance was chosen."""
        return self.instance >= 0


def place(
    demand: TaskDemand,
    view: ClusterView,
    strategies: Sequence[Strategy],
    constraints: Sequence[Constraint],
    group: str,
    rng: np.random.Generator,
    explain: bool = False,
) -> PlacementDecision:
    """Choose the container instance for one task, as ECS does for RunTask and services.

    Args:
        demand: what the task reserves.
        view: the cluster's instance state (read only).
        strategies: ordered ``(type, field)`` rules; empty means random.
        constraints: ``("distinctInstance", None)`` and ``("memberOf", query)`` rules, where
            ``query`` is a compiled :class:`~ecssim.placement.query.Query` (or its text,
            compiled once and cached).
        group: the task group (``service:<name>``, ``family:<family>``, ...).
        rng: the placement random stream; only drawn from when instances are tied.
        explain: also build ``candidates``, a DataFrame of every ACTIVE slot (slow).
    """
    if not _known_strategies(strategies):
        validate_strategies(strategies)
        if len(_VALIDATED) < 4096:  # a bound, should a caller build new tuples per call
            _VALIDATED.add(tuple(strategies))
    if view.index is not None and not (constraints or explain or demand.tcp_ports or demand.udp_ports
                                        or demand.enis or demand.gpus):
        chosen = fast_choose(demand, view, strategies, group, rng)
        if chosen is not None:
            return PlacementDecision(chosen, "", chosen)
    n = view.n
    counts = view.group_counts.get(group)
    if counts is not None:
        counts = counts[:n]
    ok = view.memory_free[:n] >= demand.memory_mib
    ok &= view.cpu_free[:n] >= demand.cpu
    ok &= view.active[:n]
    ok &= view.connected[:n]
    if demand.tcp_ports or demand.udp_ports:
        ok &= ports_ok(demand, view, n)
    if demand.enis:
        ok &= view.eni_free[:n] >= demand.enis
    if demand.gpus:
        ok &= view.gpu_free[:n] >= demand.gpus
    if constraints:
        for _reason, mask in constraint_masks(constraints, view, n, counts):
            ok &= mask
    chosen = _choose(ok, strategies, view, counts, n, rng, group) if n else -1
    if chosen >= 0:
        decision = PlacementDecision(chosen, "", chosen)
    else:
        closest, reason = _diagnose(demand, view, n, constraints, counts)
        decision = PlacementDecision(-1, reason, closest)
    if explain:
        from ecssim.placement.explain import explain_candidates

        decision.candidates = explain_candidates(demand, view, strategies, constraints, group, decision)
    return decision


@lru_cache(maxsize=1024)
def compiled_query(expression: str) -> Query:
    """The compiled query for an expression, compiled once per process (raises if invalid)."""
    return compile_query(expression)


def query_context(view: ClusterView) -> QueryContext:
    """What a ``memberOf`` expression reads besides the view's own arrays.

    The context only holds references to the view's objects, so the last one built is
    reused while the view still holds the same ones (placement asks for it on every call).
    """
    last = _last_context[0]
    if (
        last.registered_at_s is view.registered_at_s
        and last.agent_versions is view.agent_versions
        and last.start_time is view.start_time
    ):
        return last
    context = _last_context[0] = QueryContext(view.registered_at_s, view.agent_versions, view.start_time)
    return context


def constraint_masks(
    constraints: Sequence[Constraint], view: ClusterView, n: int, counts: np.ndarray | None
) -> list[tuple[str, np.ndarray]]:
    """Each constraint as ``(failure reason, mask of the first n slots satisfying it)``, in order.

    ``distinctInstance`` keeps the slots without a task of the group (no mask when the group
    has no task anywhere); ``memberOf`` evaluates its query (``task:group`` reads the view's
    group counts, ``runningTasksCount`` counts PENDING tasks too).
    """
    masks: list[tuple[str, np.ndarray]] = []
    context = None
    for kind, rule in constraints:
        if kind == "distinctInstance":
            if counts is not None:
                masks.append((REASON_DISTINCT_INSTANCE, counts == 0))
        elif kind == "memberOf":
            if rule is None:
                raise ValueError("a memberOf constraint needs an expression")
            query = compiled_query(rule) if isinstance(rule, str) else rule
            context = context or query_context(view)
            masks.append((REASON_MEMBER_OF, query.evaluate(view, context)))
        else:
            raise ValueError(f"unknown placement constraint type {kind!r}; valid: distinctInstance, memberOf")
    return masks


def ports_ok(demand: TaskDemand, view: ClusterView, n: int) -> np.ndarray:
    """Mask of the first ``n`` slots where the task's static host ports are all available.

    A port is unavailable where it is already taken (tcp and udp are separate namespaces),
    and a slot is full when its reserved ports plus the task's would exceed 100.
    """
    ok = view.reserved_port_count[:n] <= MAX_RESERVED_PORTS - demand.port_count
    for used, ports in ((view.tcp_ports_used, demand.tcp_ports), (view.udp_ports_used, demand.udp_ports)):
        for port in ports:
            mask = used.get(port)
            if mask is not None:
                ok &= ~mask[:n]
    return ok


def check_masks(
    demand: TaskDemand,
    view: ClusterView,
    n: int,
    constraints: Sequence[Constraint],
    counts: np.ndarray | None,
) -> list[tuple[str, np.ndarray]]:
    """Each check as ``(failure reason, mask of slots passing it)``, in filtering order.

    ENI and GPU checks appear only when the task needs ENIs or GPUs.
    """
    checks = [
        (REASON_AGENT, view.connected[:n]),
        (REASON_CPU, view.cpu_free[:n] >= demand.cpu),
        (REASON_MEMORY, view.memory_free[:n] >= demand.memory_mib),
        (REASON_PORTS, ports_ok(demand, view, n)),
    ]
    if demand.enis:
        checks.append((REASON_ENI, view.eni_free[:n] >= demand.enis))
    if demand.gpus:
        checks.append((REASON_GPU, view.gpu_free[:n] >= demand.gpus))
    checks += constraint_masks(constraints, view, n, counts)
    return checks


def _diagnose(
    demand: TaskDemand,
    view: ClusterView,
    n: int,
    constraints: Sequence[Constraint],
    counts: np.ndarray | None,
) -> tuple[int, str]:
    """Closest matching slot and its first failing check, when no slot passes them all."""
    stage = view.active[:n]
    if not stage.any():
        return -1, REASON_NO_ACTIVE_INSTANCES
    for reason, passing in check_masks(demand, view, n, constraints, counts):
        deeper = stage & passing
        if not deeper.any():
            return int(np.argmax(stage)), reason
        stage = deeper
    raise AssertionError("diagnose called although an instance passes every check")


def _known_strategies(strategies: Sequence[Strategy]) -> bool:
    """True if these strategies were validated before (lists are checked every time)."""
    try:
        return strategies in _VALIDATED
    except TypeError:  # a list of rules: unhashable
        return False


def _choose(
    ok: np.ndarray,
    strategies: Sequence[Strategy],
    view: ClusterView,
    counts: np.ndarray | None,
    n: int,
    rng: np.random.Generator,
    group: str | None = None,
) -> int:
    """Apply the strategies lexicographically to the feasible slots (mask ``ok``); -1 if none.

    Each strategy's key is computed for all ``n`` slots, infeasible ones are masked to a
    key above any real one, and one ``argmin`` finds the best slot; a second ``argmin``
    with that slot masked tells whether it is unique, so the tie set is only built when
    there is a tie. Ties are the slots with the minimum key, in slot order, exactly the
    candidates an index-based filter would keep.
    """
    for kind, field in strategies:
        if kind == "random":
            break
        if kind == "spread" and field not in INSTANCE_FIELDS:
            ties = spread_ties(view, field[10:], counts, ok, group)  # type: ignore[index]
            if ties is not None:
                ok = ties
            continue
        keys = full_keys(kind, field, view, counts, n)
        if keys is None:
            continue
        no_slot = _NO_SLOT[keys.dtype]
        masked = np.where(ok, keys, keys.dtype.type(no_slot))
        best = int(masked.argmin())
        least = masked[best]
        if least == no_slot:
            return -1
        masked[best] = no_slot
        if masked[masked.argmin()] != least:
            return best
        masked[best] = least
        ok = masked == least
    cand = np.flatnonzero(ok)
    if cand.size <= 1:
        return int(cand[0]) if cand.size else -1
    return int(cand[int(rng.random() * cand.size)])
