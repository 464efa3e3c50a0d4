"""Registered versus reserved capacity over time, per availability zone or for the cluster.

The ``capacity`` table is a step series (one row per scope and change instant, level 0 before
a scope's first row); this figure draws it as such, one panel per resource, so the gap
between what the instances registered and what tasks reserve (the headroom ECS can place
into) is visible, and so is the drop when a fault takes instances away.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ecssim.analysis.plots.style import (
    empty_figure,
    fault_marks,
    mark_faults,
    new_figure,
    time_label,
    time_unit,
    whole_numbers,
)

if TYPE_CHECKING:
    from ecssim.analysis.result import Result

CLUSTER = "cluster"
#: resource -> (registered column, reserved column, axis label, panel title)
RESOURCES: dict[str, tuple[str, str, str, str]] = {
    "cpu": ("cpu_registered", "cpu_reserved", "CPU units", "CPU"),
    "memory": ("memory_registered_mib", "memory_reserved_mib", "MiB", "Memory"),
}
#: Scope colours (Dark2): distinct from the service palette so an AZ is never read as a service.
_SCOPE_PALETTE: tuple[str, ...] = ("#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                                   "#a6761d")
_CLUSTER_COLOR = "#333333"
_BY = ("az", "cluster")


def step_points(times_s: np.ndarray, values: np.ndarray, *, end_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Points of a step series for ``drawstyle="steps-post"``, from 0 to ``end_s``.

    The level is 0 before the first row (a point (0, 0) is added when the first row is later
    than 0) and the last level is held until ``end_s`` (one more point).
    """
    times = np.asarray(times_s, dtype="float64")
    levels = np.asarray(values, dtype="float64")
    if len(times) == 0:
        return np.array([0.0, end_s]), np.array([0.0, 0.0])
    if times[0] > 0:
        times, levels = np.r_[0.0, times], np.r_[0.0, levels]
    return np.r_[times, max(end_s, times[-1])], np.r_[levels, levels[-1]]


def capacity_scopes(table: pd.DataFrame, by: str) -> list[str]:
    """The scopes drawn: the cluster only (``by="cluster"``), else every AZ in name order."""
    if by not in _BY:
        raise ValueError(f"by must be one of {', '.join(_BY)}, got {by!r}")
    present = set(table["scope"].astype("str"))
    if by == CLUSTER:
        return [CLUSTER] if CLUSTER in present else []
    return sorted(s for s in present if s not in (CLUSTER, ""))


def scope_colors(scopes: Sequence[str]) -> dict[str, str]:
    """A colour per scope: dark grey for the cluster, a Dark2 colour per AZ (in order)."""
    azs = [s for s in scopes if s != CLUSTER]
    colors = {s: _SCOPE_PALETTE[i % len(_SCOPE_PALETTE)] for i, s in enumerate(azs)}
    return colors | ({CLUSTER: _CLUSTER_COLOR} if CLUSTER in scopes else {})


def _check_resources(resources: Sequence[str]) -> list[str]:
    chosen = [resources] if isinstance(resources, str) else list(resources)
    unknown = [r for r in chosen if r not in RESOURCES]
    if unknown or not chosen:
        raise ValueError(f"resources must be some of {', '.join(RESOURCES)}, got {resources!r}")
    return chosen


def _dashes(index: int, count: int) -> str | tuple[float, tuple[float, float]]:
    """Dash pattern of the ``index``-th of ``count`` registered lines: interleaved, so that
    zones with equal registered capacity (a common case) all stay visible on one line."""
    if count == 1:
        return "--"
    return (4.0 * index, (4.0, 4.0 * (count - 1)))


def _legend_handles(colors: dict[str, str]) -> list[Line2D]:
    handles = [Line2D([], [], color=c, linewidth=2, label=s) for s, c in colors.items()]
    handles += [Line2D([], [], color="#666666", linewidth=2, label="reserved"),
                Line2D([], [], color="#666666", linewidth=1.3, linestyle="--", label="registered")]
    return handles


def capacity(result: Result, *, by: str = "az", resources: Sequence[str] = ("cpu", "memory")) -> Figure:
    """Registered (dashed) and reserved (solid) CPU and memory over time, one panel per resource.

    ``by="az"`` draws a line pair per availability zone (one colour each); ``by="cluster"`` the
    cluster total only. Faults (red) and scenario actions (grey) are marked. A run without
    instances gives a figure that says so.
    """
    chosen = _check_resources(resources)
    scopes = capacity_scopes(result.capacity, by)
    title = "Registered vs reserved capacity" + (" by availability zone" if by == "az" else " (cluster)")
    if not scopes:
        return empty_figure(title, "No container instances in this run: no capacity to show.")
    duration = float(result.duration_s)
    seconds, _ = time_unit(duration)
    colors = scope_colors(scopes)
    marks = fault_marks(result.events)
    fig, axes = new_figure(len(chosen), 1, height=0.9 + 2.6 * len(chosen))
    for i, (ax, resource) in enumerate(zip(axes[:, 0], chosen, strict=True)):
        registered, reserved, unit, name = RESOURCES[resource]
        for j, scope in enumerate(scopes):
            part = result.capacity[result.capacity["scope"] == scope].sort_values("time_s", kind="stable")
            for column, style, width in ((registered, _dashes(j, len(scopes)), 1.3), (reserved, "-", 2.0)):
                x, y = step_points(part["time_s"].to_numpy(), part[column].to_numpy(), end_s=duration)
                kind = "registered" if column == registered else "reserved"
                ax.plot(x / seconds, y, drawstyle="steps-post", color=colors[scope], linestyle=style,
                        linewidth=width, label=f"{scope} {kind}")
        mark_faults(ax, marks, seconds, annotate=i == 0)
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, duration / seconds)
        ax.set_ylabel(unit)
        whole_numbers(ax)
        ax.set_title(name, loc="left", fontsize=10)
    axes[-1, 0].set_xlabel(time_label(duration))
    fig.legend(handles=_legend_handles(colors), loc="outside lower center", ncols=6, fontsize=8, frameon=False)
    fig.suptitle(title)
    return fig
