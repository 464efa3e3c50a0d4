"""Capacity providers and cluster auto scaling (ecs-reference 6): exact timelines and properties.

Every timeline below is computed by hand from the documented rules: evaluations every 60 s
from t=60, launch + boot + registration 60 s (``launchDelay``), warm-up 300 s, scale-in after
15 datapoints by at most 50% of the group per step. m5.large registers 2048 CPU units, so two
1024-unit tasks fill one instance.
"""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import ecssim
from ecssim.scenario import ScenarioError, load_scenario_dict

WEB = {"family": "web", "containerDefinitions": [{"name": "app", "image": "web", "cpu": 1024, "memory": 1024}]}
LOG = {"family": "log", "containerDefinitions": [{"name": "agent", "image": "log", "cpu": 128, "memory": 128}]}


def scenario(*, count: int = 0, desired: int = 5, max_size: int = 10, scaling: dict | None = None,
             provider: dict | None = None, timing: dict | None = None, raw: bool = False,
             **overrides) -> ecssim.Scenario:
    managed = {"status": "ENABLED", "targetCapacity": 100, "instanceWarmupPeriod": 300, **(scaling or {})}
    data = {
        "duration": "2h",
        "cluster": {"fleets": [{"name": "asg", "instanceType": "m5.large", "count": count, "maxSize": max_size,
                                "availabilityZones": ["us-east-1a"], "launchDelay": 60}]},
        "capacityProviders": [{"name": "cp", "autoScalingGroupProvider": {
            "autoScalingGroupArn": "asg", "managedScaling": managed, **(provider or {})}}],
        "taskDefinitions": [WEB, LOG],
        "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": desired,
                      "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}],
        "timing": {"imagePull": 0, "containerStart": 2, "serviceReaction": {"mode": "delay", "delay": 0},
                   "clusterAutoScaling": {"provisioningTimeout": "1h"}, **(timing or {})},
    }
    data.update(overrides)
    return data if raw else load_scenario_dict(data)


def provider_rows(result, event: str) -> list[tuple[float, float]]:
    e = result.events
    rows = e[(e.entity == "capacity_provider") & (e.event == event)]
    return list(zip(rows.time_s.tolist(), rows.value.tolist(), strict=True))


def launches(result) -> list[float]:
    return sorted(result.instances.launched_at_s.tolist())


# ---------------------------------------------------------------------------------- timelines
def test_scale_out_from_zero_launches_two_instances_at_the_first_evaluation():
    result = ecssim.simulate(scenario(), seed=1)
    # t=60: N=0 with 5 tasks waiting -> CapacityProviderReservation 200, M=2 -> DesiredCapacity 2
    assert provider_rows(result, "reservation")[0] == (60.0, 200.0)
    assert provider_rows(result, "desired_capacity")[:3] == [(60.0, 0.0), (60.0, 2.0), (360.0, 3.0)]
    assert launches(result) == [60.0, 60.0, 360.0]
    placed = result.events[result.events.event == "placed"]
    assert placed.time_s.tolist() == [120.0] * 4 + [420.0]  # as soon as each instance registers


def test_second_step_waits_for_the_instance_warmup():
    result = ecssim.simulate(scenario(scaling={"instanceWarmupPeriod": 120}), seed=1)
    # instances launched at 60 leave their warm-up at 180: the second step comes then, not at 360
    assert provider_rows(result, "desired_capacity")[1:3] == [(60.0, 2.0), (180.0, 3.0)]


def test_step_size_limits_the_scale_out():
    # one busy instance (warm start), 10 more tasks need 5 instances; maximumScalingStepSize 2 -> M = 1 + 2
    result = ecssim.simulate(scenario(count=1, desired=12, warmStart=True,
                                      scaling={"maximumScalingStepSize": 2}), seed=1)
    assert provider_rows(result, "instances_needed")[0] == (60.0, 3.0)
    assert provider_rows(result, "reservation")[0] == (60.0, 300.0)
    assert provider_rows(result, "desired_capacity")[:3] == [(60.0, 1.0), (60.0, 3.0), (360.0, 5.0)]


def test_minimum_step_size_raises_a_small_step():
    result = ecssim.simulate(scenario(count=1, desired=3, warmStart=True,
                                      scaling={"minimumScalingStepSize": 3}), seed=1)
    # one waiting task needs one instance; the minimum step is 3 -> M = 1 + 3
    assert provider_rows(result, "instances_needed")[0] == (60.0, 4.0)
    assert provider_rows(result, "desired_capacity")[1] == (60.0, 4.0)


def test_target_capacity_keeps_spare_instances():
    result = ecssim.simulate(scenario(count=2, desired=4, warmStart=True, scaling={"targetCapacity": 50}), seed=1)
    # two busy instances, nothing waiting: M=2, N=2 -> 100 > 50 -> DesiredCapacity ceil(2 x 100 / 50) = 4
    assert provider_rows(result, "desired_capacity")[:2] == [(60.0, 2.0), (60.0, 4.0)]
    capacity = result.capacity[result.capacity.scope == "provider:cp"]
    assert capacity.capacity_provider_reservation.iloc[-1] == 50.0


def test_scale_in_after_15_idle_minutes_and_termination_protection_holds_a_busy_instance():
    # three instances; the service scales to 1 task at 10 min: two instances empty from then on
    data = {"actions": [{"type": "updateService", "at": "10m", "service": "web", "desiredCount": 1}]}
    result = ecssim.simulate(scenario(count=3, desired=5, warmStart=True,
                                      provider={"managedTerminationProtection": "ENABLED"}, **data), seed=1)
    busy = result.tasks[(result.tasks.service == "web") & result.tasks.stopped_at_s.isna()].instance_id.tolist()
    assert len(busy) == 1
    # first datapoint below 100 at 660 (tasks stopped a few seconds after 600); the 15th at 660 + 14 x 60
    desired = provider_rows(result, "desired_capacity")
    assert desired[:3] == [(60.0, 3.0), (1500.0, 2.0), (1560.0, 1.0)]
    gone = result.instances[result.instances.terminated_at_s.notna()]
    assert sorted(gone.terminated_at_s.tolist()) == [1500.0, 1560.0]
    assert busy[0] not in gone.instance_id.tolist()
    assert len(desired) == 3  # the busy instance is protected: no further step


def test_scale_in_without_protection_may_take_a_busy_instance_and_its_tasks_are_replaced():
    data = {"actions": [{"type": "updateService", "at": "10m", "service": "web", "desiredCount": 1}],
            "cluster": {"fleets": [{"name": "asg", "instanceType": "m5.large", "count": 3, "minSize": 0,
                                    "maxSize": 10, "availabilityZones": ["us-east-1a"], "launchDelay": 60}]}}
    result = ecssim.simulate(scenario(count=3, desired=5, warmStart=True, **data), seed=3)
    desired = provider_rows(result, "desired_capacity")
    assert [d for _t, d in desired][:3] == [3.0, 2.0, 1.0]
    web = result.tasks[result.tasks.service == "web"]
    assert web.stopped_at_s.isna().sum() == 1  # the service keeps its one task throughout


def test_a_task_that_waits_too_long_stops_with_task_failed_to_start():
    result = ecssim.simulate(scenario(max_size=1, desired=3, duration="1h",
                                      timing={"clusterAutoScaling": {"provisioningTimeout": "10m"}}), seed=1)
    tasks = result.tasks
    timed_out = tasks[tasks.stop_code == "TaskFailedToStart"]
    assert len(timed_out) >= 1
    assert (timed_out.stopped_reason == "Timed out waiting for capacity from capacity provider cp").all()
    first = timed_out.sort_values("created_at_s").iloc[0]
    assert first.stopped_at_s - first.created_at_s == pytest.approx(600.0)
    assert first.instance_id == ""


def test_provisioning_limit_turns_extra_launches_into_placement_failures():
    result = ecssim.simulate(scenario(max_size=1, desired=6, duration="10m",
                                      timing={"clusterAutoScaling": {"provisioningLimit": 4}}), seed=1)
    e = result.events
    tasks = e[e.entity == "task"]
    starts = tasks[(tasks.event == "state") & (tasks.to_state == "PROVISIONING") & (tasks.instance_id == "")]
    waited = set(starts.entity_id)
    ends = tasks[tasks.entity_id.isin(waited) & ((tasks.event == "placed") | (tasks.to_state == "STOPPING"))]
    ends = ends.drop_duplicates("entity_id")
    level = pd.concat([pd.Series(1, index=starts.seq), pd.Series(-1, index=ends.seq)]).sort_index().cumsum()
    assert level.max() == 4  # never more than the limit waiting at once
    assert len(result.placement_failures) >= 1


def test_managed_draining_drains_before_terminating():
    data = {"actions": [{"type": "updateService", "at": "10m", "service": "web", "desiredCount": 0}]}
    result = ecssim.simulate(scenario(count=1, desired=2, warmStart=True, **data), seed=1)
    e = result.events
    rows = e[(e.entity == "instance") & (e.event == "state")]
    assert rows.to_state.tolist()[-2:] == ["DRAINING", "INACTIVE"]


def test_a_drained_instance_is_terminated_when_its_last_task_stops_not_at_the_timeout():
    # Without termination protection a busy instance is scaled in: managed draining stops its
    # tasks, and the instance is terminated as soon as the last one is STOPPED (ecs-reference
    # 6), long before managedDrainingTimeout (1 h here).
    data = {"actions": [{"type": "updateService", "at": "10m", "service": "web", "desiredCount": 1}],
            "cluster": {"fleets": [{"name": "asg", "instanceType": "m5.large", "count": 3, "minSize": 0,
                                    "maxSize": 10, "availabilityZones": ["us-east-1a"], "launchDelay": 60}]}}
    timing = {"clusterAutoScaling": {"provisioningTimeout": "1h", "managedDrainingTimeout": "1h"}}
    result = ecssim.simulate(scenario(count=3, desired=5, warmStart=True, timing=timing, **data), seed=1)
    e = result.events
    states = e[(e.entity == "instance") & (e.event == "state")]
    drains = states[states.to_state == "DRAINING"].set_index("instance_id").time_s
    stops = e[(e.entity == "task") & (e.event == "state") & (e.to_state == "STOPPED")]
    busy = 0
    for instance, drain_began in drains.items():
        gone = states[(states.instance_id == instance) & (states.to_state == "INACTIVE")].time_s.tolist()
        last_stop = stops[stops.instance_id == instance].time_s.max()
        busy += bool(last_stop > drain_began)
        assert gone == [max(drain_began, last_stop)]  # not an hour after the drain began
    assert busy  # some instance still ran a task when its drain began


def test_without_managed_scaling_a_task_that_does_not_fit_fails_at_once():
    result = ecssim.simulate(scenario(count=1, desired=3, warmStart=True, scaling={"status": "DISABLED"},
                                      duration="10m"), seed=1)
    assert len(result.placement_failures) >= 1
    assert (result.tasks.instance_id != "").all()
    assert provider_rows(result, "reservation") == []


# ---------------------------------------------------------------------------------- strategies
def test_base_and_weights_split_a_service_over_two_providers():
    data = {
        "duration": "10m", "warmStart": True,
        "cluster": {"fleets": [
            {"name": "od", "instanceType": "m5.large", "count": 4, "availabilityZones": ["us-east-1a"]},
            {"name": "spot", "instanceType": "m5.large", "count": 4, "market": "spot",
             "availabilityZones": ["us-east-1a"]}]},
        "capacityProviders": [
            {"name": "on-demand", "autoScalingGroupProvider": {"autoScalingGroupArn": "od"}},
            {"name": "spot-cp", "autoScalingGroupProvider": {"autoScalingGroupArn": "spot"}}],
        "taskDefinitions": [WEB],
        "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 10,
                      "capacityProviderStrategy": [{"capacityProvider": "on-demand", "base": 2, "weight": 1},
                                                   {"capacityProvider": "spot-cp", "weight": 3}]}],
    }
    result = ecssim.simulate(load_scenario_dict(data), seed=1)
    per_provider = result.tasks.capacity_provider.value_counts().to_dict()
    assert per_provider == {"on-demand": 4, "spot-cp": 6}  # base 2, then 8 split 1:3 -> 2 and 6
    fleets = result.instances.set_index("instance_id").fleet
    on = result.tasks.set_index("capacity_provider").instance_id.map(fleets)
    assert (on.loc["on-demand"] == "od").all() and (on.loc["spot-cp"] == "spot").all()


def test_cluster_default_strategy_applies_without_a_launch_type():
    s = scenario(count=0)
    data = s.model_dump(by_alias=True, exclude_unset=True)
    data = copy.deepcopy(data)
    data["services"][0].pop("capacityProviderStrategy")
    data["cluster"]["defaultCapacityProviderStrategy"] = [{"capacityProvider": "cp", "weight": 1}]
    result = ecssim.simulate(load_scenario_dict(data), seed=1)
    assert (result.tasks.capacity_provider == "cp").all()
    data["services"][0]["launchType"] = "EC2"
    result = ecssim.simulate(load_scenario_dict(data), seed=1)
    assert (result.tasks.capacity_provider == "").all()  # EC2 launch type: ignored by auto scaling
    assert provider_rows(result, "desired_capacity") == [(60.0, 0.0)]


@pytest.mark.parametrize(("change", "message"), [
    ({"capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 0},
                                   {"capacityProvider": "cp2", "weight": 0}]}, "weight 0"),
    ({"capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}], "launchType": "EC2"}, "not both"),
    ({"capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1},
                                   {"capacityProvider": "cp", "weight": 1}]}, "not both"),
    ({"capacityProviderStrategy": [{"capacityProvider": "nope", "weight": 1}]}, "unknown capacity provider"),
    ({"capacityProviderStrategy": [{"capacityProvider": "cp", "base": 1, "weight": 1},
                                   {"capacityProvider": "cp2", "base": 1, "weight": 1}]}, "only one"),
])
def test_strategy_errors(change: dict, message: str):
    data = scenario().model_dump(by_alias=True, exclude_unset=True)
    data["services"][0].pop("capacityProviderStrategy")
    data["services"][0].update(change)
    with pytest.raises(ScenarioError, match=message):
        load_scenario_dict(data)


def test_provider_errors_name_the_field():
    data = scenario().model_dump(by_alias=True, exclude_unset=True)
    data["capacityProviders"][0]["autoScalingGroupProvider"]["autoScalingGroupArn"] = "asgg"
    with pytest.raises(ScenarioError, match=r"capacityProviders\[0\].*no fleet named 'asgg'"):
        load_scenario_dict(data)
    data = scenario().model_dump(by_alias=True, exclude_unset=True)
    data["capacityProviders"][0]["autoScalingGroupProvider"]["managedScaling"]["status"] = "DISABLED"
    data["capacityProviders"][0]["autoScalingGroupProvider"]["managedTerminationProtection"] = "ENABLED"
    with pytest.raises(ScenarioError, match="managedTerminationProtection"):
        load_scenario_dict(data)
    data = scenario(max_size=0, raw=True)
    with pytest.raises(ScenarioError, match="MaxSize greater than zero"):
        load_scenario_dict(data)


# ---------------------------------------------------------------------------------- properties
def _random_scenario(seed: int) -> ecssim.Scenario:
    data = {"workloads": [{"name": "batch", "taskDefinition": "web", "count": 3,
                           "arrivals": {"type": "poisson", "rate": "12/h", "end": "100m"},
                           "duration": {"type": "uniform", "low": 60, "high": 1800},
                           "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}],
            "actions": [{"type": "updateService", "at": f"{20 + seed * 7}m", "service": "web", "desiredCount": 1}],
            "duration": "3h"}
    return scenario(max_size=8, desired=4, provider={"managedTerminationProtection": "ENABLED"},
                    timing={"clusterAutoScaling": {"provisioningTimeout": {"type": "uniform", "low": 600,
                                                                           "high": 1800}}}, **data)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_waiting_task_is_placed_or_times_out(seed: int):
    result = ecssim.simulate(_random_scenario(seed), seed=seed)
    e = result.events
    task_rows = e[e.entity == "task"]
    waited = task_rows[(task_rows.event == "state") & (task_rows.to_state == "PROVISIONING")
                       & (task_rows.instance_id == "")].entity_id.unique()
    assert len(waited) > 0
    placed = set(task_rows[task_rows.event == "placed"].entity_id)
    tasks = result.tasks.set_index("task_id")
    for task_id in waited:
        if task_id in placed:
            continue
        task = tasks.loc[task_id]
        if pd.isna(task.stopped_at_s):
            assert result.duration_s - task.created_at_s < 1800  # still within its longest timeout
        else:
            waited_s = task.stopped_at_s - task.created_at_s
            timed_out = task.stop_code == "TaskFailedToStart"
            assert (timed_out and 600 <= waited_s <= 1800) or task.stopped_reason.startswith("Scaling activity")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_termination_protection_never_scales_in_an_instance_running_a_non_daemon_task(seed: int):
    result = ecssim.simulate(_random_scenario(seed), seed=seed)
    gone = result.instances[result.instances.termination_reason.str.startswith("Capacity provider")]
    assert len(gone) > 0
    e = result.events
    drains = e[(e.entity == "instance") & (e.to_state == "DRAINING")].set_index("entity_id").time_s
    tasks = result.tasks
    for row in gone.itertuples():
        chosen_at = drains.get(row.instance_id, row.terminated_at_s)
        on = tasks[(tasks.instance_id == row.instance_id) & (tasks.service != "log")]
        alive = on[(on.created_at_s <= chosen_at) & ~(on.stopped_at_s <= chosen_at)]
        assert alive.empty, f"{row.instance_id} scaled in at {chosen_at} with {alive.task_id.tolist()}"


def test_multi_az_option_scales_out_by_exactly_the_minimum_step():
    fleets = [{"name": "asg", "instanceType": "m5.large", "count": 1, "maxSize": 10, "launchDelay": 60,
               "availabilityZones": ["us-east-1a", "us-east-1b"]}]
    base = dict(count=1, desired=12, warmStart=True, scaling={"minimumScalingStepSize": 2},
                cluster={"fleets": fleets})
    guide = ecssim.simulate(scenario(**base), seed=1)
    assert provider_rows(guide, "instances_needed")[0] == (60.0, 6.0)  # 10 waiting tasks need 5 instances
    sdk = ecssim.simulate(scenario(**base, timing={"clusterAutoScaling": {"minimumStepForMultiAzGroups": True}}),
                          seed=1)
    assert provider_rows(sdk, "instances_needed")[0] == (60.0, 3.0)  # the SDK text: exactly the minimum step


def test_replacements_use_the_fleets_launch_delay():
    data = {"actions": [{"type": "terminateInstance", "at": "10m", "select": {"fleet": "asg", "count": 1}}]}
    result = ecssim.simulate(scenario(count=2, desired=2, warmStart=True, **data), seed=1)
    instances = result.instances.sort_values("launched_at_s")
    replacement = instances.iloc[-1]
    assert replacement.launched_at_s == 600.0 and replacement.registered_at_s == 660.0  # launchDelay 60


def test_a_describe_capacity_providers_entry_pastes_in():
    entry = {
        "capacityProviderArn": "arn:aws:ecs:us-east-1:123456789012:capacity-provider/cp", "name": "cp",
        "status": "ACTIVE", "updateStatus": "UPDATE_COMPLETE", "tags": [],
        "autoScalingGroupProvider": {
            "autoScalingGroupArn": "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:"
                                   "0b4e2d2a-1c2b-4b5a-9f3e-123456789012:autoScalingGroupName/asg",
            "managedScaling": {"status": "ENABLED", "targetCapacity": 90, "minimumScalingStepSize": 1,
                               "maximumScalingStepSize": 10000, "instanceWarmupPeriod": 300},
            "managedTerminationProtection": "DISABLED", "managedDraining": "ENABLED"}}
    loaded = scenario(capacityProviders=[entry])
    provider = loaded.capacity_providers[0]
    assert provider.auto_scaling_group_provider.fleet == "asg"
    assert provider.auto_scaling_group_provider.managed_scaling.target_capacity == 90
    assert "capacityProviderArn" in provider.model_extra  # an ECS field ecssim does not model: ignored
    data = scenario(raw=True)
    data["capacityProviders"][0]["autoScalingGroupProvider"]["managedScalling"] = {}
    with pytest.raises(ScenarioError, match="did you mean managedScaling"):
        load_scenario_dict(data)


def _waits(result) -> pd.Series:
    """Seconds each task spent in PROVISIONING without an instance, recomputed from the events table."""
    e = result.events
    tasks = e[e.entity == "task"]
    waited = tasks[(tasks.event == "state") & (tasks.to_state == "PROVISIONING") & (tasks.instance_id == "")]
    placed = tasks[tasks.event == "placed"].set_index("entity_id").time_s
    return placed.reindex(waited.entity_id).to_numpy() - waited.time_s.to_numpy()


def test_spare_capacity_shortens_the_wait_when_traffic_doubles():
    """The shipped diurnal scenario (Service Auto Scaling on a demand curve doubling at 09:00, on a
    capacity provider): with targetCapacity 80 fewer tasks wait for instances, and less demand is
    unserved, than with 100 -- at the price of more instance-hours."""
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scenarios" / "diurnal-web-capacity-provider.yaml"
    outcomes = {}
    for target in (100, 80):
        data = ecssim.load_scenario(path).model_dump(by_alias=True, exclude_unset=True)
        data["capacityProviders"][0]["autoScalingGroupProvider"]["managedScaling"]["targetCapacity"] = target
        result = ecssim.simulate(load_scenario_dict(data, base_dir=path.parent), seed=0)
        waits = _waits(result)
        summary = result.summary()
        outcomes[target] = (len(waits), float(np.nanmax(waits)) if len(waits) else 0.0,
                            summary["demand_unserved_pct"], summary["cost_usd"])
    (n100, longest100, unserved100, cost100), (n80, longest80, unserved80, cost80) = outcomes[100], outcomes[80]
    assert n100 > 10 and n80 < n100 and longest80 < longest100
    assert 60 < longest100 < 600  # launch, boot and registration (about 60 s) plus waiting for the evaluations
    assert unserved80 < unserved100 and cost80 > cost100


def test_a_provider_without_instances_gives_ecs_message():
    result = ecssim.simulate(scenario(count=0, desired=2, duration="5m", scaling={"status": "DISABLED"}), seed=1)
    assert set(result.placement_failures.reason) == {"NO_CAPACITY_PROVIDER_INSTANCES"}
    events = result.service_events
    message = events[events.kind == "unable_to_place"].message.iloc[0]
    assert message == ("service web was unable to place a task because no container instance met all of its "
                       "requirements. Reason: No Container Instances were found in your capacity provider.")
