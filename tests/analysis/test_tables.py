"""Per-thing tables: events, tasks, instances, and their timestamp twins."""

from __future__ import annotations

import math

import pandas as pd

from ecssim.analysis import (
    SCHEMAS,
    add_timestamps,
    events_table,
    instances_table,
    tasks_table,
)
from ecssim.model.eventlog import EVENT_COLUMNS


def test_events_table_keeps_order_and_dtypes(tiny):
    events = events_table(tiny)
    assert list(events.columns) == ["seq", *EVENT_COLUMNS]
    assert events["seq"].tolist() == list(range(len(tiny.events)))
    assert events["time_s"].is_monotonic_increasing
    assert events.dtypes.astype(str).to_dict() == SCHEMAS["events"]
    first = events.iloc[0]
    assert (first["entity"], first["to_state"], first["reason"]) == ("instance", "REGISTERING", "")
    assert math.isnan(first["value"])


def test_task_lifecycle_fields(tiny):
    tasks = tasks_table(tiny).set_index("task_id")
    stopped = tasks.loc["t-000001"]
    assert stopped[["created_at_s", "pull_started_at_s", "pull_stopped_at_s"]].tolist() == [
        20.0, 21.0, 23.0,
    ]
    assert stopped[["started_at_s", "stopping_at_s", "stopped_at_s"]].tolist() == [
        25.0, 100.0, 110.0,
    ]
    assert stopped["last_status"] == "STOPPED"
    assert (stopped["stop_code"], stopped["stopped_reason"]) == ("UserInitiated",
                                                                 "Task stopped by user")
    assert (stopped["instance_id"], stopped["az"], stopped["incident_id"]) == (
        "i-a", "us-east-1a", ""
    )
    running = tasks.loc["t-000002"]
    assert running["last_status"] == "RUNNING"
    assert running["started_at_s"] == 30.0
    assert math.isnan(running["stopping_at_s"]) and math.isnan(running["pull_started_at_s"])
    assert running["stop_code"] == "" and running["stopped_reason"] == ""


def test_task_killed_with_its_host(outage):
    tasks = tasks_table(outage).set_index("task_id")
    lost = tasks.loc["t-000001"]
    assert lost["stopping_at_s"] == lost["stopped_at_s"] == 105.0  # straight to STOPPED
    assert lost["stop_code"] == ""  # ECS documents no stop code for a host termination
    assert lost["incident_id"] == "inc-0001"
    assert lost["stopped_reason"] == "Host EC2 (instance i-a) terminated."


def test_pending_task_stopped_never_started(builder):
    builder.instance("i-a", "az1", active=0)
    builder.task("t-000001", "i-a", created=5, stopping=8, stopped=9, stop_code="TaskFailedToStart",
                 reason="CannotPullContainerError")
    tasks = tasks_table(builder.build())
    row = tasks.iloc[0]
    assert math.isnan(row["started_at_s"])
    assert (row["stopping_at_s"], row["stopped_at_s"]) == (8.0, 9.0)
    assert row["stop_code"] == "TaskFailedToStart"


def test_instances_registration_and_termination(outage):
    instances = instances_table(outage).set_index("instance_id")
    assert instances.loc["i-a", "registered_at_s"] == 0.0
    assert instances.loc["i-a", "terminated_at_s"] == 100.0
    assert instances.loc["i-a", "incident_id"] == "inc-0001"
    assert instances.loc["i-a", "termination_reason"].startswith("Host EC2")
    assert math.isnan(instances.loc["i-b", "terminated_at_s"])
    assert instances_table(outage).dtypes.astype(str).to_dict() == SCHEMAS["instances"]


def test_schemas_hold_for_every_table(tiny):
    events = events_table(tiny)
    assert tasks_table(tiny, events).dtypes.astype(str).to_dict() == SCHEMAS["tasks"]


def test_empty_log_gives_empty_typed_tables(builder):
    log = builder.build()
    events = events_table(log)
    assert len(events) == 0
    assert events.dtypes.astype(str).to_dict() == SCHEMAS["events"]
    assert tasks_table(log, events).dtypes.astype(str).to_dict() == SCHEMAS["tasks"]


def test_add_timestamps_names_and_zone(tiny):
    tasks = add_timestamps(tasks_table(tiny), "2024-05-01T11:00:00+02:00")
    cols = list(tasks.columns)
    assert cols[cols.index("created_at_s") + 1] == "created_at"
    assert "stopped_at" in cols and "time_to_desired" not in cols
    first = tasks.loc[0, "started_at"]
    assert first == pd.Timestamp("2024-05-01T09:00:25Z")
    assert str(tasks["started_at"].dtype) == "datetime64[ns, UTC+02:00]"
    assert pd.isna(tasks.loc[1, "stopped_at"])


def test_start_time_needs_a_zone(tiny):
    import pytest

    with pytest.raises(ValueError, match="no time zone"):
        add_timestamps(tasks_table(tiny), "2024-05-01T09:00:00")
