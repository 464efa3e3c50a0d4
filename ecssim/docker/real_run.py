"""A whole scenario run with real containers: the Docker agents, the wall-clock driver, clean-up.

:func:`docker_agents` makes the agent factory a :class:`~ecssim.model.world.World` builds
its :class:`~ecssim.docker.agent.DockerAgent` s with; :func:`run_real` runs a scenario to
its end with them, in scaled wall-clock time, under the same placement, service scheduler
and control plane as :func:`ecssim.simulate`, and returns its tables and the real exits of
its containers; :func:`run_with_docker` returns the tables only.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

from .agent import ContainerEvents, ContainerExit, DockerAgent, DockerRun
from .cgroups import InstanceCgroups
from .cleanup import cleaning_up
from .engine import EventReader, connect
from .images import ensure_workload_image
from .labels import event_filters, new_run_id
from .realtime import WallClockEnvironment

if TYPE_CHECKING:  # pragma: no cover
    import docker
    import pandas as pd

    from ..analysis import Result
    from ..model.world import AgentFactory, World
    from ..scenario.models import Scenario


@contextmanager
def collector_frozen() -> Iterator[None]:
    """Keep Python's cyclic garbage collector from pausing a real run.

    A wall-clock run stamps each engine event with the moment the SimPy thread takes it; a
    full collection over a large heap (a notebook's or a test session's DataFrames) can stall
    that thread for tens of milliseconds, which a run at factor 0.02 records as seconds of
    latency. Everything alive is collected and frozen first (``gc.freeze``), so collections
    during the run only look at the run's own new objects.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def docker_agents(client: docker.DockerClient, run_id: str, *, reader: EventReader) -> AgentFactory:
    """An agent factory for :class:`~ecssim.model.world.World` making :class:`DockerAgent`s.

    ``reader`` must read this run's container events; its ``on_event`` is taken over to
    route them to the agents. The factory's ``run`` attribute is the shared
    :class:`DockerRun` (its ``exits`` and ``close()``, to call when the run ends).
    """
    events = ContainerEvents()
    reader.on_event = events.post
    run = DockerRun(client, run_id, events)

    def factory(world: World, slot: int, cpu: int, memory: int, rng: Any) -> DockerAgent:
        run.bind(world)
        return DockerAgent(world, slot, cpu, memory, rng, run)

    factory.run = run
    return factory


class RealRun(NamedTuple):
    """A run with real containers: its tables, and each essential container's real exit."""

    result: Result
    exits: pd.DataFrame  # one row per ContainerExit, columns EXIT_COLUMNS


#: Columns of :attr:`RealRun.exits` (the fields of :class:`ContainerExit`).
EXIT_COLUMNS = list(ContainerExit._fields)


def run_real(scenario: Scenario, seed: int = 0, *, factor: float,
             client: docker.DockerClient | None = None, instance_cgroups: bool = False) -> RealRun:
    """Run ``scenario`` to its end with real containers, ``factor`` wall seconds per simulated
    second: its tables (the same as :func:`ecssim.simulate`'s) and the real exits of its
    essential containers (exit code, OOM kill, whether ecssim injected the fault).

    Warm-started tasks get their containers before the clock starts (they are RUNNING at
    t=0). With ``instance_cgroups`` each virtual instance's containers share a cgroup limited
    to its registered memory and CPU (:mod:`~ecssim.docker.cgroups`). Every container the
    run creates is removed when it ends, however it ends, and then its cgroups.

    Raises:
        EngineUnavailable: no usable engine (when ``client`` is not given).
        CgroupUnavailable: ``instance_cgroups`` on a host without cgroup v1 memory/cpu.
    """
    import pandas as pd

    from ..simulation import Simulation

    client = client if client is not None else connect()
    ensure_workload_image(client)
    run_id = new_run_id("run")
    cgroups = InstanceCgroups(run_id) if instance_cgroups else None
    try:
        with cleaning_up(client, run_id), EventReader(client, event_filters(run_id)) as reader:
            factory = docker_agents(client, run_id, reader=reader)
            factory.run.cgroups = cgroups
            try:
                env = WallClockEnvironment(factor)
                sim = Simulation(scenario, seed, env=env, agent_factory=factory)
                factory.run.start_warm_containers(sim.world.plane.agents)
                with collector_frozen():
                    env.restart_clock()  # building the world (image look-ups, warm containers) took wall time
                    sim.run_until()
            finally:
                factory.run.close()
            exits = pd.DataFrame(factory.run.exits, columns=EXIT_COLUMNS)
            return RealRun(sim.result(), exits)
    finally:
        if cgroups is not None:
            cgroups.remove()  # after the containers: an empty cgroup is all that is left


def run_with_docker(scenario: Scenario, seed: int = 0, *, factor: float,
                    client: docker.DockerClient | None = None) -> Result:
    """:func:`run_real`'s tables only: ``scenario`` run with real containers, as
    :func:`ecssim.simulate` would return it."""
    return run_real(scenario, seed, factor=factor, client=client).result
