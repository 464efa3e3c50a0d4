"""The availability table on a hand-made timeline; every figure worked out by hand."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from ecssim.analysis import SCHEMAS, availability_table, build_result
from ecssim.analysis.availability import minimum_healthy


def timeline(b, delay: float = 40):
    """Over [0, 400], each task HEALTHY ``delay`` s after RUNNING (by its health row):

    web (desired 2, minimumHealthyPercent 50): t1 RUNNING from 10, t2 RUNNING 20-200 (lost),
    t3 RUNNING from 250. RUNNING: 0 [0,10) 1 [10,20) 2 [20,200) 1 [200,250) 2 [250,400].
    Healthy (delay 40): 0 [0,50) 1 [50,60) 2 [60,200) 1 [200,290) 2 [290,400].
    api (desired 1, then 0 at 300): t9 RUNNING 0-300. Healthy [40,300).
    idle: desired 0, no task.
    """
    b.instance("i-a", "az1", active=0)
    b.service("web", 2, minimum_healthy=50)
    b.service("api", 1)
    b.service("idle", 0)
    b.task("t-000001", "i-a", service="web", created=5, running=10, healthy=10 + delay)
    b.task("t-000002", "i-a", service="web", created=5, running=20, killed=200,
           healthy=20 + delay, incident="inc-0001")
    b.fault(200, "inc-0001", "task_crash", service="web")
    b.task("t-000003", "i-a", service="web", created=240, running=250, healthy=250 + delay)
    b.task("t-000009", "i-a", service="api", created=0, running=0, stopping=300, stopped=301,
           healthy=0 + delay)
    b.desired("api", 0, 300)
    return b.build()


def availability(log, **window):
    return build_result(log, scenario={}, seed=1, replication=0, **window).availability


def test_whole_run(builder):
    table = availability(timeline(builder), duration_s=400)
    assert table.dtypes.astype(str).to_dict() == SCHEMAS["availability"]
    assert table["service"].tolist() == ["api", "idle", "web"]
    web, api, idle = (table.set_index("service").loc[s] for s in ("web", "api", "idle"))
    assert web["window_s"] == 400.0
    assert web["fraction_at_desired"] == pytest.approx((140 + 110) / 400)  # healthy >= 2
    assert web["fraction_at_minimum_healthy"] == pytest.approx(350 / 400)  # ceil(2*0.5)=1
    assert web["fraction_down"] == pytest.approx(10 / 400)  # [0, 10)
    assert web["mean_running"] == pytest.approx((10 + 2 * 180 + 50 + 2 * 150) / 400)
    assert web["mean_healthy"] == pytest.approx((10 + 2 * 140 + 90 + 2 * 110) / 400)
    assert web["mean_desired"] == 2.0
    # api: healthy 0 < 1 on [0, 40); desired 0 from 300 is always met
    assert api["fraction_at_desired"] == pytest.approx(360 / 400)
    assert api["fraction_at_minimum_healthy"] == pytest.approx(360 / 400)  # 100%: same
    assert api["fraction_down"] == 0.0  # the task stops when desired drops to 0
    assert (api["mean_running"], api["mean_desired"]) == (0.75, 0.75)
    assert api["mean_healthy"] == pytest.approx(260 / 400)
    assert (idle["fraction_at_desired"], idle["fraction_down"], idle["mean_running"]) == (
        1.0, 0.0, 0.0)


def test_measurement_window(builder):
    table = availability(timeline(builder), duration_s=400, measure_from_s=100)
    web = table.set_index("service").loc["web"]
    assert web["window_s"] == 300.0
    assert web["fraction_at_desired"] == pytest.approx((100 + 110) / 300)
    assert web["fraction_at_minimum_healthy"] == 1.0
    assert web["fraction_down"] == 0.0
    assert web["mean_running"] == pytest.approx((2 * 100 + 50 + 2 * 150) / 300)
    assert web["mean_healthy"] == pytest.approx((2 * 100 + 90 + 2 * 110) / 300)


def test_healthy_figures_follow_the_health_rows(builder):
    table = availability(timeline(builder, delay=0), duration_s=400).set_index("service")
    assert table.loc["web", "mean_healthy"] == table.loc["web", "mean_running"]
    assert table.loc["web", "fraction_at_desired"] == pytest.approx(330 / 400)  # [20,200)+[250,400]


def test_unhealthy_task_counts_as_running_not_healthy(logs):
    b = logs.LogBuilder()
    timeline(b)
    b.health(100, "t-000001", "UNHEALTHY", reason="Task failed ELB health checks in "
             "(target-group tg-web)")
    web = availability(b.build(), duration_s=400).set_index("service").loc["web"]
    # healthy: 0 [0,50) 1 [50,60) 2 [60,100) 1 [100,200) 0 [200,290) 1 [290,400]
    assert web["mean_running"] == pytest.approx((10 + 2 * 180 + 50 + 2 * 150) / 400)
    assert web["mean_healthy"] == pytest.approx((10 + 2 * 40 + 100 + 110) / 400)
    assert web["fraction_at_desired"] == pytest.approx(40 / 400)
    assert web["fraction_at_minimum_healthy"] == pytest.approx((10 + 40 + 100 + 110) / 400)


def test_empty_window_and_no_service(logs):
    web = availability(timeline(logs.LogBuilder()), duration_s=400, measure_from_s=400).iloc[0]
    assert web["window_s"] == 0.0
    assert all(math.isnan(web[c]) for c in SCHEMAS["availability"] if c not in ("service",
                                                                              "window_s"))
    assert len(availability(logs.tiny(logs.LogBuilder()), duration_s=200)) == 0


def test_minimum_healthy_rounds_up():
    assert minimum_healthy([0, 1, 2, 3, 4, 6], 50).tolist() == [0, 1, 1, 2, 2, 3]
    assert minimum_healthy([2, 3], 75).tolist() == [2, 3]  # ceil(1.5)=2, ceil(2.25)=3
    assert minimum_healthy([3], 100).tolist() == [3]


def test_invalid_window():
    empty = pd.DataFrame({c: [] for c in SCHEMAS["service_counts"]})
    with pytest.raises(ValueError, match="measurement window"):
        availability_table(empty, pd.DataFrame({c: [] for c in SCHEMAS["services"]}),
                           start_s=10, end_s=5)
