"""Figures of experiments: a metric across a sweep's points, and a capacity search's evidence.

:func:`sweep_metric` draws one summary metric of an :class:`~ecssim.experiments.ExperimentResult`
against one axis: the mean over the replications at each point, its Student-t confidence band
(``ci_low``..``ci_high`` of the ``aggregate`` table) and every replication as a faint dot (from
``runs``), one line per value of a second axis (``hue``) and one panel per combination of any
further axes. :func:`search_evidence` shows how a :class:`~ecssim.experiments.CapacityPlan`
reached its answer: per criterion, the mean and the one-sided bound judged at every value it
evaluated, the threshold, pass/fail colours and the order of the evaluations.

Both read only the tables the experiment already holds; nothing is re-run. Matplotlib is
imported here, so ``ecssim.experiments`` itself stays importable without it (the ``plot``
accessors import this module on first use).
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from ecssim.analysis.plots.style import FIGURE_WIDTH, empty_figure, new_figure, style_axes

from .search import CapacityPlan, Criterion
from .sweep import ExperimentResult, axis_value

__all__ = ["PlanPlots", "SweepPlots", "save_plan_plots", "save_sweep_plots", "search_evidence", "sweep_metric"]

#: Metrics :func:`save_sweep_plots` draws when neither the caller nor the experiment names any.
DEFAULT_METRICS = ("recovery_time_p95_s", "service_availability_mean", "placement_failures",
                   "peak_memory_reserved_fraction")
#: Most panels one figure holds (one per combination of the axes beyond ``x`` and ``hue``).
MAX_PANELS = 12
PASS_COLOR = "#2ca02c"
FAIL_COLOR = "#d62728"
MEAN_COLOR = "#333333"
SINGLE_COLOR = "#1f77b4"
_DPI = 120
_NOTE_ITEMS = 6  # points listed by name in a note before "and N more"


def metric_label(metric: str) -> str:
    """Axis label of a summary metric with its unit: ``recovery_time_p95_s (seconds)``."""
    if metric.endswith("_s"):
        return f"{metric} (seconds)"
    if metric.endswith("_fraction") or metric.startswith("service_availability"):
        return f"{metric} (fraction, 0-1)"
    return metric


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _value_text(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------- sweeps


def _choose_axes(axes: dict[str, list[Any]], x: str | None, hue: str | None) -> tuple[str, str | None, list[str]]:
    """``(x, hue, others)``: x defaults to the first numeric axis, hue to the next remaining one."""
    names = list(axes)
    for role, name in (("x", x), ("hue", hue)):
        if name is not None and name not in axes:
            raise ValueError(f"{role}={name!r} is not an axis of this experiment; choose from: {', '.join(names)}")
    if x is None:
        x = next((n for n in names if all(_is_number(v) for v in axes[n])), names[0])
    if hue == x:
        raise ValueError(f"hue must differ from x ({x!r}); choose from: {', '.join(n for n in names if n != x)}")
    rest = [n for n in names if n != x]
    if hue is None and rest:
        hue = rest[0]
    others = [n for n in rest if n != hue]
    panels = math.prod(len(axes[n]) for n in others)
    if panels > MAX_PANELS:
        raise ValueError(
            f"the axes beyond x={x!r} and hue={hue!r} ({', '.join(others)}) make {panels} panels, more than "
            f"{MAX_PANELS}; choose x= and hue= among the axes: {', '.join(names)}, or plot a subset of the points"
        )
    return x, hue, others


def _positions(values: list[Any]) -> tuple[dict[Any, float], bool]:
    """x position of each axis value (as a table cell): the number itself, else 0, 1, 2 ..."""
    numeric = all(_is_number(v) for v in values)
    return {axis_value(v): (float(v) if numeric else float(i)) for i, v in enumerate(values)}, numeric


def _hue_colors(values: list[Any]) -> list[str]:
    """One colour per hue value: an ordered ramp for numbers, distinct colours otherwise."""
    if len(values) <= 1:
        return [SINGLE_COLOR] * len(values)
    if all(_is_number(v) for v in values):
        ramp = plt.get_cmap("viridis")
        return [ramp(0.05 + 0.8 * i / (len(values) - 1)) for i in range(len(values))]
    cycle = plt.get_cmap("tab10")
    return [cycle(i % 10) for i in range(len(values))]


def _select(frame: pd.DataFrame, values: dict[str, Any]) -> pd.DataFrame:
    mask = np.ones(len(frame), dtype=bool)
    for path, value in values.items():
        mask &= (frame[path] == axis_value(value)).to_numpy()
    return frame[mask]


def _draw_series(ax: Axes, agg: pd.DataFrame, runs: pd.DataFrame, metric: str, x: str, where: dict[Any, float],
                 color: Any, label: str | None, dodge: float) -> list[str]:
    """One line (means), band (CI) and dots (replications); returns the x labels with no mean."""
    rows = agg.assign(_x=agg[x].map(where)).sort_values("_x")
    xs = rows["_x"].to_numpy(float)
    mean = rows["mean"].to_numpy(float)
    low, high = rows["ci_low"].to_numpy(float), rows["ci_high"].to_numpy(float)
    band = ax.fill_between(xs, low, high, color=color, alpha=0.18, linewidth=0, zorder=2)
    band.set_gid("band")
    (line,) = ax.plot(xs, mean, color=color, marker="o", markersize=6, linewidth=1.8, label=label, zorder=4)
    line.set_gid("mean")
    finite = np.isfinite(low) & np.isfinite(high)
    beside = np.zeros_like(finite)
    beside[1:] |= finite[:-1]
    beside[:-1] |= finite[1:]
    alone = finite & ~beside  # a band needs two neighbouring intervals: show these as whiskers
    whiskers = ax.vlines(xs[alone], low[alone], high[alone], color=color, linewidth=2, alpha=0.5, zorder=3)
    whiskers.set_gid("whiskers")
    values = pd.to_numeric(runs[metric], errors="coerce")
    keep = values.notna().to_numpy()
    dots = ax.scatter(runs[x].map(where).to_numpy(float)[keep] + dodge, values.to_numpy(float)[keep], s=12,
                      color=color, alpha=0.35, linewidths=0, zorder=3)
    dots.set_gid("runs")
    return [str(v) for v, m in zip(rows[x], mean, strict=True) if np.isnan(m)]


def _note(ax: Axes, missing: list[str]) -> None:
    shown = ", ".join(missing[:_NOTE_ITEMS]) + (f" and {len(missing) - _NOTE_ITEMS} more" if len(missing) > _NOTE_ITEMS
                                                else "")
    ax.text(0.01, 0.01, f"gap: no value (every run NaN or failed) at {shown}", transform=ax.transAxes,
            fontsize=8, color="#666666", ha="left", va="bottom")


def sweep_metric(result: ExperimentResult, metric: str, *, x: str | None = None, hue: str | None = None) -> Figure:
    """A summary metric's mean (with confidence band and replications) against one axis of a sweep.

    ``x`` defaults to the first axis whose values are all numbers (else the first axis; text
    values sit at evenly spaced positions in the experiment's order); ``hue`` to the next
    axis, one line per value; any further axes give one panel per combination of their values
    (at most :data:`MAX_PANELS`). Points where every run gave NaN leave a gap and a note.
    Raises ValueError for an unknown metric or axis (naming the valid ones).
    """
    exp = result.experiment
    title = f"{exp.name}: {metric}"
    ok = result.runs[result.runs["status"] == "ok"]
    if ok.empty:  # checked first: without a successful run there are no metrics at all
        return empty_figure(title, "No successful runs in this sweep: every run failed (see result.failures).")
    known = sorted(set(result.aggregate["metric"]))
    if metric not in known:
        raise ValueError(f"no summary metric {metric!r} in this sweep; available: {', '.join(known)}")
    agg = result.aggregate[result.aggregate["metric"] == metric]
    if agg["mean"].isna().all():
        return empty_figure(title, f"No run gave a value of {metric}: it is NaN at every point "
                                   "(e.g. no incident needed recovery).")
    if not exp.axes:
        return _no_axes_figure(result, metric, title, agg, ok)
    x, hue, others = _choose_axes(exp.axes, x, hue)
    where, numeric = _positions(exp.axes[x])
    hues = exp.axes[hue] if hue is not None else [None]
    colors = _hue_colors(hues)
    combos = [dict(zip(others, combo, strict=True)) for combo in itertools.product(*(exp.axes[o] for o in others))]
    ncols = min(3, len(combos))
    nrows = math.ceil(len(combos) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(FIGURE_WIDTH, 1.0 + 3.6 * nrows), sharex=True, sharey=True,
                             squeeze=False, layout="constrained")
    spacing = min(np.diff(sorted(where.values())), default=1.0)
    for ax, combo in zip(axes.flat, combos, strict=False):
        style_axes(ax)
        missing: list[str] = []
        for i, (value, color) in enumerate(zip(hues, colors, strict=True)):
            chosen = {**combo, **({hue: value} if hue is not None else {})}
            dodge = 0.0 if len(hues) == 1 else (i / (len(hues) - 1) - 0.5) * 0.2 * spacing
            label = None if hue is None else _value_text(value)
            gaps = _draw_series(ax, _select(agg, chosen), _select(ok, chosen), metric, x, where, color, label, dodge)
            missing += [g if hue is None else f"{g} ({hue}={_value_text(value)})" for g in gaps]
        if missing:
            _note(ax, missing)
        if combo:
            ax.set_title(", ".join(f"{k}={_value_text(v)}" for k, v in combo.items()), fontsize=9)
        if len(where) <= 15 or not numeric:
            ax.set_xticks(list(where.values()), [_value_text(v) for v in exp.axes[x]])
    for ax in axes.flat[len(combos):]:
        ax.set_visible(False)
    for ax in axes[-1, :]:
        ax.set_xlabel(x)
    for ax in axes[:, 0]:
        ax.set_ylabel(metric_label(metric))
    _sweep_legend(axes[0, 0], hue, result.confidence)
    fig.suptitle(f"{title}\nmean with {result.confidence:.0%} confidence interval over "
                 f"{_replications_text(agg, exp.replications)}; dots: single replications", fontsize=11)
    return fig


def _replications_text(agg: pd.DataFrame, replications: int) -> str:
    counts = agg["n"].to_numpy(int)
    if len(counts) and counts.min() == counts.max() == replications:
        return f"{replications} replications per point"
    return f"{replications} replications per point (n = {counts.min()}..{counts.max()} with a value)"


def _sweep_legend(ax: Axes, hue: str | None, confidence: float) -> None:
    handles, labels = ax.get_legend_handles_labels()
    handles += [Patch(color="#999999", alpha=0.3), Line2D([], [], linestyle="", marker="o", markersize=4,
                                                         color="#999999", alpha=0.5)]
    labels += [f"{confidence:.0%} CI of the mean", "one replication"]
    ax.legend(handles, labels, title=hue, fontsize=8, title_fontsize=8, frameon=False)


def _no_axes_figure(result: ExperimentResult, metric: str, title: str, agg: pd.DataFrame, ok: pd.DataFrame) -> Figure:
    """An experiment without axes (replications only): one point with its interval and runs."""
    fig, axes = new_figure(height=4.0, width=5.0)
    ax = axes[0, 0]
    where = {0: 0.0}
    _draw_series(ax, agg.assign(_only=0), ok.assign(_only=0), metric, "_only", where, SINGLE_COLOR, None, 0.0)
    ax.set_xticks([0.0], ["all runs"])
    ax.set_ylabel(metric_label(metric))
    _sweep_legend(ax, None, result.confidence)
    ax.set_title(f"{title}\nmean with {result.confidence:.0%} CI over "
                 f"{_replications_text(agg, result.experiment.replications)}", fontsize=10)
    return fig


# --------------------------------------------------------------------------- capacity search


def _criterion_panel(ax: Axes, plan: CapacityPlan, criterion: Criterion, rows: pd.DataFrame) -> None:
    """Mean, bound (pass/fail), threshold, replications and evaluation order for one criterion."""
    rows = rows.sort_values("value")
    values = rows["value"].to_numpy(float)
    means, bound = rows["mean"].to_numpy(float), rows["bound"].to_numpy(float)
    if criterion.metric in plan.runs.columns:
        ok = plan.runs[plan.runs["status"] == "ok"]
        reps = pd.to_numeric(ok[criterion.metric], errors="coerce")
        keep = reps.notna().to_numpy()
        dots = ax.scatter(ok[plan.parameter].to_numpy(float)[keep], reps.to_numpy(float)[keep], s=10,
                          color="#999999", alpha=0.4, linewidths=0, zorder=2)
        dots.set_gid("runs")
    (mean,) = ax.plot(values, means, color=MEAN_COLOR, marker="o", markersize=5, linewidth=1, alpha=0.8, zorder=4)
    mean.set_gid("mean")
    colors = [PASS_COLOR if h else FAIL_COLOR for h in rows["holds"]]
    ax.vlines(values, means, bound, colors=colors, linewidth=1.2, alpha=0.6, zorder=3)
    points = ax.scatter(values, bound, c=colors, marker="D", s=40, zorder=5, edgecolors="white", linewidths=0.5)
    points.set_gid("bound")
    threshold = ax.axhline(criterion.threshold, color="#555555", linestyle="--", linewidth=1.2, zorder=1)
    threshold.set_gid("threshold")
    low, high = _focus_limits(criterion.threshold, np.concatenate([means, bound]))
    _shade_passing_side(ax, criterion, low, high)
    for value, b, order, nan_runs, failed, runs in zip(values, bound, rows["order"], rows["nan_runs"],
                                                       rows["failed"], rows["runs"], strict=True):
        label = str(int(order) + 1)
        if np.isnan(b):  # no bound to draw: say why at the foot of the panel
            why = f"{failed}/{runs} runs failed" if failed else (f"{nan_runs}/{runs} runs NaN" if nan_runs else "no bound")
            _edge_mark(ax, value, 0.04, "x", f"{label}: {why}")
        elif not low <= b <= high:  # far outside the focused range: an arrow at the edge with its value
            top = b > high
            _edge_mark(ax, value, 0.96 if top else 0.04, "^" if top else "v", f"{label}: bound {b:.4g}")
        else:
            ax.annotate(label, xy=(value, b), xytext=(6, 5), textcoords="offset points", fontsize=8,
                        color="#222222", fontweight="bold")
    ax.set_ylabel(metric_label(criterion.metric), fontsize=9)
    ax.set_title(f"{criterion}  (judged on the {criterion.side} {plan.confidence:.0%} bound)", fontsize=10)


def _edge_mark(ax: Axes, value: float, height: float, marker: str, text: str) -> None:
    """A red marker at ``height`` (axes fraction) above ``value``, with a short text."""
    ax.plot([value], [height], marker=marker, color=FAIL_COLOR, linestyle="", transform=ax.get_xaxis_transform(),
            zorder=5, clip_on=False)
    ax.annotate(text, xy=(value, height), xycoords=("data", "axes fraction"), xytext=(6, 0),
                textcoords="offset points", fontsize=7.5, color=FAIL_COLOR, va="center", fontweight="bold")


def _focus_limits(threshold: float, ys: np.ndarray) -> tuple[float, float]:
    """y limits around the threshold and the values near it.

    Values ten times further from the threshold than the median value are left outside (they
    are marked at the edge instead), so that 0.990 and 0.996 stay apart beside a 0.
    """
    ys = ys[np.isfinite(ys)]
    distance = np.abs(ys - threshold)
    if len(ys) >= 3 and np.median(distance) > 0:
        ys = ys[distance <= 10 * np.median(distance)]
    low, high = min([threshold, *ys]), max([threshold, *ys])
    pad = 0.12 * (high - low) if high > low else max(abs(threshold) * 0.1, 1.0)
    return low - pad, high + pad


def _shade_passing_side(ax: Axes, criterion: Criterion, low: float, high: float) -> None:
    """A light green band over the side of the threshold where the criterion holds; sets the y limits."""
    if criterion.side == "upper":
        ax.axhspan(low, criterion.threshold, color=PASS_COLOR, alpha=0.06, zorder=0)
    else:
        ax.axhspan(criterion.threshold, high, color=PASS_COLOR, alpha=0.06, zorder=0)
    ax.set_ylim(low, high)


def search_evidence(plan: CapacityPlan) -> Figure:
    """How a capacity search reached its answer: one panel per criterion.

    At each evaluated value: the mean over the replications (black), the one-sided bound the
    criterion is judged on (green when it holds, red when not; a cross at the foot when there is
    no bound), the single replications (grey), the threshold (dashed), the evaluation order
    (numbers) and the answer (a vertical line).
    """
    answer = f"answer {plan.answer}" if plan.answer is not None else "no value meets the criteria"
    title = f"Capacity search over {plan.parameter}: {answer}"
    if plan.evidence.empty:
        return empty_figure(title, "No value was evaluated: the search has no evidence to show.")
    fig, axes = new_figure(len(plan.criteria), 1, height=1.2 + 3.0 * len(plan.criteria))
    values = sorted(set(plan.evidence["value"]))
    for ax, criterion in zip(axes[:, 0], plan.criteria, strict=True):
        _criterion_panel(ax, plan, criterion, plan.evidence[plan.evidence["criterion"] == str(criterion)])
        if plan.answer is not None:
            line = ax.axvline(plan.answer, color=PASS_COLOR, linewidth=1.5, alpha=0.8, zorder=1)
            line.set_gid("answer")
            ax.annotate(f"answer {plan.answer}", xy=(plan.answer, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(3, -3), textcoords="offset points", va="top", fontsize=8, color=PASS_COLOR)
    _value_ticks(axes[-1, 0], values)
    axes[-1, 0].set_xlabel(plan.parameter)
    axes[0, 0].legend(handles=_evidence_handles(plan), fontsize=8, frameon=False, loc="best")
    note = f"; monotonicity violated: {'; '.join(plan.violations)}" if plan.violations else ""
    fig.suptitle(f"{title}\none-sided {plan.confidence:.0%} Student-t bound of the mean over {plan.replications} "
                 f"replications; numbers: evaluation order{note}", fontsize=11)
    return fig


def _value_ticks(ax: Axes, values: list[int]) -> None:
    """A tick per evaluated value (up to 15), on a log scale when they span orders of magnitude."""
    log = values[0] > 0 and values[-1] / values[0] >= 50  # a gallop up: 1, 2, 4, ... 4096, 5000
    if log:
        ax.set_xscale("log")
        ax.minorticks_off()
    if len(values) > 15:
        return
    labels, last = [], -math.inf
    for value in values:  # on a log scale, leave out labels that would touch the previous one
        position = math.log10(value) if log else -math.inf
        labels.append(str(value) if not log or position - last >= 0.12 else "")
        last = position if labels[-1] else last
    ax.set_xticks(values, labels)


def _evidence_handles(plan: CapacityPlan) -> list[Any]:
    return [
        Line2D([], [], color=MEAN_COLOR, marker="o", markersize=5, linewidth=1, label="mean"),
        Line2D([], [], color=PASS_COLOR, marker="D", linestyle="", label="bound: criterion holds"),
        Line2D([], [], color=FAIL_COLOR, marker="D", linestyle="", label="bound: criterion fails"),
        Line2D([], [], color="#999999", marker="o", markersize=4, linestyle="", alpha=0.5, label="one replication"),
        Line2D([], [], color="#555555", linestyle="--", label="threshold"),
    ]


# --------------------------------------------------------------------------- files and accessors


def _default_metrics(result: ExperimentResult) -> list[str]:
    named = list(getattr(result.experiment, "metrics", None) or [])
    if named:
        return named
    agg = result.aggregate
    present = set(agg.loc[agg["mean"].notna(), "metric"])
    return [m for m in DEFAULT_METRICS if m in present]


def _save(fig: Figure, path: Path) -> Path:
    try:
        fig.savefig(path, dpi=_DPI)
    finally:
        plt.close(fig)
    return path


def save_sweep_plots(result: ExperimentResult, folder: str | Path, metrics: list[str] | None = None) -> list[Path]:
    """Write ``<metric>.png`` per metric into ``folder`` (created); returns the paths written.

    ``metrics`` defaults to the experiment's ``metrics`` list when it has one, else to the
    metrics of :data:`DEFAULT_METRICS` that have a value in this sweep.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    wanted = list(metrics) if metrics is not None else _default_metrics(result)
    return [_save(sweep_metric(result, m), out / f"{m}.png") for m in wanted]


def save_plan_plots(plan: CapacityPlan, folder: str | Path) -> list[Path]:
    """Write ``evidence.png`` into ``folder`` (created); returns the paths written."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return [_save(search_evidence(plan), out / "evidence.png")]


class SweepPlots:
    """``result.plot``: figures of an :class:`ExperimentResult`."""

    def __init__(self, result: ExperimentResult) -> None:
        self._result = result

    def metric(self, metric: str, x: str | None = None, hue: str | None = None) -> Figure:
        """See :func:`sweep_metric`."""
        return sweep_metric(self._result, metric, x=x, hue=hue)


class PlanPlots:
    """``plan.plot``: figures of a :class:`CapacityPlan`."""

    def __init__(self, plan: CapacityPlan) -> None:
        self._plan = plan

    def evidence(self) -> Figure:
        """See :func:`search_evidence`."""
        return search_evidence(self._plan)
