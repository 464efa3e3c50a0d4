"""Task-level faults: failed starts and ECS's start-failure throttle (ecs-reference 1.3, 4.3, 9b D).

Exact timelines use the constant latencies of ``helpers.CONSTANT_TIMING`` (no image pull, 2 s
container start, service reaction 10 s after each change) and a throttle of 30 s, doubling,
capped at 2 min, so that every expected row follows by hand from the rule: a task that stops
with ``TaskFailedToStart`` holds the service's next launch until failure + delay; the delay
starts at ``initial``, is multiplied per further failed wave up to ``max``, and resets when a
task of the service reaches RUNNING.
"""

from __future__ import annotations

import pytest

import ecssim
from ecssim.scenario.errors import ScenarioError

from . import invariants
from .helpers import lifecycle, rows, run, scenario, service, task_definition, task_rows

THROTTLE = {"initial": "30s", "multiplier": 2, "max": "2m"}
UNABLE = "service web is unable to consistently start tasks successfully."


def web(faults=(), desired: int = 1, duration: str = "10m", throttle=None, actions=()) -> dict:
    """One service ``web`` on two instances, with the test throttle."""
    return scenario(task_definitions=[task_definition("web")], services=[service("web", "web", desired)],
                    faults=list(faults), actions=list(actions), duration=duration,
                    timing={"startFailureThrottle": throttle or THROTTLE})


def bad_image(**extra) -> dict:
    return {"type": "failedStart", "name": "bad", "probability": 1, **extra}


def failed_start_rows(task: str, t: float) -> list[tuple]:
    """A bridge task placed at ``t`` whose image pull fails at once (imagePull 0)."""
    return [
        *lifecycle(task, t)[:4],  # placed, PENDING, resources taken, pull started
        (t, task, "state", "PENDING", "STOPPING"),
        (t, task, "state", "STOPPING", "STOPPED"),
        (t, task, "host_released", "STOPPED", "STOPPED"),
    ]


def by_task(events) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in task_rows(events):
        out.setdefault(row[1], []).append(row)
    return out


# --------------------------------------------------------------------------- failed starts


def test_failed_start_goes_pending_stopping_stopped_with_ecs_codes():
    res = run(web([bad_image(service="web", end="5m")], duration="6m"))
    tasks = by_task(res.events)
    assert tasks["t-000001"] == failed_start_rows("t-000001", 10.0)
    first = res.tasks.set_index("task_id").loc["t-000001"]
    assert first.stop_code == "TaskFailedToStart"
    assert first.stopped_reason.startswith("CannotPullContainerError: pull image manifest has been retried")
    assert "repo/web:1" in first.stopped_reason
    assert first.started_at_s != first.started_at_s  # NaN: never RUNNING
    assert first.incident_id == ""
    # No incident, no fault row: a start that fails takes no running capacity away.
    assert not (res.events.entity == "fault").any()
    assert res.recovery.empty
    assert invariants.all_invariants(res) == []


def test_failed_start_by_task_definition_revision_and_family():
    for reference in ("web", "web:1"):
        res = run(web([bad_image(taskDefinition=reference, end="15s")], duration="1m"))
        tasks = by_task(res.events)
        assert tasks["t-000001"] == failed_start_rows("t-000001", 10.0)
        # Throttled 30 s from the failure; the fault is over by then.
        assert tasks["t-000002"] == lifecycle("t-000002", 40.0)
    sc = web([bad_image(taskDefinition="api", end="15s")], duration="1m")
    sc["taskDefinitions"].append(task_definition("api"))
    res = run(sc)  # another task definition's fault leaves web alone
    assert by_task(res.events)["t-000001"] == lifecycle("t-000001", 10.0)


def test_failed_start_probability_is_one_draw_per_start_and_deterministic():
    sc = web([bad_image(service="web", probability=0.5)], desired=10, duration="2h",
             throttle={"initial": "1s", "multiplier": 1, "max": "1s"})
    sc["faults"].append({"type": "taskCrash", "name": "crash", "service": "web", "meanTimeToCrash": "2m"})
    a, b = run(sc, seed=3), run(sc, seed=3)
    assert a.tasks.equals(b.tasks)
    failed = (a.tasks.stop_code == "TaskFailedToStart").sum()
    starts = len(a.tasks)
    assert starts > 300
    assert abs(failed / starts - 0.5) < 0.08
    assert invariants.all_invariants(a) == []


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"type": "failedStart", "probability": 0.5}, "give service or taskDefinition, exactly one"),
        ({"type": "failedStart", "probability": 0.5, "service": "web", "taskDefinition": "web"},
         "give service or taskDefinition, exactly one"),
        ({"type": "failedStart", "probability": 0.5, "service": "api"}, "unknown service 'api'"),
        ({"type": "failedStart", "probability": 0.5, "taskDefinition": "api"}, "unknown task definition 'api'"),
        ({"type": "failedStart", "probability": 1.5, "service": "web"}, "must be <= 1.0, got 1.5"),
    ],
)
def test_failed_start_validation(fault, message):
    with pytest.raises(ScenarioError) as error:
        ecssim.load_scenario_dict(web([fault]))
    assert message in str(error.value)


# --------------------------------------------------------------------------- throttle


def test_throttle_grows_to_its_cap_and_resets_when_a_task_runs():
    # Failures at 10 (delay 30), 40 (60), 100 (120), 220 (240 capped at 120); the fault ends
    # at 300, so the launch at 340 runs: RUNNING at 342, the throttle resets; healthy (steady) 40 s later.
    res = run(web([bad_image(service="web", end="5m")], duration="10m"))
    tasks = by_task(res.events)
    for task, t in (("t-000001", 10.0), ("t-000002", 40.0), ("t-000003", 100.0), ("t-000004", 220.0)):
        assert tasks[task] == failed_start_rows(task, t)
    assert tasks["t-000005"] == lifecycle("t-000005", 340.0)
    assert len(tasks) == 5
    events = rows(res.service_events, columns=["time_s", "kind", "message"])
    assert events == [
        (10.0, "started", "service web has started 1 tasks: task t-000001."),
        (10.0, "unable_to_start", UNABLE),
        (40.0, "started", "service web has started 1 tasks: task t-000002."),
        (100.0, "started", "service web has started 1 tasks: task t-000003."),
        (220.0, "started", "service web has started 1 tasks: task t-000004."),
        (340.0, "started", "service web has started 1 tasks: task t-000005."),
        (382.0, "steady_state", "service web has reached a steady state."),
    ]


def test_throttle_counts_a_wave_once():
    # Three tasks fail together at 10: one step (30 s), all three relaunched at 40; they fail
    # again: the second step (60 s), relaunched at 100, when the fault is over.
    res = run(web([bad_image(service="web", end="90s")], desired=3, duration="5m"))
    created = res.tasks.created_at_s.tolist()
    assert created == [10.0] * 3 + [40.0] * 3 + [100.0] * 3
    assert (res.tasks.started_at_s.notna()).sum() == 3


def test_throttle_not_applied_after_a_task_that_reached_running():
    # Throttled once (failure at 10, relaunch at 40, RUNNING at 42); a crash of a RUNNING task
    # later is replaced after the plain 10 s reaction, and a stop by the user likewise.
    sc = web([bad_image(service="web", end="15s"),
              {"type": "taskCrash", "name": "crash", "service": "web", "meanTimeToCrash": "10s",
               "start": "60s", "end": "2m"}],
             actions=[{"type": "stopTask", "at": "200s", "service": "web"}], duration="10m")
    res = run(sc)
    crashes = res.events[res.events.entity == "fault"].time_s.tolist()
    assert len(crashes) >= 1 and all(60.0 <= t < 120.0 for t in crashes)
    created = [round(t, 6) for t in res.tasks.created_at_s]
    assert created == [10.0, 40.0, *(round(t + 10.0, 6) for t in crashes), 210.0]
    assert res.service_events.kind.tolist().count("unable_to_start") == 1


def test_throttle_event_written_again_after_steady_state():
    sc = web([bad_image(service="web", end="15s"), bad_image(name="again", service="web", start="100s",
                                                              end="115s")],
             actions=[{"type": "stopTask", "at": "100s", "service": "web"}], duration="10m")
    res = run(sc)
    unable = res.service_events[res.service_events.kind == "unable_to_start"].time_s.tolist()
    # The first episode at 10; the replacement of the task stopped at 100 fails at 110: a new episode.
    assert unable == [10.0, 110.0]
    assert by_task(res.events)["t-000004"] == lifecycle("t-000004", 140.0)


def test_throttle_defaults_cap_at_27_minutes():
    sc = web([bad_image(service="web")], duration="3h")
    sc["timing"].pop("startFailureThrottle")
    timing = ecssim.load_scenario_dict(sc).timing.start_failure_throttle
    assert (timing.initial, timing.multiplier, timing.max) == (30.0, 2.0, 1620.0)
    created = run(sc).tasks.created_at_s.to_numpy()
    gaps = [round(float(b - a), 6) for a, b in zip(created, created[1:], strict=False)]
    assert gaps[:8] == [30.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1620.0, 1620.0]


def test_recovery_row_stalled_by_the_throttle():
    # A crash between 60 and 120 s; its replacements fail to start until 200 s: the incident's
    # recovery row says why it was slow.
    sc = web([{"type": "taskCrash", "name": "crash", "service": "web", "meanTimeToCrash": "10s",
               "start": "60s", "end": "2m"},
              bad_image(service="web", start="60s", end="200s")], duration="15m")
    res = run(sc)
    recovery = res.recovery
    assert len(recovery) == 1
    row = recovery.iloc[0]
    assert row.stall_reason == "throttled"
    assert row.recovered_at_s > 200.0
    assert invariants.all_invariants(res) == []


# --------------------------------------------------------------------------- OOM kills

OOM = "OutOfMemoryError: Container killed due to memory usage"


def leak(**extra) -> dict:
    return {"type": "memoryUse", "name": "leak", "service": "web", "usage": "1 GiB", "ramp": "10m", **extra}


def test_oom_kill_when_use_crosses_the_hard_limit():
    # The container's hard limit is 512 MiB; use grows to 1 GiB over 10 min, so it crosses
    # the limit 300 s after RUNNING (12): killed at 312, replaced 10 s later, RUNNING at 324.
    res = run(web([leak()], duration="10m"))
    tasks = by_task(res.events)
    exit_at = [(312.0, "t-000001", "state", a, b) for a, b in (
        ("RUNNING", "DEACTIVATING"), ("DEACTIVATING", "STOPPING"), ("STOPPING", "DEPROVISIONING"),
        ("DEPROVISIONING", "STOPPED"))] + [(312.0, "t-000001", "host_released", "STOPPED", "STOPPED")]
    assert tasks["t-000001"] == lifecycle("t-000001", 10.0) + exit_at
    assert tasks["t-000002"] == lifecycle("t-000002", 322.0)
    first = res.tasks.set_index("task_id").loc["t-000001"]
    assert (first.stop_code, first.stopped_reason, first.incident_id) == ("EssentialContainerExited", OOM, "inc-0001")
    faults = rows(res.events, entity="fault", columns=["time_s", "entity_id", "event", "to_state"])
    assert faults == [(312.0, "inc-0001", "fault", "oom_kill")]
    row = res.recovery.iloc[0]
    assert (row.kind, row.service, row.time_to_desired_s) == ("oom_kill", "web", 12.0)
    assert "mttr_oom_kill_mean_s" in res.summary()
    assert invariants.all_invariants(res) == []


def test_oom_use_within_the_limit_or_other_task_definition_never_kills():
    for fault in (leak(usage="500 MiB"), leak(service=None, taskDefinition="api")):
        sc = web([fault], duration="1h")
        sc["taskDefinitions"].append(task_definition("api"))
        res = run(sc)
        assert len(res.tasks) == 1 and not (res.events.entity == "fault").any()


def test_oom_distribution_in_sizes_and_task_level_limit():
    td = task_definition("web")
    td["memory"] = "1 GB"  # task-level hard limit: 1024 MiB
    del td["containerDefinitions"][0]["memory"]
    td["containerDefinitions"][0]["memoryReservation"] = 512
    sc = web([leak(usage={"type": "uniform", "low": "1.5 GiB", "high": "2 GiB"}, ramp="1h")], duration="2h")
    sc["taskDefinitions"] = [td]
    res = run(sc)
    kills = res.events[res.events.entity == "fault"]
    assert len(kills) >= 2 and set(kills.to_state) == {"oom_kill"}
    # Each kill comes between 1024/2048 and 1024/1536 of the ramp after its task's RUNNING.
    started = res.tasks.set_index("task_id").started_at_s
    for task_id, t in zip(res.tasks.task_id, res.tasks.stopped_at_s, strict=False):
        if t == t:
            assert 1800.0 <= t - started[task_id] <= 2400.0 + 1e-6


def test_oom_needs_a_hard_limit():
    td = task_definition("web")
    del td["containerDefinitions"][0]["memory"]
    td["containerDefinitions"][0]["memoryReservation"] = 512
    sc = web([leak()])
    sc["taskDefinitions"] = [td]
    with pytest.raises(ScenarioError) as error:
        ecssim.load_scenario_dict(sc)
    assert "task definition web:1 has no hard memory limit" in str(error.value)
