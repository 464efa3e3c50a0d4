"""The Docker agent runs a scenario's tasks as real containers under the simulator's scheduler."""

from __future__ import annotations

import math

from watching import FACTOR, run_watching

from ecssim.docker import managed_containers
from ecssim.docker.real_run import run_with_docker
from ecssim.scenario import load_scenario_dict


def scenario(faults: list | None = None, duration: str = "60s"):  # noqa: ANN201
    return load_scenario_dict({
        "duration": duration,
        "warmStart": True,
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 2,
                                "availabilityZones": ["us-east-1a", "us-east-1b"]}]},
        "taskDefinitions": [{"family": "web", "cpu": 256, "memory": 128,
                             "containerDefinitions": [{"name": "app", "image": "ecssim-test/absent:1"}]}],
        "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 4}],
        "faults": faults or [],
    })


def test_four_tasks_run_as_limited_labelled_containers(engine, image) -> None:  # noqa: ANN001
    result, run, snapshots = run_watching(engine, scenario(), 0, [30.0])
    run_id = run.run_id
    seen = {attrs["Id"]: attrs for attrs in snapshots[30.0]["containers"]}
    assert len(seen) == 4
    instances = set(result.instances["instance_id"])
    for attrs in seen.values():
        labels = attrs["Config"]["Labels"]
        assert labels["ecssim.run"] == run_id and labels["ecssim.kind"] == "task"
        assert labels["ecssim.service"] == "web" and labels["ecssim.instance"] in instances
        assert attrs["HostConfig"]["NanoCpus"] == 250_000_000
        assert attrs["HostConfig"]["Memory"] == 128 * 2**20
        assert attrs["HostConfig"]["NetworkMode"] == "none"
        assert attrs["State"]["Running"]
    assert {attrs["Config"]["Labels"]["ecssim.task"] for attrs in seen.values()} == set(result.tasks["task_id"])
    assert (result.tasks["last_status"] == "RUNNING").all()
    assert len(result.tasks) == 4


def test_a_real_crash_is_replaced_by_the_service(engine, image) -> None:  # noqa: ANN001
    crash = {"type": "taskCrash", "name": "crashes", "service": "web", "meanTimeToCrash": "20s", "end": "30s"}
    result = run_with_docker(scenario([crash], duration="120s"), seed=1, factor=FACTOR, client=engine)
    tasks = result.tasks
    crashed = tasks[tasks["stop_code"] == "EssentialContainerExited"]
    assert len(crashed) >= 1
    assert len(tasks) > 4  # the scheduler placed replacements, started as real containers
    replacements = tasks[tasks["started_by"] != "warmStart"]
    assert len(replacements) >= 1 and not math.isnan(replacements["started_at_s"].min())
    assert managed_containers(engine) == [] or all(
        c.labels.get("ecssim.kind") != "task" for c in managed_containers(engine))


def test_a_scale_down_stops_real_containers(engine, image) -> None:  # noqa: ANN001
    sc = scenario().model_dump(mode="json", by_alias=True, exclude_none=True)
    sc["actions"] = [{"type": "updateService", "at": "20s", "service": "web", "desiredCount": 2}]
    result = run_with_docker(load_scenario_dict(sc), factor=FACTOR, client=engine)
    stopped = result.tasks[result.tasks["last_status"] == "STOPPED"]
    assert len(stopped) == 2 and (stopped["stop_code"] == "ServiceSchedulerInitiated").all()
    assert (stopped["stopped_at_s"] > 20.0).all()  # after the real docker stop's die event
