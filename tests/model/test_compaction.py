"""Slot compaction (ecssim.model.compaction): dropping INACTIVE instances' slots changes no row.

Each check runs a scenario twice, once compacting at every chance (one INACTIVE slot is
enough) and once never, and compares every table byte for byte: a component that kept a
stale slot number would act on the wrong instance, or index past the end, and the rows
would differ; ``every_way_out`` has an instance leave or be held in every way modelled.
"""

from __future__ import annotations

import gc
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import ecssim
from ecssim.model.agent import SimulatedAgent
from ecssim.model.cluster import INACTIVE
from ecssim.model.compaction import SlotCompactor, compact
from ecssim.scenario import load_scenario_dict

from .every_way_out import EVERY_WAY_OUT

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"

def _run(scenario, seed: int, *, compacting: bool, summary_only: bool = False):
    sim = ecssim.Simulation(scenario, seed=seed, check_invariants=False, summary_only=summary_only,
                            compact_slots=compacting)
    if compacting:
        sim.world.plane.compactor = SlotCompactor(sim.world, min_dead=1, dead_fraction=0.0)
    sim.run_until()
    return sim


def _fingerprint(sim) -> dict[str, str]:
    result = sim.result()
    out = {"summary": json.dumps(result.summary(), sort_keys=True, default=str)}
    if hasattr(result, "tables"):
        for name, frame in result.tables().items():
            out[name] = hashlib.sha256(frame.to_csv(index=False).encode()).hexdigest()
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compacting_at_every_chance_changes_no_row(seed: int):
    scenario = load_scenario_dict(EVERY_WAY_OUT)
    never = _run(scenario, seed, compacting=False)
    always = _run(scenario, seed, compacting=True)
    assert always.world.plane.compactor.compactions >= 5  # the check below compared something
    gone = (never.result().events.query("entity == 'instance' and to_state == 'INACTIVE'").instance_id.nunique())
    assert gone >= 5
    assert _fingerprint(always) == _fingerprint(never)


@pytest.mark.parametrize("seed", [1, 2])
def test_compacting_right_after_the_event_that_left_an_instance_changes_no_row(seed: int):
    # earlier than the compactor's zero-delay timer, before that instant's other events: what
    # is pending then (a DAEMON task's held resources, a drain, a registration) is renumbered
    scenario = load_scenario_dict(EVERY_WAY_OUT)
    never = _run(scenario, seed, compacting=False)
    sim = ecssim.Simulation(scenario, seed=seed, check_invariants=False, compact_slots=False)
    env, world, compactions = sim.env, sim.world, 0
    while env.peek() < sim.duration:
        env.step()
        if any(info.status == INACTIVE for info in world.cluster.infos):
            compact(world)
            compactions += 1
    sim.run_until()
    assert compactions >= 10
    assert _fingerprint(sim) == _fingerprint(never)


@pytest.mark.parametrize("name", ["az-outage-two-azs-impaired", "diurnal-web-capacity-provider", "spot-mixed-strategy"])
def test_shipped_scenarios_give_the_same_summary_only_result_compacted(name: str):
    scenario = ecssim.load_scenario(SCENARIOS / f"{name}.yaml")
    never = _run(scenario, 1, compacting=False, summary_only=True)
    always = _run(scenario, 1, compacting=True, summary_only=True)
    assert always.world.plane.compactor.compactions >= 1
    assert _fingerprint(always) == _fingerprint(never)


def test_compaction_keeps_only_live_instances_in_order_and_new_ids_stay_unique():
    scenario = load_scenario_dict(EVERY_WAY_OUT)
    sim = _run(scenario, 1, compacting=False)
    world = sim.world
    before = [(info.id, info.status) for info in world.cluster.infos]
    new_of = compact(world)
    live = [i for i, status in before if status != "INACTIVE"]
    assert [info.id for info in world.cluster.infos] == live
    assert world.cluster.view.instance_ids == live == world.rec.instance_ids
    assert [info.slot for info in world.cluster.infos] == list(range(len(live)))
    assert [agent.slot for agent in world.plane.agents] == list(range(len(live)))
    assert (new_of[new_of >= 0] == np.arange(len(live))).all()
    n = world.cluster.view.n
    assert n == len(live) and not world.cluster.view.active[n:].any()
    for agent in world.plane.agents:
        assert all(task.slot == agent.slot for task in agent.tasks.values())
    # a new instance takes the first free slot but an id never used before
    info = world.asgs["od"]._launch("us-east-1a")
    assert world.cluster.infos[info].id not in {i for i, _ in before}


def test_summary_only_runs_compact_by_default_and_full_runs_do_not():
    scenario = load_scenario_dict(EVERY_WAY_OUT)
    assert isinstance(ecssim.Simulation(scenario, seed=1, summary_only=True).world.plane.compactor, SlotCompactor)
    assert ecssim.Simulation(scenario, seed=1, check_invariants=False).world.plane.compactor is None
    with pytest.raises(ValueError, match="compact_slots"):
        ecssim.Simulation(scenario, seed=1, check_invariants=True, compact_slots=True)


def test_a_terminated_host_and_its_running_tasks_are_freed_at_once():
    # Its tasks' processes would wait for their run timers (a crash due in days here) before
    # ending; the agent lets go of them at termination, so the compacted host is garbage now.
    data = {
        "duration": "1h", "warmStart": True,
        "cluster": {"fleets": [{"name": "main", "instanceType": "m5.large", "count": 2,
                                "availabilityZones": ["us-east-1a"]}]},
        "taskDefinitions": [{"family": "web", "containerDefinitions": [
            {"name": "web", "image": "web", "cpu": 256, "memory": 512}]}],
        "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 4}],
        "faults": [{"type": "taskCrash", "service": "web", "meanTimeToCrash": "30d"}],
        "actions": [{"type": "terminateInstance", "name": "kill", "at": "10m", "select": {"count": 1}}],
    }
    sim = _run(load_scenario_dict(data), 1, compacting=True, summary_only=True)
    assert sim.world.plane.compactor.compactions == 1
    gc.collect()
    dropped = [agent for agent in gc.get_objects() if isinstance(agent, SimulatedAgent) and agent.slot == -1]
    assert dropped == []
