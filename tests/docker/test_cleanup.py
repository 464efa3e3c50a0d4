"""Cleanup removes ecssim's containers, and only those, however a run ends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ecssim.docker import (
    cleaning_up,
    cleanup,
    container_filters,
    container_labels,
    managed_containers,
    new_run_id,
)
from ecssim.docker.images import WORKLOAD_NETWORK_MODE, workload_command


def _create(engine, image: str, labels: dict[str, str] | None):  # noqa: ANN001, ANN202
    return engine.containers.create(image, workload_command(), labels=labels or {},
                                    network_mode=WORKLOAD_NETWORK_MODE)


def test_cleanup_removes_only_labelled_containers(engine, image) -> None:  # noqa: ANN001
    run_a, run_b = new_run_id("test"), new_run_id("test")
    a = [_create(engine, image, container_labels(run_a, kind="task", task=f"t-{i}")) for i in range(2)]
    b = _create(engine, image, container_labels(run_b, kind="calibration"))
    a[0].start()  # running containers are removed too (force)
    strangers = [_create(engine, image, None),  # a user's container from our image
                 _create(engine, image, {"ecssim.run": run_a}),  # half our labels: not ours
                 _create(engine, image, {"ecssim.managed": "false", "ecssim.run": run_a})]
    try:
        assert sorted(cleanup(engine, run_a)) == sorted(c.id for c in a)
        left = {c.id for c in managed_containers(engine)}
        assert b.id in left and not left & {c.id for c in a}
        assert b.id in cleanup(engine)
        assert managed_containers(engine) == []
        for stranger in strangers:
            stranger.reload()  # still there
    finally:
        for stranger in strangers:
            stranger.remove(force=True)


def test_context_manager_cleans_up_after_an_error(engine, image) -> None:  # noqa: ANN001
    run = new_run_id("test")
    with pytest.raises(RuntimeError, match="boom"), cleaning_up(engine, run) as yielded:
        assert yielded == run
        _create(engine, image, container_labels(run, kind="task")).start()
        assert len(managed_containers(engine, run)) == 1
        raise RuntimeError("boom")
    assert managed_containers(engine, run) == []
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # restored


def _calibration_containers(engine) -> list:  # noqa: ANN001
    return engine.containers.list(all=True, filters=container_filters(kind="calibration"))


@pytest.mark.parametrize(("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_interrupted_calibration_leaves_no_container(engine, image, tmp_path: Path, sig: int,  # noqa: ANN001
                                                     status: int) -> None:
    out = tmp_path / "timing.yaml"
    process = subprocess.Popen([sys.executable, "-m", "ecssim.cli", "docker-calibrate", "--out", str(out),
                                "--samples", "500"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               env={**os.environ}, text=True)
    try:
        deadline = time.monotonic() + 30
        while not _calibration_containers(engine):  # wait until it is busy with containers
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the calibration never started a container"
            time.sleep(0.05)
        time.sleep(0.3)
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == status, stderr
    assert "Traceback" not in stderr
    assert _calibration_containers(engine) == []
    assert not out.exists()
