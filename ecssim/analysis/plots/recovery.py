"""How fast services recovered from faults, and how available they were over the run.

``recovery`` draws the empirical CDF of time-to-desired per fault kind from the
``recovery`` table (one incident = one row: an incident and a service it hit); rows that
never recovered stay in the denominator, so a curve that ends below 1 shows them, and the
legend counts them. ``availability`` draws the ``availability`` table as bars per service.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ecssim.analysis.plots.style import empty_figure, new_figure, service_colors

if TYPE_CHECKING:
    from ecssim.analysis.result import Result

#: Fault-kind colours (colour-blind-safe Okabe-Ito), assigned in kind name order.
_KIND_PALETTE: tuple[str, ...] = ("#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
                                  "#f0e442", "#000000")
#: Recovery times above this many seconds are shown in minutes.
MINUTES_ABOVE_S = 600.0


def recovery_cdf(times_s: pd.Series) -> tuple[np.ndarray, np.ndarray, int]:
    """Empirical CDF points of recovery times: sorted recovered times, fractions, unrecovered.

    The fractions are ``k / n`` for the k-th fastest recovery, where ``n`` counts every
    incident, recovered (a time) or not (NaN), so the curve tops out at the recovered share.
    """
    values = times_s.to_numpy(dtype="float64")
    done = np.sort(values[~np.isnan(values)])
    n = len(values)
    return done, np.arange(1, len(done) + 1) / max(n, 1), int(n - len(done))


def recovery(result: Result) -> Figure:
    """Empirical CDF of time-to-desired per fault kind (fraction of incidents recovered by x).

    x in seconds, or minutes when some recovery took longer than ten minutes. Incidents that
    never recovered count in each kind's denominator and are reported in its legend entry.
    """
    table = result.recovery
    title = "Time to recover to the desired count, by fault kind"
    if table.empty:
        has_faults = (result.events["entity"] == "fault").any()
        message = ("The faults in this run hit no service task: nothing to recover from." if has_faults
                   else "No faults in this run: nothing to recover from.")
        return empty_figure(title, message)
    finite = table["time_to_desired_s"].dropna()
    longest = float(finite.max()) if len(finite) else 0.0
    seconds, unit = (60.0, "min") if longest > MINUTES_ABOVE_S else (1.0, "s")
    right = max(longest, 1.0) * 1.05
    fig, axes = new_figure(height=4.2)
    ax = axes[0, 0]
    kinds = sorted(table["kind"].astype("str").unique())
    for i, kind in enumerate(kinds):
        done, fraction, unrecovered = recovery_cdf(table.loc[table["kind"] == kind, "time_to_desired_s"])
        n = len(done) + unrecovered
        x = np.r_[0.0, done, right] / seconds
        y = np.r_[0.0, fraction, fraction[-1] if len(fraction) else 0.0]
        label = f"{kind} (n={n}, {unrecovered} unrecovered)"
        ax.plot(x, y, drawstyle="steps-post", color=_KIND_PALETTE[i % len(_KIND_PALETTE)], linewidth=2,
                label=label)
        ax.plot(done / seconds, fraction, linestyle="none", marker="o", markersize=3.5,
                color=_KIND_PALETTE[i % len(_KIND_PALETTE)], label="_nolegend_")
    ax.set_xlim(0, right / seconds)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel(f"time to desired count after the fault ({unit})")
    ax.set_ylabel("fraction of incidents")
    ax.legend(loc="upper left", fontsize=8, title="fault kind", title_fontsize=8)
    ax.set_title(title)
    return fig


def _bar_text(ax: Axes, y: float, value: float, color: str, *, light: bool) -> None:
    """Write a bar's value at its end: inside when there is room, else just after it."""
    if np.isnan(value):
        ax.text(1, y, "n/a", va="center", ha="left", fontsize=8, color="#444444")
    elif value >= 20:
        ax.text(value - 1, y, f"{value:.1f} %", va="center", ha="right", fontsize=8,
                color="#222222" if light else "white", fontweight="bold")
    else:
        ax.text(value + 1, y, f"{value:.1f} %", va="center", ha="left", fontsize=8, color=color)


def availability(result: Result) -> Figure:
    """Per service, the % of the measurement window at its desired count and at its minimum.

    Two bars per service (solid: at desired count; hatched: at the minimum healthy count of
    its deployment configuration), each labelled with its value. A run without services
    gives a figure that says so.
    """
    table = result.availability.sort_values("service", kind="stable").reset_index(drop=True)
    start, end = float(result.measure_from_s), float(result.duration_s)
    title = "Service availability (healthy tasks vs desired count)"
    if table.empty:
        return empty_figure(title, "No services in this run: no availability to show.")
    if table["fraction_at_desired"].isna().all():
        return empty_figure(title, "The measurement window is empty: no availability to show.")
    names = table["service"].astype("str").tolist()
    colors = service_colors(names)
    fig, axes = new_figure(height=1.3 + 0.7 * len(names), sharex=False)
    ax = axes[0, 0]
    rows = np.arange(len(names))[::-1].astype("float64")
    desired = table["fraction_at_desired"].to_numpy(dtype="float64") * 100
    minimum = table["fraction_at_minimum_healthy"].to_numpy(dtype="float64") * 100
    bar_colors = [colors[n] for n in names]
    ax.barh(rows + 0.2, np.nan_to_num(desired), height=0.38, color=bar_colors, label="at desired count")
    ax.barh(rows - 0.2, np.nan_to_num(minimum), height=0.38, color=bar_colors, alpha=0.45, hatch="//",
            edgecolor="white", label="at minimum healthy")
    for y, d, m, c in zip(rows, desired, minimum, bar_colors, strict=True):
        _bar_text(ax, y + 0.2, d, c, light=False)
        _bar_text(ax, y - 0.2, m, c, light=True)
    ax.set_yticks(rows, names)
    ax.set_xlim(0, 100)
    ax.set_xlabel("% of the measurement window")
    ax.grid(False, axis="y")
    fig.legend(handles=[Patch(color="#777777", label="at desired count"),
                        Patch(facecolor="#777777", alpha=0.45, hatch="//", edgecolor="white",
                              label="at minimum healthy")],
               loc="outside lower center", ncols=2, fontsize=8, frameon=False)
    minutes = (end - start) / 60.0
    ax.set_title(f"{title}\nmeasurement window: {start / 60:.0f}–{end / 60:.0f} min ({minutes:.0f} min)",
                 fontsize=11)
    return fig
