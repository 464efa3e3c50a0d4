"""Narrate: a run told as a timeline, from its tables (tests/insight/data/narrate-tiny.yaml)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pandas as pd
import pytest

import ecssim
from ecssim.analysis import load_result
from ecssim.insight.narrate import NARRATION_KINDS, narrate, narrate_lines, narration
from ecssim.insight.narrate_text import format_time
from ecssim.scenario import load_scenario

from .helpers import load, scenario, task_definition

ROOT = Path(__file__).resolve().parents[2]
TINY = Path(__file__).parent / "data" / "narrate-tiny.yaml"
I1, I2, I3 = "i-00000000000000001", "i-00000000000000002", "i-00000000000000003"
WEB_CHAIN = "spread by AZ, then binpack memory: least memory left"

# Worked out by hand from the scenario (see its header), before running it:
# - i-1 (us-east-1a) registers 4096 MiB, i-2 (us-east-1b) 3072 MiB, i-3 (us-east-1a) 2048 MiB;
#   web tasks take 1024 MiB, the batch task 512 MiB; every latency is constant.
# - 10 s (first reaction): t-1: no task yet, so the AZ spread cannot tell; binpack takes the
#   fullest, i-3 (2048 -> 1024 left). t-2: AZ b has 0 of the group, a has 1 -> i-2 (3072 -> 2048).
#   t-3: a 1, b 1 tie -> binpack over all: i-3 (1024 -> 0). t-4: a 2, b 1 -> i-2 (2048 -> 1024).
#   RUNNING 2 s later (containerStart), healthy 40 s after that: the rollout completes at 52 s.
# - 120 s: runTask binpack memory: i-1 4096, i-2 1024, i-3 0 free -> i-2 (1024 -> 512). It runs
#   60 s from 122 s and exits by itself at 182 s (no load balancer: straight to STOPPED).
# - 300 s: us-east-1b goes down: i-2 and its two web tasks are lost, not replaced (fleet).
# - 310 s: two replacements; only AZ a is left, i-3 is full -> i-1 (4096 -> 3072 -> 2048).
# - 360 s: desired 7 -> at 370 s two more fit on i-1 (1024, then 0 left), the third finds no
#   memory anywhere (RESOURCE:MEMORY); the service retries after 30 s, then 60 s (400 s, 460 s).
GOLDEN = f"""\
00:00:00 3 instances registered: {I1} (us-east-1a), {I2} (us-east-1b), {I3} (us-east-1a)
00:00:00 web: service created, desired count 4 (deployment ecs-svc/8401084237428129872 of web:1)
00:00:10 web: placed task t-000001 on {I3} ({WEB_CHAIN}, 1024 MiB)
00:00:10 web: placed task t-000002 on {I2} ({WEB_CHAIN}, 2048 MiB)
00:00:10 web: placed task t-000003 on {I3} ({WEB_CHAIN}, 0 MiB)
00:00:10 web: placed task t-000004 on {I2} ({WEB_CHAIN}, 1024 MiB)
00:00:12 web: 4 tasks RUNNING (t-000001, t-000003, t-000002, t-000004)
00:00:52 web: deployment ecs-svc/8401084237428129872 of web:1 COMPLETED
00:00:52 web: reached a steady state
00:02:00 action nightly: runTask: 1 x batch
00:02:00 standalone batch: placed task t-000005 on {I2} (binpack memory: least memory left, 512 MiB)
00:02:02 standalone batch: task t-000005 RUNNING
00:03:02 standalone batch: task t-000005 stopped (EssentialContainerExited: Essential container in task exited)
00:05:00 fault b-down (inc-0001): AZ outage of us-east-1b
00:05:00 instance {I2} (us-east-1b) terminated: 2 tasks of web stopped (Availability zone outage (fault b-down))
00:05:10 web: placed task t-000006 on {I1} ({WEB_CHAIN}, 3072 MiB)
00:05:10 web: placed task t-000007 on {I1} ({WEB_CHAIN}, 2048 MiB)
00:05:12 web: 2 tasks RUNNING (t-000006, t-000007)
00:05:52 web: reached a steady state
00:06:00 action scale-out: updateService web: desiredCount=7
00:06:00 web: desired count 4 -> 7
00:06:10 web: placed task t-000008 on {I1} ({WEB_CHAIN}, 1024 MiB)
00:06:10 web: placed task t-000009 on {I1} ({WEB_CHAIN}, 0 MiB)
00:06:10 web: unable to place a task: no instance has enough memory (RESOURCE:MEMORY)
00:06:12 web: 2 tasks RUNNING (t-000008, t-000009)
00:06:40 web: unable to place a task: no instance has enough memory (RESOURCE:MEMORY)
00:07:40 web: unable to place a task: no instance has enough memory (RESOURCE:MEMORY)"""


_EXAMPLES: dict[str, ecssim.Result] = {}


def example(name: str) -> ecssim.Result:
    """An example scenario's result (seed 1), simulated once per test session."""
    if name not in _EXAMPLES:
        _EXAMPLES[name] = ecssim.simulate(load_scenario(ROOT / "scenarios" / f"{name}.yaml"), seed=1)
    return _EXAMPLES[name]


@pytest.fixture(scope="module")
def tiny() -> ecssim.Result:
    return ecssim.simulate(load_scenario(TINY), seed=1)


def test_golden_text_of_the_tiny_scenario(tiny: ecssim.Result) -> None:
    assert narrate(tiny) == GOLDEN


def test_the_command_line_prints_the_golden_text_before_the_summary() -> None:
    from click.testing import CliRunner

    from ecssim.cli import main

    out = CliRunner().invoke(main, ["run", str(TINY), "--seed", "1", "--narrate"])
    assert out.exit_code == 0, out.output
    assert out.output.startswith(GOLDEN.rstrip("\n") + "\necssim: narrate-tiny (seed 1): 8m simulated")


def test_the_tiny_text_does_not_depend_on_the_seed(tiny: ecssim.Result) -> None:
    """Nothing in the scenario is random but the deployment id, which comes from the service's name."""
    assert narrate(ecssim.simulate(load_scenario(TINY), seed=7)) == GOLDEN


def test_a_saved_and_reloaded_result_narrates_the_same(tiny: ecssim.Result, tmp_path: Path) -> None:
    tiny.save(tmp_path / "run")
    assert narrate(load_result(tmp_path / "run")) == GOLDEN


@pytest.mark.parametrize(("seconds", "text"), [
    (0.0, "00:00:00"), (59.999, "00:00:59"), (61.5, "00:01:01"), (3600.0, "01:00:00"),
    (86_399.9, "23:59:59"), (86_400.0, "1d 00:00:00"), (93_784.0, "1d 02:03:04"), (3 * 86_400 + 5, "3d 00:00:05"),
])
def test_time_format(seconds: float, text: str) -> None:
    assert format_time(seconds) == text


def test_lines_past_a_day_carry_the_day(tiny: ecssim.Result) -> None:
    later = {name: getattr(tiny, name).assign(time_s=getattr(tiny, name)["time_s"] + 86_400 + 3_600)
             for name in ("events", "placement_failures", "service_events")}
    lines = narrate_lines(_with(tiny, **later))
    assert [line.split(" ", 2)[:2] for line in lines[:3]] == [["1d", "01:00:00"]] * 2 + [["1d", "01:00:10"]]
    assert [line.split(" ", 2)[2] for line in lines] == [line.split(" ", 1)[1] for line in GOLDEN.splitlines()]


# ---------------------------------------------------------------------- grouping
STOP_THREE = scenario(
    instances=3,
    task_definitions=[task_definition("web")],
    services=[{"serviceName": "web", "taskDefinition": "web", "desiredCount": 3}],
    actions=[{"type": "stopTask", "name": "stop-all", "at": 60, "service": "web", "count": 3}],
    duration="2m",
)


def test_identical_stops_of_one_moment_share_a_line_and_are_told_once() -> None:
    result = ecssim.simulate(load(STOP_THREE), seed=1)
    lines = narrate_lines(result, kinds=["stop"])
    # Told when decided (RUNNING -> DEACTIVATING -> STOPPING at 60 s), not again at STOPPED (63 s).
    assert lines == ["00:01:00 web: 3 tasks stopping (UserInitiated: Task stopped by user)"]
    assert set(result.tasks.loc[result.tasks["stopped_at_s"] == 63.0, "task_id"]) >= {"t-000001"}


def test_instance_rows_of_one_moment_become_one_line(tiny: ecssim.Result) -> None:
    """i-2's ACTIVE -> INACTIVE and its tasks' RUNNING -> STOPPED rows: one line, counted per service."""
    at_300 = [line for line in narration(tiny) if line.time_s == 300.0]
    assert [line.kind for line in at_300] == ["fault", "instance"]
    assert not any(line.kind == "stop" for line in narration(tiny) if line.time_s == 300.0)


def test_lines_are_in_time_then_log_order(tiny: ecssim.Result) -> None:
    told = narration(tiny)
    assert [(line.time_s, line.order) for line in told] == sorted((line.time_s, line.order) for line in told)


# ---------------------------------------------------------------------- robustness
def _with(result: ecssim.Result, **tables: pd.DataFrame) -> ecssim.Result:
    changed = copy.copy(result)
    for name, table in tables.items():
        setattr(changed, name, table)
    return changed


def _event(seq: int, time_s: float, entity: str, entity_id: str, event: str, to_state: str, **extra) -> dict:
    row = {"seq": seq, "time_s": time_s, "entity": entity, "entity_id": entity_id, "event": event,
           "from_state": "", "to_state": to_state, "reason": "", "stop_code": "", "instance_id": "", "az": "",
           "service": "", "group": "", "task_definition": "", "incident_id": "", "value": float("nan")}
    row.update(extra)
    return row


def test_unknown_rows_get_a_generic_line_and_never_crash(tiny: ecssim.Result) -> None:
    start = int(tiny.events["seq"].max()) + 1
    extra = pd.DataFrame([
        _event(start, 470.0, "gizmo", "g-1", "wobble", "WOBBLING", reason="because"),
        _event(start + 1, 470.0, "task", "t-000001", "teleport", "ELSEWHERE", service="web", task_definition="web:1"),
        _event(start + 2, 470.0, "fault", "inc-0009", "fault", "meteor_strike", reason="rock", az="us-east-1a"),
        _event(start + 3, 470.0, "instance", I1, "mood", "GRUMPY"),
        _event(start + 4, 470.0, "deployment", "ecs-svc/1", "canary", "HALF", service="web", task_definition="web:1"),
    ]).astype(tiny.events.dtypes.to_dict())
    events = pd.concat([tiny.events, extra], ignore_index=True)
    messages = pd.concat([tiny.service_events, pd.DataFrame(
        [{"time_s": 470.0, "service": "web", "kind": "weird", "message": "service web has done something odd."}]
    ).astype(tiny.service_events.dtypes.to_dict())], ignore_index=True)
    failures = pd.concat([tiny.placement_failures, pd.DataFrame([{
        "failure_id": "pf-000099", "time_s": 470.0, "service": "web", "group": "service:web",
        "task_definition": "web:1", "started_by": "service", "reason": "RESOURCE:QUANTUM", "closest_instance_id": I1,
    }]).astype(tiny.placement_failures.dtypes.to_dict())], ignore_index=True)
    lines = narrate_lines(_with(tiny, events=events, service_events=messages, placement_failures=failures))
    assert lines[-7:] == [
        "00:07:50 gizmo g-1: wobble - -> WOBBLING (because)",
        "00:07:50 task t-000001: teleport - -> ELSEWHERE",
        "00:07:50 fault rock (inc-0009): meteor strike of us-east-1a",
        f"00:07:50 instance {I1}: mood - -> GRUMPY",
        "00:07:50 web: deployment ecs-svc/1 of web:1 canary - -> HALF",
        "00:07:50 web: unable to place a task: RESOURCE:QUANTUM",
        "00:07:50 web: done something odd",
    ]


def test_a_steady_state_without_a_change_since_the_last_one_is_not_told(tiny: ecssim.Result) -> None:
    repeat = pd.DataFrame([{"time_s": 60.0, "service": "web", "kind": "steady_state",
                            "message": "service web has reached a steady state."}])
    messages = pd.concat([tiny.service_events, repeat.astype(tiny.service_events.dtypes.to_dict())])
    messages = messages.sort_values("time_s", kind="stable", ignore_index=True)
    assert narrate(_with(tiny, service_events=messages)) == GOLDEN


def test_an_empty_run_narrates_to_nothing(tiny: ecssim.Result) -> None:
    empty = {name: table.iloc[0:0] for name, table in tiny.tables().items()}
    assert narrate(_with(tiny, **empty)) == ""


# ---------------------------------------------------------------------- filters
def test_service_filter_keeps_the_cluster_context(tiny: ecssim.Result) -> None:
    lines = narrate_lines(tiny, services=["web"])
    assert not any("standalone" in line for line in lines)
    assert any("fault b-down" in line for line in lines) and any("terminated" in line for line in lines)
    assert narrate_lines(tiny, services=[""], kinds=["placement", "running", "stop"]) == [
        line for line in GOLDEN.splitlines() if "standalone batch" in line]


def test_kind_filter(tiny: ecssim.Result) -> None:
    assert narrate_lines(tiny, kinds=["fault", "placement_failure"]) == [
        line for line in GOLDEN.splitlines() if " fault b-down (" in line or "unable to place" in line]
    assert narrate_lines(tiny, kinds=[]) == []
    with pytest.raises(ValueError, match="unknown narration kind nonsense; valid: instance, fault"):
        narrate_lines(tiny, kinds=["fault", "nonsense"])
    assert set(line.kind for line in narration(tiny)) <= set(NARRATION_KINDS)


# ---------------------------------------------------------------------- placement rationale
def test_rationale_figures_agree_with_explain_on_the_demo() -> None:
    """binpack's memory left and the AZ spread's count against ``explain`` (a re-simulation)."""
    result = example("demo")
    tasks = result.tasks.set_index("task_id")
    pattern = re.compile(r"placed task (t-\d+) on (i-\w+) \(spread by AZ, then binpack memory: "
                         r"least memory left, (\d+) MiB\)")
    placed = [m.groups() for line in narrate_lines(result, services=["web"], kinds=["placement"])
              if (m := pattern.search(line))]
    assert len(placed) >= 12
    for task_id, instance_id, left in placed[::3]:
        frame = result.explain(task_id).set_index("instance_id")
        assert int(left) == frame.loc[instance_id, "memory_free_mib"] - tasks.loc[task_id, "memory_mib"]


def test_spread_counts_agree_with_explain() -> None:
    """Default strategy (AZ spread, then instance spread): the figure is the group's tasks on the instance."""
    result = example("teaching-3-instances")
    pattern = re.compile(r"placed task (t-\d+) on (i-\w+) \(spread by AZ, then spread by instance: "
                         r"fewest tasks of the group on the instance: (\d+)\)")
    placed = [m.groups() for line in narrate_lines(result, kinds=["placement"]) if (m := pattern.search(line))]
    assert len(placed) == len(result.tasks)
    for task_id, instance_id, count in placed:
        frame = result.explain(task_id).set_index("instance_id")
        assert int(count) == frame.loc[instance_id, "group_tasks"]


# ---------------------------------------------------------------------- every example scenario
@pytest.mark.parametrize("name", sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml")))
def test_every_example_scenario_narrates(name: str) -> None:
    """Each example narrates over its own duration (how fast: benchmarks/pictures.py, not a unit test)."""
    result = example(name)
    lines = narrate_lines(result)
    assert lines
    assert all(re.match(r"^(\d+d )?\d\d:\d\d:\d\d \S", line) for line in lines)
    assert not [line for line in narration(result) if line.kind == "other"]  # every row kind is known
