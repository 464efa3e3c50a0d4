"""EC2 Spot interruptions, with and without ECS_ENABLE_SPOT_INSTANCE_DRAINING (ecs-reference 5.3, 9b E).

Exact timelines as in ``test_draining``: constant latencies (reaction 10 s, start 2 s,
stop 3 s), a warm start of three spot instances, ``web`` on I3 (t-000001) and I2
(t-000002), I1 spare; replacements register 30 s after launch. The notice is 120 s.
"""

from __future__ import annotations

import pytest

import ecssim
from ecssim.scenario.errors import ScenarioError

from . import invariants
from .helpers import I1, I3, lifecycle, rows, run, scenario, service, stop_rows, task_definition

I4 = "i-00000000000000004"
STATE = ["time_s", "entity_id", "event", "from_state", "to_state", "reason", "incident_id"]
SPOT = {"type": "spotInterruption", "name": "spot", "at": [100], "select": {"instanceIds": [I3]}}


def web(*, draining: bool, faults=(SPOT,), max_percent: int = 200, min_percent: int = 100, **extra) -> dict:
    config = {"maximumPercent": max_percent, "minimumHealthyPercent": min_percent}
    return scenario(instances=3, task_definitions=[task_definition("web")],
                    services=[service("web", "web", 2, deploymentConfiguration=config)], faults=list(faults),
                    fleet={"market": "spot", "spotInstanceDraining": draining}, warmStart=True,
                    timing={"agentRegistration": "30s"}, **extra)


def after(res, t: float, entity: str, columns=STATE) -> list[tuple]:
    return [r for r in rows(res.events, entity=entity, columns=columns) if r[0] >= t]


def test_without_draining_tasks_die_with_the_host_after_the_notice():
    """Notice at 100, nothing visible to ECS until EC2 terminates the host at 220: the task
    stops with the host-terminated reason and an empty stopCode; replacement at 230 on I1."""
    res = run(web(draining=False))
    reason = "Spot instance interrupted (fault spot)"
    assert after(res, 1, "instance") == [
        (220.0, I3, "state", "ACTIVE", "INACTIVE", reason, "inc-0001"),
        (220.0, I4, "state", "", "REGISTERING", f"Auto Scaling group fleet replaces {I3}", "inc-0001"),
        (250.0, I4, "state", "REGISTERING", "ACTIVE", "", ""),
    ]
    assert after(res, 1, "task", columns=STATE[:5]) == [
        (220.0, "t-000001", "state", "RUNNING", "STOPPED"),
        (220.0, "t-000001", "host_released", "STOPPED", "STOPPED"),
        *lifecycle("t-000003", 230.0),
    ]
    lost = res.tasks.set_index("task_id").loc["t-000001"]
    assert (lost.stop_code, lost.stopped_reason) == ("", f"Host EC2 (instance {I3}) terminated.")
    recovery = res.recovery.iloc[0]
    assert (recovery.kind, recovery.fault_time_s, recovery.time_to_desired_s) == ("spot_interruption", 100.0, 132.0)
    assert invariants.all_invariants(res) == []


def test_with_draining_the_task_is_replaced_before_the_host_dies():
    """DRAINING at the notice (100): replacement started first (110, RUNNING 112, healthy 152),
    the old task stopped at 162 (STOPPED 165); the host dies empty at 220; no shortfall."""
    res = run(web(draining=True))
    assert after(res, 1, "instance")[:2] == [
        (100.0, I3, "state", "ACTIVE", "DRAINING", "Spot instance interruption notice (fault spot)", "inc-0001"),
        (220.0, I3, "state", "DRAINING", "INACTIVE", "Spot instance interrupted (fault spot)", "inc-0001"),
    ]
    assert after(res, 1, "task", columns=STATE[:5]) == [*lifecycle("t-000003", 110.0),
                                                        *stop_rows("t-000001", 162.0)]
    assert res.tasks.set_index("task_id").loc["t-000003", "instance_id"] == I1
    recovery = res.recovery.iloc[0]
    assert (recovery.time_to_desired_s, recovery.shortfall_task_s) == (65.0, 0.0)
    assert invariants.all_invariants(res) == []


def test_draining_cannot_help_when_the_bounds_forbid_movement():
    """min 100 / max 100: the drain blocks (event at 110) and the task dies with the host at 220."""
    res = run(web(draining=True, max_percent=100))
    kinds = [(r.time_s, r.kind) for r in res.service_events.itertuples() if r.time_s > 0]
    assert kinds[:2] == [(110.0, "drain_blocked"), (230.0, "started")]
    assert res.tasks.set_index("task_id").loc["t-000001", "stopped_at_s"] == 220.0


def test_only_spot_instances_are_interrupted_and_mttr_is_named_after_the_kind():
    """Two fleets, one on-demand: a random pick among all instances hits only the spot fleet."""
    sc = web(draining=False, faults=[{"type": "spotInterruption", "name": "spot", "at": [100, 300],
                                      "select": {"count": 1}}], duration="20m")
    sc["cluster"]["fleets"].append({"name": "steady", "instanceType": "m5.large", "count": 2,
                                    "availabilityZones": ["a", "b"]})
    res = run(sc)
    lost = res.instances[res.instances.terminated_at_s.notna()]
    assert sorted(lost.terminated_at_s) == [220.0, 420.0] and set(lost.fleet) == {"fleet"}
    summary = res.summary()
    assert set(res.recovery.kind) <= {"spot_interruption"}
    assert "mttr_spot_interruption_mean_s" in summary


def test_spot_interruption_needs_a_spot_fleet():
    sc = web(draining=False)
    sc["cluster"]["fleets"][0]["market"] = "on-demand"
    with pytest.raises(ScenarioError) as error:
        ecssim.load_scenario_dict(sc)
    assert "spotInterruption needs a fleet with market: spot" in str(error.value)


def test_spot_interruption_refuses_an_on_demand_fleet():
    sc = web(draining=False, faults=[{**SPOT, "select": {"fleet": "steady"}}])
    sc["cluster"]["fleets"].append({"name": "steady", "instanceType": "m5.large", "count": 1})
    with pytest.raises(ScenarioError) as error:
        ecssim.load_scenario_dict(sc)
    assert "faults[0].select.fleet: fleet 'steady' is not a spot fleet" in str(error.value)


def test_notice_length_is_a_timing_parameter():
    sc = web(draining=False)
    sc["timing"]["spotInterruptionNotice"] = "30s"
    res = run(sc)
    assert res.tasks.set_index("task_id").loc["t-000001", "stopped_at_s"] == 130.0
