"""Exact timelines of tiny deterministic scenarios: every row, with its time, in log order.

Latencies are constants (see ``helpers.CONSTANT_TIMING``: no image pull unless a test sets
one, 2 s container start, 3 s container stop, instant registration, a service reaction 10 s
after each change), so each expected sequence can be derived by hand from the model's
documentation (``ecssim/model/agent.py``, ``ecssim/control/service.py``).
"""

from __future__ import annotations

import math

import pytest

from .helpers import (
    I1,
    I2,
    exit_rows,
    lifecycle,
    rows,
    run,
    scenario,
    service,
    stop_rows,
    task_definition,
    task_rows,
)

HOST_TERMINATED = f"Host EC2 (instance {I1}) terminated."


def registration(*instance_ids: str) -> list[tuple]:
    """Instances launched at t=0 and registered at once (agentRegistration 0)."""
    launched = [(0.0, i, "state", "", "REGISTERING") for i in instance_ids]
    return launched + [(0.0, i, "state", "REGISTERING", "ACTIVE") for i in instance_ids]


def service_start(name: str, desired: int) -> list[tuple]:
    return [(0.0, name, "state", "", "ACTIVE"), (0.0, name, "desired_count", "", str(desired))]


def by_task(events) -> dict[str, list[tuple]]:  # noqa: ANN001
    out: dict[str, list[tuple]] = {}
    for row in task_rows(events):
        out.setdefault(row[1], []).append(row)
    return out


# --------------------------------------------------------------------------- RunTask


def test_runtask_runs_for_its_duration_and_exits():
    res = run(scenario(
        task_definitions=[task_definition("job")],
        actions=[{"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job", "duration": 60}],
        timing={"imagePull": 5},
    ))
    assert rows(res.events) == registration(I1, I2) + [
        (10.0, "go", "action", "", "runTask"),
        *lifecycle("t-000001", 10.0, pull=5.0),
        *exit_rows("t-000001", 77.0),
    ]
    ev = res.events
    stops = ev[(ev.entity == "task") & (ev.event == "state") & ev.to_state.isin(["DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"])]
    assert set(stops.stop_code) == {"EssentialContainerExited"}
    assert set(stops.reason) == {"Essential container in task exited"}
    task = res.tasks.iloc[0]
    assert (task.created_at_s, task.pull_started_at_s, task.pull_stopped_at_s) == (10.0, 10.0, 15.0)
    assert (task.started_at_s, task.stopping_at_s, task.stopped_at_s) == (17.0, 77.0, 77.0)
    assert (task.last_status, task.stop_code, task.group, task.started_by) == (
        "STOPPED", "EssentialContainerExited", "family:job", "action:go")


def test_image_pulled_on_first_use_then_cached_on_the_instance():
    # One instance: two tasks at once share the pull, a later task finds the image cached;
    # another image is pulled again.
    res = run(scenario(
        instances=1,
        task_definitions=[task_definition("job"), task_definition("other")],
        actions=[
            {"type": "runTask", "name": "pair", "at": 10, "taskDefinition": "job", "count": 2, "duration": 60},
            {"type": "runTask", "name": "later", "at": 100, "taskDefinition": "job", "duration": 60},
            {"type": "runTask", "name": "new-image", "at": 200, "taskDefinition": "other", "duration": 60},
        ],
        timing={"imagePull": "8s"},
    ))
    tasks = by_task(res.events)
    assert tasks["t-000001"] == lifecycle("t-000001", 10.0, pull=8.0) + exit_rows("t-000001", 80.0)
    # The second task of the pair waits for the pull the first one started (same completion).
    assert tasks["t-000002"] == lifecycle("t-000002", 10.0, pull=8.0) + exit_rows("t-000002", 80.0)
    assert tasks["t-000003"] == lifecycle("t-000003", 100.0, pull=0.0) + exit_rows("t-000003", 162.0)
    assert tasks["t-000004"] == lifecycle("t-000004", 200.0, pull=8.0) + exit_rows("t-000004", 270.0)
    assert list(res.tasks.pull_stopped_at_s - res.tasks.pull_started_at_s) == [8.0, 8.0, 0.0, 8.0]


def test_image_cache_is_per_instance():
    # With a spread over instanceId the second task lands on the other instance and pulls
    # the image again.
    res = run(scenario(
        task_definitions=[task_definition("job")],
        actions=[
            {"type": "runTask", "name": "a", "at": 10, "taskDefinition": "job", "duration": 60,
             "placementStrategy": [{"type": "spread", "field": "instanceId"}]},
            {"type": "runTask", "name": "b", "at": 20, "taskDefinition": "job", "duration": 60,
             "placementStrategy": [{"type": "spread", "field": "instanceId"}]},
        ],
        timing={"imagePull": "8s"},
    ))
    t = res.tasks.set_index("task_id")
    assert t.loc["t-000001", "instance_id"] != t.loc["t-000002", "instance_id"]
    assert list(t.pull_stopped_at_s - t.pull_started_at_s) == [8.0, 8.0]


# --------------------------------------------------------------------------- service crash


def test_service_crash_and_replacement_delay_mode():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 2)],
        faults=[{"type": "taskCrash", "name": "crash", "service": "web", "meanTimeToCrash": "1m", "end": "2m"}],
        duration="5m",
    ))
    ev = res.events
    crashes = rows(ev, entity="fault", columns=["time_s", "entity_id", "event", "to_state", "instance_id"])
    assert len(crashes) >= 1
    t_crash, incident, _, kind, instance = crashes[0]
    assert kind == "task_crash" and incident == "inc-0001"
    assert 12.0 < t_crash < 120.0
    victim = ev[(ev.entity == "task") & (ev.incident_id == incident)].entity_id.unique()
    assert len(victim) == 1
    victim = victim[0]
    other = ({"t-000001", "t-000002"} - {victim}).pop()
    tasks = by_task(ev)
    # Both launched 10 s after the service appeared, spread one per instance.
    assert tasks[other][:7] == lifecycle(other, 10.0)
    assert tasks[victim] == lifecycle(victim, 10.0) + exit_rows(victim, t_crash)
    crash_rows = ev[(ev.entity_id == victim) & (ev.event == "state") & (ev.to_state != "")].tail(4)
    assert set(crash_rows.incident_id) == {incident}
    assert set(crash_rows.stop_code) == {"EssentialContainerExited"}
    # The replacement: 10 s after the crash, on the instance that has room for the spread.
    t_repl = t_crash + 10.0
    assert tasks["t-000003"][:7] == lifecycle("t-000003", round(t_repl, 6))
    assert res.tasks.set_index("task_id").loc["t-000003", "instance_id"] == instance
    assert (res.tasks.set_index("task_id").loc["t-000003", "started_by"]) == "service"
    se = res.service_events
    # Steady once both tasks are healthy (RUNNING 12, healthy 40 s later), if the crash is later.
    steady = [(52.0, "steady_state", "service web has reached a steady state.")] if t_crash > 52.0 else []
    expected = [
        (10.0, "started", "service web has started 2 tasks: task t-000001 task t-000002."),
        *steady,
        (round(t_repl, 6), "started", "service web has started 1 tasks: task t-000003."),
    ]
    got = [(round(t, 6), k, m) for t, k, m in se[["time_s", "kind", "message"]].itertuples(index=False)]
    assert got[:len(expected)] == expected
    # Other crashes may follow until 2m; the service ends steady, 42 s after its last start.
    starts = [t for t, k, _m in got if k == "started"]
    assert got[-1][:2] == (round(starts[-1] + 42.0, 6), "steady_state")


def test_service_crash_and_replacement_cycle_mode():
    """Cycle mode: reconciles happen only at ticks phase + k x period (phase drawn per service)."""
    period = 15.0
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 2)],
        faults=[{"type": "taskCrash", "name": "crash", "service": "web", "meanTimeToCrash": "2m", "end": "3m"}],
        timing={"serviceReaction": {"mode": "cycle", "period": period}},
        duration="6m",
    ), seed=3)
    ev = res.events
    created = res.tasks.created_at_s.to_numpy()
    phase = created[0]
    # The first reconcile is the first tick at or after t=0 (the service appeared at t=0).
    assert 0.0 <= phase < period
    assert list(created[:2]) == [phase, phase]
    crashes = ev[(ev.entity == "fault")].time_s.to_numpy()
    assert len(crashes) >= 2
    # Each replacement is created at the first tick at or after its crash (none are held back:
    # 2 instances with room, maximumPercent 200).
    for t_crash, t_repl in zip(crashes, created[2:], strict=False):
        ticks = (t_repl - phase) / period
        assert ticks == pytest.approx(round(ticks), abs=1e-9)
        assert 0.0 <= t_repl - t_crash < period
    assert len(created) == 2 + len(crashes)
    for task_id in res.tasks.task_id[2:]:
        t0 = float(res.tasks.set_index("task_id").loc[task_id, "created_at_s"])
        assert by_task(ev)[task_id][:7] == lifecycle(task_id, round(t0, 6))


# --------------------------------------------------------------------------- stops


def test_stop_task_user_initiated_with_container_stop_time():
    res = run(scenario(
        task_definitions=[task_definition("job")],
        actions=[
            {"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job"},
            {"type": "stopTask", "name": "halt", "at": 100, "taskIds": ["t-000001"], "reason": "Enough"},
        ],
    ))
    assert rows(res.events) == registration(I1, I2) + [
        (10.0, "go", "action", "", "runTask"),
        *lifecycle("t-000001", 10.0),
        (100.0, "halt", "action", "", "stopTask"),
        *stop_rows("t-000001", 100.0, 3.0),
    ]
    ev = res.events
    stops = ev[(ev.entity == "task") & (ev.event == "state") & (ev.time_s >= 100)]
    assert set(stops.stop_code) == {"UserInitiated"} and set(stops.reason) == {"Enough"}
    assert ev[ev.entity == "action"].reason.tolist() == ["1 x job", "stop t-000001"]
    task = res.tasks.iloc[0]
    assert (task.stopping_at_s, task.stopped_at_s, task.stop_code, task.stopped_reason) == (
        100.0, 103.0, "UserInitiated", "Enough")


def test_stop_capped_by_stop_timeout():
    td = task_definition("job")
    td["containerDefinitions"][0]["stopTimeout"] = 7
    res = run(scenario(
        task_definitions=[td],
        actions=[
            {"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job"},
            {"type": "stopTask", "name": "halt", "at": 100, "taskIds": ["t-000001"]},
        ],
        timing={"containerStop": "60s"},
    ))
    assert task_rows(res.events)[-5:] == stop_rows("t-000001", 100.0, 7.0)


def test_stop_task_of_a_service_is_replaced():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 1)],
        actions=[{"type": "stopTask", "name": "halt", "at": 100, "service": "web", "count": 1}],
    ))
    tasks = by_task(res.events)
    assert tasks["t-000001"] == lifecycle("t-000001", 10.0) + stop_rows("t-000001", 100.0, 3.0)
    # The desired status changed at 100: the reaction comes 10 s later.
    assert tasks["t-000002"] == lifecycle("t-000002", 110.0)
    assert res.tasks.stopped_reason.tolist()[0] == "Task stopped by user"


def test_maximum_percent_100_holds_the_replacement_until_the_old_task_stopped():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 1, deploymentConfiguration={"maximumPercent": 100,
                                                                     "minimumHealthyPercent": 0})],
        actions=[{"type": "stopTask", "name": "halt", "at": 100, "service": "web"}],
        timing={"containerStop": "30s"},
    ))
    tasks = by_task(res.events)
    assert tasks["t-000001"][-5:] == stop_rows("t-000001", 100.0, 30.0)
    # At 110 the bound (1 task not yet STOPPED) holds the launch; STOPPED at 130 wakes the
    # service again, 10 s later.
    assert tasks["t-000002"] == lifecycle("t-000002", 140.0)


def test_scale_in_by_update_service():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 3)],
        actions=[{"type": "updateService", "name": "shrink", "at": 100, "service": "web", "desiredCount": 2}],
    ))
    ev = res.events
    assert rows(ev, entity="service") == service_start("web", 3) + [
        (100.0, "web", "desired_count", "3", "2"),
    ]
    assert ev[(ev.entity == "service") & (ev.event == "desired_count")].value.tolist() == [3.0, 2.0]
    tasks = by_task(ev)
    # Spread over the AZs (one instance each): t1 and t2 in different AZs; t3 breaks the
    # tie at random, so it shares an instance with one of them.
    placed = res.tasks.set_index("task_id").instance_id.to_dict()
    assert {placed["t-000001"], placed["t-000002"]} == {I1, I2}
    crowded = placed["t-000003"]
    stopped = res.tasks[res.tasks.last_status == "STOPPED"].task_id.tolist()
    assert len(stopped) == 1
    victim = stopped[0]
    # Scale-in keeps the AZs balanced: the victim is one of the two tasks in the crowded AZ.
    assert placed[victim] == crowded
    assert tasks[victim] == lifecycle(victim, 10.0) + stop_rows(victim, 110.0, 3.0)
    stop = ev[(ev.entity_id == victim) & (ev.to_state == "STOPPED")].iloc[0]
    assert stop.stop_code == "ServiceSchedulerInitiated"
    assert stop.reason.startswith("Scaling activity initiated by (deployment ecs-svc/")
    assert stop.reason.endswith(")")
    se = [(t, k, m) for t, k, m in res.service_events[["time_s", "kind", "message"]].itertuples(index=False)]
    assert se == [
        (10.0, "started", "service web has started 3 tasks: task t-000001 task t-000002 task t-000003."),
        (52.0, "steady_state", "service web has reached a steady state."),  # healthy 40 s after RUNNING
        (110.0, "stopped", f"service web has stopped 1 running tasks: task {victim}."),
        (113.0, "steady_state", "service web has reached a steady state."),
    ]
    assert len(res.tasks) == 3  # nothing relaunched


def test_scale_in_stops_starting_tasks_first():
    # Desired 3 then 1 while the tasks are still PENDING (a 60 s image pull): the newest
    # not-yet-running tasks go first, and they pass through STOPPING -> STOPPED only.
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 3)],
        actions=[{"type": "updateService", "name": "shrink", "at": 12, "service": "web", "desiredCount": 1}],
        timing={"imagePull": "60s"},
    ))
    tasks = by_task(res.events)
    for victim in ("t-000002", "t-000003"):
        assert tasks[victim] == lifecycle(victim, 10.0, pull=60.0)[:4] + [
            (22.0, victim, "state", "PENDING", "STOPPING"),
            (22.0, victim, "state", "STOPPING", "STOPPED"),
            (22.0, victim, "host_released", "STOPPED", "STOPPED"),
        ]
    assert tasks["t-000001"] == lifecycle("t-000001", 10.0, pull=60.0)


# --------------------------------------------------------------------------- instance loss


def test_instance_termination_stops_its_tasks_at_once():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 2)],
        faults=[{"type": "instanceFailure", "name": "boom", "at": [100], "select": {"instanceIds": [I1]}}],
        fleet={"replaceLostInstances": False},  # ASG replacement: tests/model/test_instance_faults.py
    ))
    ev = res.events
    assert rows(ev, entity="instance") == registration(I1, I2) + [(100.0, I1, "state", "ACTIVE", "INACTIVE")]
    inactive = ev[(ev.entity == "instance") & (ev.to_state == "INACTIVE")].iloc[0]
    assert (inactive.reason, inactive.incident_id) == ("Instance terminated (fault boom)", "inc-0001")
    assert rows(ev, entity="fault", columns=["time_s", "entity_id", "event", "to_state", "reason", "instance_id"]) == [
        (100.0, "inc-0001", "fault", "instance_failure", "boom", I1),
    ]
    tasks = by_task(ev)
    # Spread over the two AZs: one task per instance (which one goes where is a random tie).
    placed = res.tasks.set_index("task_id").instance_id.to_dict()
    lost = next(t for t in ("t-000001", "t-000002") if placed[t] == I1)
    kept = "t-000002" if lost == "t-000001" else "t-000001"
    assert placed[kept] == I2 and placed["t-000003"] == I2
    assert tasks[lost] == lifecycle(lost, 10.0) + [
        (100.0, lost, "state", "RUNNING", "STOPPED"),
        (100.0, lost, "host_released", "STOPPED", "STOPPED"),
    ]
    stop = ev[(ev.entity_id == lost) & (ev.to_state == "STOPPED")].iloc[0]
    assert (stop.reason, stop.stop_code, stop.incident_id) == (HOST_TERMINATED, "", "inc-0001")
    task = res.tasks.set_index("task_id").loc[lost]
    assert (task.stopping_at_s, task.stopped_at_s, task.stop_code, task.stopped_reason, task.incident_id) == (
        100.0, 100.0, "", HOST_TERMINATED, "inc-0001")
    # The replacement goes to the surviving instance, 10 s later.
    assert tasks["t-000003"] == lifecycle("t-000003", 110.0)
    assert tasks[kept] == lifecycle(kept, 10.0)


def test_instance_termination_while_a_task_is_stopping_and_another_pending():
    res = run(scenario(
        instances=1,
        task_definitions=[task_definition("job")],
        actions=[
            {"type": "runTask", "name": "a", "at": 10, "taskDefinition": "job"},
            {"type": "runTask", "name": "b", "at": 98, "taskDefinition": "job"},
            {"type": "stopTask", "name": "halt", "at": 95, "taskIds": ["t-000001"]},
            {"type": "terminateInstance", "name": "kill", "at": 100, "select": {"instanceIds": [I1]}},
        ],
        timing={"containerStop": "10s", "imagePull": "5s"},
        fleet={"replaceLostInstances": False},
    ))
    tasks = by_task(res.events)
    assert tasks["t-000001"] == lifecycle("t-000001", 10.0, pull=5.0) + [
        (95.0, "t-000001", "state", "RUNNING", "DEACTIVATING"),
        (95.0, "t-000001", "state", "DEACTIVATING", "STOPPING"),
        (100.0, "t-000001", "state", "STOPPING", "STOPPED"),
        (100.0, "t-000001", "host_released", "STOPPED", "STOPPED"),
    ]
    assert tasks["t-000002"] == lifecycle("t-000002", 98.0, pull=0.0)[:5] + [
        (100.0, "t-000002", "state", "PENDING", "STOPPED"),
        (100.0, "t-000002", "host_released", "STOPPED", "STOPPED"),
    ]
    t = res.tasks.set_index("task_id")
    # The task already being stopped keeps the reason of its stop; the other gets the host's.
    assert t.loc["t-000001", "stop_code"] == "UserInitiated"
    assert t.loc["t-000002", "stopped_reason"] == HOST_TERMINATED
    # An operator termination is not an incident.
    assert set(res.events.incident_id) == {""}
    assert res.events[res.events.entity == "instance"].reason.iloc[-1] == (
        "Instance terminated by the operator (action kill)")


# --------------------------------------------------------------------------- awsvpc


def test_awsvpc_task_attaches_and_detaches_its_eni():
    res = run(scenario(
        task_definitions=[task_definition("job", network_mode="awsvpc")],
        actions=[{"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job", "duration": 60}],
        timing={"eniAttach": "4s", "eniDetach": "6s"},
    ))
    assert task_rows(res.events) == [
        (10.0, "t-000001", "state", "", "PROVISIONING"),
        (14.0, "t-000001", "state", "PROVISIONING", "PENDING"),
        (14.0, "t-000001", "host_acquired", "PENDING", "PENDING"),
        (14.0, "t-000001", "pull_started", "PENDING", "PENDING"),
        (14.0, "t-000001", "pull_stopped", "PENDING", "PENDING"),
        (16.0, "t-000001", "state", "PENDING", "ACTIVATING"),
        (16.0, "t-000001", "state", "ACTIVATING", "RUNNING"),
        (76.0, "t-000001", "state", "RUNNING", "DEACTIVATING"),
        (76.0, "t-000001", "state", "DEACTIVATING", "STOPPING"),
        (76.0, "t-000001", "state", "STOPPING", "DEPROVISIONING"),
        (82.0, "t-000001", "state", "DEPROVISIONING", "STOPPED"),
        (82.0, "t-000001", "host_released", "STOPPED", "STOPPED"),
    ]


def test_awsvpc_stop_detaches_after_the_containers_stop():
    res = run(scenario(
        task_definitions=[task_definition("job", network_mode="awsvpc")],
        actions=[
            {"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job"},
            {"type": "stopTask", "name": "halt", "at": 100, "taskIds": ["t-000001"]},
        ],
        timing={"eniAttach": "4s", "eniDetach": "6s"},
    ))
    assert task_rows(res.events)[-5:] == [
        (100.0, "t-000001", "state", "RUNNING", "DEACTIVATING"),
        (100.0, "t-000001", "state", "DEACTIVATING", "STOPPING"),
        (103.0, "t-000001", "state", "STOPPING", "DEPROVISIONING"),
        (109.0, "t-000001", "state", "DEPROVISIONING", "STOPPED"),
        (109.0, "t-000001", "host_released", "STOPPED", "STOPPED"),
    ]


# --------------------------------------------------------------------------- two ledgers


def test_replacement_waits_in_pending_for_the_host_ledger():
    """ecs-reference 2.6: the control plane frees a stopping task's resources at STOPPING, the
    host only at STOPPED, so the replacement placed there waits in PENDING."""
    res = run(scenario(
        instances=1,
        fleet={"registeredMemory": 1024},
        task_definitions=[task_definition("web", memory=1024)],
        services=[service("web", "web", 1)],
        actions=[{"type": "stopTask", "name": "halt", "at": 100, "service": "web"}],
        timing={"containerStop": "30s"},
    ))
    assert task_rows(res.events) == lifecycle("t-000001", 10.0) + [
        (100.0, "t-000001", "state", "RUNNING", "DEACTIVATING"),
        (100.0, "t-000001", "state", "DEACTIVATING", "STOPPING"),
        (110.0, "t-000002", "state", "", "PROVISIONING"),
        (110.0, "t-000002", "state", "PROVISIONING", "PENDING"),
        (130.0, "t-000001", "state", "STOPPING", "DEPROVISIONING"),
        (130.0, "t-000001", "state", "DEPROVISIONING", "STOPPED"),
        (130.0, "t-000001", "host_released", "STOPPED", "STOPPED"),
        (130.0, "t-000002", "host_acquired", "PENDING", "PENDING"),
        (130.0, "t-000002", "pull_started", "PENDING", "PENDING"),
        (130.0, "t-000002", "pull_stopped", "PENDING", "PENDING"),
        (132.0, "t-000002", "state", "PENDING", "ACTIVATING"),
        (132.0, "t-000002", "state", "ACTIVATING", "RUNNING"),
    ]
    assert res.tasks.instance_id.tolist() == [I1, I1]


def test_waiting_task_stopped_before_it_got_its_resources():
    res = run(scenario(
        instances=1,
        fleet={"registeredMemory": 1024},
        task_definitions=[task_definition("job", memory=1024)],
        actions=[
            {"type": "runTask", "name": "a", "at": 10, "taskDefinition": "job"},
            {"type": "stopTask", "name": "halt-a", "at": 100, "taskIds": ["t-000001"]},
            {"type": "runTask", "name": "b", "at": 101, "taskDefinition": "job"},
            {"type": "stopTask", "name": "halt-b", "at": 102, "taskIds": ["t-000002"]},
        ],
        timing={"containerStop": "30s"},
    ))
    assert by_task(res.events)["t-000002"] == [
        (101.0, "t-000002", "state", "", "PROVISIONING"),
        (101.0, "t-000002", "state", "PROVISIONING", "PENDING"),
        (102.0, "t-000002", "state", "PENDING", "STOPPING"),
        (102.0, "t-000002", "state", "STOPPING", "STOPPED"),
    ]
    # The host frees t1's memory at 130 and nobody takes it.
    assert task_rows(res.events, entity_id="t-000001")[-1] == (130.0, "t-000001", "host_released", "STOPPED",
                                                                 "STOPPED")


# --------------------------------------------------------------------------- placement failure


@pytest.mark.parametrize(
    ("td", "fleet", "reason", "what"),
    [
        ({"memory": 3000}, {"registeredMemory": 7000}, "RESOURCE:MEMORY", "has insufficient memory available."),
        ({"cpu": 1024, "memory": 256}, {"registeredCpu": 2048}, "RESOURCE:CPU",
         "has insufficient CPU units available."),
        ({"memory": 256, "host_port": 8080}, {}, "RESOURCE:PORTS", "is already using a port required by your task."),
    ],
)
def test_placement_failure_and_back_off(td, fleet, reason, what):
    # One instance fits 2 tasks; the third is not placed and the service backs off 30, 60, 120, 240 s.
    res = run(scenario(
        instances=1,
        fleet=fleet,
        task_definitions=[task_definition("web", **td)],
        services=[service("web", "web", 3 if reason != "RESOURCE:PORTS" else 2)],
    ))
    pf = res.placement_failures
    assert pf.time_s.tolist() == [10.0, 40.0, 100.0, 220.0, 460.0]
    assert set(pf.reason) == {reason}
    assert set(pf.closest_instance_id) == {I1}
    assert set(pf.service) == {"web"} and set(pf.group) == {"service:web"} and set(pf.task_definition) == {"web:1"}
    assert set(pf.started_by) == {"service"}
    placed = 2 if reason != "RESOURCE:PORTS" else 1
    assert len(res.tasks) == placed
    message = (f"service web was unable to place a task because no container instance met all of its "
               f"requirements. The closest matching container-instance {I1} {what} "
               "For more information, see the Troubleshooting section.")
    se = res.service_events
    # The same message is shown once (ECS suppresses repeats for 6 h).
    assert se[se.kind == "unable_to_place"][["time_s", "message"]].values.tolist() == [[10.0, message]]
    started = se[se.kind == "started"]
    assert started.time_s.tolist() == [10.0]
    assert not (se.kind == "steady_state").any()


def test_runtask_placement_failure_creates_no_task():
    res = run(scenario(
        instances=1,
        fleet={"registeredMemory": 1000},
        task_definitions=[task_definition("job", memory=600)],
        actions=[{"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job", "count": 2, "duration": 60}],
    ))
    assert len(res.tasks) == 1
    assert res.placement_failures.values.tolist() == [
        ["pf-000001", 10.0, "", "family:job", "job:1", "action:go", "RESOURCE:MEMORY", I1],
    ]


def test_no_active_instance():
    res = run(scenario(
        task_definitions=[task_definition("job")],
        actions=[{"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job"}],
        timing={"agentRegistration": "60s"},
    ))
    assert res.placement_failures[["time_s", "reason", "closest_instance_id"]].values.tolist() == [
        [10.0, "NO_ACTIVE_INSTANCES", ""]]
    assert rows(res.events, entity="instance") == [
        (0.0, I1, "state", "", "REGISTERING"),
        (0.0, I2, "state", "", "REGISTERING"),
        (60.0, I1, "state", "REGISTERING", "ACTIVE"),
        (60.0, I2, "state", "REGISTERING", "ACTIVE"),
    ]


# --------------------------------------------------------------------------- warm start


def test_warm_start_puts_every_transition_at_time_zero():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 3)],
        warmStart=True,
        timing={"agentRegistration": "60s", "imagePull": "8s"},
        duration="2m",
    ))
    ev = res.events
    assert rows(ev, entity="instance") == [
        (0.0, I1, "state", "", "REGISTERING"),
        (0.0, I1, "state", "REGISTERING", "ACTIVE"),
        (0.0, I2, "state", "", "REGISTERING"),
        (0.0, I2, "state", "REGISTERING", "ACTIVE"),
    ]
    assert (ev.time_s == 0.0).all()
    tasks = by_task(ev)
    assert sorted(tasks) == ["t-000001", "t-000002", "t-000003"]
    for task_id, task in tasks.items():
        assert task == lifecycle(task_id, 0.0, pull=0.0, start=0.0)
    assert set(res.tasks.started_by) == {"warmStart"}
    assert res.service_events[["time_s", "kind"]].values.tolist() == [[0.0, "steady_state"]]


# --------------------------------------------------------------------------- launch rate


def test_launch_rate_token_bucket():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 5)],
        timing={"serviceLaunchRate": "1/s", "serviceLaunchBurst": 2},
    ))
    assert res.tasks.created_at_s.tolist() == [10.0, 10.0, 11.0, 12.0, 13.0]
    se = res.service_events
    assert se[["time_s", "kind", "message"]].values.tolist() == [
        [10.0, "started", "service web has started 2 tasks: task t-000001 task t-000002."],
        [11.0, "started", "service web has started 1 tasks: task t-000003."],
        [12.0, "started", "service web has started 1 tasks: task t-000004."],
        [13.0, "started", "service web has started 1 tasks: task t-000005."],
        [55.0, "steady_state", "service web has reached a steady state."],  # the last healthy at 15 + 40
    ]


def test_launch_rate_refills_while_idle():
    # 2 tokens used at 10; by the scale-up at 100 the bucket is full again (burst 2).
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 2)],
        actions=[{"type": "updateService", "name": "grow", "at": 100, "service": "web", "desiredCount": 5}],
        timing={"serviceLaunchRate": "0.5/s", "serviceLaunchBurst": 2},
    ))
    assert res.tasks.created_at_s.tolist() == [10.0, 10.0, 110.0, 110.0, 112.0]


# --------------------------------------------------------------------------- steady state


def test_steady_state_events_after_recovery():
    res = run(scenario(
        task_definitions=[task_definition("web")],
        services=[service("web", "web", 2)],
        faults=[{"type": "instanceFailure", "name": "boom", "at": [100], "select": {"instanceIds": [I2]}}],
        actions=[{"type": "updateService", "name": "grow", "at": 200, "service": "web", "desiredCount": 3}],
    ))
    se = res.service_events
    assert se[["time_s", "kind", "message"]].values.tolist() == [
        [10.0, "started", "service web has started 2 tasks: task t-000001 task t-000002."],
        [52.0, "steady_state", "service web has reached a steady state."],
        [110.0, "started", "service web has started 1 tasks: task t-000003."],
        [152.0, "steady_state", "service web has reached a steady state."],
        [210.0, "started", "service web has started 1 tasks: task t-000004."],
        [252.0, "steady_state", "service web has reached a steady state."],
    ]
    assert not math.isnan(res.tasks.started_at_s.iloc[-1])


def test_launch_rate_with_a_rate_that_rounds():
    """Regression: 7/min is not a binary fraction; the refill once left 0.9999999999999998
    tokens and the service woke at the same instant forever (the run never ended)."""
    res = run(scenario(
        task_definitions=[task_definition("web", cpu=10, memory=64)],
        services=[service("web", "web", 8)],
        timing={"serviceLaunchRate": "7/min", "serviceLaunchBurst": 1},
        duration="5m",
    ))
    assert res.tasks.created_at_s.to_numpy() == pytest.approx([10.0 + k * 60.0 / 7.0 for k in range(8)])


def test_scale_in_during_a_placement_back_off_is_not_postponed():
    """Regression (delay mode): a pending back-off timer (until 40 s) used to swallow the
    reaction to the desired-count change at 15 s, so the scale-in waited for the back-off."""
    res = run(scenario(
        instances=1,
        fleet={"registeredMemory": 1024},
        task_definitions=[task_definition("web", memory=512)],
        services=[service("web", "web", 3)],
        actions=[{"type": "updateService", "name": "shrink", "at": 15, "service": "web", "desiredCount": 1}],
    ))
    ev = res.events
    stops = ev[(ev.entity == "task") & (ev.to_state == "DEACTIVATING")]
    assert stops.time_s.tolist() == [25.0]
    assert res.placement_failures.time_s.tolist() == [10.0]


def test_back_off_resets_after_a_full_launch():
    # A RunTask holds half the memory until 70 s: the service's second task fails at 10 and
    # 40, fits at 100 (after a 60 s back-off). A later scale-up that fails backs off 30 s again.
    res = run(scenario(
        instances=1,
        fleet={"registeredMemory": 1024},
        task_definitions=[task_definition("web", memory=512), task_definition("job", memory=512)],
        services=[service("web", "web", 2)],
        actions=[
            {"type": "runTask", "name": "hog", "at": 5, "taskDefinition": "job", "duration": 63},
            {"type": "updateService", "name": "grow", "at": 195, "service": "web", "desiredCount": 3},
        ],
    ))
    created = res.tasks.set_index("task_id").created_at_s
    assert created.to_dict() == {"t-000001": 5.0, "t-000002": 10.0, "t-000003": 100.0}
    assert res.placement_failures.time_s.tolist() == [10.0, 40.0, 205.0, 235.0, 295.0, 415.0]
    se = res.service_events
    assert se[se.kind == "unable_to_place"].time_s.tolist() == [10.0, 205.0]


@pytest.mark.parametrize("mode", ["delay", "cycle"])
def test_retry_on_capacity_change_cuts_the_back_off_short(mode):
    """With ``retryOnCapacityChange`` the service retries one reaction after capacity frees
    (regression, delay mode: the pending back-off timer used to swallow that reaction)."""
    reaction = {"mode": "delay", "delay": "10s"} if mode == "delay" else {"mode": "cycle", "period": "10s"}
    res = run(scenario(
        instances=1,
        fleet={"registeredMemory": 1024},
        task_definitions=[task_definition("web", memory=512), task_definition("job", memory=1024)],
        services=[service("web", "web", 1)],
        actions=[{"type": "runTask", "name": "hog", "at": 5, "taskDefinition": "job", "duration": 43}],
        timing={"serviceReaction": reaction,
                "placementRetry": {"initial": "5m", "retryOnCapacityChange": True}},
    ))
    # hog runs 7..50; web fails at its first reconcile, capacity appears at 50 (hog STOPPING).
    pf = res.placement_failures
    failures = pf[pf.service == "web"].time_s.tolist()
    created = res.tasks.set_index("task_id").created_at_s["t-000002"]
    if mode == "delay":
        assert failures == [10.0]
        assert created == 60.0
    else:
        assert len(failures) == 1
        phase = failures[0]  # the first tick
        assert 0.0 <= phase < 10.0
        assert created == pytest.approx(phase + 10.0 * math.ceil((50.0 - phase) / 10.0))


def test_without_retry_on_capacity_change_the_back_off_runs_out():
    res = run(scenario(
        instances=1,
        fleet={"registeredMemory": 1024},
        task_definitions=[task_definition("web", memory=512), task_definition("job", memory=1024)],
        services=[service("web", "web", 1)],
        actions=[{"type": "runTask", "name": "hog", "at": 5, "taskDefinition": "job", "duration": 43}],
        timing={"placementRetry": {"initial": "5m"}},
    ))
    assert res.tasks.set_index("task_id").created_at_s["t-000002"] == 310.0


def test_awsvpc_task_stopped_while_its_eni_attaches():
    res = run(scenario(
        task_definitions=[task_definition("job", network_mode="awsvpc")],
        actions=[
            {"type": "runTask", "name": "go", "at": 10, "taskDefinition": "job"},
            {"type": "stopTask", "name": "halt", "at": 12, "taskIds": ["t-000001"]},
        ],
        timing={"eniAttach": "4s", "eniDetach": "6s"},
    ))
    assert task_rows(res.events) == [
        (10.0, "t-000001", "state", "", "PROVISIONING"),
        (12.0, "t-000001", "state", "PROVISIONING", "DEPROVISIONING"),
        (18.0, "t-000001", "state", "DEPROVISIONING", "STOPPED"),
    ]
    assert res.tasks.stop_code.tolist() == ["UserInitiated"]
