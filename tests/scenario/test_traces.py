"""The trace format: read, checked at load time, and split into RunTask calls of at most 10."""

from __future__ import annotations

from pathlib import Path

import pytest

import ecssim
from ecssim.scenario import ScenarioError, load_scenario_dict
from ecssim.scenario.traces import TraceError, read_trace

SCENARIO = {
    "duration": "1h",
    "cluster": {"fleets": [{"name": "f", "instanceType": "m5.2xlarge", "count": 2,
                            "availabilityZones": ["us-east-1a"]}]},
    "warmStart": True,
    "taskDefinitions": [{"family": "batch", "memory": 512,
                         "containerDefinitions": [{"name": "job", "image": "b"}]}],
    "workloads": [{"name": "replay", "taskDefinition": "batch",
                   "arrivals": {"type": "trace", "file": "trace.csv"}}],
}


def write(folder: Path, text: str) -> None:
    (folder / "trace.csv").write_text(text)


def test_rows_sorted_and_count_defaults_to_one(tmp_path: Path) -> None:
    write(tmp_path, "arrival_s,duration_s,cpu,memory_mib\n20,5,256,512\n10,5,128,256\n")
    trace = read_trace(tmp_path / "trace.csv", time_scale=2.0)
    assert trace["arrival_s"].tolist() == [20.0, 40.0]
    assert trace["count"].tolist() == [1, 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("arrival_s,duration_s,cpu\n0,1,2\n", "lacks column(s) memory_mib"),
        ("arrival_s,duration_s,cpu,memory_mib\n0,1,2,-5\n", "row 2, column memory_mib"),
        ("arrival_s,duration_s,cpu,memory_mib,count\n0,1,2,3,0\n", "column count"),
    ],
)
def test_bad_traces_are_refused_at_load_time(tmp_path: Path, text: str, message: str) -> None:
    write(tmp_path, text)
    with pytest.raises(TraceError):
        read_trace(tmp_path / "trace.csv")
    with pytest.raises(ScenarioError, match="workloads\\[0\\].arrivals.file") as caught:
        load_scenario_dict(SCENARIO, source="s.yaml", base_dir=tmp_path)
    assert message in str(caught.value)


def test_trace_rows_become_tasks_with_their_own_demand(tmp_path: Path) -> None:
    write(tmp_path, "arrival_s,duration_s,cpu,memory_mib,count,group\n0,60,256,1024,12,etl\n30,60,512,2048,1,\n")
    scenario = load_scenario_dict(SCENARIO, source="s.yaml", base_dir=tmp_path)
    result = ecssim.simulate(scenario, seed=1)
    tasks = result.tasks
    assert len(tasks) == 13
    first = tasks[tasks["created_at_s"] == 0.0]
    assert set(first["group"]) == {"etl"} and set(first["cpu"]) == {256} and set(first["memory_mib"]) == {1024}
    last = tasks[tasks["created_at_s"] == 30.0]
    assert last["group"].tolist() == ["family:batch"] and last["memory_mib"].tolist() == [2048]
