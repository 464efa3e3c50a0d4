"""Fargate and Fargate Spot (ecs-reference 6.5): task sizes, AZ balance, pulls, launch bucket, Spot interruptions."""

from __future__ import annotations

import numpy as np
import pytest

import ecssim
from ecssim.scenario import ScenarioError, load_scenario_dict
from ecssim.scenario.fargate import FARGATE_SIZES, size_problem

API = {"family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "512",
       "memory": "1024", "containerDefinitions": [{"name": "app", "image": "example/api:1"}]}


def scenario(*, td: dict | None = None, service: dict | None = None, raw: bool = False, **overrides):
    data = {
        "duration": "1h",
        "cluster": {"fleets": [], "fargateAvailabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]},
        "taskDefinitions": [td or API],
        "services": [{"serviceName": "api", "taskDefinition": "api", "desiredCount": 6, "launchType": "FARGATE",
                      **(service or {})}],
        "timing": {"serviceReaction": {"mode": "delay", "delay": 0}},
    }
    data.update(overrides)
    return data if raw else load_scenario_dict(data)


# ---------------------------------------------------------------------------------- task sizes
@pytest.mark.parametrize(("cpu", "valid", "invalid"), [
    (256, [512, 1024, 2048], [256, 3072]),
    (512, [1024, 2048, 3072, 4096], [512, 5120]),
    (1024, [2048, 5120, 8192], [1024, 9216]),
    (2048, [4096, 10240, 16384], [2048, 17408]),
    (4096, [8192, 20480, 30720], [4096, 31744]),
    (8192, [16384, 20480, 61440], [18432, 65536]),  # 4 GB steps
    (16384, [32768, 40960, 122880], [36864, 131072]),  # 8 GB steps
])
def test_fargate_sizes_follow_the_documented_table(cpu: int, valid: list[int], invalid: list[int]):
    for memory in valid:
        assert size_problem(cpu, memory) is None
    for memory in invalid:
        assert size_problem(cpu, memory) is not None


def test_the_size_error_lists_the_valid_memory_for_the_cpu():
    data = scenario(td={**API, "cpu": "1024", "memory": "1024"}, raw=True)
    with pytest.raises(ScenarioError, match=r"taskDefinitions\[0\]\.memory: task memory 1024 MiB is not valid "
                                            r"with cpu 1024 on Fargate; valid: 2 GB to 8 GB in 1 GB steps"):
        load_scenario_dict(data)
    data = scenario(td={**API, "cpu": "256", "memory": "4096"}, raw=True)
    with pytest.raises(ScenarioError, match="valid: 512 MiB, 1024 MiB, 2 GB"):
        load_scenario_dict(data)
    assert sorted(FARGATE_SIZES) == [256, 512, 1024, 2048, 4096, 8192, 16384]


@pytest.mark.parametrize(("change", "message"), [
    ({"networkMode": "bridge"}, "Fargate needs awsvpc"),
    ({"requiresCompatibilities": ["EC2"]}, "does not include FARGATE"),
    ({"cpu": None}, "task-level cpu and memory"),
    ({"containerDefinitions": [{"name": "app", "image": "x", "stopTimeout": 300}]}, "at most 120 s"),
])
def test_fargate_task_definition_errors(change: dict, message: str):
    td = {k: v for k, v in {**API, **change}.items() if v is not None}
    with pytest.raises(ScenarioError, match=message):
        load_scenario_dict(scenario(td=td, raw=True))


def test_daemon_services_cannot_run_on_fargate():
    with pytest.raises(ScenarioError, match="DAEMON"):
        load_scenario_dict(scenario(service={"schedulingStrategy": "DAEMON", "desiredCount": 0}, raw=True))


# ---------------------------------------------------------------------------------- running
def test_fargate_tasks_have_no_instance_are_balanced_over_azs_and_pull_every_time():
    result = ecssim.simulate(scenario(), seed=1)
    tasks = result.tasks
    assert len(tasks) == 6 and (tasks.launch_type == "FARGATE").all() and (tasks.capacity_provider == "FARGATE").all()
    assert (tasks.instance_id == "").all()
    assert tasks.az.value_counts().to_dict() == {"us-east-1a": 2, "us-east-1b": 2, "us-east-1c": 2}
    assert result.instances.empty
    assert (tasks.pull_stopped_at_s > tasks.pull_started_at_s).all()  # no image cache: every task pulls
    e = result.events
    assert e[(e.entity == "task") & e.event.isin(["host_acquired", "host_released"])].empty  # no host ledger
    assert (tasks.started_at_s.notna()).all()


def test_the_account_launch_bucket_allows_100_then_20_per_second():
    result = ecssim.simulate(scenario(service={"desiredCount": 150}, duration="10m"), seed=1)
    created = np.sort(result.tasks.created_at_s.to_numpy())
    first = created[0]
    assert (created[:100] == first).all()
    assert np.allclose(created[100:] - first, 0.05 * np.arange(1, 51))
    assert result.placement_failures.empty  # a service waits for tokens; it does not fail


def test_runtask_beyond_the_bucket_is_throttled():
    data = scenario(raw=True, services=[], duration="5m")
    data["workloads"] = [{"name": "burst", "taskDefinition": "api", "count": 10, "launchType": "FARGATE",
                          "arrivals": {"type": "schedule", "at": [10] * 12}, "duration": 60}]
    result = ecssim.simulate(load_scenario_dict(data), seed=1)
    assert len(result.tasks) == 100
    assert (result.placement_failures.reason == "THROTTLED").sum() == 20


def test_fargate_spot_interruption_notice_replacement_and_capacity_shortage():
    data = scenario(service={"launchType": None, "capacityProviderStrategy": [
        {"capacityProvider": "FARGATE", "base": 2, "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
        faults=[{"type": "fargateSpotInterruption", "name": "reclaim", "at": ["20m"], "count": 2,
                 "capacityUnavailableFor": "5m"}], raw=True)
    data["services"][0].pop("launchType")
    result = ecssim.simulate(load_scenario_dict(data), seed=1)
    tasks = result.tasks
    first = tasks[tasks.created_at_s < 60]
    assert first.capacity_provider.value_counts().to_dict() == {"FARGATE": 4, "FARGATE_SPOT": 2}
    hit = tasks[tasks.stop_code == "TerminationNotice"]
    assert len(hit) == 2 and (hit.stopped_reason == "Your Spot Task was interrupted.").all()
    assert (hit.capacity_provider == "FARGATE_SPOT").all()
    assert (hit.stopping_at_s == 1200.0).all() and ((hit.stopped_at_s - 1200.0) <= 120 + 1e-9).all()
    failures = result.placement_failures
    assert (failures.reason == "CAPACITY_UNAVAILABLE").all() and failures.time_s.between(1200, 1500).all()
    replacements = tasks[tasks.created_at_s > 1200]
    assert len(replacements) == 2 and (replacements.capacity_provider == "FARGATE_SPOT").all()
    assert replacements.created_at_s.min() >= 1500.0  # not before Spot capacity is back
    recovery = result.recovery
    assert recovery.kind.tolist() == ["fargate_spot_interruption"] * 2
    message = result.service_events[result.service_events.kind == "unable_to_place"].message.iloc[0]
    assert message.endswith("Capacity is unavailable at this time. Please try again later or in a different "
                            "availability zone.")


def test_stochastic_fargate_spot_interruptions_hit_only_spot_tasks():
    data = scenario(service={"desiredCount": 8, "capacityProviderStrategy": [
        {"capacityProvider": "FARGATE", "weight": 1}, {"capacityProvider": "FARGATE_SPOT", "weight": 1}]},
        faults=[{"type": "fargateSpotInterruption", "name": "churn", "mtti": "30m"}], duration="6h", raw=True)
    data["services"][0].pop("launchType")
    result = ecssim.simulate(load_scenario_dict(data), seed=2)
    hit = result.tasks[result.tasks.stop_code == "TerminationNotice"]
    assert len(hit) >= 5
    assert (hit.capacity_provider == "FARGATE_SPOT").all()
    running = result.tasks[result.tasks.stopped_at_s.isna()]
    assert len(running) == 8


def test_fargate_and_ec2_providers_do_not_mix_in_a_strategy():
    data = scenario(service={"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1},
                                                          {"capacityProvider": "cp", "weight": 1}]}, raw=True)
    data["services"][0].pop("launchType")
    with pytest.raises(ScenarioError, match="not both"):
        load_scenario_dict(data)
