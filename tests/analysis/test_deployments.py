"""The deployments table, from hand-made deployment rows; every value worked out by hand."""

from __future__ import annotations

import math

import pandas as pd

from ecssim.analysis import SCHEMAS, TABLE_NAMES, build_result, deployments_table, events_table, load_result


def rollouts(b):
    """web and api, each with an initial deployment at t=0, then updates (run ends at 500).

    ecs-svc/1 web:1  0-30 COMPLETED, replaced by ecs-svc/2 at 200, INACTIVE at 260
    ecs-svc/3 api:1  0-20 COMPLETED
    ecs-svc/2 web:2  200-260 COMPLETED
    ecs-svc/4 api:2  300-380 FAILED (3 failed tasks)
    ecs-svc/5 web:3  from 400, still IN_PROGRESS
    """
    b.deployment("ecs-svc/1", "web", 0, completed=30, replaced=200, inactive=260)
    b.deployment("ecs-svc/3", "api", 0, task_definition="api:1", completed=20)
    b.deployment("ecs-svc/2", "web", 200, task_definition="web:2", completed=260)
    b.deployment("ecs-svc/4", "api", 300, task_definition="api:2", failed=380, failed_tasks=3,
                 reason="tasks failed to start")
    b.deployment("ecs-svc/5", "web", 400, task_definition="web:3")
    return b.build()


def test_one_row_per_deployment_in_creation_order(builder):
    table = deployments_table(events_table(rollouts(builder)))
    assert table.dtypes.astype(str).to_dict() == SCHEMAS["deployments"]
    columns = ["deployment_id", "service", "task_definition", "created_at_s", "status",
               "rollout_state", "rollout_state_reason", "ended_at_s", "failed_tasks",
               "duration_s"]
    assert list(table.columns) == columns
    nan = math.nan
    expected = [
        ["ecs-svc/1", "web", "web:1", 0.0, "INACTIVE", "COMPLETED", "", 30.0, 0.0, 30.0],
        ["ecs-svc/3", "api", "api:1", 0.0, "PRIMARY", "COMPLETED", "", 20.0, 0.0, 20.0],
        ["ecs-svc/2", "web", "web:2", 200.0, "PRIMARY", "COMPLETED", "", 260.0, 0.0, 60.0],
        ["ecs-svc/4", "api", "api:2", 300.0, "PRIMARY", "FAILED", "tasks failed to start",
         380.0, 3.0, 80.0],
        ["ecs-svc/5", "web", "web:3", 400.0, "PRIMARY", "IN_PROGRESS", "", nan, 0.0, nan],
    ]
    pd.testing.assert_frame_equal(table, pd.DataFrame(expected, columns=columns).astype(
        SCHEMAS["deployments"]))


def test_no_deployment_rows_give_an_empty_table(tiny):
    table = deployments_table(events_table(tiny))
    assert len(table) == 0
    assert table.dtypes.astype(str).to_dict() == SCHEMAS["deployments"]


def test_failed_tasks_is_the_last_rollout_row(builder):
    builder.deployment("ecs-svc/1", "web", 0)
    builder.deployment_row(5, "ecs-svc/1", "rollout", "IN_PROGRESS", "IN_PROGRESS", value=2.0)
    builder.deployment_row(9, "ecs-svc/1", "rollout", "IN_PROGRESS", "IN_PROGRESS")
    row = deployments_table(events_table(builder.build())).iloc[0]
    assert row["rollout_state"] == "IN_PROGRESS" and math.isnan(row["ended_at_s"])
    assert math.isnan(row["failed_tasks"])  # the last rollout row carries none


def test_saved_and_loaded_with_timestamps(tmp_path, builder):
    result = build_result(rollouts(builder), scenario={}, seed=1, replication=0,
                          duration_s=500, start_time="2024-05-01T09:00:00Z")
    assert "deployments" in TABLE_NAMES
    table = result.deployments
    assert table.columns.tolist()[3:5] == ["created_at_s", "created_at"]
    assert table.loc[3, "ended_at"] == pd.Timestamp("2024-05-01T09:06:20Z")
    assert table.loc[4, "ended_at"] is pd.NaT
    result.save(tmp_path / "run")
    assert (tmp_path / "run" / "deployments.csv").exists()
    pd.testing.assert_frame_equal(load_result(tmp_path / "run").deployments, table)
