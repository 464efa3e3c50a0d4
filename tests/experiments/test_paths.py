"""Dotted paths into a scenario: parsing, checking against the models, setting values."""

from __future__ import annotations

import pytest

from ecssim.experiments.paths import PathError, format_path, parse_path, set_path

from .conftest import small_scenario


@pytest.mark.parametrize("text, segments", [
    ("duration", ["duration"]),
    ("cluster.fleets[0].count", ["cluster", "fleets", 0, "count"]),
    ("services[web].desiredCount", ["services", ("web",), "desiredCount"]),
    ("faults[hosts-fail].timeToFailure.mean", ["faults", ("hosts-fail",), "timeToFailure", "mean"]),
    ("a[1][2].b", ["a", 1, 2, "b"]),
])
def test_parse_and_format_round_trip(text, segments):
    assert parse_path(text) == segments
    assert format_path(segments) == text


@pytest.mark.parametrize("text", ["", "  ", ".duration", "[0].x", "a..b", "a[", "a[]", "a[ ]", "a.[0]"])
def test_unreadable_paths(text):
    with pytest.raises(PathError):
        parse_path(text)


def test_set_path_copies_and_sets():
    data = small_scenario()
    out = set_path(data, "cluster.fleets[0].count", 5)
    assert out["cluster"]["fleets"][0]["count"] == 5
    assert data["cluster"]["fleets"][0]["count"] == 3  # the input is untouched


def test_selectors_by_name_and_union_members():
    data = small_scenario()
    out = set_path(data, "services[web].desiredCount", 9)
    assert out["services"][0]["desiredCount"] == 9
    out = set_path(data, "faults[hosts-fail].timeToFailure.mean", "1h")  # a distribution's field
    assert out["faults"][0]["timeToFailure"]["mean"] == "1h"
    out = set_path(data, "taskDefinitions[web].memory", 2048)  # by family
    assert out["taskDefinitions"][0]["memory"] == 2048


def test_a_field_left_to_its_default_can_be_set():
    out = set_path(small_scenario(), "timing.serviceReaction.period", "30s")
    assert out["timing"] == {"serviceReaction": {"period": "30s"}}


@pytest.mark.parametrize("path, message", [
    ("cluster.fleetz", "cluster has no field 'fleetz' that ecssim models; did you mean fleets?"),
    ("timing.serviceReactionDelay", "did you mean serviceReaction?"),
    ("cluster.fleets[3].count", "cluster.fleets has 1 item(s); there is no [3]"),
    ("services[api].desiredCount", "services has no item named 'api'; it has: web"),
    ("cluster.fleets.count", "cluster.fleets is a list; pick an item first"),
    ("duration.seconds", "duration is a single value; it has no field 'seconds'"),
    ("faults[0].mode.x", "faults[0].mode is a single value"),
    ("faults[web-crashes].mode", "faults[web-crashes] has no field 'mode' that ecssim models"),
    ("services[0].propagateTags", "no field 'propagateTags' that ecssim models"),  # ECS field, ignored
    ("actions[0].at", "actions is an empty list in the scenario"),
    ("duration[0]", "duration is not a list"),
])
def test_paths_that_name_nothing_are_refused_with_the_reason(path, message):
    with pytest.raises(PathError) as caught:
        set_path(small_scenario(), path, 1)
    assert message in str(caught.value)


def test_two_items_with_the_same_name_need_an_index():
    data = small_scenario()
    data["services"].append(dict(data["services"][0]))
    with pytest.raises(PathError, match=r"2 items named 'web'; use an index such as \[0\]"):
        set_path(data, "services[web].desiredCount", 1)
