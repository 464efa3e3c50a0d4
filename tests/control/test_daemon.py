"""DAEMON services (ecs-reference 4.1): one task per eligible ACTIVE instance, placed first."""

from __future__ import annotations

import pytest

import ecssim
from ecssim.scenario import ScenarioError, load_scenario_dict

LOG_TD = {"family": "log", "containerDefinitions": [{"name": "agent", "image": "fluent", "cpu": 256, "memory": 256}]}
WEB_TD = {"family": "web", "containerDefinitions": [{"name": "app", "image": "web", "cpu": 896, "memory": 512}]}


def scenario(**overrides) -> ecssim.Scenario:
    data = {
        "duration": "10m",
        "warmStart": True,
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 3,
                                "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]}]},
        "taskDefinitions": [LOG_TD, WEB_TD],
        "services": [{"serviceName": "logs", "taskDefinition": "log", "schedulingStrategy": "DAEMON"},
                     {"serviceName": "web", "taskDefinition": "web", "desiredCount": 6}],
        "timing": {"imagePull": "4s", "containerStart": "2s", "agentRegistration": "60s"},
    }
    data.update(overrides)
    return load_scenario_dict(data)


def daemon_tasks(result) -> list:
    tasks = result.tasks
    return tasks[tasks.service == "logs"]


def test_one_daemon_task_per_instance_and_the_desired_count_follows_them():
    result = ecssim.simulate(scenario(), seed=1)
    logs = daemon_tasks(result)
    assert sorted(logs.instance_id) == sorted(result.instances.instance_id)
    desired = result.events[(result.events.entity == "service") & (result.events.entity_id == "logs")
                            & (result.events.event == "desired_count")].value.tolist()
    assert desired == [0.0, 3.0]
    # m5.large: 2048 CPU; 256 for the daemon leaves 1792, room for 2 web tasks of 896 each.
    assert (result.tasks.service == "web").sum() == 6
    services = result.services.set_index("service")
    assert (services.loc["logs", "maximum_percent"], services.loc["logs", "minimum_healthy_percent"]) == (100, 0)


def test_daemon_is_placed_first_on_an_instance_that_registers_later():
    # No warm start: instances register at different times; the web service wants more than
    # fits, so without priority it would take every instance as soon as it registers.
    result = ecssim.simulate(scenario(
        warmStart=False,
        timing={"agentRegistration": {"type": "uniform", "low": "30s", "high": "300s"}, "imagePull": 0,
                "containerStart": "2s", "placementRetry": {"initial": "5s", "max": "5s"}},
        services=[{"serviceName": "logs", "taskDefinition": "log", "schedulingStrategy": "DAEMON"},
                  {"serviceName": "web", "taskDefinition": "web", "desiredCount": 9}],
    ), seed=4)
    instances = result.instances.set_index("instance_id")
    tasks = result.tasks.sort_values("created_at_s", kind="stable")
    for instance_id, registered_at in instances.registered_at_s.items():
        on_it = tasks[tasks.instance_id == instance_id]
        first = on_it.iloc[0]
        assert first.service == "logs"
        assert first.created_at_s == registered_at  # at the very moment it registers
    assert len(daemon_tasks(result)) == 3
    assert (tasks.service == "web").sum() == 6  # the daemons' room was never taken


def test_a_crashed_daemon_task_is_replaced_on_its_own_instance_and_its_room_is_held():
    # web tasks of 600 CPU: beside a daemon (256) two fit on an m5.large (2048); a crashed
    # daemon frees 256 more, enough for a third, unless the daemon's room stays held while
    # its replacement waits (60 s reaction) - and web retries every 5 s meanwhile.
    web_td = {"family": "web", "containerDefinitions": [{"name": "app", "image": "web", "cpu": 600, "memory": 512}]}
    result = ecssim.simulate(scenario(
        taskDefinitions=[LOG_TD, web_td],
        faults=[{"type": "taskCrash", "name": "log-crash", "service": "logs", "meanTimeToCrash": "3m"}],
        actions=[{"type": "updateService", "at": "1m", "service": "web", "desiredCount": 9}],
        timing={"serviceReaction": {"mode": "delay", "delay": "60s"}, "imagePull": 0,
                "placementRetry": {"initial": "5s", "max": "5s"}},
    ), seed=2)
    logs = daemon_tasks(result)
    crashed = logs[(logs.stop_code == "EssentialContainerExited") & (logs.stopped_at_s < 600 - 70)]
    assert len(crashed) >= 2
    for task in crashed.itertuples():
        replacement = logs[(logs.instance_id == task.instance_id) & (logs.created_at_s >= task.stopped_at_s)]
        assert len(replacement) >= 1, f"no replacement on {task.instance_id}"
    web = result.tasks[result.tasks.service == "web"]
    assert web.stopped_at_s.isna().all()  # web tasks never stop here
    assert web.groupby("instance_id").size().max() == 2  # never a third beside a daemon's held room
    assert (result.placement_failures.service == "web").sum() > 10


def test_memberof_decides_which_instances_are_eligible():
    result = ecssim.simulate(scenario(
        cluster={"fleets": [
            {"name": "plain", "instanceType": "m5.large", "count": 2, "availabilityZones": ["us-east-1a"]},
            {"name": "tagged", "instanceType": "m5.large", "count": 2, "availabilityZones": ["us-east-1b"],
             "attributes": {"logging": "on"}},
        ]},
        services=[{"serviceName": "logs", "taskDefinition": "log", "schedulingStrategy": "DAEMON",
                   "placementConstraints": [{"type": "memberOf", "expression": "attribute:logging == on"}]}],
    ), seed=1)
    logs = daemon_tasks(result)
    tagged = set(result.instances[result.instances.fleet == "tagged"].instance_id)
    assert set(logs.instance_id) == tagged


def test_losing_an_instance_lowers_the_desired_count_without_a_replacement_elsewhere():
    result = ecssim.simulate(scenario(
        cluster={"fleets": [{"name": "f", "instanceType": "m5.large", "count": 3, "replaceLostInstances": False,
                             "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]}]},
        faults=[{"type": "instanceFailure", "name": "one", "at": ["2m"], "select": {"count": 1}}],
    ), seed=3)
    logs = daemon_tasks(result)
    assert len(logs) == 3  # nothing relaunched on the survivors
    desired = result.events[(result.events.entity_id == "logs") & (result.events.event == "desired_count")]
    assert desired.value.tolist() == [0.0, 3.0, 2.0]
    assert desired.time_s.tolist()[-1] == 120.0


@pytest.mark.parametrize(
    ("service", "action", "message"),
    [
        ({"desiredCount": 2}, None, "desiredCount: a DAEMON service runs one task per instance"),
        ({"deploymentConfiguration": {"maximumPercent": 200}}, None, "maximumPercent: must be 100"),
        ({"placementStrategy": [{"type": "random"}]}, None, "DAEMON services take no placement strategy"),
        ({}, {"type": "updateService", "at": "1m", "service": "logs", "desiredCount": 2}, "is a DAEMON service"),
    ],
)
def test_ecs_rules_for_daemon_services_are_checked(service, action, message):
    data = {
        "duration": "10m",
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 1}]},
        "taskDefinitions": [LOG_TD],
        "services": [{"serviceName": "logs", "taskDefinition": "log", "schedulingStrategy": "DAEMON", **service}],
        "actions": [action] if action else [],
    }
    with pytest.raises(ScenarioError, match=message):
        load_scenario_dict(data)
