"""Determinism: same scenario + seed => byte-identical tables, whatever the hash seed; random
streams keyed by entity, so an unrelated change does not shift other entities' draws."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd

import ecssim

from .helpers import I2, run, scenario, task_definition

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo.yaml"
TABLES = ("events", "tasks", "placement_failures", "service_events", "instances", "capacity", "recovery")

_CHILD = """
import hashlib, json, sys
import ecssim
scenario = ecssim.load_scenario(sys.argv[1])
folder = ecssim.simulate(scenario, seed=int(sys.argv[2])).save(sys.argv[3])
print(json.dumps({name: hashlib.sha256((folder / f"{name}.csv").read_bytes()).hexdigest()
                  for name in sys.argv[4].split(",")}))
"""


def _hashes_in_fresh_process(tmp_path: Path, hash_seed: str, seed: int = 7) -> dict[str, str]:
    out = tmp_path / f"run-{hash_seed}-{seed}"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, str(DEMO), str(seed), str(out), ",".join(TABLES)],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_demo_is_byte_identical_across_processes_and_hash_seeds(tmp_path):
    first = _hashes_in_fresh_process(tmp_path, "0")
    second = _hashes_in_fresh_process(tmp_path, "4242")
    assert first["events"] == second["events"]
    assert first == second


def test_events_csv_hash_matches_in_process_run(tmp_path):
    # The file written by the child is the same as one written here (a third hash seed).
    child = _hashes_in_fresh_process(tmp_path, "17")["events"]
    folder = ecssim.simulate(ecssim.load_scenario(DEMO), seed=7).save(tmp_path / "here")
    assert hashlib.sha256((folder / "events.csv").read_bytes()).hexdigest() == child


def test_a_different_seed_gives_different_events():
    scenario = ecssim.load_scenario(DEMO)
    a = ecssim.simulate(scenario, seed=7).events
    b = ecssim.simulate(scenario, seed=8).events
    assert not a.equals(b)
    again = ecssim.simulate(scenario, seed=7).events
    pd.testing.assert_frame_equal(a, again)


def test_a_different_replication_gives_different_events():
    scenario = ecssim.load_scenario(DEMO)
    a = ecssim.simulate(scenario, seed=7, replication=0).events
    b = ecssim.simulate(scenario, seed=7, replication=1).events
    assert not a.equals(b)


def _demo_dict() -> dict:
    scenario = ecssim.load_scenario(DEMO)
    return scenario.model_dump(mode="json", by_alias=True, exclude_none=True)


def test_a_fault_at_the_very_end_changes_nothing_before_it():
    base = _demo_dict()
    with_fault = copy.deepcopy(base)
    end = ecssim.load_scenario(DEMO).duration
    with_fault["faults"].append({"type": "instanceFailure", "name": "late-loss", "at": [end - 1.0],
                                 "select": {"count": 2}})
    a = ecssim.simulate(ecssim.load_scenario_dict(base), seed=7).events
    b = ecssim.simulate(ecssim.load_scenario_dict(with_fault), seed=7).events
    before = a[a.time_s < end - 1.0]
    assert len(before) > 100
    pd.testing.assert_frame_equal(before, b[b.time_s < end - 1.0])
    assert len(b) > len(a)  # the fault did happen


def _arrivals(res: ecssim.Result, started_by: str) -> list[float]:
    created = res.tasks[res.tasks.started_by == started_by].created_at_s
    lost = res.placement_failures[res.placement_failures.started_by == started_by].time_s
    return sorted(created.tolist() + lost.tolist())


def test_workload_arrivals_do_not_depend_on_the_cluster():
    """Common random numbers: a workload's arrival times and run times come from its own
    stream, whatever the cluster does. Regression: RunTask's random placement once drew its
    tie-breaks from the workload's stream, so losing an instance mid-run (one candidate left,
    no draw) shifted every later arrival."""
    base = scenario(
        task_definitions=[task_definition("job"), task_definition("other")],
        workloads=[
            {"name": "batch", "taskDefinition": "job", "arrivals": {"type": "poisson", "rate": 0.05},
             "duration": {"type": "exponential", "mean": 40}},
            {"name": "noise", "taskDefinition": "other", "arrivals": {"type": "poisson", "rate": 0.02},
             "duration": 30},
        ],
        duration="1h",
    )
    changed = copy.deepcopy(base)
    changed["faults"] = [{"type": "instanceFailure", "name": "loss", "at": [1800], "select": {"instanceIds": [I2]}}]
    changed["cluster"]["fleets"].append({"name": "extra", "instanceType": "t3.small", "count": 1,
                                         "availabilityZones": ["a"]})
    changed["workloads"][1]["arrivals"]["rate"] = 0.04  # a busier unrelated workload
    a, b = run(base, seed=5), run(changed, seed=5)
    assert _arrivals(a, "workload:batch") == _arrivals(b, "workload:batch")
    assert len(_arrivals(a, "workload:batch")) > 100
    # ... and each arrival runs for the same time (tasks that exited by themselves in both runs).
    def run_times(res: ecssim.Result) -> pd.Series:
        t = res.tasks[(res.tasks.started_by == "workload:batch")
                      & (res.tasks.stop_code == "EssentialContainerExited")]
        return (t.stopping_at_s - t.started_at_s).set_axis(t.created_at_s.round(9))

    both = pd.concat([run_times(a), run_times(b)], axis=1, join="inner")
    assert len(both) > 100
    assert (both.iloc[:, 0] - both.iloc[:, 1]).abs().max() < 1e-9


def test_streams_are_keyed_by_entity_not_by_order():
    # Reordering the faults list does not change what each named fault draws.
    base = _demo_dict()
    base["faults"].insert(0, {"type": "taskCrash", "name": "extra", "service": "web",
                              "meanTimeToCrash": "100d"})
    a = ecssim.simulate(ecssim.load_scenario_dict(base), seed=7).events
    base["faults"] = list(reversed(base["faults"]))
    b = ecssim.simulate(ecssim.load_scenario_dict(base), seed=7).events
    fa = a[a.entity == "fault"][["time_s", "to_state", "reason", "instance_id"]].reset_index(drop=True)
    fb = b[b.entity == "fault"][["time_s", "to_state", "reason", "instance_id"]].reset_index(drop=True)
    pd.testing.assert_frame_equal(fa, fb)


def test_json_round_trip_of_the_demo_is_the_same_scenario():
    # The tests above rebuild the demo from its dict form; make sure that is faithful.
    a = ecssim.simulate(ecssim.load_scenario(DEMO), seed=3).events
    b = ecssim.simulate(ecssim.load_scenario_dict(json.loads(json.dumps(_demo_dict()))), seed=3).events
    pd.testing.assert_frame_equal(a, b)
