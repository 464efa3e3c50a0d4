"""A real ``describe-task-definition`` taskDefinition pastes in unchanged; extras are reported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from ecssim.scenario import ScenarioError, load_scenario_dict, validate_file

FIXTURE = Path(__file__).parent / "data" / "describe-task-definition.json"


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    task_definition = json.loads(FIXTURE.read_text())
    data = {
        "duration": "1h",
        "cluster": {"fleets": [{"name": "main", "instanceType": "m5.xlarge", "count": 2}]},
        "taskDefinitions": [task_definition],
        "services": [
            {
                "serviceName": "checkout",
                "taskDefinition": task_definition["taskDefinitionArn"],
                "desiredCount": 3,
            }
        ],
    }
    path = tmp_path / "checkout.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_describe_output_loads_unchanged(scenario_file: Path) -> None:
    report = validate_file(scenario_file)
    td = report.scenario.task_definitions[0]
    assert (td.family, td.revision, td.cpu, td.memory, td.network_mode) == (
        "checkout",
        7,
        1024,
        2048,
        "bridge",
    )
    app, router = td.container_definitions
    assert (app.memory, app.memory_reservation, app.stop_timeout) == (1024, 768, 45)
    assert app.port_mappings[0].host_port == 0 and not router.essential
    assert td.model_extra["requiresAttributes"][0]["name"].startswith("com.amazonaws")


def test_describe_output_reports_its_ignored_fields(scenario_file: Path) -> None:
    ignored = validate_file(scenario_file).ignored
    for path in [
        "taskDefinitions[0].taskDefinitionArn",
        "taskDefinitions[0].status",
        "taskDefinitions[0].registeredAt",
        "taskDefinitions[0].requiresAttributes",
        "taskDefinitions[0].compatibilities",
        "taskDefinitions[0].volumes",
        "taskDefinitions[0].containerDefinitions[0].environment",
        "taskDefinitions[0].containerDefinitions[0].logConfiguration",
        "taskDefinitions[0].containerDefinitions[0].portMappings[0].appProtocol",
        "taskDefinitions[0].containerDefinitions[1].firelensConfiguration",
    ]:
        assert path in ignored
    assert len(ignored) == len(set(ignored))
    assert not any(".healthCheck" in path or ".logConfiguration." in path for path in ignored)  # health checks are simulated


def test_a_typo_in_a_pasted_definition_is_caught() -> None:
    task_definition = json.loads(FIXTURE.read_text())
    task_definition["containerDefinitions"][0]["memoryReservaton"] = 512
    task_definition["requiresCompatibilites"] = ["EC2"]
    data = {
        "duration": "1h",
        "cluster": {"fleets": [{"name": "main", "instanceType": "m5.xlarge", "count": 2}]},
        "taskDefinitions": [task_definition],
    }
    with pytest.raises(ScenarioError) as info:
        load_scenario_dict(data, source="s")
    assert str(info.value).splitlines() == [
        "s: taskDefinitions[0].containerDefinitions[0].memoryReservaton: "
        "not an ECS ContainerDefinition field; did you mean memoryReservation?",
        "s: taskDefinitions[0].requiresCompatibilites: not an ECS TaskDefinition field; "
        "did you mean requiresCompatibilities?",
    ]
