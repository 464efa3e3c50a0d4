"""The utilisation heatmap and the fragmentation scatter equal values recomputed from the tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from recomputed import freed_at

from ecssim.analysis.plots.utilisation import fragmentation, heatmap


def intervals(result) -> pd.DataFrame:
    """Per task: instance, cpu, memory, created, first STOPPING/STOPPED row (NaN: held at the end)."""
    return result.tasks.assign(freed_s=freed_at(result))


def levels_at(result, t: float) -> pd.DataFrame:
    """Per instance at ``t``: registered (NaN when not) and reserved CPU and memory."""
    tasks = intervals(result)
    held = tasks[(tasks["created_at_s"] <= t) & ~(tasks["freed_s"] <= t)]
    out = result.instances.set_index("instance_id")[["az", "registered_at_s", "terminated_at_s",
                                                     "cpu_registered", "memory_registered_mib"]].copy()
    alive = (out["registered_at_s"] <= t) & ~(out["terminated_at_s"] <= t)
    out["cpu"] = held.groupby("instance_id")["cpu"].sum().reindex(out.index, fill_value=0)
    out["memory"] = held.groupby("instance_id")["memory_mib"].sum().reindex(out.index, fill_value=0)
    out["alive"] = alive
    return out


@pytest.mark.parametrize("resource, column, registered", [("cpu", "cpu", "cpu_registered"),
                                                         ("memory", "memory", "memory_registered_mib")])
def test_heatmap_image_equals_reserved_share(small_result, close, resource, column, registered):
    fig = heatmap(small_result, resource=resource, every=45)
    close(fig)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    times = 45.0 * np.arange(40)  # 1800 s / 45 s
    assert image.shape[1] == len(times)
    order = [label.get_text() for label in ax.get_yticklabels()]
    for k, t in enumerate(times):
        levels = levels_at(small_result, t)
        for r, label in enumerate(order):
            iid = next(i for i in levels.index if label.startswith("…" + i[-5:]))
            row = levels.loc[iid]
            if row["alive"]:
                assert image[r, k] == pytest.approx(100.0 * row[column] / row[registered])
            else:
                assert np.ma.is_masked(image[r, k])
    assert "% of registered" in fig.axes[1].get_ylabel()  # the colour bar
    assert ax.get_xlabel() == "simulated time (min)"


def test_heatmap_default_grid_about_200_columns(small_result, close):
    fig = heatmap(small_result)
    close(fig)
    assert fig.axes[0].images[0].get_array().shape == (len(small_result.instances), 200)
    assert fig.axes[1].get_ylabel() == "% of registered CPU reserved"


def test_heatmap_lost_instance_grey_after_loss(small_result, close):
    fig = heatmap(small_result, every=60)
    close(fig)
    ax = fig.axes[0]
    image = ax.images[0].get_array()
    lost = small_result.instances[small_result.instances["incident_id"] != ""].iloc[0]
    row = next(r for r, label in enumerate(ax.get_yticklabels())
               if label.get_text().startswith("…" + lost["instance_id"][-5:]))
    after = int(np.ceil(lost["terminated_at_s"] / 60))
    assert np.ma.getmaskarray(image)[row, after:].all()
    assert not np.ma.getmaskarray(image)[row, :after].any()


@pytest.mark.parametrize("at", [None, 700.0])
def test_fragmentation_points_equal_free_resources(small_result, close, at):
    fig = fragmentation(small_result, at=at)
    close(fig)
    ax = fig.axes[0]
    if at is None:  # first instant of peak cluster reserved CPU
        cluster = small_result.capacity[small_result.capacity["scope"] == "cluster"]
        at = float(cluster.loc[cluster["cpu_reserved"].idxmax(), "time_s"])
    levels = levels_at(small_result, at)
    levels = levels[levels["alive"]]
    for az, part in levels.groupby("az"):
        scatter = next(c for c in ax.collections if c.get_gid() == f"az:{az}")
        got = sorted(map(tuple, scatter.get_offsets()))
        want = sorted(zip(part["cpu_registered"] - part["cpu"], part["memory_registered_mib"] - part["memory"],
                          strict=True))
        assert got == [tuple(map(float, w)) for w in want]
    assert {c.get_gid() for c in ax.collections if c.get_gid()} == {f"az:{az}" for az in levels["az"]}
    min_cpu, min_memory = small_result.tasks["cpu"].min(), small_result.tasks["memory_mib"].min()
    free_cpu = levels["cpu_registered"] - levels["cpu"]
    free_memory = levels["memory_registered_mib"] - levels["memory"]
    stranded_cpu = free_cpu[free_memory < min_memory].sum()
    stranded_memory = free_memory[free_cpu < min_cpu].sum()
    text = " ".join(t.get_text() for t in ax.texts)
    assert f"Stranded CPU: {stranded_cpu:.0f} units" in text
    assert f"Stranded memory: {stranded_memory:.0f} MiB" in text
    box = next(p for p in ax.patches if p.get_label().startswith("smallest task"))
    assert (box.get_width(), box.get_height()) == (min_cpu, min_memory)
    assert ax.get_xlabel() == "free CPU (CPU units)" and ax.get_ylabel() == "free memory (MiB)"


def test_fragmentation_counts_stranded_capacity(small_result, plot_helpers, close):
    """Fill an instance's memory with a fake task: its free CPU becomes stranded."""
    at = 100.0
    tasks = small_result.tasks
    levels = levels_at(small_result, at)
    iid = levels.index[levels["alive"]][0]
    free_memory = levels.loc[iid, "memory_registered_mib"] - levels.loc[iid, "memory"]
    hog = tasks.iloc[[0]].assign(task_id="t-hog", cpu=0, memory_mib=int(free_memory) - 10, instance_id=iid,
                                 created_at_s=50.0)
    events = small_result.events
    row = events[events["entity"] == "task"].iloc[[0]].assign(entity_id="t-hog", time_s=50.0, to_state="PROVISIONING")
    result = plot_helpers.replace_tables(small_result, tasks=pd.concat([tasks, hog], ignore_index=True),
                            events=pd.concat([events, row], ignore_index=True))
    fig = fragmentation(result, at=at)
    close(fig)
    cpu_free = levels.loc[iid, "cpu_registered"] - levels.loc[iid, "cpu"]
    text = " ".join(t.get_text() for t in fig.axes[0].texts)
    assert f"Stranded CPU: {cpu_free:.0f} units on 1 instance(s)" in text


def test_empty_cases(empty_result, plot_helpers, close):
    for plot in (heatmap, fragmentation):
        fig = plot(empty_result)
        close(fig)
        assert "No tasks" in plot_helpers.texts(fig)
        none = plot_helpers.replace_tables(empty_result, instances=empty_result.instances.iloc[0:0])
        fig = plot(none)
        close(fig)
        assert "No container instances in this run" in plot_helpers.texts(fig)


def test_fragmentation_before_any_instance_registers(small_result, plot_helpers, close):
    late = small_result.instances.assign(registered_at_s=100.0)
    fig = fragmentation(plot_helpers.replace_tables(small_result, instances=late), at=50.0)
    close(fig)
    assert "No instance was registered at t = 00:00:50" in plot_helpers.texts(fig)
