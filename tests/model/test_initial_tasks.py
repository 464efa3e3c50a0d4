"""``initialTasks``: a scenario that starts with tasks RUNNING where a snapshot found them."""

from __future__ import annotations

import pytest

import ecssim
from ecssim.scenario import ScenarioError, load_scenario_dict

WEB = {"family": "web", "containerDefinitions": [{"name": "app", "image": "web", "cpu": 512, "memory": 1024}]}
BATCH = {"family": "batch", "containerDefinitions": [{"name": "job", "image": "job", "cpu": 1024, "memory": 512}]}


def scenario(initial: list[dict], **overrides) -> dict:
    data = {
        "duration": "10m",
        "warmStart": True,
        "cluster": {"fleets": [
            {"name": "a", "instanceType": "m5.large", "count": 2, "availabilityZones": ["us-east-1a"],
             "registeredCpu": 4096, "registeredMemory": 7482},
            {"name": "b", "instanceType": "m5.large", "count": 1, "availabilityZones": ["us-east-1b"]}]},
        "taskDefinitions": [WEB, BATCH],
        "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 4}],
        "initialTasks": initial,
    }
    data.update(overrides)
    return data


def test_tasks_start_where_the_snapshot_found_them_and_services_top_up():
    initial = [{"taskDefinition": "web:1", "fleet": "a", "instance": 1, "service": "web", "count": 3},
               {"taskDefinition": "batch", "fleet": "b", "instance": 0, "group": "nightly", "duration": 120}]
    result = ecssim.simulate(load_scenario_dict(scenario(initial)), seed=1)
    tasks = result.tasks.sort_values("task_id")
    instances = result.instances.set_index("instance_id")
    first = tasks.iloc[:4]
    assert [instances.loc[i, "fleet"] for i in first.instance_id] == ["a", "a", "a", "b"]
    assert first.iloc[:3].instance_id.nunique() == 1
    assert instances.loc[first.iloc[0].instance_id].name == result.instances[result.instances.fleet == "a"] \
        .sort_values("launched_at_s").instance_id.iloc[1]  # the second instance of fleet a
    assert (first.started_at_s == 0.0).all()
    web = tasks[(tasks.service == "web") & (tasks.created_at_s == 0.0)]
    assert len(web) == 4  # 3 found RUNNING + 1 started by the service's warm start (later AZ rebalancing moves one)
    batch = tasks[tasks.group == "nightly"]
    assert len(batch) == 1 and batch.stopped_at_s.iloc[0] == pytest.approx(120.0, abs=1e-9)
    # the registered-resource overrides hold: fleet a's instances register 4096 CPU / 7482 MiB
    assert set(result.instances[result.instances.fleet == "a"].cpu_registered) == {4096}


@pytest.mark.parametrize(("change", "message"), [
    ({"warmStart": False}, "warmStart: true"),
    ({"initialTasks": [{"taskDefinition": "web", "fleet": "c", "instance": 0}]}, "no fleet named 'c'"),
    ({"initialTasks": [{"taskDefinition": "web", "fleet": "b", "instance": 1}]}, r"has 1 instance\(s\)"),
    ({"initialTasks": [{"taskDefinition": "nope", "fleet": "a", "instance": 0}]}, "unknown task definition"),
    ({"initialTasks": [{"taskDefinition": "web", "fleet": "a", "instance": 0, "service": "api"}]}, "unknown service"),
])
def test_initial_task_errors(change: dict, message: str):
    data = scenario([{"taskDefinition": "web", "fleet": "a", "instance": 0, "service": "web"}])
    data.update(change)
    with pytest.raises(ScenarioError, match=message):
        load_scenario_dict(data)


def test_a_task_that_does_not_fit_where_it_was_is_a_placement_failure():
    initial = [{"taskDefinition": "web", "fleet": "b", "instance": 0, "service": "web", "count": 5}]
    result = ecssim.simulate(load_scenario_dict(scenario(initial)), seed=1)
    assert len(result.placement_failures) >= 1  # m5.large registers 2048 CPU units: 4 tasks of 512 fit
