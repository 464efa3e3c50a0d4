"""The steppable ``Simulation``: ``run_until``, ``step`` and ``cluster_state`` on a teaching-sized cluster."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ecssim

from . import invariants
from .helpers import I1, I2, I3, scenario, service, task_definition

ROOT = Path(__file__).resolve().parents[2]


def teaching() -> ecssim.Scenario:
    """3 instances (one per AZ; 30 s registration), a 3-task service with a static port,
    a RunTask at 100 s, an instance loss at 200 s."""
    sc = scenario(
        instances=3,
        instance_type="t3.medium",
        task_definitions=[task_definition("web", cpu=256, memory=512, host_port=80),
                          task_definition("job", cpu=512, memory=1024)],
        services=[service("web", "web", 3)],
        actions=[{"type": "runTask", "name": "go", "at": 100, "taskDefinition": "job", "duration": 50}],
        faults=[{"type": "instanceFailure", "name": "boom", "at": [200], "select": {"instanceIds": [I3]}}],
        timing={"agentRegistration": "30s", "imagePull": "4s"},
        duration="287s",
    )
    sc["cluster"]["fleets"][0]["availabilityZones"] = ["a", "b", "c"]
    sc["cluster"]["fleets"][0]["replaceLostInstances"] = False  # the lost instance stays lost
    return ecssim.load_scenario_dict(sc)


def test_cluster_state_before_and_after_registration():
    sim = ecssim.Simulation(teaching(), seed=1)
    state = sim.cluster_state()
    assert state.instance_id.tolist() == [I1, I2, I3]
    assert state.az.tolist() == ["a", "b", "c"]
    assert set(state.status) == {"REGISTERING"}
    assert not state.agent_connected.any()
    assert (state.cpu_registered == 2048).all() and (state.memory_registered_mib == 3989).all()
    assert (state.cpu_free == 2048).all() and (state.task_ids == "").all()
    sim.run_until(30.0)  # run_until stops before what happens at that instant
    assert set(sim.cluster_state().status) == {"REGISTERING"}
    sim.run_until("35s")
    state = sim.cluster_state()
    assert set(state.status) == {"ACTIVE"} and state.agent_connected.all()
    assert sim.now == 35.0


def test_cluster_state_follows_both_ledgers():
    sim = ecssim.Simulation(teaching(), seed=1)
    # The first reconcile (10 s) finds no instance: back-off 30 s, web launched at 40, pulling until 44.
    sim.run_until(41.0)
    state = sim.cluster_state().set_index("instance_id")
    assert state.tasks_pending.tolist() == [1, 1, 1]
    assert state.tasks_running.sum() == 0
    assert state.cpu_free.tolist() == [2048 - 256] * 3
    assert state.memory_free_mib.tolist() == [3989 - 512] * 3
    assert state.cpu_free_host.tolist() == [2048 - 256] * 3
    assert state.services.tolist() == ["web"] * 3
    sim.run_until(120.0)
    state = sim.cluster_state().set_index("instance_id")
    assert state.tasks_running.sum() == 4  # 3 web + the RunTask
    job = state[state.task_ids.str.contains(" ")]
    assert len(job) == 1
    assert int(job.memory_free_mib.iloc[0]) == 3989 - 512 - 1024
    assert int(job.memory_free_host_mib.iloc[0]) == 3989 - 512 - 1024
    sim.run_until(250.0)
    state = sim.cluster_state().set_index("instance_id")
    assert state.loc[I3, "status"] == "INACTIVE" and not state.loc[I3, "agent_connected"]
    assert state.loc[I3, "task_ids"] == ""
    # The web task lost with I3 cannot be replaced elsewhere (static port 80 on both others).
    assert state.tasks_running.sum() == 2
    res = sim.run_until().result()
    # At 10 s no instance had registered yet; after the loss, port 80 is taken on both others.
    assert res.placement_failures[["time_s", "reason"]].values.tolist()[0] == [10.0, "NO_ACTIVE_INSTANCES"]
    assert set(res.placement_failures.reason[1:]) == {"RESOURCE:PORTS"}


def test_cluster_state_matches_the_tables_at_every_step():
    """At each moment, the free resources shown equal registered minus the demands of the
    tasks holding each ledger, as recomputed from the rows seen so far."""
    sim = ecssim.Simulation(teaching(), seed=2)
    demand: dict[str, tuple[int, int]] = {}
    cp: dict[str, set[str]] = {I1: set(), I2: set(), I3: set()}
    host: dict[str, set[str]] = {I1: set(), I2: set(), I3: set()}
    moments = 0
    while True:
        rows = sim.step()
        if rows.empty:
            break
        moments += 1
        assert rows.time_s.nunique() == 1 and rows.time_s.iloc[0] == sim.now
        tasks = sim.result().tasks.set_index("task_id")
        for row in rows[rows.entity == "task"].itertuples(index=False):
            demand[row.entity_id] = (int(tasks.loc[row.entity_id, "cpu"]), int(tasks.loc[row.entity_id, "memory_mib"]))
            if row.event == "state" and row.from_state == "":
                cp[row.instance_id].add(row.entity_id)
            elif row.event == "state" and row.to_state in ("STOPPING", "STOPPED"):
                cp[row.instance_id].discard(row.entity_id)
            elif row.event == "host_acquired":
                host[row.instance_id].add(row.entity_id)
            elif row.event == "host_released":
                host[row.instance_id].discard(row.entity_id)
        state = sim.cluster_state().set_index("instance_id")
        for instance_id in (I1, I2, I3):
            s = state.loc[instance_id]
            assert s.cpu_free == s.cpu_registered - sum(demand[t][0] for t in cp[instance_id])
            assert s.memory_free_mib == s.memory_registered_mib - sum(demand[t][1] for t in cp[instance_id])
            assert s.cpu_free_host == s.cpu_registered - sum(demand[t][0] for t in host[instance_id])
            assert s.memory_free_host_mib == s.memory_registered_mib - sum(demand[t][1] for t in host[instance_id])
    assert moments >= 8
    assert sim.step().empty  # nothing left: stays empty


def test_steps_add_up_to_the_one_shot_run():
    sim = ecssim.Simulation(teaching(), seed=3)
    built = sim.result().events  # rows written while building the world (t=0)
    assert set(built.time_s) == {0.0}
    parts = []
    while not (rows := sim.step()).empty:
        parts.append(rows)
    assert parts[0].seq.tolist()[: len(built)] == built.seq.tolist()  # the first step hands them out too
    stepped = pd.concat(parts, ignore_index=True)
    assert stepped.seq.tolist() == list(range(len(stepped)))  # seq continues across steps
    stepped = stepped.drop(columns="seq")
    whole = ecssim.simulate(teaching(), seed=3).events.drop(columns="seq")
    pd.testing.assert_frame_equal(stepped, whole, check_dtype=False)
    # The stepped simulation's own result is the same run.
    pd.testing.assert_frame_equal(sim.result().events.drop(columns="seq"), whole)


def test_run_until_in_pieces_equals_one_run():
    sim = ecssim.Simulation(teaching(), seed=4)
    for t in (10, "1m", 99.5, 100, 100, 201, "4m"):
        sim.run_until(t)
    sim.run_until()
    assert sim.now == pytest.approx(sim.duration)
    pd.testing.assert_frame_equal(sim.result().events, ecssim.simulate(teaching(), seed=4).events)


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_scenarios_keep_the_invariants(path):
    res = ecssim.simulate(ecssim.load_scenario(path), seed=11)
    assert invariants.all_invariants(res) == []
