"""The recovery columns of the failures issue: detection, placement, health, shortfall, stalls.

Every expected value is worked out by hand in the comments from the hand-made log.
"""

from __future__ import annotations

import math

import pytest

from ecssim.analysis import (
    SCHEMAS,
    events_table,
    placement_failures_table,
    recovery_table,
    service_counts,
    tasks_table,
)


def recovery_of(log, **options):
    events = events_table(log)
    failures = placement_failures_table(log)
    return recovery_table(events, tasks_table(log, events), placement_failures=failures,
                          **options)


def only_row(log, **options):
    recovery = recovery_of(log, **options)
    assert recovery.dtypes.astype(str).to_dict() == SCHEMAS["recovery"]
    assert len(recovery) == 1
    return recovery.iloc[0]


def test_outage_columns(outage):
    row = only_row(outage, end_s=200)
    assert row["time_to_detection_s"] == 0.0  # i-a INACTIVE at the fault (100)
    assert row["time_to_first_placement_s"] == 20.0  # t-000003 created at 120
    assert row["time_to_first_replacement_s"] == 30.0  # and RUNNING at 130
    assert row["time_to_desired_s"] == 40.0  # two RUNNING again at 140
    # health rows to HEALTHY: t-000003 at 170, t-000004 at 180
    assert row["time_to_healthy_s"] == 80.0
    # running 2 until the losses at 105, 0 until 130, 1 until 140: 2*0 + 2*25 + 1*10
    assert row["shortfall_task_s"] == 60.0
    assert (row["stall_reason"], row["tasks_impaired"]) == ("", 0)


def test_healthy_follows_the_health_rows(logs):
    b = logs.LogBuilder()
    logs.outage(b)
    b.health(175, "t-000003", "UNHEALTHY")  # a target fails its checks...
    b.health(230, "t-000003", "HEALTHY")  # ...and passes again
    row = only_row(b.build(), end_s=300)
    assert row["time_to_desired_s"] == 40.0  # RUNNING is unchanged
    assert row["time_to_healthy_s"] == 130.0  # both healthy again only at 230
    with pytest.raises(TypeError, match="healthy_after_s"):
        recovery_of(logs.outage(logs.LogBuilder()), healthy_after_s=0)


def terminated_late(b, *, replace: bool = True):
    """web (desired 2) on i-a; the host dies at 100 and ECS learns at 160 (terminated mode)."""
    b.instance("i-a", "az1", active=0)
    b.instance("i-b", "az2", active=0)
    b.service("web", 2)
    for tid in ("t-000001", "t-000002"):
        b.task(tid, "i-a", service="web", created=0, running=10, killed=160, healthy=50,
               incident="inc-0001", reason="Host EC2 (instance i-a) terminated.")
    b.fault(100, "inc-0001", "instance_failure", instance_id="i-a")
    b.terminate(160, "i-a", incident="inc-0001")
    if replace:
        b.task("t-000003", "i-b", service="web", created=170, running=175, healthy=215)
        b.task("t-000004", "i-b", service="web", created=171, running=180, healthy=220)
    return b.build()


def test_detection_of_a_terminated_instance(builder):
    row = only_row(terminated_late(builder), end_s=400)
    assert row["time_to_detection_s"] == 60.0  # the stop rows and INACTIVE at 160
    assert row["time_to_first_placement_s"] == 70.0
    assert row["time_to_desired_s"] == 80.0  # back to 2 RUNNING at 180
    assert row["time_to_healthy_s"] == 120.0  # t-000004 healthy at 220
    # ECS shows both RUNNING until 160: shortfall only from 160, 2 tasks for 15 s, 1 for 5 s
    assert row["shortfall_task_s"] == 35.0
    assert row["stall_reason"] == ""


def test_not_recovered_shortfall_runs_to_the_end(builder):
    row = only_row(terminated_late(builder, replace=False), end_s=400)
    assert math.isnan(row["time_to_desired_s"]) and math.isnan(row["time_to_healthy_s"])
    assert math.isnan(row["time_to_first_placement_s"])
    assert row["shortfall_task_s"] == 2 * 240.0  # 2 tasks short from 160 to 400
    assert row["stall_reason"] == "not_recovered_by_end_of_run"


def test_no_capacity(logs):
    b = logs.LogBuilder()
    b.placement_failure(165, "web")  # inside [100, 180]
    row = only_row(terminated_late(b), end_s=400)
    assert row["stall_reason"] == "no_capacity"
    for when, service in ((90, "web"), (181, "web"), (170, "api")):
        b = logs.LogBuilder()
        b.placement_failure(when, service)  # before the fault, after recovery, other service
        assert only_row(terminated_late(b), end_s=400)["stall_reason"] == ""
    b = logs.LogBuilder()
    b.placement_failure(300, "web")  # unrecovered: the window runs to the end
    assert only_row(terminated_late(b, replace=False), end_s=400)["stall_reason"] == "no_capacity"


def impaired_host(b, *, terminate_at: float | None = None, reconnect_at: float | None = None,
                  kind: str = "instance_failure", disconnect_at: float = 160):
    """web (desired 2) on i-a and api (desired 1) on i-b; i-a's host stops working at 100."""
    b.instance("i-a", "az1", active=0)
    b.instance("i-b", "az2", active=0)
    b.service("web", 2)
    b.service("api", 1)
    killed = {"killed": terminate_at, "incident": "inc-0001"} if terminate_at else {}
    for tid in ("t-000001", "t-000002"):
        b.task(tid, "i-a", service="web", created=0, running=10, healthy=50, **killed)
    b.task("t-000009", "i-b", service="api", created=0, running=10, healthy=50)
    b.fault(100, "inc-0001", kind, instance_id="i-a")
    b.agent(disconnect_at, "i-a", "DISCONNECTED", incident="inc-0001")
    if reconnect_at is not None:
        b.agent(reconnect_at, "i-a", "CONNECTED")
    if terminate_at is not None:
        b.terminate(terminate_at, "i-a", incident="inc-0001")
        b.task("t-000003", "i-b", service="web", created=terminate_at + 10,
               running=terminate_at + 20, healthy=terminate_at + 60)
        b.task("t-000004", "i-b", service="web", created=terminate_at + 15,
               running=terminate_at + 30, healthy=terminate_at + 70)
    return b.build()


def test_impaired_tasks_are_not_replaced(builder):
    row = only_row(impaired_host(builder), end_s=400)  # api, on a sound host, has no row
    assert (row["service"], row["tasks_lost"], row["tasks_impaired"]) == ("web", 0, 2)
    assert row["time_to_detection_s"] == 60.0  # the agent's DISCONNECTED row at 160
    assert row["stall_reason"] == "impaired_not_replaced"
    assert row["not_recovered_reason"] == "not_recovered_by_end_of_run"
    assert math.isnan(row["time_to_desired_s"]) and math.isnan(row["time_to_healthy_s"])
    assert math.isnan(row["time_to_first_placement_s"])
    assert row["shortfall_task_s"] == 0.0  # ECS still shows 2 RUNNING: no shortfall in its view


def test_impaired_host_finally_terminated(builder):
    row = only_row(impaired_host(builder, terminate_at=300), end_s=500)
    assert (row["tasks_lost"], row["tasks_impaired"]) == (2, 2)
    assert row["time_to_detection_s"] == 60.0  # disconnect (160) before the stops (300)
    assert row["time_to_first_placement_s"] == 210.0  # created at 310
    assert row["time_to_first_replacement_s"] == 220.0  # RUNNING at 320
    assert row["time_to_desired_s"] == 230.0  # second replacement RUNNING at 330
    assert row["time_to_healthy_s"] == 270.0  # healthy at 370
    assert row["shortfall_task_s"] == 2 * 20 + 1 * 10  # [300, 320) two short, [320, 330) one
    assert row["stall_reason"] == "impaired_not_replaced"


def test_agent_reconnect_ends_the_impairment(builder):
    row = only_row(impaired_host(builder, reconnect_at=250, kind="agent_disconnect",
                                 disconnect_at=100), end_s=400)
    assert row["kind"] == "agent_disconnect" and row["tasks_impaired"] == 2
    assert row["time_to_detection_s"] == 0.0
    assert row["recovered_at_s"] == 250.0  # the tasks ran all along; the agent is back
    # ECS's view: the impaired tasks stayed RUNNING and healthy all along
    assert row["time_to_desired_s"] == 150.0 == row["time_to_healthy_s"]
    assert row["shortfall_task_s"] == 0.0
    assert row["stall_reason"] == "impaired_not_replaced"


def lb_verdict(b, unhealthy_at: float):
    """impaired_host, web behind a load balancer: both tasks on i-a UNHEALTHY at ``unhealthy_at``;
    replacements on i-b RUNNING at 230 and 235, healthy 150 s later."""
    b.instance("i-a", "az1", active=0)
    b.instance("i-b", "az2", active=0)
    b.service("web", 2)
    for tid in ("t-000001", "t-000002"):
        b.task(tid, "i-a", service="web", created=0, running=10, healthy=50)
    b.fault(100, "inc-0001", "instance_failure", instance_id="i-a")
    b.agent(160, "i-a", "DISCONNECTED", incident="inc-0001")
    for tid in ("t-000001", "t-000002"):
        b.health(unhealthy_at, tid, "UNHEALTHY", "Task failed ELB health checks in (target-group tg)")
    b.task("t-000003", "i-b", service="web", created=225, running=230, healthy=380)
    b.task("t-000004", "i-b", service="web", created=225, running=235, healthy=385)
    return b.build()


def test_impairment_ends_at_the_load_balancer_verdict(builder):
    """The tasks stay RUNNING on the hung host (ECS's view) but were found UNHEALTHY at 220 and
    replaced: the row recovers from the verdict on, and nothing is reported as unreplaced."""
    row = only_row(lb_verdict(builder, 220), end_s=600)
    assert row["tasks_impaired"] == 2
    assert row["recovered_at_s"] == 220.0  # ECS's RUNNING count never fell below 2
    assert row["time_to_healthy_s"] == 285.0  # both replacements healthy at 385
    assert row["stall_reason"] == ""


def test_tasks_found_unhealthy_before_the_disconnect_are_not_impaired(logs):
    """The verdict (130) came before ECS saw the agent disconnect (160): nothing is impaired."""
    rows = recovery_of(lb_verdict(logs.LogBuilder(), 130), end_s=600)
    assert rows.empty  # no stop row and no impaired task: the incident cost the service nothing in ECS's view


def test_impairment_outranks_no_capacity(logs):
    b = logs.LogBuilder()
    b.placement_failure(200, "web")
    assert only_row(impaired_host(b), end_s=400)["stall_reason"] == "impaired_not_replaced"


def test_task_stopped_before_healthy_is_never_healthy(builder):
    builder.instance("i-a", "az1", active=0)
    builder.service("web", 1)
    builder.task("t-000001", "i-a", service="web", created=0, running=10, stopping=30,
                 stopped=31, incident="inc-0001")  # no health row: never healthy
    builder.fault(30, "inc-0001", "task_crash", service="web")
    builder.task("t-000002", "i-a", service="web", created=40, running=45, healthy=85)
    log = builder.build()
    counts = service_counts(events_table(log))
    assert counts[["time_s", "running", "healthy"]].values.tolist() == [
        [0, 0, 0], [10, 1, 0], [30, 0, 0], [40, 0, 0], [45, 1, 0], [85, 1, 1]]
    row = only_row(log, end_s=200)
    assert row["time_to_desired_s"] == 15.0 and row["time_to_healthy_s"] == 55.0


def test_circuit_breaker(logs):
    """A failed rollout of web inside [fault, recovered_at_s] (100 to 180) stalls recovery."""
    b = logs.LogBuilder()
    b.deployment("ecs-svc/1", "web", 0, completed=12)
    b.deployment("ecs-svc/2", "web", 120, failed=170, failed_tasks=3,
                 reason="tasks failed to start")
    b.placement_failure(165, "web")  # no_capacity too, but the breaker comes first
    row = only_row(terminated_late(b), end_s=400)
    assert row["stall_reason"] == "circuit_breaker"


def test_circuit_breaker_window_and_order(logs):
    cases = [  # (service, failed at, replacements, impaired host?) -> stall reason
        ("web", 90, True, False, ""),  # before the fault
        ("web", 181, True, False, ""),  # after recovered_at_s (180)
        ("api", 150, True, False, ""),  # another service
        ("web", 350, False, False, "circuit_breaker"),  # unrecovered: window to the end
        ("web", 200, False, True, "impaired_not_replaced"),  # impairment comes first
    ]
    for service, failed, replace, impaired, expected in cases:
        b = logs.LogBuilder()
        b.deployment("ecs-svc/9", service, 50, failed=failed, reason="circuit breaker")
        log = impaired_host(b) if impaired else terminated_late(b, replace=replace)
        assert only_row(log, end_s=400)["stall_reason"] == expected, (service, failed)
