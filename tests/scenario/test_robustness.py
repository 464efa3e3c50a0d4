"""Any input gives a Scenario or a ScenarioError, never another exception (the CLI relies on it)."""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecssim.scenario import ScenarioError, load_scenario, load_scenario_dict
from ecssim.units import format_duration, parse_duration

from .conftest import MINIMAL

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-10, 10_000),
    st.sampled_from([10**30, -(10**30), 2**63, 1e300, "1e309", "1e309s", "1e400 GiB", "nan", "-5m"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "5m", "8 GiB", "web", "binpack", "memberOf", "us-east-1a", "FARGATE", "-1"]),
)
KEYS = st.sampled_from(
    [
        "type",
        "field",
        "name",
        "count",
        "memory",
        "cpu",
        "at",
        "start",
        "hostPort",
        "containerPort",
        "bogus",
        "median",
    ]
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=4),
    max_leaves=12,
)
PATHS = st.sampled_from(
    [
        ("duration",),
        ("cluster", "fleets", 0, "count"),
        ("cluster", "fleets", 0, "availabilityZones"),
        ("taskDefinitions", 0, "containerDefinitions", 0),
        ("taskDefinitions", 0, "containerDefinitions", 0, "portMappings"),
        ("taskDefinitions", 0, "memory"),
        ("services", 0, "placementStrategy"),
        ("services", 0, "deploymentConfiguration"),
        ("faults",),
        ("actions",),
        ("workloads",),
        ("timing", "imagePull"),
    ]
)


def _set(data: dict, path: tuple, value: object) -> None:
    target = data
    for key in path[:-1]:
        if isinstance(key, int):
            target = target[key]
        else:
            target = target.setdefault(key, {})
    target[path[-1]] = value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(PATHS, VALUES), min_size=1, max_size=3))
def test_loader_only_raises_scenario_errors(changes: list) -> None:
    data = copy.deepcopy(MINIMAL)
    for path, value in changes:
        try:
            _set(data, path, value)
        except (TypeError, KeyError, IndexError):
            return
    try:
        load_scenario_dict(data, source="s")
    except ScenarioError as exc:
        assert exc.issues and all(issue.message for issue in exc.issues)


@given(st.floats(min_value=0, max_value=1e7, allow_nan=False))
def test_durations_in_seconds_round_trip(seconds: float) -> None:
    assert parse_duration(f"{seconds!r}s") == seconds
    assert parse_duration(seconds) == seconds
    assert format_duration(seconds)


_EXAMPLE = Path(__file__).resolve().parents[2] / "scenarios" / "teaching-3-instances.yaml"


@given(st.integers(0, len(_EXAMPLE.read_bytes()) - 1), st.binary(max_size=4))
def test_a_cut_or_corrupted_file_loads_or_raises_a_scenario_error(tmp_path_factory, cut: int, junk: bytes) -> None:  # noqa: ANN001
    path = tmp_path_factory.mktemp("cut") / "cut.yaml"
    path.write_bytes(_EXAMPLE.read_bytes()[:cut] + junk)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        assert all(issue.file == str(path) and issue.message for issue in exc.issues)
