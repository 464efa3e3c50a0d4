"""Placement fields of scenario files: memberOf at every level, ECS's limits, ENI and GPU fields."""

from __future__ import annotations

import pytest

from ecssim.model.taskspec import task_demand
from ecssim.placement import Query
from ecssim.scenario import ScenarioError, load_scenario_dict
from ecssim.scenario.loading import _build

M5 = {"type": "memberOf", "expression": "attribute:ecs.instance-type =~ m5.*"}


def issues(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_dict(data)
    return [f"{i.path}: {i.message}" for i in info.value.issues]


def test_member_of_loads_at_every_level_and_compiles(minimal):
    minimal["taskDefinitions"][0]["placementConstraints"] = [M5]
    minimal["services"][0]["placementConstraints"] = [{"type": "distinctInstance"}, M5]
    minimal["workloads"] = [{"taskDefinition": "web", "arrivals": {"type": "schedule", "at": [1]},
                             "placementConstraints": [M5]}]
    minimal["actions"] = [{"type": "runTask", "at": 1, "taskDefinition": "web", "placementConstraints": [M5]}]
    scenario = load_scenario_dict(minimal)
    kind, query = scenario.task_definitions[0].placement_constraints[0].as_tuple()
    assert kind == "memberOf" and isinstance(query, Query) and query.text == M5["expression"]
    assert scenario.services[0].placement_constraints[0].as_tuple() == ("distinctInstance", None)
    assert scenario.workloads[0].placement_constraints[0].as_tuple()[1] is query  # compiled once


def test_malformed_expression_names_its_column(minimal):
    minimal["workloads"] = [{"taskDefinition": "web", "arrivals": {"type": "schedule", "at": [1]},
                             "placementConstraints": [{"type": "memberOf", "expression": "attribute:team in web"}]}]
    # "attribute:team in web": the list must open with '[' at column 19.
    assert issues(minimal) == [
        "workloads[0].placementConstraints[0].expression: column 19: expected '[' to start the list after "
        "'in', got 'web'"
    ]


def test_member_of_needs_an_expression(minimal):
    minimal["services"][0]["placementConstraints"] = [{"type": "memberOf"}]
    assert issues(minimal)[0].startswith("services[0].placementConstraints[0].expression: memberOf needs an expression")


def test_ten_constraints_in_total_are_allowed(minimal):
    minimal["taskDefinitions"][0]["placementConstraints"] = [M5] * 4
    minimal["services"][0]["placementConstraints"] = [M5] * 6
    load_scenario_dict(minimal)
    minimal["services"][0]["placementConstraints"] = [M5] * 7
    assert issues(minimal) == [
        "services[0].placementConstraints: 7 placement constraints plus the task definition's 4 make 11; "
        "ECS allows 10 in total"
    ]
    minimal["services"][0]["placementConstraints"] = [M5] * 11
    assert issues(minimal)[0].startswith("services[0].placementConstraints: at most 10 placement constraints")


def test_five_strategies_are_allowed(minimal):
    minimal["services"][0]["placementStrategy"] = [{"type": "binpack", "field": "memory"}] * 5
    load_scenario_dict(minimal)
    minimal["workloads"] = [{"taskDefinition": "web", "arrivals": {"type": "schedule", "at": [1]},
                             "placementStrategy": [{"type": "random"}] * 6}]
    assert issues(minimal) == ["workloads[0].placementStrategy: at most 5 placement strategy rules (ECS's limit), got 6"]


def test_fleet_placement_fields(minimal):
    fleet = minimal["cluster"]["fleets"][0]
    fleet.update({"agentVersion": "1.70.1", "awsvpcTrunking": True})
    scenario = load_scenario_dict(minimal)
    assert scenario.cluster.fleets[0].agent_version == "1.70.1"
    fleet["agentVersion"] = "latest"
    assert issues(minimal)[0].startswith("cluster.fleets[0].agentVersion:")


def test_gpu_and_eni_demand(minimal):
    minimal["taskDefinitions"][0]["networkMode"] = "awsvpc"
    minimal["taskDefinitions"][0]["containerDefinitions"] = [
        {"name": "a", "image": "x", "memory": 256, "resourceRequirements": [{"type": "GPU", "value": "2"}]},
        {"name": "b", "image": "x", "memory": 256, "resourceRequirements": [{"type": "GPU", "value": "1"}]},
    ]
    scenario, warnings = _build(minimal, "<dict>", None)
    demand = task_demand(scenario.task_definitions[0])
    assert (demand.enis, demand.gpus) == (1, 3)
    # m5.large has no GPU: the tasks could never be placed.
    assert warnings == [
        "taskDefinitions[0]: needs 3 GPU(s); no fleet's instance type has more than 0, so its tasks can never be placed"
    ]


PLACEMENT_EXAMPLES = ["member-of-malformed", "too-many-strategies", "too-many-constraints",
                      "eni-trunking-unknown-type", "distinct-instance-in-task-definition",
                      "registered-at-date-without-start-time", "gpu-not-a-number"]


@pytest.mark.parametrize("name", PLACEMENT_EXAMPLES)
def test_validate_exits_2_on_placement_examples(name):
    from pathlib import Path

    from click.testing import CliRunner

    from ecssim.cli import main

    path = Path(__file__).resolve().parents[2] / "scenarios" / "invalid" / f"{name}.yaml"
    expected = [line.split("expect:", 1)[1].strip() for line in path.read_text().splitlines()
                if line.startswith("# expect:")]
    result = CliRunner().invoke(main, ["validate", str(path)])
    assert result.exit_code == 2
    assert all(message in result.output for message in expected)
