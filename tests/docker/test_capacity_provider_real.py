"""Cluster auto scaling with real containers: tasks wait in PROVISIONING, the group scales out, and
the waiting tasks' containers start on the new (virtual) instance once it registers."""

from __future__ import annotations

from watching import run_watching

from ecssim.docker.labels import INSTANCE, TASK
from ecssim.scenario import load_scenario_dict

SCENARIO = {
    "name": "docker-capacity-provider",
    "duration": "4m",
    "cluster": {"fleets": [{"name": "asg", "instanceType": "m5.large", "count": 1, "maxSize": 4,
                            "availabilityZones": ["us-east-1a"], "launchDelay": 30}]},
    "capacityProviders": [{"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "asg", "managedScaling": {"status": "ENABLED", "instanceWarmupPeriod": 60}}}],
    "taskDefinitions": [{"family": "web", "containerDefinitions": [
        {"name": "app", "image": "ecssim/workload:1", "cpu": 1024, "memory": 64}]}],
    "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 4,
                  "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]}],
    "timing": {"imagePull": 0, "agentRegistration": 30},
}


def test_waiting_tasks_get_real_containers_on_the_scaled_out_instance(engine, image) -> None:  # noqa: ANN001
    # t=30: the first instance registers, two of the waiting tasks fit; two wait on. t=60: CapacityProviderReservation 200
    # (M = 1 + 1) -> DesiredCapacity 2; the new instance registers at 90 and the two waiting tasks start there.
    result, _run, snapshots = run_watching(engine, load_scenario_dict(SCENARIO), 0, [75.0, 150.0])
    before = {c["Config"]["Labels"][TASK]: c["Config"]["Labels"][INSTANCE] for c in snapshots[75.0]["containers"]}
    after = {c["Config"]["Labels"][TASK]: c["Config"]["Labels"][INSTANCE] for c in snapshots[150.0]["containers"]}
    assert len(before) == 2 and len(set(before.values())) == 1
    assert len(after) == 4 and len(set(after.values())) == 2
    events = result.events
    placed = events[(events.entity == "task") & (events.event == "placed")]
    # no instance at t=0: all four waited; two were placed when the first registered, two on the new one
    assert sorted(placed.entity_id) == sorted(after)
    late = placed[placed.time_s >= 90.0]
    assert sorted(late.entity_id) == sorted(set(after) - set(before))
    assert set(late.instance_id) == set(after.values()) - set(before.values())
    desired = events[(events.entity == "capacity_provider") & (events.event == "desired_capacity")]
    assert desired.value.tolist() == [1.0, 2.0] and desired.time_s.tolist() == [60.0, 60.0]
