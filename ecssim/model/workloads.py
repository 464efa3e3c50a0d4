"""Standalone RunTask workloads: Poisson arrivals, a fixed schedule, or a trace file.

Trace format (CSV or Parquet, one row per RunTask call; documented in the README):
``arrival_s`` (seconds since the start), ``duration_s``, ``cpu`` (CPU units), ``memory_mib``,
optional ``count`` (tasks, default 1; calls of more than 10 are split as ECS allows 10 per
RunTask), ``group`` and ``family`` (a task definition family of the scenario).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..scenario.models import PoissonArrivals, ScheduledArrivals, TraceArrivals

#: Columns a trace must have.
TRACE_REQUIRED = ("arrival_s", "duration_s", "cpu", "memory_mib")
#: ECS's limit of tasks per RunTask call.
RUNTASK_MAX_COUNT = 10


class TraceError(ValueError):
    """A trace file is missing a column or holds a bad value."""


def workload_key(workload, position: int) -> str:  # noqa: ANN001
    """The stable name of a workload's random stream: its name, else its position."""
    return workload.name or f"workload[{position}]"


def read_trace(path: Path, time_scale: float = 1.0, limit: int | None = None) -> pd.DataFrame:
    """Read and check a trace file; rows sorted by arrival time."""
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
        if values.isna().any() or (values < 0).any():
            row = int(np.flatnonzero(values.isna().to_numpy() | (values < 0).to_numpy())[0])
            raise TraceError(f"{path}: row {row + 2}, column {column}: expected a number >= 0")
        frame[column] = values
    if "count" not in frame.columns:
        frame["count"] = 1
    frame["arrival_s"] = frame["arrival_s"] * time_scale
    frame["duration_s"] = frame["duration_s"] * time_scale
    return frame.sort_values("arrival_s", kind="stable").reset_index(drop=True)


def install_workloads(world) -> None:  # noqa: ANN001
    """Start one arrival process per workload of the scenario."""
    for position, workload in enumerate(world.scenario.workloads):
        name = workload_key(workload, position)
        rng = world.streams.get("workload", name)
        world.env.process(_arrivals(world, workload, name, rng))


def _arrivals(world, workload, name: str, rng):  # noqa: ANN001
    env, plane = world.env, world.plane
    spec = world.spec_for(workload.task_definition)
    group = workload.group or f"family:{spec.family}"
    strategies = world.strategies_for(workload.placement_strategy, service=False)
    constraints = world.constraints_for(workload.placement_constraints, spec)
    started_by = f"workload:{name}"
    arrivals = workload.arrivals
    if isinstance(arrivals, PoissonArrivals):
        end = arrivals.end if arrivals.end is not None else world.duration
        t = arrivals.start
        mean_gap = 1.0 / arrivals.rate
        while True:
            t += float(rng.exponential(mean_gap))
            if t >= end:
                return
            yield env.timeout(t - env.now)
            durations = workload.duration.sample_n(rng, workload.count)
            plane.run_task(spec, workload.count, group, started_by, strategies, constraints, rng, durations.tolist())
    elif isinstance(arrivals, ScheduledArrivals):
        for at in sorted(arrivals.at):
            yield env.timeout(max(at - env.now, 0.0))
            durations = workload.duration.sample_n(rng, workload.count)
            plane.run_task(spec, workload.count, group, started_by, strategies, constraints, rng, durations.tolist())
    elif isinstance(arrivals, TraceArrivals):
        trace = read_trace(world.resolve_path(arrivals.file), arrivals.time_scale, arrivals.limit)
        has_group = "group" in trace.columns
        has_family = "family" in trace.columns
        specs: dict[tuple, object] = {}
        for row in trace.itertuples(index=False):
            if row.arrival_s >= world.duration:
                return
            yield env.timeout(max(row.arrival_s - env.now, 0.0))
            base = world.spec_for(str(row.family)) if has_family and isinstance(row.family, str) and row.family else spec
            key = (base.key, int(row.cpu), int(round(row.memory_mib)))
            row_spec = specs.get(key)
            if row_spec is None:
                row_spec = base.with_demand(key[1], key[2])
                specs[key] = row_spec
            row_group = str(row.group) if has_group and isinstance(row.group, str) and row.group else (
                group if base is spec else f"family:{base.family}")
            remaining = int(row.count)
            while remaining > 0:
                count = min(remaining, RUNTASK_MAX_COUNT)
                plane.run_task(row_spec, count, row_group, started_by, strategies, constraints, rng,
                               [float(row.duration_s)] * count)
                remaining -= count
