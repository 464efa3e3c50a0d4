"""Real runs against simulated replications: does the calibrated model predict the engine?

A scenario is run for real (:func:`~ecssim.docker.agent.run_with_docker`) a few times and
simulated many times with the calibrated engine latencies laid over its own timing. Each
real run's metric is then checked against the simulated **prediction interval** (the
2.5–97.5 percentiles over replications): :func:`comparison_table` says, per metric and real
run, whether the real value falls inside, and how wide the interval is (a check that can
fail only if the interval is narrow enough).

Calibrated latencies are seconds of wall time, but a real run at ``factor`` records
simulated seconds (wall seconds / ``factor``): :func:`scaled_timing` converts them, so the
simulation predicts what the real run records. Real runs and simulations use different
seeds (simulations take seed ``10_000 + seed``), and calibration samples are never reused
here: the caller measures them on separate containers.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..units import parse_duration

if TYPE_CHECKING:  # pragma: no cover
    import docker

    from ..analysis import Result
    from ..scenario.models import Scenario

#: The timing entries a calibration measures on the engine (wall seconds).
ENGINE_LATENCIES = ("containerStart", "containerStop")
#: Fields of each distribution type that are durations (scaled); others (sigma, shape) are not.
_DURATION_FIELDS = {
    "constant": ("value",),
    "uniform": ("low", "high"),
    "exponential": ("mean",),
    "lognormal": ("median", "mean"),
    "weibull": ("scale",),
}
#: The seed offset of simulated replications, so they never reuse a real run's seed.
SIM_SEED_OFFSET = 10_000
#: Metrics compared by default: per-run figures from the tables, then summary metrics.
DEFAULT_METRICS = [
    "task_start_latency_median_s",
    "placements_per_instance_max",
    "first_replacement_time_mean_s",
    "recovery_time_mean_s",
    "recovery_time_max_s",
    "tasks_created",
    "tasks_stopped",
    "incidents",
    "mean_tasks_running",
    "service_availability_mean",
]
#: Columns of the comparison table, in order.
COMPARISON_COLUMNS = ["metric", "real_run", "real_value", "sim_n", "sim_low", "sim_high", "width",
                      "inside", "note"]


def _scale_distribution(dist: Any, factor: float) -> Any:
    """One timing distribution (a plain duration or a tagged object) divided by ``factor``."""
    if not isinstance(dist, dict):
        return parse_duration(dist) / factor
    fields = _DURATION_FIELDS.get(dist.get("type"))
    if fields is None:
        raise ValueError(f"unknown distribution type {dist.get('type')!r}; expected one of {sorted(_DURATION_FIELDS)}")
    return {key: parse_duration(value) / factor if key in fields and value is not None else value
            for key, value in dist.items()}


def scaled_timing(timing_section: dict, factor: float) -> dict:
    """The engine latencies of a calibrated ``timing`` section in simulated seconds.

    Every duration of the ``containerStart``/``containerStop`` distributions is divided by
    ``factor`` (wall seconds per simulated second): a real 0.137 s start at factor 0.02 is
    6.85 simulated seconds. Shape parameters (lognormal ``sigma``, Weibull ``shape``) and
    any other entries are kept as they are.
    """
    if factor <= 0:
        raise ValueError(f"factor must be > 0, got {factor}")
    return {name: _scale_distribution(dist, factor) if name in ENGINE_LATENCIES else dist
            for name, dist in timing_section.items()}


def prediction_interval(values: Iterable[float], level: float = 0.95) -> tuple[float, float]:
    """The central ``level`` interval of ``values`` (2.5–97.5 percentiles at 0.95).

    NaN values (a metric a replication did not produce) are left out; with none left the
    interval is (NaN, NaN).
    """
    array = np.asarray(list(values), dtype=float)
    array = array[~np.isnan(array)]
    if array.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2 * 100
    low, high = np.percentile(array, [tail, 100 - tail])
    return float(low), float(high)


def task_start_latency_median_s(tasks: pd.DataFrame) -> float:
    """Median over started tasks of ``started_at_s - created_at_s`` (simulated seconds).

    Warm-started tasks are left out: their states are recorded at once, so their latency is
    zero by construction in both the simulation and the real run.
    """
    started = tasks[tasks["started_at_s"].notna() & (tasks["started_by"] != "warmStart")]
    latency = started["started_at_s"] - started["created_at_s"]
    return float(latency.median()) if len(latency) else math.nan


def placements_per_instance_max(tasks: pd.DataFrame) -> float:
    """The most tasks created on one instance over the run (NaN when no task was placed)."""
    placed = tasks["instance_id"].dropna()
    placed = placed[placed != ""]
    return float(placed.value_counts().max()) if len(placed) else math.nan


def run_metrics(result: Result) -> dict[str, float]:
    """A run's figures to compare: :meth:`Result.summary` plus the two per-run table figures."""
    return {
        **result.summary(),
        "task_start_latency_median_s": task_start_latency_median_s(result.tasks),
        "placements_per_instance_max": placements_per_instance_max(result.tasks),
    }


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def comparison_table(real: list[dict], simulated: list[dict], metrics: list[str]) -> pd.DataFrame:
    """One row per (metric, real run): the real value, the simulated prediction interval,
    its width, and whether the real value lies inside it (bounds included).

    A real value that is NaN or missing, or a metric no replication produced, is never
    inside; the ``note`` column says why.
    """
    rows = []
    for metric in metrics:
        sims = [_float(s.get(metric)) for s in simulated]
        low, high = prediction_interval(sims)
        sim_n = int(np.count_nonzero(~np.isnan(np.asarray(sims, dtype=float)))) if sims else 0
        for index, run in enumerate(real):
            value = _float(run.get(metric))
            note = ""
            if math.isnan(value):
                note = "no real value"
            elif sim_n == 0:
                note = "no simulated values"
            inside = not note and low <= value <= high
            rows.append((metric, index, value, sim_n, low, high, high - low, bool(inside), note))
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    return table.astype({"real_run": int, "sim_n": int, "inside": bool})


@dataclass
class Validation:
    """Real runs, simulated replications and their comparison (see :func:`validate`)."""

    real: list[Result]
    simulated: list[Result]
    comparison: pd.DataFrame
    timing: dict  # the scaled timing section the simulations used (simulated seconds)


def calibrated_scenario(scenario: Scenario, timing_section: dict, factor: float) -> Scenario:
    """``scenario`` with the calibrated engine latencies, scaled by ``factor``, laid over its
    own timing key by key (the rule of :func:`~ecssim.scenario.loading.with_timing`)."""
    from ..scenario import load_scenario_dict

    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    own = data.get("timing") or {}
    return load_scenario_dict({**data, "timing": {**own, **scaled_timing(timing_section, factor)}})


def validate(scenario: Scenario, *, calibration_timing: dict, factor: float, real_runs: int,
             sim_replications: int, seed: int = 0, client: docker.DockerClient | None = None,
             metrics: list[str] | None = None) -> Validation:
    """Run ``scenario`` for real ``real_runs`` times (seeds ``seed``, ``seed + 1``, …) and
    simulate it ``sim_replications`` times with the calibrated timing (replications
    0..N-1 of seed ``10_000 + seed``), then compare them metric by metric.

    ``calibration_timing`` is a calibration's ``timing`` section in wall seconds
    (:meth:`~ecssim.docker.calibrate.Calibration.timing_section`).
    """
    from ..simulation import simulate
    from .agent import run_with_docker

    if real_runs < 1 or sim_replications < 1:
        raise ValueError("real_runs and sim_replications must be >= 1")
    calibrated = calibrated_scenario(scenario, calibration_timing, factor)
    real = [run_with_docker(scenario, seed + k, factor=factor, client=client) for k in range(real_runs)]
    simulated = [simulate(calibrated, SIM_SEED_OFFSET + seed, replication=r) for r in range(sim_replications)]
    table = comparison_table([run_metrics(r) for r in real], [run_metrics(s) for s in simulated],
                             metrics if metrics is not None else DEFAULT_METRICS)
    return Validation(real, simulated, table, calibrated.timing.model_dump(mode="json", by_alias=True))
