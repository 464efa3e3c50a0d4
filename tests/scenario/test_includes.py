"""``{file: ...}`` includes of ECS JSON in taskDefinitions and services: shapes, overrides, errors."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

import ecssim
from ecssim.cli import main
from ecssim.scenario import ScenarioError, load_scenario, load_scenario_dict, validate_file
from ecssim.scenario.includes import merge_overrides

DATA = Path(__file__).parent / "data" / "ecs-json"
STOREFRONT = DATA / "storefront.yaml"
FLEET = {"fleets": [{"name": "main", "instanceType": "m5.xlarge", "count": 4,
                     "availabilityZones": ["us-east-1a", "us-east-1b"]}]}

#: fixture -> (family, revision, networkMode, task cpu, task memory, [(container, memory, memoryReservation)],
#: the CPU units and MiB one task reserves (ECS: task-level when set, else the containers' sum with
#: memoryReservation preferred over memory)).
TASK_DEFINITIONS = {
    "web.describe-task-definition.json": ("web", 14, "bridge", None, None,
                                          [("web", 512, 384), ("redis", 256, None)], 256 + 128, 384 + 256),
    "api.awsvpc.json": ("api", 3, "awsvpc", None, None, [("api", None, 768)], 512, 768),
    "edge-proxy.register-task-definition.json": ("edge-proxy", 1, "host", None, None, [("envoy", 256, None)],
                                                 256, 256),
    "batch.task-level.yaml": ("batch", 1, "bridge", 1024, 2048, [("worker", None, None), ("metrics", None, None)],
                              1024, 2048),
    "checkout.fargate.json": ("checkout", 9, "awsvpc", 1024, 2048, [("checkout", None, None)], 1024, 2048),
}


def _load(data: dict[str, Any], folder: Path = DATA, name: str = "scenario.yaml") -> ecssim.Scenario:
    """Load ``data`` as if it were the file ``folder/name`` (includes resolve against ``folder``)."""
    return load_scenario_dict(data, str(folder / name), folder)


def _write(path: Path, content: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content) if path.suffix == ".json" else yaml.safe_dump(content, sort_keys=False))
    return path


def _error(data: dict[str, Any], folder: Path) -> str:
    path = _write(folder / "scenario.yaml", data)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    return str(info.value)


def _task_definition(name: str) -> dict[str, Any]:
    """The task definition object of a fixture (unwrapped), to change in one place."""
    content = json.loads((DATA / name).read_text())
    return copy.deepcopy(content.get("taskDefinition", content))


# --------------------------------------------------------------------------- shapes load and simulate


@pytest.mark.parametrize("name", sorted(TASK_DEFINITIONS))
def test_each_task_definition_shape_loads_and_runs(name: str) -> None:
    family, revision, mode, cpu, memory, containers, task_cpu, task_mib = TASK_DEFINITIONS[name]
    fargate = name.endswith("fargate.json")
    service = {"serviceName": family, "taskDefinition": family, "desiredCount": 2,
               "launchType": "FARGATE" if fargate else "EC2"}
    scenario = _load({"duration": "5m", "warmStart": True, "cluster": FLEET,
                      "taskDefinitions": [{"file": name}], "services": [service]})
    td = scenario.task_definitions[0]
    assert (td.family, td.revision, td.network_mode, td.cpu, td.memory) == (family, revision, mode, cpu, memory)
    assert [(c.name, c.memory, c.memory_reservation) for c in td.container_definitions] == containers
    tasks = ecssim.simulate(scenario, seed=3).tasks
    assert list(tasks["last_status"]) == ["RUNNING", "RUNNING"]
    assert set(tasks["task_definition"]) == {f"{family}:{revision}"}
    assert set(tasks["launch_type"]) == {"FARGATE" if fargate else "EC2"}
    assert (set(tasks["cpu"]), set(tasks["memory_mib"])) == ({task_cpu}, {task_mib})


def test_health_checks_of_an_included_definition_are_modelled() -> None:
    td = _load({"duration": "5m", "cluster": FLEET, "taskDefinitions": [{"file": "web.describe-task-definition.json"}]}
               ).task_definitions[0]
    web, redis = td.container_definitions
    assert (web.health_check.interval, web.health_check.start_period, redis.health_check.interval) == (15, 20, 10)
    assert (web.essential, redis.essential) == (True, False)
    assert web.model_extra["dependsOn"] == [{"containerName": "redis", "condition": "HEALTHY"}]
    assert web.model_extra["secrets"][0]["valueFrom"].startswith("arn:aws:ssm:us-east-1:123456789012:parameter/")


def test_the_storefront_scenario_expands_every_include_in_order() -> None:
    scenario = load_scenario(STOREFRONT)
    assert [td.key for td in scenario.task_definitions] == ["web:14", "api:3", "edge-proxy:1", "batch:1", "checkout:9"]
    services = {s.service_name: s for s in scenario.services}
    assert list(services) == ["web", "checkout", "api", "edge-proxy", "batch"]  # describe-services: both, in order
    web, checkout, api = services["web"], services["checkout"], services["api"]
    assert web.task_definition == "arn:aws:ecs:us-east-1:123456789012:task-definition/web:14"
    assert (web.desired_count, web.launch_type, web.health_check_grace_period_seconds) == (4, "EC2", 60)
    assert [s.as_tuple() for s in web.placement_strategy] == [("spread", "attribute:ecs.availability-zone"),
                                                             ("binpack", "memory")]
    assert web.deployment_configuration.minimum_healthy_percent == 50
    assert web.load_balancers[0].container_port == 8080
    assert [(i.capacity_provider, i.base, i.weight) for i in checkout.capacity_provider_strategy] == [
        ("FARGATE", 1, 1), ("FARGATE_SPOT", 0, 2)]
    assert (api.desired_count, api.model_extra["cluster"], api.placement_constraints[0].type) == (
        3, "storefront", "distinctInstance")
    assert services["edge-proxy"].scheduling_strategy == "DAEMON"


def test_the_storefront_scenario_runs_with_task_definition_arns() -> None:
    """describe-services writes taskDefinition as a full ARN: the run resolves it as validation does."""
    result = ecssim.simulate(load_scenario(STOREFRONT), seed=1)
    assert len(result.tasks) > 0 and set(result.tasks.task_definition) >= {"web:14", "checkout:9"}


def _storefront_by_revision() -> dict[str, Any]:
    """storefront.yaml with the describe-services entries naming family:revision (an override)."""
    data = yaml.safe_load(STOREFRONT.read_text())
    data["services"][0:1] = [
        {"file": "storefront.describe-services.json", "serviceName": "web", "taskDefinition": "web:14"},
        {"file": "storefront.describe-services.json", "serviceName": "checkout", "taskDefinition": "checkout:9"},
    ]
    return data


def test_the_storefront_scenario_runs() -> None:
    result = ecssim.simulate(_load(_storefront_by_revision()), seed=1)
    running = result.tasks[result.tasks["last_status"] == "RUNNING"].groupby("service").size().to_dict()
    # desired counts from the files; the DAEMON edge proxy runs on each of the 4 instances
    assert running == {"web": 4, "checkout": 2, "api": 3, "edge-proxy": 4, "batch": 2}
    api = result.tasks[result.tasks["service"] == "api"]
    assert api["instance_id"].nunique() == 3  # distinctInstance from the create-service file


def test_a_saved_result_holds_the_expanded_objects(tmp_path: Path) -> None:
    result = ecssim.simulate(_load(_storefront_by_revision()), seed=1)
    result.save(tmp_path / "run")
    saved = json.loads((tmp_path / "run" / "scenario.json").read_text())
    assert not any("file" in entry for entry in saved["taskDefinitions"] + saved["services"])
    assert [td["family"] for td in saved["taskDefinitions"]] == ["web", "api", "edge-proxy", "batch", "checkout"]
    assert [s["serviceName"] for s in saved["services"]] == ["web", "checkout", "api", "edge-proxy", "batch"]
    again = load_scenario_dict(saved, "<result scenario>")  # loads without the include files
    assert again.services[0].model_extra["deployments"][0]["rolloutState"] == "COMPLETED"


# --------------------------------------------------------------------------- overrides


def test_overrides_replace_top_level_fields() -> None:
    scenario = _load({"duration": "5m", "cluster": FLEET,
                      "taskDefinitions": [{"file": "web.describe-task-definition.json", "cpu": "512",
                                           "memory": "1 GB", "revision": 15}]})
    td = scenario.task_definitions[0]
    assert (td.key, td.cpu, td.memory, len(td.container_definitions)) == ("web:15", 512, 1024, 2)


def test_a_service_override_picks_by_name_and_merges_mappings_one_level_deep() -> None:
    scenario = _load({"duration": "5m", "cluster": FLEET,
                      "taskDefinitions": [{"file": "taskdefs.yaml"}],
                      "services": [{"file": "storefront.describe-services.json", "serviceName": "web",
                                    "desiredCount": 12, "deploymentConfiguration": {"maximumPercent": 150}}]})
    [web] = scenario.services
    config = web.deployment_configuration
    assert (web.service_name, web.desired_count) == ("web", 12)
    # maximumPercent from the override, minimumHealthyPercent and the circuit breaker from the file
    assert (config.maximum_percent, config.minimum_healthy_percent) == (150, 50)
    assert config.deployment_circuit_breaker.enable and config.deployment_circuit_breaker.rollback


def test_without_service_name_the_overrides_apply_to_every_service_of_the_file() -> None:
    scenario = _load({"duration": "5m", "cluster": FLEET, "taskDefinitions": [{"file": "taskdefs.yaml"}],
                      "services": [{"file": "storefront.describe-services.json", "desiredCount": 1}]})
    assert [(s.service_name, s.desired_count) for s in scenario.services] == [("web", 1), ("checkout", 1)]


def test_overriding_the_launch_choice_drops_the_files_other_choice() -> None:
    scenario = _load({"duration": "5m", "cluster": FLEET, "taskDefinitions": [{"file": "taskdefs.yaml"}],
                      "services": [{"file": "storefront.describe-services.json", "serviceName": "checkout",
                                    "launchType": "FARGATE"}]})
    [checkout] = scenario.services
    assert (checkout.launch_type, checkout.capacity_provider_strategy) == ("FARGATE", [])
    merged = merge_overrides({"launchType": "EC2", "desiredCount": 2, "tags": [{"key": "a"}]},
                             {"capacityProviderStrategy": [{"capacityProvider": "cp"}], "tags": []}, "services")
    assert merged == {"desiredCount": 2, "tags": [], "capacityProviderStrategy": [{"capacityProvider": "cp"}]}


def test_an_unknown_service_name_lists_the_files_services(tmp_path: Path) -> None:
    message = _error({"duration": "5m", "cluster": FLEET,
                      "taskDefinitions": [{"file": str(DATA / "taskdefs.yaml")}],
                      "services": [{"file": str(DATA / "storefront.describe-services.json"), "serviceName": "cart"}]},
                     tmp_path)
    assert message == (f"{tmp_path / 'scenario.yaml'}: services[0].file: {DATA / 'storefront.describe-services.json'}"
                       ": has no service named 'cart'; its services: web, checkout")


# --------------------------------------------------------------------------- validate: ignored fields


def test_validate_reports_each_ignored_field_once_with_its_file() -> None:
    ignored = validate_file(STOREFRONT).ignored
    assert len(ignored) == len(set(ignored))
    web = "services[0] (from storefront.describe-services.json at services[0])"
    checkout = "services[0] (from storefront.describe-services.json at services[1])"
    for path in [f"{web}: deployments", f"{web}: events", f"{web}: runningCount", f"{web}: serviceArn",
                 f"{web}: deploymentConfiguration.alarms", f"{checkout}: deployments",
                 f"{checkout}: networkConfiguration", "services[1] (from api.create-service.json): cluster",
                 "services[1] (from api.create-service.json): clientToken",
                 "taskDefinitions[0] (from taskdefs.yaml[0] -> web.describe-task-definition.json): registeredAt",
                 "taskDefinitions[0] (from taskdefs.yaml[0] -> web.describe-task-definition.json): "
                 "containerDefinitions[0].secrets",
                 "taskDefinitions[0] (from taskdefs.yaml[2] -> edge-proxy.register-task-definition.json): tags"]:
        assert path in ignored
    assert sum(p.endswith(": deployments") for p in ignored) == 2
    # response wrappers are dropped silently: the describe responses' tags and failures are not fields
    assert not any(p.endswith((": failures", "web.describe-task-definition.json): tags")) for p in ignored)
    assert not any(".healthCheck" in p for p in ignored)


def test_the_validate_command_prints_them_once() -> None:
    output = CliRunner().invoke(main, ["validate", str(STOREFRONT)]).output
    assert output.startswith(f"{STOREFRONT}: OK\n")
    lines = output.splitlines()
    assert lines.count("    services[0] (from storefront.describe-services.json at services[1]): events") == 1
    assert sum(line.endswith("): runningCount") for line in lines) == 2


# --------------------------------------------------------------------------- errors


def test_an_include_cycle_names_the_chain(tmp_path: Path) -> None:
    _write(tmp_path / "a.yaml", [{"file": "b.yaml"}])
    _write(tmp_path / "b.yaml", [{"file": "a.yaml"}])
    message = _error({"duration": "5m", "cluster": FLEET, "taskDefinitions": [{"file": "a.yaml"}]}, tmp_path)
    assert message == f"{tmp_path / 'scenario.yaml'}: taskDefinitions[0].file: include cycle: a.yaml -> b.yaml -> a.yaml"


def test_a_file_including_the_scenario_is_a_cycle(tmp_path: Path) -> None:
    _write(tmp_path / "defs" / "all.yaml", [{"file": "../scenario.yaml"}])
    message = _error({"duration": "5m", "cluster": FLEET, "taskDefinitions": [{"file": "defs/all.yaml"}]}, tmp_path)
    assert message.endswith("taskDefinitions[0].file: include cycle: scenario.yaml -> defs/all.yaml -> scenario.yaml")


def test_nested_includes_resolve_against_the_including_file(tmp_path: Path) -> None:
    _write(tmp_path / "defs" / "web.json", _task_definition("web.describe-task-definition.json"))
    _write(tmp_path / "defs" / "all.yaml", [{"file": "web.json", "revision": 20},
                                            {"family": "inline", "containerDefinitions": [
                                                {"name": "app", "image": "nginx", "memory": 128}]}])
    path = _write(tmp_path / "scenario.yaml", {"duration": "5m", "cluster": FLEET,
                                               "taskDefinitions": [{"file": "defs/all.yaml"}]})
    assert [td.key for td in load_scenario(path).task_definitions] == ["web:20", "inline:1"]


def test_missing_unreadable_and_unrecognised_files_name_the_entry_and_the_file(tmp_path: Path) -> None:
    inline = {"family": "inline", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 128}]}
    (tmp_path / "broken.json").write_text('{"family": "x",\n  "containerDefinitions": [}')
    _write(tmp_path / "odd.json", {"foo": 1, "bar": 2})
    _write(tmp_path / "wrapped.json", {"taskDefinition": inline, "nextToken": "x"})
    _write(tmp_path / "svc.json", {"serviceName": "web", "taskDefinition": "web"})
    _write(tmp_path / "td.json", inline)
    message = _error({"duration": "5m", "cluster": FLEET,
                      "taskDefinitions": [inline, {"file": "nope.json"}, {"file": "broken.json"}, {"file": "odd.json"},
                                          {"file": "wrapped.json"}, {"file": "svc.json"}, {"file": "notes.txt"}],
                      "services": [{"file": "td.json"}]}, tmp_path)
    where = tmp_path / "scenario.yaml"
    assert message.splitlines() == [
        f"{where}: taskDefinitions[1].file: nope.json: file not found",
        f"{where}: taskDefinitions[2].file: broken.json: JSON syntax error at line 2, column 28: Expecting value",
        f"{where}: taskDefinitions[3].file: odd.json: not a task definition: expected the output of aws ecs "
        "describe-task-definition ({taskDefinition: ...}), a task definition object or a register-task-definition "
        "--cli-input-json file; its keys: bar, foo",
        f"{where}: taskDefinitions[4].file: wrapped.json: unexpected nextToken beside the response's taskDefinition; "
        "expected only ResponseMetadata, tags, taskDefinition",
        f"{where}: taskDefinitions[5].file: svc.json: this is a service; include it under services",
        f"{where}: taskDefinitions[6].file: notes.txt: expected a .json, .yaml or .yml file",
        f"{where}: services[0].file: td.json: this is a task definition; include it under taskDefinitions",
    ]


def test_an_empty_describe_services_response_shows_its_failures(tmp_path: Path) -> None:
    _write(tmp_path / "svc.json", {"services": [], "failures": [
        {"arn": "arn:aws:ecs:us-east-1:123456789012:service/storefront/cart", "reason": "MISSING"}]})
    message = _error({"duration": "5m", "cluster": FLEET, "services": [{"file": "svc.json"}]}, tmp_path)
    assert message.endswith("services[0].file: svc.json: the describe-services response holds no services "
                            "(failures: arn:aws:ecs:us-east-1:123456789012:service/storefront/cart: MISSING)")


def test_a_typo_in_an_included_object_names_the_entry_and_the_file(tmp_path: Path) -> None:
    td = _task_definition("web.describe-task-definition.json")
    td["containerDefinitions"][0]["memroy"] = td["containerDefinitions"][0].pop("memory")
    _write(tmp_path / "taskdefs" / "web.json", {"taskDefinition": td, "tags": []})
    message = _error({"duration": "5m", "cluster": FLEET, "taskDefinitions": [{"file": "taskdefs/web.json"}]},
                     tmp_path)
    assert message == (f"{tmp_path / 'scenario.yaml'}: taskDefinitions[0] (from taskdefs/web.json): "
                       "containerDefinitions[0].memroy: not an ECS ContainerDefinition field; did you mean memory?")


def test_paths_after_a_multi_object_include_are_as_written(tmp_path: Path) -> None:
    data = {"duration": "5m", "cluster": FLEET,
            "taskDefinitions": [{"file": str(DATA / "taskdefs.yaml")}],
            "services": [{"file": str(DATA / "storefront.describe-services.json")},
                         {"serviceName": "extra", "taskDefinition": "web", "desiredCount": -1}]}
    message = _error(data, tmp_path)
    assert message == f"{tmp_path / 'scenario.yaml'}: services[1].desiredCount: must be >= 0, got -1"


def test_ecs_rules_fire_for_included_objects(tmp_path: Path) -> None:
    no_memory = _task_definition("api.awsvpc.json")
    del no_memory["containerDefinitions"][0]["memoryReservation"]
    crowded = _task_definition("edge-proxy.register-task-definition.json")
    crowded["family"] = "crowded"
    crowded["containerDefinitions"] = [
        {**crowded["containerDefinitions"][0], "name": f"c{i}", "portMappings": []} for i in range(11)]
    service = json.loads((DATA / "api.create-service.json").read_text())
    service["placementConstraints"] = [{"type": "memberOf", "expression": f"attribute:n{i} exists"}
                                       for i in range(11)]
    _write(tmp_path / "no-memory.json", {"taskDefinition": no_memory})
    _write(tmp_path / "crowded.json", crowded)
    _write(tmp_path / "api-svc.json", service)
    message = _error({"duration": "5m", "cluster": FLEET,
                      "taskDefinitions": [{"file": "no-memory.json"}, {"file": "crowded.json"},
                                          {"file": str(DATA / "checkout.fargate.json"), "memory": "1024"}],
                      "services": [{"file": "api-svc.json"}]}, tmp_path)
    where = tmp_path / "scenario.yaml"
    lines = message.splitlines()
    assert f"{where}: taskDefinitions[1] (from crowded.json): containerDefinitions: allows at most 10 item(s)" in lines
    assert (f"{where}: services[0] (from api-svc.json): placementConstraints: at most 10 placement constraints "
            "(ECS's limit, the task definition's included), got 11") in lines
    # the checks across the scenario run once the fields are valid: fix those two and the others appear
    crowded["containerDefinitions"] = crowded["containerDefinitions"][:10]
    service["placementConstraints"] = service["placementConstraints"][:10]
    _write(tmp_path / "crowded.json", crowded)
    _write(tmp_path / "api-svc.json", service)
    lines = _error({"duration": "5m", "cluster": FLEET,
                    "taskDefinitions": [{"file": "no-memory.json"}, {"file": "crowded.json"},
                                        {"file": str(DATA / "checkout.fargate.json"), "memory": "1024"}],
                    "services": [{"file": "api-svc.json"},
                                 {"serviceName": "checkout", "taskDefinition": "checkout", "launchType": "FARGATE"}]},
                   tmp_path).splitlines()
    assert (f"{where}: taskDefinitions[0] (from no-memory.json): containerDefinitions[0].memory: required on EC2 "
            "when the task definition has no task-level memory (give memory or memoryReservation)") in lines
    assert any(line.startswith(f"{where}: taskDefinitions[2] (from {DATA / 'checkout.fargate.json'}): memory: "
                               "task memory 1024 MiB is not valid with cpu 1024 on Fargate") for line in lines)


def test_warnings_about_included_objects_name_the_file(tmp_path: Path) -> None:
    td = _task_definition("edge-proxy.register-task-definition.json")
    td["containerDefinitions"][0]["portMappings"] = [{"containerPort": 22, "protocol": "tcp"}]
    _write(tmp_path / "ssh.json", td)
    path = _write(tmp_path / "scenario.yaml", {"duration": "5m", "cluster": FLEET,
                                               "taskDefinitions": [{"file": "ssh.json"}]})
    assert validate_file(path).warnings == [
        "taskDefinitions[0] (from ssh.json): containerDefinitions[0].portMappings[0]: host port 22 is reserved by "
        "the ECS agent on every instance; this task can never be placed"]
