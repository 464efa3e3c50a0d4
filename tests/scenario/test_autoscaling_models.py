"""Service Auto Scaling and demand in the scenario: the models, their checks and the demand curves."""

from __future__ import annotations

import copy
import math
from pathlib import Path

import numpy as np
import pytest

from ecssim.scenario import ScenarioError, load_scenario_dict
from ecssim.scenario.autoscaling_models import CsvCurve, DiurnalCurve, PiecewiseCurve
from ecssim.scenario.demand_curve import DemandFileError, PointsCurve, build_curve, read_demand_csv

BASE: dict = {
    "duration": "1h",
    "cluster": {"fleets": [{"name": "main", "instanceType": "m5.large", "count": 2}]},
    "taskDefinitions": [
        {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "cpu": 256, "memory": 256}]},
        {"family": "nocpu", "containerDefinitions": [{"name": "app", "image": "nginx", "memory": 256}]},
    ],
    "services": [
        {"serviceName": "web", "taskDefinition": "web", "desiredCount": 2},
        {"serviceName": "plain", "taskDefinition": "nocpu", "desiredCount": 1},
        {"serviceName": "agent", "taskDefinition": "nocpu", "schedulingStrategy": "DAEMON"},
    ],
}
CPU = "ECSServiceAverageCPUUtilization"
MEMORY = "ECSServiceAverageMemoryUtilization"
METRIC_PATH = "policies[0].targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification.predefinedMetricType"


def scaling(service: str = "web", metric: str = CPU, **extra) -> dict:
    return {"serviceName": service, "minCapacity": 1, "maxCapacity": 10, **extra, "policies": [
        {"policyName": "p", "targetTrackingScalingPolicyConfiguration": {
            "targetValue": 70, "predefinedMetricSpecification": {"predefinedMetricType": metric}}}]}


def demand(service: str = "web", resource: str = "cpu", curve: dict | None = None) -> dict:
    return {"service": service, "resource": resource,
            "curve": curve or {"type": "piecewise", "points": [[0, 100], ["1h", 900]]}}


def scenario(**sections) -> dict:
    data = copy.deepcopy(BASE)
    data.update(sections)
    return data


def errors_of(data: dict, base_dir: Path | None = None) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario_dict(data, source="s", base_dir=base_dir)
    return [f"{issue.path}: {issue.message}" for issue in info.value.issues]


# --------------------------------------------------------------------------- models
def test_defaults_and_names_follow_application_auto_scaling() -> None:
    loaded = load_scenario_dict(scenario(demand=[demand()], serviceAutoScaling=[scaling()]))
    config = loaded.service_auto_scaling[0].policies[0].target_tracking_scaling_policy_configuration
    assert (config.scale_out_cooldown, config.scale_in_cooldown, config.disable_scale_in) == (300.0, 300.0, False)
    assert config.predefined_metric_specification.resource == "cpu"
    timing = loaded.timing.service_auto_scaling
    assert (timing.period, timing.scale_out_datapoints, timing.scale_in_datapoints, timing.scale_in_threshold) == (
        60.0, 3, 15, 0.9)
    assert loaded.demand[0].curve.points == [(0.0, 100.0), (3600.0, 900.0)]
    assert load_scenario_dict(scenario()).demand == [] and load_scenario_dict(scenario()).service_auto_scaling == []


def test_timing_section_is_a_parameter() -> None:
    data = scenario(timing={"serviceAutoScaling": {"period": "30s", "scaleOutDatapoints": 2}})
    timing = load_scenario_dict(data).timing.service_auto_scaling
    assert (timing.period, timing.scale_out_datapoints, timing.scale_in_datapoints) == (30.0, 2, 15)


@pytest.mark.parametrize(("entry", "path", "words"), [
    (scaling(metric="ALBRequestCountPerTarget"), f"serviceAutoScaling[0].{METRIC_PATH}", "is not supported"),
    (scaling(minCapacity=5, maxCapacity=2), "serviceAutoScaling[0]", "minCapacity (5) must not exceed maxCapacity (2)"),
])
def test_field_errors(entry: dict, path: str, words: str) -> None:
    errors = errors_of(scenario(demand=[demand()], serviceAutoScaling=[entry]))
    assert any(e.startswith(f"{path}: ") and words in e for e in errors), errors


@pytest.mark.parametrize(("curve", "words"), [
    ({"type": "piecewise", "points": [[0, 1], [0, 2]]}, "times must strictly increase"),
    ({"type": "piecewise", "points": [[0, -1]]}, "zero or positive"),
    ({"type": "diurnal", "low": 5, "high": 1}, "must not be below low"),
    ({"type": "wave"}, ""),
])
def test_bad_curves(curve: dict, words: str) -> None:
    errors = errors_of(scenario(demand=[demand(curve=curve)]))
    assert any(e.startswith("demand[0].curve") and words in e for e in errors), errors


# --------------------------------------------------------------------------- cross checks
def test_cpu_metric_needs_a_cpu_reservation() -> None:
    errors = errors_of(scenario(demand=[demand("plain")], serviceAutoScaling=[scaling("plain")]))
    assert errors == [f"serviceAutoScaling[0].{METRIC_PATH}: task definition nocpu:1 reserves no CPU (no task-level "
                      "cpu and container cpu 0): ECSServiceAverageCPUUtilization has nothing to divide by; give it "
                      "cpu or use ECSServiceAverageMemoryUtilization"]
    load_scenario_dict(scenario(demand=[demand("plain", "memory")], serviceAutoScaling=[scaling("plain", MEMORY)]))


def test_unknown_and_daemon_services() -> None:
    errors = errors_of(scenario(demand=[demand("webb"), demand("agent")],
                                serviceAutoScaling=[scaling("agent"), scaling("nope")]))
    assert errors == [
        "demand[0].service: unknown service 'webb'; did you mean web?",
        "demand[1].service: service 'agent' is a DAEMON service: only REPLICA services have a desiredCount to "
        "scale and demand to serve",
        "serviceAutoScaling[0].serviceName: service 'agent' is a DAEMON service: only REPLICA services have a "
        "desiredCount to scale and demand to serve",
        "serviceAutoScaling[1].serviceName: unknown service 'nope'; known: agent, plain, web",
    ]


def test_policy_needs_demand_of_its_resource_and_duplicates_are_refused() -> None:
    errors = errors_of(scenario(demand=[demand(resource="memory"), demand(resource="memory")],
                                serviceAutoScaling=[scaling(), scaling()]))
    assert "demand[1]: a second memory demand for service 'web'" in errors
    assert "serviceAutoScaling[1].serviceName: duplicate 'web': one scalable target per service" in errors
    assert (f"serviceAutoScaling[0].{METRIC_PATH}: ECSServiceAverageCPUUtilization needs a demand entry for "
            "service 'web' with resource: cpu") in errors


def test_csv_file_missing_or_without_its_columns(tmp_path: Path) -> None:
    (tmp_path / "load.csv").write_text("t,cpu\n0,100\n60,200\n")
    missing = errors_of(scenario(demand=[demand(curve={"type": "csv", "file": "gone.csv"})]), tmp_path)
    assert missing == [f"demand[0].curve.file: demand file not found: {tmp_path / 'gone.csv'}"]
    no_column = errors_of(scenario(demand=[demand(curve={"type": "csv", "file": "load.csv", "valueColumn": "cpu"})]),
                          tmp_path)
    assert no_column == [f"demand[0].curve.file: {tmp_path / 'load.csv'}: no column 'time_s'; its columns: t, cpu"]
    good = {"type": "csv", "file": "load.csv", "timeColumn": "t", "valueColumn": "cpu"}
    load_scenario_dict(scenario(demand=[demand(curve=good)]), base_dir=tmp_path)


def test_csv_bad_values(tmp_path: Path) -> None:
    path = tmp_path / "load.csv"
    path.write_text("time_s,demand\n0,100\n60,x\n")
    with pytest.raises(DemandFileError, match=r"row 3, column demand: expected a number >= 0"):
        read_demand_csv(path, CsvCurve(type="csv", file=str(path)))
    path.write_text("time_s,demand\n60,100\n0,200\n")
    with pytest.raises(DemandFileError, match=r"row 3, column time_s: times must strictly increase"):
        read_demand_csv(path, CsvCurve(type="csv", file=str(path)))


# --------------------------------------------------------------------------- curves
def test_piecewise_linear_values_and_exact_means() -> None:
    curve = build_curve(PiecewiseCurve(type="piecewise", points=[(100, 1000), (200, 3000)]))
    assert [curve.value(t) for t in (0, 100, 150, 200, 500)] == [1000, 1000, 2000, 3000, 3000]
    assert curve.mean(100, 200) == pytest.approx(2000)
    assert curve.mean(0, 200) == pytest.approx((100 * 1000 + 100 * 2000) / 200)
    assert curve.mean(150, 300) == pytest.approx((50 * 2500 + 100 * 3000) / 150)
    assert curve.mean(120, 120) == pytest.approx(1400)


def test_step_curve_holds_each_value_until_the_next_point() -> None:
    curve = PointsCurve(np.array([0.0, 100.0]), np.array([1000.0, 4000.0]), "step")
    assert [curve.value(t) for t in (0, 99.9, 100, 1e6)] == [1000, 1000, 4000, 4000]
    assert curve.mean(60, 120) == pytest.approx((40 * 1000 + 20 * 4000) / 60)
    assert curve.breakpoints().tolist() == [0.0, 100.0]


def test_diurnal_curve_peaks_and_averages() -> None:
    curve = build_curve(DiurnalCurve(type="diurnal", low=2048, high=8192, peak_at="14h", period="24h"))
    assert curve.value(14 * 3600) == pytest.approx(8192)
    assert curve.value(2 * 3600) == pytest.approx(2048)
    assert curve.mean(0, 86400) == pytest.approx((2048 + 8192) / 2)
    samples = np.linspace(3600, 7200, 200001)
    assert curve.mean(3600, 7200) == pytest.approx(np.mean([curve.value(t) for t in samples]), rel=1e-6)
    assert len(curve.breakpoints()) == 0
    assert not math.isnan(curve.mean(5, 5))


def test_csv_curve_with_time_scale(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("minute,load\n0,10\n1,20\n")
    curve = read_demand_csv(path, CsvCurve(type="csv", file="d.csv", timeColumn="minute", valueColumn="load",
                                           interpolation="step", timeScale=60))
    assert curve.breakpoints().tolist() == [0.0, 60.0]
    assert (curve.value(59), curve.value(60)) == (10, 20)
