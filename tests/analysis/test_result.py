"""Result folders: round trip, byte-identical CSV, and the output-folder rules."""

from __future__ import annotations

import importlib.util
import json
import math

import pandas as pd
import pytest

from ecssim.analysis import (
    TABLE_NAMES,
    MissingExtraError,
    OutputFolderError,
    build_result,
    load_result,
)
from ecssim.analysis import output as output_module

SCENARIO = {"name": "outage", "cluster": {"fleets": [{"instanceType": "m5.large"}]}}
HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


@pytest.fixture
def make_result(logs):
    """Builds a fresh Result of the outage log each call (equal logs, equal results)."""

    def make(start_time: str | None = "2024-05-01T09:00:00+02:00"):
        return build_result(logs.outage(logs.LogBuilder()), scenario=SCENARIO, seed=7,
                            replication=2, duration_s=200, measure_from_s=0,
                            start_time=start_time)

    return make


def assert_same(a, b):
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)
    sa, sb = a.summary(), b.summary()
    assert list(sa) == list(sb)
    assert all(sa[k] == sb[k] or (math.isnan(sa[k]) and math.isnan(sb[k])) for k in sa)
    assert (a.scenario, a.seed, a.replication) == (b.scenario, b.seed, b.replication)
    assert (a.duration_s, a.measure_from_s, a.start_time) == (b.duration_s, b.measure_from_s,
                                                              b.start_time)


@pytest.mark.parametrize("start_time", [None, "2024-05-01T09:00:00+02:00", "2024-05-01T07:00Z"])
def test_csv_round_trip(tmp_path, start_time, make_result):
    result = make_result(start_time)
    result.save(tmp_path / "run")
    assert_same(result, load_result(tmp_path / "run"))


@pytest.mark.skipif(not HAS_PYARROW, reason="pyarrow not installed")
def test_parquet_round_trip(tmp_path, make_result):
    result = make_result()
    result.save(tmp_path / "run", format="parquet")
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == sorted(
        [f"{n}.parquet" for n in TABLE_NAMES] + ["summary.json", "scenario.json",
                                                 "provenance.json"]
    )
    assert_same(result, load_result(tmp_path / "run"))


def test_parquet_without_pyarrow_names_the_extra(tmp_path, monkeypatch, make_result):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "pyarrow" else real(name, *a))
    with pytest.raises(MissingExtraError, match=r"pip install 'ecssim\[parquet\]'"):
        make_result().save(tmp_path / "run", format="parquet")
    assert not (tmp_path / "run").exists()


def test_folder_contents(tmp_path, make_result):
    result = make_result()
    result.save(tmp_path / "run")
    folder = tmp_path / "run"
    names = sorted(p.name for p in folder.iterdir())
    assert names == sorted([f"{n}.csv" for n in TABLE_NAMES] + ["summary.json",
                                                                "scenario.json",
                                                                "provenance.json"])
    provenance = json.loads((folder / "provenance.json").read_text())
    assert provenance["ecssim_result"] == 1
    assert (provenance["seed"], provenance["replication"], provenance["format"]) == (7, 2, "csv")
    for key in ("ecssim_version", "python_version", "numpy_version", "pandas_version",
                "simpy_version"):
        assert provenance[key]
    assert json.loads((folder / "scenario.json").read_text()) == SCENARIO
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["recovery_time_mean_s"] == 40.0
    assert "NaN" not in (folder / "summary.json").read_text()
    assert json.loads((folder / "summary.json").read_text())["recovery_time_p95_s"] == 40.0
    assert list(tmp_path.iterdir()) == [folder]  # no temporary sibling left


def test_new_tables_and_columns_round_trip(tmp_path, make_result):
    result = make_result()
    assert result.availability["service"].tolist() == ["web"]
    assert result.recovery.loc[0, "time_to_healthy_s"] == 80.0
    assert "healthy_after_s" not in result.provenance  # the simulator decides health now
    result.save(tmp_path / "run")
    loaded = load_result(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.availability, result.availability)
    pd.testing.assert_frame_equal(loaded.recovery, result.recovery)
    assert loaded.summary()["mttr_service_web_mean_s"] == 40.0
    assert list(loaded.summary()) == list(result.summary())
    assert loaded.service_counts()["healthy"].tolist() == result.service_counts()["healthy"].tolist()


def test_nan_summary_is_null(tmp_path, tiny):
    build_result(tiny, scenario={}, seed=1, replication=0, duration_s=200).save(tmp_path / "r")
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["service_availability_mean"] is None
    loaded = load_result(tmp_path / "r").summary()
    assert math.isnan(loaded["service_availability_mean"])


def test_csv_is_byte_identical_for_equal_logs(tmp_path, make_result):
    make_result().save(tmp_path / "a")
    make_result().save(tmp_path / "b")
    for file in sorted((tmp_path / "a").iterdir()):
        assert file.read_bytes() == (tmp_path / "b" / file.name).read_bytes(), file.name


def test_empty_folder_is_used(tmp_path, make_result):
    (tmp_path / "run").mkdir()
    make_result().save(tmp_path / "run")
    assert (tmp_path / "run" / "events.csv").exists()


def test_user_folder_refused_even_with_force(tmp_path, make_result):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    for force in (False, True):
        with pytest.raises(OutputFolderError, match="not written by ecssim"):
            make_result().save(folder, force=force)
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine"]


def test_file_in_place_of_folder_refused(tmp_path, make_result):
    (tmp_path / "run").write_text("x")
    with pytest.raises(OutputFolderError, match="not a folder"):
        make_result().save(tmp_path / "run", force=True)


def test_ecssim_folder_needs_force_then_is_replaced(tmp_path, make_result):
    folder = tmp_path / "run"
    make_result(start_time=None).save(folder)
    with pytest.raises(OutputFolderError, match="force=True"):
        make_result().save(folder)
    result = make_result()
    result.save(folder, force=True)
    assert_same(result, load_result(folder))  # the new one, with timestamps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_ecssim_folder_with_user_files_refused_even_with_force(tmp_path, make_result):
    folder = tmp_path / "run"
    make_result().save(folder)
    (folder / "my-plot.png").write_bytes(b"user data")
    with pytest.raises(OutputFolderError, match="my-plot.png"):
        make_result().save(folder, force=True)
    assert (folder / "my-plot.png").read_bytes() == b"user data"


def _fail_on_third_table(monkeypatch):
    real = output_module.write_table
    calls = []

    def failing(df, folder, name, fmt):
        calls.append(name)
        if len(calls) == 3:
            raise OSError("disk full")
        return real(df, folder, name, fmt)

    monkeypatch.setattr(output_module, "write_table", failing)


def test_interrupted_save_leaves_new_target_absent(tmp_path, monkeypatch, make_result):
    _fail_on_third_table(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        make_result().save(tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_save_leaves_old_result_untouched(tmp_path, monkeypatch, make_result):
    folder = tmp_path / "run"
    make_result(start_time=None).save(folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    _fail_on_third_table(monkeypatch)
    with pytest.raises(OSError, match="disk full"):
        make_result().save(folder, force=True)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_load_refuses_a_foreign_folder(tmp_path):
    with pytest.raises(OutputFolderError, match="not an ecssim result"):
        load_result(tmp_path)


def test_load_names_the_tables_an_older_folder_lacks(tmp_path, make_result):
    folder = tmp_path / "run"
    make_result(start_time=None).save(folder)
    (folder / "cost.csv").unlink()
    with pytest.raises(OutputFolderError, match=r"has no cost\.csv: it was written by ecssim .* run its scenario again"):
        load_result(folder)


def test_csv_bytes_do_not_depend_on_hash_seed(tmp_path):
    """Two fresh processes with different PYTHONHASHSEED write identical folders."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    script = (
        "import sys; sys.path.insert(0, sys.argv[2])\n"
        "from conftest import LogBuilder, outage_log\n"
        "from ecssim.analysis import build_result\n"
        "log = outage_log(LogBuilder())\n"
        "build_result(log, scenario={'b': 1, 'a': 2}, seed=1, replication=0, duration_s=200,\n"
        "             start_time='2024-05-01T09:00:00Z').save(sys.argv[1])\n"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        subprocess.run([sys.executable, "-c", script, str(tmp_path / seed), str(here)],
                       check=True, env=env, cwd=here.parents[1])
    for file in sorted((tmp_path / "1").iterdir()):
        assert file.read_bytes() == (tmp_path / "2" / file.name).read_bytes(), file.name


def test_awkward_floats_round_trip_exactly(tmp_path, logs):
    b = logs.LogBuilder()
    b.instance("i-a", "az1", active=1 / 3)
    b.task("t-000001", "i-a", created=0.1 + 0.2, running=1e-7 + 2 / 3, stopping=1e9 / 7,
           stopped=1e9 / 7 + 1e-6)
    result = build_result(b.build(), scenario={}, seed=0, replication=0, duration_s=1e9)
    result.save(tmp_path / "r")
    loaded = load_result(tmp_path / "r")
    pd.testing.assert_frame_equal(result.events, loaded.events)
    pd.testing.assert_frame_equal(result.tasks, loaded.tasks)
