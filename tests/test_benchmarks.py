"""The benchmark inputs stay what their scripts say: the shipped large scenario is its
generator's output, the bare-SimPy baseline is the pinned copy, and the growth fit is right."""

from __future__ import annotations

import hashlib
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
import simpy

import ecssim
from ecssim.model.eventlog import EventLog
from ecssim.model.recorder import Recorder

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import large  # noqa: E402
import large_scenario  # noqa: E402
import log_floor  # noqa: E402

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


def test_the_log_floor_writes_the_twelve_rows_of_each_lifecycle():
    sim_s, table_s, rows = log_floor.floor_once(instances=10, tasks=200)
    assert rows == 12 * 200 and sim_s > 0 and table_s > 0


def test_the_log_floor_rows_are_the_lifecycle_ecssim_records():
    # the floor records what a real run records for a task that starts, runs and exits
    scenario = ecssim.load_scenario_dict({
        "duration": "10m",
        "warmStart": True,
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 1,
                                "availabilityZones": ["us-east-1a"]}]},
        "taskDefinitions": [{"family": "batch", "cpu": "256", "memory": "512",
                             "containerDefinitions": [{"name": "job", "image": "example/batch:1"}]}],
        "workloads": [{"name": "batch", "taskDefinition": "batch", "arrivals": {"type": "schedule", "at": ["1s"]},
                       "duration": "60s"}],
    })
    real = ecssim.simulate(scenario, seed=1).events
    real = real[real.entity == "task"]
    sequence = list(zip(real.event, real.to_state, strict=True))
    floor = _floor_rows()
    assert sequence == floor


def _floor_rows() -> list[tuple[str, str]]:
    """(event, to_state) of each row log_floor's lifecycle writes for one task."""
    env = simpy.Environment()
    log = EventLog()
    rec = Recorder(env, log)
    rec.instance_ids.append("i-1")
    rec.instance_azs.append("a")
    spec = SimpleNamespace(key="batch:1", demand=SimpleNamespace(cpu=256, memory_mib=512))
    task = log_floor.Task(1, spec, "family:batch", None, "x", 0, 60.0)
    env.process(log_floor.lifecycle(env, rec, task))
    env.run()
    return [(row[3], row[5]) for row in log.events]


def test_medians_of_an_even_number_of_runs_leave_the_weekly_lists_out():
    runs = [{"timed_s": 1.0, "weekly_rss_mib": [1.0]}, {"timed_s": 3.0, "weekly_rss_mib": [2.0]}]
    assert large.medians_of(runs) == {"timed_s": 2.0}
