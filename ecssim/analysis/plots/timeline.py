"""The Gantt timeline: which task sat on which instance when, and what a fault took away.

One row per container instance (grouped by AZ, in launch order); each task is a bar from
its placement to the moment the control plane freed its resources (see
:mod:`ecssim.analysis.occupancy`), coloured by service. Instance losses are marked with a
red X and the rest of the lost instance's row is hatched; fault and action times are the
usual dashed/dotted lines. Above ``max_instances`` rows the picture would be unreadable, so
it becomes one panel per AZ with the tasks on its instances stacked by service.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Rectangle, StepPatch

from ecssim.analysis.occupancy import instance_spans, task_placements
from ecssim.analysis.plots.style import (
    ACTION_COLOR,
    FAULT_COLOR,
    empty_figure,
    fault_marks,
    mark_faults,
    new_figure,
    service_colors,
    time_label,
    time_unit,
)

TITLE = "Task placements per instance"
#: Fraction of a row's height the task lanes use (the rest separates rows).
_ROW_FILL = 0.8
#: Background of a row while its instance's capacity is registered.
_ALIVE_COLOR = "#f2f2f2"


def run_colors(result) -> dict[str, str]:
    """Service colours of a run: every service of ``result.services`` and of its tasks."""
    names = set(result.services["service"]) | set(result.tasks["service"])
    return service_colors(names)


def service_name(service: str) -> str:
    """Legend label of a service name ("" is a standalone task)."""
    return service or "standalone tasks"


def instance_label(instance_id: str, az: str = "") -> str:
    """A short label for an instance: the last 5 characters of its id, then its AZ."""
    short = f"…{instance_id[-5:]}" if len(instance_id) > 6 else instance_id
    return f"{short} {az}".strip()


def assign_lanes(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Lane of each interval so that intervals in the same lane never overlap (greedy, by start).

    ``ends`` may not be NaN (use the end of the run for open intervals).
    """
    lanes = np.zeros(len(starts), dtype="int64")
    lane_ends: list[float] = []
    for i in np.argsort(starts, kind="stable"):
        free = [lane for lane, end in enumerate(lane_ends) if end <= starts[i]]
        lane = free[0] if free else len(lane_ends)
        if not free:
            lane_ends.append(0.0)
        lanes[i] = lane
        lane_ends[lane] = ends[i]
    return lanes


def gantt(result, *, max_instances: int = 30) -> Figure:
    """Task bars per instance over time, coloured by service, with instance losses marked.

    Within an instance's row, overlapping tasks are stacked in *lanes* (a lane never holds
    two tasks at once), so every task stays a visible bar of its own: the question this
    picture answers is "which tasks were where, and for how long". Heights proportional to
    CPU share would hide short or small tasks and duplicate the utilisation heatmap, which
    answers "how full was each instance". Above ``max_instances`` instances the figure
    shows one panel per AZ with the tasks on its instances stacked by service instead.
    """
    spans = instance_spans(result)
    placements = task_placements(result)
    if spans.empty:
        return empty_figure(TITLE, "No container instances in this run: there is nothing to place tasks on.")
    if placements.empty:
        return empty_figure(TITLE, "No tasks were placed on any instance in this run.")
    if len(spans) > max_instances:
        return _aggregated(result, spans, placements, max_instances)
    return _per_instance(result, spans, placements)


def _per_instance(result, spans: pd.DataFrame, placements: pd.DataFrame) -> Figure:
    end_s = float(result.duration_s)
    unit, _ = time_unit(end_s)
    colors = run_colors(result)
    starts = placements["placed_at_s"].to_numpy(float)
    ends = placements["released_at_s"].fillna(end_s).to_numpy(float)
    lanes = np.zeros(len(placements), dtype="int64")
    n_lanes = np.ones(len(placements), dtype="int64")
    for _, index in placements.groupby("instance_id", sort=False).indices.items():
        lanes[index] = assign_lanes(starts[index], ends[index])
        n_lanes[index] = lanes[index].max() + 1
    row_inches = max(0.42, 0.12 * int(n_lanes.max()))
    fig, axes = new_figure(height=min(16.0, max(3.0, 1.4 + row_inches * len(spans))))
    ax = axes[0, 0]
    row_of = pd.Series(np.arange(len(spans)), index=spans["instance_id"].to_numpy())
    for row, span in enumerate(spans.itertuples(index=False)):
        _draw_row_background(ax, row, span, end_s, unit)
    height = _ROW_FILL / n_lanes
    rows = row_of[placements["instance_id"]].to_numpy()
    centers = rows - _ROW_FILL / 2 + (lanes + 0.5) * height
    for service in sorted(placements["service"].unique()):
        mask = (placements["service"] == service).to_numpy()
        bars = ax.barh(centers[mask], (ends[mask] - starts[mask]) / unit, left=starts[mask] / unit,
                       height=height[mask] * 0.9, color=colors[service], edgecolor="white",
                       linewidth=0.4, label=service_name(service), zorder=3)
        for patch, task_id in zip(bars.patches, placements["task_id"][mask], strict=True):
            patch.set_gid(task_id)
    _mark_terminations(ax, spans, end_s, unit)
    _mark_faults_readably(ax, fault_marks(result.events), unit)
    ax.set_yticks(np.arange(len(spans)), [instance_label(i, a) for i, a in zip(spans["instance_id"], spans["az"], strict=True)],
                  fontsize=8)
    _separate_azs(ax, spans)
    ax.set_ylim(len(spans) - 0.5, -0.5)
    ax.set_xlim(0, end_s / unit)
    ax.set_xlabel(time_label(end_s))
    ax.set_ylabel("container instance (id suffix, AZ)")
    ax.set_title(f"{TITLE} (bar: placed → resources freed)")
    handles, _ = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor=_ALIVE_COLOR, edgecolor="#cccccc", label="instance registered"))
    gone = spans["active_until_s"].notna()
    if (gone & spans["lost"]).any():
        handles.append(Patch(facecolor="none", edgecolor=FAULT_COLOR, hatch="///", label="instance lost to a fault"))
    if (gone & ~spans["lost"]).any():
        handles.append(Patch(facecolor="none", edgecolor=ACTION_COLOR, hatch="///",
                             label="instance terminated\n(scale-in, operator, rebalance)"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    return fig


def _mark_faults_readably(ax: Axes, marks: pd.DataFrame, unit: float, *, annotate: bool = True) -> None:
    """The shared fault/action lines, with their labels on a white box so bars do not hide them."""
    before = len(ax.texts)
    mark_faults(ax, marks, unit, annotate=annotate)
    for text in ax.texts[before:]:
        text.set_bbox({"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.5})
        text.set_zorder(6)


def _draw_row_background(ax: Axes, row: int, span, end_s: float, unit: float) -> None:
    """Light band while the instance's capacity is registered (launch to termination)."""
    if np.isnan(span.active_from_s):
        return
    until = end_s if np.isnan(span.active_until_s) else span.active_until_s
    ax.add_patch(Rectangle((span.active_from_s / unit, row - 0.45), (until - span.active_from_s) / unit, 0.9,
                           facecolor=_ALIVE_COLOR, edgecolor="none", zorder=0.5))


def _mark_terminations(ax: Axes, spans: pd.DataFrame, end_s: float, unit: float) -> None:
    """Red X and hatching after a fault took the instance; grey for other terminations."""
    for row, span in enumerate(spans.itertuples(index=False)):
        if np.isnan(span.active_until_s):
            continue
        color = FAULT_COLOR if span.lost else ACTION_COLOR
        x = span.active_until_s / unit
        ax.add_patch(Rectangle((x, row - 0.45), end_s / unit - x, 0.9, facecolor="none", edgecolor=color,
                               hatch="///", linewidth=0, alpha=0.6, zorder=2))
        ax.plot([x], [row], marker="X", markersize=11, color=color, markeredgecolor="white", zorder=4,
                linestyle="none", gid=f"lost:{span.instance_id}" if span.lost else f"gone:{span.instance_id}")


def _separate_azs(ax: Axes, spans: pd.DataFrame) -> None:
    """Horizontal rules between AZ groups."""
    azs = spans["az"].to_numpy()
    for row in np.flatnonzero(azs[1:] != azs[:-1]):
        ax.axhline(row + 0.5, color="#888888", linewidth=0.8, zorder=1)


def _counts(placements: pd.DataFrame, edges: np.ndarray) -> np.ndarray:
    """Tasks holding resources at each of ``edges`` (step function, as the capacity table).

    Placed at or before t, minus freed at or before t (a task is freed after it is placed):
    two sorted searches, O((tasks + edges) log tasks), not a tasks × edges matrix.
    """
    starts = np.sort(placements["placed_at_s"].to_numpy(float))
    ends = np.sort(placements["released_at_s"].dropna().to_numpy(float))
    return np.searchsorted(starts, edges, side="right") - np.searchsorted(ends, edges, side="right")


def _aggregated(result, spans: pd.DataFrame, placements: pd.DataFrame, max_instances: int) -> Figure:
    """One panel per AZ: tasks on its instances stacked by service (exact step functions)."""
    end_s = float(result.duration_s)
    unit, _ = time_unit(end_s)
    colors = run_colors(result)
    azs = sorted(spans["az"].unique())
    fig, axes = new_figure(len(azs), 1, height=1.0 + 1.8 * len(azs))
    changes = np.concatenate([[0.0], placements["placed_at_s"].to_numpy(float),
                              placements["released_at_s"].dropna().to_numpy(float)])
    times = np.unique(changes[changes <= end_s])
    edges = np.append(times, end_s) if times[-1] < end_s else np.append(times, end_s + 1e-9)
    marks = fault_marks(result.events)
    for ax, az in zip(axes[:, 0], azs, strict=True):
        here = placements[placements["az"] == az]
        baseline = np.zeros(len(times))
        for service in sorted(placements["service"].unique()):
            counts = _counts(here[here["service"] == service], times).astype(float)
            # add_artist, not ax.stairs: stairs' autoscaling walks every vertex in Python (minutes
            # for a day of a large cluster); the limits are set below from the totals instead.
            ax.add_artist(StepPatch(baseline + counts, edges / unit, baseline=baseline.copy(), fill=True,
                                    color=colors[service], label=service_name(service), gid=f"{az}|{service}"))
            baseline = baseline + counts
        lost = spans[(spans["az"] == az) & spans["lost"]]
        if len(lost):
            ax.plot(lost["active_until_s"] / unit, np.zeros(len(lost)), linestyle="none", marker="X", markersize=10,
                    color=FAULT_COLOR, markeredgecolor="white", clip_on=False, zorder=4, label="instance lost")
        _mark_faults_readably(ax, marks, unit, annotate=ax is axes[0, 0])
        n = int((spans["az"] == az).sum())
        ax.set_ylabel(f"{az}\ntasks ({n} inst.)", fontsize=9)
        ax.set_ylim(0, max(float(baseline.max(initial=0.0)) * 1.05, 1.0))
        ax.set_xlim(0, end_s / unit)
    axes[-1, 0].set_xlabel(time_label(end_s))
    legend: dict[str, object] = {}
    for ax in axes[:, 0]:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend),  loc="outside right upper", fontsize=8, frameon=False)
    fig.suptitle(f"Tasks on instances per AZ, stacked by service\n(aggregated: {len(spans)} instances are more "
                 f"than max_instances={max_instances}, too many for one row each)")
    return fig
