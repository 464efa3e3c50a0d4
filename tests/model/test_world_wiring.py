"""The world's two seams for the Docker mode: the SimPy environment and the agent factory.

The same world must run unchanged in wall-clock time (``simpy.rt.RealtimeEnvironment``) and
with another agent behind the agent interface; both give the very same event log here.
"""

from __future__ import annotations

import time
from pathlib import Path

import simpy.rt

import ecssim
from ecssim.model.world import simulated_agent

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "teaching-3-instances.yaml"  # 20 simulated minutes, an instance terminated


def test_a_realtime_environment_runs_the_same_world() -> None:
    scenario = ecssim.load_scenario(SCENARIO)
    simulated = ecssim.Simulation(scenario, seed=2).run_until().result()
    factor = 0.0002  # wall seconds per simulated second: 20 minutes in 0.24 s
    started = time.perf_counter()
    realtime = ecssim.Simulation(scenario, seed=2, env=simpy.rt.RealtimeEnvironment(factor=factor, strict=False))
    result = realtime.run_until().result()
    wall = time.perf_counter() - started
    assert wall >= 0.9 * scenario.duration * factor  # it really waited for the clock
    assert result.events.equals(simulated.events)
    assert result.tasks.equals(simulated.tasks)


def test_every_instance_gets_its_agent_from_the_factory() -> None:
    scenario = ecssim.load_scenario(SCENARIO)
    made: list[int] = []

    def counting(world, slot, cpu, memory, rng):  # noqa: ANN001, ANN202
        made.append(slot)
        return simulated_agent(world, slot, cpu, memory, rng)

    result = ecssim.Simulation(scenario, seed=2, agent_factory=counting).run_until().result()
    assert made == list(range(len(result.instances)))
    assert result.events.equals(ecssim.simulate(scenario, seed=2).events)
