"""Per-task placement intervals and per-instance reservations (ecssim.analysis.occupancy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecssim.analysis import build_result
from ecssim.analysis.occupancy import (
    instance_spans,
    reservation_matrix,
    reserved_at,
    task_placements,
)


def _level_at(capacity: pd.DataFrame, column: str, times: np.ndarray) -> np.ndarray:
    """The cluster step series of ``column`` in force at each time (0 before its first row)."""
    cluster = capacity[capacity["scope"] == "cluster"]
    index = np.searchsorted(cluster["time_s"].to_numpy(), times, side="right") - 1
    values = cluster[column].to_numpy()[np.clip(index, 0, None)]
    return np.where(index >= 0, values, 0)


def test_placements_on_hand_made_log(outage):
    result = build_result(outage, scenario={}, seed=0, replication=0, duration_s=200.0)
    placements = task_placements(result).set_index("task_id")
    assert list(placements.index) == ["t-000001", "t-000002", "t-000003", "t-000004"]
    assert placements.loc["t-000001", "instance_id"] == "i-a"
    assert placements.loc["t-000001", "placed_at_s"] == 0.0
    assert placements.loc["t-000001", "running_at_s"] == 10.0
    assert placements.loc["t-000001", "released_at_s"] == 105.0  # killed: straight to STOPPED
    assert np.isnan(placements.loc["t-000003", "released_at_s"])  # still held at the end
    assert placements.loc["t-000004", "running_at_s"] == 140.0


def test_released_at_first_stopping_row_not_deactivating(builder):
    builder.instance("i-a", "az1", active=0)
    builder.task("t-000001", "i-a", created=0, running=5, stopping=50, stopped=60)
    result = build_result(builder.build(), scenario={}, seed=0, replication=0, duration_s=100.0)
    row = task_placements(result).iloc[0]
    assert row["released_at_s"] == 50.0
    # accepts a mapping of tables too
    assert task_placements({"tasks": result.tasks, "events": result.events}).equals(task_placements(result))


def test_instance_spans(small_result):
    spans = instance_spans(small_result)
    instances = small_result.instances.set_index("instance_id")
    assert sorted(spans["instance_id"]) == sorted(instances.index)
    assert list(spans["az"]) == sorted(spans["az"])  # grouped by AZ
    for row in spans.itertuples(index=False):
        source = instances.loc[row.instance_id]
        assert row.active_from_s == source["registered_at_s"]
        assert np.isnan(row.active_until_s) == np.isnan(source["terminated_at_s"])
        assert row.lost == (not np.isnan(source["terminated_at_s"]) and source["incident_id"] != "")
    assert spans["lost"].sum() == 1  # the instance failure at 10 min


def test_reservations_sum_to_capacity_table(small_result):
    capacity = small_result.capacity
    times = np.unique(np.concatenate([capacity["time_s"].to_numpy(),
                                      np.linspace(0, small_result.duration_s, 97)]))
    for resource, reserved_column, registered_column in (
        ("cpu", "cpu_reserved", "cpu_registered"),
        ("memory", "memory_reserved_mib", "memory_registered_mib"),
    ):
        _, reserved, registered = reservation_matrix(small_result, times, resource=resource)
        np.testing.assert_array_equal(reserved.sum(axis=0), _level_at(capacity, reserved_column, times))
        np.testing.assert_array_equal(np.nansum(registered, axis=0), _level_at(capacity, registered_column, times))


@pytest.mark.parametrize("t", [0.0, 300.0, 600.0, 1000.0, 1799.0])
def test_reserved_at_matches_cluster_and_tasks(small_result, t):
    at = reserved_at(small_result, t)
    assert at["cpu_reserved"].sum() == _level_at(small_result.capacity, "cpu_reserved", np.array([t]))[0]
    assert at["memory_reserved_mib"].sum() == _level_at(small_result.capacity, "memory_reserved_mib",
                                                        np.array([t]))[0]
    active = at[at["active"]]
    assert (active["cpu_free"] == active["cpu_registered"] - active["cpu_reserved"]).all()
    assert (at.loc[~at["active"], ["cpu_registered", "cpu_free", "memory_free_mib"]] == 0).all().all()


def test_empty_run(empty_result):
    assert task_placements(empty_result).empty
    at = reserved_at(empty_result, 10.0)
    assert len(at) == 2 and (at["cpu_reserved"] == 0).all() and at["active"].all()


def test_unknown_resource(small_result):
    with pytest.raises(ValueError, match="unknown resource 'gpu'"):
        reservation_matrix(small_result, [0.0], resource="gpu")
