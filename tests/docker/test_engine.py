"""The engine connection, the labels and the event stream."""

from __future__ import annotations

import time

import pytest

from ecssim.docker import (
    EngineInfo,
    EngineUnavailable,
    EventReader,
    HostKillUnavailable,
    connect,
    event_filters,
    kill_main_process,
    workload_command,
)
from ecssim.docker.engine import MIN_API_VERSION, parse_event
from ecssim.docker.labels import container_labels, ecssim_labels, is_managed, label_filter, new_run_id


def test_no_engine_says_how_to_start_one(tmp_path) -> None:  # noqa: ANN001
    missing = f"unix://{tmp_path}/missing.sock"
    with pytest.raises(EngineUnavailable) as caught:
        connect(missing, timeout_s=5)
    message = str(caught.value)
    assert missing in message
    assert 'README section "Docker-backed validation"' in message
    assert "dockerd --data-root" in message and "--bridge=none" in message and "DOCKER_HOST" in message


def test_connect_checks_the_api_version(engine) -> None:  # noqa: ANN001
    info = EngineInfo.of(engine)
    assert tuple(map(int, info.api_version.split("."))) >= tuple(map(int, MIN_API_VERSION.split(".")))
    assert info.describe().startswith(f"Docker {info.version} (API {info.api_version})")


def test_labels_and_filters() -> None:
    run = new_run_id("test")
    labels = container_labels(run, kind="task", task="t-3", instance="i-2", service="web")
    assert labels == {"ecssim.managed": "true", "ecssim.run": run, "ecssim.kind": "task",
                      "ecssim.task": "t-3", "ecssim.instance": "i-2", "ecssim.service": "web"}
    assert container_labels(run, kind="calibration") == {"ecssim.managed": "true", "ecssim.run": run,
                                                         "ecssim.kind": "calibration"}
    with pytest.raises(ValueError, match="unknown container kind"):
        container_labels(run, kind="other")  # type: ignore[arg-type]
    assert label_filter() == ["ecssim.managed=true"]
    assert label_filter(run, "task") == ["ecssim.managed=true", f"ecssim.run={run}", "ecssim.kind=task"]
    assert event_filters(run) == {"type": ["container"], "label": ["ecssim.managed=true", f"ecssim.run={run}"]}
    assert is_managed(labels) and is_managed(labels, run) and not is_managed(labels, "other")
    assert not is_managed({"ecssim.run": run}) and not is_managed({"ecssim.managed": "false", "ecssim.run": run})
    assert not is_managed(None)
    assert ecssim_labels({"name": "x", "exitCode": "0", **labels}) == labels
    assert new_run_id("a") != new_run_id("a")


def test_parse_event_keeps_nanoseconds_and_splits_labels() -> None:
    raw = {"Type": "container", "Action": "die", "timeNano": 1_700_000_000_123_456_789, "time": 1_700_000_000,
           "Actor": {"ID": "abc", "Attributes": {"exitCode": "3", "name": "n", "ecssim.run": "r"}}}
    event = parse_event(raw)
    assert event.time_ns == 1_700_000_000_123_456_789
    assert event.time_s == pytest.approx(1_700_000_000.123456789)
    assert (event.action, event.container_id, event.labels) == ("die", "abc", {"ecssim.run": "r"})
    assert event.attributes["exitCode"] == "3"
    assert parse_event({"Type": "network", "Action": "connect"}) is None


def test_event_reader_reports_a_container_life_in_order(engine, start, run_id) -> None:  # noqa: ANN001
    before = time.time()
    with EventReader(engine, event_filters(run_id)) as reader:
        container = start(workload_command(duration_s=0.2, exit_code=4))
        died = reader.wait_for(container.id, "die", timeout_s=10)  # skips create and start...
        started = reader.wait_for(container.id, "start", timeout_s=1)  # ...but keeps them, in order
        created = reader.get(timeout_s=1)
    assert created.action == "create" and created.container_id == container.id
    assert before < started.time_s < died.time_s < time.time()
    assert died.attributes["exitCode"] == "4"
    assert died.labels["ecssim.run"] == run_id and died.labels["ecssim.task"] == "t-1"
    assert 0.15 < died.time_s - started.time_s < 3


def test_event_reader_times_out(engine, run_id) -> None:  # noqa: ANN001
    with EventReader(engine, event_filters(run_id)) as reader:
        assert reader.get(timeout_s=0.05) is None
        with pytest.raises(TimeoutError, match="no start event"):
            reader.wait_for("0" * 64, "start", timeout_s=0.1)


def test_kill_from_the_host_is_a_crash_not_a_manual_stop(engine, start, run_id) -> None:  # noqa: ANN001
    with EventReader(engine, event_filters(run_id)) as reader:
        container = start(workload_command())
        reader.wait_for(container.id, "start", timeout_s=10)
        kill_main_process(container)
        died = reader.wait_for(container.id, "die", timeout_s=10)
        kinds = {event.action for event in reader.drain()}
    assert died.attributes["exitCode"] == "137"
    assert "kill" not in kinds  # no `docker kill`: the engine saw the process die by itself
    with pytest.raises(HostKillUnavailable, match="no running process"):
        kill_main_process(container)
