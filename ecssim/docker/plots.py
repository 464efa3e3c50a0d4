"""The pictures of a Docker-backed validation: real runs drawn against their simulation.

Two figures, both plain matplotlib (no engine needed to draw them):

- :func:`running_tasks_figure`: RUNNING tasks over time. The simulated replications are a
  band (the central :data:`BAND_LEVEL` of them at each instant) and their median; each real
  run is its own step line. A real line that leaves the band for long is a run the model
  did not predict.
- :func:`comparison_figure`: the comparison table of :func:`~ecssim.docker.compare.validate`,
  one small axis per metric (each in its own unit): the simulated prediction interval as a
  bar, each real value as a marker, green inside and red outside.

:func:`save_validation_plots` writes both to a folder. Counts are read from the ``events``
table's task state rows, so real runs and simulations are drawn by the same code.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from ecssim.analysis.plots.capacity import step_points
from ecssim.analysis.plots.style import empty_figure, new_figure, time_label, time_unit, whole_numbers

if TYPE_CHECKING:  # pragma: no cover
    from ecssim.analysis import Result

    from .compare import Validation

#: Share of the simulated replications inside the band at each instant: the same central
#: 95 % as :func:`~ecssim.docker.compare.prediction_interval` (2.5–97.5 percentiles).
BAND_LEVEL = 0.95
#: Colour of the simulated band and median.
SIMULATED_COLOR = "#1f77b4"
#: Colours of the real runs, in run order (repeated beyond their number); none is the
#: simulated blue or the inside/outside green and red.
REAL_COLORS: tuple[str, ...] = ("#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#222222")
#: Colour of a real value inside the simulated interval, and outside it.
INSIDE_COLOR = "#2ca02c"
OUTSIDE_COLOR = "#d62728"
#: File names :func:`save_validation_plots` writes.
RUNNING_TASKS_FILE = "running-tasks.png"
COMPARISON_FILE = "comparison.png"
#: Height in inches of one metric's row in :func:`comparison_figure`.
METRIC_ROW_HEIGHT = 1.0
#: Margin around a metric's values in :func:`comparison_figure`, as a share of their span ...
SPAN_MARGIN_SHARE = 0.15
#: ... and at least this share of their magnitude (of 1 when they are all below 1).
MIN_MARGIN_SHARE = 0.05
_COMPARISON_NEEDS = ("metric", "real_run", "real_value", "sim_n", "sim_low", "sim_high", "inside", "note")


# ---------------------------------------------------------------- running tasks over time
def running_steps(result: Result, service: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """RUNNING tasks of ``result`` (of ``service``, or all) as a step series.

    Returns the instants at which the count changes and the count after each (0 before
    the first). A task counts from its state row into RUNNING to its next state row.
    """
    events = result.events
    rows = events[(events["entity"] == "task") & (events["event"] == "state")]
    if service is not None:
        rows = rows[rows["service"] == service]
    rows = rows.sort_values(["time_s", "seq"], kind="stable")
    flag = (rows["to_state"] == "RUNNING").astype("int64")
    change = flag - flag.groupby(rows["entity_id"].to_numpy(), sort=False).shift(fill_value=0)
    levels = pd.DataFrame({"time_s": rows["time_s"].to_numpy(dtype="float64"),
                           "running": change.cumsum().to_numpy(dtype="int64")})
    levels = levels.drop_duplicates("time_s", keep="last")
    levels = levels[levels["running"] != levels["running"].shift(fill_value=0)]
    return levels["time_s"].to_numpy(), levels["running"].to_numpy()


def levels_at(times_s: np.ndarray, levels: np.ndarray, grid_s: np.ndarray) -> np.ndarray:
    """A step series (changes at ``times_s``, 0 before the first) read at each ``grid_s``."""
    index = np.searchsorted(times_s, grid_s, side="right") - 1
    return np.where(index >= 0, levels[np.clip(index, 0, None)], 0).astype("float64")


def _service_names(results: list[Result]) -> list[str]:
    names: set[str] = set()
    for result in results:
        names |= set(result.services["service"].astype("str")) | set(result.tasks["service"].astype("str"))
    return sorted(n for n in names if n)


def _title(service: str | None, real: list[Result], simulated: list[Result]) -> str:
    what = f"RUNNING tasks of service {service}" if service else "RUNNING tasks (all)"
    return (f"{what}: {_count(len(real), 'real run')} against "
            f"{_count(len(simulated), 'simulated replication')}")


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _missing(real: list[Result], simulated: list[Result]) -> str:
    missing = [what for what, runs in (("no real runs", real), ("no simulated replications", simulated))
               if not runs]
    return " and ".join(missing).capitalize() + ": nothing to compare."


def running_tasks_figure(real: list[Result], simulated: list[Result], service: str | None = None) -> Figure:
    """RUNNING tasks over time: the simulated band and median against each real run.

    All series are read on one time grid: every instant at which any run's count changes,
    from 0 to the longest run's end. At each instant the band spans the 2.5–97.5
    percentiles of the replications (:data:`BAND_LEVEL`) and the median is theirs; both are
    drawn as steps, like each real run's own line ("real run k", k as in the comparison
    table's ``real_run``). Artists carry gids ``band``, ``band:low``, ``band:high``,
    ``median`` and ``real:k``. Without real runs or replications the figure says which
    are missing.

    Raises:
        ValueError: ``service`` is not a service of any of the runs.
    """
    title = _title(service, real, simulated)
    if not real or not simulated:
        return empty_figure(title, _missing(real, simulated))
    if service is not None:
        names = _service_names(real + simulated)
        if service not in names:
            raise ValueError(f"no service {service!r} in these runs; services: {', '.join(names) or 'none'}")
    end = max(result.duration_s for result in real + simulated)
    real_steps = [running_steps(result, service) for result in real]
    sim_steps = [running_steps(result, service) for result in simulated]
    grid = np.unique(np.concatenate([[0.0]] + [times for times, _ in real_steps + sim_steps]))
    grid = grid[grid <= end]
    sims = np.vstack([levels_at(times, levels, grid) for times, levels in sim_steps])
    tail = (1.0 - BAND_LEVEL) / 2 * 100
    low, median, high = np.percentile(sims, [tail, 50.0, 100.0 - tail], axis=0)
    seconds, _ = time_unit(end)
    fig, axes = new_figure(height=4.2)
    ax = axes[0, 0]
    _draw_band(ax, grid, low, high, median, end, seconds, len(simulated))
    for k, (times, levels) in enumerate(real_steps):
        x, y = step_points(times, levels, end_s=end)
        ax.plot(x / seconds, y, drawstyle="steps-post", color=REAL_COLORS[k % len(REAL_COLORS)], linewidth=1.8,
                label=f"real run {k}", gid=f"real:{k}", zorder=3)
    ax.set_xlim(0, end / seconds)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    whole_numbers(ax)
    ax.set_xlabel(time_label(end))
    ax.set_ylabel("RUNNING tasks")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8, frameon=False)
    return fig


def _draw_band(ax: Axes, grid: np.ndarray, low: np.ndarray, high: np.ndarray, median: np.ndarray,
               end: float, seconds: float, replications: int) -> None:
    """The simulated band (filled, with its edges as thin steps) and the median line."""
    x, lows = step_points(grid, low, end_s=end)
    _, highs = step_points(grid, high, end_s=end)
    _, medians = step_points(grid, median, end_s=end)
    percent = f"{BAND_LEVEL:.0%}"
    ax.fill_between(x / seconds, lows, highs, step="post", color=SIMULATED_COLOR, alpha=0.2, linewidth=0,
                    label=f"simulated, central {percent} of {replications} replications", gid="band")
    for gid, values in (("band:low", lows), ("band:high", highs)):
        ax.plot(x / seconds, values, drawstyle="steps-post", color=SIMULATED_COLOR, linewidth=0.6, alpha=0.6,
                label=f"_{gid}", gid=gid)
    ax.plot(x / seconds, medians, drawstyle="steps-post", color=SIMULATED_COLOR, linewidth=1.6, linestyle="--",
            label="simulated median", gid="median", zorder=2.5)


# ---------------------------------------------------------------- the comparison table
def _number(value: float) -> str:
    return "—" if math.isnan(value) else f"{value:.4g}"


def _metric_limits(part: pd.DataFrame) -> tuple[float, float]:
    """x limits showing a metric's interval and real values with a margin: a share of their
    span, but at least :data:`MIN_MARGIN_SHARE` of their magnitude (of 1 below 1), so that a
    zero-width interval is a visible line and not a magnified rounding error."""
    values = np.r_[part["sim_low"].to_numpy(dtype="float64"), part["sim_high"].to_numpy(dtype="float64"),
                   part["real_value"].to_numpy(dtype="float64")]
    values = values[~np.isnan(values)]
    if values.size == 0:
        return 0.0, 1.0
    low, high = float(values.min()), float(values.max())
    margin = max(SPAN_MARGIN_SHARE * (high - low), MIN_MARGIN_SHARE * max(abs(low), abs(high), 1.0))
    return low - margin, high + margin


def _metric_summary(part: pd.DataFrame) -> str:
    """The line under a metric's row: its real values per run, each followed by "in" or
    "out" of the interval (or its note), then the simulated interval and its count."""
    first = part.iloc[0]
    runs = []
    for run, rows in part.groupby("real_run", sort=True):
        values = [f"{_number(row.real_value)} {row.note or ('in' if row.inside else 'out')}"
                  for row in rows.itertuples(index=False)]
        runs.append(f"run {run}: {', '.join(values)}")
    interval = (f"simulated [{_number(first.sim_low)}, {_number(first.sim_high)}] of {first.sim_n}"
                if first.sim_n else "no simulated values")
    return f"{'; '.join(runs)}  |  {interval}"


def _marker_gid(label: str, row: tuple) -> str:
    incident = getattr(row, "incident_id", "")
    return f"real:{label}:{row.real_run}" + (f":{incident}" if incident else "")


def _draw_metric(ax: Axes, label: str, part: pd.DataFrame) -> None:
    """One metric's row: the interval bar (gid ``interval:<label>``) and a marker per real
    value (gid ``real:<label>:<run>``, plus ``:<incident>`` for a per-incident row), spread
    vertically so that equal values stay visible."""
    first = part.iloc[0]
    if not (math.isnan(first.sim_low) or math.isnan(first.sim_high)):
        bars = ax.barh([0.0], [first.sim_high - first.sim_low], left=[first.sim_low], height=0.8,
                       color=SIMULATED_COLOR, alpha=0.25, edgecolor=SIMULATED_COLOR, linewidth=1.5)
        bars.patches[0].set_gid(f"interval:{label}")
    offsets = np.linspace(-0.25, 0.25, len(part)) if len(part) > 1 else np.zeros(1)
    for offset, row in zip(offsets, part.itertuples(index=False), strict=True):
        if math.isnan(row.real_value):
            continue
        color = INSIDE_COLOR if row.inside else OUTSIDE_COLOR
        ax.plot([row.real_value], [offset], marker="o", markersize=7, linestyle="none", color=color,
                markeredgecolor="white", gid=_marker_gid(label, row), zorder=3)
    ax.set_xlim(*_metric_limits(part))
    ax.set_ylim(-0.6, 0.6)
    ax.set_yticks([])
    ax.tick_params(axis="x", labelsize=8)
    ax.ticklabel_format(axis="x", useOffset=False)
    ax.set_title(label, loc="left", fontsize=9)
    ax.set_xlabel(_metric_summary(part), loc="left", fontsize=8, color="#444444")


def metric_rows(comparison: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The table's rows by figure row, in table order: one per metric, and for per-fault
    metrics one per fault kind, labelled ``"<metric> (<fault kind>)"`` (its rows share one
    simulated interval: all simulated incidents of that kind)."""
    kinds = comparison["fault_kind"].astype("str") if "fault_kind" in comparison else ""
    labels = comparison["metric"].astype("str") + np.where(kinds != "", " (" + kinds + ")", "")
    return {label: comparison[labels == label] for label in dict.fromkeys(labels)}


def comparison_figure(comparison: pd.DataFrame) -> Figure:
    """The comparison table as a picture: one small axis per metric (per metric and fault
    kind for per-incident rows, see :func:`metric_rows`), in the table's order.

    Each row shows the metric in its own unit (axes are not shared, so seconds and counts
    fit side by side): the simulated prediction interval as a bar and each real run's value
    as a marker, green when the table says ``inside`` and red when not. The line under the
    row prints the values, the interval and any note (a metric with no real value shows
    the note and no marker). An empty table gives a figure saying so.

    Raises:
        ValueError: the table lacks a column :func:`~ecssim.docker.compare.comparison_table` writes.
    """
    title = "Real runs against the simulated prediction intervals"
    missing = [column for column in _COMPARISON_NEEDS if column not in comparison.columns]
    if missing:
        raise ValueError(f"the comparison table lacks the columns {', '.join(missing)}")
    if comparison.empty:
        return empty_figure(title, "The comparison table is empty: no metrics or no real runs to show.")
    groups = metric_rows(comparison)
    fig, axes = new_figure(len(groups), 1, height=1.2 + METRIC_ROW_HEIGHT * len(groups), sharex=False)
    for ax, (label, part) in zip(axes[:, 0], groups.items(), strict=True):
        _draw_metric(ax, label, part)
    inside = int(comparison["inside"].sum())
    fig.suptitle(f"{title}: {inside} of {len(comparison)} real values inside")
    handles = [Patch(color=SIMULATED_COLOR, alpha=0.25, label=f"simulated {BAND_LEVEL:.0%} prediction interval"),
               Line2D([], [], marker="o", linestyle="none", color=INSIDE_COLOR, label="real value inside"),
               Line2D([], [], marker="o", linestyle="none", color=OUTSIDE_COLOR, label="real value outside")]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    return fig


# ---------------------------------------------------------------- saving
def save_validation_plots(validation: Validation, folder: str | Path, *, service: str | None = None) -> list[Path]:
    """Write :data:`RUNNING_TASKS_FILE` and :data:`COMPARISON_FILE` of ``validation`` to ``folder``.

    ``validation`` is what :func:`~ecssim.docker.compare.validate` returns; any object with
    its ``real``, ``simulated`` and ``comparison`` attributes will do (for pieces computed
    separately, build ``Validation(real, simulated, comparison, timing={})``). ``service``
    is passed to :func:`running_tasks_figure`. Figures are saved at
    :data:`~ecssim.analysis.plots.SAVE_DPI` and closed; returns the paths written, in order.
    """
    import matplotlib.pyplot as plt

    from ecssim.analysis.plots import SAVE_DPI

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    figures = {RUNNING_TASKS_FILE: lambda: running_tasks_figure(validation.real, validation.simulated, service),
               COMPARISON_FILE: lambda: comparison_figure(validation.comparison)}
    paths = []
    for name, build in figures.items():
        fig = build()
        try:
            fig.savefig(out / name, dpi=SAVE_DPI, bbox_inches="tight")
        finally:
            plt.close(fig)
        paths.append(out / name)
    return paths
