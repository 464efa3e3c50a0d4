"""Checks across the scenario: references, uniqueness, places, times, ECS task-definition rules."""

from __future__ import annotations

import pytest

from ecssim.scenario import ScenarioError, load_scenario_dict, resolve_task_definition
from ecssim.scenario.ecs_objects import TaskDefinition


def errors_of(data: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_dict(data, source="s")
    return [f"{issue.path}: {issue.message}" for issue in info.value.issues]


def td(family: str, revision: int = 1) -> TaskDefinition:
    return TaskDefinition(
        family=family, revision=revision, container_definitions=[{"name": "a", "memory": 64}]
    )


def test_task_definition_resolution_like_ecs() -> None:
    tds = [td("web", 1), td("web", 3), td("api", 2)]
    assert resolve_task_definition(tds, "web").revision == 3
    assert resolve_task_definition(tds, "web:1").revision == 1
    assert resolve_task_definition(tds, "arn:aws:ecs:us-east-1:1:task-definition/api:2").family == "api"
    assert resolve_task_definition(tds, "web:2") is None
    assert resolve_task_definition(tds, "db") is None


def test_every_reference_problem_reported_at_once(minimal: dict) -> None:
    minimal["services"].append({"serviceName": "web", "taskDefinition": "web:9"})
    minimal["workloads"] = [
        {"taskDefinition": "nope", "arrivals": {"type": "schedule", "at": [1]}, "duration": 5},
    ]
    minimal["faults"] = [
        {"type": "taskCrash", "service": "webb", "meanTimeToCrash": "1h"},
        {
            "type": "instanceFailure",
            "at": [60],
            "select": {"fleet": "spot", "availabilityZone": "us-west-2a"},
        },
    ]
    minimal["actions"] = [{"type": "runTask", "at": 5, "taskDefinition": "batch"}]
    minimal["measureFrom"] = "2h"
    assert sorted(errors_of(minimal)) == sorted(
        [
            "services[1].serviceName: duplicate 'web'; names must be unique in services",
            "services[1].taskDefinition: unknown task definition 'web:9'; known: web:1",
            "workloads[0].taskDefinition: unknown task definition 'nope'; known: web:1",
            "actions[0].taskDefinition: unknown task definition 'batch'; known: web:1",
            "faults[0].service: unknown service 'webb'; did you mean web?",
            "faults[1].select.fleet: unknown fleet 'spot'; known: main",
            "faults[1].select.availabilityZone: 'us-west-2a' is not an AZ of the cluster; "
            "its AZs: us-east-1a, us-east-1b, us-east-1c",
            "measureFrom: must be less than duration (3600 s), got 7200 s",
        ]
    )


def test_unique_names_and_revisions(minimal: dict) -> None:
    minimal["cluster"]["fleets"].append(dict(minimal["cluster"]["fleets"][0]))
    minimal["taskDefinitions"].append(dict(minimal["taskDefinitions"][0]))
    minimal["faults"] = [{"type": "azOutage", "name": "x", "availabilityZone": "us-east-1a", "start": 1}] * 2
    assert errors_of(minimal) == [
        "cluster.fleets[1].name: duplicate 'main'; names must be unique in cluster.fleets",
        "taskDefinitions[1].revision: duplicate 'web:1'; names must be unique in taskDefinitions",
        "faults[1].name: duplicate 'x'; names must be unique in faults",
    ]


def container(**fields: object) -> dict:
    return {"name": fields.pop("name", "c"), "image": "i", **fields}


@pytest.mark.parametrize(
    ("td_fields", "expected"),
    [
        (
            {"containerDefinitions": [container(memory=128, essential=False)]},
            "taskDefinitions[0].containerDefinitions: at least one container must be essential",
        ),
        (
            {"containerDefinitions": [container(memory=128, memoryReservation=256)]},
            "taskDefinitions[0].containerDefinitions[0].memoryReservation: must be <= memory (128), got 256",
        ),
        (
            {"containerDefinitions": [container(memory=128), container(name="c", memory=64)]},
            "taskDefinitions[0].containerDefinitions[1].name: duplicate container name 'c'",
        ),
        (
            {
                "networkMode": "host",
                "containerDefinitions": [
                    container(memory=64, portMappings=[{"containerPort": 80, "hostPort": 81}])
                ],
            },
            "taskDefinitions[0].containerDefinitions[0].portMappings[0].hostPort: must equal containerPort (80) in host mode, got 81",
        ),
        (
            {
                "networkMode": "awsvpc",
                "containerDefinitions": [
                    container(memory=64, portMappings=[{"containerPort": 80, "hostPort": 81}])
                ],
            },
            "taskDefinitions[0].containerDefinitions[0].portMappings[0].hostPort: must equal containerPort (80) in awsvpc mode, got 81",
        ),
        (
            {
                "networkMode": "host",
                "containerDefinitions": [
                    container(memory=64, portMappings=[{"containerPort": 80}]),
                    container(name="d", memory=64, portMappings=[{"containerPort": 80, "hostPort": 80}]),
                ],
            },
            "taskDefinitions[0].containerDefinitions[1].portMappings[0].hostPort: host port 80/tcp is already used by "
            "taskDefinitions[0].containerDefinitions[0].portMappings[0]",
        ),
        (
            {"memory": 100, "containerDefinitions": [container(memory=128)]},
            "taskDefinitions[0].memory: the containers' memory (128 MiB) exceeds the task's memory (100 MiB)",
        ),
    ],
)
def test_task_definition_rules(minimal: dict, td_fields: dict, expected: str) -> None:
    minimal["taskDefinitions"] = [{"family": "web", **td_fields}]
    assert errors_of(minimal) == [expected]


def test_task_level_memory_or_container_memory(minimal: dict) -> None:
    minimal["taskDefinitions"] = [{"family": "web", "memory": "1 GB", "containerDefinitions": [container()]}]
    assert load_scenario_dict(minimal).task_definitions[0].memory == 1024
    minimal["taskDefinitions"] = [
        {"family": "web", "containerDefinitions": [container(memoryReservation=64)]}
    ]
    load_scenario_dict(minimal)


def test_ports_that_do_not_conflict(minimal: dict) -> None:
    mappings = [
        {"containerPort": 80},
        {"containerPort": 81, "hostPort": 0},
        {"containerPort": 53, "hostPort": 53, "protocol": "tcp"},
        {"containerPort": 53, "hostPort": 53, "protocol": "udp"},
    ]
    minimal["taskDefinitions"] = [
        {"family": "web", "containerDefinitions": [container(memory=64, portMappings=mappings)]}
    ]
    load_scenario_dict(minimal)


def test_reserved_agent_port_is_a_warning(tmp_path, minimal: dict) -> None:
    import json

    from ecssim.scenario import validate_file

    minimal["taskDefinitions"][0]["containerDefinitions"][0]["portMappings"] = [
        {"containerPort": 22, "hostPort": 22}
    ]
    (tmp_path / "s.json").write_text(json.dumps(minimal))
    warnings = validate_file(tmp_path / "s.json").warnings
    assert any("host port 22 is reserved by the ECS agent" in w for w in warnings)


def test_selector_and_timing_rules(minimal: dict) -> None:
    minimal["faults"] = [
        {"type": "instanceFailure", "at": [1], "select": {"count": 1, "fraction": 0.5}},
        {"type": "azOutage", "availabilityZone": "us-east-1a", "start": "10m", "end": "5m"},
    ]
    minimal["actions"] = [{"type": "stopTask", "at": 1}]
    assert errors_of(minimal) == [
        "actions[0]: stopTask needs a service or taskIds",
        "faults[0].select: give count or fraction, not both",
        "faults[1].end: must be after start (600 s), got 300 s",
    ]


def test_reserved_memory_larger_than_instance(minimal: dict) -> None:
    minimal["cluster"]["fleets"][0]["reservedMemory"] = "16 GiB"
    assert errors_of(minimal)[0].startswith(
        "cluster.fleets[0].reservedMemory: reserved memory 16384 MiB leaves nothing"
    )
