"""``result.plot``: every figure of one run as a method of the run's result.

``Result.plot`` builds a :class:`ResultPlots` on demand (importing this module then), so
``import ecssim`` never loads matplotlib's pyplot. Each method forwards to the plot function
of the same name in :mod:`ecssim.analysis.plots`, imported when first called.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation
    from matplotlib.figure import Figure

    from ecssim.analysis.result import Result


class ResultPlots:
    """The figures of one :class:`~ecssim.analysis.result.Result`; each method returns a Figure.

    >>> result.plot.capacity(by="cluster")          # doctest: +SKIP
    >>> result.plot.all()["recovery"]               # doctest: +SKIP
    """

    __slots__ = ("_result",)

    def __init__(self, result: Result) -> None:
        self._result = result

    def __repr__(self) -> str:
        return ("<ResultPlots: capacity, tasks, gantt, heatmap, fragmentation, recovery, availability, "
                "scaling, demand, animation, save_animation, all>")

    def capacity(self, *, by: str = "az", resources: Sequence[str] = ("cpu", "memory")) -> Figure:
        """Registered vs reserved CPU and memory over time (:func:`~ecssim.analysis.plots.capacity.capacity`)."""
        from ecssim.analysis.plots.capacity import capacity

        return capacity(self._result, by=by, resources=resources)

    def tasks(self, *, services: Sequence[str] | None = None) -> Figure:
        """Each service's tasks by state against its desired count (:func:`~ecssim.analysis.plots.tasks.tasks`)."""
        from ecssim.analysis.plots.tasks import tasks

        return tasks(self._result, services=services)

    def gantt(self, *, max_instances: int = 30) -> Figure:
        """Which task ran on which instance when (``ecssim.analysis.plots.timeline.gantt``)."""
        from ecssim.analysis.plots.timeline import gantt

        return gantt(self._result, max_instances=max_instances)

    def heatmap(self, *, resource: str = "cpu", every: str | float | None = None) -> Figure:
        """Reservation per instance over time (``ecssim.analysis.plots.utilisation.heatmap``)."""
        from ecssim.analysis.plots.utilisation import heatmap

        return heatmap(self._result, resource=resource, every=every)

    def fragmentation(self, *, at: float | None = None) -> Figure:
        """Free capacity per instance at one instant (``ecssim.analysis.plots.utilisation.fragmentation``)."""
        from ecssim.analysis.plots.utilisation import fragmentation

        return fragmentation(self._result, at=at)

    def recovery(self) -> Figure:
        """CDF of time to recover per fault kind (:func:`~ecssim.analysis.plots.recovery.recovery`)."""
        from ecssim.analysis.plots.recovery import recovery

        return recovery(self._result)

    def availability(self) -> Figure:
        """Per-service availability bars (:func:`~ecssim.analysis.plots.recovery.availability`)."""
        from ecssim.analysis.plots.recovery import availability

        return availability(self._result)

    def scaling(self, *, providers: Sequence[str] | None = None) -> Figure:
        """Cluster auto scaling per capacity provider (:func:`~ecssim.analysis.plots.scaling.scaling`)."""
        from ecssim.analysis.plots.scaling import scaling

        return scaling(self._result, providers=providers)

    def demand(self, *, services: Sequence[str] | None = None) -> Figure:
        """Each service's demand against its capacity (:func:`~ecssim.analysis.plots.scaling.demand`)."""
        from ecssim.analysis.plots.scaling import demand

        return demand(self._result, services=services)

    def animation(self, **options: Any) -> FuncAnimation:
        """The cluster's placements as an animation (``ecssim.analysis.plots.animation.animate``).

        In a notebook, show it with ``IPython.display.HTML(anim.to_jshtml())``.
        """
        from ecssim.analysis.plots.animation import animate

        return animate(self._result, **options)

    def save_animation(self, path: str | Path, **options: Any) -> Path:
        """Write the animation as a GIF (``ecssim.analysis.plots.animation.save_animation``)."""
        from ecssim.analysis.plots.animation import save_animation

        return save_animation(self._result, path, **options)

    def all(self) -> dict[str, Figure]:
        """Every standard figure that applies to the run, by name (:func:`ecssim.analysis.plots.standard_figures`)."""
        from ecssim.analysis.plots import standard_figures

        return standard_figures(self._result)
