"""The streaming summary (summary-only mode) against ``summarize`` of the full tables.

Each shipped scenario runs once per seed with its log's lists teed into
:class:`OnlineSummary` objects, so the summary sees the rows in the simulator's real append
order; the same run's ``Result`` gives the reference, over the scenario's window and over a
later one (the warm-up cut). Hand-made logs pin what the scenarios do not reach
(impairments ended each way, a moving recovery start, the billing minimum, Fargate billing
without a pull) with values worked out by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import ecssim.model.world as world_module
from ecssim.analysis.online import (
    LEFT_OUT_METRIC_NAMES,
    ONLINE_METRIC_NAMES,
    SUMMED_METRIC_NAMES,
    OnlineSummary,
)
from ecssim.analysis.online_recovery import SettledRecoveries, incident_id, recovery_columns
from ecssim.analysis.result import Result, build_result
from ecssim.analysis.summary import summarize
from ecssim.model.eventlog import EventLog
from ecssim.scenario import load_scenario_dict
from ecssim.scenario.loading import read_scenario_data
from ecssim.simulation import Simulation

SCENARIOS = sorted(
    p for p in (Path(__file__).parents[2] / "scenarios").glob("*.yaml") if p.name != "docker-validation.yaml"
)
LISTS = ("events", "tasks", "instances", "services", "placement_failures", "service_events")
_METHOD = {"events": "event", "placement_failures": "placement_failure", "service_events": "service_event",
           "tasks": "task", "instances": "instance", "services": "service"}


class _Tee(list):
    """A log list that also hands each appended row to the online summaries."""

    def __init__(self, consumers: list) -> None:
        super().__init__()
        self.consumers = consumers

    def append(self, row: tuple) -> None:
        list.append(self, row)
        for consume in self.consumers:
            consume(row)


def _run_teed(monkeypatch: pytest.MonkeyPatch, scenario, seed: int, summaries: list[OnlineSummary]):  # noqa: ANN001, ANN202
    """Run ``scenario`` to its end with every log list teed into ``summaries``; return the simulation."""

    def teed_log() -> EventLog:
        log = EventLog()
        for name in LISTS:
            setattr(log, name, _Tee([getattr(s, _METHOD[name]) for s in summaries]))
        return log

    monkeypatch.setattr(world_module, "EventLog", teed_log)
    sim = Simulation(scenario, seed).run_until()
    monkeypatch.undo()
    return sim


def _load(path: Path):  # noqa: ANN202
    return load_scenario_dict(read_scenario_data(path), source=str(path), base_dir=path.parent)


def _reference(result: Result, measure_from_s: float) -> dict:
    return summarize(events=result.events, tasks=result.tasks, instances=result.instances,
                     services=result.services, deployments=result.deployments, capacity=result.capacity,
                     recovery=result.recovery, placement_failures=result.placement_failures,
                     measure_from_s=measure_from_s, duration_s=result.duration_s, demand=result.demand,
                     cost=result.cost if result.scenario.get("prices") else None)


def _assert_same(online: dict, reference: dict, label: str) -> None:
    assert list(online) == [name for name in reference if name not in LEFT_OUT_METRIC_NAMES]
    assert tuple(online)[: len(ONLINE_METRIC_NAMES)] == ONLINE_METRIC_NAMES
    for name, value in online.items():
        expected = reference[name]
        if isinstance(expected, float) and math.isnan(expected):
            assert isinstance(value, float) and math.isnan(value), f"{label} {name}: {value} != nan"
        elif name in SUMMED_METRIC_NAMES:
            assert value == pytest.approx(expected, rel=1e-9, abs=0), f"{label} {name}"
        else:
            assert value == expected, f"{label} {name}: online {value!r} != summarize {expected!r}"
            assert type(value) is type(expected), f"{label} {name}: {type(value)} vs {type(expected)}"


@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_online_summary_equals_summarize(monkeypatch: pytest.MonkeyPatch, path: Path, seed: int) -> None:
    scenario = _load(path)
    duration = float(scenario.duration)
    later = duration / 3
    prices = scenario.model_dump(mode="json", by_alias=True).get("prices")  # what Result reads
    summaries = [OnlineSummary(float(scenario.measure_from), duration, prices),
                 OnlineSummary(later, duration, prices)]
    sim = _run_teed(monkeypatch, scenario, seed, summaries)
    result = sim.result()
    assert result.duration_s == duration
    _assert_same(summaries[0].result(), result.summary(), f"{path.stem}/{seed}")
    _assert_same(summaries[1].result(), _reference(result, later), f"{path.stem}/{seed} from {later}")


def test_state_holds_only_live_entities(monkeypatch: pytest.MonkeyPatch) -> None:
    """After a long run the summary keeps no stopped task and no terminated instance."""
    path = Path(__file__).parents[2] / "scenarios" / "alibaba-batch-slice.yaml"
    scenario = _load(path)
    summary = OnlineSummary(0.0, float(scenario.duration))
    result = _run_teed(monkeypatch, scenario, 3, [summary]).result()
    summary.result()
    tasks = result.tasks
    assert len(tasks) > 3000 and (tasks["last_status"] == "STOPPED").sum() > 2500
    live = set(tasks.loc[tasks["last_status"] != "STOPPED", "task_id"])
    assert set(summary.tasks) == live
    placed = {tid for ids in summary.on_host.values() for tid in ids}
    assert placed == set(tasks.loc[tasks["task_id"].isin(live) & (tasks["instance_id"] != ""), "task_id"])
    alive = set(result.instances.loc[result.instances["terminated_at_s"].isna(), "instance_id"])
    assert set(summary.instances) == alive


def test_settled_rows_are_compacted(monkeypatch: pytest.MonkeyPatch) -> None:
    """An incident's recovery rows shrink to numbers once no task carries it and its services
    are back (crashes, and the instance failure's row too): the live dicts keep only the rows
    still open, and the metrics equal ``summarize``'s."""
    path = Path(__file__).parents[2] / "scenarios" / "demo.yaml"
    scenario = _load(path)
    summary = OnlineSummary(float(scenario.measure_from), float(scenario.duration))
    result = _run_teed(monkeypatch, scenario, 1, [summary]).result()
    online = summary.result()
    recovery = result.recovery
    crashes = recovery[recovery["kind"].isin(["task_crash", "oom_kill"])]
    kept = list(summary.settled.rows())
    kept_keys = {(incident, service) for _t, incident, service, _k, _r in kept}
    assert len(crashes) >= 5 and len(kept) >= len(crashes) - 2  # the last may still be open at the end
    assert kept_keys <= set(zip(recovery["incident_id"], recovery["service"], strict=True))
    assert {kind for _t, _i, _s, kind, _r in kept} > {"task_crash"}  # not only one-task incidents
    live = set(summary.faults) | {incident for incident, _service in summary.recovery}
    assert not {incident for _t, incident, _s, _k, _r in kept} & live
    assert online["incidents"] == result.summary()["incidents"]
    _assert_same(online, result.summary(), "demo/1")


def test_a_compacted_row_comes_back_if_its_incident_returns(logs) -> None:  # noqa: ANN001
    """crash-twice: inc-0001's row is compacted at 45 (its task gone, web back to 2), then
    another task's stop row carries inc-0001 at 60: the row is restored and measured again."""
    log = _crash_twice(logs.LogBuilder())
    summary = OnlineSummary(0.0, 600.0)
    for name in ("services", "instances", "tasks", "placement_failures"):
        for row in getattr(log, name):
            getattr(summary, _METHOD[name])(row)
    before = [row for row in log.events if row[0] < 60]
    for row in before:
        summary.event(row)
    # a row at 50 that changes nothing (web's desired count again) closes the instant 45
    summary.event((50.0, "service", "web", "desired_count", "", "", "", "", "", "", "web", "", "", "", 2.0))
    assert [r[1] for r in summary.settled.rows()] == ["inc-0001"] and not summary.recovery
    for row in log.events[len(before):]:
        summary.event(row)
    online = summary.result()
    # restored at 60, compacted again once web is back at 80: one row, 50 s after the fault at 30
    assert list(summary.settled.rows()) == [(30.0, "inc-0001", "web", "task_crash", 80.0)]
    assert online["recovery_time_mean_s"] == 50.0 and online["incidents"] == 1


def test_sink_stands_in_for_the_event_log(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run writing only to ``OnlineSummary.sink()`` gives the same metrics as the full log."""
    path = Path(__file__).parents[2] / "scenarios" / "instance-loss-n-plus-1.yaml"
    scenario = _load(path)
    duration = float(scenario.duration)
    expected = OnlineSummary(float(scenario.measure_from), duration)
    full = _run_teed(monkeypatch, scenario, 5, [expected])
    summary = OnlineSummary(float(scenario.measure_from), duration)
    monkeypatch.setattr(world_module, "EventLog", summary.sink)
    sim = Simulation(scenario, 5, check_invariants=False).run_until()  # the checker reads rows back
    assert len(sim.world.log.events) == len(full.world.log.events)
    assert len(sim.world.log.placement_failures) == len(full.world.log.placement_failures)
    _assert_same(summary.result(), expected.result(), "sink")


def test_rows_out_of_time_order_are_refused() -> None:
    summary = OnlineSummary(0.0, 10.0)
    row = (5.0, "service", "web", "state", "", "ACTIVE", "", "", "", "", "web", "", "", "", math.nan)
    summary.event(row)
    with pytest.raises(ValueError, match="time order"):
        summary.event((4.0, *row[1:]))


def _replay(log: EventLog, summary: OnlineSummary) -> dict:
    """Registries first (each entity is registered before its first row), then the rows in order."""
    for name in ("services", "instances", "tasks", "placement_failures", "events"):
        consume = getattr(summary, _METHOD[name])
        for row in getattr(log, name):
            consume(row)
    return summary.result()


def _lb_verdict(b, unhealthy_at: float) -> EventLog:  # noqa: ANN001
    """web (desired 2) on i-a, whose agent disconnects at 160 (inc-0001); the load balancer finds
    both tasks UNHEALTHY at ``unhealthy_at``; replacements RUNNING on i-b at 230 and 235."""
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


def _impaired(b, *, reconnect_at: float | None = None, terminate_at: float | None = None) -> EventLog:  # noqa: ANN001
    """web (desired 2) on i-a and api (desired 1) on i-b; i-a's agent disconnects at 100."""
    b.instance("i-a", "az1", active=0)
    b.instance("i-b", "az2", active=0)
    b.service("web", 2)
    b.service("api", 1)
    killed = {"killed": terminate_at, "incident": "inc-0001"} if terminate_at else {}
    for tid in ("t-000001", "t-000002"):
        b.task(tid, "i-a", service="web", created=0, running=10, healthy=50, **killed)
    b.task("t-000009", "i-b", service="api", created=0, running=10, healthy=50)
    b.fault(100, "inc-0001", "agent_disconnect", instance_id="i-a")
    b.agent(100, "i-a", "DISCONNECTED", incident="inc-0001")
    if reconnect_at is not None:
        b.agent(reconnect_at, "i-a", "CONNECTED")
    if terminate_at is not None:
        b.terminate(terminate_at, "i-a", incident="inc-0001")
        b.task("t-000003", "i-b", service="web", created=terminate_at + 10, running=terminate_at + 20)
        b.task("t-000004", "i-b", service="web", created=terminate_at + 15, running=terminate_at + 30)
    return b.build()


def _crash_twice(b) -> EventLog:  # noqa: ANN001
    """One crash incident stops web's task at 30, web is back at 45, then it stops another at 60:
    ``since`` moves to 60 and the recovery (RUNNING again at 80) is measured from there."""
    b.instance("i-a", "az1", active=0)
    b.service("web", 2)
    b.task("t-000001", "i-a", service="web", created=0, running=10, stopping=30, stopped=31, incident="inc-0001")
    b.task("t-000002", "i-a", service="web", created=0, running=10, stopping=60, stopped=61, incident="inc-0001")
    b.fault(30, "inc-0001", "task_crash", service="web")
    b.task("t-000003", "i-a", service="web", created=40, running=45)
    b.task("t-000004", "i-a", service="web", created=62, running=80)
    return b.build()


HAND_LOGS = {
    "unhealthy-before-disconnect": lambda b: _lb_verdict(b, 130),  # nothing impaired: no row
    "unhealthy-after-disconnect": lambda b: _lb_verdict(b, 220),  # recovered at the verdict, 220
    "reconnect": lambda b: _impaired(b, reconnect_at=250),  # recovered at the reconnect, 250
    "never-back": lambda b: _impaired(b),  # still impaired at the end: unrecovered
    "terminated": lambda b: _impaired(b, terminate_at=300),  # lost at 300, back at 330
    "crash-twice": _crash_twice,
}
HAND_EXPECTED = {  # (recovery_time_mean_s, unrecovered_incidents) worked out from the docstrings
    "unhealthy-before-disconnect": (math.nan, 0),
    "unhealthy-after-disconnect": (120.0, 0),
    "reconnect": (150.0, 0),
    "never-back": (math.nan, 1),
    "terminated": (230.0, 0),
    "crash-twice": (50.0, 0),
}


@pytest.mark.parametrize("name", list(HAND_LOGS))
def test_hand_made_logs(logs, name: str) -> None:  # noqa: ANN001
    """Impairments (ended by a stop, a reconnect, a load balancer verdict, or never) and a moving
    ``since``, on hand-made logs: the online figures equal ``summarize`` and the hand values."""
    log = HAND_LOGS[name](logs.LogBuilder())
    result = build_result(log, scenario={}, seed=0, replication=0, duration_s=600.0)
    online = _replay(log, OnlineSummary(0.0, 600.0))
    _assert_same(online, result.summary(), name)
    mean, unrecovered = HAND_EXPECTED[name]
    assert online["unrecovered_incidents"] == unrecovered
    assert online["recovery_time_mean_s"] == pytest.approx(mean, nan_ok=True)


PRICES = {"instances": {"m5.large": {"onDemand": 0.1}}, "fargate": {"vcpuHour": 0.04, "gbHour": 0.004},
          "minimumBilledSeconds": 60}


def _billing_log(b) -> EventLog:  # noqa: ANN001
    """i-a runs to the end (100 s); i-b ends at 30 (billed the 60 s minimum); Fargate task t-000002
    (0.5 vCPU, 1 GB) is PENDING at 6 with no pull, RUNNING 8 to 20 (billed 60 s from 6); Fargate
    task t-000003 stops in PROVISIONING (never billed); EC2 task t-000001 is RUNNING from 12."""
    b.instance("i-a", "az1", active=10)
    b.instance("i-b", "az1", active=10)
    b.task("t-000001", "i-a", created=10, running=12)
    b.terminate(30, "i-b")
    fields = {"az": "az1", "group": "family:web", "task_definition": "web:1"}
    for tid, created, states in (("t-000002", 5, ((5, "PROVISIONING"), (6, "PENDING"), (8, "RUNNING"),
                                                  (20, "STOPPED"))),
                                 ("t-000003", 7, ((7, "PROVISIONING"), (9, "STOPPED")))):
        b.log.tasks.append((tid, "web:1", "web", "family:web", "", "workload:batch", "FARGATE", "awsvpc",
                            512, 1024, "", float(created), "FARGATE"))
        before = ""
        for time_s, state in states:
            b.row(time_s, "task", tid, "state", from_state=before, to_state=state, **fields)
            before = state
    return b.build()


@pytest.mark.parametrize("measure_from_s", [0.0, 25.0])
def test_costs_follow_the_billing_rules(logs, measure_from_s: float) -> None:  # noqa: ANN001
    log = _billing_log(logs.LogBuilder())
    result = build_result(log, scenario={"prices": PRICES}, seed=0, replication=0, duration_s=100.0,
                          measure_from_s=measure_from_s)
    online = _replay(log, OnlineSummary(measure_from_s, 100.0, PRICES))
    _assert_same(online, result.summary(), f"billing from {measure_from_s}")
    if measure_from_s == 0.0:  # i-a 100 s + i-b 60 s at 0.1 $/h; t-000002 60 s at 0.024 $/h
        assert online["cost_instances_usd"] == pytest.approx(0.1 * 160 / 3600, rel=1e-12)
        assert online["cost_fargate_usd"] == pytest.approx(0.024 * 60 / 3600, rel=1e-12)
        # RUNNING: t-000001 88 s + t-000002 12 s = 100 task-seconds
        assert online["cost_per_task_hour_usd"] == pytest.approx((16 + 1.44) / 100, rel=1e-12)


def test_recovery_columns_keep_the_table_order() -> None:
    """Settled and live rows come out in the ``recovery`` table's order (fault time, NaN last, then
    incident id as a string, ``inc-10000`` before ``inc-9999``, then service), ties included."""
    rng = np.random.default_rng(5)
    settled = SettledRecoveries()
    rows = []
    for number in rng.choice(20_000, size=400, replace=False).tolist():
        fault_time = float(rng.choice([0.0, -0.0, 5.0, 7.5, 7.5]))
        for service in rng.choice(["web", "api", "db"], size=int(rng.integers(1, 4)), replace=False).tolist():
            recovered = fault_time + float(rng.integers(1, 100))
            settled.add(fault_time, incident_id(number), service, "instance_failure", recovered, True)
            rows.append((fault_time, incident_id(number), service, "instance_failure", recovered))
    live = [(7.5, "manual-1", "web", "az_outage", math.nan), (math.nan, "inc-0003", "api", "", math.nan),
            (math.nan, "inc-0002", "api", "", 9.0), (5.0, "inc-19999", "web", "task_crash", 12.0)]
    rows += live
    rows.sort(key=lambda r: (math.isnan(r[0]), r[0] if r[0] == r[0] else 0.0, r[1], r[2]))
    columns = recovery_columns(settled, live)
    names = columns.names
    assert [names[code] for code in columns.service] == [r[2] for r in rows]
    assert [names[code] for code in columns.kind] == [r[3] for r in rows]
    np.testing.assert_array_equal(columns.fault_time, [r[0] for r in rows])
    np.testing.assert_array_equal(columns.recovered_at, [r[4] for r in rows])
