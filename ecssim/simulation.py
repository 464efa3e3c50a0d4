"""The public way to run a scenario: one-shot ``simulate`` or a steppable ``Simulation``."""

from __future__ import annotations

import pandas as pd
import simpy

from .analysis import Result, add_timestamps, build_result, events_table
from .analysis.online import OnlineSummary
from .analysis.summary_result import SummaryOnlyResult
from .gc_tuning import fewer_collections
from .model import invariants
from .model.compaction import SlotCompactor
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
                 env: simpy.Environment | None = None, agent_factory: AgentFactory | None = None,
                 check_invariants: bool | None = None, summary_only: bool = False,
                 compact_slots: bool | None = None) -> None:
        """``env`` and ``agent_factory``: see :class:`~ecssim.model.world.World` (real time, other agents).

        ``check_invariants``: check the run's invariants after every step (see
        :mod:`ecssim.model.invariants`; None: as ``ECSSIM_CHECK_INVARIANTS`` says, off by default).
        ``summary_only``: keep no rows, only the summary metrics, computed as the run goes
        (memory flat in simulated time; :meth:`result` gives a
        :class:`~ecssim.analysis.summary_result.SummaryOnlyResult`). The invariant checker reads
        the rows back, so it is off in this mode (asking for both is an error).
        ``compact_slots``: give back the slots of INACTIVE instances as the run goes (see
        :mod:`ecssim.model.compaction`; the same rows, but :meth:`cluster_state` and the invariant
        checker no longer see those instances; None: in summary-only runs only).
        """
        self.scenario = scenario
        self.seed = int(seed)
        self.replication = int(replication)
        self.online: OnlineSummary | None = None
        log = None
        if summary_only:
            if check_invariants:
                raise ValueError("summary_only keeps no rows, and the invariant checker reads them: choose one")
            check_invariants = False
            prices = scenario.model_dump(mode="json", by_alias=True).get("prices")
            self.online = OnlineSummary(float(scenario.measure_from), float(scenario.duration), prices)
            log = self.online.sink()
        with fewer_collections():
            self.world = World(scenario, self.seed, self.replication, env=env, agent_factory=agent_factory, log=log)
        self.env = self.world.env
        self._cursor = 0  # rows of the event log already handed out by step()/run_until()
        self.checker: invariants.InvariantChecker | None = None
        if invariants.resolve(check_invariants):
            if compact_slots:
                raise ValueError("the invariant checker follows every instance ever launched by its slot, "
                                 "so it cannot run with compact_slots")
            self.checker = invariants.InvariantChecker(self.world)
            self.checker.check()  # what the world's build recorded (warm starts)
        elif compact_slots or (compact_slots is None and summary_only):
            self.world.plane.compactor = SlotCompactor(self.world)

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
            if self.checker is not None:
                self._run_checked(end)
            with fewer_collections():
                self.env.run(until=end)
        self._cursor = len(self.world.log.events)
        return self

    def _run_checked(self, end: float) -> None:
        """Step to just before ``end`` (as ``env.run(until=end)`` would), checking after each step.

        A no-op timeout at ``end`` keeps a wall-clock environment (Docker mode) stepping while it
        waits for the engine's callbacks, instead of finding its queue empty.
        """
        env, checker, events = self.env, self.checker, self.world.log.events
        env.timeout(end - env.now)
        while env.peek() < end:
            env.step()
            if len(events) != checker.cursor or checker.stops_pending:
                checker.check()

    def step(self) -> pd.DataFrame:
        """Advance to the next moment something is recorded; return the rows since the last call.

        The first call also returns the rows written while the world was built (instances
        launched, services created, warm-started tasks). A moment is complete: every row at
        that simulated time is included. Returns an empty frame once nothing is left to happen
        before the scenario's end (the run covers [0, duration), as ``run_until`` does).
        """
        if self.online is not None:
            raise RuntimeError("a summary-only run keeps no rows to step through: run it without summary_only")
        events = self.world.log.events
        env = self.env
        while len(events) == self._cursor:
            if env.peek() >= self.duration:
                break
            env.step()
            if self.checker is not None and self.checker.pending:
                self.checker.check()
        if len(events) > self._cursor:
            now = env.now
            while env.peek() == now:
                env.step()
                if self.checker is not None and self.checker.pending:
                    self.checker.check()
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

    def result(self) -> Result | SummaryOnlyResult:
        """The tables of everything recorded so far (time order checked in the invariants mode).

        A summary-only run has no tables: its result, once it has run to its end, is the summary.
        """
        if self.online is not None:
            if self.env.now < self.duration:
                raise RuntimeError("a summary-only run gives its summary at its end: call run_until() first")
            return SummaryOnlyResult(self.online, scenario=self.scenario.model_dump(mode="json", by_alias=True),
                                     seed=self.seed, replication=self.replication, duration_s=self.duration,
                                     measure_from_s=float(self.scenario.measure_from),
                                     start_time=self.scenario.start_time)
        result = build_result(
            self.world.log,
            scenario=self.scenario.model_dump(mode="json", by_alias=True),
            seed=self.seed,
            replication=self.replication,
            duration_s=float(self.env.now) if self.env.now < self.duration else self.duration,
            measure_from_s=float(self.scenario.measure_from),
            start_time=self.scenario.start_time,
            base_dir=self.scenario.base_dir,
        )
        if self.checker is not None:
            self.checker.finish()
            invariants.check_tables(result)
        return result


def simulate(scenario: Scenario, seed: int = 0, *, replication: int = 0,
             check_invariants: bool | None = None) -> Result:
    """Run ``scenario`` to its end with ``seed`` and return its tables.

    ``check_invariants``: see :class:`Simulation` (None: as ``ECSSIM_CHECK_INVARIANTS`` says).
    """
    return Simulation(scenario, seed, replication, check_invariants=check_invariants).run_until().result()
