"""The ``demand`` table and its summary metrics, recomputed by hand from small runs and logs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import ecssim
from ecssim.analysis import SCHEMAS, TABLE_NAMES, load_result
from ecssim.analysis.demand import demand_metrics, demand_table

TIMING = {"imagePull": 0, "containerStart": "2s", "containerStop": "3s", "agentRegistration": 0,
          "serviceReaction": {"mode": "delay", "delay": "10s"}}
COLUMNS = ["time_s", "demand", "running_tasks", "capacity", "served", "unserved", "utilization_pct"]


def fixed_service(points: list, *, actions=(), **extra) -> dict:
    """web: 2 tasks of 1024 CPU units warm-started, no scaling; a step CPU demand curve; 5 minutes."""
    return {
        "duration": "5m", "warmStart": True, "timing": TIMING,
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.xlarge", "count": 2, "availabilityZones": ["a"]}]},
        "taskDefinitions": [{"family": "web", "containerDefinitions": [
            {"name": "main", "image": "repo/web:1", "cpu": 1024, "memory": 512}]}],
        "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 2}],
        "demand": [{"service": "web", "resource": "cpu",
                    "curve": {"type": "piecewise", "points": points, "interpolation": "step"}}],
        "actions": list(actions), **extra,
    }


def table_rows(df: pd.DataFrame) -> list[tuple]:
    return [tuple(round(float(v), 6) for v in row) for row in df[COLUMNS].itertuples(index=False)]


def test_served_and_unserved_by_hand() -> None:
    """Demand 1000, 3000 from t=100, 500 from t=200, against 2 x 1024 units; one task is
    stopped at t=150 (its replacement runs at 150 + 10 + 2 = 162).

    0: 1000 of 2048 served (48.83%); 100: 2048 of 3000 served, 952 unserved; 150: 1024 of
    3000, 1976 unserved; 162: back to 2048, 952 unserved; 200: 500 served (24.41%).
    """
    res = ecssim.simulate(ecssim.load_scenario_dict(fixed_service(
        [[0, 1000], [100, 3000], [200, 500]],
        actions=[{"type": "stopTask", "name": "stop", "at": 150, "service": "web"}])), seed=1)
    assert table_rows(res.demand) == [
        (0.0, 1000.0, 2, 2048, 1000.0, 0.0, 48.828125),
        (100.0, 3000.0, 2, 2048, 2048.0, 952.0, 100.0),
        (150.0, 3000.0, 1, 1024, 1024.0, 1976.0, 100.0),
        (162.0, 3000.0, 2, 2048, 2048.0, 952.0, 100.0),
        (200.0, 500.0, 2, 2048, 500.0, 0.0, 24.414062),
    ]
    assert set(res.demand.service) == {"web"} and set(res.demand.resource) == {"cpu"}
    summary = res.summary()
    offered = 1000 * 100 + 3000 * 100 + 500 * 100
    unserved = 952 * 50 + 1976 * 12 + 952 * 38
    assert summary["demand_unserved_pct"] == pytest.approx(100 * unserved / offered)
    assert summary["demand_unserved_longest_s"] == pytest.approx(100.0)


def test_table_saves_and_loads(tmp_path) -> None:
    res = ecssim.simulate(ecssim.load_scenario_dict(fixed_service([[0, 1000], [100, 3000]])), seed=1)
    assert "demand" in TABLE_NAMES
    assert list(res.demand.columns) == list(SCHEMAS["demand"])
    back = load_result(res.save(tmp_path / "run"))
    pd.testing.assert_frame_equal(back.demand, res.demand)


def test_no_demand_gives_an_empty_table_and_nan_metrics() -> None:
    data = fixed_service([[0, 1]])
    del data["demand"]
    res = ecssim.simulate(ecssim.load_scenario_dict(data), seed=1)
    assert res.demand.empty and list(res.demand.columns) == list(SCHEMAS["demand"])
    summary = res.summary()
    assert math.isnan(summary["demand_unserved_pct"]) and math.isnan(summary["demand_unserved_longest_s"])


def _events(rows: list[tuple]) -> pd.DataFrame:
    """An events frame of (time, entity, id, event, to_state, service, value) rows, in order."""
    df = pd.DataFrame(rows, columns=["time_s", "entity", "entity_id", "event", "to_state", "service", "value"])
    return df.assign(seq=range(len(df)))


def test_hand_made_log_two_resources() -> None:
    """Memory demand 600 MiB against one task of 512 MiB from t=5 (none before): unserved 600
    then 88; the CPU series of the same service is kept apart."""
    events = _events([
        (0.0, "service", "api", "demand", "memory", "api", 600.0),
        (0.0, "service", "api", "demand", "cpu", "api", 100.0),
        (5.0, "task", "t-1", "state", "RUNNING", "api", math.nan),
        (50.0, "task", "t-1", "state", "STOPPED", "api", math.nan),
    ])
    tasks = pd.DataFrame({"task_id": ["t-1"], "cpu": [256], "memory_mib": [512]})
    table = demand_table(events, tasks)
    assert [(r.time_s, r.resource, r.running_tasks, r.capacity, r.unserved) for r in table.itertuples()] == [
        (0.0, "cpu", 0, 0, 100.0), (0.0, "memory", 0, 0, 600.0),
        (5.0, "cpu", 1, 256, 0.0), (5.0, "memory", 1, 512, 88.0),
        (50.0, "cpu", 0, 0, 100.0), (50.0, "memory", 0, 0, 600.0),
    ]
    metrics = demand_metrics(table, 0.0, 100.0)
    cpu_pct = 100 * (100 * 5 + 100 * 50) / (100 * 100)
    memory_pct = 100 * (600 * 5 + 88 * 45 + 600 * 50) / (600 * 100)
    assert metrics["demand_unserved_pct"] == pytest.approx(max(cpu_pct, memory_pct))
    assert metrics["demand_unserved_longest_s"] == pytest.approx(100.0)  # memory is short all along
    window = demand_metrics(table, 10.0, 40.0)
    assert window == {"demand_unserved_pct": pytest.approx(100 * 88 / 600), "demand_unserved_longest_s": 30.0}
