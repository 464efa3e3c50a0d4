"""Plots of sweeps and capacity searches: the drawn data equals the experiment's tables."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.colors import to_rgba

from ecssim.experiments import (
    CapacityPlan,
    Criterion,
    Experiment,
    ExperimentResult,
    experiment,
    find_min_capacity,
)
from ecssim.experiments import search as search_module
from ecssim.experiments.plots import (
    FAIL_COLOR,
    MAX_PANELS,
    PASS_COLOR,
    save_plan_plots,
    save_sweep_plots,
    search_evidence,
    sweep_metric,
)
from ecssim.experiments.runner import RunRecord

from .conftest import small_scenario
from .test_search import fake_runs, fits_in_four

COUNT = "cluster.fleets[0].count"
PERIOD = "timing.serviceReaction.period"


@pytest.fixture(scope="module")
def sweep() -> ExperimentResult:
    """2 fleet sizes x 2 reconcile periods x 3 replications of the small scenario (about 2 s)."""
    exp = Experiment(small_scenario(), axes={COUNT: [3, 4], PERIOD: ["10s", "30s"]}, replications=3, seed=7)
    return experiment(exp, executor="serial", progress=False)


@pytest.fixture(scope="module")
def plan() -> CapacityPlan:
    """The smallest fleet holding 12 tasks of 1 GiB on 3 GiB instances (4), judged on two criteria."""
    return find_min_capacity(fits_in_four(), COUNT, ["placement_failures <= 0", "mean_tasks_running >= 11"],
                             low=1, high=8, replications=2, executor="serial", progress=False)


def by_gid(ax, gid: str) -> list:
    return [a for a in (*ax.lines, *ax.collections) if a.get_gid() == gid]


def synthetic(values_of_point, axes=None, replications: int = 3, status: str = "ok") -> ExperimentResult:
    """A sweep result from made-up summaries (no simulation): metric ``recovery_time_p95_s``."""
    exp = Experiment(small_scenario(), axes=axes or {COUNT: [3, 4, 5]}, replications=replications)
    records = [RunRecord(p.index, r, status, {"recovery_time_p95_s": values_of_point(p.index, r)} if status == "ok"
                         else {}, error="" if status == "ok" else "RuntimeError: boom")
               for p in exp.points for r in range(replications)]
    return ExperimentResult(exp, records)


# --------------------------------------------------------------------------- sweeps


def test_lines_bands_and_dots_equal_the_tables(sweep):
    metric = "mean_tasks_running"
    fig = sweep.plot.metric(metric)
    ax = fig.axes[0]
    agg, runs = sweep.metric(metric), sweep.runs
    lines = by_gid(ax, "mean")
    bands = by_gid(ax, "band")
    dots = by_gid(ax, "runs")
    assert [line.get_label() for line in lines] == ["10s", "30s"]
    for line, band, dot, period in zip(lines, bands, dots, ["10s", "30s"], strict=True):
        rows = agg[agg[PERIOD] == period].sort_values(COUNT)
        expected = np.column_stack([rows[COUNT].to_numpy(float), rows["mean"].to_numpy(float)])
        np.testing.assert_allclose(line.get_xydata(), expected)
        vertices = band.get_paths()[0].vertices
        n = len(rows)
        np.testing.assert_allclose(vertices[1:n + 1], np.column_stack([expected[:, 0], rows["ci_low"]]))
        np.testing.assert_allclose(vertices[n + 2:2 * n + 2][::-1], np.column_stack([expected[:, 0], rows["ci_high"]]))
        mine = runs[(runs[PERIOD] == period) & (runs.status == "ok")]
        assert sorted(dot.get_offsets()[:, 1]) == pytest.approx(sorted(mine[metric]))
    assert ax.get_xlabel() == COUNT and ax.get_ylabel() == metric
    assert "95% confidence interval" in fig._suptitle.get_text() and "3 replications" in fig._suptitle.get_text()
    plt.close(fig)


def test_seconds_unit_categorical_x_and_hue(sweep):
    fig = sweep_metric(sweep, "recovery_time_mean_s", x=PERIOD, hue=COUNT)
    ax = fig.axes[0]
    assert ax.get_xlabel() == PERIOD and ax.get_ylabel() == "recovery_time_mean_s (seconds)"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["10s", "30s"]
    agg = sweep.metric("recovery_time_mean_s")
    for line, count in zip(by_gid(ax, "mean"), [3, 4], strict=True):
        rows = agg[agg[COUNT] == count]
        assert list(line.get_xdata()) == [0.0, 1.0]
        np.testing.assert_allclose(line.get_ydata(), rows["mean"].to_numpy(float))
    plt.close(fig)


def test_unknown_metric_and_axis_are_refused_with_the_choices(sweep):
    with pytest.raises(ValueError, match="no summary metric 'recovery_p95'.*available: .*recovery_time_p95_s"):
        sweep_metric(sweep, "recovery_p95")
    with pytest.raises(ValueError, match=r"x='count' is not an axis.*choose from: cluster.fleets\[0\].count, timing"):
        sweep.plot.metric("incidents", x="count")
    with pytest.raises(ValueError, match="hue must differ from x"):
        sweep_metric(sweep, "incidents", x=COUNT, hue=COUNT)


def test_a_point_where_every_run_is_nan_leaves_a_gap_and_a_note():
    result = synthetic(lambda p, r: math.nan if p == 1 else 10.0 * p + r)
    fig = sweep_metric(result, "recovery_time_p95_s")
    ax = fig.axes[0]
    (line,) = by_gid(ax, "mean")
    assert line.get_xdata().tolist() == [3.0, 4.0, 5.0]
    y = line.get_ydata()
    assert y[0] == pytest.approx(1.0) and math.isnan(y[1]) and y[2] == pytest.approx(21.0)
    assert any("gap: no value" in t.get_text() and "4" in t.get_text() for t in ax.texts)
    assert "n = 0..3" in fig._suptitle.get_text()
    plt.close(fig)


def test_nothing_to_plot_says_why():
    fig = sweep_metric(synthetic(lambda p, r: math.nan), "recovery_time_p95_s")
    assert any("NaN at every point" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    fig = sweep_metric(synthetic(None, status="failed"), "recovery_time_p95_s")
    assert any("No successful runs" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)


def test_an_experiment_without_axes_shows_one_interval():
    exp = Experiment(small_scenario(), replications=4)
    result = ExperimentResult(exp, [RunRecord(0, r, "ok", {"recovery_time_p95_s": 5.0 + r}) for r in range(4)])
    row = result.metric("recovery_time_p95_s").iloc[0]
    fig = sweep_metric(result, "recovery_time_p95_s")
    ax = fig.axes[0]
    np.testing.assert_allclose(by_gid(ax, "mean")[0].get_xydata(), [[0.0, 6.5]])
    (whisker,) = by_gid(ax, "whiskers")[0].get_segments()  # one point: a whisker instead of a band
    np.testing.assert_allclose(whisker, [[0.0, row.ci_low], [0.0, row.ci_high]])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["all runs"]
    plt.close(fig)


def test_further_axes_give_panels_or_a_clear_error():
    axes = {COUNT: [3, 4], PERIOD: ["10s", "30s"], "services[web].desiredCount": [4, 6]}
    fig = sweep_metric(synthetic(lambda p, r: float(p + r), axes=axes, replications=2), "recovery_time_p95_s")
    shown = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in shown] == ["services[web].desiredCount=4", "services[web].desiredCount=6"]
    assert all(len(by_gid(ax, "mean")) == 2 for ax in shown)  # one line per period in each panel
    plt.close(fig)
    many = {COUNT: [3, 4], PERIOD: ["10s", "30s"], "services[web].desiredCount": list(range(1, MAX_PANELS + 2))}
    result = synthetic(lambda p, r: 1.0, axes=many, replications=1)
    with pytest.raises(ValueError, match=r"13 panels.*choose x= and hue= among the axes: cluster"):
        sweep_metric(result, "recovery_time_p95_s")


def test_save_sweep_plots(sweep, tmp_path):
    paths = save_sweep_plots(sweep, tmp_path / "plots")
    assert [p.name for p in paths] == ["recovery_time_p95_s.png", "service_availability_mean.png",
                                       "placement_failures.png", "peak_memory_reserved_fraction.png"]
    assert all(p.stat().st_size > 10_000 for p in paths)
    assert [p.name for p in save_sweep_plots(sweep, tmp_path, ["incidents"])] == ["incidents.png"]


# --------------------------------------------------------------------------- capacity search


def test_evidence_points_threshold_and_answer_equal_the_plan(plan):
    assert plan.answer == 4
    fig = plan.plot.evidence()
    panels = [ax for ax in fig.axes if by_gid(ax, "bound")]
    assert len(panels) == 2
    for ax, criterion in zip(panels, plan.criteria, strict=True):
        rows = plan.evidence[plan.evidence.criterion == str(criterion)].sort_values("value")
        values = rows["value"].to_numpy(float)
        (mean,) = by_gid(ax, "mean")
        np.testing.assert_allclose(mean.get_xydata(), np.column_stack([values, rows["mean"]]))
        (bound,) = by_gid(ax, "bound")
        np.testing.assert_allclose(bound.get_offsets(), np.column_stack([values, rows["bound"]]))
        expected = [to_rgba(PASS_COLOR if h else FAIL_COLOR) for h in rows["holds"]]
        np.testing.assert_allclose(bound.get_facecolors(), expected)
        (threshold,) = by_gid(ax, "threshold")
        assert list(threshold.get_ydata()) == [criterion.threshold] * 2
        (answer,) = by_gid(ax, "answer")
        assert list(answer.get_xdata()) == [4, 4]
        orders = {t.get_text() for t in ax.texts}
        assert {str(o + 1) for o in rows["order"]} <= orders
    assert f"Capacity search over {COUNT}: answer 4" in fig._suptitle.get_text()
    plt.close(fig)


def test_evidence_without_an_answer_and_with_nan_runs(monkeypatch):
    monkeypatch.setattr(search_module, "run_records",
                        fake_runs(lambda n, r: math.nan if n == 4 else 400.0 + r))
    none = find_min_capacity(fits_in_four(), COUNT, "recovery_time_p95_s <= 300", low=1, high=4, replications=3,
                             executor="serial", progress=False)
    fig = search_evidence(none)
    ax = fig.axes[0]
    assert "no value meets the criteria" in fig._suptitle.get_text()
    assert not by_gid(ax, "answer")
    assert list(none.evidence.value) == [4]  # the top fails: the search stops there
    assert any("3/3 runs NaN" in t.get_text() for t in ax.texts)  # no bound to draw
    assert ax.get_ylabel() == "recovery_time_p95_s (seconds)"
    plt.close(fig)


def test_empty_evidence_and_save_plan_plots(plan, tmp_path):
    empty = CapacityPlan(COUNT, [Criterion.parse("placement_failures <= 0")], 0.95, 2, 1, 3, 1, None,
                         pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), [])
    fig = search_evidence(empty)
    assert any("No value was evaluated" in t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    (path,) = save_plan_plots(plan, tmp_path / "plan")
    assert path.name == "evidence.png" and path.stat().st_size > 10_000
