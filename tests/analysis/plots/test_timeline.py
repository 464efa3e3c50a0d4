"""The Gantt timeline: bars equal the tasks' placement intervals; aggregation; empty cases."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.patches import StepPatch
from recomputed import freed_at

from ecssim.analysis.plots.style import FAULT_COLOR, service_colors
from ecssim.analysis.plots.timeline import assign_lanes, gantt


def expected_bars(result) -> pd.DataFrame:
    """Each task's interval recomputed from the tables: creation to first STOPPING/STOPPED row."""
    tasks = result.tasks.set_index("task_id")
    return pd.DataFrame({"instance_id": tasks["instance_id"], "service": tasks["service"],
                         "start_s": tasks["created_at_s"],
                         "end_s": freed_at(result).to_numpy(float)}).fillna({"end_s": result.duration_s})


def test_bars_equal_task_intervals(small_result, close):
    fig = gantt(small_result)
    close(fig)
    ax = fig.axes[0]
    bars = {p.get_gid(): p for p in ax.patches if p.get_gid() and p.get_gid().startswith("t-")}
    expected = expected_bars(small_result)
    assert sorted(bars) == sorted(expected.index)
    labels = [t.get_text() for t in ax.get_yticklabels()]
    colors = service_colors(set(small_result.services["service"]) | set(small_result.tasks["service"]))
    for task_id, row in expected.iterrows():
        bar = bars[task_id]
        assert bar.get_x() == pytest.approx(row["start_s"] / 60)  # 30 min run: minutes
        assert bar.get_width() == pytest.approx((row["end_s"] - row["start_s"]) / 60)
        line = round(bar.get_y() + bar.get_height() / 2)  # the lane sits inside its row
        assert labels[line].startswith("…" + row["instance_id"][-5:])
        assert abs(bar.get_y() + bar.get_height() / 2 - line) < 0.45
        assert bar.get_facecolor()[:3] == pytest.approx(plt.matplotlib.colors.to_rgb(colors[row["service"]]))
    assert ax.get_xlabel() == "simulated time (min)"
    assert ax.get_title()


def test_overlapping_bars_of_a_row_do_not_overlap(small_result, close):
    fig = gantt(small_result)
    close(fig)
    bars = [p for p in fig.axes[0].patches if p.get_gid() and p.get_gid().startswith("t-")]
    for i, a in enumerate(bars):
        for b in bars[i + 1:]:
            same_time = a.get_x() < b.get_x() + b.get_width() and b.get_x() < a.get_x() + a.get_width()
            same_height = a.get_y() < b.get_y() + b.get_height() and b.get_y() < a.get_y() + a.get_height()
            assert not (same_time and same_height), (a.get_gid(), b.get_gid())


def test_lost_instance_marked_at_its_termination(small_result, close):
    fig = gantt(small_result)
    close(fig)
    lost = small_result.instances[small_result.instances["incident_id"] != ""]
    marks = {line.get_gid(): line for line in fig.axes[0].lines if (line.get_gid() or "").startswith("lost:")}
    assert sorted(marks) == sorted(f"lost:{i}" for i in lost["instance_id"])
    for row in lost.itertuples():
        mark = marks[f"lost:{row.instance_id}"]
        assert mark.get_xdata()[0] == pytest.approx(row.terminated_at_s / 60)
        assert mark.get_color() == FAULT_COLOR


def test_aggregated_above_max_instances(small_result, close):
    fig = gantt(small_result, max_instances=2)
    close(fig)
    assert "aggregated" in fig.get_suptitle()
    expected = expected_bars(small_result)
    expected["az"] = small_result.tasks.set_index("task_id")["az"]
    azs = sorted(small_result.instances["az"].unique())
    assert len(fig.axes) == len(azs)
    for ax, az in zip(fig.axes, azs, strict=True):
        steps = [p for p in ax.patches if isinstance(p, StepPatch)]
        top = max(steps, key=lambda p: p.get_data().values.sum())  # the last layer: all services
        values, edges, _ = top.get_data()
        starts = edges[:-1] * 60
        here = expected[expected["az"] == az]
        counts = [((here["start_s"] <= t) & (here["end_s"] > t)
                   | ((here["start_s"] <= t) & (here["end_s"] == small_result.duration_s))).sum() for t in starts]
        np.testing.assert_array_equal(values, counts)


def test_assign_lanes():
    lanes = assign_lanes(np.array([0.0, 1.0, 5.0, 2.0]), np.array([5.0, 3.0, 6.0, 4.0]))
    assert list(lanes) == [0, 1, 0, 2]


def test_empty_cases(empty_result, plot_helpers, close):
    fig = gantt(empty_result)
    close(fig)
    assert "No tasks were placed" in plot_helpers.texts(fig)
    none = plot_helpers.replace_tables(empty_result, instances=empty_result.instances.iloc[0:0])
    fig = gantt(none)
    close(fig)
    assert "No container instances in this run" in plot_helpers.texts(fig)
