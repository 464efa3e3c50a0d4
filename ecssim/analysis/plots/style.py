"""The one look every ecssim plot shares: colours, time axes in readable units, fault marks.

Every plot module draws through these helpers so that a service has the same colour in every
figure of a run, time axes carry their unit, faults and actions are marked the same way, and
an empty input gives a figure that says why it is empty instead of a blank or an exception.
"""

from __future__ import annotations

from collections.abc import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import StrMethodFormatter

#: Qualitative palette for services (tab10 without its grey, then tab20's light tones).
_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#aec7e8", "#ffbb78", "#98df8a", "#c5b0d5", "#c49c94", "#f7b6d2", "#dbdb8d", "#9edae5",
)
#: Colour of tasks that belong to no service (RunTask / batch workloads).
STANDALONE_COLOR = "#7f7f7f"
#: Colour of fault marks (instance losses, outages, crashes) and of lost instances.
FAULT_COLOR = "#d62728"
#: Colour of scenario actions (deployments, scaling, scheduled changes).
ACTION_COLOR = "#555555"
#: Default figure width in inches; heights are chosen per plot.
FIGURE_WIDTH = 10.0

#: Time units a time axis may use: (seconds per unit, axis label), chosen by the span shown.
_TIME_UNITS: tuple[tuple[float, str, float], ...] = (
    # (largest span in seconds shown in this unit, label, seconds per unit)
    (3 * 3600.0, "min", 60.0),
    (3 * 86400.0, "h", 3600.0),
    (float("inf"), "days", 86400.0),
)


def time_unit(span_s: float) -> tuple[float, str]:
    """Seconds per unit and its label for a time axis spanning ``span_s`` seconds.

    Minutes up to 3 h, hours up to 3 days, days beyond, so tick labels stay short.
    """
    for limit, label, seconds in _TIME_UNITS:
        if span_s <= limit:
            return seconds, label
    raise AssertionError("unreachable: the last unit has no limit")


def time_label(span_s: float) -> str:
    """Axis label for simulated time over ``span_s`` seconds, e.g. ``"simulated time (min)"``."""
    return f"simulated time ({time_unit(span_s)[1]})"


def service_colors(services: Iterable[str]) -> dict[str, str]:
    """A colour for each service name, stable for a given set (sorted names, palette order).

    The empty name (standalone tasks) gets :data:`STANDALONE_COLOR`.
    """
    names = sorted({str(s) for s in services})
    colors: dict[str, str] = {}
    i = 0
    for name in names:
        if name == "":
            colors[name] = STANDALONE_COLOR
        else:
            colors[name] = _PALETTE[i % len(_PALETTE)]
            i += 1
    return colors


def new_figure(nrows: int = 1, ncols: int = 1, *, height: float = 4.0, sharex: bool = True,
               width: float = FIGURE_WIDTH) -> tuple[Figure, np.ndarray]:
    """A figure with a grid of axes (always returned as a 2-D array) in the ecssim style."""
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), sharex=sharex, squeeze=False,
                             layout="constrained")
    for ax in axes.flat:
        style_axes(ax)
    return fig, axes


def style_axes(ax: Axes) -> None:
    """Light grid behind the data, no top/right spines."""
    ax.grid(True, color="#e5e5e5", linewidth=0.8)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def show_message(ax: Axes, message: str) -> None:
    """Write ``message`` in the middle of an empty axes (used when there is nothing to plot)."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes,
            fontsize=11, color="#444444", wrap=True)


def empty_figure(title: str, message: str, *, height: float = 2.5) -> Figure:
    """A figure with ``title`` that says ``message`` instead of data (e.g. "no faults in this run")."""
    fig, axes = new_figure(height=height)
    ax = axes[0, 0]
    ax.set_title(title)
    show_message(ax, message)
    return fig


def fault_marks(events: pd.DataFrame) -> pd.DataFrame:
    """Times of faults and actions from the ``events`` table: columns time_s, kind, label, what.

    ``what`` is ``"fault"`` or ``"action"``; one row per fault occurrence (its first row) and per
    action row, in time order.
    """
    rows = events[events["entity"].isin(("fault", "action"))]
    if rows.empty:
        return pd.DataFrame({"time_s": pd.Series([], dtype="float64"), "kind": pd.Series([], dtype="str"),
                             "label": pd.Series([], dtype="str"), "what": pd.Series([], dtype="str")})
    first = rows.drop_duplicates(subset=["entity", "entity_id"], keep="first")
    kind = first["to_state"].where(first["to_state"] != "", first["event"])
    return pd.DataFrame({
        "time_s": first["time_s"].to_numpy(dtype="float64"),
        "kind": kind.astype("str").to_numpy(),
        "label": first["entity_id"].astype("str").to_numpy(),
        "what": first["entity"].astype("str").to_numpy(),
    })


#: Up to this many fault and action marks are drawn one by one and labelled; beyond, they
#: are thin unlabelled ticks drawn as one collection (a week with thousands of instance
#: failures would otherwise cost minutes of drawing and be unreadable anyway).
MAX_LABELLED_MARKS = 40


def mark_faults(ax: Axes, marks: pd.DataFrame, seconds_per_unit: float, *, annotate: bool = True) -> None:
    """Draw a vertical line at each fault (red, dashed) and action (grey, dotted) time.

    ``marks`` comes from :func:`fault_marks`; ``annotate`` writes the kind at the top of the
    axes. Above :data:`MAX_LABELLED_MARKS` marks, see :func:`_mark_many`.
    """
    if len(marks) > MAX_LABELLED_MARKS:
        _mark_many(ax, marks, seconds_per_unit, annotate=annotate)
        return
    for row in marks.itertuples(index=False):
        x = row.time_s / seconds_per_unit
        fault = row.what == "fault"
        ax.axvline(x, color=FAULT_COLOR if fault else ACTION_COLOR, linestyle="--" if fault else ":",
                   linewidth=1.2, alpha=0.8, zorder=1)
        if annotate:
            ax.annotate(str(row.kind), xy=(x, 1.0), xycoords=("data", "axes fraction"), xytext=(2, -2),
                        textcoords="offset points", rotation=90, va="top", ha="left", fontsize=7,
                        color=FAULT_COLOR if fault else ACTION_COLOR)


def _mark_many(ax: Axes, marks: pd.DataFrame, seconds_per_unit: float, *, annotate: bool) -> None:
    """Many marks: a rug of short ticks along the top edge, one collection per kind (gid
    ``marks:fault`` / ``marks:action``; full-height lines would hide the data), and, with
    ``annotate``, one line saying how many there are instead of a label each."""
    counts = []
    for what, color in (("fault", FAULT_COLOR), ("action", ACTION_COLOR)):
        x = marks.loc[marks["what"] == what, "time_s"].to_numpy(dtype="float64") / seconds_per_unit
        if len(x) == 0:
            continue
        ax.vlines(x, 0.95, 1, transform=ax.get_xaxis_transform(), colors=color, linewidth=0.6, alpha=0.5,
                  zorder=5, gid=f"marks:{what}")
        counts.append(f"{len(x)} {what}s")
    if annotate:
        ax.text(1.0, 1.0, " | ".join(counts) + " (ticks along the top, too many to label)", transform=ax.transAxes,
                ha="right", va="bottom", fontsize=7, color=FAULT_COLOR)


def whole_numbers(ax: Axes) -> None:
    """Y tick labels as plain whole numbers with thousands separators (no "1e6" offset)."""
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
