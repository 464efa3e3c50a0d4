"""The summary-only mode: the same summary as a full run, no tables kept or written."""

from __future__ import annotations

import json
import math

import pytest
from click.testing import CliRunner

import ecssim
from ecssim.analysis.online import LEFT_OUT_METRIC_NAMES, SUMMED_METRIC_NAMES
from ecssim.analysis.output import OutputFolderError
from ecssim.cli import main

SCENARIO = "scenarios/az-outage-terminated.yaml"


def _same(full: float, online: float, name: str) -> bool:
    if isinstance(full, float) and math.isnan(full):
        return isinstance(online, float) and math.isnan(online)
    if name in SUMMED_METRIC_NAMES:
        return online == pytest.approx(full, rel=1e-9, abs=0)
    return online == full


@pytest.mark.parametrize("seed", [1, 5])
def test_the_summary_is_a_full_runs_without_the_left_out_metric(seed):
    scenario = ecssim.load_scenario(SCENARIO)
    full = ecssim.simulate(scenario, seed=seed).summary()
    online = ecssim.Simulation(scenario, seed, summary_only=True).run_until().result().summary()
    assert list(online) == [name for name in full if name not in LEFT_OUT_METRIC_NAMES]
    assert [name for name in online if not _same(full[name], online[name], name)] == []


def test_a_summary_only_run_keeps_no_rows():
    sim = ecssim.Simulation(ecssim.load_scenario(SCENARIO), 1, summary_only=True)
    with pytest.raises(RuntimeError, match="at its end"):
        sim.result()
    with pytest.raises(RuntimeError, match="no rows to step"):
        sim.step()
    result = sim.run_until().result()
    with pytest.raises(AttributeError, match="keeps no 'tasks'"):
        result.tasks  # noqa: B018
    with pytest.raises(ValueError, match="choose one"):
        ecssim.Simulation(ecssim.load_scenario(SCENARIO), 1, summary_only=True, check_invariants=True)


def test_cli_writes_the_summary_and_nothing_else(tmp_path):
    out = tmp_path / "run"
    done = CliRunner().invoke(main, ["run", SCENARIO, "--seed", "2", "--summary-only", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert "summary written to" in done.output
    assert sorted(p.name for p in out.iterdir()) == ["provenance.json", "scenario.json", "summary.json"]
    written = json.loads((out / "summary.json").read_text())
    full = ecssim.simulate(ecssim.load_scenario(SCENARIO), seed=2).summary()
    assert written["tasks_created"] == full["tasks_created"]
    assert written["recovery_time_p95_s"] == full["recovery_time_p95_s"]
    assert json.loads((out / "provenance.json").read_text())["summary_only"] is True
    with pytest.raises(OutputFolderError, match="summary-only run"):
        ecssim.load_result(out)


@pytest.mark.parametrize("flag", ["--plots", "--report", "--narrate", "--check-invariants"])
def test_cli_refuses_what_needs_tables(tmp_path, flag):
    done = CliRunner().invoke(main, ["run", SCENARIO, "--summary-only", "--out", str(tmp_path / "o"), flag])
    assert done.exit_code == 2
    assert "--summary-only keeps no tables" in done.output and flag in done.output
    assert not (tmp_path / "o").exists()
