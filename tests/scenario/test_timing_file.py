"""A timing file (as ecssim docker-calibrate writes) laid over a scenario's timing, key by key."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ecssim.cli import main
from ecssim.scenario import ScenarioError, load_scenario

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo.yaml"
CALIBRATED = """\
# ecssim docker-calibrate: written by hand for this test
timing:
  containerStart: {type: lognormal, median: 0.136757, sigma: 0.0632}
  containerStop: {type: lognormal, median: 0.020822, sigma: 0.0634}
"""


def write(tmp_path: Path, text: str, name: str = "timing.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_file_replaces_its_keys_and_keeps_the_others(tmp_path: Path) -> None:
    own = load_scenario(DEMO)
    laid = load_scenario(DEMO, timing=write(tmp_path, CALIBRATED))
    assert laid.timing.container_start.median == pytest.approx(0.136757)
    assert laid.timing.container_start.sigma == pytest.approx(0.0632)
    assert laid.timing.container_stop.median == pytest.approx(0.020822)
    assert laid.timing.container_start != own.timing.container_start
    assert laid.timing.image_pull == own.timing.image_pull
    assert laid.timing.service_reaction == own.timing.service_reaction


def test_errors_name_the_timing_file_and_the_field(tmp_path: Path) -> None:
    bad = write(tmp_path, "timing:\n  containerStart: {type: lognormal, median: -1, sigma: 0.1}\n")
    with pytest.raises(ScenarioError) as caught:
        load_scenario(DEMO, timing=bad)
    assert str(caught.value).startswith(f"{bad}: timing.containerStart.median:")
    other = write(tmp_path, "timing: {}\ncluster: {}\n", "other.yaml")
    with pytest.raises(ScenarioError, match=r"other.yaml: cluster: a timing file holds only a timing: section"):
        load_scenario(DEMO, timing=other)
    with pytest.raises(ScenarioError, match=r"missing.yaml: file not found"):
        load_scenario(DEMO, timing=tmp_path / "missing.yaml")


def test_run_takes_the_timing_file(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["run", str(DEMO), "--timing", str(write(tmp_path, CALIBRATED)),
                                       "--out", str(out)])
    assert result.exit_code == 0, result.output
    saved = (out / "scenario.json").read_text(encoding="utf-8")
    assert '"median": 0.136757' in saved  # the resolved scenario records the timing the run used
    bad = CliRunner().invoke(main, ["run", str(DEMO), "--timing", str(write(tmp_path, "timing: [1]\n", "b.yaml"))])
    assert bad.exit_code == 2 and "b.yaml: timing: expected a mapping" in bad.output
    assert "Traceback" not in bad.output
