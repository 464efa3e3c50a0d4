"""Running sums and step-level windows for the online summary (:mod:`ecssim.analysis.online`).

The online summary adds the same terms as :func:`~ecssim.analysis.summary.summarize`, but as
they arrive: Neumaier's compensated sums keep that within an ulp or so of numpy's pairwise
sums, and the windows integrate step levels over ``[start, end]`` change by change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ecssim.analysis.summary import MTTR_STATISTICS

NAN = math.nan


class CompensatedSum:
    """Neumaier's compensated running sum (one ulp or so, whatever the number of terms)."""

    __slots__ = ("total", "error")

    def __init__(self) -> None:
        self.total = 0.0
        self.error = 0.0

    def add(self, x: float) -> None:
        t = self.total + x
        if abs(self.total) >= abs(x):
            self.error += (self.total - t) + x
        else:
            self.error += (x - t) + self.total
        self.total = t

    def value(self) -> float:
        return self.total + self.error


def add_compensated(pair: list[float], x: float) -> None:
    """Neumaier's step on a flat [total, error] pair (what :class:`CompensatedSum` does, without an object)."""
    total = pair[0]
    t = total + x
    pair[1] += (total - t) + x if abs(total) >= abs(x) else (x - t) + total
    pair[0] = t


class _Window:
    """Step levels over ``[start, end]``: a change closes the segment since the last one
    (subclasses say what a segment adds, in ``_segment``); changes before ``start`` only set
    the level in force, changes after ``end`` are past the window."""

    __slots__ = ()

    def change(self, time_s: float, values: tuple[float, ...]) -> None:
        if time_s <= self.start:
            self.values = values
        elif time_s <= self.end:
            self._segment(time_s - self.since)
            self.values, self.since = values, time_s

    def _segment(self, weight: float) -> None:
        raise NotImplementedError


class StepWindow(_Window):
    """Time-weighted means and peaks of step levels over ``[start, end]``, fed change by change.

    Same rules as :func:`~ecssim.analysis.steps.segments`, ``level`` and ``weighted_mean``:
    a level holds from its change until the next; the level in force at ``start`` opens the
    window (``before`` until the first change); NaN levels and zero-width segments do not
    weigh; the peak looks at every segment's level.
    """

    __slots__ = ("start", "end", "values", "since", "sums", "weight", "extra", "peaks", "closed")

    def __init__(self, start: float, end: float, before: tuple[float, ...]) -> None:
        self.start, self.end = start, end
        self.values = before
        self.since = start
        # Neumaier sums [total, error]: per level of level x width; of the widths of the segments
        # where no level is NaN (shared); per level, of the other widths where it is not NaN
        self.sums = [[0.0, 0.0] for _ in before]
        self.weight = [0.0, 0.0]
        self.extra = [[0.0, 0.0] for _ in before]
        self.peaks = [NAN] * len(before)
        self.closed = False

    def _segment(self, weight: float) -> None:
        peaks, sums = self.peaks, self.sums
        complete = True
        for k, v in enumerate(self.values):
            if v != v:  # NaN: no registered capacity, neither weighs nor peaks
                complete = False
                continue
            if not v <= peaks[k]:  # also when the peak is still NaN
                peaks[k] = v
            if weight > 0:
                add_compensated(sums[k], v * weight)
        if weight > 0:
            if complete:
                add_compensated(self.weight, weight)
            else:
                for k, v in enumerate(self.values):
                    if v == v:
                        add_compensated(self.extra[k], weight)

    def finish(self) -> None:
        """Close the last segment at ``end`` (once)."""
        if not self.closed:
            self._segment(self.end - self.since)
            self.closed = True

    def mean(self, k: int) -> float:
        total = (self.weight[0] + self.weight[1]) + (self.extra[k][0] + self.extra[k][1])
        return (self.sums[k][0] + self.sums[k][1]) / total if total > 0 else NAN


def mttr_statistics(times: Sequence[float] | np.ndarray) -> list[float]:
    """Mean, p50, p95 and p99 as ``summarize`` computes them (NaN without a time)."""
    if len(times) == 0:
        return [NAN] * len(MTTR_STATISTICS)
    values = np.array(times, dtype=float)
    return [float(values.mean()), *(float(v) for v in np.percentile(values, [50, 95, 99]))]


class DemandWindow(_Window):
    """One (service, resource) series of the ``demand`` table over ``[start, end]``: the
    integrals of demand and unserved and the longest stretch with unserved > 0, as
    :func:`~ecssim.analysis.demand.demand_metrics` computes them (0 before the first row)."""

    __slots__ = ("start", "end", "demand", "emitted", "values", "since", "offered", "unserved",
                 "current", "longest")

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.demand: float | None = None  # the last demand row's value (None before the first)
        self.emitted: tuple | None = None  # the last (demand, running, capacity) step
        self.values = (0.0, 0.0)  # (demand, unserved) in force
        self.since = start
        self.offered, self.unserved = CompensatedSum(), CompensatedSum()
        self.current = self.longest = 0.0

    def _segment(self, weight: float) -> None:
        demand, unserved = self.values
        self.offered.add(demand * weight)
        self.unserved.add(unserved * weight)
        self.current = self.current + weight if unserved > 0 else 0.0
        self.longest = max(self.longest, self.current)

    def finish(self) -> None:
        self._segment(self.end - self.since)
