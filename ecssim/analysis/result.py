"""The result of one run: its tables, what produced them, and saving/loading them as a folder.

``build_result`` turns a finished run's :class:`~ecssim.model.eventlog.EventLog` into a
:class:`Result`; ``Result.save`` writes one file per table plus ``summary.json``,
``scenario.json`` (the resolved scenario) and ``provenance.json`` (seed, replication,
window, library versions; no wall-clock time, so identical runs give identical folders);
``load_result`` reads such a folder back into equal DataFrames.
"""

from __future__ import annotations

import importlib.metadata
import json
import math
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ecssim.analysis import output
from ecssim.analysis.availability import availability_table
from ecssim.analysis.capacity import capacity_table, resample_capacity, service_counts
from ecssim.analysis.cost import cost_table
from ecssim.analysis.demand import demand_table
from ecssim.analysis.deployments import deployments_table
from ecssim.analysis.recovery import recovery_table
from ecssim.analysis.schema import TABLE_NAMES, add_timestamps, parse_start_time
from ecssim.analysis.summary import summarize
from ecssim.analysis.tables import (
    events_and_codes,
    instances_table,
    placement_failures_table,
    service_events_table,
    services_table,
    tasks_table,
)
from ecssim.gc_tuning import fewer_collections
from ecssim.model.eventlog import EventLog

SUMMARY_FILE = "summary.json"
SCENARIO_FILE = "scenario.json"


def _version(distribution: str, fallback: str = "unknown") -> str:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return fallback


def library_versions() -> dict[str, str]:
    """Versions of ecssim and the libraries that decide its output (for provenance)."""
    return {
        "ecssim_version": _version("ecssim"),
        "python_version": platform.python_version(),
        "numpy_version": _version("numpy"),
        "pandas_version": _version("pandas"),
        "simpy_version": _version("simpy"),
        "pyarrow_version": _version("pyarrow", ""),
    }


class Result:
    """The tables of one run plus the scenario, seed and versions that produced them.

    Attributes hold pandas DataFrames (see :mod:`ecssim.analysis.schema` for their dtypes):
    ``events``, ``tasks``, ``instances``, ``services``, ``deployments``,
    ``placement_failures``, ``service_events``, ``capacity``, ``recovery``,
    ``availability`` and ``cost`` (empty without the scenario's ``prices``).
    ``demand`` (see :mod:`ecssim.analysis.demand`) is empty without the scenario's ``demand``.
    """

    def __init__(
        self,
        tables: dict[str, pd.DataFrame],
        *,
        scenario: dict,
        seed: int,
        replication: int,
        duration_s: float,
        measure_from_s: float = 0.0,
        start_time: str | None = None,
        provenance: dict | None = None,
        base_dir: str | Path | None = None,
    ) -> None:
        missing = [name for name in TABLE_NAMES if name not in tables]
        if missing:
            raise ValueError(f"a Result needs the tables {', '.join(missing)}")
        self.events: pd.DataFrame = tables["events"]
        self.tasks: pd.DataFrame = tables["tasks"]
        self.instances: pd.DataFrame = tables["instances"]
        self.services: pd.DataFrame = tables["services"]
        self.deployments: pd.DataFrame = tables["deployments"]
        self.placement_failures: pd.DataFrame = tables["placement_failures"]
        self.service_events: pd.DataFrame = tables["service_events"]
        self.capacity: pd.DataFrame = tables["capacity"]
        self.recovery: pd.DataFrame = tables["recovery"]
        self.availability: pd.DataFrame = tables["availability"]
        self.demand: pd.DataFrame = tables["demand"]
        self.cost: pd.DataFrame = tables["cost"]
        self.scenario = scenario
        self.seed = int(seed)
        self.replication = int(replication)
        self.duration_s = float(duration_s)
        self.measure_from_s = float(measure_from_s)
        self.start_time = start_time
        self.provenance: dict[str, Any] = dict(provenance or {})
        #: Folder the scenario's relative paths (traces) are read from; not saved, since a
        #: result folder may be moved (``load_result`` leaves it None: the working directory).
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self._summary: dict[str, float | int] | None = None

    def tables(self) -> dict[str, pd.DataFrame]:
        """The tables by name, in file order."""
        return {name: getattr(self, name) for name in TABLE_NAMES}

    def summary(self) -> dict[str, float | int]:
        """The fixed metrics of :mod:`ecssim.analysis.summary` (computed once, then cached)."""
        if self._summary is None:
            self._summary = summarize(
                events=self.events,
                tasks=self.tasks,
                instances=self.instances,
                services=self.services,
                deployments=self.deployments,
                capacity=self.capacity,
                recovery=self.recovery,
                placement_failures=self.placement_failures,
                measure_from_s=self.measure_from_s,
                duration_s=self.duration_s,
                demand=self.demand,
                cost=self.cost if (self.scenario or {}).get("prices") else None,
            )
        return dict(self._summary)

    def service_counts(self) -> pd.DataFrame:
        """Per-service desired/running/pending/healthy step series (``capacity.service_counts``).

        ``healthy`` follows the task health rows (see :mod:`ecssim.analysis.health`).
        """
        return service_counts(self.events)

    def resample_capacity(self, every: str | float = "1min") -> pd.DataFrame:
        """The capacity series on a regular grid from 0 to the end of the run."""
        return resample_capacity(self.capacity, every, end_s=self.duration_s)

    @property
    def plot(self):  # noqa: ANN201 - a ResultPlots, imported lazily (see below)
        """This run's figures as methods: ``result.plot.capacity()``, ``.tasks()``, ``.all()`` ...

        Returns an :class:`~ecssim.analysis.plots.accessor.ResultPlots`; matplotlib is
        imported here, on first use, so ``import ecssim`` does not load pyplot.
        """
        from ecssim.analysis.plots.accessor import ResultPlots

        return ResultPlots(self)

    def explain(self, target: str, *, base_dir: str | Path | None = None) -> pd.DataFrame:
        """Why task ``t-…`` went where it did, or why failure ``pf-…`` found no instance.

        Re-simulates this result's scenario, seed and replication up to that placement and
        returns the pipeline as it was then (see :func:`ecssim.insight.explain`).
        ``base_dir``: where the scenario's relative paths are read from (default: the
        scenario file's folder when known, else the working directory).
        """
        from ecssim.insight import explain
        from ecssim.insight.explain import Target, UnknownTargetError

        wanted = Target.parse(target)
        ids = self.tasks["task_id"] if wanted.kind == "task" else self.placement_failures["failure_id"]
        if wanted.id not in set(ids):
            kind = "task" if wanted.kind == "task" else "placement failure"
            span = f"{ids.iloc[0]} to {ids.iloc[-1]}" if len(ids) else "none"
            raise UnknownTargetError(f"this run has no {kind} {target} ({kind} ids: {span})")
        return explain(self._scenario_model(base_dir), self.seed, wanted.id, replication=self.replication)

    def headroom(self, task_definition, at: float | str | None = None, *,  # noqa: ANN001
                 base_dir: str | Path | None = None, **options):  # noqa: ANN201
        """How many more tasks of ``task_definition`` fit at time ``at`` (default t=0).

        Re-simulates this result's scenario up to ``at`` and asks
        :func:`ecssim.insight.headroom` (``options``: strategies, constraints, group).
        """
        from ecssim.simulation import Simulation

        sim = Simulation(self._scenario_model(base_dir), self.seed, self.replication)
        if at is not None:
            sim.run_until(at)
        return sim.headroom(task_definition, **options)

    def _scenario_model(self, base_dir: str | Path | None):  # noqa: ANN202
        from ecssim.scenario import load_scenario_dict

        return load_scenario_dict(self.scenario, source="<result scenario>",
                                  base_dir=base_dir if base_dir is not None else self.base_dir)

    def save(self, path: str | Path, format: str = "csv", force: bool = False,  # noqa: A002
             extra: Callable[[Path], list[str]] | None = None) -> Path:
        """Write the result folder atomically (rules in :mod:`ecssim.analysis.output`).

        ``extra(folder)``, if given, writes more files (plots, the report) into the temporary
        folder once the tables are there, before it is moved into place, and returns their
        names, which provenance lists with the others.

        Raises ``OutputFolderError`` when the folder holds something ecssim must not replace,
        ``MissingExtraError`` for Parquet without pyarrow.
        """
        output.require_format(format)
        summary = self.summary()

        def write(folder: Path) -> None:
            files = [output.write_table(df, folder, n, format) for n, df in self.tables().items()]
            output.write_json(folder / SUMMARY_FILE, summary)
            output.write_json(folder / SCENARIO_FILE, self.scenario)
            files += [SUMMARY_FILE, SCENARIO_FILE]
            if extra is not None:
                files += [name for name in extra(folder) if name not in files]
            provenance = {
                output.MARKER: output.LAYOUT_VERSION,
                **self.provenance,
                "format": format,
                "files": files,
            }
            output.write_json(folder / output.PROVENANCE_FILE, provenance)

        return output.write_folder(path, write, force=force)


def build_result(
    log: EventLog,
    *,
    scenario: dict,
    seed: int,
    replication: int,
    duration_s: float,
    measure_from_s: float = 0.0,
    start_time: str | None = None,
    base_dir: str | Path | None = None,
) -> Result:
    """Build every table from a finished run's log (``start_time``: ISO 8601 with a zone).

    The ``healthy`` figures of ``recovery`` and ``availability`` follow the log's task health
    rows (see :mod:`ecssim.analysis.health`).
    """
    if start_time is not None:
        parse_start_time(start_time)
    # the tables make little cyclic garbage, and a collection would walk the log's rows
    with fewer_collections():
        tables = _tables(log, scenario=scenario, duration_s=duration_s, measure_from_s=measure_from_s)
    tables = {name: add_timestamps(df, start_time) for name, df in tables.items()}
    provenance = {
        **library_versions(),
        "seed": int(seed),
        "replication": int(replication),
        "duration_s": float(duration_s),
        "measure_from_s": float(measure_from_s),
        "start_time": start_time or "",
    }
    return Result(
        tables,
        scenario=scenario,
        seed=seed,
        replication=replication,
        duration_s=duration_s,
        measure_from_s=measure_from_s,
        start_time=start_time,
        provenance=provenance,
        base_dir=base_dir,
    )


def _tables(log: EventLog, *, scenario: dict, duration_s: float, measure_from_s: float) -> dict[str, pd.DataFrame]:
    """Every table of :data:`~ecssim.analysis.schema.TABLE_NAMES` from the log; the builders
    share one :class:`~ecssim.analysis.eventcodes.EventCodes` of the ``events`` table."""
    events, codes = events_and_codes(log)
    tasks = tasks_table(log, events, codes=codes)
    instances = instances_table(log, events, codes=codes)
    services = services_table(log)
    failures = placement_failures_table(log)
    counts = service_counts(events, codes=codes)
    return {
        "events": events,
        "tasks": tasks,
        "instances": instances,
        "services": services,
        "deployments": deployments_table(events),
        "placement_failures": failures,
        "service_events": service_events_table(log),
        "capacity": capacity_table(events, tasks, instances, codes=codes),
        "recovery": recovery_table(events, tasks, placement_failures=failures, counts=counts,
                                   end_s=duration_s, codes=codes),
        "availability": availability_table(counts, services, start_s=measure_from_s,
                                           end_s=duration_s),
        "demand": demand_table(events, tasks),
        "cost": cost_table(instances, tasks, events, (scenario or {}).get("prices"), end_s=duration_s),
    }


def _summary_from_json(data: dict) -> dict[str, float | int]:
    return {k: (math.nan if v is None else v) for k, v in data.items()}


def load_result(path: str | Path) -> Result:
    """Read a folder written by :meth:`Result.save` back into an equal :class:`Result`."""
    folder = Path(path)
    provenance = output.read_provenance(folder)
    if provenance is None:
        raise output.OutputFolderError(f"{folder} is not an ecssim result folder")
    if provenance.get("summary_only"):
        raise output.OutputFolderError(
            f"{folder} holds a summary-only run: it has summary.json (read it with json.load) but no tables; "
            "run its scenario without --summary-only for them")
    fmt = provenance.get("format", "csv")
    start_time = provenance.get("start_time") or None
    missing = [name for name in TABLE_NAMES if not (folder / f"{name}.{fmt}").exists()]
    if missing:
        raise output.OutputFolderError(
            f"{folder} has no {', '.join(f'{name}.{fmt}' for name in missing)}: it was written by ecssim "
            f"{provenance.get('ecssim_version', 'of an older version')}, before these tables existed; run its "
            "scenario again (scenario.json in the folder) to get them")
    tables = {name: output.read_table(folder, name, fmt, start_time) for name in TABLE_NAMES}
    scenario = json.loads((folder / SCENARIO_FILE).read_text(encoding="utf-8"))
    result = Result(
        tables,
        scenario=scenario,
        seed=provenance["seed"],
        replication=provenance["replication"],
        duration_s=provenance["duration_s"],
        measure_from_s=provenance["measure_from_s"],
        start_time=start_time,
        provenance=provenance,
    )
    summary_path = folder / SUMMARY_FILE
    if summary_path.exists():
        result._summary = _summary_from_json(json.loads(summary_path.read_text("utf-8")))
    return result
