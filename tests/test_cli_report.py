"""The command line's figures and report: ``ecssim report``, ``run --plots/--report/--narrate``,
``sweep --plots`` and ``plan --plots``; bad input exits 2 with a message and no traceback."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ecssim.analysis import load_result
from ecssim.analysis.plots import STANDARD_FIGURES, figure_names
from ecssim.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "demo.yaml"
SMALL = ROOT / "scenarios" / "teaching-3-instances.yaml"


def invoke(*args: object):
    return CliRunner().invoke(main, [str(a) for a in args])


def files_listed(folder: Path) -> list[str]:
    return json.loads((folder / "provenance.json").read_text())["files"]


def fits_in_two() -> dict:
    """6 tasks of 1 GiB on instances registering 3 GiB: 2 instances hold them (runs are quick)."""
    return {
        "name": "fits-in-two",
        "duration": "5m",
        "warmStart": True,
        "cluster": {"fleets": [{"name": "pool", "instanceType": "m5.large", "count": 1, "registeredMemory": 3072,
                                "availabilityZones": ["us-east-1a", "us-east-1b"]}]},
        "taskDefinitions": [{"family": "job", "containerDefinitions": [
            {"name": "work", "image": "repo/job:1", "cpu": 256, "memory": 1024}]}],
        "services": [{"serviceName": "job", "taskDefinition": "job", "desiredCount": 6}],
    }


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    path = tmp_path / "fits.yaml"
    path.write_text(yaml.safe_dump(fits_in_two(), sort_keys=False), encoding="utf-8")
    return path


def test_run_with_plots_and_report_writes_them_inside_the_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", DEMO, "--out", out, "--plots", "--report")
    assert result.exit_code == 0, result.output
    pngs = [f"{name}.png" for name in figure_names(load_result(out))]
    assert len(pngs) == len(STANDARD_FIGURES) - 2  # the demo has no capacity provider or demand curve
    assert not (out / "scaling.png").exists() and not (out / "demand.png").exists()
    for name in [*pngs, "report.html"]:
        assert (out / name).is_file(), name
        assert name in files_listed(out), name
    assert f"also written: {', '.join(pngs)}, report.html" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporary folder left
    html = (out / "report.html").read_text(encoding="utf-8")
    embedded = {base64.b64decode(b) for b in re.findall(r'src="data:image/png;base64,([^"]+)"', html)}
    assert {(out / name).read_bytes() for name in pngs} == embedded  # each figure drawn once, shown twice
    again = invoke("run", DEMO, "--out", out, "--force")  # everything in it is ecssim's: replaceable
    assert again.exit_code == 0, again.output
    assert not (out / "report.html").exists()


def test_run_with_animation_writes_a_gif_listed_in_the_provenance(tmp_path: Path) -> None:
    from PIL import Image

    out = tmp_path / "teach"
    result = invoke("run", SMALL, "--out", out, "--animation")
    assert result.exit_code == 0, result.output
    with Image.open(out / "animation.gif") as gif:
        assert gif.format == "GIF" and gif.n_frames >= 60  # 60 evenly spaced frames (+ one per fault)
    assert "animation.gif" in json.loads((out / "provenance.json").read_text())["files"]


def test_report_command_on_a_run_folder(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", SMALL, "--out", out).exit_code == 0
    written = invoke("report", out, "--rows", "3")
    assert written.exit_code == 0, written.output
    assert written.output.strip() == f"report written to {out / 'report.html'}"
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.count("<img ") == len(figure_names(load_result(out))) and 'data-table="events"' in text
    assert "report.html" in files_listed(out)
    again = invoke("report", out)
    assert again.exit_code == 2 and "--force" in again.output and "Traceback" not in again.output
    assert invoke("report", out, "--force").exit_code == 0


def test_report_command_refuses_what_is_not_ecssim_s(tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    result = invoke("report", plain)
    assert result.exit_code == 2
    assert "is not an ecssim result folder" in result.output and "Traceback" not in result.output
    assert list(plain.iterdir()) == []
    missing = invoke("report", tmp_path / "missing")
    assert missing.exit_code == 2 and "Traceback" not in missing.output
    out = tmp_path / "out"
    assert invoke("run", SMALL, "--out", out).exit_code == 0
    (out / "report.html").write_text("mine")
    foreign = invoke("report", out, "--force")
    assert foreign.exit_code == 2 and "not written by ecssim" in foreign.output
    assert (out / "report.html").read_text() == "mine"


def test_plots_and_report_need_an_output_folder(tmp_path: Path, scenario_file: Path) -> None:
    for option in ("--plots", "--report", "--animation"):
        result = invoke("run", SMALL, option)
        assert result.exit_code == 2 and "--out" in result.output and "Traceback" not in result.output
    plan = invoke("plan", scenario_file, "--parameter", "cluster.fleets[0].count", "--criterion",
                  "placement_failures <= 0", "--plots")
    assert plan.exit_code == 2 and "--out" in plan.output
    sweep = invoke("sweep", tmp_path / "exp.yaml", "--plots")
    assert sweep.exit_code == 2 and "--out" in sweep.output


def test_narrate_prints_the_story_before_the_summary() -> None:
    pytest.importorskip("ecssim.insight.narrate")  # helper N's module
    from ecssim.insight.narrate import narrate
    from ecssim.scenario import load_scenario
    from ecssim.simulation import simulate

    story = narrate(simulate(load_scenario(SMALL), seed=0)).rstrip("\n")
    result = invoke("run", SMALL, "--narrate")
    assert result.exit_code == 0, result.output
    assert story and result.output.startswith(story + "\n")
    assert result.output.index("ecssim: teaching-3-instances (seed 0)") > len(story)
    assert len(story.splitlines()) > 1


def test_plan_plots_are_written_and_listed(tmp_path: Path, scenario_file: Path) -> None:
    out = tmp_path / "plan"
    result = invoke("plan", scenario_file, "--parameter", "cluster.fleets[0].count", "--criterion",
                    "placement_failures <= 0", "--low", "1", "--high", "3", "--replications", "2",
                    "--workers", "1", "-q", "--out", out, "--plots")
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs and set(pngs) <= set(files_listed(out))
    assert all(name in result.output for name in pngs)
    report = invoke("report", out)  # a plan's folder is not a run's result
    assert report.exit_code == 2 and "holds an ecssim capacity plan" in report.output


def test_sweep_plots_are_written(tmp_path: Path, scenario_file: Path) -> None:
    experiment = tmp_path / "exp.yaml"
    experiment.write_text(yaml.safe_dump({"name": "tiny", "scenario": scenario_file.name, "seed": 1,
                                          "replications": 2, "axes": {"cluster.fleets[0].count": [1, 2]}}))
    out = tmp_path / "sweep"
    result = invoke("sweep", experiment, "--out", out, "--workers", "1", "-q", "--metric", "placement_failures",
                    "--plots")
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert pngs and "plots written: " in result.output
    assert all(name in result.output for name in pngs)
