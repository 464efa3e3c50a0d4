"""The cluster auto scaling and demand figures: panels, titles, the plotted steps against the
tables at chosen instants, the scale-out/scale-in marks, the unserved area, empty runs, and
their place among the standard figures (save_plots, the report).

The tiny run: one m5.large (2 vCPU) under capacity provider ``cp`` (managed scaling, target
100), service ``web`` (1-vCPU tasks, 2 of them) scaled to 6 at 5 min and to 1 at 20 min, with a
CPU demand of 1024, 6144 from 5 min and 1024 from 20 min; service ``api`` (2 tasks) on FARGATE.
At 5 min four web tasks wait; the 6-min evaluation wants M = 3 instances (2 tasks per
instance: 1 + 2), so DesiredCapacity goes 1 -> 3; after the scale-down 15 datapoints below
target scale in 3 -> 2 at 35 min and 2 -> 1 at 36 min.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection
from matplotlib.lines import Line2D

import ecssim.analysis.plots as plots
from ecssim.analysis.plots import figure_names, plot_function, save_plots
from ecssim.analysis.plots.scaling import demand, scaling
from ecssim.analysis.plots.style import empty_figure
from ecssim.analysis.report import write_report

TINY: dict = {
    "name": "scaling-tiny",
    "duration": "40m",
    "warmStart": True,
    "cluster": {"fleets": [{"name": "asg", "instanceType": "m5.large", "count": 1, "maxSize": 5,
                            "availabilityZones": ["us-east-1a", "us-east-1b"]}],
                "fargateAvailabilityZones": ["us-east-1a"]},
    "capacityProviders": [{"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "asg", "managedScaling": {"status": "ENABLED", "targetCapacity": 100},
        "managedTerminationProtection": "ENABLED"}}],
    "taskDefinitions": [
        {"family": "web", "cpu": "1024", "memory": "1024",
         "containerDefinitions": [{"name": "w", "image": "example/web:1"}]},
        {"family": "api", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"], "cpu": "256",
         "memory": "512", "containerDefinitions": [{"name": "a", "image": "example/api:1"}]},
    ],
    "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 2,
                  "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]},
                 {"serviceName": "api", "taskDefinition": "api", "desiredCount": 2,
                  "capacityProviderStrategy": [{"capacityProvider": "FARGATE", "weight": 1}]}],
    "demand": [{"service": "web", "resource": "cpu", "curve": {
        "type": "piecewise", "interpolation": "step", "points": [[0, 1024], ["5m", 6144], ["20m", 1024]]}}],
    "actions": [{"type": "updateService", "name": "up", "at": "5m", "service": "web", "desiredCount": 6},
                {"type": "updateService", "name": "down", "at": "20m", "service": "web", "desiredCount": 1}],
}
#: Instants (s) at which the drawn steps are compared with the tables.
INSTANTS = [30.0, 100.0, 330.0, 365.0, 400.0, 415.0, 425.0, 1500.0, 2130.0, 2300.0]


@pytest.fixture(scope="module")
def tiny(plot_helpers):
    return plot_helpers.run(TINY, seed=0)


def line(ax: Axes, label: str) -> Line2D:
    (found,) = [ln for ln in ax.lines if ln.get_label() == label]
    return found


def level_at(found: Line2D, t_min: float) -> float:
    """The level a steps-post line shows at ``t_min`` (the last point at or before it)."""
    x = np.asarray(found.get_xdata(), dtype="float64")
    return float(np.asarray(found.get_ydata(), dtype="float64")[np.searchsorted(x, t_min, side="right") - 1])


def table_at(table: pd.DataFrame, instants: list[float]) -> pd.DataFrame:
    """The table's row in force at each instant (a step series: the last row at or before it)."""
    rows = table.sort_values("time_s", kind="stable").drop_duplicates("time_s", keep="last")
    return pd.merge_asof(pd.DataFrame({"at": instants}), rows, left_on="at", right_on="time_s")


def same(a: list[float], b: list[float]) -> bool:
    return np.array_equal(np.asarray(a, dtype="float64"), np.asarray(b, dtype="float64"), equal_nan=True)


def test_scaling_has_instance_and_task_panels_per_provider_and_tasks_only_for_fargate(tiny, close):
    fig = scaling(tiny)
    close(fig)
    assert fig.get_suptitle() == "Cluster auto scaling by capacity provider"
    fargate, instances, tasks = fig.axes
    assert fargate.get_title(loc="left") == "FARGATE (Fargate: tasks only)"
    assert instances.get_title(loc="left") == "cp"
    assert [ax.get_ylabel() for ax in fig.axes] == ["tasks", "instances", "tasks"]
    assert tasks.get_xlabel() == "simulated time (min)"
    labels = {ln.get_label() for ln in fargate.lines if not ln.get_label().startswith("_")}
    assert labels == {"tasks running", "tasks waiting (PROVISIONING)"}
    assert {"desired capacity", "in service (N)", "registered", "needed (M)"} <= {ln.get_label() for ln in instances.lines}
    assert [level_at(line(fargate, "tasks running"), t / 60) for t in (30, 2300)] == [2, 2]


def test_scaling_steps_equal_the_tables_at_chosen_instants(tiny, close):
    fig = scaling(tiny, providers=["cp"])
    close(fig)
    instances, tasks = fig.axes
    times = [t / 60 for t in INSTANTS]
    # DesiredCapacity, from the capacity_provider rows of events (none before the first evaluation at 60 s)
    desired = [level_at(line(instances, "desired capacity"), t) for t in times]
    assert same(desired, [np.nan, 1, 1, 3, 3, 3, 3, 3, 2, 1])
    rows = tiny.events[(tiny.events["entity"] == "capacity_provider") & (tiny.events["event"] == "desired_capacity")]
    assert same(desired, table_at(rows.loc[:, ["time_s", "value"]], INSTANTS)["value"].tolist())
    expected = table_at(tiny.capacity[tiny.capacity["scope"] == "provider:cp"], INSTANTS)
    for ax, label, column in ((instances, "in service (N)", "provider_instances"),
                              (instances, "registered", "instances_active"),
                              (instances, "needed (M)", "provider_instances_needed"),
                              (tasks, "tasks running", "tasks_running"),
                              (tasks, "tasks waiting (PROVISIONING)", "tasks_provisioning")):
        assert same([level_at(line(ax, label), t) for t in times], expected[column].tolist()), label
    # by hand: four tasks wait from 5 min until instances register; M = 3 at the 6-min evaluation
    assert [level_at(line(tasks, "tasks waiting (PROVISIONING)"), t) for t in (330 / 60, 425 / 60)] == [4, 0]
    assert level_at(line(instances, "needed (M)"), 365 / 60) == 3


def test_scale_out_and_scale_in_are_marked_at_their_new_desired_capacity(tiny, close):
    fig = scaling(tiny, providers="cp")
    close(fig)
    instances = fig.axes[0]
    out, scale_in = line(instances, "scale-out"), line(instances, "scale-in")
    assert (out.get_marker(), scale_in.get_marker()) == ("^", "v")
    assert list(out.get_xdata()) == [6.0] and list(out.get_ydata()) == [3.0]  # 360 s, 1 -> 3
    assert list(scale_in.get_xdata()) == [35.0, 36.0] and list(scale_in.get_ydata()) == [2.0, 1.0]


def test_demand_steps_unserved_area_and_running_tasks(tiny, close):
    fig = demand(tiny)
    close(fig)
    top, bottom = fig.axes
    assert fig.get_suptitle() == "Demand vs capacity by service"
    assert top.get_title(loc="left") == "web — CPU"
    assert (top.get_ylabel(), bottom.get_ylabel(), bottom.get_xlabel()) == ("CPU units", "running",
                                                                           "simulated time (min)")
    times = [t / 60 for t in INSTANTS]
    expected = table_at(tiny.demand, INSTANTS)
    assert same([level_at(line(top, "demand"), t) for t in times], expected["demand"].tolist())
    assert same([level_at(line(top, "capacity"), t) for t in times], expected["capacity"].tolist())
    assert same([level_at(line(bottom, "running tasks"), t) for t in times], expected["running_tasks"].tolist())
    assert [level_at(line(top, "demand"), 330 / 60), level_at(line(top, "capacity"), 330 / 60)] == [6144, 2048]
    # the shaded area is the time integral of the unserved column (CPU units x minutes)
    (shade,) = [c for c in top.collections if isinstance(c, PolyCollection)]
    area = sum(abs(_shoelace(path.vertices)) for path in shade.get_paths())
    table = tiny.demand.sort_values("time_s")
    widths = np.diff(np.r_[table["time_s"].to_numpy(), tiny.duration_s]) / 60
    assert area == pytest.approx(float((table["unserved"].to_numpy() * widths).sum()), rel=1e-9)
    assert area == pytest.approx((4096 * (410.449628 - 300) + 2048 * (428.912613 - 410.449628)) / 60, rel=1e-6)


def _shoelace(vertices: np.ndarray) -> float:
    x, y = vertices[:, 0], vertices[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def test_runs_without_the_data_say_so(small_result, plot_helpers, close):
    for fig, message in ((scaling(small_result), "No capacity providers in this run"),
                         (demand(small_result), "No demand curves in this run")):
        close(fig)
        assert message in plot_helpers.texts(fig)
        assert fig.axes[0].get_title()
    assert figure_names(small_result) == ["capacity", "tasks", "gantt", "heatmap", "fragmentation", "recovery",
                                          "availability"]


def test_options_pick_and_refuse(tiny, close):
    fig = tiny.plot.scaling(providers=["FARGATE"])
    close(fig)
    assert [ax.get_title(loc="left") for ax in fig.axes] == ["FARGATE (Fargate: tasks only)"]
    fig = tiny.plot.demand(services=["web"])
    close(fig)
    assert len(fig.axes) == 2
    with pytest.raises(ValueError, match="no capacity provider nope in this run; capacity providers: FARGATE, cp"):
        scaling(tiny, providers=["nope"])
    with pytest.raises(ValueError, match="no service with demand api in this run"):
        demand(tiny, services="api")
    assert plot_function("scaling") is scaling and plot_function("demand") is demand


def test_save_plots_and_the_report_include_them_for_a_capacity_provider_run(tiny, tmp_path, monkeypatch):
    names = figure_names(tiny)
    for name in names[:-2]:  # the other seven as quick stand-ins: this test is about the last two
        monkeypatch.setitem(plots._STANDARD, name, lambda result, name=name: empty_figure(name, "stand-in"))
    assert names[-2:] == ["scaling", "demand"] and len(names) == 9
    paths = save_plots(tiny, tmp_path / "plots")
    assert [p.name for p in paths] == [f"{name}.png" for name in names]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in paths[-2:])
    text = write_report(tiny, tmp_path).read_text(encoding="utf-8")
    assert text.count("<img ") == 9 and 'data-plot="scaling"' in text and 'data-plot="demand"' in text
    assert "Figure 8. Cluster auto scaling by capacity provider.</b> Per capacity provider" in text
    assert "Figure 9. Demand vs capacity by service.</b> Per service" in text
