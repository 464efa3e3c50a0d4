"""The trace format of RunTask workloads, defined once (README "Trace format").

CSV or Parquet, one row per RunTask call: ``arrival_s`` (seconds since the start),
``duration_s``, ``cpu`` (CPU units), ``memory_mib``, optional ``count`` (tasks, default 1),
``group`` (task group) and ``family`` (a task definition family of the scenario).
A trace is read and checked when the scenario is loaded, so a bad one is refused before
the run starts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

#: Columns a trace must have.
TRACE_REQUIRED = ("arrival_s", "duration_s", "cpu", "memory_mib")


class TraceError(ValueError):
    """A trace file is missing a column or holds a bad value."""


def read_trace(path: Path, time_scale: float = 1.0, limit: int | None = None) -> pd.DataFrame:
    """Read and check a trace file; rows sorted by arrival time. Raises :class:`TraceError`."""
    try:
        return _read(Path(path), time_scale, limit)
    except TraceError:
        raise
    except (OSError, ValueError, ImportError) as error:
        raise TraceError(f"{path}: cannot read the trace: {error}") from error


def _read(path: Path, time_scale: float, limit: int | None) -> pd.DataFrame:
    if path.suffix.lower() in (".parquet", ".pq"):
        frame = pd.read_parquet(path)
    else:
        frame = pd.read_csv(path)
    missing = [c for c in TRACE_REQUIRED if c not in frame.columns]
    if missing:
        raise TraceError(f"{path}: trace lacks column(s) {', '.join(missing)}; expected {', '.join(TRACE_REQUIRED)}")
    if limit is not None:
        frame = frame.head(limit)
    for column in TRACE_REQUIRED:
        values = pd.to_numeric(frame[column], errors="coerce")
        bad = (values.isna() | (values < 0) | ~np.isfinite(values)).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise TraceError(f"{path}: row {row + 2}, column {column}: expected a finite number >= 0, "
                             f"got {str(frame[column].iloc[row])!r}")
        frame[column] = values
    if "count" not in frame.columns:
        frame["count"] = 1
    counts = pd.to_numeric(frame["count"], errors="coerce")
    if counts.isna().any() or (counts < 1).any() or (counts != counts.round()).any():
        row = int(np.flatnonzero((counts.isna() | (counts < 1) | (counts != counts.round())).to_numpy())[0])
        raise TraceError(f"{path}: row {row + 2}, column count: expected a whole number >= 1")
    frame["count"] = counts.astype("int64")
    frame["arrival_s"] = frame["arrival_s"] * time_scale
    frame["duration_s"] = frame["duration_s"] * time_scale
    return frame.sort_values("arrival_s", kind="stable").reset_index(drop=True)
