"""Cluster auto scaling per capacity provider, and each service's demand against its capacity.

``scaling`` draws the ``capacity`` table's ``provider:<name>`` scopes: the group's
DesiredCapacity, its instances in service (N) and registered, the instances the metric asks
for (M), and below them the provider's tasks waiting in PROVISIONING and running, with a
mark at each DesiredCapacity change. ``demand`` draws the ``demand`` table: load offered
against what the RUNNING tasks reserve, the unserved part shaded. Both read step tables
with one vectorised pass per line, so they stay fast on long runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ecssim.analysis.plots.capacity import step_points
from ecssim.analysis.plots.style import (
    FIGURE_WIDTH,
    empty_figure,
    fault_marks,
    mark_faults,
    service_colors,
    style_axes,
    time_label,
    time_unit,
    whole_numbers,
)
from ecssim.scenario.ecs_objects import FARGATE_PROVIDERS

if TYPE_CHECKING:
    from ecssim.analysis.result import Result

PROVIDER_PREFIX = "provider:"
#: At most this many providers (or service demands) in one figure; the title says when some are left out.
MAX_PANELS = 8
DESIRED_COLOR = "#222222"
UNSERVED_COLOR = "#d62728"
#: capacity column -> (legend label, colour, line style, line width) of the instance panel.
INSTANCE_LINES: dict[str, tuple[str, str, str, float]] = {
    "provider_instances": ("in service (N)", "#1b9e77", "-", 2.0),
    "instances_active": ("registered", "#7570b3", "--", 1.3),
    "provider_instances_needed": ("needed (M)", "#d95f02", ":", 1.6),
}
#: capacity column -> (legend label, colour, line style, line width) of the task panel.
TASK_LINES: dict[str, tuple[str, str, str, float]] = {
    "tasks_running": ("tasks running", "#1f77b4", "-", 1.8),
    "tasks_provisioning": ("tasks waiting (PROVISIONING)", "#e6ab02", "-", 1.4),
}
_RESOURCE_UNITS = {"cpu": ("CPU", "CPU units"), "memory": ("memory", "MiB")}


def provider_names(capacity: pd.DataFrame) -> list[str]:
    """Capacity providers with a ``provider:<name>`` scope in the ``capacity`` table, by name."""
    scopes = capacity["scope"].astype("str")
    return sorted(s.removeprefix(PROVIDER_PREFIX) for s in scopes.unique() if s.startswith(PROVIDER_PREFIX))


def scaling_marks(events: pd.DataFrame) -> pd.DataFrame:
    """DesiredCapacity changes per provider: columns provider, time_s, desired_capacity, out.

    The ``desired_capacity`` rows of ``capacity_provider`` entities with a ``from_state`` (the
    first row of each provider, the initial size, has none); ``out`` is True for a scale-out.
    """
    rows = events[(events["entity"] == "capacity_provider") & (events["event"] == "desired_capacity")
                  & (events["from_state"].astype("str") != "")]
    before = pd.to_numeric(rows["from_state"], errors="coerce").to_numpy(dtype="float64")
    after = rows["value"].to_numpy(dtype="float64")
    return pd.DataFrame({"provider": rows["entity_id"].astype("str").to_numpy(),
                         "time_s": rows["time_s"].to_numpy(dtype="float64"),
                         "desired_capacity": after, "out": after > before})


def _choose(all_names: list[str], wanted: Sequence[str] | None, what: str) -> list[str]:
    if wanted is None:
        return all_names
    chosen = [wanted] if isinstance(wanted, str) else list(wanted)
    unknown = [n for n in chosen if n not in all_names]
    if unknown:
        raise ValueError(f"no {what} {', '.join(unknown)} in this run; {what}s: {', '.join(all_names) or 'none'}")
    return chosen


def _figure(ratios: list[float]) -> tuple[Figure, list[Axes]]:
    """A figure with one row of axes per ratio (heights in that proportion), shared time axis."""
    fig, axes = plt.subplots(len(ratios), 1, figsize=(FIGURE_WIDTH, 0.9 + 0.95 * sum(ratios)), sharex=True,
                             squeeze=False, layout="constrained", gridspec_kw={"height_ratios": ratios})
    for ax in axes.flat:
        style_axes(ax)
    return fig, list(axes[:, 0])


def _steps(ax: Axes, part: pd.DataFrame, column: str, end_s: float, seconds: float, **style: object) -> None:
    x, y = step_points(part["time_s"].to_numpy(), part[column].to_numpy(dtype="float64"), end_s=end_s)
    ax.plot(x / seconds, y, drawstyle="steps-post", **style)


def _finish(ax: Axes, duration: float, seconds: float, ylabel: str, *, bins: int | str = "auto") -> None:
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, duration / seconds)
    ax.yaxis.set_major_locator(MaxNLocator(nbins=bins, integer=True))
    ax.set_ylabel(ylabel)


def _instance_panel(ax: Axes, part: pd.DataFrame, marks: pd.DataFrame, duration: float, seconds: float) -> None:
    """DesiredCapacity (grey band, with scale-out ▲ / scale-in ▼ marks), N, registered, M."""
    _steps(ax, part, "desired_capacity", duration, seconds, color=DESIRED_COLOR, linewidth=6, alpha=0.2,
           solid_capstyle="butt", label="desired capacity", zorder=1.5)
    for column, (label, color, style, width) in INSTANCE_LINES.items():
        _steps(ax, part, column, duration, seconds, color=color, linestyle=style, linewidth=width, label=label)
    for out, marker in ((True, "^"), (False, "v")):
        chosen = marks[marks["out"] == out]
        ax.plot(chosen["time_s"].to_numpy() / seconds, chosen["desired_capacity"].to_numpy(), linestyle="none",
                marker=marker, markersize=5, color=DESIRED_COLOR, label="scale-out" if out else "scale-in",
                zorder=4)
    _finish(ax, duration, seconds, "instances")


def _task_panel(ax: Axes, part: pd.DataFrame, duration: float, seconds: float) -> None:
    for column, (label, color, style, width) in TASK_LINES.items():
        _steps(ax, part, column, duration, seconds, color=color, linestyle=style, linewidth=width, label=label)
    _finish(ax, duration, seconds, "tasks", bins=4)


def _scaling_legend() -> list[Line2D]:
    handles = [Line2D([], [], color=DESIRED_COLOR, linewidth=6, alpha=0.2, label="desired capacity")]
    handles += [Line2D([], [], color=c, linestyle=s, linewidth=w, label=label)
                for label, c, s, w in (*INSTANCE_LINES.values(), *TASK_LINES.values())]
    return handles + [Line2D([], [], linestyle="none", marker=m, color=DESIRED_COLOR, label=label)
                      for m, label in (("^", "scale-out"), ("v", "scale-in"))]


def scaling(result: Result, *, providers: Sequence[str] | None = None) -> Figure:
    """Per capacity provider: its group's DesiredCapacity, instances (N, registered, M) and tasks.

    One instance panel (with ▲/▼ at each scale-out/scale-in) and one task panel (waiting in
    PROVISIONING, running) per provider; Fargate providers have no instances, so only their
    task panel. ``providers`` picks and orders them by name. Faults and actions are marked.
    A run without capacity providers gives a figure that says so.
    """
    names = _choose(provider_names(result.capacity), providers, "capacity provider")
    title = "Cluster auto scaling by capacity provider"
    if not names:
        return empty_figure(title, "No capacity providers in this run: no cluster auto scaling to show.")
    if len(names) > MAX_PANELS:
        title += f" (first {MAX_PANELS} of {len(names)} providers)"
        names = names[:MAX_PANELS]
    duration = float(result.duration_s)
    seconds, _ = time_unit(duration)
    fault_rows, marks = fault_marks(result.events), scaling_marks(result.events)
    ratios = [r for n in names for r in ([1.8] if n in FARGATE_PROVIDERS else [2.2, 1.3])]
    fig, axes = _figure(ratios)
    panels = iter(axes)
    capacity = result.capacity
    for i, name in enumerate(names):
        part = capacity[capacity["scope"] == PROVIDER_PREFIX + name].sort_values("time_s", kind="stable")
        first = next(panels)
        if name not in FARGATE_PROVIDERS:
            _instance_panel(first, part, marks[marks["provider"] == name], duration, seconds)
            _task_panel(next(panels), part, duration, seconds)
        else:
            _task_panel(first, part, duration, seconds)
        mark_faults(first, fault_rows, seconds, annotate=i == 0)
        first.set_title(name + (" (Fargate: tasks only)" if name in FARGATE_PROVIDERS else ""), loc="left",
                        fontsize=10)
    axes[-1].set_xlabel(time_label(duration))
    fig.legend(handles=_scaling_legend(), loc="outside lower center", ncols=5, fontsize=8, frameon=False)
    fig.suptitle(title)
    return fig


def demand_series(table: pd.DataFrame) -> list[tuple[str, str]]:
    """The (service, resource) pairs of the ``demand`` table, by service then resource."""
    pairs = table.loc[:, ["service", "resource"]].astype("str").drop_duplicates()
    return sorted(pairs.itertuples(index=False, name=None))


def _demand_panel(ax: Axes, part: pd.DataFrame, color: str, duration: float, seconds: float) -> None:
    """Demand (black) and capacity (service colour) as steps, unserved demand shaded red."""
    x, offered = step_points(part["time_s"].to_numpy(), part["demand"].to_numpy(dtype="float64"), end_s=duration)
    _, capacity = step_points(part["time_s"].to_numpy(), part["capacity"].to_numpy(dtype="float64"),
                              end_s=duration)
    ax.fill_between(x / seconds, capacity, np.maximum(offered, capacity), step="post", color=UNSERVED_COLOR,
                    alpha=0.3, linewidth=0, label="unserved")
    ax.plot(x / seconds, capacity, drawstyle="steps-post", color=color, linewidth=2.0, label="capacity")
    ax.plot(x / seconds, offered, drawstyle="steps-post", color=DESIRED_COLOR, linewidth=1.3, label="demand")
    ax.set_ylim(bottom=0)
    ax.set_xlim(0, duration / seconds)
    whole_numbers(ax)


def demand(result: Result, *, services: Sequence[str] | None = None) -> Figure:
    """Per service with a demand curve: demand against capacity (RUNNING tasks × reservation).

    The unserved part (demand above capacity) is shaded; a small panel below shows the
    running tasks. One pair of panels per service and resource; ``services`` picks and
    orders the services. A run without demand gives a figure that says so.
    """
    table = result.demand
    pairs = demand_series(table)
    chosen = _choose(sorted({s for s, _ in pairs}), services, "service with demand")
    title = "Demand vs capacity by service"
    pairs = [(s, r) for s in chosen for (s2, r) in pairs if s2 == s]
    if not pairs:
        return empty_figure(title, "No demand curves in this run: no demand to show.")
    if len(pairs) > MAX_PANELS:
        title += f" (first {MAX_PANELS} of {len(pairs)})"
        pairs = pairs[:MAX_PANELS]
    duration = float(result.duration_s)
    seconds, _ = time_unit(duration)
    colors = service_colors(result.services["service"].astype("str").tolist() + [s for s, _ in pairs])
    fig, axes = _figure([2.2, 1.0] * len(pairs))
    for i, (service, resource) in enumerate(pairs):
        part = table[(table["service"] == service) & (table["resource"] == resource)].sort_values(
            "time_s", kind="stable")
        top, bottom = axes[2 * i], axes[2 * i + 1]
        name, unit = _RESOURCE_UNITS.get(resource, (resource, resource))
        _demand_panel(top, part, colors[service], duration, seconds)
        top.set_ylabel(unit)
        top.set_title(f"{service} — {name}", loc="left", fontsize=10, color=colors[service])
        _steps(bottom, part, "running_tasks", duration, seconds, color=colors[service], linewidth=1.5,
               label="running tasks")
        _finish(bottom, duration, seconds, "running", bins=3)
    axes[-1].set_xlabel(time_label(duration))
    handles = [Line2D([], [], color=DESIRED_COLOR, linewidth=1.3, label="demand"),
               Line2D([], [], color="#666666", linewidth=2.0, label="capacity (running × reservation)"),
               Patch(color=UNSERVED_COLOR, alpha=0.3, label="unserved"),
               Line2D([], [], color="#666666", linewidth=1.5, label="running tasks (lower panel)")]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=8, frameon=False)
    fig.suptitle(title)
    return fig
