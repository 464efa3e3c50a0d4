"""Summary metrics: fixed names, plain values, the measurement window."""

from __future__ import annotations

import json
import math

import pytest

import ecssim.analysis.summary as summary_module
from ecssim.analysis import DYNAMIC_METRIC_PATTERNS, METRIC_NAMES, build_result


def result_of(log, **window):
    return build_result(log, scenario={}, seed=1, replication=0, **window)


def test_names_are_fixed_documented_and_plain(tiny):
    summary = result_of(tiny, duration_s=200).summary()
    assert tuple(summary) == METRIC_NAMES  # no service, no fault: no data-dependent names
    for name, value in summary.items():
        assert type(value) in (int, float), name
        assert f"``{name}``" in summary_module.__doc__, f"{name} is not documented"
    json.dumps(summary)


def test_dynamic_names_follow_the_documented_patterns(outage):
    summary = result_of(outage, duration_s=200).summary()
    assert tuple(summary)[: len(METRIC_NAMES)] == METRIC_NAMES
    extra = list(summary)[len(METRIC_NAMES):]
    assert extra == [f"mttr_service_web_{s}_s" for s in ("mean", "p50", "p95", "p99")]
    assert all(summary_module.is_dynamic_metric(name) for name in extra)
    for pattern in DYNAMIC_METRIC_PATTERNS:
        assert f"``{pattern}``" in summary_module.__doc__


def test_tiny_run_values(tiny):
    summary = result_of(tiny, duration_s=200).summary()
    assert summary["tasks_created"] == 2 and summary["tasks_started"] == 2
    assert summary["tasks_stopped"] == 1 and summary["tasks_failed_to_start"] == 0
    assert summary["instances_launched"] == 2 and summary["instances_lost"] == 0
    assert summary["placement_failures"] == 0 and summary["placement_failure_fraction"] == 0.0
    assert summary["incidents"] == 0 and summary["unrecovered_incidents"] == 0
    assert summary["peak_cpu_reserved_fraction"] == 768 / 3072
    # registered from t=10: reserved 0 (10 s), 512 (10 s), 768 (70 s), 256 (100 s)
    expected = (512 * 10 + 768 * 70 + 256 * 100) / 3072 / 190
    assert summary["mean_cpu_reserved_fraction"] == pytest.approx(expected)
    assert summary["mean_tasks_running"] == pytest.approx((5 + 2 * 70 + 100) / 200)
    assert math.isnan(summary["recovery_time_mean_s"])
    assert math.isnan(summary["service_availability_mean"])  # no services


def test_outage_run_values(outage):
    summary = result_of(outage, duration_s=200).summary()
    assert summary["incidents"] == 1 and summary["instances_lost"] == 1
    assert summary["recovery_time_mean_s"] == 40.0 == summary["recovery_time_max_s"]
    assert summary["recovery_time_p95_s"] == 40.0
    assert summary["first_replacement_time_mean_s"] == 30.0
    # web below desired during [0, 10) and [105, 140): available 155 of 200 s
    assert summary["service_availability_mean"] == pytest.approx(155 / 200)


def test_window_excludes_warm_up(outage):
    summary = result_of(outage, duration_s=200, measure_from_s=110).summary()
    assert summary["measure_from_s"] == 110.0
    assert summary["tasks_created"] == 2  # the replacements, created at 120 and 125
    assert summary["tasks_stopped"] == 0  # the losses were at 105
    assert summary["incidents"] == 0 and math.isnan(summary["recovery_time_mean_s"])
    assert summary["instances_lost"] == 0 and summary["instances_launched"] == 0
    # web below desired during [110, 140): available 60 of 90 s
    assert summary["service_availability_mean"] == pytest.approx(60 / 90)
    # cluster: only i-b (2048 CPU) is left; reserved 256 from 120, 512 from 125
    assert summary["peak_cpu_reserved_fraction"] == pytest.approx(512 / 2048)


def test_invalid_window(tiny):
    with pytest.raises(ValueError, match="measurement window"):
        result_of(tiny, duration_s=10, measure_from_s=20).summary()


def test_failed_to_start_counts_never_running(builder):
    builder.instance("i-a", "az1", active=0)
    builder.task("t-000001", "i-a", created=1, stopping=2, stopped=3)
    builder.task("t-000002", "i-a", created=1, running=2, stopping=4, stopped=5)
    summary = result_of(builder.build(), duration_s=10).summary()
    assert (summary["tasks_stopped"], summary["tasks_failed_to_start"]) == (2, 1)


def test_mttr_per_kind_and_service(builder):
    from test_recovery import crash_log

    # task_crash rows: web 60 (inc-0001), api 13 (inc-0003), web 50 (inc-0002)
    summary = result_of(crash_log(builder, second_crash_at=110), duration_s=400).summary()
    assert summary["mttr_task_crash_mean_s"] == pytest.approx(41.0)
    assert summary["mttr_task_crash_p50_s"] == 50.0
    assert summary["mttr_task_crash_p95_s"] == pytest.approx(59.0)  # 50 + 0.9 * (60 - 50)
    assert summary["mttr_task_crash_p99_s"] == pytest.approx(59.8)
    for kind in ("instance_failure", "az_outage"):
        assert all(math.isnan(summary[f"mttr_{kind}_{s}_s"]) for s in ("mean", "p50", "p95",
                                                                        "p99"))
    assert summary["mttr_service_web_mean_s"] == 55.0
    assert summary["mttr_service_web_p95_s"] == pytest.approx(59.5)
    assert summary["mttr_service_api_p99_s"] == 13.0
    names = list(summary)[len(METRIC_NAMES):]
    assert names[0] == "mttr_service_api_mean_s" and names[-1] == "mttr_service_web_p99_s"
    # the window keeps only the incidents whose fault is in it (not inc-0001, at 100)
    later = result_of(crash_log(type(builder)(), second_crash_at=110), duration_s=400,
                      measure_from_s=104).summary()
    assert later["mttr_task_crash_mean_s"] == pytest.approx((13 + 50) / 2)


def test_mttr_of_other_kinds_and_unrecovered(logs):
    from test_recovery_columns import impaired_host

    log = impaired_host(logs.LogBuilder(), reconnect_at=250, kind="agent_disconnect",
                        disconnect_at=100)
    summary = result_of(log, duration_s=400).summary()
    assert summary["mttr_agent_disconnect_mean_s"] == 150.0
    assert list(summary)[len(METRIC_NAMES):len(METRIC_NAMES) + 4] == [
        f"mttr_agent_disconnect_{s}_s" for s in ("mean", "p50", "p95", "p99")]
    assert math.isnan(summary["mttr_service_api_mean_s"])  # a service no incident hit
    stuck = result_of(impaired_host(logs.LogBuilder()), duration_s=400).summary()
    assert math.isnan(stuck["mttr_instance_failure_mean_s"])  # unrecovered rows left out
    assert stuck["unrecovered_incidents"] == 1


def test_deployment_metrics(logs):
    from test_deployments import rollouts

    # COMPLETED at 30 (initial), 20 (initial), 260 (60 s); FAILED at 380; one IN_PROGRESS
    summary = result_of(rollouts(logs.LogBuilder()), duration_s=500).summary()
    assert (summary["deployments_completed"], summary["deployments_failed"]) == (3, 1)
    assert summary["deployment_duration_mean_s"] == 60.0  # the initial ones left out
    later = result_of(rollouts(logs.LogBuilder()), duration_s=500, measure_from_s=270).summary()
    assert (later["deployments_completed"], later["deployments_failed"]) == (0, 1)
    assert math.isnan(later["deployment_duration_mean_s"])


def test_deployment_duration_mean_of_several_updates(builder):
    builder.deployment("ecs-svc/1", "web", 0, completed=30, replaced=100)
    builder.deployment("ecs-svc/2", "web", 100, completed=145, replaced=200)
    builder.deployment("ecs-svc/3", "web", 200, completed=275)
    builder.deployment("ecs-svc/4", "api", 50, completed=60)  # first of api, but not at t=0
    summary = result_of(builder.build(), duration_s=300).summary()
    assert summary["deployments_completed"] == 4
    assert summary["deployment_duration_mean_s"] == (45 + 75 + 10) / 3


def test_no_deployment(outage):
    summary = result_of(outage, duration_s=200).summary()
    assert (summary["deployments_completed"], summary["deployments_failed"]) == (0, 0)
    assert math.isnan(summary["deployment_duration_mean_s"])


def test_placement_failure_fraction_is_failures_over_attempts(builder):
    builder.instance("i-a", "us-east-1a", active=0)
    builder.task("t-000001", "i-a", created=10, running=12)
    builder.placement_failure(20, "")
    builder.placement_failure(30, "")
    builder.placement_failure(300, "")  # outside the window
    summary = result_of(builder.build(), duration_s=200).summary()
    assert summary["placement_failures"] == 2
    assert summary["placement_failure_fraction"] == 2 / 3


def test_placement_failure_fraction_without_attempts_is_nan(builder):
    builder.instance("i-a", "us-east-1a", active=0)
    assert math.isnan(result_of(builder.build(), duration_s=200).summary()["placement_failure_fraction"])
