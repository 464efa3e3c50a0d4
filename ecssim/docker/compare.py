"""Real runs against simulated replications: does the calibrated model predict the engine?

A scenario is run for real (:func:`~ecssim.docker.real_run.run_real`) a few times and
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
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..model.task import (
    ESSENTIAL_CONTAINER_EXITED,
    OOM_REASON,
    SERVICE_SCHEDULER_INITIATED,
    TASK_FAILED_TO_START,
    USER_INITIATED,
)
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
#: Wall seconds to let the engine settle before each real run. Removing many containers
#: (a calibration's, the previous run's) leaves the engine busy for a few seconds: lone
#: starts measured right after a 12-sample calibration took ~245 ms, 5 s later ~200 ms, as
#: before it. Without the pause a real run would pay for its predecessor's clean-up. 5 s was
#: not always enough after a 20-sample calibration on a fresh engine: a run's first crashes
#: were replaced 1-2 simulated s (20-40 ms wall) late, outside the prediction, in 1 of 3 runs
#: (and once in CI); with 10 s, 3 of 3 fresh-engine runs had them inside.
SETTLE_S = 10.0
#: The seed offset of simulated replications, so they never reuse a real run's seed.
SIM_SEED_OFFSET = 10_000
#: Stop codes counted per run (``stopped_<code>`` metrics), as ECS names them.
STOP_CODES = (ESSENTIAL_CONTAINER_EXITED, SERVICE_SCHEDULER_INITIATED, USER_INITIATED, TASK_FAILED_TO_START)
#: Metrics compared by default: per-run figures from the tables, then summary metrics.
DEFAULT_METRICS = [
    "task_start_latency_median_s",
    "placements_per_instance_max",
    "oom_kills",
    *(f"stopped_{code}" for code in STOP_CODES),
    "first_replacement_time_mean_s",
    "recovery_time_mean_s",
    "recovery_time_max_s",
    "tasks_created",
    "tasks_stopped",
    "incidents",
    "mean_tasks_running",
    "service_availability_mean",
]
#: Per-fault figures of the recovery table compared incident by incident: each real
#: incident against the simulated incidents of the same fault kind, pooled over replications.
PER_FAULT_METRICS = ["time_to_first_replacement_s", "time_to_desired_s"]
#: Columns of the comparison table, in order (``incident_id``/``fault_kind``: "" for run metrics).
COMPARISON_COLUMNS = ["metric", "real_run", "incident_id", "fault_kind", "real_value", "sim_n", "sim_low",
                      "sim_high", "width", "inside", "note"]


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


def stop_counts(tasks: pd.DataFrame) -> dict[str, float]:
    """Per run: ``oom_kills`` (tasks stopped with ECS's OOM reason) and ``stopped_<code>``,
    the tasks stopped with each of :data:`STOP_CODES`."""
    stopped = tasks[tasks["last_status"] == "STOPPED"]
    counts = {"oom_kills": float((stopped["stopped_reason"] == OOM_REASON).sum())}
    codes = stopped["stop_code"].value_counts()
    counts.update({f"stopped_{code}": float(codes.get(code, 0)) for code in STOP_CODES})
    return counts


def run_metrics(result: Result) -> dict[str, float]:
    """A run's figures to compare: :meth:`Result.summary` plus the per-run table figures."""
    return {
        **result.summary(),
        "task_start_latency_median_s": task_start_latency_median_s(result.tasks),
        "placements_per_instance_max": placements_per_instance_max(result.tasks),
        **stop_counts(result.tasks),
    }


def _float(value: Any) -> float:
    return math.nan if value is None else float(value)


def _row(metric: str, run: int, incident: str, kind: str, value: float, sims: list[float]) -> tuple:
    low, high = prediction_interval(sims)
    sim_n = int(np.count_nonzero(~np.isnan(np.asarray(sims, dtype=float)))) if sims else 0
    note = ""
    if math.isnan(value):
        note = "no real value"
    elif sim_n == 0:
        note = "no simulated values"
    inside = not note and low <= value <= high
    return (metric, run, incident, kind, value, sim_n, low, high, high - low, bool(inside), note)


def comparison_table(real: list[dict], simulated: list[dict], metrics: list[str],
                     real_recovery: list[pd.DataFrame] | None = None,
                     sim_recovery: list[pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per (metric, real run): the real value, the simulated prediction interval,
    its width, and whether the real value lies inside it (bounds included).

    With the recovery tables of both sides, one more row per real incident and each of
    :data:`PER_FAULT_METRICS`: the incident's value against the interval of all simulated
    incidents of the same fault kind. A real value that is NaN or missing, or a metric no
    replication produced, is never inside; the ``note`` column says why.
    """
    rows = []
    for metric in metrics:
        sims = [_float(s.get(metric)) for s in simulated]
        rows += [_row(metric, index, "", "", _float(run.get(metric)), sims) for index, run in enumerate(real)]
    if real_recovery is not None and sim_recovery is not None:
        pooled = pd.concat(sim_recovery, ignore_index=True) if sim_recovery else pd.DataFrame()
        for metric in PER_FAULT_METRICS:
            for index, recovery in enumerate(real_recovery):
                for incident in recovery.itertuples(index=False):
                    kind = incident.kind
                    sims = pooled.loc[pooled["kind"] == kind, metric].tolist() if len(pooled) else []
                    rows.append(_row(metric, index, incident.incident_id, kind, _float(getattr(incident, metric)),
                                     sims))
    table = pd.DataFrame(rows, columns=COMPARISON_COLUMNS)
    return table.astype({"real_run": int, "sim_n": int, "inside": bool})


@dataclass
class Validation:
    """Real runs, simulated replications and their comparison (see :func:`validate`)."""

    real: list[Result]
    simulated: list[Result]
    comparison: pd.DataFrame
    timing: dict  # the scaled timing section the simulations used (simulated seconds)
    calibration_timing: dict = field(default_factory=dict)  # as calibrated (wall seconds)
    factor: float = 1.0  # wall seconds per simulated second of the real runs
    seed: int = 0  # real run k has seed seed + k; simulations seed SIM_SEED_OFFSET + seed
    real_exits: list[pd.DataFrame] = field(default_factory=list)  # per real run, its containers' real exits

    def save(self, folder: str | Path, *, plots: bool = True) -> Path:
        """Write the validation to a new folder (see :func:`~ecssim.docker.output.save_validation`)."""
        from .output import save_validation

        return save_validation(self, folder, plots=plots)


def calibrated_scenario(scenario: Scenario, timing_section: dict, factor: float) -> Scenario:
    """``scenario`` with the calibrated engine latencies, scaled by ``factor``, laid over its
    own timing key by key (the rule of :func:`~ecssim.scenario.loading.with_timing`).

    A calibrated ``containerStartContention`` (a dimensionless slowdown, not scaled) gets
    scope ``cluster``: in the Docker mode every virtual instance starts its containers on
    the same local engine, so all of the run's starts contend with each other.
    """
    from ..scenario import load_scenario_dict

    data = scenario.model_dump(mode="json", by_alias=True, exclude_none=True)
    own = data.get("timing") or {}
    timing = {**own, **scaled_timing(timing_section, factor)}
    if "containerStartContention" in timing_section:  # every virtual instance shares the one local engine
        timing["containerStartContention"] = {**timing_section["containerStartContention"], "scope": "cluster"}
    return load_scenario_dict({**data, "timing": timing})


def validate(scenario: Scenario, *, calibration_timing: dict, factor: float, real_runs: int,
             sim_replications: int, seed: int = 0, client: docker.DockerClient | None = None,
             metrics: list[str] | None = None, progress: Callable[[str], None] | None = None,
             settle_s: float = SETTLE_S, instance_cgroups: bool = False) -> Validation:
    """Run ``scenario`` for real ``real_runs`` times (seeds ``seed``, ``seed + 1``, …) and
    simulate it ``sim_replications`` times with the calibrated timing (replications
    0..N-1 of seed ``10_000 + seed``), then compare them metric by metric.

    ``calibration_timing`` is a calibration's ``timing`` section in wall seconds
    (:meth:`~ecssim.docker.calibrate.Calibration.timing_section`). ``progress(line)``, if
    given, hears of each real run and of the simulations as they finish. Each real run
    waits ``settle_s`` wall seconds first (:data:`SETTLE_S`); ``instance_cgroups``: see
    :func:`~ecssim.docker.agent.run_real`.
    """
    from ..simulation import simulate
    from .real_run import run_real

    if real_runs < 1 or sim_replications < 1:
        raise ValueError("real_runs and sim_replications must be >= 1")
    say = progress if progress is not None else (lambda line: None)
    calibrated = calibrated_scenario(scenario, calibration_timing, factor)
    real, exits = [], []
    for k in range(real_runs):
        time.sleep(settle_s)  # the engine finishes removing earlier containers (calibration, last run)
        started = time.perf_counter()
        run = run_real(scenario, seed + k, factor=factor, client=client, instance_cgroups=instance_cgroups)
        real.append(run.result)
        exits.append(run.exits)
        say(f"real run {k + 1}/{real_runs} (seed {seed + k}): {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    simulated = [simulate(calibrated, SIM_SEED_OFFSET + seed, replication=r) for r in range(sim_replications)]
    say(f"{sim_replications} simulated replications (seed {SIM_SEED_OFFSET + seed}): "
        f"{time.perf_counter() - started:.1f} s")
    table = comparison_table([run_metrics(r) for r in real], [run_metrics(s) for s in simulated],
                             metrics if metrics is not None else DEFAULT_METRICS,
                             [r.recovery for r in real], [s.recovery for s in simulated])
    return Validation(real, simulated, table, calibrated.timing.model_dump(mode="json", by_alias=True),
                      dict(calibration_timing), factor, seed, exits)
