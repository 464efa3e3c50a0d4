"""``ecssim docker-validate``: bad input, the folder it writes, and an interrupted run.

The comparison is checked against figures recomputed from the written tables (task counts
per run, percentiles over the simulated replications), not from the code's own metrics.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from ecssim.cli import main
from ecssim.docker import managed_containers

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "docker-validation.yaml"
TIMING = "timing:\n  containerStart: {type: lognormal, median: 0.15, sigma: 0.2}\n"


@pytest.fixture
def timing_file(tmp_path: Path) -> Path:
    path = tmp_path / "timing.yaml"
    path.write_text(TIMING)
    return path


def test_no_engine_exits_2_with_how_to_start_one(tmp_path: Path, timing_file: Path) -> None:
    out = tmp_path / "v"
    result = CliRunner().invoke(main, ["docker-validate", str(SCENARIO), "--timing", str(timing_file),
                                       "--out", str(out)], env={"DOCKER_HOST": f"unix://{tmp_path}/missing.sock"})
    assert result.exit_code == 2, result.output
    assert "no usable Docker engine" in result.output and "Docker-backed validation" in result.output
    assert "Traceback" not in result.output and not out.exists()


def test_a_fargate_scenario_is_refused_before_any_engine_is_used(tmp_path: Path, timing_file: Path) -> None:
    fargate = ROOT / "scenarios" / "fargate-vs-ec2-cost.yaml"
    out = tmp_path / "v"
    result = CliRunner().invoke(main, ["docker-validate", str(fargate), "--timing", str(timing_file),
                                       "--out", str(out)], env={"DOCKER_HOST": f"unix://{tmp_path}/missing.sock"})
    assert result.exit_code == 2, result.output
    assert "services[1] run on Fargate" in result.output and "Traceback" not in result.output
    assert not out.exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--sim-replications", "5"], "x>=20"),
    (["--time-scale", "0"], "x>0"),
])
def test_bad_options_exit_2(tmp_path: Path, timing_file: Path, args: list[str], expected: str) -> None:
    result = CliRunner().invoke(main, ["docker-validate", str(SCENARIO), "--timing", str(timing_file),
                                       "--out", str(tmp_path / "v"), *args])
    assert result.exit_code == 2 and expected in result.output


def test_bad_timing_file_and_occupied_folder_exit_2(tmp_path: Path, timing_file: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("timing:\n  containerStart: {type: lognormal, median: -1}\n")
    result = CliRunner().invoke(main, ["docker-validate", str(SCENARIO), "--timing", str(bad),
                                       "--out", str(tmp_path / "v")])
    assert result.exit_code == 2 and "bad.yaml" in result.output and "timing.containerStart" in result.output
    occupied = tmp_path / "mine"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("my notes")
    result = CliRunner().invoke(main, ["docker-validate", str(SCENARIO), "--timing", str(timing_file),
                                       "--out", str(occupied)])
    assert result.exit_code == 2 and "not empty" in result.output
    assert [p.name for p in occupied.iterdir()] == ["notes.txt"]


def _tasks(folder: Path) -> pd.DataFrame:
    return pd.read_csv(folder / "tasks.csv")


def test_validate_writes_real_and_simulated_tables_and_their_comparison(engine, image, tmp_path: Path) -> None:  # noqa: ANN001
    timing = tmp_path / "timing.yaml"  # the folder's layout and figures, not the model's accuracy (test_validation)
    timing.write_text(TIMING + "  containerStartContention: {slowdown: 0.4}\n")
    out = tmp_path / "validation"
    result = CliRunner().invoke(main, ["docker-validate", str(SCENARIO), "--timing", str(timing), "--out", str(out),
                                       "--real-runs", "1", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "real values inside the simulated 95% prediction interval" in result.output
    details = json.loads((out / "validation.json").read_text())
    assert details["real_seeds"] == [3] and details["sim_replications"] == 20 and details["sim_seed"] == 10_003
    sims = sorted((out / "sim").glob("replication-*"))
    assert len(sims) == 20 and [p.name for p in (out / "real").glob("run-*")] == ["run-000"]
    comparison = pd.read_csv(out / "comparison.csv", keep_default_na=False, na_values=[""])
    row = comparison[(comparison["metric"] == "tasks_created")].iloc[0]
    assert row["real_value"] == len(_tasks(out / "real" / "run-000"))
    counts = [len(_tasks(folder)) for folder in sims]
    assert [row["sim_low"], row["sim_high"]] == pytest.approx(np.percentile(counts, [2.5, 97.5]))
    assert row["inside"] == (row["sim_low"] <= row["real_value"] <= row["sim_high"])
    # each crashed task's essential container really exited 137 after ecssim's SIGKILL
    tasks = _tasks(out / "real" / "run-000")
    exits = pd.read_csv(out / "real" / "run-000" / "container_exits.csv")
    crashed = tasks[tasks["incident_id"].notna() & (tasks["stop_code"] == "EssentialContainerExited")]
    killed = exits[exits["crashed"]]
    assert sorted(killed["task_id"]) == sorted(crashed["task_id"])
    assert (killed["exit_code"] == 137).all() and not killed["oom_killed"].any()
    recovery = pd.read_csv(out / "real" / "run-000" / "recovery.csv")
    per_incident = comparison[comparison["metric"] == "time_to_first_replacement_s"]
    assert sorted(per_incident["incident_id"]) == sorted(recovery["incident_id"])
    assert all(c.labels.get("ecssim.kind") != "task" for c in managed_containers(engine))


def test_an_interrupted_validation_removes_its_containers_and_writes_nothing(engine, image, tmp_path: Path) -> None:  # noqa: ANN001
    out = tmp_path / "validation"
    timing = tmp_path / "timing.yaml"
    timing.write_text(TIMING)
    long_scenario = tmp_path / "long.yaml"
    long_scenario.write_text(SCENARIO.read_text().replace("duration: 120s", "duration: 30m"))
    before = {c.id for c in managed_containers(engine)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ecssim.cli", "docker-validate", str(long_scenario), "--timing", str(timing),
         "--out", str(out), "--real-runs", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 30
        mine: list = []
        while not mine and time.monotonic() < deadline:  # wait for the run's containers to exist
            mine = [c for c in managed_containers(engine) if c.id not in before and c.labels["ecssim.kind"] == "task"]
            time.sleep(0.1)
        assert mine, "the validation started no container within 30 s"
        run = mine[0].labels["ecssim.run"]
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr and "Traceback" not in stderr
    assert managed_containers(engine, run) == []
    assert not out.exists() and not list(tmp_path.glob(".validation.tmp-*"))
