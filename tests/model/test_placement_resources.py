"""ENIs, GPUs and memberOf constraints through whole simulations (scenario -> world -> tables).

Expected instances and counts are worked out by hand from ECS's rules (ecs-reference 2.4,
2.5, 3.4): a one-fleet scenario spreads its instances over AZs ``a`` and ``b`` in order, so
instance ``i-...1`` is in ``a``, ``i-...2`` in ``b``, and so on.
"""

from __future__ import annotations

import math

from ecssim.model.cluster import Cluster

from .helpers import CONSTANT_TIMING, I1, I2, I3, run, scenario, service, task_definition

I4 = "i-00000000000000004"


def awsvpc(family: str, cpu: int = 128, memory: int = 256) -> dict:
    return task_definition(family, cpu=cpu, memory=memory, network_mode="awsvpc")


def run_task(name: str, at: float, family: str, count: int = 1, **extra) -> dict:
    return {"type": "runTask", "name": name, "at": at, "taskDefinition": family, "count": count, **extra}


def member_of(expression: str) -> dict:
    return {"type": "memberOf", "expression": expression}


def unable(instance: str, text: str) -> str:
    return (f"service web was unable to place a task because no container instance met all of its "
            f"requirements. The closest matching container-instance {instance} {text} "
            "For more information, see the Troubleshooting section.")


# --------------------------------------------------------------------------- ENIs (2.4)


def test_m5_large_without_trunking_runs_two_awsvpc_tasks():
    # m5.large: 3 ENIs, one of them the instance's own -> 2 awsvpc tasks.
    res = run(scenario(instances=1, task_definitions=[awsvpc("job")],
                       actions=[run_task("go", 10, "job", count=3, duration=60)]))
    assert len(res.tasks) == 2
    pf = res.placement_failures
    assert pf[["time_s", "reason", "closest_instance_id"]].values.tolist() == [[10.0, "RESOURCE:ENI", I1]]


def test_bridge_tasks_need_no_eni():
    res = run(scenario(instances=1, task_definitions=[task_definition("job", cpu=128, memory=256)],
                       actions=[run_task("go", 10, "job", count=3, duration=60)]))
    assert len(res.tasks) == 3 and res.placement_failures.empty


def test_m5_large_with_trunking_runs_ten_awsvpc_tasks():
    # ECS guide: m5.large with awsvpcTrunking -> 10 tasks; the 11th finds no ENI.
    res = run(scenario(instances=1, fleet={"awsvpcTrunking": True}, task_definitions=[awsvpc("web")],
                       services=[service("web", "web", 11)]))
    assert len(res.tasks) == 10
    pf = res.placement_failures
    assert set(pf.reason) == {"RESOURCE:ENI"} and pf.time_s.iloc[0] == 10.0
    se = res.service_events
    assert se[se.kind == "unable_to_place"].message.tolist() == [unable(I1, 'encountered error "RESOURCE:ENI".')]


def test_trunking_limit_given_by_the_user():
    res = run(scenario(instances=1, instance_type="m5.4xlarge",
                       fleet={"awsvpcTrunking": True, "eniTrunkingLimit": 3},
                       task_definitions=[awsvpc("job")], actions=[run_task("go", 10, "job", count=4)]))
    assert len(res.tasks) == 3
    assert res.placement_failures.reason.tolist() == ["RESOURCE:ENI"]


def test_a_stopped_awsvpc_task_gives_its_eni_back():
    # Two tasks fill the ENIs; the first stops at 10 + 60 s, so a RunTask at 100 s fits again.
    res = run(scenario(instances=1, task_definitions=[awsvpc("job")],
                       actions=[run_task("fill", 10, "job", count=2, duration=60),
                                run_task("later", 100, "job", count=1)]))
    assert len(res.tasks) == 3 and res.placement_failures.empty


# --------------------------------------------------------------------------- GPUs (2.5)


def gpu_task(family: str, gpus: int) -> dict:
    td = task_definition(family, cpu=256, memory=1024)
    td["containerDefinitions"][0]["resourceRequirements"] = [
        {"type": "GPU", "value": str(gpus)}, {"type": "InferenceAccelerator", "value": "device_1"},
    ]
    return td


def test_gpu_tasks_fit_the_catalogs_gpus():
    # g4dn.xlarge has 1 GPU: two instances hold two 1-GPU tasks, one on each.
    res = run(scenario(instances=2, instance_type="g4dn.xlarge", task_definitions=[gpu_task("train", 1)],
                       services=[service("web", "train", 3)]))
    assert sorted(res.tasks.instance_id) == [I1, I2]
    assert set(res.placement_failures.reason) == {"RESOURCE:GPU"}
    se = res.service_events
    assert se[se.kind == "unable_to_place"].message.tolist() == [unable(I1, 'encountered error "RESOURCE:GPU".')]


def test_instances_without_gpus_take_no_gpu_task():
    res = run(scenario(instances=2, task_definitions=[gpu_task("train", 1)],
                       actions=[run_task("go", 10, "train")]))
    assert res.tasks.empty
    assert res.placement_failures[["reason", "closest_instance_id"]].values.tolist() == [["RESOURCE:GPU", I1]]


# --------------------------------------------------------------------------- memberOf (3.4)


def two_fleets(**extra) -> dict:
    """m5.large in a (I1) and b (I2), team blue; t3.large in a (I3) and b (I4), team green."""
    base = scenario(**extra)
    base["cluster"]["fleets"] = [
        {"name": "m5", "instanceType": "m5.large", "count": 2, "availabilityZones": ["a", "b"],
         "attributes": {"team": "blue"}, "agentVersion": "1.50.0"},
        {"name": "t3", "instanceType": "t3.large", "count": 2, "availabilityZones": ["a", "b"],
         "attributes": {"team": "green"}},
    ]
    return base


def test_task_definition_and_service_constraints_combine():
    web = task_definition("web", cpu=128, memory=256)
    web["placementConstraints"] = [member_of("attribute:ecs.instance-type =~ m5.*")]
    res = run(two_fleets(task_definitions=[web],
                         services=[service("web", "web", 3,
                                           placementConstraints=[member_of("attribute:ecs.availability-zone == b")])]))
    # Only the m5.large in b satisfies both.
    assert res.tasks.instance_id.tolist() == [I2, I2, I2]


def test_workload_and_run_task_constraints():
    job = task_definition("job", cpu=128, memory=256)
    workload = {"name": "w", "taskDefinition": "job", "arrivals": {"type": "schedule", "at": [10, 20]},
                "duration": 30,
                "placementConstraints": [member_of("attribute:team == green and attribute:ecs.availability-zone == a")]}
    action = run_task("go", 40, "job", count=3, placementConstraints=[member_of(f"ec2InstanceId == {I4}")])
    res = run(two_fleets(task_definitions=[job], workloads=[workload], actions=[action]))
    assert res.tasks.instance_id.tolist() == [I3, I3, I4, I4, I4]


def test_agent_version_of_the_fleet():
    job = task_definition("job", cpu=128, memory=256)
    action = run_task("go", 10, "job", count=6, placementConstraints=[member_of("agentVersion >= 1.60.0")])
    res = run(two_fleets(task_definitions=[job], actions=[action]))
    # The m5 fleet runs agent 1.50.0; the t3 fleet ecssim's default (1.89.0).
    assert set(res.tasks.instance_id) <= {I3, I4} and len(res.tasks) == 6


def test_running_tasks_count_counts_pending_tasks():
    # Image pulls take 30 s: the first task is still PENDING when the second and third arrive.
    job = task_definition("job", cpu=128, memory=256)
    empty_only = [member_of("runningTasksCount == 0")]
    res = run(scenario(
        instances=2, timing={"imagePull": 30}, task_definitions=[job],
        actions=[run_task("first", 10, "job"), run_task("second", 11, "job", placementConstraints=empty_only),
                 run_task("third", 12, "job", placementConstraints=empty_only)],
    ))
    ev = res.events
    first = ev[(ev.entity_id == "t-000001") & (ev.event == "state")]
    assert first[first.to_state == "RUNNING"].time_s.tolist() == [42.0]
    assert len(res.tasks) == 2 and res.tasks.instance_id.nunique() == 2
    pf = res.placement_failures
    assert pf[["time_s", "reason", "closest_instance_id"]].values.tolist() == [
        [12.0, "MemberOf placement constraint unsatisfied", I1]
    ]


def test_registered_at_compares_with_the_scenario_start_time():
    job = task_definition("job", cpu=128, memory=256)
    # Instances register at t=0 (agentRegistration 0), i.e. 2024-01-01T00:00:00Z.
    res = run(scenario(
        instances=2, startTime="2024-01-01T00:00:00Z", task_definitions=[job],
        actions=[run_task("late", 10, "job", placementConstraints=[member_of("registeredAt > 2024-01-01T00:00:00Z")]),
                 run_task("early", 10, "job", placementConstraints=[member_of("registeredAt <= 2024-01-01T00:00:05Z")])],
    ))
    assert res.placement_failures.started_by.tolist() == ["action:late"]
    assert res.tasks.started_by.tolist() == ["action:early"]


def test_cluster_records_registration_time():
    now = [5.0]
    cluster = Cluster([22], capacity=1, clock=lambda: now[0])
    for k in range(3):
        cluster.add_instance(fleet="f", instance_type="m5.large", az="a", market="on-demand", cpu=2048,
                             memory=7979, attributes={}, stream_key=f"f/{k}", task_enis=2, gpus=0,
                             agent_version="1.89.0")
    assert math.isnan(cluster.view.registered_at_s[0])
    cluster.activate(0)
    now[0] = 9.0
    cluster.activate(1)
    cluster.activate(2, now=12.5)
    assert cluster.view.registered_at_s[:3].tolist() == [5.0, 9.0, 12.5]
    assert cluster.view.eni_free[:3].tolist() == [2, 2, 2]
    assert cluster.view.agent_versions == ["1.89.0"] * 3


def test_constant_timing_is_shared():  # the helper is what the expectations above assume
    assert CONSTANT_TIMING["agentRegistration"] == 0 and CONSTANT_TIMING["imagePull"] == 0
