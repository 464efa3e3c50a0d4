"""AZ rebalancing (ecs-reference 4.7): the pure plan, and the service scheduler acting on it."""

from __future__ import annotations

import pytest

from ecssim.control.rebalance import moves, spreads_over_azs
from ecssim.placement import DEFAULT_SERVICE_STRATEGY

from . import invariants
from .helpers import run, scenario, service, task_definition


@pytest.mark.parametrize(("counts", "open_azs", "expected"), [
    ({"a": 2, "b": 2, "c": 2}, {"a", "b", "c"}, {}),
    ({"a": 3, "b": 3, "c": 0}, {"a", "b", "c"}, {"a": 1, "b": 1}),
    ({"a": 3, "b": 2, "c": 1}, {"a", "b", "c"}, {"a": 1}),
    ({"a": 4, "b": 0}, {"a"}, {}),  # no room in b: nothing to gain
    ({"a": 6, "b": 0, "c": 0}, {"b"}, {"a": 3}),  # only b has room: move until a and b differ by <= 1
    ({"a": 2, "b": 1}, {"b"}, {}),
])
def test_moves(counts, open_azs, expected):
    assert moves(counts, open_azs) == expected


def test_only_services_spreading_over_azs_first():
    assert spreads_over_azs(DEFAULT_SERVICE_STRATEGY)
    assert not spreads_over_azs((("binpack", "memory"),))
    assert not spreads_over_azs(())


def drained_then_back(**service_fields) -> dict:
    """6 tasks over AZs a, b, c; AZ c drained at 100 (its tasks go to a and b), active again at 600."""
    sc = scenario(instances=6, duration="30m", warmStart=True, task_definitions=[task_definition("web")],
                  services=[service("web", "web", 6, **service_fields)],
                  actions=[{"type": "drainInstance", "name": "drain", "at": 100, "select": {"availabilityZone": "c"}},
                           {"type": "activateInstance", "name": "back", "at": 600,
                            "select": {"availabilityZone": "c"}}])
    sc["cluster"]["fleets"][0]["availabilityZones"] = ["a", "b", "c"]
    return sc


def test_tasks_move_back_when_the_az_is_active_again():
    res = run(drained_then_back())
    kinds = [(r.time_s, r.kind) for r in res.service_events.itertuples() if r.time_s >= 600]
    assert kinds == [(600.0, "rebalancing_started"), (610.0, "started"), (662.0, "stopped"),
                     (662.0, "rebalancing_completed"), (665.0, "steady_state")]
    assert res.service_events.message.iloc[-5] == (
        "service web has started Availability Zone rebalancing: 2 tasks to move.")
    running = res.tasks[res.tasks.last_status == "RUNNING"]
    assert sorted(running.az) == ["a", "a", "b", "b", "c", "c"]
    moved = res.tasks[res.tasks.stopped_reason.str.startswith("Availability Zone rebalancing initiated by")]
    assert len(moved) == 2 and set(moved.stop_code) == {"ServiceSchedulerInitiated"}
    assert invariants.all_invariants(res) == []


@pytest.mark.parametrize("fields", [
    {"availabilityZoneRebalancing": "DISABLED"},
    {"placementStrategy": [{"type": "binpack", "field": "memory"}]},
    {"deploymentConfiguration": {"maximumPercent": 100, "minimumHealthyPercent": 100}},
])
def test_no_rebalancing(fields):
    """Disabled, a first strategy that is not an AZ spread, or bounds that let no task move."""
    res = run(drained_then_back(**fields))
    assert not res.service_events.kind.str.startswith("rebalancing").any()
