"""The capacity figure draws the ``capacity`` table's step series, per AZ or for the cluster."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ecssim.analysis.plots.capacity import capacity

MINUTE = 60.0
COLUMNS = {"cpu": ("cpu_reserved", "cpu_registered"), "memory": ("memory_reserved_mib", "memory_registered_mib")}


def expected_steps(result, scope: str, column: str) -> np.ndarray:
    """The scope's levels as plotted points: (0, 0) first if needed, held to the end of the run."""
    part = result.capacity[result.capacity["scope"] == scope].sort_values("time_s")
    times, values = part["time_s"].tolist(), part[column].astype(float).tolist()
    if times[0] > 0:
        times, values = [0.0, *times], [0.0, *values]
    times, values = [*times, result.duration_s], [*values, values[-1]]
    return np.column_stack([np.array(times) / MINUTE, values])


def line(ax, label: str):
    found = [ln for ln in ax.lines if ln.get_label() == label]
    assert len(found) == 1, f"expected one line {label!r}, got {[ln.get_label() for ln in ax.lines]}"
    return found[0]


def test_by_az_lines_equal_the_capacity_table(small_result):
    fig = capacity(small_result)
    azs = sorted(set(small_result.capacity["scope"]) - {"cluster"})
    assert azs == ["us-east-1a", "us-east-1b"]
    cpu_ax, memory_ax = fig.axes[:2]
    for ax, resource in ((cpu_ax, "cpu"), (memory_ax, "memory")):
        reserved, registered = COLUMNS[resource]
        for az in azs:
            got = line(ax, f"{az} reserved")
            assert got.get_drawstyle() == "steps-post"
            np.testing.assert_allclose(got.get_xydata(), expected_steps(small_result, az, reserved))
            got = line(ax, f"{az} registered")
            assert got.get_linestyle() != "-"  # dashed
            np.testing.assert_allclose(got.get_xydata(), expected_steps(small_result, az, registered))
        assert not [ln for ln in ax.lines if ln.get_label().startswith("cluster")]
    assert cpu_ax.get_ylabel() == "CPU units" and memory_ax.get_ylabel() == "MiB"
    assert memory_ax.get_xlabel() == "simulated time (min)"
    assert fig.get_suptitle()
    plt.close(fig)


def test_cluster_scope_only(small_result):
    fig = capacity(small_result, by="cluster", resources=("memory",))
    (ax,) = fig.axes
    labels = {ln.get_label() for ln in ax.lines if not ln.get_label().startswith("_")}
    assert labels == {"cluster reserved", "cluster registered"}
    np.testing.assert_allclose(line(ax, "cluster reserved").get_xydata(),
                               expected_steps(small_result, "cluster", "memory_reserved_mib"))
    assert ax.get_ylabel() == "MiB"
    plt.close(fig)


def test_faults_and_actions_are_marked(small_result, plot_helpers):
    fig = capacity(small_result)
    expected = [t / MINUTE for t in plot_helpers.mark_times_s(small_result)]
    assert len(expected) >= 3  # the instance failure, task crashes, the scale-up
    for ax in fig.axes[:2]:
        np.testing.assert_allclose(plot_helpers.vertical_marks(ax), expected)
    plt.close(fig)


def test_no_instances_says_so(small_result, plot_helpers):
    empty = plot_helpers.replace_tables(small_result, capacity=small_result.capacity.iloc[0:0])
    fig = capacity(empty)
    assert "No container instances in this run" in plot_helpers.texts(fig)
    plt.close(fig)


def test_run_without_tasks_still_shows_registered_capacity(empty_result):
    fig = capacity(empty_result, by="cluster", resources=("cpu",))
    (ax,) = fig.axes
    np.testing.assert_allclose(line(ax, "cluster registered").get_xydata(),
                               expected_steps(empty_result, "cluster", "cpu_registered"))
    assert set(line(ax, "cluster reserved").get_ydata()) == {0.0}
    plt.close(fig)


@pytest.mark.parametrize("options", [{"by": "instance"}, {"resources": ("gpu",)}, {"resources": ()}])
def test_bad_options_are_refused(small_result, options):
    with pytest.raises(ValueError, match="by must be|resources must be"):
        capacity(small_result, **options)
