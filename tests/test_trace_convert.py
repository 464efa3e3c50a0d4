"""Trace converters (ecssim.trace_convert) and the shipped Alibaba slice replayed on a small fleet."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

import ecssim
from ecssim.cli import main
from ecssim.trace_convert import (
    from_alibaba,
    from_google_2011,
    read_alibaba,
    read_google_2011_task_events,
    write_trace,
)

ROOT = Path(__file__).resolve().parents[1]
SLICE = ROOT / "scenarios" / "traces" / "alibaba-slice-t21600-22200.csv"
SLICE_TRACE = ROOT / "scenarios" / "traces" / "alibaba-slice-t21600-22200.trace.csv"
SCENARIO = ROOT / "scenarios" / "alibaba-batch-slice.yaml"

# Three rows as in the published CSV (first column an unnamed index); the first two are rows 1 and 0 of it.
ALIBABA_ROWS = """,submit_time,duration,cpu,memory,job_id,task_id,instances_num,disk
1,7448,73.59701492537313,0.5,0.007863743431781119,9,23,67,0
0,539,116.38162544169612,1.0,0.005404705821447985,1,1,283,0
7,600,10.0,0.55,0.0025,4,8,1,0
"""


def test_alibaba_rows_by_hand():
    trace = from_alibaba(pd.read_csv(io.StringIO(ALIBABA_ROWS), index_col=0), machine_memory_mib=393216)
    # sorted by arrival; arrival = submit_time - 539 (the first submit_time)
    assert trace["arrival_s"].tolist() == [0.0, 61.0, 6909.0]
    assert trace["duration_s"].tolist() == [116.38162544169612, 10.0, 73.59701492537313]
    # 1.0 core -> 1024; 0.55 x 1024 = 563.2 -> 564; 0.5 -> 512
    assert trace["cpu"].tolist() == [1024, 564, 512]
    # 0.005404705821447985 x 393216 = 2125.2 -> 2126; 0.0025 x 393216 = 983.04 -> 984;
    # 0.007863743431781119 x 393216 = 3092.15 -> 3093
    assert trace["memory_mib"].tolist() == [2126, 984, 3093]
    assert trace["count"].tolist() == [283, 1, 67]
    assert trace["group"].tolist() == ["job:1", "job:4", "job:9"]
    assert "family" not in trace.columns


def test_alibaba_offset_family_and_machine_memory():
    rows = pd.read_csv(io.StringIO(ALIBABA_ROWS), index_col=0)
    trace = from_alibaba(rows, machine_memory_mib=1000, time_offset=500, family="batch")
    assert trace["arrival_s"].tolist() == [39.0, 100.0, 6948.0]
    assert trace["memory_mib"].tolist() == [6, 3, 8]  # 5.40 -> 6, 2.5 -> 3, 7.86 -> 8
    assert trace["family"].tolist() == ["batch"] * 3
    with pytest.raises(ValueError, match="before time_offset"):
        from_alibaba(rows, time_offset=600)


# timestamp (us), missing, job, task, machine, event type, user, class, priority, cpu, memory, disk, constraint
GOOGLE_EVENTS = """600000000,,1,0,,0,u,1,4,0.0625,0.03125,0.001,0
602000000,,1,0,77,1,u,1,4,,,,0
662000000,,1,0,77,4,u,1,4,,,,0
600000000,,1,1,,0,u,1,4,0.01,0.001,0.001,0
605000000,,1,1,78,1,u,1,4,0.01,0.001,0.001,0
615000000,,1,1,78,2,u,1,4,0.01,0.001,0.001,0
616000000,,1,1,,0,u,1,4,0.01,0.001,0.001,0
620000000,,1,1,79,1,u,1,4,0.01,0.001,0.001,0
650000000,,1,1,79,4,u,1,4,0.01,0.001,0.001,0
610000000,,2,0,,0,u,0,0,0.02,0.02,0.0,0
611000000,,2,1,,0,u,0,0,0.02,0.02,0.0,0
612000000,,2,1,80,1,u,0,0,0.02,0.02,0.0,0
"""


def _google_events() -> pd.DataFrame:
    return read_google_2011_task_events(io.StringIO(GOOGLE_EVENTS))


def test_google_2011_by_hand():
    trace = from_google_2011(_google_events(), machine_cores=16, machine_memory_mib=65536)
    # job 1 task 0: submit 600 s, scheduled 602 s, finished 662 s; task 1: evicted after 10 s,
    # resubmitted at 616 s and run from 620 s to 650 s (two runs); job 2: one task never
    # scheduled, one scheduled and never ended (both dropped).
    assert trace["arrival_s"].tolist() == [0.0, 0.0, 16.0]
    assert trace["duration_s"].tolist() == [60.0, 10.0, 30.0]
    assert trace["cpu"].tolist() == [1024, 164, 164]  # 0.0625 x 16 x 1024; 0.01 x 16 x 1024 = 163.84
    assert trace["memory_mib"].tolist() == [2048, 66, 66]  # 0.03125 x 65536; 0.001 x 65536 = 65.5
    assert trace["count"].tolist() == [1, 1, 1]
    assert trace["group"].tolist() == ["job:1", "job:1", "job:1"]
    assert trace.attrs == {"dropped_unscheduled": 1, "dropped_unfinished": 1, "dropped_no_request": 0}


def test_google_2011_unfinished_to_trace_end():
    trace = from_google_2011(_google_events(), machine_cores=16, machine_memory_mib=65536, unfinished="trace-end")
    last = trace[trace["group"] == "job:2"]
    # submitted at 611 s (arrival 11 s), scheduled at 612 s, lasts to the last event, 662 s
    assert last[["arrival_s", "duration_s", "cpu", "memory_mib"]].values.tolist() == [[11.0, 50.0, 328.0, 1311.0]]
    assert trace.attrs["dropped_unfinished"] == 0


def test_shipped_slice_converts_to_the_shipped_trace(tmp_path):
    raw = read_alibaba(SLICE)
    assert len(raw) == 228 and int(raw["instances_num"].sum()) == 5223
    assert raw["submit_time"].between(21600, 22199).all()
    out = write_trace(from_alibaba(raw), tmp_path / "slice.csv")
    assert out.read_text() == SLICE_TRACE.read_text()
    assert (SLICE.parent / "alibaba-batch-jobs.LICENSE").read_text().startswith("MIT License")


def test_cli_refuses_to_overwrite(tmp_path):
    runner = CliRunner()
    out = tmp_path / "trace.csv"
    args = ["convert-trace", "alibaba", str(SLICE), "--out", str(out), "--rows", "0:10"]
    assert runner.invoke(main, args).exit_code == 0
    assert len(pd.read_csv(out)) == 10
    refused = runner.invoke(main, args)
    assert refused.exit_code == 2 and "use --force" in refused.output
    assert runner.invoke(main, [*args, "--force"]).exit_code == 0
    foreign = tmp_path / "notes.csv"
    foreign.write_text("a,b\n1,2\n")
    refused = runner.invoke(main, ["convert-trace", "alibaba", str(SLICE), "--out", str(foreign), "--force"])
    assert refused.exit_code == 2 and "not a core-format trace" in refused.output
    assert foreign.read_text() == "a,b\n1,2\n"


@pytest.fixture(scope="module")
def slice_run():
    return ecssim.simulate(ecssim.load_scenario(SCENARIO), seed=0)


def test_slice_placed_plus_rejected_is_every_task(slice_run):
    trace = pd.read_csv(SLICE_TRACE)
    tasks = slice_run.tasks[slice_run.tasks["started_by"] == "workload:alibaba"]
    failures = slice_run.placement_failures[slice_run.placement_failures["started_by"] == "workload:alibaba"]
    assert len(failures) > 0  # the fleet is too small for the slice's peaks
    assert len(tasks) + len(failures) == int(trace["count"].sum()) == 5223
    # the same per job (task group)
    per_group = tasks.groupby("group").size().add(failures.groupby("group").size(), fill_value=0)
    assert per_group.astype(int).sort_index().to_dict() == trace.groupby("group")["count"].sum().sort_index().to_dict()


def test_slice_resource_seconds_match_the_rows(slice_run):
    trace = pd.read_csv(SLICE_TRACE)
    tasks = slice_run.tasks[slice_run.tasks["started_by"] == "workload:alibaba"].copy()
    # every placed task ran to completion inside the 12-minute run
    assert (tasks["stop_code"] == "EssentialContainerExited").all()
    tasks["run_s"] = tasks["stopped_at_s"] - tasks["started_at_s"]
    # match each task to the rows of its call: same arrival, job, cpu, memory and duration
    tasks["duration_s"] = tasks["run_s"].round(6)
    rows = trace.assign(row_duration_s=trace["duration_s"], duration_s=trace["duration_s"].round(6),
                        created_at_s=trace["arrival_s"])
    key = ["created_at_s", "group", "cpu", "memory_mib", "duration_s"]
    placed = tasks.groupby(key).size().rename("placed")
    offered = rows.groupby(key).agg(count=("count", "sum"), row_duration_s=("row_duration_s", "first"))
    joined = placed.to_frame().join(offered, how="left")
    assert joined["count"].notna().all()  # every task ran exactly as long as a row of its own call says
    assert (joined["placed"] <= joined["count"]).all()
    # cpu-unit-seconds: the tasks' own run times against their rows' cpu x duration
    expected = (joined["placed"] * joined.index.get_level_values("cpu") * joined["row_duration_s"]).sum()
    assert (tasks["cpu"] * tasks["run_s"]).sum() == pytest.approx(expected, rel=1e-12)
    assert 0 < expected < (trace["count"] * trace["cpu"] * trace["duration_s"]).sum()


def test_cli_google_2011_reports_dropped_rows(tmp_path):
    events = tmp_path / "task_events-part-00000-of-00500.csv"
    events.write_text(GOOGLE_EVENTS)
    out = tmp_path / "google.csv"
    args = ["convert-trace", "google2011", str(events), "--out", str(out)]
    refused = CliRunner().invoke(main, args)
    assert refused.exit_code == 2 and "--machine-cores" in refused.output and not out.exists()
    done = CliRunner().invoke(main, [*args, "--machine-cores", "16", "--machine-memory", "65536"])
    assert done.exit_code == 0, done.output
    assert done.output.strip().endswith(
        "3 rows, 3 tasks, dropped_no_request 0, dropped_unfinished 1, dropped_unscheduled 1")
    assert pd.read_csv(out)["duration_s"].tolist() == [60.0, 10.0, 30.0]
