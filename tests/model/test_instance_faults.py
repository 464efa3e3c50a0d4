"""Instance-level faults: ASG replacement, terminated vs impaired hosts, stochastic failures,
agent disconnects (ecs-reference 5.1, 5.2, 9b B, 12).

Exact timelines use the constant latencies of ``helpers.CONSTANT_TIMING`` with a warm start:
two instances, I1 in AZ ``a`` and I2 in AZ ``b``, a 2-task service ``web`` spread one task per
instance (t-000001 on I2, t-000002 on I1 for seed 1), each expected row derived by hand from
``ecssim/model/ec2.py`` and ``ecssim/model/asg.py``.
"""

from __future__ import annotations

import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import ecssim
from ecssim.model.streams import stream
from ecssim.scenario.distributions import Exponential, Weibull
from ecssim.scenario.errors import ScenarioError

from . import invariants
from .helpers import (
    I1,
    I2,
    I3,
    lifecycle,
    rows,
    run,
    scenario,
    service,
    stop_rows,
    task_definition,
    task_rows,
)

I4, I5, I6 = "i-00000000000000004", "i-00000000000000005", "i-00000000000000006"
I7, I8 = "i-00000000000000007", "i-00000000000000008"
HOST_TERMINATED = f"Host EC2 (instance {I1}) terminated."
STATE = ["time_s", "entity_id", "event", "from_state", "to_state", "reason", "incident_id"]


def web(faults=(), actions=(), timing=None, fleet=None, instances: int = 2, duration: str = "10m",
        desired: int = 2) -> dict:
    return scenario(instances=instances, task_definitions=[task_definition("web")],
                    services=[service("web", "web", desired)], faults=list(faults), actions=list(actions),
                    timing=timing, fleet=fleet, warmStart=True, duration=duration)


def fail_i1(**extra) -> dict:
    return {"type": "instanceFailure", "name": "boom", "at": [100], "select": {"instanceIds": [I1]}, **extra}


def after(events, t: float, entity: str | None = None, columns=STATE) -> list[tuple]:
    return [r for r in rows(events, entity=entity, columns=columns) if r[0] >= t]


def on_instance(res, instance_id: str) -> list[str]:
    return res.tasks[res.tasks.instance_id == instance_id].task_id.tolist()


# --------------------------------------------------------------------------- timeline B, terminated


def test_terminated_instance_is_replaced_by_its_auto_scaling_group():
    res = run(web([fail_i1()], timing={"agentRegistration": "30s", "asgReplacementDelay": "5s"}))
    ev = res.events
    lost = on_instance(res, I1)[0]
    assert after(ev, 1, "instance") == [
        (100.0, I1, "state", "ACTIVE", "INACTIVE", "Instance terminated (fault boom)", "inc-0001"),
        # The ASG launches 5 s after the termination, in AZ a (fewest live instances: 0 against 1)...
        (105.0, I3, "state", "", "REGISTERING", f"Auto Scaling group fleet replaces {I1}", "inc-0001"),
        # ...and the agent registers 30 s later.
        (135.0, I3, "state", "REGISTERING", "ACTIVE", "", ""),
    ]
    assert after(ev, 1, "task", columns=["time_s", "entity_id", "event", "from_state", "to_state"]) == [
        (100.0, lost, "state", "RUNNING", "STOPPED"),
        (100.0, lost, "host_released", "STOPPED", "STOPPED"),
        # The service reacts 10 s after the loss, while I3 is still booting: on I2.
        *lifecycle("t-000003", 110.0),
        # Steady at 152 (healthy 40 s after RUNNING) with both tasks in AZ b while I3 in AZ a
        # is empty: AZ rebalancing (4.7) starts a task on I3 at the next reaction (162) and
        # stops one of I2's once it is healthy (204, reaction 214).
        *lifecycle("t-000004", 162.0),
        *stop_rows("t-000001", 214.0),
    ]
    assert on_instance(res, I2)[-1] == "t-000003"
    assert on_instance(res, I3) == ["t-000004"]
    assert [(r.time_s, r.kind) for r in res.service_events.itertuples()][-5:] == [
        (152.0, "rebalancing_started"), (162.0, "started"), (214.0, "stopped"),
        (214.0, "rebalancing_completed"), (217.0, "steady_state")]
    inst = res.instances.set_index("instance_id")
    assert (inst.loc[I3, "fleet"], inst.loc[I3, "az"], inst.loc[I3, "launched_at_s"],
            inst.loc[I3, "registered_at_s"]) == ("fleet", "a", 105.0, 135.0)
    assert invariants.all_invariants(res) == []


def test_detection_delay_postpones_inactive_and_the_task_stops():
    res = run(web([fail_i1()], timing={"instanceLossDetectionDelay": "20s", "agentRegistration": "30s"}))
    ev = res.events
    lost = on_instance(res, I1)[0]
    assert after(ev, 1, "instance") == [
        # The ASG hears of the termination at once; ECS 20 s later.
        (100.0, I3, "state", "", "REGISTERING", f"Auto Scaling group fleet replaces {I1}", "inc-0001"),
        (120.0, I1, "state", "ACTIVE", "INACTIVE", "Instance terminated (fault boom)", "inc-0001"),
        (130.0, I3, "state", "REGISTERING", "ACTIVE", "", ""),
    ]
    assert after(ev, 1, "task") [:2] == [
        (120.0, lost, "state", "RUNNING", "STOPPED", HOST_TERMINATED, "inc-0001"),
        (120.0, lost, "host_released", "STOPPED", "STOPPED", "", "inc-0001"),
    ]
    # Replacement 10 s after ECS learned; I3 (AZ a, no web task) is ACTIVE by then: the AZ spread picks it.
    assert res.tasks.set_index("task_id").loc["t-000003", ["created_at_s", "instance_id"]].tolist() == [130.0, I3]
    assert invariants.all_invariants(res) == []


def test_without_replacement_the_fleet_shrinks():
    res = run(web([fail_i1()], fleet={"replaceLostInstances": False}))
    assert len(res.instances) == 2
    assert res.tasks.set_index("task_id").loc["t-000003", "instance_id"] == I2


def test_operator_termination_is_replaced_too_but_is_no_incident():
    res = run(web(actions=[{"type": "terminateInstance", "name": "kill", "at": 100,
                            "select": {"instanceIds": [I1]}}]))
    assert after(res.events, 1, "instance")[1][:6] == (
        100.0, I3, "state", "", "REGISTERING", f"Auto Scaling group fleet replaces {I1}")
    assert set(res.events.incident_id) == {""}


def test_replacements_draw_from_their_own_streams():
    """The original instances' draws do not shift when replacements join."""
    faults = [{"type": "instanceFailure", "name": "wear", "timeToFailure": {"type": "exponential", "mean": "5m"}}]
    kept = run(web(faults, duration="30m"))
    alone = run(web(faults, duration="30m", fleet={"replaceLostInstances": False}))
    first = {r.instance_id: r.terminated_at_s for r in alone.instances.itertuples()}
    both = kept.instances.set_index("instance_id").terminated_at_s
    assert {i: both[i] for i in (I1, I2)} == first


# --------------------------------------------------------------------------- timeline B, impaired


def test_impaired_host_keeps_its_tasks_running_and_unreplaced():
    """ecs-reference 12: without a load balancer ECS never replaces the tasks of an impaired host.

    This is ECS's documented behaviour (containers-roadmap#2040), not a bug to fix.
    """
    res = run(web([fail_i1(mode="impaired")], timing={"agentHeartbeatTimeout": "90s"}))
    ev = res.events
    lost = on_instance(res, I1)[0]
    assert after(ev, 1) == [
        (100.0, "inc-0001", "fault", "", "instance_failure", "boom", "inc-0001"),
        (190.0, I1, "agent", "CONNECTED", "DISCONNECTED", "Agent heartbeat timed out (host impaired)", "inc-0001"),
    ]
    tasks = res.tasks.set_index("task_id")
    assert len(tasks) == 2 and tasks.loc[lost, "last_status"] == "RUNNING"
    assert len(res.instances) == 2  # the ASG does not know either
    assert invariants.all_invariants(res) == []


def test_impaired_host_before_the_timeout_takes_tasks_that_never_start_and_after_it_none():
    res = run(scenario(
        instances=1, task_definitions=[task_definition("job")], warmStart=True,
        faults=[fail_i1(mode="impaired", terminateAfter="5m")],
        actions=[{"type": "runTask", "name": "early", "at": 150, "taskDefinition": "job"},
                 {"type": "runTask", "name": "late", "at": 200, "taskDefinition": "job"}],
        timing={"agentHeartbeatTimeout": "90s", "agentRegistration": "60s"},
    ))
    ev = res.events
    # At 150 ECS still sees a connected agent: the task is placed and stays PROVISIONING.
    assert task_rows(ev, entity_id="t-000001") == [
        (150.0, "t-000001", "state", "", "PROVISIONING"),
        (400.0, "t-000001", "state", "PROVISIONING", "STOPPED"),
    ]
    # At 200 the agent is disconnected: nothing can be placed (AGENT).
    failures = res.placement_failures
    assert failures[["time_s", "reason", "closest_instance_id"]].values.tolist() == [[200.0, "AGENT", I1]]
    assert after(ev, 1, "instance") == [
        (190.0, I1, "agent", "CONNECTED", "DISCONNECTED", "Agent heartbeat timed out (host impaired)", "inc-0001"),
        (400.0, I1, "state", "ACTIVE", "INACTIVE", "Impaired instance terminated (fault boom)", "inc-0001"),
        (400.0, I2, "state", "", "REGISTERING", f"Auto Scaling group fleet replaces {I1}", "inc-0001"),
        (460.0, I2, "state", "REGISTERING", "ACTIVE", "", ""),
    ]


def test_impaired_host_terminated_later_is_replaced_then():
    res = run(web([fail_i1(mode="impaired", terminateAfter="5m")], timing={"agentHeartbeatTimeout": "90s"}))
    ev = res.events
    lost = on_instance(res, I1)[0]
    assert after(ev, 101, "task", columns=["time_s", "entity_id", "event", "from_state", "to_state"]) == [
        (400.0, lost, "state", "RUNNING", "STOPPED"),
        (400.0, lost, "host_released", "STOPPED", "STOPPED"),
        *lifecycle("t-000003", 410.0),
    ]
    stop = ev[(ev.entity_id == lost) & (ev.to_state == "STOPPED")].iloc[0]
    assert (stop.reason, stop.stop_code, stop.incident_id) == (HOST_TERMINATED, "", "inc-0001")
    assert res.tasks.set_index("task_id").loc["t-000003", "instance_id"] == I3
    assert invariants.all_invariants(res) == []


# --------------------------------------------------------------------------- AZ outage


def az_outage(**extra) -> dict:
    return {"type": "azOutage", "name": "a-down", "availabilityZone": "a", "start": 100, "end": 500, **extra}


def test_az_outage_terminated_launches_replacements_in_the_surviving_az():
    res = run(web([az_outage()], instances=4, desired=4, fleet={"azRebalance": False}))
    launched = res.instances.set_index("instance_id")
    assert launched.loc[[I5, I6], "az"].tolist() == ["b", "b"]
    assert launched.loc[[I1, I3], "terminated_at_s"].tolist() == [100.0, 100.0]
    running = res.tasks[res.tasks.last_status == "RUNNING"]
    assert len(running) == 4 and set(running.az) == {"b"}
    assert invariants.all_invariants(res) == []


def test_after_the_outage_the_fleet_and_the_service_rebalance_their_azs():
    """At the end (500) the ASG launches 2 instances in AZ a (registered at once: agentRegistration
    0) and terminates the 2 instances of AZ b with the fewest tasks, I5 and I6; ECS then moves 2
    tasks back to AZ a (4.7): started at the next reaction (510), the old ones stopped when the new
    ones are healthy (RUNNING 512 + 40, reaction 562)."""
    res = run(web([az_outage()], instances=4, desired=4))
    launched = res.instances.set_index("instance_id")
    assert launched.loc[[I7, I8], ["az", "launched_at_s"]].values.tolist() == [["a", 500.0], ["a", 500.0]]
    assert launched.terminated_at_s.tolist()[4:6] == [500.0, 500.0]
    assert set(launched.termination_reason.iloc[4:6]) == {"Auto Scaling group fleet rebalances its Availability Zones"}
    running = res.tasks[res.tasks.last_status == "RUNNING"]
    assert sorted(running.az) == ["a", "a", "b", "b"]
    kinds = [(r.time_s, r.kind) for r in res.service_events.itertuples() if r.time_s >= 500]
    assert kinds == [(500.0, "rebalancing_started"), (510.0, "started"), (562.0, "stopped"),
                     (562.0, "rebalancing_completed"), (565.0, "steady_state")]
    assert invariants.all_invariants(res) == []


def test_az_outage_accepting_new_instances_replaces_in_place():
    res = run(web([az_outage(refuseNewInstances=False)], instances=4, desired=4))
    assert res.instances.set_index("instance_id").loc[[I5, I6], "az"].tolist() == ["a", "a"]


def test_az_outage_of_the_only_az_waits_for_its_end():
    res = run(web([az_outage()], instances=2, desired=2, fleet={"availabilityZones": ["a"]}))
    launched = res.instances.set_index("instance_id")
    assert launched.loc[[I3, I4], "launched_at_s"].tolist() == [500.0, 500.0]
    assert (res.tasks.last_status == "RUNNING").sum() == 2


def test_az_outage_impaired_keeps_the_tasks_of_the_az():
    res = run(web([az_outage(mode="impaired")], instances=4, desired=4, timing={"agentHeartbeatTimeout": "60s"}))
    ev = res.events
    agent = ev[(ev.entity == "instance") & (ev.event == "agent")]
    assert agent[["time_s", "entity_id", "to_state"]].values.tolist() == [[160.0, I1, "DISCONNECTED"],
                                                                          [160.0, I3, "DISCONNECTED"]]
    assert len(res.instances) == 4 and len(res.tasks) == 4
    assert (res.tasks.last_status == "RUNNING").all()


# --------------------------------------------------------------------------- agent disconnect


def test_agent_disconnect_holds_stops_until_it_reconnects():
    res = run(web([{"type": "agentDisconnect", "name": "cut", "at": [100], "select": {"instanceIds": [I1]},
                    "duration": "60s"}],
                  actions=[{"type": "updateService", "name": "zero", "at": 120, "service": "web",
                            "desiredCount": 0}]))
    ev = res.events
    lost = on_instance(res, I1)[0]
    assert after(ev, 1, "instance") == [
        (100.0, I1, "agent", "CONNECTED", "DISCONNECTED", "Agent disconnected", "inc-0001"),
        (160.0, I1, "agent", "DISCONNECTED", "CONNECTED", "Agent reconnected", "inc-0001"),
    ]
    assert rows(ev, entity="fault", columns=["time_s", "event", "to_state"]) == [
        (100.0, "fault", "agent_disconnect"), (160.0, "fault_end", "agent_disconnect")]
    # The scale-in decided at 130 stops the connected task at once, the other when its agent is back.
    stops = ev[(ev.entity == "task") & (ev.to_state == "DEACTIVATING")]
    assert dict(zip(stops.entity_id, stops.time_s, strict=True)) == {on_instance(res, I2)[0]: 130.0, lost: 160.0}
    assert res.tasks.set_index("task_id").loc[lost, "stopped_at_s"] == 163.0
    assert invariants.all_invariants(res) == []


def test_agent_disconnect_places_nothing_and_replaces_nothing():
    res = run(scenario(
        instances=1, task_definitions=[task_definition("web")], services=[service("web", "web", 1)],
        warmStart=True,
        faults=[{"type": "agentDisconnect", "name": "cut", "at": [100], "duration": "5m"},
                {"type": "taskCrash", "name": "crash", "service": "web", "meanTimeToCrash": "1s", "start": 150,
                 "end": 300}],
        actions=[{"type": "runTask", "name": "job", "at": 200, "taskDefinition": "web"}],
    ))
    # The essential container exits while the agent is away: ECS hears of it at the reconnect (400).
    t1 = task_rows(res.events, entity_id="t-000001")
    assert t1[-1][:2] == (400.0, "t-000001") and t1[-1][4] == "STOPPED"
    assert res.placement_failures[["time_s", "reason"]].values.tolist() == [[200.0, "AGENT"]]
    assert res.tasks.set_index("task_id").loc["t-000002", "created_at_s"] == 410.0


# --------------------------------------------------------------------------- stochastic failures


def test_each_instance_draws_its_time_to_failure_from_its_own_stream():
    mean = 600.0
    res = run(web([{"type": "instanceFailure", "name": "wear",
                    "timeToFailure": {"type": "exponential", "mean": mean}}], duration="20m"), seed=7)
    dist = Exponential(mean=mean)
    inst = res.instances.set_index("instance_id")
    for index, instance_id in enumerate(inst.index):
        expected = inst.loc[instance_id, "registered_at_s"] + dist.sample(stream(7, 0, "fault", f"wear/fleet/{index}"))
        got = inst.loc[instance_id, "terminated_at_s"]
        if expected < 1200.0:
            assert got == pytest.approx(expected)
        else:
            assert got != got  # NaN: still alive at the end
    assert len(inst) > 2  # replacements launched, registered and armed


def test_select_restricts_stochastic_failures():
    sc = web([{"type": "instanceFailure", "name": "wear", "timeToFailure": "1m",
               "select": {"availabilityZone": "b"}}], duration="5m", fleet={"replaceLostInstances": False})
    inst = run(sc).instances.set_index("instance_id")
    assert inst.terminated_at_s.isna().tolist() == [True, False]
    assert inst.loc[I2, "terminated_at_s"] == 60.0


def test_weibull_distribution():
    dist = Weibull(shape=2.0, scale=100.0)
    sample = dist.sample_n(stream(1, 0, "test", "weibull"), 200_000)
    assert sample.mean() == pytest.approx(dist.mean, rel=0.01)
    assert dist.mean == pytest.approx(100.0 * 0.886227, rel=1e-5)


@pytest.mark.parametrize(("fault", "message"), [
    ({"type": "instanceFailure"}, "give at (failure times) or timeToFailure"),
    ({"type": "instanceFailure", "at": [10], "timeToFailure": "1h"}, "give at (failure times) or timeToFailure"),
    ({"type": "instanceFailure", "timeToFailure": "1h", "select": {"count": 2}}, "count and fraction do not apply"),
    ({"type": "instanceFailure", "at": [10], "terminateAfter": "5m"}, "terminateAfter: applies to mode: impaired"),
    ({"type": "azOutage", "availabilityZone": "a", "start": 1, "mode": "gone"}, "mode"),
    ({"type": "agentDisconnect", "at": [10], "select": {"fleet": "nope"}}, "unknown fleet 'nope'"),
])
def test_fault_validation(fault, message):
    with pytest.raises(ScenarioError) as error:
        ecssim.load_scenario_dict(web([fault]))
    assert message in str(error.value)


# --------------------------------------------------------------------------- property


@st.composite
def fault_sequences(draw):
    faults = []
    for k in range(draw(st.integers(1, 4))):
        at = draw(st.integers(10, 1200))
        kind = draw(st.sampled_from(["instanceFailure", "azOutage", "agentDisconnect", "impairedThenTerminated"]))
        if kind == "instanceFailure":
            faults.append({"type": kind, "name": f"f{k}", "at": [at], "select": {"count": draw(st.integers(1, 2))}})
        elif kind == "impairedThenTerminated":
            faults.append({"type": "instanceFailure", "name": f"f{k}", "at": [at], "mode": "impaired",
                           "terminateAfter": draw(st.integers(60, 600))})
        elif kind == "azOutage":
            faults.append({"type": kind, "name": f"f{k}", "availabilityZone": draw(st.sampled_from("ab")),
                           "start": at, "end": at + draw(st.integers(1, 900))})
        else:
            faults.append({"type": kind, "name": f"f{k}", "at": [at], "duration": draw(st.integers(1, 900))})
    return faults


@settings(max_examples=15, deadline=None)
@given(faults=fault_sequences(), seed=st.integers(0, 2**16),
       detection=st.sampled_from([0, 15]), registration=st.sampled_from([0, 45]))
def test_every_service_returns_to_its_desired_count(faults, seed, detection, registration):
    """With spare capacity and no fault after 40 min, every service is back at desiredCount."""
    note(repr(faults))
    sc = scenario(
        instances=6, task_definitions=[task_definition("web", host_port=80), task_definition("api")],
        services=[service("web", "web", 3), service("api", "api", 5)], faults=faults, warmStart=True,
        duration="90m",
        timing={"instanceLossDetectionDelay": detection, "agentRegistration": registration,
                "agentHeartbeatTimeout": {"type": "uniform", "low": 60, "high": 120},
                "placementRetry": {"initial": "30s", "max": "2m"}},
    )
    res = run(sc, seed=seed)
    assert invariants.all_invariants(res) == []
    running = res.tasks[res.tasks.last_status == "RUNNING"].groupby("service").size().to_dict()
    assert running == {"web": 3, "api": 5}
