"""Draining a container instance (UpdateContainerInstancesState DRAINING, ecs-reference 5.3, 9b E).

Exact timelines with the constant latencies of ``helpers.CONSTANT_TIMING`` (reaction 10 s,
start 2 s, stop 3 s) and a warm start of three instances (I1, I3 in AZ ``a``, I2 in ``b``):
the 2-task service ``web`` runs t-000001 on I3 and t-000002 on I2 (seed 1), so I1 is the
spare. Each expected row follows by hand from the rules in ``ecssim/control/service.py``.
"""

from __future__ import annotations

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
)

STATE = ["time_s", "entity_id", "event", "from_state", "to_state"]


def drain(at: float = 100, ids=(I3,)) -> dict:
    return {"type": "drainInstance", "name": "drain", "at": at, "select": {"instanceIds": list(ids)}}


def web(*, max_percent: int = 200, min_percent: int = 100, actions=None, services=(), task_definitions=(),
        **extra) -> dict:
    config = {"maximumPercent": max_percent, "minimumHealthyPercent": min_percent}
    return scenario(instances=3, task_definitions=[task_definition("web"), *task_definitions],
                    services=[service("web", "web", 2, deploymentConfiguration=config), *services],
                    actions=[drain()] if actions is None else actions, warmStart=True, **extra)


def after(res, t: float, entity: str = "task") -> list[tuple]:
    return [r for r in rows(res.events, entity=entity, columns=STATE) if r[0] >= t]


def kinds(res) -> list[tuple]:
    return [(r.time_s, r.kind) for r in res.service_events.itertuples() if r.time_s > 0]


def test_start_first_replacement_then_the_drained_task_stops():
    """max 200: the replacement starts first (t=110 on the spare I1, RUNNING at 112, healthy 40 s
    later at 152: no load balancer or health check); the scheduler's reaction to that (162)
    stops the drained task, STOPPED 3 s later (min 100: it counts healthy tasks, 5.3)."""
    res = run(web())
    assert after(res, 1, "instance") == [(100.0, I3, "state", "ACTIVE", "DRAINING")]
    assert after(res, 1) == [*lifecycle("t-000003", 110.0), *stop_rows("t-000001", 162.0)]
    tasks = res.tasks.set_index("task_id")
    assert tasks.loc["t-000003", "instance_id"] == I1
    assert tasks.loc["t-000001", "stop_code"] == "ServiceSchedulerInitiated"
    assert tasks.loc["t-000001", "stopped_reason"].startswith(f"Container instance {I3} is draining (deployment ")
    assert kinds(res) == [(110.0, "started"), (162.0, "stopped"), (165.0, "steady_state")]
    assert invariants.all_invariants(res) == []


def test_stop_first_down_to_the_minimum_then_the_replacement():
    """max 100, min 50: no room to start first; one RUNNING task may go (ceil(2 x 50%) = 1):
    stopped at 110, STOPPED at 113, which frees room; the replacement starts at the next
    reaction (120; the reaction to the stop was already pending)."""
    res = run(web(max_percent=100, min_percent=50))
    assert after(res, 1) == [*stop_rows("t-000001", 110.0), *lifecycle("t-000003", 120.0)]
    assert kinds(res) == [(110.0, "stopped"), (120.0, "started"), (162.0, "steady_state")]  # healthy at 122 + 40
    assert invariants.all_invariants(res) == []


def test_min_100_max_100_blocks_and_says_so():
    """Neither bound lets a task move: the drained task keeps running, one event explains why."""
    res = run(web(max_percent=100, min_percent=100))
    assert after(res, 1) == []
    assert kinds(res) == [(110.0, "drain_blocked")]
    assert res.service_events.message.iloc[-1] == (
        "service web was unable to replace tasks on draining container instances: maximumPercent 100 leaves "
        "no room to start a replacement and minimumHealthyPercent 100 forbids stopping a task first.")


def test_min_100_waits_for_the_replacement_even_when_it_is_slow():
    """min 100, max 200 with a 30 s image pull: the drained task stops only after its replacement
    is healthy (RUNNING 142, healthy 182, reaction 192)."""
    res = run(web(timing={"imagePull": "30s"}))
    assert after(res, 1) == [*lifecycle("t-000003", 110.0, pull=30.0), *stop_rows("t-000001", 192.0)]


def test_pending_service_tasks_stop_at_once_and_standalone_tasks_stay():
    """On I1: a standalone task (t=50) and a PENDING task of ``api`` (placed at 105, pulling for
    20 s). Draining I1 at 110 stops the api task at once (before its reaction, never RUNNING);
    the standalone task keeps running; api's replacement finds no instance (I1 is its only one)."""
    only_i1 = [{"type": "memberOf", "expression": f"ec2InstanceId == {I1}"}]
    actions = [
        {"type": "runTask", "name": "job", "at": 50, "taskDefinition": "batch", "placementConstraints": only_i1},
        {"type": "updateService", "at": 95, "service": "api", "desiredCount": 1},
        drain(110, ids=(I1,)),
    ]
    api = service("api", "api", 0, placementConstraints=only_i1)
    res = run(web(actions=actions, services=[api], task_definitions=[task_definition("batch"), task_definition("api")],
                  timing={"imagePull": "20s"}))
    tasks = res.tasks.set_index("task_id")
    assert tasks.instance_id.to_dict() == {"t-000001": I3, "t-000002": I2, "t-000003": I1, "t-000004": I1}
    assert after(res, 50) == [
        *lifecycle("t-000003", 50.0, pull=20.0),  # the standalone job
        *lifecycle("t-000004", 105.0)[:4],  # api's task pulls from 105...
        # ...and is stopped at the drain (the agent's stop of a task that started no container).
        (110.0, "t-000004", "state", "PENDING", "STOPPING"),
        (110.0, "t-000004", "state", "STOPPING", "STOPPED"),
        (110.0, "t-000004", "host_released", "STOPPED", "STOPPED"),
    ]
    assert tasks.loc["t-000004", "stop_code"] == "ServiceSchedulerInitiated"
    assert pd_isnull(tasks.loc["t-000003", "stopped_at_s"])
    assert [k for _, k in kinds(res) if k != "steady_state"][-1] == "unable_to_place"
    assert invariants.all_invariants(res) == []


def pd_isnull(value) -> bool:  # noqa: ANN001
    return value != value  # NaN


def test_daemon_tasks_stop_last():
    """The DAEMON task on I3 (t-000003) stops when the last web task there is STOPPED (165, its
    replacement healthy at 152, reaction 162); the daemon's desired count drops to the 2 ACTIVE
    instances at its next reaction (175)."""
    mon = {"serviceName": "mon", "taskDefinition": "mon", "schedulingStrategy": "DAEMON"}
    res = run(web(services=[mon], task_definitions=[task_definition("mon", cpu=128, memory=128)]))
    assert res.tasks.set_index("task_id").loc[["t-000003", "t-000004"], "instance_id"].tolist() == [I3, I3]
    assert after(res, 1) == [*lifecycle("t-000006", 110.0), *stop_rows("t-000004", 162.0),
                             *stop_rows("t-000003", 165.0)]
    desired = res.events[(res.events.entity == "service") & (res.events.entity_id == "mon")
                         & (res.events.time_s > 0)]
    assert desired[["time_s", "from_state", "to_state"]].values.tolist() == [[175.0, "3", "2"]]
    assert kinds(res)[-1] == (175.0, "steady_state")
    assert invariants.all_invariants(res) == []


def test_only_active_instances_drain_and_nothing_is_placed_there():
    """Draining twice is one transition; scaling up afterwards avoids the DRAINING instance."""
    actions = [drain(100, ids=(I1,)), {**drain(150, ids=(I1,)), "name": "again"},
               {"type": "updateService", "at": 200, "service": "web", "desiredCount": 4}]
    res = run(web(actions=actions))
    assert after(res, 1, "instance") == [(100.0, I1, "state", "ACTIVE", "DRAINING")]
    new = res.tasks[res.tasks.created_at_s > 0]
    assert len(new) == 2 and I1 not in set(new.instance_id)
    assert pd_isnull(res.instances.set_index("instance_id").loc[I1, "terminated_at_s"])  # still registered
