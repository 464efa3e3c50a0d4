"""The recovery CDF and the availability bars draw the ``recovery`` and ``availability`` tables."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from ecssim.analysis.plots.recovery import availability, recovery


def cdf_line(ax, kind: str):
    (found,) = [ln for ln in ax.lines if ln.get_label().startswith(f"{kind} (")]
    return found


def test_cdf_points_are_sorted_times_over_all_incidents(small_result):
    table = small_result.recovery
    assert set(table["kind"]) == {"instance_failure", "task_crash"}
    fig = recovery(small_result)
    (ax,) = fig.axes
    assert table["time_to_desired_s"].isna().sum() == 1  # a crash just before the end of the run
    for kind, rows in table.groupby("kind"):
        times = np.sort(rows["time_to_desired_s"].dropna().to_numpy())
        n, k = len(rows), len(times)
        got = cdf_line(ax, kind)
        assert got.get_label() == f"{kind} (n={n}, {n - k} unrecovered)"
        assert got.get_drawstyle() == "steps-post"
        xy = got.get_xydata()
        np.testing.assert_allclose(xy[0], [0.0, 0.0])
        np.testing.assert_allclose(xy[1:k + 1], np.column_stack([times, np.arange(1, k + 1) / n]))
        assert xy[-1, 1] == k / n  # held to the right edge: below 1 when some never recovered
    assert ax.get_xlabel() == "time to desired count after the fault (s)"
    assert ax.get_ylabel() == "fraction of incidents"
    plt.close(fig)


def test_unrecovered_incidents_stay_in_the_denominator(small_result, plot_helpers):
    table = small_result.recovery.copy()
    crashes = table.index[table["kind"] == "task_crash"]
    first = crashes[0]
    assert not np.isnan(table.loc[first, "time_to_desired_s"])
    table.loc[first, ["time_to_desired_s", "recovered_at_s"]] = np.nan
    table.loc[first, "not_recovered_reason"] = "not_recovered_by_end_of_run"
    fig = recovery(plot_helpers.replace_tables(small_result, recovery=table))
    recovered = np.sort(table.loc[crashes, "time_to_desired_s"].dropna().to_numpy())
    n, k = len(crashes), len(recovered)
    got = cdf_line(fig.axes[0], "task_crash")
    assert got.get_label() == f"task_crash (n={n}, {n - k} unrecovered)"
    xy = got.get_xydata()
    np.testing.assert_allclose(xy[1:k + 1], np.column_stack([recovered, np.arange(1, k + 1) / n]))
    assert xy[-1, 1] == k / n
    plt.close(fig)


def test_long_recoveries_are_shown_in_minutes(small_result, plot_helpers):
    table = small_result.recovery.assign(time_to_desired_s=small_result.recovery["time_to_desired_s"] * 100)
    fig = recovery(plot_helpers.replace_tables(small_result, recovery=table))
    ax = fig.axes[0]
    assert ax.get_xlabel().endswith("(min)")
    times = np.sort(table.loc[table["kind"] == "instance_failure", "time_to_desired_s"].to_numpy())
    np.testing.assert_allclose(cdf_line(ax, "instance_failure").get_xydata()[1:len(times) + 1, 0], times / 60)
    plt.close(fig)


def test_no_faults_says_so(no_fault_result, plot_helpers):
    fig = recovery(no_fault_result)
    assert "No faults in this run: nothing to recover from." in plot_helpers.texts(fig)
    plt.close(fig)


def test_availability_bars_equal_the_table(small_result, plot_helpers):
    table = small_result.availability.set_index("service")
    fig = availability(small_result)
    (ax,) = fig.axes
    names = [t.get_text() for t in ax.get_yticklabels()]
    positions = ax.get_yticks()
    assert sorted(names) == ["api", "web"]
    desired, minimum = ax.containers
    for container, column in ((desired, "fraction_at_desired"), (minimum, "fraction_at_minimum_healthy")):
        by_service = {}
        for patch in container.patches:
            y = patch.get_y() + patch.get_height() / 2
            by_service[names[int(np.argmin(np.abs(positions - y)))]] = patch.get_width()
        assert by_service == {s: table.loc[s, column] * 100 for s in names}
    written = plot_helpers.texts(fig)
    for value in table["fraction_at_desired"]:
        assert f"{value * 100:.1f} %" in written
    assert ax.get_xlabel() == "% of the measurement window"
    plt.close(fig)


def test_no_services_no_availability(empty_result, plot_helpers):
    fig = availability(empty_result)
    assert "No services in this run: no availability to show." in plot_helpers.texts(fig)
    plt.close(fig)


def test_empty_window_says_so(small_result, plot_helpers):
    table = small_result.availability.assign(fraction_at_desired=np.nan, fraction_at_minimum_healthy=np.nan)
    fig = availability(plot_helpers.replace_tables(small_result, availability=table))
    assert "measurement window is empty" in plot_helpers.texts(fig)
    plt.close(fig)


def test_faults_that_hit_no_service(empty_result, plot_helpers):
    events = empty_result.events
    fault = events.iloc[[0]].assign(entity="fault", entity_id="inc-0001", event="fault",
                                    to_state="instance_failure")
    hit_nothing = plot_helpers.replace_tables(empty_result, events=pd.concat([events, fault]))
    fig = recovery(hit_nothing)
    assert "hit no service task" in plot_helpers.texts(fig)
    plt.close(fig)
