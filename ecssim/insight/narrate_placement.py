"""Why a task went where it did, told from the tables alone (no re-simulation).

:class:`PlacementLedger` replays the control plane's ledger as the narration walks the events
in order: a task reserves its CPU and memory (``tasks`` table) from its first row
(PROVISIONING) until its first row into STOPPING or STOPPED
(:data:`~ecssim.analysis.schema.CONTROL_PLANE_FREE_STATES`), and only ACTIVE instances count
toward spread buckets. At each placement it names the strategy chain of the request that made
the task (the service's, workload's or ``runTask`` action's ``placementStrategy`` in the
resolved scenario, ECS's default when none) and the figure of the chain's last non-random rule
on the chosen instance:

- binpack: what is left there *after* the task, ``least memory left, 1536 MiB``;
- spread: the group's tasks in the chosen instance's bucket *before* the task (the count that
  made it the fewest), ``fewest tasks of the group in the AZ: 2``.

The figure is a fact about the chosen instance; which earlier rule already decided is not
claimed, since that would need every candidate's ports, ENIs and constraints (``ecssim
explain`` re-simulates for that).
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from ecssim.analysis.schema import CONTROL_PLANE_FREE_STATES
from ecssim.insight import narrate_text as text
from ecssim.placement.strategies import DEFAULT_RUNTASK_STRATEGY, DEFAULT_SERVICE_STRATEGY
from ecssim.placement.view import AZ_ATTRIBUTE
from ecssim.scenario.catalog import builtin_attributes

Strategy = tuple[str, str | None]


def _strategies(entries: list | None, default: tuple) -> tuple[Strategy, ...]:
    if not entries:
        return tuple(default)
    return tuple((str(s.get("type")), s.get("field")) for s in entries)


class PlacementLedger:
    """The reservations the control plane saw, replayed row by row; see the module docstring."""

    def __init__(self, scenario: dict, tasks: pd.DataFrame, instances: pd.DataFrame) -> None:
        self._scenario = scenario or {}
        self._demand = {
            task_id: (int(cpu), int(memory), group, started_by)
            for task_id, cpu, memory, group, started_by in zip(
                tasks["task_id"], tasks["cpu"], tasks["memory_mib"], tasks["group"], tasks["started_by"], strict=True
            )
        }
        self._registered = {
            iid: (int(cpu), int(memory))
            for iid, cpu, memory in zip(
                instances["instance_id"], instances["cpu_registered"], instances["memory_registered_mib"], strict=True
            )
        }
        self._az = dict(zip(instances["instance_id"], instances["az"], strict=True))
        self._rows = instances.set_index("instance_id")
        self._attributes: dict[str, dict[str, str]] = {}
        self._active: set[str] = set()
        self._cpu: dict[str, int] = defaultdict(int)
        self._memory: dict[str, int] = defaultdict(int)
        self._groups: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self._holding: dict[str, tuple[str, str]] = {}  # task -> (instance, group) while reserved
        self._seen: set[str] = set()
        self._requests = self._request_table()

    # ------------------------------------------------------------------ the replay
    def instance_state(self, instance_id: str, to_state: str) -> None:
        """An instance row: only ACTIVE instances form spread buckets."""
        if to_state == "ACTIVE":
            self._active.add(instance_id)
        else:
            self._active.discard(instance_id)

    def task_state(self, task_id: str, instance_id: str, to_state: str, service: str,
                   task_definition: str) -> str | None:
        """A task state row; returns the placement rationale when it is the task's first row."""
        if task_id not in self._seen:
            if not instance_id:
                return None  # waiting in PROVISIONING for a capacity provider's instances: placed later
            self._seen.add(task_id)
            return self._place(task_id, instance_id, service, task_definition)
        if to_state in CONTROL_PLANE_FREE_STATES and task_id in self._holding:
            self._release(task_id)
        return None

    def _place(self, task_id: str, instance_id: str, service: str, task_definition: str) -> str:
        cpu, memory, group, started_by = self._demand.get(task_id, (0, 0, "", ""))
        strategies, constraints, daemon = self._request(service, started_by, task_definition)
        decider = next(((k, f) for k, f in reversed(strategies) if k != "random"), None)
        figure = None
        if decider is not None and decider[0] == "spread":
            figure = self._spread_figure(decider[1], instance_id, group)
        self._cpu[instance_id] += cpu
        self._memory[instance_id] += memory
        self._groups[group][instance_id] += 1
        self._holding[task_id] = (instance_id, group)
        if decider is not None and decider[0] == "binpack":
            figure = self._binpack_figure(decider[1], instance_id)
        chain = "DAEMON: one task per instance" if daemon else text.chain_name(strategies)
        words = f"{chain}: {figure}" if figure and not daemon else chain
        if constraints:
            words += "; constraints: " + ", ".join(constraints)
        return words

    def _release(self, task_id: str) -> None:
        instance_id, group = self._holding.pop(task_id)
        cpu, memory, _, _ = self._demand.get(task_id, (0, 0, "", ""))
        self._cpu[instance_id] -= cpu
        self._memory[instance_id] -= memory
        self._groups[group][instance_id] -= 1

    # ------------------------------------------------------------------ figures
    def _binpack_figure(self, field: str | None, instance_id: str) -> str | None:
        if instance_id not in self._registered:
            return None
        cpu, memory = self._registered[instance_id]
        left = cpu - self._cpu[instance_id] if field == "cpu" else memory - self._memory[instance_id]
        return text.binpack_figure(field, left)

    def _spread_figure(self, field: str | None, instance_id: str, group: str) -> str:
        counts = self._groups[group]
        if field in ("instanceId", "host"):
            return text.spread_figure(field, counts.get(instance_id, 0))
        attribute = field[len("attribute:"):] if field else ""
        value = self._attribute(instance_id, attribute)
        total = sum(n for iid, n in counts.items() if iid in self._active and self._attribute(iid, attribute) == value)
        return text.spread_figure(field, total, value)

    def _attribute(self, instance_id: str, attribute: str) -> str | None:
        if attribute == AZ_ATTRIBUTE:
            return self._az.get(instance_id)
        if instance_id not in self._attributes:
            self._attributes[instance_id] = self._instance_attributes(instance_id)
        return self._attributes[instance_id].get(attribute)

    def _instance_attributes(self, instance_id: str) -> dict[str, str]:
        """ECS's built-in attributes plus the fleet's own, as the instance registered them."""
        if instance_id not in self._rows.index:
            return {}
        row = self._rows.loc[instance_id]
        fleet = next((f for f in self._scenario.get("cluster", {}).get("fleets", []) if f.get("name") == row["fleet"]), {})
        try:
            attributes = builtin_attributes(str(row["instance_type"]), str(row["az"]), fleet.get("osType", "linux"))
        except (KeyError, ValueError):
            attributes = {"ecs.instance-type": str(row["instance_type"]), AZ_ATTRIBUTE: str(row["az"])}
        attributes.update(fleet.get("attributes") or {})
        return attributes

    # ------------------------------------------------------------------ requests
    def _request_table(self) -> dict[str, tuple[tuple[Strategy, ...], list[dict], bool]]:
        """started_by / service key -> (strategies, request constraints, DAEMON?) from the scenario."""
        table: dict[str, tuple[tuple[Strategy, ...], list[dict], bool]] = {}
        for service in self._scenario.get("services", []):
            daemon = service.get("schedulingStrategy") == "DAEMON"
            table[f"service:{service.get('serviceName')}"] = (
                _strategies(service.get("placementStrategy"), DEFAULT_SERVICE_STRATEGY),
                list(service.get("placementConstraints") or []), daemon)
        # Names as ecssim.model.workloads.workload_key and ecssim.model.actions.action_key give them.
        for position, workload in enumerate(self._scenario.get("workloads", [])):
            name = workload.get("name") or f"workload[{position}]"
            table[f"workload:{name}"] = (_strategies(workload.get("placementStrategy"), DEFAULT_RUNTASK_STRATEGY),
                                         list(workload.get("placementConstraints") or []), False)
        for position, action in enumerate(self._scenario.get("actions", [])):
            name = action.get("name") or f"{action.get('type')}[{position}]"
            table[f"action:{name}"] = (_strategies(action.get("placementStrategy"), DEFAULT_RUNTASK_STRATEGY),
                                       list(action.get("placementConstraints") or []), False)
        return table

    def _request(self, service: str, started_by: str, task_definition: str) -> tuple[tuple, list[str], bool]:
        key = f"service:{service}" if service else started_by
        default = DEFAULT_SERVICE_STRATEGY if service else DEFAULT_RUNTASK_STRATEGY
        strategies, constraints, daemon = self._requests.get(key, (tuple(default), [], False))
        own = self._task_definition_constraints(task_definition)
        return strategies, [text.constraint_text(c) for c in constraints + own], daemon

    def _task_definition_constraints(self, task_definition: str) -> list[dict]:
        family, _, revision = task_definition.partition(":")
        for td in self._scenario.get("taskDefinitions", []):
            if td.get("family") == family and str(td.get("revision")) == revision:
                return list(td.get("placementConstraints") or [])
        return []
