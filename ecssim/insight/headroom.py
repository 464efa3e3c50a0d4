"""Headroom: how many more tasks of a task definition fit, now and after losing capacity.

Answered by the placement engine on a copy of the cluster's state, without running time:
the task is placed with :func:`ecssim.placement.place` (the request's strategies and
constraints) and reserved on the copy, again and again, until a placement fails; the count
is the headroom and the failure's reason the binding resource.

Choices (documented in the README):
- Per-AZ figures place on that AZ's instances alone, each AZ independently of the others.
- "Largest" instance: most registered CPU, ties by registered memory, then by tasks on it
  (desired status RUNNING), then the lowest slot. Largest AZ: most registered CPU over its
  ACTIVE instances, ties by memory, then tasks, then name.
- Loss cases first re-place the tasks the lost instances were running (desired status
  RUNNING), in creation order: service tasks with their service's strategies and
  constraints, standalone tasks with RunTask's default (random) and no constraint. Those
  that no longer fit are ``displaced_unplaced``; then the task definition is counted. ECS
  itself would not restart standalone tasks; re-placing them is the conservative reading.
- Counts do not depend on the random tie-breaks for identical tasks (each instance is
  filled to its own limit in any order); re-placing displaced tasks of several sizes can.
  A fixed stream (seed 0) keeps the answer reproducible.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from ecssim.insight.report import HeadroomReport, LossCase
from ecssim.model.cluster import Cluster
from ecssim.placement import (
    AZ_ATTRIBUTE,
    DEFAULT_RUNTASK_STRATEGY,
    ClusterView,
    TaskDemand,
    place,
    validate_strategies,
)

#: Most tasks counted by one fill (a guard against demands that never exhaust anything).
DEFAULT_LIMIT = 100_000


@dataclass(frozen=True, slots=True)
class Resident:
    """A task holding resources on an instance, as the loss cases re-place it."""

    slot: int
    demand: TaskDemand
    group: str
    strategies: tuple = DEFAULT_RUNTASK_STRATEGY
    constraints: tuple = ()


@dataclass(frozen=True, slots=True)
class _Request:
    name: str
    demand: TaskDemand
    strategies: tuple
    constraints: tuple
    group: str


def headroom(
    view_or_simulation,  # noqa: ANN001 - a ClusterView or an ecssim.Simulation
    task_definition,  # noqa: ANN001 - a name ("web", "web:3"), a TaskDefinition or a TaskDemand
    *,
    strategies: Sequence | None = None,
    constraints: Iterable = (),
    group: str | None = None,
    residents: Sequence[Resident] | None = None,
    limit: int = DEFAULT_LIMIT,
) -> HeadroomReport:
    """How many more tasks of ``task_definition`` fit now, per AZ, and after N+1 losses.

    Args:
        view_or_simulation: an :class:`ecssim.Simulation` (its state now) or a bare
            :class:`~ecssim.placement.ClusterView` (then pass a TaskDefinition or TaskDemand).
        task_definition: ``family`` or ``family:revision`` of the simulation's scenario, an
            ECS task definition object, or a TaskDemand.
        strategies: ``(type, field)`` pairs or ``{"type", "field"}`` dicts; default RunTask's
            (random).
        constraints: ``(type, expression)`` pairs, added to the task definition's own.
        group: task group; default ``family:<family>``.
        residents: tasks to re-place in the loss cases; taken from the simulation, none for
            a bare view.
        limit: most tasks counted per figure.
    """
    sim_world = getattr(view_or_simulation, "world", None)
    if sim_world is None and not isinstance(view_or_simulation, ClusterView):
        raise TypeError("headroom needs an ecssim.Simulation or a ClusterView")
    view = sim_world.cluster.view if sim_world is not None else view_or_simulation
    request = _request(sim_world, task_definition, strategies, constraints, group)
    if residents is None:
        residents = _residents(sim_world) if sim_world is not None else ()
    n = view.n
    active = np.flatnonzero(view.active[:n])
    azs = _azs(view)
    total = _fill(copy_view(view), request, limit)
    per_az = {az: _fill(_only(view, azs == az), request, limit).count
              for az in sorted(set(azs[active].tolist()))}
    after_az = after_instance = None
    if active.size:
        az = _largest_az(view, azs, active)
        after_az = _loss(view, np.flatnonzero((azs == az) & view.active[:n]), az or "(none)", residents,
                         request, limit)
        slot = _largest_instance(view, active)
        after_instance = _loss(view, np.array([slot]), view.instance_ids[slot], residents, request, limit)
    return HeadroomReport(
        task_definition=request.name,
        demand=request.demand,
        time_s=float(sim_world.env.now) if sim_world is not None else float("nan"),
        instances=int(active.size),
        total=total.count,
        binding=total.binding,
        per_az=per_az,
        after_az_loss=after_az,
        after_instance_loss=after_instance,
    )


# ---------------------------------------------------------------------- the request
def _request(world, task_definition, strategies, constraints, group) -> _Request:  # noqa: ANN001
    from ecssim.model.taskspec import task_spec

    extra: tuple = ()
    if isinstance(task_definition, TaskDemand):
        name, demand, family = "(demand)", task_definition, "headroom"
    elif isinstance(task_definition, str):
        if world is None:
            raise TypeError("a task definition name needs a Simulation; pass a TaskDefinition or TaskDemand")
        spec = _spec(world, task_definition)
        name, demand, family = spec.key, spec.demand, spec.family
        extra = world.constraints_for((), spec)
    else:  # an ECS TaskDefinition object
        spec = task_spec(task_definition, 30.0)
        name, demand, family = spec.key, spec.demand, spec.family
        extra = tuple(c.as_tuple() for c in task_definition.placement_constraints)
    rules = DEFAULT_RUNTASK_STRATEGY if strategies is None else tuple(_pair(s) for s in strategies)
    pairs = tuple(_pair(c, "expression") for c in constraints) + tuple(extra)
    return _Request(name, demand, rules, pairs, group or f"family:{family}")


def _spec(world, reference: str):  # noqa: ANN001, ANN202
    try:
        return world.spec_for(reference)
    except KeyError:
        known = sorted({td.key for td in world.scenario.task_definitions} |
                       {td.family for td in world.scenario.task_definitions})
        raise ValueError(f"unknown task definition {reference!r}; known: {', '.join(known)}") from None


def _pair(rule, second: str = "field") -> tuple:  # noqa: ANN001
    if isinstance(rule, dict):
        return (rule["type"], rule.get(second))
    return tuple(rule)


def _residents(world) -> list[Resident]:  # noqa: ANN001
    """Tasks with desired status RUNNING, in creation order, as the loss cases re-place them."""
    out = []
    for task in world.live_tasks():
        if not task.desired_running:
            continue
        service = task.service
        if service is not None:
            out.append(Resident(task.slot, task.spec.demand, task.group, tuple(service.strategies),
                                tuple(service.constraints)))
        else:
            out.append(Resident(task.slot, task.spec.demand, task.group))
    return out


# ---------------------------------------------------------------------- filling
@dataclass(frozen=True, slots=True)
class _Fill:
    count: int
    binding: str


def _fill(view: ClusterView, request: _Request, limit: int, rng: np.random.Generator | None = None) -> _Fill:
    """Place ``request`` on ``view`` (modified) until it fails; the count and the reason."""
    rng = np.random.default_rng(0) if rng is None else rng
    ledger = ledger_for(view)
    for count in range(limit):
        decision = place(request.demand, view, request.strategies, request.constraints, request.group, rng)
        if not decision.placed:
            return _Fill(count, decision.reason)
        _reserve(ledger, decision.instance, request.demand, request.group)
    return _Fill(limit, f"limit of {limit} reached")


def _reserve(ledger, slot: int, demand: TaskDemand, group: str) -> None:  # noqa: ANN001
    """Take one task's resources with the simulator's own ledger code (``Cluster.reserve``)."""
    probe = SimpleNamespace(spec=SimpleNamespace(demand=demand), cpu=demand.cpu, memory=demand.memory_mib,
                            group=group, slot=slot)
    ledger.reserve(slot, probe)


def _loss(view: ClusterView, lost: np.ndarray, label: str, residents: Sequence[Resident], request: _Request,
          limit: int) -> LossCase:
    """Remove ``lost`` slots, re-place their residents on the survivors, then count the request."""
    work = copy_view(view)
    _remove(work, lost)
    ledger = ledger_for(work)
    rng = np.random.default_rng(0)
    gone = set(lost.tolist())
    displaced = [r for r in residents if r.slot in gone]
    unplaced = 0
    for r in displaced:
        decision = place(r.demand, work, r.strategies, r.constraints, r.group, rng)
        if decision.placed:
            _reserve(ledger, decision.instance, r.demand, r.group)
        else:
            unplaced += 1
    fill = _fill(work, request, limit, rng)
    return LossCase(lost=label, instances_lost=int(lost.size), displaced=len(displaced),
                    displaced_unplaced=unplaced, fits=fill.count, binding=fill.binding)


def _remove(view: ClusterView, slots: np.ndarray) -> None:
    """Take instances out of a copied view: not ACTIVE, and their tasks no longer counted."""
    view.active[slots] = False
    view.connected[slots] = False
    view.running_tasks_count[slots] = 0
    for counts in view.group_counts.values():
        counts[slots] = 0


def _only(view: ClusterView, keep: np.ndarray) -> ClusterView:
    """A copy of ``view`` where only the slots in ``keep`` (a mask over the first n) are ACTIVE."""
    work = copy_view(view)
    _remove(work, np.flatnonzero(~keep))
    return work


# ---------------------------------------------------------------------- private copies
# Headroom places on a copy and never touches the live arrays. The copy is generic over the
# view's ``__slots__`` (arrays, dicts and lists of them), so resources later issues add to
# the view are copied without changes here.
def copy_view(view: ClusterView) -> ClusterView:
    """A deep copy of ``view``: every array, mask and count is the copy's own."""
    new = object.__new__(type(view))
    for name in type(view).__slots__:
        if hasattr(view, name):
            setattr(new, name, _deep(getattr(view, name)))
    new.spread_totals = None  # its arrays change without upkeep of that cache
    new.index = None  # nor of the free-amount index
    return new


def _deep(value):  # noqa: ANN001, ANN202
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return {k: _deep(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_deep(v) for v in value)
    if isinstance(value, list):
        return [_deep(v) for v in value]
    return value


def ledger_for(view: ClusterView) -> Cluster:
    """A :class:`Cluster` whose ledger methods (``reserve``) write into ``view``.

    Reusing ``Cluster.reserve`` keeps the copy's bookkeeping exactly the simulator's: CPU,
    memory, ports, task groups and whatever resources the cluster learns to track.
    """
    cluster = Cluster([], capacity=len(view.active))
    cluster.view = view
    return cluster


# ---------------------------------------------------------------------- choosing the losses
def _azs(view: ClusterView) -> np.ndarray:
    """AZ name per slot in use ("" where the attribute is missing)."""
    entry = view.attributes.get(AZ_ATTRIBUTE)
    if entry is None:
        return np.array([""] * view.n, dtype=object)
    codes, values = entry
    lookup = np.array([*values, ""], dtype=object)
    return lookup[codes[: view.n]]  # code -1 picks the trailing ""


def _largest_az(view: ClusterView, azs: np.ndarray, active: np.ndarray) -> str:
    """The AZ with the most registered CPU over its ACTIVE instances (ties: memory, tasks, name)."""
    totals = {}
    for az in sorted(set(azs[active].tolist())):
        slots = active[azs[active] == az]
        totals[az] = (int(view.cpu_registered[slots].sum()), int(view.memory_registered[slots].sum()),
                      int(view.running_tasks_count[slots].sum()))
    return min(totals, key=lambda az: (tuple(-x for x in totals[az]), az))


def _largest_instance(view: ClusterView, active: np.ndarray) -> int:
    """The ACTIVE slot with the most registered CPU (ties: memory, tasks, lowest slot)."""
    order = np.lexsort((active, -view.running_tasks_count[active], -view.memory_registered[active],
                        -view.cpu_registered[active]))
    return int(active[order[0]])


def parse_strategy(text: str) -> tuple[str, str | None]:
    """``"binpack:memory"`` -> ``("binpack", "memory")``; ``"random"`` -> ``("random", None)``.

    Raises ``ValueError`` naming the valid choices for an unknown type or field.
    """
    kind, _, field = text.partition(":")
    rule = (kind, field or None)
    validate_strategies([rule])
    return rule
