"""Standalone RunTask workloads: Poisson arrivals, a fixed schedule, or a trace file.

The trace format is defined in :mod:`ecssim.scenario.traces`; a row of more than 10 tasks is
split into several RunTask calls, as ECS allows 10 per call.
"""

from __future__ import annotations

import math

from ..scenario.models import PoissonArrivals, ScheduledArrivals, TraceArrivals
from ..scenario.traces import read_trace

#: ECS's limit of tasks per RunTask call.
RUNTASK_MAX_COUNT = 10


def workload_key(workload, position: int) -> str:  # noqa: ANN001
    """The stable name of a workload's random stream: its name, else its position."""
    return workload.name or f"workload[{position}]"


def _durations(workload, rng) -> list[float]:  # noqa: ANN001
    """Run times of the tasks of one RunTask call (forever when the workload gives none)."""
    if workload.duration is None:
        return [math.inf] * workload.count
    return workload.duration.sample_n(rng, workload.count).tolist()


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
    # Placement ties are broken with a stream of their own: a draw that happens or not
    # depending on the cluster's state must not shift the workload's arrivals and durations.
    placement_rng = world.streams.get("placement", started_by)
    providers = (world.provider_items(workload.capacity_provider_strategy, workload.launch_type), world.providers)
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
            plane.run_task(spec, workload.count, group, started_by, strategies, constraints, placement_rng,
                           _durations(workload, rng), providers)
    elif isinstance(arrivals, ScheduledArrivals):
        for at in sorted(arrivals.at):
            yield env.timeout(max(at - env.now, 0.0))
            plane.run_task(spec, workload.count, group, started_by, strategies, constraints, placement_rng,
                           _durations(workload, rng), providers)
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
                plane.run_task(row_spec, count, row_group, started_by, strategies, constraints, placement_rng,
                               [float(row.duration_s)] * count, providers)
                remaining -= count
