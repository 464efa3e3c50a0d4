"""Sweeps: identical tables whatever the executor, common random numbers, one run alone,
the aggregate recomputed from the runs, resume after an interruption, failed runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import ecssim
from ecssim.analysis import OutputFolderError
from ecssim.experiments import Experiment, SweepInterrupted, experiment, load_experiment, run_spec
from ecssim.experiments import executors as executors_module
from ecssim.experiments import runner as runner_module
from ecssim.experiments.runner import simulate_run

from .conftest import require_dask, small_scenario


@pytest.fixture(scope="module")
def serial_result(tmp_path_factory) -> ecssim.ExperimentResult:
    folder = tmp_path_factory.mktemp("sweep")
    scenario = folder / "small.yaml"
    scenario.write_text(json.dumps(small_scenario()), encoding="utf-8")
    exp = Experiment(small_scenario(), axes={"cluster.fleets[0].count": [3, 4],
                                             "timing.serviceReaction.period": ["10s", "30s"]},
                     replications=3, seed=7, base_dir=folder)
    return experiment(exp, executor="serial", out=folder / "out", progress=False)


def test_runs_table_has_one_row_per_run_with_axes_and_summary(serial_result):
    runs = serial_result.runs
    assert list(runs.columns[:5]) == ["point", "replication", "cluster.fleets[0].count",
                                      "timing.serviceReaction.period", "status"]
    assert list(zip(runs.point, runs.replication, strict=True)) == [(p, r) for p in range(4) for r in range(3)]
    assert set(runs.status) == {"ok"} and set(runs.error) == {""}
    assert list(runs["cluster.fleets[0].count"]) == [3] * 6 + [4] * 6
    for name in ("recovery_time_p95_s", "tasks_started", "incidents", "service_availability_mean"):
        assert name in runs.columns
    assert runs.incidents.min() > 0  # the faults do happen: the test can tell runs apart


def test_aggregate_is_recomputed_from_the_runs_table(serial_result):
    runs, agg = serial_result.runs, serial_result.aggregate
    assert list(agg.columns) == ["point", "cluster.fleets[0].count", "timing.serviceReaction.period",
                                 "metric", "n", "mean", "std", "ci_low", "ci_high", "confidence"]
    for point in range(4):
        for metric in ("mean_tasks_running", "recovery_time_mean_s", "tasks_created"):
            values = runs.loc[runs.point == point, metric].dropna().to_numpy(float)
            row = agg[(agg.point == point) & (agg.metric == metric)].iloc[0]
            assert row.n == len(values)
            assert row["mean"] == pytest.approx(values.mean(), rel=1e-12)
            assert row["std"] == pytest.approx(values.std(ddof=1), rel=1e-9)
            if values.std() > 0:
                low, high = stats.t.interval(0.95, len(values) - 1, loc=values.mean(), scale=stats.sem(values))
                assert (row.ci_low, row.ci_high) == pytest.approx((low, high), rel=1e-9)
            else:
                assert row.ci_low == row.ci_high == row["mean"]


def test_processes_give_identical_tables(serial_result):
    again = experiment(serial_result.experiment, executor="processes", workers=2, progress=False)
    pd.testing.assert_frame_equal(again.runs, serial_result.runs)
    pd.testing.assert_frame_equal(again.aggregate, serial_result.aggregate)


def test_dask_local_cluster_gives_identical_tables(serial_result):
    require_dask()
    again = experiment(serial_result.experiment, executor="dask", workers=2, progress=False)
    pd.testing.assert_frame_equal(again.runs, serial_result.runs)
    pd.testing.assert_frame_equal(again.aggregate, serial_result.aggregate)


def test_dask_at_a_scheduler_address(serial_result):
    require_dask()
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        again = experiment(serial_result.experiment, dask_address=cluster.scheduler_address, progress=False)
    pd.testing.assert_frame_equal(again.aggregate, serial_result.aggregate)


def test_one_run_alone_reproduces_its_row(serial_result):
    exp = serial_result.experiment
    alone = simulate_run(run_spec(exp, 2, 1)).summary()
    row = serial_result.runs.query("point == 2 and replication == 1").iloc[0]
    for name, value in alone.items():
        assert (math.isnan(value) and math.isnan(row[name])) or row[name] == value, name


def fault_rows(exp: Experiment, point: int, replication: int) -> pd.DataFrame:
    events = simulate_run(run_spec(exp, point, replication)).events
    rows = events[(events.entity == "fault") & (events.event == "fault")]
    return rows[["time_s", "to_state", "instance_id"]].reset_index(drop=True)


def test_common_random_numbers_across_points():
    # The two points differ only in the reconcile period, which draws nothing for the faults.
    exp = Experiment(small_scenario(), axes={"timing.serviceReaction.period": ["10s", "30s"]},
                     replications=2, seed=3)
    first, other_point = fault_rows(exp, 0, 0), fault_rows(exp, 1, 0)
    hosts = first[first.to_state == "instance_failure"]
    assert len(hosts) >= 1
    # same replication, other point: the same instance failures at the same times
    pd.testing.assert_frame_equal(other_point[other_point.to_state == "instance_failure"], hosts)
    # the same crash draws: the first two crashes hit warm-started tasks, identical; later ones
    # hit replacements, which the slower reconcile starts later, so they shift with them
    crashes = first[first.to_state == "task_crash"]
    other_crashes = other_point[other_point.to_state == "task_crash"]
    pd.testing.assert_frame_equal(other_crashes.iloc[:2], crashes.iloc[:2])
    assert (other_crashes.time_s.to_numpy() >= crashes.time_s.to_numpy()).all()
    # another replication draws other faults
    assert not fault_rows(exp, 0, 1).equals(first)


def test_the_folder_holds_the_manifest_and_tables(serial_result):
    out = serial_result.out
    names = {p.name for p in out.iterdir()}
    assert {"experiment.json", "provenance.json", "manifest.jsonl", "runs.csv", "aggregate.csv",
            "failures.csv"} <= names
    lines = (out / "manifest.jsonl").read_text().splitlines()
    assert len(lines) == 12 and all(json.loads(line)["status"] == "ok" for line in lines)
    runs = pd.read_csv(out / "runs.csv")
    assert len(runs) == 12 and runs.tasks_created.tolist() == serial_result.runs.tasks_created.tolist()
    assert "ecssim_sweep" in json.loads((out / "provenance.json").read_text())


def test_full_tables_are_written_per_run(tmp_path: Path):
    exp = Experiment(small_scenario(), replications=2, seed=1)
    result = experiment(exp, executor="serial", out=tmp_path / "out", tables=True, progress=False)
    for r in range(2):
        stored = ecssim.load_result(tmp_path / "out" / "runs" / f"p0000-r{r:04d}")
        assert stored.summary()["tasks_created"] == result.runs.tasks_created[r]
        assert stored.replication == r and stored.seed == 1


class Interrupting:
    """An executor wrapper that presses Ctrl-C after ``after`` runs, counting what it ran."""

    def __init__(self, after: int | None) -> None:
        self.after, self.ran = after, []

    def __call__(self, kind=None, **options):
        outer = self
        inner = executors_module.SerialExecutor()

        class Wrapped:
            def __enter__(self):
                return self

            def __exit__(self, *exc):
                return None

            def map(self, specs):
                for record in inner.map(specs):
                    outer.ran.append(record.key)
                    yield record
                    if outer.after is not None and len(outer.ran) >= outer.after:
                        raise KeyboardInterrupt

        return Wrapped()


def test_an_interrupted_sweep_resumes_with_only_the_missing_runs(tmp_path: Path, experiment_file: Path,
                                                                 monkeypatch: pytest.MonkeyPatch):
    import ecssim.experiments.sweep as sweep_module

    out = tmp_path / "out"
    first = Interrupting(after=5)
    monkeypatch.setattr(sweep_module, "make_executor", first)
    with pytest.raises(SweepInterrupted, match=r"after 5 of 12 runs; resume with: ecssim sweep --resume"):
        experiment(experiment_file, out=out, progress=False)
    assert len((out / "manifest.jsonl").read_text().splitlines()) == 5
    assert not (out / "runs.csv").exists()

    second = Interrupting(after=None)
    monkeypatch.setattr(sweep_module, "make_executor", second)
    resumed = experiment(None, out=out, resume=True, progress=False)
    assert sorted(second.ran) == sorted(set(
        (p, r) for p in range(4) for r in range(3)) - set(first.ran))
    monkeypatch.undo()
    fresh = experiment(experiment_file, executor="serial", progress=False)
    pd.testing.assert_frame_equal(resumed.runs, fresh.runs)
    pd.testing.assert_frame_equal(pd.read_csv(out / "aggregate.csv"), pd.read_csv(_csv(fresh.aggregate, tmp_path)))


def _csv(frame: pd.DataFrame, folder: Path) -> Path:
    path = folder / "fresh.csv"
    frame.to_csv(path, index=False, lineterminator="\n")
    return path


def test_resume_refuses_another_experiment_and_foreign_folders(tmp_path: Path, experiment_file: Path):
    out = tmp_path / "out"
    experiment(load_experiment(experiment_file), executor="serial", out=out, progress=False)
    other = Experiment(small_scenario(), replications=2)
    with pytest.raises(OutputFolderError, match="differs from the one the folder was started with"):
        experiment(other, out=out, resume=True, progress=False)
    with pytest.raises(OutputFolderError, match="holds an ecssim sweep: finish it with --resume"):
        experiment(experiment_file, out=out, progress=False)
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="not empty; choose a new or empty folder"):
        experiment(experiment_file, out=mine, progress=False)
    with pytest.raises(OutputFolderError, match="cannot resume"):
        experiment(None, out=mine, resume=True, progress=False)
    assert (mine / "notes.txt").read_text() == "mine"
    # resuming a complete sweep runs nothing and rewrites the same tables
    before = (out / "runs.csv").read_bytes()
    experiment(None, out=out, resume=True, executor="serial", progress=False)
    assert (out / "runs.csv").read_bytes() == before


def test_a_failed_run_is_recorded_and_the_sweep_goes_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    real = runner_module.simulate_run

    def flaky(spec):
        if spec.replication == 1:
            raise RuntimeError("boom in the model")
        return real(spec)

    monkeypatch.setattr(runner_module, "simulate_run", flaky)
    exp = Experiment(small_scenario(), axes={"services[web].desiredCount": [4, 6]}, replications=3)
    result = experiment(exp, executor="serial", out=tmp_path / "out", progress=False)
    assert list(result.runs.status) == ["ok", "failed", "ok"] * 2
    assert list(result.failures.point) == [0, 1] and set(result.failures.replication) == {1}
    assert result.failures.error.iloc[0] == "RuntimeError: boom in the model"
    assert "Traceback" in result.failures.traceback.iloc[0]
    assert set(result.aggregate.n[result.aggregate.metric == "tasks_created"]) == {2}
    # a resume re-runs the failed runs only
    monkeypatch.setattr(runner_module, "simulate_run", real)
    resumed = experiment(None, out=tmp_path / "out", resume=True, executor="serial", progress=False)
    assert set(resumed.runs.status) == {"ok"} and resumed.failures.empty


def test_progress_bar_shows_runs_when_asked(capsys):
    exp = Experiment(small_scenario(), replications=2)
    experiment(exp, executor="serial", progress=True)
    assert "2/2" in capsys.readouterr().err
    experiment(exp, executor="serial")  # not a terminal under pytest: quiet
    assert capsys.readouterr().err == ""


def test_bad_arguments():
    exp = Experiment(small_scenario())
    with pytest.raises(ValueError, match="need an output folder"):
        experiment(exp, tables=True)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        experiment(exp, workers=0)
    with pytest.raises(ValueError, match="unknown executor"):
        experiment(exp, executor="threads")
    with pytest.raises(ValueError, match="replication 3 does not exist"):
        run_spec(exp, 0, 3)
    with pytest.raises(ValueError, match="point 1 does not exist"):
        run_spec(exp, 1, 0)


def test_metric_lookup(serial_result):
    frame = serial_result.metric("tasks_created")
    assert list(frame.point) == [0, 1, 2, 3]
    with pytest.raises(KeyError, match="no summary metric 'nope'"):
        serial_result.metric("nope")
    assert np.isfinite(frame["mean"]).all()
