"""The tasks figure: per service, tasks by state over time against the desired count.

Expected levels are recomputed here by brute force from the ``events`` rows: at each plotted
instant, each task's state is that of its last state row at or before that instant.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest

from ecssim.analysis.plots.tasks import MAX_PANELS, provisioning_counts, tasks
from ecssim.analysis.tables import events_table

MINUTE = 60.0
STATES = {"running": ("RUNNING",), "pending": ("PENDING", "ACTIVATING"), "provisioning": ("PROVISIONING",)}


def panel(fig, service: str):
    found = [ax for ax in fig.axes if ax.get_title(loc="left") == service]
    assert len(found) == 1
    return found[0]


def line(ax, label: str):
    (found,) = [ln for ln in ax.lines if ln.get_label() == label]
    return found


def state_counts_at(events, service: str, times_s: np.ndarray, states: tuple[str, ...]) -> list[int]:
    rows = events[(events["entity"] == "task") & (events["event"] == "state") & (events["service"] == service)]
    counts = []
    for t in times_s:
        last = rows[rows["time_s"] <= t + 1e-9].sort_values("seq").groupby("entity_id")["to_state"].last()
        counts.append(int(last.isin(states).sum()))
    return counts


def desired_steps(result, service: str) -> np.ndarray:
    rows = result.events[(result.events["entity"] == "service") & (result.events["event"] == "desired_count")
                         & (result.events["entity_id"] == service)]
    rows = rows.drop_duplicates("time_s", keep="last")
    return np.column_stack([rows["time_s"].to_numpy(), rows["value"].to_numpy()])


def test_one_panel_per_service_with_the_desired_count(small_result):
    fig = tasks(small_result)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["api", "web"]
    for service in ("api", "web"):
        got = line(panel(fig, service), "desired count")
        assert got.get_drawstyle() == "steps-post"
        xy = got.get_xydata()
        assert xy[-1, 0] == pytest.approx(small_result.duration_s / MINUTE)
        desired = desired_steps(small_result, service)
        # every plotted level is the desired count in force then, and every change is plotted
        index = np.searchsorted(desired[:, 0], xy[:, 0] * MINUTE + 1e-9, side="right") - 1
        np.testing.assert_array_equal(xy[:, 1], desired[index, 1])
        assert set(np.round(desired[:, 0], 6)) <= set(np.round(xy[:, 0] * MINUTE, 6))
    assert list(line(panel(fig, "web"), "desired count").get_ydata())[-1] == 6  # the scale-up
    plt.close(fig)


@pytest.mark.parametrize("state", list(STATES))
def test_state_lines_equal_the_task_rows(small_result, state):
    fig = tasks(small_result)
    for service in ("api", "web"):
        xy = line(panel(fig, service), state).get_xydata()
        expected = state_counts_at(small_result.events, service, xy[:, 0] * MINUTE, STATES[state])
        np.testing.assert_array_equal(xy[:, 1], expected)
    plt.close(fig)


def test_running_line_follows_service_counts(small_result):
    counts = small_result.service_counts()
    fig = tasks(small_result, services=["web"])
    (ax,) = fig.axes
    xy = line(ax, "running").get_xydata()
    web = counts[counts["service"] == "web"]
    index = np.searchsorted(web["time_s"].to_numpy(), xy[:, 0] * MINUTE + 1e-9, side="right") - 1
    np.testing.assert_array_equal(xy[:, 1], web["running"].to_numpy()[index])
    assert ax.get_ylabel() == "tasks" and ax.get_xlabel() == "simulated time (min)"
    plt.close(fig)


def test_faults_are_marked(small_result, plot_helpers):
    fig = tasks(small_result)
    expected = [t / MINUTE for t in plot_helpers.mark_times_s(small_result)]
    np.testing.assert_allclose(plot_helpers.vertical_marks(fig.axes[0]), expected)
    plt.close(fig)


def test_no_services_says_so(empty_result, plot_helpers):
    fig = tasks(empty_result)
    assert "No services in this run" in plot_helpers.texts(fig)
    plt.close(fig)


def test_unknown_service_is_refused(small_result):
    with pytest.raises(ValueError, match="no service nope in this run; services: api, web"):
        tasks(small_result, services=["nope"])


def test_many_services_are_capped(plot_helpers):
    data = dict(plot_helpers.scenario) | {"duration": "2m", "faults": [], "workloads": [], "actions": []}
    data["services"] = [{"serviceName": f"s{i:02d}", "taskDefinition": "web", "desiredCount": 1}
                        for i in range(MAX_PANELS + 2)]
    fig = tasks(plot_helpers.run(data))
    assert len(fig.axes) == MAX_PANELS
    assert f"first {MAX_PANELS} of {MAX_PANELS + 2} services" in fig.get_suptitle()
    plt.close(fig)


def test_provisioning_counts_from_hand_made_rows(builder):
    builder.instance("i-a", "us-east-1a", active=0)
    builder.service("web", 2)
    builder.task("t-000001", "i-a", service="web", created=0, running=10)
    builder.task("t-000002", "i-a", service="", created=0, running=10)  # standalone: not counted
    # a task that stays PROVISIONING from 20 s to 30 s
    builder.task("t-000003", "i-a", service="web", created=40, running=50)
    rows = builder.rows
    for i, row in enumerate(rows):
        if row[2] == "t-000003" and row[5] == "PENDING":
            rows[i] = (30.0, *row[1:])
        elif row[2] == "t-000003" and row[5] == "PROVISIONING":
            rows[i] = (20.0, *row[1:])
    events = events_table(builder.build())
    got = provisioning_counts(events)
    assert got.to_dict("list") == {"time_s": [20.0, 30.0], "service": ["web"] * 2, "provisioning": [1, 0]}
