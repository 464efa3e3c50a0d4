"""Figures of one run: capacity, tasks, placements, utilisation, recovery, availability, scaling, demand.

Every function takes a :class:`~ecssim.analysis.result.Result` and returns a matplotlib
Figure (never shows it); ``result.plot`` offers the same figures as methods.
:func:`standard_figures` builds the standard set and :func:`save_plots` writes it to a
folder, one file per figure; both leave out the figures whose data the run lacks
(:data:`OPTIONAL_FIGURES`: ``scaling`` without capacity providers, ``demand`` without demand
curves), see :func:`figure_names`. Importing this package imports matplotlib's pyplot, so
``ecssim`` imports it only on first use (``Result.plot``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib.pyplot as plt
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from ecssim.analysis.plots.accessor import ResultPlots
from ecssim.analysis.plots.animation import animate, save_animation
from ecssim.analysis.plots.capacity import capacity
from ecssim.analysis.plots.recovery import availability, recovery
from ecssim.analysis.plots.scaling import demand, provider_names, scaling
from ecssim.analysis.plots.tasks import tasks
from ecssim.analysis.plots.timeline import gantt
from ecssim.analysis.plots.utilisation import fragmentation, heatmap

if TYPE_CHECKING:
    from ecssim.analysis.result import Result

#: The standard figures in order: name -> plot function (called with its default options).
_STANDARD: dict[str, Callable[[Result], Figure]] = {
    "capacity": capacity,
    "tasks": tasks,
    "gantt": gantt,
    "heatmap": heatmap,
    "fragmentation": fragmentation,
    "recovery": recovery,
    "availability": availability,
    "scaling": scaling,
    "demand": demand,
}
#: Names of the standard figures, in order (also their file names in :func:`save_plots`).
STANDARD_FIGURES: tuple[str, ...] = tuple(_STANDARD)
#: Figures drawn only when the run has their data: name -> test on the result. Called directly
#: (``result.plot.scaling()``) they say instead that the run has nothing to show.
OPTIONAL_FIGURES: dict[str, Callable[[Result], bool]] = {
    "scaling": lambda result: bool(provider_names(result.capacity)),
    "demand": lambda result: not result.demand.empty,
}
#: Resolution of saved raster figures (dots per inch).
SAVE_DPI = 110
ANIMATION_FILE = "animation.gif"


def plot_function(name: str) -> Callable[..., Figure]:
    """The plot function of a standard figure, by name (see :data:`STANDARD_FIGURES`)."""
    if name not in _STANDARD:
        raise ValueError(f"no standard figure {name!r}; choose one of {', '.join(STANDARD_FIGURES)}")
    return _STANDARD[name]


def figure_names(result: Result) -> list[str]:
    """The standard figures that apply to ``result``, in :data:`STANDARD_FIGURES` order: all of
    them but the :data:`OPTIONAL_FIGURES` whose data the run lacks."""
    return [name for name in STANDARD_FIGURES if name not in OPTIONAL_FIGURES or OPTIONAL_FIGURES[name](result)]


def standard_figures(result: Result) -> dict[str, Figure]:
    """The standard figures of ``result`` by name (those of :func:`figure_names`, in order).

    Each is a new open Figure, made with the plot's default options; close them
    (``plt.close(fig)``) when done.
    """
    return {name: plot_function(name)(result) for name in figure_names(result)}


def _check_format(fmt: str) -> None:
    supported = FigureCanvasBase.get_supported_filetypes()
    if fmt not in supported:
        raise ValueError(f"unsupported figure format {fmt!r}; choose one of {', '.join(sorted(supported))}")


def save_plots(result: Result, folder: str | Path, *, fmt: str = "png", animation: bool = False) -> list[Path]:
    """Write each standard figure of :func:`figure_names` to ``folder/<name>.<fmt>`` (and
    ``animation.gif`` if asked).

    Figures are built, saved and closed one at a time. Returns the paths written, in order.
    """
    out = Path(folder)
    _check_format(fmt)
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    for name in figure_names(result):
        fig = plot_function(name)(result)
        try:
            path = out / f"{name}.{fmt}"
            fig.savefig(path, dpi=SAVE_DPI, bbox_inches="tight")
        finally:
            plt.close(fig)
        paths.append(path)
    if animation:
        paths.append(Path(save_animation(result, out / ANIMATION_FILE)))
    return paths


__all__ = [
    "ANIMATION_FILE",
    "OPTIONAL_FIGURES",
    "SAVE_DPI",
    "STANDARD_FIGURES",
    "ResultPlots",
    "animate",
    "availability",
    "capacity",
    "demand",
    "figure_names",
    "fragmentation",
    "gantt",
    "heatmap",
    "plot_function",
    "recovery",
    "save_animation",
    "save_plots",
    "scaling",
    "standard_figures",
    "tasks",
]
