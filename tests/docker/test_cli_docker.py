"""``ecssim docker-calibrate`` and ``ecssim docker-cleanup``: exit codes and messages."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ecssim.cli import main
from ecssim.docker import container_labels, managed_containers, new_run_id
from ecssim.docker.calibrate import MARKER
from ecssim.docker.images import WORKLOAD_NETWORK_MODE, workload_command


@pytest.mark.parametrize("command", [["docker-calibrate", "--out", "timing.yaml"], ["docker-cleanup"]])
def test_no_engine_exits_2_with_how_to_start_one(tmp_path: Path, command: list[str],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, command, env={"DOCKER_HOST": f"unix://{tmp_path}/missing.sock"})
    assert result.exit_code == 2, result.output
    assert "no usable Docker engine" in result.output and "Docker-backed validation" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "timing.yaml").exists()


def test_calibrate_refuses_to_overwrite(tmp_path: Path) -> None:
    target = tmp_path / "timing.yaml"
    target.write_text("timing: {}\n")
    for extra in ([], ["--force"]):
        result = CliRunner().invoke(main, ["docker-calibrate", "--out", str(target), *extra])
        assert result.exit_code == 2 and "Traceback" not in result.output
    assert "use --force" in CliRunner().invoke(main, ["docker-calibrate", "--out", str(target)]).output
    assert target.read_text() == "timing: {}\n"


def test_calibrate_writes_and_force_replaces_its_own_file(engine, tmp_path: Path) -> None:  # noqa: ANN001
    target = tmp_path / "timing.yaml"
    for extra in ([], ["--force"]):
        result = CliRunner().invoke(main, ["docker-calibrate", "--out", str(target), "--samples", "2",
                                           "--max-burst", "2", *extra])
        assert result.exit_code == 0, result.output
        assert target.read_text().startswith(MARKER) and (tmp_path / "timing.samples.csv").exists()
        assert "containerStart" in result.output and "oomKill" in result.output
    assert CliRunner().invoke(main, ["docker-calibrate", "--out", str(target)]).exit_code == 2


def test_cleanup_command_removes_a_runs_containers(engine, image) -> None:  # noqa: ANN001
    run = new_run_id("test")
    container = engine.containers.create(image, workload_command(), labels=container_labels(run, kind="task"),
                                         network_mode=WORKLOAD_NETWORK_MODE)
    result = CliRunner().invoke(main, ["docker-cleanup", "--run", run])
    assert result.exit_code == 0, result.output
    assert f"removed 1 ecssim container(s) of run {run}" in result.output and container.short_id in result.output
    assert managed_containers(engine, run) == []
