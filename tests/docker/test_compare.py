"""Real runs against simulated prediction intervals: the pure pieces, then one real validation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from test_agent import scenario

from ecssim.docker.compare import (
    calibrated_scenario,
    comparison_table,
    placements_per_instance_max,
    prediction_interval,
    scaled_timing,
    task_start_latency_median_s,
)

FACTOR = 0.02


# ---------------------------------------------------------------- scaled_timing
def test_lognormal_median_is_divided_by_the_factor_and_sigma_kept() -> None:
    section = {"containerStart": {"type": "lognormal", "median": 0.137, "sigma": 0.2}}
    scaled = scaled_timing(section, FACTOR)
    assert scaled["containerStart"]["median"] == pytest.approx(6.85)
    assert scaled["containerStart"]["sigma"] == 0.2 and scaled["containerStart"]["type"] == "lognormal"
    assert section["containerStart"]["median"] == 0.137  # the input is not changed


def test_constant_and_uniform_durations_are_scaled_with_units() -> None:
    section = {"containerStart": {"type": "constant", "value": 0.1},
               "containerStop": {"type": "uniform", "low": "1s", "high": 2}}
    scaled = scaled_timing(section, 0.5)
    assert scaled["containerStart"] == {"type": "constant", "value": pytest.approx(0.2)}
    assert scaled["containerStop"] == {"type": "uniform", "low": 2.0, "high": 4.0}
    assert scaled_timing({"containerStop": "3s"}, 0.5) == {"containerStop": 6.0}  # the plain shorthand


def test_other_timing_entries_are_not_scaled() -> None:
    section = {"containerStart": 1.0, "imagePull": {"type": "constant", "value": 8}}
    assert scaled_timing(section, 0.1)["imagePull"] == {"type": "constant", "value": 8}


def test_scaled_timing_makes_a_valid_scenario() -> None:
    section = {"containerStart": {"type": "lognormal", "median": 0.2, "sigma": 0.1},
               "containerStop": {"type": "lognormal", "median": 0.03, "sigma": 0.1}}
    sc = calibrated_scenario(scenario(), section, FACTOR)
    assert sc.timing.container_start.median == pytest.approx(10.0)
    assert sc.timing.container_stop.median == pytest.approx(1.5)
    assert sc.timing.image_pull == scenario().timing.image_pull  # the scenario's own entries stay


def test_bad_factor_and_unknown_distribution_are_refused() -> None:
    with pytest.raises(ValueError, match="factor"):
        scaled_timing({}, 0)
    with pytest.raises(ValueError, match="lognormal"):
        scaled_timing({"containerStart": {"type": "gamma", "k": 1}}, 1.0)


# ---------------------------------------------------------------- prediction_interval
def test_interval_of_a_known_array() -> None:
    assert prediction_interval(np.arange(201.0)) == pytest.approx((5.0, 195.0))  # 2.5 and 97.5 percentiles of 0..200
    assert prediction_interval(range(101), level=0.5) == pytest.approx((25.0, 75.0))


def test_interval_ignores_nan_and_is_nan_when_empty() -> None:
    assert prediction_interval([math.nan, 1.0, 1.0, math.nan]) == (1.0, 1.0)
    low, high = prediction_interval([math.nan])
    assert math.isnan(low) and math.isnan(high)


# ---------------------------------------------------------------- comparison_table
def test_inside_flags_per_metric_and_run() -> None:
    simulated = [{"a": float(v), "b": 1.0} for v in range(101)]  # a: interval (2.5, 97.5)
    real = [{"a": 50.0, "b": 1.0}, {"a": 99.0, "b": 2.0}]
    table = comparison_table(real, simulated, ["a", "b"])
    assert list(table["metric"]) == ["a", "a", "b", "b"] and list(table["real_run"]) == [0, 1, 0, 1]
    assert list(table["inside"]) == [True, False, True, False]
    assert table["sim_n"].eq(101).all()
    first = table.iloc[0]
    assert (first["sim_low"], first["sim_high"], first["width"]) == pytest.approx((2.5, 97.5, 95.0))
    assert table["inside"].dtype == bool and (table["note"] == "").all()


def test_nan_real_values_and_missing_simulations_are_never_inside() -> None:
    simulated = [{"a": 1.0, "c": math.nan} for _ in range(5)]
    real = [{"a": math.nan, "c": 1.0}, {"c": 2.0}]
    table = comparison_table(real, simulated, ["a", "c"]).set_index(["metric", "real_run"])
    assert not table["inside"].any()
    assert table.loc[("a", 0), "note"] == "no real value" and table.loc[("a", 1), "note"] == "no real value"
    assert table.loc[("c", 0), "note"] == "no simulated values" and table.loc[("c", 0), "sim_n"] == 0


def test_per_run_figures_from_the_tasks_table() -> None:
    tasks = pd.DataFrame({
        "started_by": ["warmStart", "warmStart", "ecs-svc/1", "ecs-svc/1", "ecs-svc/1", "ecs-svc/1"],
        "created_at_s": [0.0, 0.0, 10.0, 20.0, 30.0, 40.0],
        "started_at_s": [0.0, 0.0, 14.0, 26.0, math.nan, 41.0],
        "instance_id": ["i-1", "i-2", "i-1", "i-1", "", "i-2"],
    })
    assert task_start_latency_median_s(tasks) == 4.0  # of 4, 6, 1: warm starts and unstarted left out
    assert placements_per_instance_max(tasks) == 3.0
    assert math.isnan(task_start_latency_median_s(tasks.iloc[:2]))


def test_calibrated_contention_is_kept_unscaled_and_shared_by_the_whole_cluster() -> None:
    section = {"containerStart": {"type": "lognormal", "median": 0.2, "sigma": 0.1},
               "containerStartContention": {"slowdown": 0.38}}
    sc = calibrated_scenario(scenario(), section, FACTOR)
    assert sc.timing.container_start_contention.slowdown == pytest.approx(0.38)
    assert sc.timing.container_start_contention.scope == "cluster"
    assert calibrated_scenario(scenario(), {}, FACTOR).timing.container_start_contention.slowdown == 0.0
