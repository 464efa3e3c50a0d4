"""The stand-in workload image and the command that plays a task."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from ecssim.docker import (
    WORKLOAD_IMAGE,
    EventReader,
    WorkloadImageError,
    ensure_workload_image,
    event_filters,
    kill_main_process,
    workload_command,
)
from ecssim.docker.images import HOG_SIGNAL, find_busybox, is_static_elf


def test_busybox_must_be_static(tmp_path: Path) -> None:
    assert is_static_elf(find_busybox())
    assert not is_static_elf(Path(sys.executable).resolve())  # CPython links libc dynamically
    with pytest.raises(WorkloadImageError, match="apt-get install busybox-static"):
        find_busybox((tmp_path / "busybox",))
    with pytest.raises(WorkloadImageError, match="dynamically linked"):
        find_busybox((Path(sys.executable).resolve(),))


def test_workload_command_checks_its_arguments() -> None:
    assert workload_command(duration_s=1.5, exit_code=2)[:2] == ["sh", "-c"]
    assert "sleep 1.5 & wait" in workload_command(duration_s=1.5)[2]
    with pytest.raises(ValueError):
        workload_command(exit_code=256)
    with pytest.raises(ValueError):
        workload_command(duration_s=-1)


def test_image_is_built_once_and_reused(engine, image) -> None:  # noqa: ANN001
    assert image == WORKLOAD_IMAGE
    built = engine.images.get(image)
    assert built.attrs["Config"]["Env"] == ["PATH=/bin"] and built.attrs["Config"]["Cmd"] == ["sh"]
    assert not built.labels  # containers inherit image labels: none may look like ecssim's
    started = time.monotonic()
    assert ensure_workload_image(engine) == image
    assert engine.images.get(image).id == built.id and time.monotonic() - started < 1


def test_workload_runs_its_duration_and_exits_with_its_code(engine, start, run_id) -> None:  # noqa: ANN001
    with EventReader(engine, event_filters(run_id)) as reader:
        container = start(workload_command(duration_s=0.5, exit_code=3))
        started = reader.wait_for(container.id, "start", 10)
        died = reader.wait_for(container.id, "die", 10)
    assert container.wait(timeout=10)["StatusCode"] == 3
    assert 0.45 < died.time_s - started.time_s < 2.0


def test_workload_without_duration_runs_until_sigterm_and_exits_143_at_once(engine, start) -> None:  # noqa: ANN001
    container = start(workload_command())
    time.sleep(0.3)
    container.reload()
    assert container.status == "running"
    stopping = time.monotonic()
    container.stop(timeout=10)
    assert time.monotonic() - stopping < 2  # the trap, not the 10 s timeout
    assert container.wait(timeout=10)["StatusCode"] == 143


def test_memory_hog_is_oom_killed_under_its_limit(engine, start, run_id) -> None:  # noqa: ANN001
    with EventReader(engine, event_filters(run_id)) as reader:
        container = start(workload_command(duration_s=0.3, memory_hog=True), mem_limit="16m", memswap_limit="16m")
        started = reader.wait_for(container.id, "start", 10)
        oom = reader.wait_for(container.id, "oom", 20)
        reader.wait_for(container.id, "die", 10)
    container.reload()
    state = container.attrs["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    assert container.attrs["HostConfig"]["Memory"] == 16 * 2**20
    assert oom.time_s - started.time_s >= 0.25  # it ran its duration before allocating
    assert container.labels["ecssim.managed"] == "true" and container.labels["ecssim.kind"] == "task"


def test_armed_workload_hogs_memory_on_its_signal_and_is_oom_killed(engine, start, run_id) -> None:  # noqa: ANN001
    with EventReader(engine, event_filters(run_id)) as reader:
        container = start(workload_command(hog_on_signal=True), mem_limit="16m", memswap_limit="16m")
        reader.wait_for(container.id, "start", 10)
        time.sleep(0.3)
        container.reload()
        assert container.status == "running"  # armed, it waits for the signal like any workload
        signalled = time.time()
        kill_main_process(container, HOG_SIGNAL)
        oom = reader.wait_for(container.id, "oom", 20)
        died = reader.wait_for(container.id, "die", 10)
    container.reload()
    state = container.attrs["State"]
    assert state["OOMKilled"] is True and state["ExitCode"] == 137
    assert died.attributes["exitCode"] == "137"
    assert oom.time_s >= signalled - 0.05  # the signal, not a timer, set off the allocation


def test_armed_workload_still_exits_143_on_sigterm(engine, start) -> None:  # noqa: ANN001
    container = start(workload_command(hog_on_signal=True), mem_limit="16m", memswap_limit="16m")
    time.sleep(0.3)
    container.stop(timeout=10)
    container.reload()
    assert container.wait(timeout=10)["StatusCode"] == 143
    assert container.attrs["State"]["OOMKilled"] is False
