"""Placing several tasks at once gives the same result as placing them one by one (issue 3)."""

from __future__ import annotations

import ecssim
from ecssim.scenario import load_scenario_dict

# Two instances per AZ, each with a different memory size (2 to 64 GiB), so that spread(AZ) then binpack(memory)
# never ties and the choice is decided by ECS's rules alone (no random tie-break).
BASE = {
    "duration": "30m",
    "warmStart": True,
    "cluster": {"fleets": [
        {"name": name, "instanceType": kind, "count": 1, "availabilityZones": [az]}
        for name, kind, az in (("a1", "t3.small", "us-east-1a"), ("a2", "m5.xlarge", "us-east-1a"),
                               ("b1", "c5.large", "us-east-1b"), ("b2", "r5.xlarge", "us-east-1b"),
                               ("c1", "m5.large", "us-east-1c"), ("c2", "r5.2xlarge", "us-east-1c"))
    ]},
    "taskDefinitions": [{"family": "web", "containerDefinitions": [{"name": "w", "image": "w", "cpu": 128,
                                                                    "memory": 700}]}],
}
STRATEGY = [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}]


def placements(actions: list[dict]) -> list[str]:
    data = dict(BASE, services=[{"serviceName": "web", "taskDefinition": "web", "desiredCount": 0,
                                 "placementStrategy": STRATEGY}], actions=actions)
    result = ecssim.simulate(load_scenario_dict(data), seed=5)
    return result.tasks.sort_values("created_at_s", kind="stable").instance_id.tolist()


def test_a_desired_count_jump_places_like_one_at_a_time():
    at_once = placements([{"type": "updateService", "at": "1m", "service": "web", "desiredCount": 9}])
    one_by_one = placements([{"type": "updateService", "name": f"up{k}", "at": f"{k + 1}m", "service": "web",
                              "desiredCount": k + 1} for k in range(9)])
    assert len(at_once) == 9
    assert at_once == one_by_one


def test_runtask_count_places_like_single_calls():
    def runs(actions: list[dict]) -> list[str]:
        data = dict(BASE, actions=actions)
        result = ecssim.simulate(load_scenario_dict(data), seed=5)
        return result.tasks.sort_values("created_at_s", kind="stable").instance_id.tolist()

    batch = runs([{"type": "runTask", "at": "1m", "taskDefinition": "web", "count": 6,
                   "placementStrategy": STRATEGY}])
    single = runs([{"type": "runTask", "name": f"r{k}", "at": f"{k + 1}m", "taskDefinition": "web",
                    "placementStrategy": STRATEGY} for k in range(6)])
    assert len(batch) == 6
    assert batch == single
