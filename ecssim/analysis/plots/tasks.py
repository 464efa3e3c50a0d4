"""Each service's tasks by state over time, against its desired count.

ECS's own view of a service: how many of its tasks are RUNNING, how many are on their way
(PENDING or ACTIVATING, and PROVISIONING before that) and how many it wants (the desired
count). The running, pending and desired levels come from
:meth:`~ecssim.analysis.result.Result.service_counts`; its ``pending`` counts PROVISIONING
too, so the PROVISIONING level is recomputed from the task state rows
(:func:`provisioning_counts`) and taken out of it (:func:`service_states`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from ecssim.analysis.plots.capacity import step_points
from ecssim.analysis.plots.style import (
    empty_figure,
    fault_marks,
    mark_faults,
    new_figure,
    service_colors,
    time_label,
    time_unit,
)

if TYPE_CHECKING:
    from ecssim.analysis.result import Result

#: At most this many service panels in one figure (the title says when some are left out).
MAX_PANELS = 12
DESIRED_COLOR = "#222222"
_STATE_COLUMNS = ("desired_count", "running", "pending", "provisioning")
#: state column -> (line style, line width, legend label)
_STYLES: dict[str, tuple[str, float, str]] = {
    "running": ("-", 2.0, "running"),
    "pending": ("--", 1.4, "pending (PENDING + ACTIVATING)"),
    "provisioning": (":", 1.4, "provisioning"),
}


def provisioning_counts(events: pd.DataFrame) -> pd.DataFrame:
    """Per-service step series of tasks in PROVISIONING: columns time_s, service, provisioning.

    Read from the task state rows of service tasks: a task counts from its row into
    PROVISIONING to its next state row. One row per service and instant at which the level
    changes (the level after the last row of that instant); it is 0 before a service's first row.
    """
    rows = events[(events["entity"] == "task") & (events["event"] == "state") & (events["service"] != "")]
    rows = rows.sort_values("seq", kind="stable")
    flag = (rows["to_state"] == "PROVISIONING").astype("int64")
    change = flag - flag.groupby(rows["entity_id"].to_numpy(), sort=False).shift(fill_value=0)
    level = change.groupby(rows["service"].to_numpy(), sort=False).cumsum()
    out = pd.DataFrame({"time_s": rows["time_s"].to_numpy(dtype="float64"),
                        "service": rows["service"].astype("str").to_numpy(),
                        "provisioning": level.to_numpy(dtype="int64")})
    out = out.drop_duplicates(["service", "time_s"], keep="last")
    previous = out.groupby("service", sort=False)["provisioning"].shift(fill_value=0)
    return out[out["provisioning"] != previous].reset_index(drop=True)


def service_states(counts: pd.DataFrame, provisioning: pd.DataFrame) -> pd.DataFrame:
    """Merge ``service_counts`` and :func:`provisioning_counts` onto one step series per service.

    Columns time_s, service, desired_count, running, pending (PENDING + ACTIVATING: the
    counts' ``pending`` minus ``provisioning``), provisioning; sorted by service then time.
    """
    parts = [counts.loc[:, ["time_s", "service", "desired_count", "running", "pending"]].assign(_src=0),
             provisioning.loc[:, ["time_s", "service", "provisioning"]].assign(_src=1)]
    both = pd.concat(parts, ignore_index=True).sort_values(["service", "time_s", "_src"], kind="stable")
    levels = list(_STATE_COLUMNS)
    both[levels] = both.groupby("service", sort=False)[levels].ffill().fillna(0)
    both = both.drop_duplicates(["service", "time_s"], keep="last").drop(columns="_src")
    both = both.astype(dict.fromkeys(levels, "int64"))
    both["pending"] = both["pending"] - both["provisioning"]
    return both.reset_index(drop=True)


def _service_names(result: Result, counts: pd.DataFrame) -> list[str]:
    names = set(result.services["service"].astype("str")) | set(counts["service"].astype("str"))
    return sorted(n for n in names if n)


def _choose(all_names: list[str], services: Sequence[str] | None) -> list[str]:
    if services is None:
        return all_names
    wanted = [services] if isinstance(services, str) else list(services)
    unknown = [s for s in wanted if s not in all_names]
    if unknown:
        raise ValueError(f"no service {', '.join(unknown)} in this run; services: {', '.join(all_names) or 'none'}")
    return wanted


def _legend_handles() -> list[Line2D]:
    handles = [Line2D([], [], color=DESIRED_COLOR, linewidth=6, alpha=0.2, label="desired count")]
    return handles + [Line2D([], [], color="#666666", linestyle=s, linewidth=w, label=label)
                      for s, w, label in _STYLES.values()]


def tasks(result: Result, *, services: Sequence[str] | None = None) -> Figure:
    """Running, pending and provisioning tasks of each service over time, with its desired count.

    One panel per service (shared time axis; at most :data:`MAX_PANELS`, the title says when
    more exist); ``services`` picks and orders them. Faults and actions are marked. A run
    without services gives a figure that says so.
    """
    counts = result.service_counts()
    all_names = _service_names(result, counts)
    names = _choose(all_names, services)
    title = "Service tasks by state"
    if not names:
        return empty_figure(title, "No services in this run: no service tasks to show.")
    if len(names) > MAX_PANELS:
        title += f" (first {MAX_PANELS} of {len(names)} services)"
        names = names[:MAX_PANELS]
    states = service_states(counts, provisioning_counts(result.events))
    colors = service_colors(all_names + ([""] if (result.tasks["service"] == "").any() else []))
    duration = float(result.duration_s)
    seconds, _ = time_unit(duration)
    marks = fault_marks(result.events)
    fig, axes = new_figure(len(names), 1, height=max(3.6, 1.0 + 2.0 * len(names)))
    for i, (ax, name) in enumerate(zip(axes[:, 0], names, strict=True)):
        part = states[states["service"] == name]
        times = part["time_s"].to_numpy()
        x, y = step_points(times, part["desired_count"].to_numpy(), end_s=duration)
        ax.plot(x / seconds, y, drawstyle="steps-post", color=DESIRED_COLOR, linewidth=6, alpha=0.2,
                solid_capstyle="butt", label="desired count", zorder=1.5)
        for column, (style, width, _) in _STYLES.items():
            x, y = step_points(times, part[column].to_numpy(), end_s=duration)
            ax.plot(x / seconds, y, drawstyle="steps-post", color=colors[name], linestyle=style,
                    linewidth=width, label=column)
        mark_faults(ax, marks, seconds, annotate=i == 0)
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, duration / seconds)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel("tasks")
        ax.set_title(name, loc="left", fontsize=10, color=colors[name])
    axes[-1, 0].set_xlabel(time_label(duration))
    fig.legend(handles=_legend_handles(), loc="outside lower center", ncols=6, fontsize=8, frameon=False)
    fig.suptitle(title)
    return fig
