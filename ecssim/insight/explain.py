"""Explain one placement as it was made: re-simulate deterministically up to that moment.

A run records nothing extra for explanations. To explain task ``t-000042`` (the 42nd task
created) or placement failure ``pf-000003`` (the third launch that found no instance), the
same scenario is simulated again with the same seed and replication, with an
:class:`ExplainProbe` on the control plane. The probe lets every launch place as usual and,
for the one launch that becomes the target, asks :func:`ecssim.placement.place` for its
per-candidate explanation, reads the free resources of every instance at that instant,
and stops the run. ``explain=True`` never draws from a random stream, so the re-simulation
is the original run up to that point, event for event. The cost is at most one run of the
scenario up to the target; ordinary runs pay one ``is None`` test per launch.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ecssim.model.world import World
from ecssim.placement import AZ_ATTRIBUTE, place
from ecssim.placement.explain import explain_candidates
from ecssim.placement.pipeline import compiled_query, query_context
from ecssim.placement.single import place_on
from ecssim.scenario.models import Scenario

_ID = re.compile(r"^(t|pf)-(\d+)$")
_KINDS = {"t": "task", "pf": "failure"}
_INSTANCE_TYPE_ATTRIBUTE = "ecs.instance-type"


class UnknownTargetError(ValueError):
    """The id names no task or placement failure of the run (or is not an id at all)."""


@dataclass(frozen=True, slots=True)
class Target:
    """What to explain: the ``number``-th task created or placement failure of a run."""

    kind: str  # "task" | "failure"
    number: int

    @property
    def id(self) -> str:
        """The id as the tables write it (``t-000042``, ``pf-000003``)."""
        return f"t-{self.number:06d}" if self.kind == "task" else f"pf-{self.number:06d}"

    @classmethod
    def parse(cls, text: str) -> Target:
        """``"t-000042"`` -> task 42; ``"pf-000003"`` -> failure 3; else UnknownTargetError."""
        match = _ID.match(text.strip())
        if match is None or int(match.group(2)) < 1:
            raise UnknownTargetError(
                f"{text!r} is not a task id (t-000042) or a placement failure id (pf-000003)"
            )
        return cls(_KINDS[match.group(1)], int(match.group(2)))


class _TargetReached(Exception):
    """Raised by the probe to stop the re-simulation at the target placement (private)."""


class ExplainProbe:
    """Control-plane hook that explains one target placement and stops the run there.

    ``ControlPlane.launch`` calls :meth:`place` instead of :func:`ecssim.placement.place`
    when a probe is set. Only launches that could be the target (the next task number or
    the next failure number is the target's) are placed with ``explain=True``.
    """

    __slots__ = ("target", "frame")

    def __init__(self, target: Target) -> None:
        self.target = target
        self.frame: pd.DataFrame | None = None

    def _due(self, plane) -> bool:  # noqa: ANN001
        """True if the next placement (made or failed) could be the target."""
        if self.target.kind == "task":
            return plane.task_count + 1 == self.target.number
        return len(plane.rec.log.placement_failures) + 1 == self.target.number

    def place_on(self, plane, spec, slot: int, group: str, service, started_by: str, constraints):  # noqa: ANN001
        """A DAEMON placement on one instance, explained like the others (its strategy: that instance)."""
        view = plane.cluster.view
        decision = place_on(spec.demand, view, slot, constraints, group)
        if self._due(plane) and decision.placed == (self.target.kind == "task"):
            decision.candidates = explain_candidates(spec.demand, view, (), constraints, group, decision)
            self._record(plane, decision, spec, group, service, started_by,
                         [("daemon", view.instance_ids[slot])], constraints)
        return decision

    def place(self, plane, spec, group: str, service, started_by: str, strategies, constraints, rng):  # noqa: ANN001
        """Place as the control plane would; at the target, record the explanation and stop."""
        target = self.target
        due = self._due(plane)
        view = plane.cluster.view
        decision = place(spec.demand, view, strategies, constraints, group, rng, explain=due)
        if due and decision.placed == (target.kind == "task"):
            self._record(plane, decision, spec, group, service, started_by, strategies, constraints)
        return decision

    def place_waiting(self, plane, task, strategies, constraints, rng):  # noqa: ANN001
        """Place a task that waited in PROVISIONING for capacity; explained when it is the target."""
        due = self.target.kind == "task" and task.num == self.target.number
        decision = place(task.spec.demand, plane.cluster.view, strategies, constraints, task.group, rng, explain=due)
        if due and decision.placed:
            self._record(plane, decision, task.spec, task.group, task.service, task.started_by, strategies,
                         constraints)
        return decision

    def fargate(self, plane, task, az: str) -> None:  # noqa: ANN001
        """A task started on Fargate: if it is the target, say why there is nothing to explain."""
        if self.target.kind == "task" and task.num == self.target.number:
            raise UnknownTargetError(
                f"{self.target.id} runs on Fargate ({task.capacity_provider}, {az}): Fargate tasks are not placed on "
                "container instances (ECS balances them over the AZs), so there is no placement to explain")

    def _record(self, plane, decision, spec, group, service, started_by, strategies, constraints) -> None:  # noqa: ANN001
        """Keep the explanation of the target and stop the run there."""
        target = self.target
        view = plane.cluster.view
        request = {
            "target": target.id,
            "time_s": float(plane.env.now),
            "task_definition": spec.key,
            "group": group,
            "service": service.name if service is not None else "",
            "started_by": started_by,
            "strategies": [tuple(s) for s in strategies],
            "constraints": [(kind, _expression_text(e)) for kind, e in constraints],
            "demand": dataclasses.asdict(spec.demand),
        }
        self.frame = explanation_frame(decision, view, request, plane.cluster.reserved_ports)
        raise _TargetReached(target.id)


def explain(scenario: Scenario, seed: int, target: str, replication: int = 0) -> pd.DataFrame:
    """The placement pipeline of task or failure ``target`` as it was at that moment.

    Re-simulates ``scenario`` with ``seed`` and ``replication`` up to that placement (see the
    module docstring). Returns one row per ACTIVE instance (see :func:`explanation_frame`);
    the request and outcome are in ``frame.attrs``. Raises :class:`UnknownTargetError`
    if the run never creates that task or failure.
    """
    probe = ExplainProbe(Target.parse(target))
    world = None
    try:
        world = World(scenario, seed, replication, explain=probe)
        world.env.run(until=world.duration)
    except Exception:
        # SimPy re-raises a failed process's exception as a copy; whatever arrives, the
        # probe knows whether it stopped the run.
        if probe.frame is None:
            raise
    if probe.frame is None:
        made = _counts(world)
        raise UnknownTargetError(f"the run (seed {seed}, replication {replication}) has no {target}: {made}")
    return probe.frame


def service_target(scenario: Scenario, seed: int, replication: int, service: str) -> tuple[str, str]:
    """The placement ``ecssim explain --service`` shows, and a line saying why that one.

    The service's most recent placement failure when it had any (the question is then
    "why is my task PENDING?"), else its most recent placement. Runs the scenario once.
    """
    from ecssim.simulation import simulate

    names = [s.service_name for s in scenario.services]
    if service not in names:
        raise UnknownTargetError(f"unknown service {service!r}; services: {', '.join(names) or 'none'}")
    result = simulate(scenario, seed, replication=replication)
    failures = result.placement_failures
    failures = failures[failures["service"] == service]
    tasks = result.tasks[result.tasks["service"] == service]
    counts = f"service {service}: {len(tasks)} tasks placed, {len(failures)} placement failures"
    if len(failures):
        target = str(failures["failure_id"].iloc[-1])
        return target, f"{counts}; explaining its latest failure {target}"
    if len(tasks):
        target = str(tasks["task_id"].iloc[-1])
        return target, f"{counts}; explaining its latest placement {target}"
    raise UnknownTargetError(f"service {service!r} made no placement attempt in this run")


def _counts(world: World | None) -> str:
    if world is None:
        return "it stopped while being built"
    tasks, failures = world.plane.task_count, len(world.log.placement_failures)
    return f"it created {tasks} tasks (t-000001..) and {failures} placement failures (pf-000001..)"


def explanation_frame(decision, view, request: dict, agent_ports=()) -> pd.DataFrame:  # noqa: ANN001
    """One row per ACTIVE instance: its state at the moment, the filters and the ranking.

    Columns: ``instance_id``, ``az``, ``instance_type``, ``cpu_registered``, ``cpu_free``,
    ``memory_registered_mib``, ``memory_free_mib``, any further ``*_free`` resource of the
    view (ENIs, GPUs), ``ports_in_use`` (static host ports taken by tasks, the agent's own
    ``agent_ports`` left out), ``tasks`` (desired status RUNNING), ``group_tasks`` (tasks
    of the request's group), ``filtered_by`` (first failing check, "" if feasible),
    ``why`` (the numbers behind it), one column per strategy with its key (lower is
    preferred), ``rank`` (1 = chosen), ``chosen``, and ``closest`` (on a failure, the
    instance ECS names as closest matching). ``attrs`` holds ``request`` fields plus
    ``placed``, ``instance_id``, ``reason``, ``closest_instance_id``.
    """
    cand = decision.candidates
    slots = cand.index.to_numpy()
    state = pd.DataFrame(index=cand.index)
    state["instance_id"] = cand["instance_id"]
    state["az"] = _attribute(view, AZ_ATTRIBUTE, slots)
    state["instance_type"] = _attribute(view, _INSTANCE_TYPE_ATTRIBUTE, slots)
    state["cpu_registered"] = view.cpu_registered[slots]
    state["cpu_free"] = view.cpu_free[slots]
    state["memory_registered_mib"] = view.memory_registered[slots]
    state["memory_free_mib"] = view.memory_free[slots]
    for name in _other_free_arrays(view):
        state[name] = getattr(view, name)[slots]
    state["ports_in_use"] = _ports_in_use(view, slots, set(agent_ports))
    state["tasks"] = view.running_tasks_count[slots]
    counts = view.group_counts.get(request["group"])
    state["group_tasks"] = counts[slots] if counts is not None else 0
    frame = pd.concat([state, cand.drop(columns="instance_id")], axis=1)
    failed_query = _failed_member_of(view, slots, request)
    frame.insert(frame.columns.get_loc("filtered_by") + 1, "why",
                 [_why(reason, row, request, failed) for reason, row, failed
                  in zip(frame["filtered_by"], state.itertuples(), failed_query, strict=True)])
    frame["chosen"] = slots == decision.instance
    frame["closest"] = (slots == decision.closest) & (decision.instance < 0)
    frame.attrs.update(request)
    frame.attrs.update({
        "placed": bool(decision.instance >= 0),
        "instance_id": view.instance_ids[decision.instance] if decision.instance >= 0 else "",
        "reason": decision.reason,
        "closest_instance_id": view.instance_ids[decision.closest] if decision.closest >= 0 else "",
    })
    return frame


def _expression_text(expression) -> str | None:  # noqa: ANN001
    """A constraint's expression as its source text (parsed queries keep it in ``text``)."""
    if expression is None or isinstance(expression, str):
        return expression
    return str(getattr(expression, "text", expression))


def _attribute(view, name: str, slots: np.ndarray) -> list[str]:  # noqa: ANN001
    entry = view.attributes.get(name)
    if entry is None:
        return [""] * len(slots)
    codes, values = entry
    return [values[c] if c >= 0 else "" for c in codes[slots]]


def _other_free_arrays(view) -> list[str]:  # noqa: ANN001
    """Per-slot ``*_free`` arrays beyond CPU and memory (resources added by later issues)."""
    names = []
    for name in type(view).__slots__:
        if name.endswith("_free") and name not in ("cpu_free", "memory_free"):
            value = getattr(view, name, None)
            if isinstance(value, np.ndarray) and value.ndim == 1:
                names.append(name)
    return names


def _ports_in_use(view, slots: np.ndarray, agent_ports: set[int]) -> list[str]:  # noqa: ANN001
    """Static host ports taken by tasks per slot, e.g. ``"80/tcp 53/udp"``."""
    taken: list[list[str]] = [[] for _ in slots]
    for masks, proto in ((view.tcp_ports_used, "tcp"), (view.udp_ports_used, "udp")):
        for port in sorted(masks):
            if proto == "tcp" and port in agent_ports:
                continue
            for k in np.flatnonzero(masks[port][slots]):
                taken[k].append(f"{port}/{proto}")
    return [" ".join(ports) for ports in taken]


def _failed_member_of(view, slots: np.ndarray, request: dict) -> list[str]:  # noqa: ANN001
    """Per listed slot, the first memberOf expression it does not satisfy ("" if none)."""
    failed = [""] * len(slots)
    expressions = [e for kind, e in request["constraints"] if kind == "memberOf"]
    if not expressions:
        return failed
    context = query_context(view)
    for expression in expressions:
        satisfied = compiled_query(expression).evaluate(view, context)[slots]
        for k in np.flatnonzero(~satisfied):
            failed[k] = failed[k] or expression
    return failed


def _why(reason: str, row, request: dict, failed_query: str = "") -> str:  # noqa: ANN001
    """The numbers behind a filter's verdict, e.g. ``needs 512 MiB, 300 free``."""
    demand = request["demand"]
    if reason == "":
        return ""
    if reason == "RESOURCE:CPU":
        return f"needs {demand['cpu']} CPU units, {row.cpu_free} free"
    if reason == "RESOURCE:MEMORY":
        return f"needs {demand['memory_mib']} MiB, {row.memory_free_mib} free"
    if reason == "RESOURCE:PORTS":
        wanted = [f"{p}/tcp" for p in demand.get("tcp_ports", ())] + [f"{p}/udp" for p in demand.get("udp_ports", ())]
        clash = sorted(set(wanted) & set(row.ports_in_use.split()))
        return f"port {' '.join(clash)} in use" if clash else "host port limit (100) reached"
    if reason == "AGENT":
        return "agent not connected"
    if reason in ("RESOURCE:ENI", "RESOURCE:GPU"):
        resource = reason.split(":")[1].lower()
        return f"needs {demand.get(resource + 's', '?')} {reason[9:]}, {getattr(row, resource + '_free', '?')} free"
    if reason.startswith("DistinctInstance"):
        return f"already runs a task of {request['group']}"
    if reason.startswith("MemberOf"):
        return f"not a member of [{failed_query}]"
    return ""
