"""The validation figures, drawn without an engine: simulated runs stand in for real ones.

Every plotted value is recomputed here by brute force from the tables: at an instant, a
task's state is that of its last state row at or before it (``events``), and the band is
the percentiles of those counts over the replications. Colours are checked against the
comparison table's ``inside`` column.
"""

from __future__ import annotations

import copy
import math
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import yaml
from PIL import Image

import ecssim
from ecssim import load_scenario
from ecssim.analysis.plots import SAVE_DPI
from ecssim.docker.compare import (
    DEFAULT_METRICS,
    PER_FAULT_METRICS,
    Validation,
    comparison_table,
    run_metrics,
)
from ecssim.docker.plots import (
    COMPARISON_FILE,
    INSIDE_COLOR,
    OUTSIDE_COLOR,
    RUNNING_TASKS_FILE,
    comparison_figure,
    running_tasks_figure,
    save_validation_plots,
)

matplotlib.use("Agg")

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "docker-validation.yaml"
MINUTE = 60.0  # the figures' time unit for a 120 s run
REPLICATIONS = 8


def simulate_all(scenario, seed: int, count: int) -> list:  # noqa: ANN001
    return [ecssim.simulate(scenario, seed, replication=r) for r in range(count)]


@pytest.fixture(scope="module")
def real():  # noqa: ANN201
    """Two simulated runs playing the real ones (seeds apart from the replications')."""
    return simulate_all(load_scenario(SCENARIO), 1, 2)


@pytest.fixture(scope="module")
def simulated():  # noqa: ANN201
    return simulate_all(load_scenario(SCENARIO), 10_001, REPLICATIONS)


@pytest.fixture(scope="module")
def comparison(real, simulated):  # noqa: ANN001, ANN201
    """A comparison with rows inside, one forced outside and one without a real value."""
    real_metrics = [run_metrics(r) for r in real]
    real_metrics[1] = {**real_metrics[1], "tasks_created": 1000.0, "incidents": math.nan}
    return comparison_table(real_metrics, [run_metrics(s) for s in simulated], DEFAULT_METRICS)


def running_at(result, times_s: np.ndarray, service: str | None = None) -> np.ndarray:  # noqa: ANN001
    """RUNNING tasks at each instant, by brute force over the task state rows."""
    events = result.events
    rows = events[(events["entity"] == "task") & (events["event"] == "state")]
    if service is not None:
        rows = rows[rows["service"] == service]
    counts = []
    for t in times_s:
        last = rows[rows["time_s"] <= t + 1e-9].sort_values("seq").groupby("entity_id")["to_state"].last()
        counts.append(int((last == "RUNNING").sum()))
    return np.asarray(counts, dtype=float)


def by_gid(fig, gid: str):  # noqa: ANN001, ANN201
    found = [artist for ax in fig.axes for artist in ax.get_children() if artist.get_gid() == gid]
    assert len(found) == 1, f"{len(found)} artists with gid {gid}"
    return found[0]


def texts(fig) -> str:  # noqa: ANN001
    return " | ".join([t.get_text() for ax in fig.axes for t in ax.texts]
                      + [ax.get_title(loc=loc) for ax in fig.axes for loc in ("left", "center", "right")])


# ---------------------------------------------------------------- running tasks
def test_band_and_median_are_percentiles_of_the_replications(real, simulated) -> None:
    fig = running_tasks_figure(real, simulated)
    low, high, median = (by_gid(fig, gid).get_xydata() for gid in ("band:low", "band:high", "median"))
    np.testing.assert_array_equal(low[:, 0], median[:, 0])
    np.testing.assert_array_equal(high[:, 0], median[:, 0])
    instants = median[:, 0] * MINUTE
    counts = np.vstack([running_at(s, instants) for s in simulated])
    np.testing.assert_allclose(low[:, 1], np.percentile(counts, 2.5, axis=0))
    np.testing.assert_allclose(median[:, 1], np.median(counts, axis=0))
    np.testing.assert_allclose(high[:, 1], np.percentile(counts, 97.5, axis=0))
    assert by_gid(fig, "median").get_drawstyle() == "steps-post"
    assert median[-1, 0] * MINUTE == pytest.approx(simulated[0].duration_s)
    plt.close(fig)


def test_the_grid_holds_every_change_of_every_run(real, simulated) -> None:
    fig = running_tasks_figure(real, simulated)
    grid = set(np.round(by_gid(fig, "median").get_xdata() * MINUTE, 6))
    for result in real + simulated:
        tasks = result.tasks
        starts = tasks["started_at_s"].dropna()
        ends = tasks.loc[tasks["started_at_s"].notna(), "stopping_at_s"].dropna()  # RUNNING ends at STOPPING
        assert set(np.round(np.r_[starts, ends], 6)) <= grid
    plt.close(fig)


def test_each_real_run_is_its_own_line(real, simulated) -> None:
    fig = running_tasks_figure(real, simulated)
    colors = set()
    for k, result in enumerate(real):
        line = by_gid(fig, f"real:{k}")
        assert line.get_label() == f"real run {k}" and line.get_drawstyle() == "steps-post"
        xy = line.get_xydata()
        np.testing.assert_array_equal(xy[:, 1], running_at(result, xy[:, 0] * MINUTE))
        started = result.tasks["started_at_s"].dropna()
        assert set(np.round(started, 6)) <= set(np.round(xy[:, 0] * MINUTE, 6))
        colors.add(line.get_color())
    assert len(colors) == len(real)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert legend[-2:] == ["real run 0", "real run 1"] and "simulated median" in legend
    assert "RUNNING tasks" in fig.axes[0].get_title() and fig.axes[0].get_xlabel() == "simulated time (min)"
    plt.close(fig)


@pytest.fixture(scope="module")
def two_services():  # noqa: ANN201
    """The validation scenario plus a second service, ``api``, of 2 tasks that never crash."""
    data = yaml.safe_load(SCENARIO.read_text())
    data = copy.deepcopy(data) | {"name": "docker-validation-two"}
    data["services"].append({"serviceName": "api", "taskDefinition": "web", "desiredCount": 2})
    scenario = ecssim.load_scenario_dict(data)
    return simulate_all(scenario, 1, 1), simulate_all(scenario, 10_001, 4)


def test_service_picks_that_service_only(two_services) -> None:
    real, simulated = two_services
    fig = running_tasks_figure(real, simulated, service="web")
    xy = by_gid(fig, "real:0").get_xydata()
    np.testing.assert_array_equal(xy[:, 1], running_at(real[0], xy[:, 0] * MINUTE, service="web"))
    assert "service web" in fig.axes[0].get_title()
    plt.close(fig)
    everything = running_tasks_figure(real, simulated)
    xy = by_gid(everything, "real:0").get_xydata()
    np.testing.assert_array_equal(xy[:, 1], running_at(real[0], xy[:, 0] * MINUTE))
    assert xy[0, 1] == 6  # 4 web + 2 api, warm-started
    plt.close(everything)
    with pytest.raises(ValueError, match="no service 'nope'.*api, web"):
        running_tasks_figure(real, simulated, service="nope")


@pytest.mark.parametrize(("which", "message"), [("real", "No real runs"), ("simulated", "No simulated"),
                                                 ("both", "No real runs and no simulated")])
def test_missing_runs_give_a_figure_that_says_so(real, simulated, which, message) -> None:
    fig = running_tasks_figure([] if which in ("real", "both") else real,
                               [] if which in ("simulated", "both") else simulated)
    assert message in texts(fig) and not fig.axes[0].lines
    plt.close(fig)


# ---------------------------------------------------------------- comparison
def metric_axes(fig, metric: str):  # noqa: ANN001, ANN201
    (ax,) = [ax for ax in fig.axes if ax.get_title(loc="left") == metric]
    return ax


def test_one_row_per_metric_with_its_interval(comparison) -> None:
    fig = comparison_figure(comparison)
    metrics = list(dict.fromkeys(comparison["metric"]))
    assert [ax.get_title(loc="left") for ax in fig.axes] == metrics
    for metric in metrics:
        row = comparison[comparison["metric"] == metric].iloc[0]
        bar = by_gid(fig, f"interval:{metric}")
        assert bar.get_x() == pytest.approx(row["sim_low"]) and bar.get_width() == pytest.approx(row["width"])
        left, right = metric_axes(fig, metric).get_xlim()
        assert left <= row["sim_low"] and row["sim_high"] <= right
    plt.close(fig)


def test_markers_are_the_real_values_coloured_by_inside(comparison) -> None:
    fig = comparison_figure(comparison)
    assert {True, False} <= set(comparison.loc[comparison["note"] == "", "inside"])  # both colours drawn
    for row in comparison.itertuples(index=False):
        gid = f"real:{row.metric}:{row.real_run}"
        if row.note:
            assert not [a for ax in fig.axes for a in ax.get_children() if a.get_gid() == gid]
            continue
        marker = by_gid(fig, gid)
        assert list(marker.get_xdata()) == [pytest.approx(row.real_value)]
        assert marker.get_color() == (INSIDE_COLOR if row.inside else OUTSIDE_COLOR)
        left, right = marker.axes.get_xlim()
        assert left <= row.real_value <= right
    plt.close(fig)


def test_values_intervals_and_notes_are_printed(comparison) -> None:
    fig = comparison_figure(comparison)
    created = metric_axes(fig, "tasks_created").get_xlabel()
    assert "run 1: 1000 out" in created
    row = comparison[comparison["metric"] == "tasks_created"].iloc[0]
    assert f"[{row['sim_low']:.4g}, {row['sim_high']:.4g}] of {REPLICATIONS}" in created
    first = comparison[(comparison["metric"] == "incidents") & (comparison["real_run"] == 0)].iloc[0]
    assert (f"run 0: {first['real_value']:.4g} {'in' if first['inside'] else 'out'}; run 1: — no real value"
            in metric_axes(fig, "incidents").get_xlabel())
    inside = int(comparison["inside"].sum())
    assert f"{inside} of {len(comparison)} real values inside" in fig.get_suptitle()
    plt.close(fig)


def test_per_fault_rows_get_a_row_per_metric_and_fault_kind(real, simulated) -> None:
    table = comparison_table([run_metrics(r) for r in real], [run_metrics(s) for s in simulated], [],
                             real_recovery=[r.recovery for r in real],
                             sim_recovery=[s.recovery for s in simulated])
    fig = comparison_figure(table)
    kinds = sorted(set(pd.concat([r.recovery for r in real])["kind"]))
    assert kinds, "the stand-in real runs have incidents"
    pooled = pd.concat([s.recovery for s in simulated])
    for metric in PER_FAULT_METRICS:
        for kind in kinds:
            label = f"{metric} ({kind})"
            values = pooled.loc[pooled["kind"] == kind, metric].dropna()
            bar = by_gid(fig, f"interval:{label}")
            assert bar.get_x() == pytest.approx(np.percentile(values, 2.5))
            assert bar.get_x() + bar.get_width() == pytest.approx(np.percentile(values, 97.5))
            for k, result in enumerate(real):
                for incident in result.recovery[result.recovery["kind"] == kind].itertuples(index=False):
                    marker = by_gid(fig, f"real:{label}:{k}:{incident.incident_id}")
                    value = getattr(incident, metric)
                    assert list(marker.get_xdata()) == [pytest.approx(value)]
                    inside = np.percentile(values, 2.5) <= value <= np.percentile(values, 97.5)
                    assert marker.get_color() == (INSIDE_COLOR if inside else OUTSIDE_COLOR)
    plt.close(fig)


def test_empty_or_foreign_comparison(comparison) -> None:
    fig = comparison_figure(comparison.iloc[0:0])
    assert "comparison table is empty" in texts(fig)
    plt.close(fig)
    with pytest.raises(ValueError, match="inside"):
        comparison_figure(comparison.drop(columns="inside"))


# ---------------------------------------------------------------- saving
def test_save_writes_both_figures_and_closes_them(real, simulated, comparison, tmp_path) -> None:
    open_before = plt.get_fignums()
    paths = save_validation_plots(Validation(real, simulated, comparison, timing={}), tmp_path / "plots")
    assert [p.name for p in paths] == [RUNNING_TASKS_FILE, COMPARISON_FILE]
    for path in paths:
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.info["dpi"] == pytest.approx((SAVE_DPI, SAVE_DPI), abs=0.01)
    assert plt.get_fignums() == open_before
