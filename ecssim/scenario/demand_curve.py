"""Demand curves as pure functions of time: the value at t, the mean over [a, b], the breakpoints.

Shared by the runtime (Service Auto Scaling's one-minute datapoints average the curve) and
the analysis. Piecewise and CSV curves are points joined linearly or held as steps (each
value holds until the next point), constant before the first point and after the last; a
diurnal curve is ``low + (high - low) (1 + cos(2 pi (t - peakAt) / period)) / 2``. Means are
exact integrals, not samples.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .autoscaling_models import CsvCurve, DiurnalCurve, PiecewiseCurve


class DemandFileError(ValueError):
    """A CSV demand file is missing, lacks a column or holds a bad value."""


class PointsCurve:
    """Points joined linearly (``linear``) or held until the next point (``step``)."""

    def __init__(self, times: np.ndarray, values: np.ndarray, interpolation: str = "linear") -> None:
        self.times = np.asarray(times, dtype=float)
        self.values = np.asarray(values, dtype=float)
        self.step = interpolation == "step"
        widths = np.diff(self.times)
        areas = widths * (self.values[:-1] if self.step else (self.values[:-1] + self.values[1:]) / 2)
        self._area = np.concatenate(([0.0], np.cumsum(areas)))  # integral from times[0] to times[i]

    def value(self, t: float) -> float:
        """Demand at ``t`` (right-continuous for steps)."""
        times, values = self.times, self.values
        if self.step:
            i = int(np.searchsorted(times, t, side="right")) - 1
            return float(values[max(i, 0)])
        return float(np.interp(t, times, values))

    def _integral(self, x: float) -> float:
        """Integral of the curve from ``times[0]`` to ``x`` (negative before it)."""
        times, values = self.times, self.values
        if x <= times[0]:
            return (x - times[0]) * float(values[0])
        i = int(np.searchsorted(times, x, side="right")) - 1
        if i >= len(times) - 1:
            return float(self._area[-1]) + (x - times[-1]) * float(values[-1])
        start = float(values[i]) if self.step else (float(values[i]) + self.value(x)) / 2
        return float(self._area[i]) + (x - times[i]) * start

    def mean(self, a: float, b: float) -> float:
        """Mean demand over [a, b] (the value at ``a`` when b == a)."""
        if b <= a:
            return self.value(a)
        return (self._integral(b) - self._integral(a)) / (b - a)

    def breakpoints(self) -> np.ndarray:
        """The instants where the curve changes slope or jumps: its points' times."""
        return self.times


class DiurnalDemand:
    """A cosine between ``low`` and ``high`` peaking at ``peak_at`` every ``period`` seconds."""

    def __init__(self, low: float, high: float, peak_at: float, period: float) -> None:
        self.low, self.high, self.peak_at, self.period = float(low), float(high), float(peak_at), float(period)

    def value(self, t: float) -> float:
        phase = 2 * math.pi * (t - self.peak_at) / self.period
        return self.low + (self.high - self.low) * (1 + math.cos(phase)) / 2

    def _integral(self, x: float) -> float:
        phase = 2 * math.pi * (x - self.peak_at) / self.period
        return self.low * x + (self.high - self.low) / 2 * (x + self.period / (2 * math.pi) * math.sin(phase))

    def mean(self, a: float, b: float) -> float:
        if b <= a:
            return self.value(a)
        return (self._integral(b) - self._integral(a)) / (b - a)

    def breakpoints(self) -> np.ndarray:
        """None: a smooth curve is sampled at the evaluation periods only."""
        return np.empty(0)


DemandCurve = PointsCurve | DiurnalDemand


def read_demand_csv(path: Path, model: CsvCurve) -> PointsCurve:
    """The curve of a CSV demand file; raises :class:`DemandFileError` naming the file and column."""
    path = Path(path)
    if not path.is_file():
        raise DemandFileError(f"demand file not found: {path}")
    try:
        frame = pd.read_csv(path)
    except (OSError, ValueError) as error:
        raise DemandFileError(f"{path}: cannot read the demand file: {error}") from error
    for column in (model.time_column, model.value_column):
        if column not in frame.columns:
            raise DemandFileError(f"{path}: no column {column!r}; its columns: {', '.join(map(str, frame.columns))}")
    if frame.empty:
        raise DemandFileError(f"{path}: the demand file has no rows")
    times = pd.to_numeric(frame[model.time_column], errors="coerce").to_numpy(dtype=float) * model.time_scale
    values = pd.to_numeric(frame[model.value_column], errors="coerce").to_numpy(dtype=float)
    for column, data in ((model.time_column, times), (model.value_column, values)):
        bad = np.flatnonzero(np.isnan(data) | (data < 0))
        if len(bad):
            raise DemandFileError(f"{path}: row {int(bad[0]) + 2}, column {column}: expected a number >= 0")
    later = np.flatnonzero(np.diff(times) <= 0)
    if len(later):
        raise DemandFileError(f"{path}: row {int(later[0]) + 3}, column {model.time_column}: times must strictly "
                              "increase")
    return PointsCurve(times, values, model.interpolation)


def build_curve(model: PiecewiseCurve | DiurnalCurve | CsvCurve, resolve=Path) -> DemandCurve:  # noqa: ANN001
    """The evaluator of a scenario curve; ``resolve`` makes a CSV file's path absolute."""
    if isinstance(model, PiecewiseCurve):
        times, values = zip(*model.points, strict=True)
        return PointsCurve(np.array(times), np.array(values), model.interpolation)
    if isinstance(model, DiurnalCurve):
        return DiurnalDemand(model.low, model.high, model.peak_at, model.period)
    return read_demand_csv(resolve(model.file), model)
