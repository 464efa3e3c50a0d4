"""Every invariant holds in a run where instances leave in every way the simulator models.

Found by it: a task placed on a host that died in the same instant went on to PENDING and
pulled its image there; a drained instance waited for managedDrainingTimeout after its last
task had stopped, and the termination that should have ended the drain, once made, ran inside
the task's own STOPPED row and recorded it twice. Random variants of it (sizes, means,
modes, termination protection, awsvpc, spread, a redeployment) check the same, a few seeds
per run of the suite.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

import ecssim
from ecssim.scenario import load_scenario_dict

from .every_way_out import EVERY_WAY_OUT, deployments_under_churn


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_invariant_holds_however_instances_leave(seed: int):
    sim = ecssim.Simulation(load_scenario_dict(EVERY_WAY_OUT), seed=seed, check_invariants=True)
    sim.run_until()  # the checker raises InvariantViolation at the first broken invariant
    events = sim.result().events
    left = events.query("entity == 'instance' and to_state == 'INACTIVE'").entity_id.nunique()
    assert left >= 5  # instances did leave


def variant(seed: int) -> dict:
    """every_way_out with its sizes, means, modes and options drawn from ``seed``."""
    r = np.random.default_rng(seed)
    d = copy.deepcopy(EVERY_WAY_OUT)
    f0, f1 = d["cluster"]["fleets"]
    f0["count"] = int(r.integers(2, 8))
    f0["maxSize"] = f0["count"] + int(r.integers(0, 6))
    f1["count"] = int(r.integers(1, 5))
    f1["spotInstanceDraining"] = bool(r.integers(2))
    cp = d["capacityProviders"][0]["autoScalingGroupProvider"]
    cp["managedTerminationProtection"] = r.choice(["ENABLED", "DISABLED"])
    cp["managedDraining"] = r.choice(["ENABLED", "DISABLED"])
    cp["managedScaling"]["targetCapacity"] = int(r.choice([60, 90, 100]))
    d["services"][0]["desiredCount"] = int(r.integers(2, 16))
    d["services"][2]["desiredCount"] = int(r.integers(0, 10))
    if r.integers(2):
        d["taskDefinitions"][0] = dict(d["taskDefinitions"][0], networkMode="awsvpc")
    if r.integers(2):
        d["services"][0]["placementStrategy"] = [{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                                {"type": "binpack", "field": "memory"}]
    if r.integers(2):
        d["services"][2]["deploymentConfiguration"] = {"maximumPercent": 100, "minimumHealthyPercent": 50}
    for fault in d["faults"]:
        if fault["type"] == "instanceFailure" and "timeToFailure" in fault:
            fault["timeToFailure"]["mean"] = f"{int(r.integers(30, 300))}m"
            if r.integers(2):
                fault["mode"] = "impaired"
                fault["terminateAfter"] = f"{int(r.integers(1, 40))}m"
            else:
                fault["mode"] = "terminated"
                fault.pop("terminateAfter", None)
        if fault["type"] == "agentDisconnect":
            fault["duration"] = f"{int(r.integers(1, 60))}m"
        if fault["type"] == "azOutage":
            fault["mode"] = r.choice(["terminated", "impaired"])
            if fault["mode"] == "impaired":
                fault["terminateAfter"] = f"{int(r.integers(1, 30))}m"
            fault["refuseNewInstances"] = bool(r.integers(2))
    d["actions"].append({"type": "updateService", "name": "redeploy", "at": f"{int(r.integers(10, 300))}m",
                         "service": "batch", "taskDefinition": "web"})
    return d


@pytest.mark.parametrize("seed", range(100, 108))
def test_every_invariant_holds_in_random_variants(seed: int):
    sim = ecssim.Simulation(load_scenario_dict(variant(seed)), seed=seed, check_invariants=True)
    sim.run_until()
    assert len(sim.result().tasks) > 0


@pytest.mark.parametrize("seed", range(200, 206))
def test_every_invariant_holds_when_deployments_and_task_faults_meet_instance_churn(seed: int):
    sim = ecssim.Simulation(load_scenario_dict(deployments_under_churn(seed)), seed=seed, check_invariants=True)
    sim.run_until()
    assert len(sim.result().deployments) >= 2
