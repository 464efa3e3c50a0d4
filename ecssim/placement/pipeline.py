"""Placement of one task: binding filters, then lexicographic strategy ranking (section 3.1).

:func:`place` is called for every task launch, so the common path is a handful of vectorised
numpy operations over the slots in use and never builds Python objects per instance.

Choices documented here (ECS does not publish them):
- Ties left after the last strategy are broken uniformly at random with the caller's ``rng``;
  an empty strategy list means ``random``. The draw is ``int(rng.random() * k)`` (one double
  per call, bias below 2**-40 for k <= 5000) and is only made when more than one slot is tied.
- On failure, the "closest matching" instance is the ACTIVE instance that passes the most
  checks in the order AGENT, RESOURCE:CPU, RESOURCE:MEMORY, RESOURCE:PORTS, constraints; ties
  go to the lowest slot. The reason is that instance's first failing check.
- The 100-reserved-port limit counts a task's static TCP and UDP host ports together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ecssim.placement.demand import TaskDemand
from ecssim.placement.strategies import Strategy, strategy_keys, validate_strategies
from ecssim.placement.view import MAX_RESERVED_PORTS, ClusterView

if TYPE_CHECKING:
    import pandas as pd

#: Failure reasons, in the order the checks are applied (ECS's RunTask failure reasons).
REASON_AGENT = "AGENT"
REASON_CPU = "RESOURCE:CPU"
REASON_MEMORY = "RESOURCE:MEMORY"
REASON_PORTS = "RESOURCE:PORTS"
REASON_DISTINCT_INSTANCE = "DistinctInstance placement constraint unsatisfied"
#: No ACTIVE instance at all (``closest`` is -1).
REASON_NO_ACTIVE_INSTANCES = "NO_ACTIVE_INSTANCES"

#: A constraint rule: ``(type, expression)``.
Constraint = tuple[str, str | None]


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
        constraints: ``("distinctInstance", None)`` is supported; ``memberOf`` raises
            ``NotImplementedError`` (rejected at scenario validation).
        group: the task group (``service:<name>``, ``family:<family>``, ...).
        rng: the placement random stream; only drawn from when instances are tied.
        explain: also build ``candidates``, a DataFrame of every ACTIVE slot (slow).
    """
    validate_strategies(strategies)
    distinct = _distinct_instance(constraints)
    n = view.n
    counts = view.group_counts.get(group)
    if counts is not None:
        counts = counts[:n]
    ok = view.active[:n] & view.connected[:n]
    ok &= view.cpu_free[:n] >= demand.cpu
    ok &= view.memory_free[:n] >= demand.memory_mib
    if demand.tcp_ports or demand.udp_ports:
        ok &= ports_ok(demand, view, n)
    if distinct and counts is not None:
        ok &= counts == 0
    cand = np.flatnonzero(ok)
    if cand.size:
        chosen = _rank(cand, strategies, view, counts, n, rng)
        decision = PlacementDecision(chosen, "", chosen)
    else:
        closest, reason = _diagnose(demand, view, n, distinct, counts)
        decision = PlacementDecision(-1, reason, closest)
    if explain:
        from ecssim.placement.explain import explain_candidates

        decision.candidates = explain_candidates(demand, view, strategies, distinct, group, decision)
    return decision


def _distinct_instance(constraints: Sequence[Constraint]) -> bool:
    """True if the constraints include distinctInstance; reject what is out of scope."""
    distinct = False
    for kind, _expression in constraints:
        if kind == "distinctInstance":
            distinct = True
        elif kind == "memberOf":
            raise NotImplementedError("memberOf placement constraints come with the placement issue")
        else:
            raise ValueError(f"unknown placement constraint type {kind!r}; valid: distinctInstance, memberOf")
    return distinct


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
    demand: TaskDemand, view: ClusterView, n: int, distinct: bool, counts: np.ndarray | None
) -> list[tuple[str, np.ndarray]]:
    """Each check as ``(failure reason, mask of slots passing it)``, in filtering order."""
    checks = [
        (REASON_AGENT, view.connected[:n]),
        (REASON_CPU, view.cpu_free[:n] >= demand.cpu),
        (REASON_MEMORY, view.memory_free[:n] >= demand.memory_mib),
        (REASON_PORTS, ports_ok(demand, view, n)),
    ]
    if distinct and counts is not None:
        checks.append((REASON_DISTINCT_INSTANCE, counts == 0))
    return checks


def _diagnose(
    demand: TaskDemand, view: ClusterView, n: int, distinct: bool, counts: np.ndarray | None
) -> tuple[int, str]:
    """Closest matching slot and its first failing check, when no slot passes them all."""
    stage = view.active[:n]
    if not stage.any():
        return -1, REASON_NO_ACTIVE_INSTANCES
    for reason, passing in check_masks(demand, view, n, distinct, counts):
        deeper = stage & passing
        if not deeper.any():
            return int(np.argmax(stage)), reason
        stage = deeper
    raise AssertionError("diagnose called although an instance passes every check")


def _rank(
    cand: np.ndarray,
    strategies: Sequence[Strategy],
    view: ClusterView,
    counts: np.ndarray | None,
    n: int,
    rng: np.random.Generator,
) -> int:
    """Apply the strategies lexicographically to the feasible slots and pick one."""
    weight = view.active[:n]
    for kind, field in strategies:
        if cand.size == 1 or kind == "random":
            break
        keys = strategy_keys(kind, field, view, cand, counts, weight)
        if keys is not None:
            cand = cand[keys == keys.min()]
    if cand.size == 1:
        return int(cand[0])
    return int(cand[int(rng.random() * cand.size)])
