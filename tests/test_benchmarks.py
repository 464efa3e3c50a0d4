"""The benchmark inputs stay what their scripts say: the shipped large scenario is its
generator's output, the bare-SimPy baseline is the pinned copy, and the growth fit is right."""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path

import pytest

import ecssim

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import large  # noqa: E402
import large_scenario  # noqa: E402

#: sha256 of ../shared/benchmarks/bare_simpy_baseline.py, the pinned baseline (copied unchanged).
BASELINE_SHA256 = "65002dbd78ffb4d298c941eb13aa7a9523c39dd4620f3d118bc3caf68868f72f"


def test_the_shipped_large_scenario_is_what_its_generator_writes():
    assert (BENCHMARKS / "scenarios" / "large.yaml").read_text() == large_scenario.scenario_yaml()


def test_the_large_scenario_has_the_pinned_rates():
    scenario = ecssim.load_scenario(BENCHMARKS / "scenarios" / "large.yaml")
    (fleet,) = scenario.cluster.fleets
    assert (fleet.instance_type, fleet.count, len(fleet.availability_zones)) == ("m5.xlarge", 5000, 3)
    assert len(scenario.services) == 500
    assert sum(s.desired_count for s in scenario.services) == 50_000
    assert scenario.duration == 7 * 86400 and scenario.warm_start
    (workload,) = scenario.workloads
    assert workload.arrivals.rate * scenario.duration == pytest.approx(100_000)
    assert workload.duration.mean == pytest.approx(600)
    kinds = [f.type for f in scenario.faults]
    assert kinds.count("taskCrash") == 500 and kinds.count("instanceFailure") == 1 and kinds.count("azOutage") == 1
    crash = next(f for f in scenario.faults if f.type == "taskCrash")
    assert crash.mean_time_to_crash == 7 * 86400
    failure = next(f for f in scenario.faults if f.type == "instanceFailure")
    assert (failure.mode, failure.time_to_failure.mean) == ("terminated", 30 * 86400)
    outage = next(f for f in scenario.faults if f.type == "azOutage")
    assert (outage.start, outage.end) == (3 * 86400, 3 * 86400 + 3600)


def test_the_bare_simpy_baseline_is_the_pinned_copy():
    digest = hashlib.sha256((BENCHMARKS / "bare_simpy_baseline.py").read_bytes()).hexdigest()
    assert digest == BASELINE_SHA256


def test_growth_exponent_of_a_power_law_is_its_power():
    lifecycles = [1000.0, 2000.0, 4000.0]
    assert large.fitted_exponent(lifecycles, [3e-5 * x**1.3 for x in lifecycles]) == pytest.approx(1.3)
    assert large.fitted_exponent(lifecycles, [2.0, 4.0, 8.0]) == pytest.approx(1.0)
    assert not math.isnan(large.fitted_exponent([1.0, 2.0], [1.0, 3.0]))


def test_a_tiny_scale_runs_and_counts_lifecycles():
    row = large.one_run(scale=0.002, days=0.5, seed=1, write_csv=False, summary_only=False)
    assert row["fleet"] == 10 and row["lifecycles"] >= 100  # 100 warm-started service tasks, then batch
    assert row["ratio"] > 0 and row["timed_s"] > 0
