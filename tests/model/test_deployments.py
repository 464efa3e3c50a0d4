"""Rolling deployments, the circuit breaker, load-balancer health and unhealthy replacement.

Exact timelines written by hand from ecs-reference §4.4–4.6, §7 and §9b (C, D, F) with the
constant latencies of ``helpers.CONSTANT_TIMING`` (no pull, 2 s start, 3 s stop, a service
reaction 10 s after each change).
"""

from __future__ import annotations

import math

import pytest

from . import invariants
from .helpers import run, scenario, service, task_definition

LB = [{"targetGroupArn": "tg-web", "containerName": "main", "containerPort": 8080}]


def web_revision(revision: int, **kw) -> dict:
    td = task_definition("web", **kw)
    td["revision"] = revision
    return td


def deploy(at: float = 100, task_definition: str = "web:2") -> dict:
    return {"type": "updateService", "name": "deploy", "at": at, "service": "web", "taskDefinition": task_definition}


def bounded_deploy(desired: int, maximum: int, minimum: int) -> dict:
    """Two instances, web:1 warm-started with ``desired`` tasks, web:2 deployed at 100 s within
    the deployment bounds ``maximum``/``minimum`` percent."""
    return scenario(
        instances=2, duration="30m", warmStart=True,
        task_definitions=[web_revision(1), web_revision(2)],
        services=[service("web", "web:1", desired, deploymentConfiguration={"maximumPercent": maximum,
                                                                       "minimumHealthyPercent": minimum})],
        actions=[deploy()],
    )


def times(res, task_id: str) -> tuple:
    row = res.tasks.set_index("task_id").loc[task_id]
    return row.created_at_s, row.started_at_s, row.stopping_at_s, row.stopped_at_s


def deployment_rows(res) -> list[tuple]:
    ev = res.events[res.events.entity == "deployment"]
    return [(r.time_s, r.entity_id[-4:], r.event, r.from_state, r.to_state)
            for r in ev.itertuples(index=False)]


def kinds(res) -> list[tuple]:
    return [(r.time_s, r.kind) for r in res.service_events.itertuples() if r.time_s > 0]


# --------------------------------------------------------------------------- timeline F
def timeline_f():
    """desired 6, room for 8 tasks (2 x m5.xlarge, 4 tasks of 1 vCPU each), LB defaults, 100/200."""
    return run(scenario(
        instances=2, instance_type="m5.xlarge", duration="1h", warmStart=True,
        task_definitions=[web_revision(1, cpu=1024, memory=1024), web_revision(2, cpu=1024, memory=1024)],
        services=[service("web", "web:1", 6, loadBalancers=LB)],
        actions=[deploy()],
        timing={"placementRetry": {"retryOnCapacityChange": True}},
    ))


def test_timeline_f_waves_of_two():
    """Each wave: 2 new tasks placed (room for 2), RUNNING 2 s later, healthy 150 s after that
    (30 s x 5), the reaction 10 s later retires 2 old tasks, which stay DEACTIVATING for the
    300 s deregistration delay and stop 3 s later; the freed room is used 10 s after that."""
    res = timeline_f()
    waves = [(110.0, 272.0), (582.0, 744.0), (1054.0, 1216.0)]
    new = [f"t-{n:06d}" for n in range(7, 13)]
    for k, (placed, retired) in enumerate(waves):
        for task in new[2 * k: 2 * k + 2]:
            assert times(res, task)[:2] == (placed, placed + 2.0)
            assert res.tasks.set_index("task_id").loc[task, "task_definition"] == "web:2"
        old = res.tasks[(res.tasks.stopping_at_s == retired)]
        assert len(old) == 2 and set(old.task_definition) == {"web:1"}
        assert set(old.stopped_at_s) == {retired + 300.0 + 3.0}
        assert set(old.stopped_reason) == {"Scaling activity initiated by (deployment ecs-svc/8401084237428129872)"}
    assert deployment_rows(res)[3:] == [
        (100.0, "9872", "state", "PRIMARY", "ACTIVE"),
        (100.0, "8317", "state", "", "PRIMARY"),
        (100.0, "8317", "rollout", "", "IN_PROGRESS"),
        (1519.0, "9872", "state", "ACTIVE", "INACTIVE"),
        (1519.0, "8317", "rollout", "IN_PROGRESS", "COMPLETED"),
    ]
    assert kinds(res)[-2:] == [(1519.0, "deployment_completed"), (1519.0, "steady_state")]
    deployments = res.deployments.set_index("task_definition")
    assert deployments.loc["web:2", "duration_s"] == 1419.0
    assert invariants.all_invariants(res) == []


def test_timeline_f_never_leaves_the_bounds():
    """Recomputed from the events: at most floor(6 x 200%) = 12 tasks not STOPPED and at least
    ceil(6 x 100%) = 6 healthy, at every instant of the deployment."""
    res = timeline_f()
    problems = invariants.deployment_bounds(res, {"web": (6, 100, 200)})
    assert problems == []


# --------------------------------------------------------------------------- bounds
def test_min_50_max_100_stops_first():
    """min 50 / max 100, desired 4: half the old tasks stop at the first reaction (110); their
    replacements start at the next reaction (120, after they STOPPED at 113), are healthy at
    162 (RUNNING 122 + 40), and the reaction at 172 retires the other half."""
    res = run(bounded_deploy(desired=4, maximum=100, minimum=50))
    old = res.tasks[res.tasks.task_definition == "web:1"].sort_values("stopping_at_s")
    assert old.stopping_at_s.tolist() == [110.0, 110.0, 172.0, 172.0]
    new = res.tasks[res.tasks.task_definition == "web:2"]
    assert new.created_at_s.tolist() == [120.0, 120.0, 182.0, 182.0]
    assert invariants.deployment_bounds(res, {"web": (4, 50, 100)}) == []
    assert res.deployments.rollout_state.tolist() == ["COMPLETED", "COMPLETED"]


def test_both_bounds_100_deadlock_is_reported():
    res = run(bounded_deploy(desired=2, maximum=100, minimum=100))
    assert len(res.tasks) == 2  # nothing moved
    assert kinds(res) == [(110.0, "deployment_blocked")]
    assert res.service_events.message.iloc[-1] == (
        "service web was unable to stop or start tasks during a deployment because of the service deployment "
        "configuration. Update the minimumHealthyPercent or maximumPercent value and try again.")
    assert res.deployments.rollout_state.tolist() == ["COMPLETED", "IN_PROGRESS"]


def test_same_task_definition_without_force_starts_no_deployment():
    res = run(scenario(
        instances=2, duration="10m", warmStart=True, task_definitions=[web_revision(1)],
        services=[service("web", "web:1", 2)],
        actions=[deploy(task_definition="web:1"),
                 {"type": "updateService", "name": "force", "at": 200, "service": "web", "forceNewDeployment": True}],
    ))
    assert len(res.deployments) == 2
    assert res.deployments.created_at_s.tolist() == [0.0, 200.0]
    assert len(res.tasks) == 4  # the forced deployment replaced both tasks


# --------------------------------------------------------------------------- timeline D and the breaker
def bad_deploy(rollback: bool, desired: int = 4, **breaker) -> dict:
    config = {"deploymentCircuitBreaker": {"enable": True, "rollback": rollback, **breaker}}
    return scenario(
        instances=2, duration="2h", warmStart=True,
        task_definitions=[web_revision(1), web_revision(2)],
        services=[service("web", "web:1", desired, deploymentConfiguration=config)],
        faults=[{"type": "failedStart", "name": "badimage", "taskDefinition": "web:2", "probability": 1}],
        actions=[deploy()],
        timing={"imagePull": "5s"},
    )


def test_circuit_breaker_fails_and_rolls_back():
    """desired 4: threshold clamp(ceil(0.5 x 4), 3, 200) = 3. The 4 new tasks fail at 115
    (pull 5 s, TaskFailedToStart): the third trips the breaker; the old deployment is PRIMARY
    again and its rollout completes once the failed one is INACTIVE."""
    res = run(bad_deploy(rollback=True))
    rows = deployment_rows(res)
    assert (115.0, "8317", "rollout", "IN_PROGRESS", "FAILED") in rows
    assert (115.0, "9872", "state", "ACTIVE", "PRIMARY") in rows
    failed = res.deployments.set_index("task_definition").loc["web:2"]
    assert (failed.rollout_state, failed.failed_tasks, failed.status) == ("FAILED", 3.0, "INACTIVE")
    assert failed.rollout_state_reason.startswith("deployment failed: tasks failed to start")
    assert [k for _t, k in kinds(res)][-4:] == ["deployment_failed", "rollback", "deployment_completed",
                                                "steady_state"]
    live = res.tasks[res.tasks.last_status == "RUNNING"]
    assert len(live) == 4 and set(live.task_definition) == {"web:1"}
    assert invariants.all_invariants(res) == []


def test_circuit_breaker_without_rollback_launches_nothing_more():
    res = run(bad_deploy(rollback=False))
    assert len(res.tasks[res.tasks.task_definition == "web:2"]) == 4  # one wave, then FAILED
    assert res.deployments.rollout_state.tolist() == ["COMPLETED", "FAILED"]
    assert len(res.tasks[res.tasks.last_status == "RUNNING"]) == 4  # the old tasks keep serving


@pytest.mark.parametrize(("config", "expected"), [
    ({"type": "BOUNDED_PERCENT", "value": 50}, 3),
    ({"type": "COUNT", "value": 7}, 7),
    ({"type": "UNBOUNDED_PERCENT", "value": 50}, 1),
])
def test_circuit_breaker_thresholds(config, expected):
    """desired 1: BOUNDED_PERCENT clamps ceil(0.5) = 1 up to 3; COUNT is the value; UNBOUNDED is ceil(0.5) = 1."""
    res = run(bad_deploy(rollback=False, desired=1, thresholdConfiguration=config))
    failed = res.deployments.set_index("task_definition").loc["web:2"]
    assert (failed.rollout_state, failed.failed_tasks) == ("FAILED", float(expected))
    assert len(res.tasks[res.tasks.task_definition == "web:2"]) == expected  # one task per throttled attempt


def test_new_deployment_resets_the_start_failure_throttle():
    """A bad revision throttles launches (30 s, 60 s, ...); deploying a good one at 400 s launches
    at the next reaction instead of waiting out the throttle."""
    res = run(scenario(
        instances=2, duration="30m", warmStart=True,
        task_definitions=[web_revision(1), web_revision(2), web_revision(3)],
        services=[service("web", "web:1", 2)],
        faults=[{"type": "failedStart", "name": "badimage", "taskDefinition": "web:2", "probability": 1}],
        actions=[deploy(), {**deploy(at=400, task_definition="web:3"), "name": "fix"}],
        timing={"startFailureThrottle": {"initial": "10m"}},
    ))
    good = res.tasks[res.tasks.task_definition == "web:3"]
    assert good.created_at_s.min() == 410.0
    assert res.deployments.rollout_state.tolist() == ["COMPLETED", "IN_PROGRESS", "COMPLETED"]


# --------------------------------------------------------------------------- health (timeline C)
def hang(start: float = 100, end: float = 200, **kw) -> dict:
    return {"type": "healthCheckFailure", "name": "hang", "service": "web", "start": start, "end": end, **kw}


def test_lb_health_defaults_and_deregistration():
    """Without faults: a task behind the LB is HEALTHY 150 s after RUNNING; a task the user stops
    is DEACTIVATING for 300 s, then STOPPED 3 s later."""
    res = run(scenario(
        instances=2, duration="20m", task_definitions=[task_definition("web")],
        services=[service("web", "web", 1, loadBalancers=LB)],
        actions=[{"type": "stopTask", "name": "stop", "at": 300, "service": "web"}],
    ))
    health = res.events[res.events.event == "health"]
    assert health[["time_s", "entity_id", "to_state"]].values.tolist()[0] == [162.0, "t-000001", "HEALTHY"]
    assert times(res, "t-000001") == (10.0, 12.0, 300.0, 603.0)


def test_timeline_c_unhealthy_target_replaced_start_first():
    """A stopTask at 100 makes a replacement (110, RUNNING 112) whose application hangs at once:
    the target is unhealthy 60 s later (2 x 30 s, 172); a replacement starts first (182); the
    unhealthy task is stopped once a task is healthy or, here, stop-first when the second
    replacement (hit too, unhealthy at 244) leaves no room (254): DEACTIVATING for 300 s."""
    res = run(scenario(
        instances=2, duration="30m", warmStart=True, task_definitions=[task_definition("web")],
        services=[service("web", "web", 2, loadBalancers=LB)],
        faults=[hang()],
        actions=[{"type": "stopTask", "name": "kick", "at": 100, "service": "web", "count": 1}],
    ))
    ev = res.events
    unhealthy = ev[(ev.event == "health") & (ev.to_state == "UNHEALTHY")]
    assert unhealthy[["time_s", "entity_id"]].values.tolist() == [[172.0, "t-000003"], [244.0, "t-000004"]]
    assert set(unhealthy.reason) == {"Task failed ELB health checks in (target-group tg-web)"}
    assert times(res, "t-000004")[:2] == (182.0, 184.0)
    assert times(res, "t-000003")[2:] == (254.0, 557.0)
    stopped = res.tasks.set_index("task_id").loc["t-000003"]
    assert (stopped.stop_code, stopped.stopped_reason) == (
        "ServiceSchedulerInitiated", "Task failed ELB health checks in (target-group tg-web)")
    rec = res.recovery.set_index("incident_id")
    assert rec.loc["inc-0001", "kind"] == "health_check_failure"
    assert (rec.loc["inc-0001", "fault_time_s"], rec.loc["inc-0001", "time_to_detection_s"]) == (112.0, 60.0)
    assert invariants.all_invariants(res) == []


def test_container_health_check_timing_and_grace_period():
    """Container check interval 10 s, retries 3, startPeriod 0: HEALTHY 10 s after RUNNING; an
    application failing 100 s after RUNNING is UNHEALTHY 30 s later. A 300 s grace period holds
    the replacement until 300 s after the task started."""
    td = task_definition("web")
    td["containerDefinitions"][0]["healthCheck"] = {"command": ["CMD", "true"], "interval": 10, "retries": 3}

    def scenario_with(grace: int) -> dict:
        return scenario(instances=2, duration="20m", task_definitions=[td],
                        services=[service("web", "web", 1, healthCheckGracePeriodSeconds=grace)],
                        faults=[hang(start=0, end=20, timeToFailure="100s")])

    res = run(scenario_with(0))
    health = res.events[(res.events.event == "health") & (res.events.entity_id == "t-000001")]
    assert health[["time_s", "to_state", "reason"]].values.tolist() == [
        [22.0, "HEALTHY", ""], [142.0, "UNHEALTHY", "Task failed container health checks"]]
    assert times(res, "t-000002")[0] == 152.0  # replacement at the next reaction
    graced = run(scenario_with(300))
    assert times(graced, "t-000002")[0] == 322.0  # started 12 + grace 300, then the reaction


def test_impaired_host_behind_a_load_balancer_is_replaced():
    """§12: an impaired host's targets fail the LB check 60 s later and are replaced; the same
    failure without a load balancer leaves the task RUNNING and unreplaced."""
    def scenario_with(lb: bool) -> dict:
        extra = {"loadBalancers": LB} if lb else {}
        # ECS sees the agent disconnected at 130 (before the LB verdict at 160): nothing is placed
        # there any more. (With a later disconnect ECS would place the replacement on the dead host.)
        return scenario(instances=2, duration="30m", warmStart=True, task_definitions=[task_definition("web")],
                        services=[service("web", "web", 2, **extra)], timing={"agentHeartbeatTimeout": "30s"},
                        faults=[{"type": "instanceFailure", "name": "hw", "mode": "impaired", "at": [100],
                                 "select": {"instanceIds": ["i-00000000000000001"]}}])
    res = run(scenario_with(True))
    victim = res.tasks[res.tasks.instance_id == "i-00000000000000001"].task_id.iloc[0]
    unhealthy = res.events[(res.events.event == "health") & (res.events.to_state == "UNHEALTHY")]
    assert unhealthy[["time_s", "entity_id", "incident_id"]].values.tolist() == [[160.0, victim, "inc-0001"]]
    assert times(res, "t-000003")[:2] == (170.0, 172.0)
    # Stopping a task on a dead host never completes: ECS still shows it (desired STOPPED).
    assert math.isnan(times(res, victim)[3])
    # The recovery row: impaired until the LB verdict (160), then replaced, not stalled; ECS's
    # RUNNING count never fell below 2 (the dead task still counts), healthy again when the
    # replacement is (RUNNING 172 + 150 s = 322).
    row = res.recovery.iloc[0]
    assert (row.tasks_impaired, row.recovered_at_s, row.time_to_healthy_s, row.stall_reason) == (
        1, 160.0, 222.0, "")
    plain = run(scenario_with(False))
    assert len(plain.tasks) == 2
    assert plain.recovery.stall_reason.tolist() == ["impaired_not_replaced"]


def test_activate_instance_stops_the_drain():
    """A drain at 100 starts a replacement (110); activating the instance at 120 keeps the old
    task (nothing is stopped) and the service scales the surplus back in."""
    res = run(scenario(
        instances=3, duration="20m", warmStart=True, task_definitions=[task_definition("web")],
        services=[service("web", "web", 2)],
        actions=[{"type": "drainInstance", "name": "drain", "at": 100,
                  "select": {"instanceIds": ["i-00000000000000003"]}},
                 {"type": "activateInstance", "name": "back", "at": 120,
                  "select": {"instanceIds": ["i-00000000000000003"]}}],
    ))
    inst = res.events[(res.events.entity == "instance") & (res.events.time_s > 0)]
    assert inst[["time_s", "from_state", "to_state"]].values.tolist() == [
        [100.0, "ACTIVE", "DRAINING"], [120.0, "DRAINING", "ACTIVE"]]
    running = res.tasks[res.tasks.last_status == "RUNNING"]
    assert len(running) == 2
    assert invariants.all_invariants(res) == []


# --------------------------------------------------------------------------- timeline A
def test_timeline_a_crash_replaced_without_throttle():
    """§9b A with a 20 s reaction and a 5 s container start, image cached: the essential
    container of a warm-started task is OOM-killed at t=100 (memory use crossing its limit at
    the end of a 100 s ramp); the replacement is placed at 120, RUNNING at 125 and healthy 40 s
    later (165). No start-failure throttle: the task had reached RUNNING."""
    td = task_definition("web", memory=512)
    res = run(scenario(
        instances=1, duration="10m", warmStart=True, task_definitions=[td],
        services=[service("web", "web", 1)],
        faults=[{"type": "memoryUse", "name": "leak", "service": "web", "usage": 1024, "ramp": "200s"}],
        timing={"serviceReaction": {"mode": "delay", "delay": "20s"}, "containerStart": "5s"},
    ))
    first = res.tasks.set_index("task_id").loc["t-000001"]
    assert (first.stopped_at_s, first.stop_code) == (100.0, "EssentialContainerExited")
    assert times(res, "t-000002")[:2] == (120.0, 125.0)
    health = res.events[(res.events.event == "health") & (res.events.entity_id == "t-000002")]
    assert health[["time_s", "to_state"]].values.tolist()[0] == [165.0, "HEALTHY"]
    assert "unable_to_start" not in res.service_events.kind.tolist()


def test_health_failure_hits_warm_started_tasks_too():
    """Warm-started tasks are HEALTHY at t=0 and draw their application failure like any other:
    failing 100 s in, the target is unhealthy 60 s later (160)."""
    res = run(scenario(
        instances=2, duration="10m", warmStart=True, task_definitions=[task_definition("web")],
        services=[service("web", "web", 1, loadBalancers=LB)],
        faults=[hang(start=0, end=1, timeToFailure="100s")],
    ))
    health = res.events[(res.events.event == "health") & (res.events.entity_id == "t-000001")]
    assert health[["time_s", "to_state"]].values.tolist() == [[0.0, "HEALTHY"], [160.0, "UNHEALTHY"]]
    assert res.recovery.fault_time_s.tolist() == [100.0]
