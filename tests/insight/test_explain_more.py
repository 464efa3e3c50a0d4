"""Explain for DAEMON placements, and the memberOf expression an instance actually fails."""

from __future__ import annotations

import ecssim
from ecssim.scenario import load_scenario_dict


def test_a_daemon_placement_is_explained_on_its_own_instance():
    scenario = load_scenario_dict({
        "duration": "5m", "warmStart": True,
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 3,
                                "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]}]},
        "taskDefinitions": [{"family": "log", "containerDefinitions": [{"name": "a", "image": "x", "cpu": 256,
                                                                        "memory": 256}]}],
        "services": [{"serviceName": "logs", "taskDefinition": "log", "schedulingStrategy": "DAEMON"}],
    })
    result = ecssim.simulate(scenario, seed=1)
    second = result.tasks.set_index("task_id").loc["t-000002"]
    frame = result.explain("t-000002")
    assert frame.attrs["instance_id"] == second.instance_id
    assert frame.attrs["strategies"] == [("daemon", second.instance_id)]
    chosen = frame[frame.chosen]
    assert chosen.instance_id.tolist() == [second.instance_id]


def test_why_names_the_member_of_expression_that_failed():
    scenario = load_scenario_dict({
        "duration": "5m", "warmStart": True,
        "cluster": {"fleets": [
            {"name": "a", "instanceType": "m5.large", "count": 1, "availabilityZones": ["us-east-1a"]},
            {"name": "b", "instanceType": "t3.medium", "count": 1, "availabilityZones": ["us-east-1b"]},
        ]},
        "taskDefinitions": [{"family": "db", "containerDefinitions": [{"name": "a", "image": "x", "memory": 256}]}],
        "actions": [{"type": "runTask", "at": "1m", "taskDefinition": "db", "placementConstraints": [
            {"type": "memberOf", "expression": "attribute:ecs.availability-zone == us-east-1b"},
            {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"},
        ]}],
    })
    result = ecssim.simulate(scenario, seed=1)
    assert result.placement_failures.reason.tolist() == ["MemberOf placement constraint unsatisfied"]
    frame = result.explain("pf-000001").set_index("az")
    assert frame.loc["us-east-1a", "why"] == "not a member of [attribute:ecs.availability-zone == us-east-1b]"
    assert frame.loc["us-east-1b", "why"] == "not a member of [attribute:ecs.instance-type =~ m5.*]"
