"""Experiments: expansion into numbered points, validation of every point, path-named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

import ecssim
from ecssim.experiments import Experiment, load_experiment
from ecssim.scenario import ScenarioError

from .conftest import small_scenario, write_yaml


def test_points_are_the_cartesian_product_last_axis_fastest(experiment_file: Path):
    exp = load_experiment(experiment_file)
    assert exp.name == "small-sweep" and exp.seed == 7 and exp.replications == 3
    assert [p.values for p in exp.points] == [
        {"cluster.fleets[0].count": 3, "timing.serviceReaction.period": "10s"},
        {"cluster.fleets[0].count": 3, "timing.serviceReaction.period": "30s"},
        {"cluster.fleets[0].count": 4, "timing.serviceReaction.period": "10s"},
        {"cluster.fleets[0].count": 4, "timing.serviceReaction.period": "30s"},
    ]
    assert [p.index for p in exp.points] == [0, 1, 2, 3]
    assert exp.runs == 12
    # each point's scenario is validated with its values applied
    assert [p.scenario.cluster.fleets[0].count for p in exp.points] == [3, 3, 4, 4]
    assert [p.scenario.timing.service_reaction.period for p in exp.points] == [10.0, 30.0, 10.0, 30.0]
    assert exp.points[0].scenario.base_dir == experiment_file.parent.resolve()


def test_no_axes_is_one_point_of_replications():
    exp = Experiment(small_scenario(), replications=5)
    assert len(exp.points) == 1 and exp.points[0].values == {} and exp.runs == 5
    assert exp.name == "small"


def test_a_loaded_scenario_or_a_path_works_as_the_base(scenario_file: Path):
    by_path = Experiment(scenario_file, axes={"services[web].desiredCount": [2, 4]})
    by_model = Experiment(ecssim.load_scenario(scenario_file), axes={"services[web].desiredCount": [2, 4]})
    assert [p.scenario for p in by_path.points] == [p.scenario for p in by_model.points]


def test_fingerprint_and_stored_form_round_trip(experiment_file: Path):
    exp = load_experiment(experiment_file)
    again = Experiment.from_dict(exp.to_dict(), "stored")
    assert again.fingerprint() == exp.fingerprint()
    assert [p.scenario for p in again.points] == [p.scenario for p in exp.points]
    other = Experiment(exp.scenario_data, axes=exp.axes, replications=4, seed=7)
    assert other.fingerprint() != exp.fingerprint()


def errors_of(tmp_path: Path, experiment: dict) -> str:
    write_yaml(tmp_path / "small.yaml", small_scenario())
    path = write_yaml(tmp_path / "bad.yaml", {"scenario": "small.yaml", **experiment})
    with pytest.raises(ScenarioError) as caught:
        load_experiment(path)
    text = str(caught.value)
    assert all(line.startswith(str(path)) for line in text.splitlines()), text
    return text


def test_unknown_dotted_path_names_the_axis(tmp_path: Path):
    text = errors_of(tmp_path, {"axes": {"cluster.fleets[0].cont": [1, 2]}})
    assert "axes.cluster.fleets[0].cont: cluster.fleets[0] has no field 'cont'" in text
    assert "did you mean count?" in text


def test_empty_axis(tmp_path: Path):
    assert "axes.cluster.fleets[0].count: the axis has no values" in errors_of(
        tmp_path, {"axes": {"cluster.fleets[0].count": []}})


def test_axis_that_is_not_a_list(tmp_path: Path):
    assert "axes.cluster.fleets[0].count: expected a list" in errors_of(
        tmp_path, {"axes": {"cluster.fleets[0].count": 6}})


def test_type_mismatch_names_axis_point_value_and_scenario_field(tmp_path: Path):
    text = errors_of(tmp_path, {"axes": {"cluster.fleets[0].count": [3, "many"],
                                         "duration": ["1h", "2h"]}})
    assert "axes.cluster.fleets[0].count: at point 2 (cluster.fleets[0].count='many', duration='1h')" in text
    assert "cluster.fleets[0].count: expected an integer, got 'many'" in text
    assert text.count("'many'") == 2  # reported once, not once per duration


def test_bad_duration_value(tmp_path: Path):
    text = errors_of(tmp_path, {"axes": {"timing.serviceReaction.period": ["10s", "soon"]}})
    assert "axes.timing.serviceReaction.period: at point 1" in text


def test_unknown_key_and_bad_counts(tmp_path: Path):
    text = errors_of(tmp_path, {"replications": 0, "sed": 3})
    assert "replications: must be >= 1, got 0" in text
    assert "sed: unknown field" in text


def test_duplicate_axis_value(tmp_path: Path):
    assert "lists a value twice" in errors_of(tmp_path, {"axes": {"cluster.fleets[0].count": [3, 3]}})


def test_missing_scenario_file(tmp_path: Path):
    path = write_yaml(tmp_path / "bad.yaml", {"scenario": "nowhere.yaml"})
    with pytest.raises(ScenarioError, match="nowhere.yaml: file not found"):
        load_experiment(path)


def test_a_bad_base_scenario_is_reported_with_its_own_file(tmp_path: Path):
    data = small_scenario()
    data["services"][0]["desiredCount"] = -1
    write_yaml(tmp_path / "small.yaml", data)
    path = write_yaml(tmp_path / "bad.yaml", {"scenario": "small.yaml"})
    with pytest.raises(ScenarioError) as caught:
        load_experiment(path)
    assert "small.yaml: services[0].desiredCount" in str(caught.value)
