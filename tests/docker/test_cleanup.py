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


class _Response:
    status_code = 409
    reason = "Conflict"


class _Refusing:
    """A container whose engine answers 409 Conflict to its first ``refusals`` removals."""

    def __init__(self, engine: _FakeEngine, name: str, run_id: str, refusals: int) -> None:
        self.id, self.engine, self.refusals = name, engine, refusals
        self.labels = container_labels(run_id, kind="task")

    def remove(self, force: bool = False) -> None:
        import docker

        if self.refusals:
            self.refusals -= 1
            raise docker.errors.APIError("removal of container is already in progress", response=_Response())
        self.engine.alive.remove(self)


class _FakeEngine:
    """Just what cleanup uses of a client: ``containers.list``."""

    def __init__(self) -> None:
        self.alive: list[_Refusing] = []
        self.containers = self

    def list(self, all: bool = False, filters: dict | None = None, ignore_removed: bool = False) -> list:  # noqa: A002, ARG002
        return list(self.alive)


def test_a_container_refused_with_409_is_asked_again_until_gone() -> None:
    pytest.importorskip("docker")
    engine, run = _FakeEngine(), new_run_id("test")
    engine.alive += [_Refusing(engine, "c-0", run, refusals=2), _Refusing(engine, "c-1", run, refusals=0)]
    assert cleanup(engine, run) == ["c-1"]  # a lone pass skips the refused one, as before
    assert [c.id for c in engine.alive] == ["c-0"]
    engine.alive[0].refusals = 2
    with cleaning_up(engine, run):
        pass
    assert engine.alive == []  # the block's clean-up kept asking within the settle window
