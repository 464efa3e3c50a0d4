"""How full each instance was: the utilisation heatmap and the fragmentation scatter.

The heatmap shows, per instance (rows, grouped by AZ in launch order) and time (columns),
the share of its registered CPU or memory that tasks reserved; grey where the instance's
capacity was not registered (not launched yet, or gone). The fragmentation scatter shows
one moment: each active instance's free CPU against its free memory, with the smallest task
of the run drawn from the origin, so free capacity that no task can use (*stranded*) is
visible and totalled. Reservations follow the control-plane ledger
(:mod:`ecssim.analysis.occupancy`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle

from ecssim.analysis.occupancy import reservation_matrix, reserved_at, resource_columns
from ecssim.analysis.plots.style import (
    FIGURE_WIDTH,
    empty_figure,
    fault_marks,
    mark_faults,
    new_figure,
    time_label,
    time_unit,
)
from ecssim.analysis.plots.timeline import instance_label

HEATMAP_TITLE = "Reserved share of each instance"
FRAGMENTATION_TITLE = "Free capacity per instance"
#: Colour of heatmap cells where the instance's capacity was not registered.
NOT_REGISTERED_COLOR = "#b0b0b0"
#: Default number of heatmap columns when ``every`` is not given.
DEFAULT_COLUMNS = 200
#: Colours of availability zones (a palette apart from the service colours).
_AZ_PALETTE = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#666666")
_STRANDED_COLOR = "#fbe3e3"
_RESOURCE_WORD = {"cpu": "CPU", "memory": "memory"}


def heatmap_times(duration_s: float, every: str | float | pd.Timedelta | None = None) -> np.ndarray:
    """Left edges of the heatmap columns: ``0, every, 2 every, ...`` before ``duration_s``.

    ``every`` is seconds or a pandas duration (``"1min"``); by default about
    :data:`DEFAULT_COLUMNS` columns span the run. Each column shows the level at its left edge.
    """
    if every is None:
        step = max(float(duration_s), 1.0) / DEFAULT_COLUMNS
    elif isinstance(every, (int, float)):
        step = float(every)
    else:
        step = pd.Timedelta(every).total_seconds()
    if step <= 0:
        raise ValueError(f"heatmap step must be positive, got {every!r}")
    count = max(1, int(np.ceil(float(duration_s) / step - 1e-9)))
    return step * np.arange(count)


def heatmap(result, *, resource: str = "cpu", every: str | float | pd.Timedelta | None = None) -> Figure:
    """Instances x time image of reserved / registered ``resource`` in percent.

    ``resource`` is ``"cpu"`` or ``"memory"``; ``every`` is the column width (seconds or a
    pandas duration; default: ~200 columns over the run). Grey cells: the instance's capacity
    was not registered then. Fault and action times are marked as in every ecssim plot.
    """
    resource_columns(resource)
    word = _RESOURCE_WORD[resource]
    if result.instances.empty:
        return empty_figure(HEATMAP_TITLE, "No container instances in this run: there is no capacity to fill.")
    if result.tasks.empty:
        return empty_figure(HEATMAP_TITLE, f"No tasks were placed in this run: no {word} was ever reserved.")
    times = heatmap_times(result.duration_s, every)
    step = times[1] - times[0] if len(times) > 1 else float(result.duration_s) or 1.0
    spans, reserved, registered = reservation_matrix(result, times, resource=resource)
    with np.errstate(invalid="ignore", divide="ignore"):
        percent = 100.0 * reserved / registered
    end_s = float(times[-1] + step)
    unit, _ = time_unit(end_s)
    fig, axes = new_figure(height=min(14.0, max(3.0, 1.6 + 0.3 * len(spans))))
    ax = axes[0, 0]
    ax.grid(False)
    cmap = ListedColormap(_cmap_colors()).with_extremes(bad=NOT_REGISTERED_COLOR)
    image = ax.imshow(np.ma.masked_invalid(percent), aspect="auto", interpolation="nearest", cmap=cmap,
                      vmin=0, vmax=100, extent=(0, end_s / unit, len(spans) - 0.5, -0.5))
    colorbar = fig.colorbar(image, ax=ax, pad=0.01)
    colorbar.set_label(f"% of registered {word} reserved")
    azs = spans["az"].to_numpy()
    for row in np.flatnonzero(azs[1:] != azs[:-1]):
        ax.axhline(row + 0.5, color="white", linewidth=2.0)
    ax.set_yticks(*_row_ticks(spans))
    mark_faults(ax, fault_marks(result.events), unit)
    ax.set_xlim(0, end_s / unit)
    ax.set_xlabel(time_label(end_s))
    ax.set_ylabel("container instance (id suffix, AZ)")
    ax.set_title(f"{HEATMAP_TITLE}: % of registered {word} reserved by tasks")
    ax.legend(handles=[Patch(facecolor=NOT_REGISTERED_COLOR, label="not registered (not launched yet, or gone)")],
              loc="upper left", bbox_to_anchor=(0.0, -0.12), fontsize=8, frameon=False)
    return fig


def _cmap_colors() -> np.ndarray:
    """A light-to-dark yellow-orange-red ramp: empty instances read as pale, full ones as dark red."""
    from matplotlib import colormaps

    return colormaps["YlOrRd"](np.linspace(0.0, 1.0, 256))


def _row_ticks(spans: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Row positions and labels, thinned to at most ~40 so they stay legible."""
    stride = max(1, int(np.ceil(len(spans) / 40)))
    rows = np.arange(0, len(spans), stride)
    labels = [instance_label(spans["instance_id"].iat[r], spans["az"].iat[r]) for r in rows]
    return rows, labels


def peak_reserved_time(result, resource: str = "cpu") -> float:
    """First instant at which the cluster's reserved ``resource`` was at its maximum (0 if none)."""
    column = "cpu_reserved" if resource == "cpu" else "memory_reserved_mib"
    cluster = result.capacity[result.capacity["scope"] == "cluster"]
    if cluster.empty:
        return 0.0
    return float(cluster["time_s"].iat[int(np.argmax(cluster[column].to_numpy()))])


def stranded(free: pd.DataFrame, min_cpu: float, min_memory: float) -> dict[str, float]:
    """Free capacity no task of the run can use (from :func:`reserved_at` rows of active instances).

    ``cpu``: free CPU on instances whose free memory is below the smallest task's memory;
    ``memory``: free memory on instances whose free CPU is below the smallest task's CPU;
    with the number of such instances (``cpu_instances``, ``memory_instances``).
    """
    memory_short = free["memory_free_mib"] < min_memory
    cpu_short = free["cpu_free"] < min_cpu
    return {
        "cpu": float(free.loc[memory_short, "cpu_free"].sum()),
        "cpu_instances": int(memory_short.sum()),
        "memory": float(free.loc[cpu_short, "memory_free_mib"].sum()),
        "memory_instances": int(cpu_short.sum()),
    }


def clock(seconds: float) -> str:
    """Simulated time as ``HH:MM:SS`` (``Dd HH:MM:SS`` beyond a day)."""
    total = int(round(seconds))
    days, rest = divmod(total, 86400)
    text = f"{rest // 3600:02d}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    return f"{days}d {text}" if days else text


def fragmentation(result, *, at: float | None = None) -> Figure:
    """Free CPU vs free memory of each active instance at time ``at``, with stranded capacity.

    ``at`` defaults to the first moment of peak cluster CPU reservation, when fragmentation
    matters most. The pink bands hold instances that cannot take even the run's smallest task
    (min CPU and min memory over its tasks, the rectangle at the origin): their other free
    resource is stranded, and the totals are written on the plot.
    """
    if result.instances.empty:
        return empty_figure(FRAGMENTATION_TITLE, "No container instances in this run: there is no capacity to fragment.")
    if result.tasks.empty:
        return empty_figure(FRAGMENTATION_TITLE,
                            "No tasks in this run: there is no smallest task to measure free capacity against.")
    when = "peak CPU reserved" if at is None else "chosen time"
    at = peak_reserved_time(result) if at is None else float(at)
    free = reserved_at(result, at)
    free = free[free["active"]]
    title = f"{FRAGMENTATION_TITLE} at t = {clock(at)} ({when})"
    if free.empty:
        return empty_figure(title, f"No instance was registered at t = {clock(at)}: nothing to show.")
    min_cpu, min_memory = int(result.tasks["cpu"].min()), int(result.tasks["memory_mib"].min())
    fig, axes = new_figure(height=5.5, width=min(FIGURE_WIDTH, 8.5))
    ax = axes[0, 0]
    x_max = max(float(free["cpu_registered"].max()), 1.5 * min_cpu) * 1.05
    y_max = max(float(free["memory_registered_mib"].max()), 1.5 * min_memory) * 1.05
    ax.axvspan(0, min_cpu, color=_STRANDED_COLOR, zorder=0)
    ax.axhspan(0, min_memory, color=_STRANDED_COLOR, zorder=0)
    ax.add_patch(Rectangle((0, 0), min_cpu, min_memory, facecolor="#f4a6a6", edgecolor="#b22222",
                           linewidth=1.2, zorder=1, label=f"smallest task: {min_cpu} CPU, {min_memory} MiB"))
    colors = {az: _AZ_PALETTE[i % len(_AZ_PALETTE)] for i, az in enumerate(sorted(free["az"].unique()))}
    for az, part in free.groupby("az", sort=True):
        ax.scatter(part["cpu_free"], part["memory_free_mib"], s=70, color=colors[az], alpha=0.75,
                   edgecolor="white", linewidth=0.8, zorder=3, label=az, gid=f"az:{az}")
    if len(free) <= 12:
        for (cpu, memory), part in free.groupby(["cpu_free", "memory_free_mib"], sort=False):
            names = [instance_label(i) for i in part["instance_id"]]
            label = ", ".join(names) if len(names) <= 3 else f"{', '.join(names[:2])} +{len(names) - 2} more"
            left = cpu > 0.7 * x_max  # near the right edge the label goes left of its point
            ax.annotate(label, (cpu, memory), xytext=(-5 if left else 5, 3), textcoords="offset points",
                        ha="right" if left else "left", fontsize=7, color="#333333")
    ax.text(min_cpu / 2, 0.5 * y_max, "free CPU < smallest task", rotation=90, ha="center", va="center",
            fontsize=8, color="#b22222", zorder=2)
    ax.text(0.6 * x_max, min_memory / 2, "free memory < smallest task", ha="center", va="center",
            fontsize=8, color="#b22222", zorder=2)
    _annotate_stranded(ax, stranded(free, min_cpu, min_memory), min_cpu, min_memory)
    ax.set_xlim(0, x_max)
    ax.set_ylim(0, y_max)
    ax.set_xlabel("free CPU (CPU units)")
    ax.set_ylabel("free memory (MiB)")
    ax.set_title(title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _annotate_stranded(ax, totals: dict[str, float], min_cpu: int, min_memory: int) -> None:
    text = (f"Stranded CPU: {totals['cpu']:.0f} units on {totals['cpu_instances']} instance(s)\n"
            f"  (their free memory < {min_memory} MiB)\n"
            f"Stranded memory: {totals['memory']:.0f} MiB on {totals['memory_instances']} instance(s)\n"
            f"  (their free CPU < {min_cpu} units)")
    # Beside the axes, under the legend: inside, it would hide the instances with most room.
    ax.text(1.03, 0.45, text, transform=ax.transAxes, ha="left", va="top", fontsize=8, zorder=5,
            bbox={"facecolor": "white", "edgecolor": "#b22222", "alpha": 0.9, "boxstyle": "round"})
