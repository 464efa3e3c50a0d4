"""The public way to run a scenario: one-shot ``simulate`` or a steppable ``Simulation``."""

from __future__ import annotations

import pandas as pd
import simpy

from .analysis import Result, add_timestamps, build_result, events_table
from .model.eventlog import EventLog
from .model.task import STARTING_STATES, STOPPING_STATES
from .model.world import AgentFactory, World
from .scenario.models import Scenario
from .units import parse_duration


class Simulation:
    """A run that can be advanced bit by bit and looked at in between (notebooks, teaching).

    >>> sim = Simulation(scenario, seed=7)          # doctest: +SKIP
    >>> sim.run_until("10m"); sim.cluster_state()   # doctest: +SKIP
    """

    def __init__(self, scenario: Scenario, seed: int = 0, replication: int = 0, *,
                 env: simpy.Environment | None = None, agent_factory: AgentFactory | None = None) -> None:
        """``env`` and ``agent_factory``: see :class:`~ecssim.model.world.World` (real time, other agents)."""
        self.scenario = scenario
        self.seed = int(seed)
        self.replication = int(replication)
        self.world = World(scenario, self.seed, self.replication, env=env, agent_factory=agent_factory)
        self.env = self.world.env
        self._cursor = 0  # rows of the event log already handed out by step()/run_until()

    @property
    def now(self) -> float:
        """Simulated seconds since the start."""
        return float(self.env.now)

    @property
    def duration(self) -> float:
        return self.world.duration

    def run_until(self, until: float | str | None = None) -> Simulation:
        """Advance to ``until`` (seconds or a duration string; default the scenario's duration)."""
        end = self.duration if until is None else min(parse_duration(until), self.duration)
        if end > self.env.now:
            self.env.run(until=end)
        self._cursor = len(self.world.log.events)
        return self

    def step(self) -> pd.DataFrame:
        """Advance to the next moment something is recorded; return the rows since the last call.

        The first call also returns the rows written while the world was built (instances
        launched, services created, warm-started tasks). A moment is complete: every row at
        that simulated time is included. Returns an empty frame once nothing is left to happen
        before the scenario's end (the run covers [0, duration), as ``run_until`` does).
        """
        events = self.world.log.events
        env = self.env
        while len(events) == self._cursor:
            if env.peek() >= self.duration:
                break
            env.step()
        if len(events) > self._cursor:
            now = env.now
            while env.peek() == now:
                env.step()
        new_rows = EventLog()
        new_rows.events = events[self._cursor:]
        frame = add_timestamps(events_table(new_rows), self.scenario.start_time)
        if len(frame):
            frame["seq"] += self._cursor
        self._cursor = len(events)
        return frame

    def cluster_state(self) -> pd.DataFrame:
        """One row per container instance now: status, free resources (both ledgers) and tasks."""
        world = self.world
        view = world.cluster.view
        rows = []
        for info, agent in zip(world.cluster.infos, world.plane.agents, strict=True):
            slot = info.slot
            tasks = list(agent.tasks.values())
            rows.append({
                "instance_id": info.id,
                "fleet": info.fleet,
                "instance_type": info.instance_type,
                "az": info.az,
                "status": info.status,
                "agent_connected": bool(view.connected[slot]),
                "cpu_registered": int(view.cpu_registered[slot]),
                "cpu_free": int(view.cpu_free[slot]),
                "memory_registered_mib": int(view.memory_registered[slot]),
                "memory_free_mib": int(view.memory_free[slot]),
                "cpu_free_host": int(agent.host_cpu_free),
                "memory_free_host_mib": int(agent.host_memory_free),
                "tasks_running": sum(1 for t in tasks if t.state == "RUNNING"),
                "tasks_pending": sum(1 for t in tasks if t.state in STARTING_STATES),
                "tasks_stopping": sum(1 for t in tasks if t.state in STOPPING_STATES),
                "task_ids": " ".join(t.id for t in tasks),
                "services": " ".join(sorted({t.service.name for t in tasks if t.service is not None})),
            })
        return pd.DataFrame(rows)

    def headroom(self, task_definition, **options):  # noqa: ANN001, ANN201
        """How many more tasks of ``task_definition`` fit now, per AZ and after N+1 losses.

        See :func:`ecssim.insight.headroom` for ``options`` (strategies, constraints, group).
        Time does not move: the answer comes from the placement engine on a copy of the state.
        """
        from .insight import headroom

        return headroom(self, task_definition, **options)

    def result(self) -> Result:
        """The tables of everything recorded so far."""
        return build_result(
            self.world.log,
            scenario=self.scenario.model_dump(mode="json", by_alias=True),
            seed=self.seed,
            replication=self.replication,
            duration_s=float(self.env.now) if self.env.now < self.duration else self.duration,
            measure_from_s=float(self.scenario.measure_from),
            start_time=self.scenario.start_time,
            base_dir=self.scenario.base_dir,
        )


def simulate(scenario: Scenario, seed: int = 0, *, replication: int = 0) -> Result:
    """Run ``scenario`` to its end with ``seed`` and return its tables."""
    return Simulation(scenario, seed, replication).run_until().result()
