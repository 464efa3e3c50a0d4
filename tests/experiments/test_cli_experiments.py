"""``ecssim sweep``, ``ecssim plan`` and ``ecssim run --experiment``: outputs and exit statuses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
from click.testing import CliRunner

from ecssim.cli import main

from .conftest import small_scenario, write_yaml
from .test_search import fits_in_four


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_sweep_writes_tables_and_prints_the_aggregate(tmp_path: Path, experiment_file: Path):
    out = tmp_path / "out"
    result = invoke("sweep", experiment_file, "--out", out, "--workers", "1", "--metric", "tasks_created")
    assert result.exit_code == 0, result.output
    assert "small-sweep: 4 point(s) x 3 replication(s), seed 7: 12 ok, 0 failed" in result.output
    assert "mean [95% CI] per point:" in result.output and "tasks_created" in result.output
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 12
    # one run alone, from the command line, reproduces its row
    alone = invoke("run", "--experiment", experiment_file, "--point", "3", "--replication", "2", "--out",
                   tmp_path / "alone")
    assert alone.exit_code == 0, alone.output
    assert "(seed 7)" in alone.output
    summary = json.loads((tmp_path / "alone" / "summary.json").read_text())
    row = runs[(runs.point == 3) & (runs.replication == 2)].iloc[0]
    for name, value in summary.items():
        assert (value is None and pd.isna(row[name])) or row[name] == value, name
    # resuming a finished sweep runs nothing more
    again = invoke("sweep", "--resume", out, "--workers", "1")
    assert again.exit_code == 0, again.output
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 12


def test_sweep_refuses_a_folder_that_is_not_new(tmp_path: Path, experiment_file: Path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    result = invoke("sweep", experiment_file, "--out", out, "--workers", "1")
    assert result.exit_code == 2 and "is not empty" in result.output
    assert (out / "keep.txt").read_text() == "mine"


def test_bad_experiment_files_exit_2_naming_the_field(tmp_path: Path):
    write_yaml(tmp_path / "small.yaml", small_scenario())
    cases = {
        "unknown-path": ({"axes": {"cluster.fleets[0].size": [1, 2]}}, "axes.cluster.fleets[0].size:"),
        "empty-axis": ({"axes": {"duration": []}}, "axes.duration: the axis has no values"),
        "type-mismatch": ({"axes": {"services[web].desiredCount": ["six"]}},
                          "axes.services[web].desiredCount: at point 0"),
    }
    for name, (fields, message) in cases.items():
        path = write_yaml(tmp_path / f"{name}.yaml", {"scenario": "small.yaml", **fields})
        result = invoke("sweep", path, "--out", tmp_path / f"out-{name}")
        assert result.exit_code == 2, (name, result.output)
        assert f"{path}: {message}" in result.output, result.output
        assert "Traceback" not in result.output
        assert not (tmp_path / f"out-{name}").exists()  # nothing written for bad input


def test_sweep_argument_errors(tmp_path: Path, experiment_file: Path):
    assert invoke("sweep").exit_code == 2
    result = invoke("sweep", experiment_file, "--out", tmp_path / "o", "--executor", "serial", "--dask", "local")
    assert result.exit_code == 2 and "cannot be combined" in result.output
    result = invoke("sweep", experiment_file, "--tables")
    assert result.exit_code == 2 and "need an output folder" in result.output
    result = invoke("run", "--experiment", experiment_file, "--point", "9")
    assert result.exit_code == 2 and "point 9 does not exist" in result.output
    result = invoke("run", "--experiment", experiment_file, "--seed", "1")
    assert result.exit_code == 2 and "differs from the experiment's seed 7" in result.output


def test_failed_runs_exit_1_after_the_others_finish(tmp_path: Path, experiment_file: Path, monkeypatch):
    from ecssim.experiments import runner

    real = runner.simulate_run

    def flaky(spec):
        if spec.point == 1 and spec.replication == 0:
            raise RuntimeError("boom")
        return real(spec)

    monkeypatch.setattr(runner, "simulate_run", flaky)
    result = invoke("sweep", experiment_file, "--out", tmp_path / "out", "--workers", "1")
    assert result.exit_code == 1
    assert "11 ok, 1 failed" in result.output
    assert "point 1 replication 0: RuntimeError: boom" in result.output
    failures = pd.read_csv(tmp_path / "out" / "failures.csv")
    assert list(failures.point) == [1]


def test_plan_finds_the_answer_and_writes_its_evidence(tmp_path: Path):
    scenario = write_yaml(tmp_path / "fits.yaml", fits_in_four())
    result = invoke("plan", scenario, "--parameter", "cluster.fleets[0].count", "--criterion",
                    "placement_failures <= 0", "--high", "8", "--replications", "2", "--workers", "1",
                    "--out", tmp_path / "plan")
    assert result.exit_code == 0, result.output
    assert "Answer: cluster.fleets[0].count = 4" in result.output
    evidence = pd.read_csv(tmp_path / "plan" / "evidence.csv")
    assert set(evidence.loc[evidence.met, "value"]) == {4, 5, 8}
    assert (tmp_path / "plan" / "plan.txt").read_text().startswith("Capacity search over")


def test_plan_exit_statuses(tmp_path: Path):
    scenario = write_yaml(tmp_path / "fits.yaml", fits_in_four())
    none = invoke("plan", scenario, "--parameter", "cluster.fleets[0].count", "--criterion",
                  "placement_failures <= 0", "--high", "2", "--replications", "2", "--workers", "1")
    assert none.exit_code == 3 and "no value in the range meets the criteria" in none.output
    bad = invoke("plan", scenario, "--parameter", "cluster.fleets[0].count", "--criterion", "recovery <= 3")
    assert bad.exit_code == 2 and "'recovery' is not a summary metric" in bad.output
    path = invoke("plan", scenario, "--parameter", "cluster.fleet[0].count", "--criterion", "placement_failures <= 0")
    assert path.exit_code == 2
    assert f"{scenario}: cluster.fleet[0].count: cluster has no field 'fleet' that ecssim models; " \
           "did you mean fleets?" in path.output


def test_sweep_in_a_real_process_shows_no_traceback_and_no_bar_in_a_pipe(tmp_path: Path, experiment_file: Path):
    done = subprocess.run(
        [sys.executable, "-m", "ecssim.cli", "sweep", str(experiment_file), "--out", str(tmp_path / "out"),
         "--workers", "2"],
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # stderr is a pipe: no progress bar
    assert "12 ok, 0 failed" in done.stdout
