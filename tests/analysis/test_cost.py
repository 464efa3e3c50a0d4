"""The cost table and the cost metrics: exact bills of hand-computed timelines."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import ecssim
from ecssim.analysis import SCHEMAS, TABLE_NAMES, load_result
from ecssim.analysis.cost import COST_METRIC_NAMES, cost_metrics, cost_table, running_task_seconds

M5 = 0.096  # USD per hour, made up for the tests (ecssim ships no prices)
M5_SPOT = 0.035
PRICES = {"instances": {"m5.large": {"onDemand": M5, "spot": M5_SPOT}}, "minimumBilledSeconds": 60}
FARGATE = {"vcpuHour": 0.04048, "gbHour": 0.004445, "spotVcpuHour": 0.01334, "spotGbHour": 0.00146}


def usd(hourly: float, seconds: float) -> float:
    return hourly * seconds / 3600


# --------------------------------------------------------------------------- simulated runs


def simulated(extra: dict, duration: str = "10m") -> ecssim.Result:
    """m5.large fleets, registration after exactly 30 s, no replacement of lost instances."""
    scenario = ecssim.load_scenario_dict({
        "duration": duration,
        "cluster": {"fleets": [{"name": "od", "instanceType": "m5.large", "count": 2,
                                "replaceLostInstances": False}]},
        "timing": {"agentRegistration": "30s"},
        **extra,
    })
    return ecssim.simulate(scenario, seed=3)


def test_two_instances_one_terminated_by_a_fault() -> None:
    result = simulated({
        "faults": [{"type": "instanceFailure", "at": ["5m"],
                    "select": {"instanceIds": ["i-00000000000000002"]}}],
        "prices": PRICES,
    })
    cost = result.cost
    assert list(cost.columns) == list(SCHEMAS["cost"])
    assert cost["resource_id"].tolist() == ["i-00000000000000001", "i-00000000000000002"]
    assert cost["resource_type"].tolist() == ["instance", "instance"]
    assert cost["market"].tolist() == ["on-demand", "on-demand"]
    assert cost["vcpu"].tolist() == [2.0, 2.0] and cost["memory_gb"].tolist() == [8.0, 8.0]
    # billed from launch (t=0, boot and registration included) to INACTIVE or the end
    assert cost["start_s"].tolist() == [0.0, 0.0]
    assert cost["end_s"].tolist() == [600.0, 300.0]
    assert cost["billed_s"].tolist() == [600.0, 300.0]
    assert cost["hourly_usd"].tolist() == [M5, M5]
    assert cost["cost_usd"].tolist() == pytest.approx([usd(M5, 600), usd(M5, 300)], rel=1e-12)
    summary = result.summary()
    assert summary["cost_usd"] == pytest.approx(usd(M5, 900), rel=1e-12)
    assert summary["cost_instances_usd"] == summary["cost_usd"]
    assert summary["cost_fargate_usd"] == 0.0


def test_terminate_action_with_replacement_bills_three_instances() -> None:
    result = simulated({
        "cluster": {"fleets": [{"name": "od", "instanceType": "m5.large", "count": 2}]},
        "actions": [{"type": "terminateInstance", "at": "4m",
                     "select": {"instanceIds": ["i-00000000000000001"]}}],
        "prices": PRICES,
    })
    cost = result.cost.set_index("resource_id")
    assert cost["start_s"].to_dict() == {"i-00000000000000001": 0.0, "i-00000000000000002": 0.0,
                                         "i-00000000000000003": 240.0}
    assert cost["billed_s"].to_dict() == {"i-00000000000000001": 240.0, "i-00000000000000002": 600.0,
                                          "i-00000000000000003": 360.0}
    assert result.summary()["cost_usd"] == pytest.approx(usd(M5, 1200), rel=1e-12)


def test_spot_and_on_demand_fleets_take_their_own_price() -> None:
    result = simulated({
        "cluster": {"fleets": [
            {"name": "od", "instanceType": "m5.large", "count": 1},
            {"name": "sp", "instanceType": "m5.large", "count": 2, "market": "spot"},
        ]},
        "prices": PRICES,
    }, duration="1h")
    cost = result.cost
    assert cost["market"].tolist() == ["on-demand", "spot", "spot"]
    assert cost["hourly_usd"].tolist() == [M5, M5_SPOT, M5_SPOT]
    assert cost["cost_usd"].tolist() == pytest.approx([M5, M5_SPOT, M5_SPOT], rel=1e-12)
    assert result.summary()["cost_usd"] == pytest.approx(M5 + 2 * M5_SPOT, rel=1e-12)


def test_save_and_load_round_trip(tmp_path) -> None:
    result = simulated({
        "faults": [{"type": "instanceFailure", "at": ["20s"],
                    "select": {"instanceIds": ["i-00000000000000002"]}}],
        "prices": PRICES,
    })
    assert "cost" in TABLE_NAMES
    result.save(tmp_path / "run")
    assert (tmp_path / "run" / "cost.csv").is_file()
    loaded = load_result(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.cost, result.cost)
    assert loaded.cost["billed_s"].tolist() == [600.0, 60.0]  # the 20 s instance: the minimum
    expected = {name: result.summary()[name] for name in COST_METRIC_NAMES}
    assert {name: loaded.summary()[name] for name in COST_METRIC_NAMES} == expected
    assert loaded.scenario["prices"]["instances"]["m5.large"]["spot"] == M5_SPOT


def test_without_prices_the_table_is_empty_and_the_metrics_nan() -> None:
    result = simulated({})
    assert result.cost.empty and list(result.cost.columns) == list(SCHEMAS["cost"])
    assert result.cost["cost_usd"].dtype == "float64"
    summary = result.summary()
    assert all(math.isnan(summary[name]) for name in COST_METRIC_NAMES)


# --------------------------------------------------------------------------- hand-made tables


def instance_frame(rows: list[tuple]) -> pd.DataFrame:
    """Instances table columns the cost needs: (instance_id, instance_type, market, launched_at_s)."""
    frame = pd.DataFrame(rows, columns=["instance_id", "instance_type", "market", "launched_at_s"])
    return frame.astype({"launched_at_s": float})


def event_frame(rows: list[tuple]) -> pd.DataFrame:
    """Event rows (time_s, entity, entity_id, event, to_state), numbered in time order."""
    ordered = sorted(rows, key=lambda row: row[0])
    frame = pd.DataFrame(ordered, columns=["time_s", "entity", "entity_id", "event", "to_state"])
    frame.insert(0, "seq", range(len(frame)))
    return frame.astype({"time_s": float})


NO_TASKS = pd.DataFrame({"task_id": pd.Series([], dtype=str), "launch_type": pd.Series([], dtype=str),
                         "cpu": pd.Series([], dtype=int), "memory_mib": pd.Series([], dtype=int)})
#: i-a and i-b (m5.large) run 0-200; t-1 RUNNING 25-100, t-2 RUNNING 30-200 (the end).
TWO_INSTANCES = instance_frame([("i-a", "m5.large", "on-demand", 0), ("i-b", "m5.large", "on-demand", 0)])
TWO_TASKS = event_frame([
    (0, "instance", "i-a", "state", "REGISTERING"), (0, "instance", "i-b", "state", "REGISTERING"),
    (10, "instance", "i-a", "state", "ACTIVE"), (10, "instance", "i-b", "state", "ACTIVE"),
    (20, "task", "t-1", "state", "PENDING"), (25, "task", "t-1", "state", "ACTIVATING"),
    (25, "task", "t-1", "state", "RUNNING"), (100, "task", "t-1", "health", "UNHEALTHY"),
    (100, "task", "t-1", "state", "DEACTIVATING"), (110, "task", "t-1", "state", "STOPPED"),
    (30, "task", "t-2", "state", "PENDING"), (30, "task", "t-2", "state", "RUNNING"),
])


def test_minimum_applies_only_to_resources_that_ended() -> None:
    instances = instance_frame([("i-a", "m5.large", "on-demand", 0), ("i-b", "m5.large", "on-demand", 10),
                                ("i-c", "m5.large", "on-demand", 170)])
    events = event_frame([
        (0, "instance", "i-a", "state", "REGISTERING"), (10, "instance", "i-a", "state", "ACTIVE"),
        (10, "instance", "i-b", "state", "REGISTERING"), (20, "instance", "i-b", "state", "ACTIVE"),
        (170, "instance", "i-c", "state", "REGISTERING"),
        (30, "instance", "i-a", "state", "INACTIVE"),   # 30 s: billed the 60 s minimum
        (100, "instance", "i-b", "state", "INACTIVE"),  # 90 s: billed as it ran
    ])
    cost = cost_table(instances, NO_TASKS, events, PRICES, end_s=200)
    assert cost["end_s"].tolist() == [30.0, 100.0, 200.0]
    # i-c runs 30 s to the end of the run: no minimum (its bill is not over)
    assert cost["billed_s"].tolist() == [60.0, 90.0, 30.0]
    assert cost["cost_usd"].sum() == pytest.approx(usd(M5, 180), rel=1e-12)
    unlimited = cost_table(instances, NO_TASKS, events, {**PRICES, "minimumBilledSeconds": 0}, end_s=200)
    assert unlimited["billed_s"].tolist() == [30.0, 90.0, 30.0]


def test_cost_per_task_hour_and_the_window() -> None:
    cost = cost_table(TWO_INSTANCES, NO_TASKS, TWO_TASKS, PRICES, end_s=200)
    assert cost["billed_s"].tolist() == [200.0, 200.0]
    metrics = cost_metrics(cost, TWO_TASKS, 0.0, 200.0)
    assert metrics["cost_usd"] == pytest.approx(usd(M5, 400), rel=1e-12)
    # RUNNING 75 s + 170 s (the health row does not end RUNNING)
    assert running_task_seconds(TWO_TASKS, 0.0, 200.0) == 245.0
    assert metrics["cost_per_task_hour_usd"] == pytest.approx(usd(M5, 400) / (245 / 3600), rel=1e-12)
    # measureFrom 100: the summary counts [100, 200] of each instance; only t-2 runs then
    windowed = cost_metrics(cost, TWO_TASKS, 100.0, 200.0)
    assert windowed["cost_usd"] == pytest.approx(usd(M5, 200), rel=1e-12)
    assert windowed["cost_per_task_hour_usd"] == pytest.approx(usd(M5, 200) / (100 / 3600), rel=1e-12)


def test_a_type_without_a_price_makes_the_total_nan() -> None:
    prices = {"instances": {"c5.large": {"onDemand": 0.085}}}
    cost = cost_table(TWO_INSTANCES, NO_TASKS, TWO_TASKS, prices, end_s=200)
    assert cost["hourly_usd"].isna().all() and cost["cost_usd"].isna().all()
    assert math.isnan(cost_metrics(cost, TWO_TASKS, 0.0, 200.0)["cost_usd"])


def test_window_of_a_whole_run_in_the_summary() -> None:
    result = simulated({"prices": PRICES, "measureFrom": "4m"})
    assert result.cost["billed_s"].tolist() == [600.0, 600.0]  # the table keeps whole intervals
    assert result.summary()["cost_usd"] == pytest.approx(usd(M5, 2 * 360), rel=1e-12)


# --------------------------------------------------------------------------- Fargate (synthetic tables)

TASK_ROWS = [  # task_id, launch_type, cpu, memory_mib, capacity_provider
    ("t-1", "FARGATE", 1024, 2048, "FARGATE"),
    ("t-2", "FARGATE", 512, 1024, "FARGATE_SPOT"),
    ("t-3", "FARGATE", 256, 512, "FARGATE"),
    ("t-4", "FARGATE", 256, 512, "FARGATE"),
    ("t-5", "EC2", 256, 512, ""),
]
EVENT_ROWS = [  # time_s, entity_id, event, to_state
    (5, "t-1", "state", "PROVISIONING"), (8, "t-1", "state", "PENDING"),
    (10, "t-1", "pull_started", "PENDING"), (40, "t-1", "state", "RUNNING"),
    (300, "t-1", "state", "STOPPING"), (310, "t-1", "state", "STOPPED"),
    (20, "t-2", "state", "PROVISIONING"), (20, "t-2", "state", "PENDING"),  # no pull row: from PENDING
    (35, "t-2", "state", "RUNNING"), (50, "t-2", "state", "STOPPED"),
    (90, "t-3", "state", "PENDING"), (100, "t-3", "pull_started", "PENDING"),
    (120, "t-3", "state", "RUNNING"),  # still running at the end
    (30, "t-4", "state", "PROVISIONING"), (70, "t-4", "state", "STOPPED"),  # never pulled: not billed
    (0, "t-5", "state", "PENDING"), (0, "t-5", "pull_started", "PENDING"), (5, "t-5", "state", "RUNNING"),
]


def synthetic(with_provider: bool = True) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    tasks = pd.DataFrame(TASK_ROWS, columns=["task_id", "launch_type", "cpu", "memory_mib",
                                             "capacity_provider"])
    if not with_provider:
        tasks = tasks.drop(columns="capacity_provider")
    ordered = sorted(EVENT_ROWS, key=lambda row: row[0])
    events = pd.DataFrame(ordered, columns=["time_s", "entity_id", "event", "to_state"])
    events.insert(0, "seq", range(len(events)))
    events["entity"] = "task"
    events["time_s"] = events["time_s"].astype(float)
    instances = pd.DataFrame({"instance_id": pd.Series([], dtype=str), "instance_type": [], "market": [],
                              "launched_at_s": pd.Series([], dtype=float)})
    return instances, tasks, events


def test_fargate_rows() -> None:
    instances, tasks, events = synthetic()
    cost = cost_table(instances, tasks, events, {**PRICES, "fargate": FARGATE}, end_s=600)
    assert cost["resource_id"].tolist() == ["t-1", "t-2", "t-3"]
    assert set(cost["resource_type"]) == {"fargate_task"} and set(cost["instance_type"]) == {""}
    assert cost["market"].tolist() == ["on-demand", "spot", "on-demand"]
    assert cost["vcpu"].tolist() == [1.0, 0.5, 0.25]
    assert cost["memory_gb"].tolist() == [2.0, 1.0, 0.5]
    assert cost["start_s"].tolist() == [10.0, 20.0, 100.0]  # the pull, else PENDING
    assert cost["end_s"].tolist() == [310.0, 50.0, 600.0]
    assert cost["billed_s"].tolist() == [300.0, 60.0, 500.0]  # t-2 ran 30 s: the minimum
    hourly = [1 * 0.04048 + 2 * 0.004445, 0.5 * 0.01334 + 1 * 0.00146, 0.25 * 0.04048 + 0.5 * 0.004445]
    assert cost["hourly_usd"].tolist() == pytest.approx(hourly, rel=1e-12)
    expected = [usd(hourly[0], 300), usd(hourly[1], 60), usd(hourly[2], 500)]
    assert cost["cost_usd"].tolist() == pytest.approx(expected, rel=1e-12)
    metrics = cost_metrics(cost, events, 0.0, 600.0)
    assert metrics["cost_fargate_usd"] == pytest.approx(sum(expected), rel=1e-12)
    assert metrics["cost_instances_usd"] == 0.0
    # RUNNING: t-1 40-300, t-2 35-50, t-3 120-600, t-5 5-600
    task_s = 260 + 15 + 480 + 595
    assert running_task_seconds(events, 0.0, 600.0) == task_s
    assert metrics["cost_per_task_hour_usd"] == pytest.approx(sum(expected) / (task_s / 3600), rel=1e-12)


def test_fargate_without_capacity_provider_column_is_on_demand() -> None:
    instances, tasks, events = synthetic(with_provider=False)
    cost = cost_table(instances, tasks, events, {"fargate": FARGATE}, end_s=600)
    assert cost["market"].tolist() == ["on-demand"] * 3
    assert cost["hourly_usd"].iloc[1] == pytest.approx(0.5 * 0.04048 + 1 * 0.004445, rel=1e-12)


def test_fargate_spot_without_spot_prices_is_unpriced() -> None:
    instances, tasks, events = synthetic()
    on_demand_only = {"vcpuHour": 0.04048, "gbHour": 0.004445}
    cost = cost_table(instances, tasks, events, {"fargate": on_demand_only}, end_s=600)
    assert cost["hourly_usd"].isna().tolist() == [False, True, False]
    assert math.isnan(cost_metrics(cost, events, 0.0, 600.0)["cost_usd"])


def test_no_prices_no_rows() -> None:
    instances, tasks, events = synthetic()
    assert cost_table(instances, tasks, events, None, end_s=600).empty
    assert all(math.isnan(v) for v in cost_metrics(None, events, 0.0, 600.0).values())
