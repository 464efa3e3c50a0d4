"""One run of an experiment, as a worker executes it: compact in, compact out.

A :class:`RunSpec` carries the point's scenario as a plain mapping (cheap to pickle and to
send to a Dask worker); :func:`execute` simulates it and returns a :class:`RunRecord` with
the run's summary only. Full tables, when asked for, are written by the worker itself into
``<out>/runs/p<point>-r<replication>/`` (the core's atomic result folders), so no table
crosses a process boundary. An exception inside a run becomes a failed record (its error
and traceback), never a crash of the sweep.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Scenarios already validated in this worker process, by the hash of their mapping.
_SCENARIOS: dict[str, Any] = {}
_CACHE_SIZE = 64


@dataclass(frozen=True)
class RunSpec:
    """Everything a worker needs for run (point, replication)."""

    point: int
    replication: int
    seed: int
    scenario_data: dict[str, Any]
    scenario_source: str
    base_dir: str
    tables_dir: str | None = None  # write the full tables under this folder's runs/
    table_format: str = "csv"
    check_invariants: bool = False  # check the run's invariants after every step (see ecssim.model.invariants)

    @property
    def key(self) -> tuple[int, int]:
        return (self.point, self.replication)


@dataclass
class RunRecord:
    """What a worker sends back: the run's summary, or its error."""

    point: int
    replication: int
    status: str  # "ok" or "failed"
    summary: dict[str, float | int] = field(default_factory=dict)
    error: str = ""
    traceback: str = ""
    wall_s: float = 0.0

    @property
    def key(self) -> tuple[int, int]:
        return (self.point, self.replication)

    def to_json(self) -> dict[str, Any]:
        return {
            "point": self.point, "replication": self.replication, "status": self.status,
            "summary": self.summary, "error": self.error, "traceback": self.traceback,
            "wall_s": round(self.wall_s, 4),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunRecord:
        summary = {k: (float("nan") if v is None else v) for k, v in (data.get("summary") or {}).items()}
        return cls(int(data["point"]), int(data["replication"]), str(data["status"]), summary,
                   str(data.get("error", "")), str(data.get("traceback", "")), float(data.get("wall_s", 0.0)))


def run_folder_name(point: int, replication: int) -> str:
    """The folder of run (point, replication) under a sweep's ``runs/``."""
    return f"p{point:04d}-r{replication:04d}"


def _scenario(spec: RunSpec):  # noqa: ANN202 - a Scenario; imported lazily for light workers
    from ecssim.scenario import load_scenario_dict

    digest = hashlib.sha256(
        json.dumps([spec.scenario_data, spec.base_dir], sort_keys=True, default=str).encode("utf-8")
    ).hexdigest()
    scenario = _SCENARIOS.get(digest)
    if scenario is None:
        scenario = load_scenario_dict(spec.scenario_data, spec.scenario_source, spec.base_dir)
        if len(_SCENARIOS) >= _CACHE_SIZE:
            _SCENARIOS.pop(next(iter(_SCENARIOS)))
        _SCENARIOS[digest] = scenario
    return scenario


def simulate_run(spec: RunSpec):  # noqa: ANN201 - an ecssim.Result
    """The full result of run ``spec`` (what ``ecssim run --experiment`` shows)."""
    from ecssim.simulation import simulate

    return simulate(_scenario(spec), seed=spec.seed, replication=spec.replication,
                    check_invariants=spec.check_invariants)


def execute(spec: RunSpec) -> RunRecord:
    """Simulate one run and return its summary; never raises for a failure inside the run."""
    started = time.perf_counter()
    try:
        result = simulate_run(spec)
        summary = result.summary()
        if spec.tables_dir is not None:
            folder = Path(spec.tables_dir) / "runs" / run_folder_name(spec.point, spec.replication)
            result.save(folder, format=spec.table_format, force=True)
    except Exception as error:  # recorded with the run, reported at the end of the sweep
        return RunRecord(spec.point, spec.replication, "failed", error=f"{type(error).__name__}: {error}",
                         traceback=traceback.format_exc(), wall_s=time.perf_counter() - started)
    return RunRecord(spec.point, spec.replication, "ok", summary, wall_s=time.perf_counter() - started)
