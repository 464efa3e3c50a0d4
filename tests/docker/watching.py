"""Running a scenario with real containers while looking at the engine mid-run (test helper)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from ecssim.docker import EventReader, cleaning_up, event_filters, managed_containers, new_run_id
from ecssim.docker.agent import DockerRun
from ecssim.docker.cgroups import InstanceCgroups
from ecssim.docker.real_run import docker_agents
from ecssim.docker.realtime import WallClockEnvironment
from ecssim.simulation import Simulation

FACTOR = 0.02  # a simulated minute in 1.2 wall seconds


def run_watching(engine, sc, seed: int, at_s: Iterable[float], *, run_id: str | None = None,  # noqa: ANN001
                 cgroups: InstanceCgroups | None = None, start_warm: bool = False,
                 extra: Callable[[], Any] | None = None) -> tuple[Any, DockerRun, dict]:
    """Run ``sc`` with real containers; at each simulated time of ``at_s`` note the run's
    containers (inspect data), the wall clock and ``extra()``. Checks that none is left after.

    ``cgroups``: per-instance cgroup parents for the run (made with ``run_id``);
    ``start_warm``: start warm tasks' containers before the clock, as ``run_real`` does.
    """
    run_id = run_id or new_run_id("test")
    snapshots: dict[float, dict] = {}
    with cleaning_up(engine, run_id), EventReader(engine, event_filters(run_id)) as reader:
        factory = docker_agents(engine, run_id, reader=reader)
        factory.run.cgroups = cgroups
        env = WallClockEnvironment(FACTOR)
        sim = Simulation(sc, seed, env=env, agent_factory=factory)
        if start_warm:
            factory.run.start_warm_containers(sim.world.plane.agents)

        def watch():  # noqa: ANN202 - a SimPy process looking at the engine mid-run
            for at in sorted(at_s):
                yield env.timeout(at - env.now)
                snapshots[at] = {"wall_s": time.time(),
                                 "containers": [c.attrs for c in managed_containers(engine, run_id)],
                                 "extra": extra() if extra is not None else None}

        env.process(watch())
        env.restart_clock()
        try:
            sim.run_until()
        finally:
            factory.run.close()
        result = sim.result()
    assert managed_containers(engine, run_id) == []
    return result, factory.run, snapshots
