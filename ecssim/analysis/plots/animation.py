"""The teaching animation: instances as boxes that fill with task blocks as ECS places them.

Each container instance is a box (labelled with its id suffix and its reserved/registered
amount; one row of boxes per AZ when that fits); each task holding resources on it is a
block whose height is its share of the instance's registered CPU (or memory), coloured by
service, pale and hatched while the task is not yet RUNNING. Boxes appear when
their instance is launched (dashed while it registers), flash red in the frame in which a
fault hits them (the whole AZ for an ``az_outage``) and are greyed and crossed out once the
instance is gone. Frames are evenly spaced over the run, plus one exactly at each fault, so
a flash is never skipped. Reservations follow :mod:`ecssim.analysis.occupancy`.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.animation import FuncAnimation, PillowWriter
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle
from matplotlib.text import Text

from ecssim.analysis.occupancy import instance_spans, resource_columns, task_placements
from ecssim.analysis.plots.style import ACTION_COLOR, FAULT_COLOR, empty_figure
from ecssim.analysis.plots.timeline import instance_label, run_colors, service_name
from ecssim.analysis.plots.utilisation import clock

TITLE = "ECS task placement"
#: Face colour of a box in the frame in which a fault hits its instance.
FLASH_COLOR = to_rgba(FAULT_COLOR, 0.35)
#: Services named in the legend (the ones with most tasks on the boxes shown).
_MAX_LEGEND_SERVICES = 12
#: Faults and actions named in a frame's subtitle; more are counted ("+12 more").
_MAX_DESCRIBED = 3
#: Face colour of a box whose instance is gone (terminated or deregistered).
GONE_COLOR = to_rgba("#d9d9d9", 1.0)
#: Face colour of a registered, healthy box.
BOX_COLOR = to_rgba("white", 1.0)
_BOX_W, _BOX_H, _PAD_X, _PAD_Y = 0.8, 0.62, 0.1, 0.16
_PENDING_ALPHA = 0.4


def frame_times(duration_s: float, frames: int, fault_times: np.ndarray) -> np.ndarray:
    """``frames`` instants evenly spaced over ``[0, duration_s]`` plus every fault time in it.

    With more faults than ``frames`` (a long run of a large cluster: thousands of crashes),
    only the evenly spaced instants: each frame still flashes the faults of its interval, and
    the animation keeps the length asked for instead of growing a frame per fault.
    """
    if frames < 1:
        raise ValueError(f"an animation needs at least one frame, got frames={frames}")
    even = np.linspace(0.0, float(duration_s), frames)
    inside = fault_times[(fault_times >= 0) & (fault_times <= duration_s)]
    if len(np.unique(inside)) > frames:
        return even
    return np.unique(np.concatenate([even, inside]))


def _fault_rows(events: pd.DataFrame) -> pd.DataFrame:
    """First row of each fault occurrence, and scenario actions that name an instance."""
    faults = events[(events["entity"] == "fault") & (events["event"] == "fault")]
    faults = faults.drop_duplicates("incident_id", keep="first")
    actions = events[(events["entity"] == "action") & (events["instance_id"] != "")]
    return pd.concat([faults, actions]).sort_values("time_s", kind="stable")


class Scene:
    """The artists of the animation and :meth:`draw`, which sets them for one frame.

    Attributes tests and notebooks may read: ``fig``, ``times`` (frame instants, seconds),
    ``spans`` (the instances shown, in box order), ``boxes`` (instance id -> the Rectangle
    filling its box: white, :data:`FLASH_COLOR` when a fault hits it, grey once gone),
    ``outlines`` (instance id -> the Rectangle outlining it: red and thick when hit),
    ``blocks`` (the task blocks of the last frame drawn: a PatchCollection of RUNNING tasks
    and one of tasks not yet RUNNING, pale and hatched), ``flashed``
    (ids of the instances flashing in the last frame drawn). Everything a frame needs is
    precomputed as arrays, so a frame costs little more than matplotlib's rendering.
    """

    def __init__(self, result, times: np.ndarray, *, resource: str, max_instances: int) -> None:
        task_column, instance_column, _ = resource_columns(resource)
        self.unit = "CPU" if resource == "cpu" else "MiB"
        self.times = times
        spans = instance_spans(result)
        self.total_instances = len(spans)
        keep = spans.sort_values(["launched_at_s", "instance_id"], kind="stable").head(max_instances)
        self.spans = spans[spans["instance_id"].isin(keep["instance_id"])].reset_index(drop=True)
        self.capacity = self.spans[instance_column].to_numpy(float)
        placements = task_placements(result)
        placements = placements[placements["instance_id"].isin(self.spans["instance_id"])]
        self.services = sorted(placements["service"].unique())
        #: The services named in the legend: those with most tasks on the boxes shown, at most
        #: _MAX_LEGEND_SERVICES (a legend of 50 entries costs more to draw than the boxes).
        self.legend_services = sorted(placements["service"].value_counts(sort=True)
                                      .head(_MAX_LEGEND_SERVICES).index)
        self.colors = run_colors(result)
        self._tasks = self._task_arrays(placements, task_column)
        self.faults = _fault_rows(result.events)
        self.no_tasks = result.tasks.empty
        self.blocks: list[PatchCollection] = []
        self.flashed: set[str] = set()
        self._build_figure()

    def _task_arrays(self, placements: pd.DataFrame, task_column: str) -> dict[str, np.ndarray]:
        """Per task (in placement order): box index, interval, running time, share, colour."""
        box = pd.Series(np.arange(len(self.spans)), index=self.spans["instance_id"].to_numpy())
        index = box[placements["instance_id"]].to_numpy()
        return {
            "box": index,
            "placed": placements["placed_at_s"].to_numpy(float),
            "released": placements["released_at_s"].to_numpy(float),
            "running": placements["running_at_s"].to_numpy(float),
            "amount": placements[task_column].to_numpy(float),
            "share": placements[task_column].to_numpy(float) / self.capacity[index],
            "color": np.array([to_rgba(self.colors[s]) for s in placements["service"]]).reshape(-1, 4),
        }

    def _grid(self) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Row and column of each box, and the AZ of each row ([] when rows are not per AZ).

        One row per AZ reads best (a zone outage takes out a row), when it fits: at most 6 AZs
        and 8 instances per AZ, and more than one instance in some AZ. Otherwise the boxes
        (already in AZ order) wrap in a near-square grid.
        """
        azs = self.spans["az"].to_numpy()
        names = list(dict.fromkeys(azs))
        per_az = pd.Series(azs).value_counts()
        if len(names) <= 6 and 1 < per_az.max() <= 8:
            rows = np.array([names.index(az) for az in azs])
            cols = self.spans.groupby("az", sort=False).cumcount().to_numpy()
            return rows, cols, names
        n = len(self.spans)
        ncols = min(n, max(3, math.ceil(math.sqrt(n * 1.6))))
        return np.arange(n) // ncols, np.arange(n) % ncols, []

    def _build_figure(self) -> None:
        rows, cols, row_azs = self._grid()
        self.az_rows = bool(row_azs)
        self.ncols, self.nrows = int(cols.max()) + 1, int(rows.max()) + 1
        width = max(self.ncols, 3)
        # Not a pyplot figure: in a notebook the animation shows once (as HTML), not also as a
        # static image of its last frame when the cell ends.
        self.fig = Figure(figsize=(1.9 * width + (0.6 if row_azs else 0), 1.9 * self.nrows + 1.6),
                          layout="constrained")
        FigureCanvasAgg(self.fig)
        ax = self.fig.add_subplot()
        margin = (width - self.ncols) / 2
        ax.set_xlim(-margin - (0.3 if row_azs else 0), self.ncols + margin)
        ax.set_ylim(0, self.nrows)
        ax.axis("off")
        self.ax = ax
        self.origins = np.column_stack([cols + _PAD_X, self.nrows - 1 - rows + _PAD_Y]).astype(float)
        for row, az in enumerate(row_azs):
            ax.text(-0.05, self.nrows - 1 - row + _PAD_Y + _BOX_H / 2, az, rotation=90, ha="right", va="center",
                    fontsize=10, fontweight="bold", color="#444444")
        self.boxes: dict[str, Rectangle] = {}
        self.outlines: dict[str, Rectangle] = {}
        self.labels: dict[str, Text] = {}
        self.crosses: dict[str, list[Line2D]] = {}
        for (x, y), iid in zip(self.origins, self.spans["instance_id"], strict=True):
            self.boxes[iid] = ax.add_patch(Rectangle((x, y), _BOX_W, _BOX_H, facecolor=BOX_COLOR, edgecolor="none",
                                                     zorder=1, gid=iid))
            self.outlines[iid] = ax.add_patch(Rectangle((x, y), _BOX_W, _BOX_H, fill=False, edgecolor="#333333",
                                                        linewidth=1.5, zorder=3))
            self.labels[iid] = ax.text(x + _BOX_W / 2, y + _BOX_H + 0.02, "", ha="center", va="bottom",
                                       fontsize=7.5, linespacing=1.15)
            self.crosses[iid] = [
                ax.add_line(Line2D([x, x + _BOX_W], [y, y + _BOX_H], linewidth=2.5, zorder=4)),
                ax.add_line(Line2D([x, x + _BOX_W], [y + _BOX_H, y], linewidth=2.5, zorder=4)),
            ]
        self.title = self.fig.suptitle("", fontsize=14, fontweight="bold")
        self.subtitle = ax.set_title("", fontsize=9, color=FAULT_COLOR)
        self._legend()

    def _legend(self) -> None:
        handles = [Patch(facecolor=self.colors[s], label=service_name(s)) for s in self.legend_services]
        if len(self.services) > len(self.legend_services):
            handles.append(Patch(facecolor="none", edgecolor="none",
                                 label=f"+{len(self.services) - len(self.legend_services)} more services"))
        handles += [
            Patch(facecolor=to_rgba("#888888", _PENDING_ALPHA), edgecolor="white", hatch="///",
                  label="placed, not yet RUNNING"),
            Patch(facecolor=FLASH_COLOR, edgecolor=FAULT_COLOR, label="hit by a fault"),
            Patch(facecolor=GONE_COLOR, edgecolor="#888888", label="instance gone"),
        ]
        per_row = max(2, int(self.fig.get_figwidth() / 1.75))  # ~1.75 in per legend entry
        self.fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), per_row), fontsize=8,
                        frameon=False)

    def freeze_layout(self) -> None:
        """Lay the figure out once (with a subtitle present), then keep it fixed for every frame.

        Re-running the constrained layout on each frame costs about 40% of the rendering time
        and would make boxes jump when the subtitle appears.
        """
        self.draw(0)
        subtitle = self.subtitle.get_text()
        self.subtitle.set_text("FAULT: placeholder")
        self.fig.draw_without_rendering()
        self.fig.set_layout_engine("none")
        self.subtitle.set_text(subtitle)

    def draw(self, frame: int) -> list:
        """Set every artist for frame number ``frame``; returns the artists (blit=False anyway)."""
        t = float(self.times[frame])
        before = float(self.times[frame - 1]) if frame > 0 else -np.inf
        events = self.faults[(self.faults["time_s"] > before) & (self.faults["time_s"] <= t)]
        self.flashed = self._hit(events[events["entity"] == "fault"], t)
        touched = set(events.loc[events["entity"] == "action", "instance_id"])
        for collection in self.blocks:
            collection.remove()
        self.blocks, used = self._blocks(t)
        for collection in self.blocks:
            self.ax.add_collection(collection)
        for i, span in enumerate(self.spans.itertuples(index=False)):
            iid = span.instance_id
            self._draw_box(i, span, t, used[i], iid in self.flashed, iid in touched)
        shown = "" if len(self.spans) == self.total_instances else (
            f"   (showing {len(self.spans)} of {self.total_instances} instances)")
        self.title.set_text(f"{TITLE}, t = {clock(t)}{shown}")
        self.subtitle.set_text(self._describe(events))
        return [*self.blocks, self.title, self.subtitle, *self.boxes.values(), *self.outlines.values()]

    def _hit(self, faults: pd.DataFrame, t: float) -> set[str]:
        """Instances a fault in this frame's interval hits: its instance, or every instance of its AZ."""
        hit: set[str] = set()
        launched = self.spans[self.spans["launched_at_s"] <= t]
        for row in faults.itertuples(index=False):
            if row.instance_id:
                hit.add(row.instance_id)
            elif row.az:
                hit |= set(launched.loc[launched["az"] == row.az, "instance_id"])
        return hit

    def _describe(self, events: pd.DataFrame) -> str:
        if self.no_tasks:
            return "No tasks were placed in this run: the instances stay empty."
        parts = []
        for row in events.head(_MAX_DESCRIBED).itertuples(index=False):
            where = instance_label(row.instance_id, row.az) if row.instance_id else row.az
            word = "FAULT" if row.entity == "fault" else "action"
            parts.append(f"{word}: {row.to_state} {where}".strip())
        if len(events) > _MAX_DESCRIBED:  # one line stays readable (and cheap to draw)
            parts.append(f"+{len(events) - _MAX_DESCRIBED} more")
        return " | ".join(parts)

    def _draw_box(self, i: int, span, t: float, used: float, flash: bool, touched: bool) -> None:
        box, outline, label = (self.boxes[span.instance_id], self.outlines[span.instance_id],
                               self.labels[span.instance_id])
        visible = span.launched_at_s <= t
        gone = not np.isnan(span.active_until_s) and span.active_until_s <= t
        registering = np.isnan(span.active_from_s) or span.active_from_s > t
        for artist in (box, outline, label):
            artist.set_visible(visible)
        for line in self.crosses[span.instance_id]:
            line.set_visible(visible and gone)
            line.set_color(FAULT_COLOR if span.lost else ACTION_COLOR)
        state = "LOST" if gone and span.lost else "gone" if gone else "registering" if registering else ""
        label.set_text(f"{instance_label(span.instance_id, '' if self.az_rows else span.az)}\n"
                       f"{used:.0f} / {self.capacity[i]:.0f} {self.unit} {state}".rstrip())
        box.set_facecolor(FLASH_COLOR if flash else GONE_COLOR if gone else BOX_COLOR)
        outline.set_edgecolor(FAULT_COLOR if flash else ACTION_COLOR if touched else "#333333")
        outline.set_linewidth(3.5 if flash or touched else 1.5)
        outline.set_linestyle("--" if registering and not gone else "-")

    def _blocks(self, t: float) -> tuple[list[PatchCollection], np.ndarray]:
        """One rectangle per task holding resources at ``t``, stacked per box in placement order.

        Returns the RUNNING blocks and the not-yet-RUNNING ones (pale, hatched) as two
        collections, and the amount reserved on each box.
        """
        a = self._tasks
        held = np.flatnonzero((a["placed"] <= t) & ~(a["released"] <= t))
        held = held[np.argsort(a["box"][held], kind="stable")]
        box, share = a["box"][held], a["share"][held]
        cumulative = np.cumsum(share)
        group_start = np.r_[0, np.flatnonzero(np.diff(box)) + 1] if len(box) else np.array([], dtype=int)
        offset = np.repeat(cumulative[group_start] - share[group_start], np.diff(np.r_[group_start, len(box)]))
        bottoms = self.origins[box, 1] + _BOX_H * (cumulative - share - offset)
        faces = a["color"][held].copy()
        running = a["running"][held] <= t
        faces[~running, 3] = _PENDING_ALPHA
        patches = [Rectangle((x, b), _BOX_W, _BOX_H * h) for x, b, h in zip(self.origins[box, 0], bottoms, share,
                                                                           strict=True)]
        used = np.bincount(box, weights=a["amount"][held], minlength=len(self.spans))
        collections = []
        for mask, hatch in ((running, None), (~running, "///")):
            chosen = [patch for patch, keep in zip(patches, mask, strict=True) if keep]
            collections.append(PatchCollection(chosen, facecolors=faces[mask], edgecolors="white", linewidths=0.8,
                                               hatch=hatch, zorder=2))
        return collections, used


def _prepare(result, *, frames: int, resource: str, max_instances: int) -> tuple[Figure, np.ndarray, Scene | None]:
    """The figure, the frame instants and the scene (None when there is no instance to draw)."""
    resource_columns(resource)
    if result.instances.empty:
        fig = empty_figure(TITLE, "No container instances in this run: there is nothing to animate.")
        return fig, np.array([0.0]), None
    faults = _fault_rows(result.events)
    fault_times = faults.loc[faults["entity"] == "fault", "time_s"].to_numpy(float)
    times = frame_times(result.duration_s, frames, fault_times)
    scene = Scene(result, times, resource=resource, max_instances=max_instances)
    scene.freeze_layout()
    return scene.fig, times, scene


def animate(result, *, frames: int = 60, resource: str = "cpu", interval_ms: int = 200,
            max_instances: int = 30) -> FuncAnimation:
    """The teaching animation of a run (module doc): a FuncAnimation, ``blit=False``.

    ``frames`` evenly spaced instants from 0 to the end of the run, plus one at each fault;
    ``resource`` sizes the task blocks (``"cpu"`` or ``"memory"``); at most
    ``max_instances`` boxes (the earliest launched). The returned animation carries
    ``frame_times_s`` (the frame instants) and ``scene`` (its :class:`Scene`; None for a run
    without instances, whose single frame says so). In a notebook, show it with
    ``anim.to_jshtml()``; save it with :func:`save_animation`.
    """
    fig, times, scene = _prepare(result, frames=frames, resource=resource, max_instances=max_instances)
    draw = scene.draw if scene is not None else (lambda frame: [])
    anim = FuncAnimation(fig, draw, frames=range(len(times)), interval=interval_ms, blit=False,
                         cache_frame_data=False)
    anim.frame_times_s, anim.scene = times, scene
    return anim


def save_animation(result, path: str | Path, *, frames: int = 60, resource: str = "cpu", interval_ms: int = 200,
                   max_instances: int = 30, dpi: float = 80) -> Path:
    """Write the animation of ``result`` as a GIF (Pillow) and return its path.

    The options are those of :func:`animate`; the frame rate follows ``interval_ms``; ``dpi``
    sets the GIF's resolution. Only ``.gif`` paths are accepted, so the file never silently
    depends on ffmpeg.
    """
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"save_animation writes GIF files only (Pillow); {str(path)!r} does not end in .gif")
    fig, times, scene = _prepare(result, frames=frames, resource=resource, max_instances=max_instances)
    writer = PillowWriter(fps=1000.0 / float(interval_ms))
    try:
        # One render per frame (Animation.save would render each frame two or three times).
        with writer.saving(fig, path, dpi=dpi):
            for frame in range(len(times)):
                if scene is not None:
                    scene.draw(frame)
                writer.grab_frame()
    finally:
        plt.close(fig)
    return path
