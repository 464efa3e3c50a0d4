"""Service Auto Scaling (target tracking) on a demand curve: exact timelines written by hand.

Latencies are constant (a service reacts
10 s after each change, containers start in 2 s and stop in 3 s). Tasks reserve 1024 CPU
units; instances are m5.xlarge (4096 units), enough for every test. Datapoints come every
60 s and average the demand over the last minute (ecs-reference 11).
"""

from __future__ import annotations

import pytest

import ecssim
from ecssim.control.service_autoscaling import deployment_in_progress, utilization_pct

#: As ``tests/model/helpers.CONSTANT_TIMING``: no pull, 2 s start, 3 s stop, reaction 10 s after a change.
TIMING = {"imagePull": 0, "containerStart": "2s", "containerStop": "3s", "agentRegistration": 0,
          "serviceReaction": {"mode": "delay", "delay": "10s"}}

CPU = "ECSServiceAverageCPUUtilization"


def run(data: dict) -> ecssim.Result:
    return ecssim.simulate(ecssim.load_scenario_dict(data), seed=1)


def policy(name: str = "cpu-50", target: float = 50, metric: str = CPU, **config) -> dict:
    return {"policyName": name, "targetTrackingScalingPolicyConfiguration": {
        "targetValue": target, "predefinedMetricSpecification": {"predefinedMetricType": metric}, **config}}


def scaled(desired: int, points: list, *, minimum: int = 1, maximum: int = 10, policies=None, duration="10m",
           actions=(), **extra) -> dict:
    """Service web (1024 CPU units a task) warm-started with ``desired`` tasks, a step demand curve."""
    return dict(
        duration=duration, warmStart=True, timing=TIMING,
        cluster={"fleets": [{"name": "fleet", "instanceType": "m5.xlarge", "count": 4,
                             "availabilityZones": ["a", "b"]}]},
        taskDefinitions=[{"family": "web", "containerDefinitions": [
            {"name": "main", "image": "repo/web:1", "cpu": 1024, "memory": 512}]}],
        services=[{"serviceName": "web", "taskDefinition": "web", "desiredCount": desired}], actions=list(actions),
        demand=[{"service": "web", "resource": "cpu",
                 "curve": {"type": "piecewise", "points": points, "interpolation": "step"}}],
        serviceAutoScaling=[{"serviceName": "web", "minCapacity": minimum, "maxCapacity": maximum,
                             "policies": policies or [policy()]}],
        **extra,
    )


def service_rows(res, event: str) -> list[tuple]:
    ev = res.events
    part = ev[(ev.entity == "service") & (ev.event == event)]
    return [(round(r.time_s, 6), round(r.value, 6)) for r in part.itertuples()]


def autoscaling_events(res) -> list[tuple]:
    events = res.service_events
    return [(r.time_s, r.message) for r in events[events.kind == "autoscaling"].itertuples()]


def test_scale_out_after_three_datapoints_above_target() -> None:
    """Demand steps from 1000 to 4000 CPU units at t=100; 2 tasks reserve 2048; target 50%.

    t=60: 1000/2048 = 48.83% (not above); t=120: mean (40 x 1000 + 20 x 4000)/60 = 2000 ->
    97.66%; t=180 and 240: 4000/2048 capped at 100%. The 3rd datapoint above, at 240, sets
    desiredCount to ceil(2 x 100 / 50) = 4. The new tasks launch at 250 (reaction 10 s) and
    run at 252: 4000/4096 = 97.66% from t=300 on; the 300 s scale-out cooldown holds the next
    scale-out until t=540: ceil(4 x 97.65625 / 50) = 8.
    """
    res = run(scaled(2, [[0, 1000], [100, 4000]]))
    assert service_rows(res, "desired_count") == [(0.0, 2.0), (240.0, 4.0), (540.0, 8.0)]
    assert service_rows(res, "utilization")[:6] == [
        (60.0, 48.828125), (120.0, 97.65625), (180.0, 100.0), (240.0, 100.0), (300.0, 97.65625), (360.0, 97.65625)]
    assert service_rows(res, "demand") == [(0.0, 1000.0), (100.0, 4000.0)]
    assert autoscaling_events(res) == [
        (240.0, "Service Auto Scaling set desiredCount from 2 to 4 (policy cpu-50: ECSServiceAverageCPUUtilization "
                "100.0 > 50 for 3 datapoints)"),
        (540.0, "Service Auto Scaling set desiredCount from 4 to 8 (policy cpu-50: ECSServiceAverageCPUUtilization "
                "97.7 > 50 for 3 datapoints)"),
    ]
    ev = res.events
    alarms = ev[(ev.entity == "service") & (ev.event == "alarm")]
    assert [(r.time_s, r.from_state, r.to_state, r.reason) for r in alarms.itertuples()] == [
        (240.0, "OK", "ALARM", "high (policy cpu-50)")]
    started = res.tasks[res.tasks.created_at_s > 0]
    assert started.created_at_s.tolist() == [250.0, 250.0, 550.0, 550.0, 550.0, 550.0]


def test_max_capacity_caps_the_scale_out() -> None:
    res = run(scaled(2, [[0, 1000], [100, 4000]], maximum=3))
    assert service_rows(res, "desired_count") == [(0.0, 2.0), (240.0, 3.0)]


def test_scale_in_after_fifteen_datapoints_below_ninety_percent_of_target() -> None:
    """4 tasks (4096 units), demand 1000: 24.41% < 45% from t=60; the 15th datapoint is at
    t=900: ceil(4 x 24.4140625 / 50) = 2. Then 1000/2048 = 48.83%: neither alarm."""
    res = run(scaled(4, [[0, 1000]], duration="30m"))
    assert service_rows(res, "desired_count") == [(0.0, 4.0), (900.0, 2.0)]
    assert autoscaling_events(res) == [
        (900.0, "Service Auto Scaling set desiredCount from 4 to 2 (policy cpu-50: ECSServiceAverageCPUUtilization "
                "24.4 < 45 for 15 datapoints)")]


def test_min_capacity_bounds_the_scale_in() -> None:
    res = run(scaled(4, [[0, 1000]], minimum=3, duration="30m"))
    assert service_rows(res, "desired_count") == [(0.0, 4.0), (900.0, 3.0)]


def test_scale_in_waits_for_its_cooldown_after_a_scale_out() -> None:
    """Demand 4000 until t=200, then 100: scale-out at 180 (60, 120, 180 at 100%) to 4; the low
    alarm is in ALARM from t=1080 (240 + 14 x 60), but scaleInCooldown 1200 s after the
    scale-out holds the scale-in until t=1380: max(ceil(4 x 2.44 / 50), 1) = 1."""
    res = run(scaled(2, [[0, 4000], [200, 100]], duration="30m",
                     policies=[policy(scaleInCooldown="20m")]))
    assert service_rows(res, "desired_count") == [(0.0, 2.0), (180.0, 4.0), (1380.0, 1.0)]


def test_disable_scale_in() -> None:
    res = run(scaled(4, [[0, 1000]], duration="30m", policies=[policy(disableScaleIn=True)]))
    assert service_rows(res, "desired_count") == [(0.0, 4.0)]


def test_no_scale_in_during_a_deployment() -> None:
    """As the scale-in test, with forceNewDeployment at t=850: the rollout is under way at
    t=900, so the scale-in waits for the first evaluation after it completed (t=960)."""
    res = run(scaled(4, [[0, 1000]], duration="30m", actions=[
        {"type": "updateService", "name": "deploy", "at": 850, "service": "web", "forceNewDeployment": True}]))
    rollout = res.deployments.sort_values("created_at_s").iloc[-1]
    assert rollout.created_at_s == 850.0 and 900.0 < rollout.ended_at_s < 960.0
    assert service_rows(res, "desired_count") == [(0.0, 4.0), (960.0, 2.0)]


def test_largest_capacity_wins_among_policies() -> None:
    """Two CPU policies, targets 50 and 25; demand 500 (24.41%, below both) then 4000 from t=100:
    both high alarms fire at t=240 (120: 81.38%, 180 and 240: 100%) and propose
    ceil(2 x 100 / 50) = 4 and ceil(2 x 100 / 25) = 8; 8 wins."""
    res = run(scaled(2, [[0, 500], [100, 4000]], policies=[policy("a", 50), policy("b", 25)]))
    assert service_rows(res, "desired_count")[:2] == [(0.0, 2.0), (240.0, 8.0)]
    assert "(policy b: ECSServiceAverageCPUUtilization 100.0 > 25 for 3 datapoints)" in autoscaling_events(res)[0][1]


def test_a_policy_that_does_not_ask_holds_back_the_scale_in() -> None:
    """Target 50 wants to scale in (24.4% < 45%), target 20 does not (24.4% > 20 is high:
    it scales out at t=180 to ceil(4 x 24.4 / 20) = 5)."""
    res = run(scaled(4, [[0, 1000]], duration="20m", policies=[policy("a", 50), policy("b", 20)]))
    rows = service_rows(res, "desired_count")
    assert rows[:2] == [(0.0, 4.0), (180.0, 5.0)]
    assert all(later >= earlier for (_, earlier), (_, later) in zip(rows, rows[1:], strict=False))


def test_memory_metric() -> None:
    data = scaled(2, [[0, 1000]], policies=[policy(metric="ECSServiceAverageMemoryUtilization", target=50)])
    data["demand"] = [{"service": "web", "resource": "memory",
                       "curve": {"type": "piecewise", "points": [[0, 400], [100, 1000]], "interpolation": "step"}}]
    res = run(data)  # 512 MiB a task: 400/1024; (40 x 400 + 20 x 1000)/60 = 600 -> 58.59%; 1000/1024
    assert service_rows(res, "utilization")[:3] == [(60.0, 39.0625), (120.0, 58.59375), (180.0, 97.65625)]
    assert service_rows(res, "desired_count")[:2] == [(0.0, 2.0), (240.0, 4.0)]


def test_utilization_rule() -> None:
    assert utilization_pct(1000, 2048) == pytest.approx(48.828125)
    assert utilization_pct(5000, 2048) == 100.0
    assert (utilization_pct(1, 0), utilization_pct(0, 0)) == (100.0, 0.0)


def test_deployment_in_progress_ignores_the_initial_deployment() -> None:
    class Primary:
        rollout, created_at = "IN_PROGRESS", 0.0

    class Service:
        deployments, primary, created_deployments = [Primary()], Primary(), 1

    assert not deployment_in_progress(Service())
    Service.created_deployments = 2
    assert deployment_in_progress(Service())


def test_scale_out_during_a_scale_in_cooldown_happens_at_once() -> None:
    """Scale-in to 2 at t=900 (as above), demand 4000 from t=1000: 1020 (mean 2000 -> 97.66%),
    1080 and 1140 (100%) are above; the scale-out at 1140 to 4 comes 240 s after the scale-in,
    inside its 300 s cooldown."""
    res = run(scaled(4, [[0, 1000], [1000, 4000]], duration="20m"))
    assert service_rows(res, "desired_count") == [(0.0, 4.0), (900.0, 2.0), (1140.0, 4.0)]
    assert [p for t, p in service_rows(res, "utilization") if t in (1020.0, 1080.0, 1140.0)] == [
        97.65625, 100.0, 100.0]


def test_csv_demand_drives_the_same_timeline(tmp_path) -> None:
    """The first test's demand from a CSV file (times in minutes, timeScale 60)."""
    (tmp_path / "load.csv").write_text("minute,cpu\n0,1000\n1.6666666666666667,4000\n")
    data = scaled(2, [[0, 0]])
    data["demand"] = [{"service": "web", "resource": "cpu", "curve": {
        "type": "csv", "file": "load.csv", "timeColumn": "minute", "valueColumn": "cpu", "interpolation": "step",
        "timeScale": 60}}]
    res = ecssim.simulate(ecssim.load_scenario_dict(data, base_dir=tmp_path), seed=1)
    assert service_rows(res, "desired_count") == [(0.0, 2.0), (240.0, 4.0), (540.0, 8.0)]
    assert service_rows(res, "demand") == [(0.0, 1000.0), (100.0, 4000.0)]
