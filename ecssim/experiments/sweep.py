"""Running an experiment: every (point, replication), combined tables, and a resumable folder.

:func:`experiment` runs what an :class:`~ecssim.experiments.spec.Experiment` expands to on
an executor and returns an :class:`ExperimentResult`:

- ``runs``: one row per run: ``point``, ``replication``, one column per axis, ``status``
  (``ok``/``failed``), every summary metric, and ``error``;
- ``aggregate``: one row per (point, metric) over the point's successful runs: ``n`` (runs
  with a value; NaN left out), ``mean``, ``std`` (ddof 1), and a Student-t confidence
  interval of the mean ``ci_low``/``ci_high`` at ``confidence`` (95 % by default);
- ``failures``: the failed runs with their error and traceback.

Rows are ordered by (point, replication) whatever order the runs finished in, so serial,
process and Dask executions give identical tables.

With ``out``, the sweep writes ``DIR/experiment.json`` (the resolved experiment) and
``DIR/provenance.json`` first, then appends one line per finished run to
``DIR/manifest.jsonl`` (flushed to disk at once), and at the end writes ``runs.csv``,
``aggregate.csv`` and ``failures.csv``. A sweep interrupted (Ctrl-C, a lost machine) keeps
its finished runs; ``resume=True`` (``--resume DIR``) runs only the missing and the failed
ones, the one sanctioned way to write into an existing folder. ``tables=True`` also keeps
each run's full tables in ``DIR/runs/p<point>-r<replication>/``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from ecssim.analysis.output import OutputFolderError, read_provenance, require_format, write_json
from ecssim.analysis.result import library_versions
from ecssim.model.invariants import resolve as resolve_invariants

from .executors import make_executor
from .progress import progress_bar
from .runner import RunRecord, RunSpec
from .spec import Experiment, load_experiment
from .stats import mean_interval

SWEEP_MARKER = "ecssim_sweep"
EXPERIMENT_FILE = "experiment.json"
MANIFEST_FILE = "manifest.jsonl"
PROVENANCE_FILE = "provenance.json"
AGGREGATE_COLUMNS = ["metric", "n", "mean", "std", "ci_low", "ci_high", "confidence"]


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by the user; its finished runs are kept in the folder's manifest."""

    def __init__(self, done: int, total: int, out: Path | None) -> None:
        self.done, self.total, self.out = done, total, out
        hint = f"; resume with: ecssim sweep --resume {out}" if out is not None else ""
        super().__init__(f"interrupted after {done} of {total} runs{hint}")


def run_spec(experiment: Experiment, point: int, replication: int, *, tables_dir: str | Path | None = None,
             table_format: str = "csv", check_invariants: bool | None = None) -> RunSpec:
    """What a worker needs for run (point, replication) of ``experiment``.

    ``check_invariants`` None: as ``ECSSIM_CHECK_INVARIANTS`` says here (the choice travels
    with the spec, so remote workers follow it too).
    """
    if not 0 <= replication < experiment.replications:
        raise ValueError(
            f"replication {replication} does not exist; the experiment has replications 0..{experiment.replications - 1}"
        )
    chosen = experiment.point(point)
    return RunSpec(point, replication, experiment.seed, chosen.scenario_data, experiment.scenario_source,
                   str(experiment.scenario_base_dir), None if tables_dir is None else str(tables_dir), table_format,
                   resolve_invariants(check_invariants))


def axis_value(value: Any) -> Any:
    """An axis value as a table cell: scalars as they are, lists and mappings as JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (list, dict)) else value


def runs_table(experiment: Experiment, records: Iterable[RunRecord]) -> pd.DataFrame:
    """One row per run, ordered by (point, replication): axes, status, summary metrics, error."""
    ordered = sorted(records, key=lambda r: r.key)
    metrics: list[str] = []
    seen: set[str] = set()
    for record in ordered:
        for name in record.summary:
            if name not in seen:
                seen.add(name)
                metrics.append(name)
    rows = []
    for record in ordered:
        row: dict[str, Any] = {"point": record.point, "replication": record.replication}
        for path, value in experiment.points[record.point].values.items():
            row[path] = axis_value(value)
        row["status"] = record.status
        for name in metrics:
            row[name] = record.summary.get(name, math.nan)
        row["error"] = record.error
        rows.append(row)
    columns = ["point", "replication", *experiment.axes, "status", *metrics, "error"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({"point": "int64", "replication": "int64"})


def aggregate_table(experiment: Experiment, runs: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """One row per (point, metric) over the point's successful runs (module doc)."""
    axes = list(experiment.axes)
    fixed = {"point", "replication", "status", "error", *axes}
    metrics = [c for c in runs.columns if c not in fixed]
    ok = runs[runs["status"] == "ok"]
    rows = []
    for point in experiment.points:
        mine = ok[ok["point"] == point.index]
        for metric in metrics:
            interval = mean_interval(pd.to_numeric(mine[metric], errors="coerce").to_numpy(float), confidence)
            rows.append({
                "point": point.index, **{p: axis_value(v) for p, v in point.values.items()}, "metric": metric,
                "n": interval.n, "mean": interval.mean, "std": interval.std,
                "ci_low": interval.low, "ci_high": interval.high, "confidence": confidence,
            })
    frame = pd.DataFrame(rows, columns=["point", *axes, *AGGREGATE_COLUMNS])
    return frame.astype({"point": "int64", "n": "int64"})


def failures_table(experiment: Experiment, records: Iterable[RunRecord]) -> pd.DataFrame:
    """The failed runs, ordered by (point, replication), with their error and traceback."""
    rows = [
        {"point": r.point, "replication": r.replication,
         **{p: axis_value(v) for p, v in experiment.points[r.point].values.items()},
         "error": r.error, "traceback": r.traceback}
        for r in sorted(records, key=lambda r: r.key) if r.status != "ok"
    ]
    columns = ["point", "replication", *experiment.axes, "error", "traceback"]
    return pd.DataFrame(rows, columns=columns).astype({"point": "int64", "replication": "int64"})


class ExperimentResult:
    """The combined tables of an experiment (module doc) and where they were written."""

    def __init__(self, experiment: Experiment, records: list[RunRecord], confidence: float = 0.95,
                 out: Path | None = None) -> None:
        self.experiment = experiment
        self.records = sorted(records, key=lambda r: r.key)
        self.confidence = confidence
        self.out = out
        self.runs = runs_table(experiment, self.records)
        self.aggregate = aggregate_table(experiment, self.runs, confidence)
        self.failures = failures_table(experiment, self.records)

    @property
    def points(self) -> pd.DataFrame:
        """One row per point: its number and axis values."""
        rows = [{"point": p.index, **{k: axis_value(v) for k, v in p.values.items()}} for p in self.experiment.points]
        return pd.DataFrame(rows, columns=["point", *self.experiment.axes])

    @property
    def plot(self) -> Any:
        """Figures of this sweep, e.g. ``result.plot.metric("recovery_time_p95_s", x=..., hue=...)``.

        Returns a :class:`~ecssim.experiments.plots.SweepPlots`; matplotlib is imported on first use.
        """
        from .plots import SweepPlots

        return SweepPlots(self)

    def metric(self, name: str) -> pd.DataFrame:
        """The aggregate rows of one summary metric, one per point."""
        known = sorted(set(self.aggregate["metric"]))
        if name not in known:
            raise KeyError(f"no summary metric {name!r}; known: {', '.join(known)}")
        return self.aggregate[self.aggregate["metric"] == name].reset_index(drop=True)

    def __repr__(self) -> str:
        failed = len(self.failures)
        return (f"<ExperimentResult {self.experiment.name!r}: {len(self.experiment.points)} point(s) x "
                f"{self.experiment.replications} replication(s), {len(self.runs) - failed} ok, {failed} failed>")


# --------------------------------------------------------------------------- the folder


def _check_new_folder(out: Path) -> None:
    if out.is_symlink() or (out.exists() and not out.is_dir()):
        raise OutputFolderError(f"{out} exists and is not a folder; choose another output path")
    if out.exists() and any(out.iterdir()):
        hint = (" (it holds an ecssim sweep: finish it with --resume, or choose a new folder)"
                if _sweep_provenance(out) else "; choose a new or empty folder")
        raise OutputFolderError(f"{out} is not empty{hint}")


def _sweep_provenance(out: Path) -> dict | None:
    return read_provenance(out, SWEEP_MARKER)


def read_manifest(out: Path) -> dict[tuple[int, int], RunRecord]:
    """The finished runs recorded in a sweep folder (a later line for a run replaces an earlier one).

    A last line cut short by a crash is ignored.
    """
    records: dict[tuple[int, int], RunRecord] = {}
    path = out / MANIFEST_FILE
    if not path.exists():
        return records
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = RunRecord.from_json(json.loads(line))
        except (ValueError, KeyError, TypeError):
            continue
        records[record.key] = record
    return records


def open_sweep_folder(out: Path, experiment: Experiment | None, resume: bool) -> tuple[Experiment, dict]:
    """Check or create the folder; returns the experiment to run and the runs already done."""
    if not resume:
        assert experiment is not None
        _check_new_folder(out)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / EXPERIMENT_FILE, experiment.to_dict())
        write_json(out / PROVENANCE_FILE, {SWEEP_MARKER: 1, "fingerprint": experiment.fingerprint(),
                                           **library_versions()})
        (out / MANIFEST_FILE).touch()
        return experiment, {}
    provenance = _sweep_provenance(out)
    if provenance is None:
        what = "does not exist" if not out.exists() else f"holds no ecssim sweep ({PROVENANCE_FILE})"
        if out.exists() and read_provenance(out) is not None:
            what = "holds a single run's result, not a sweep"
        raise OutputFolderError(f"cannot resume {out}: it {what}")
    stored = Experiment.from_dict(json.loads((out / EXPERIMENT_FILE).read_text(encoding="utf-8")),
                                  str(out / EXPERIMENT_FILE))
    if experiment is not None and experiment.fingerprint() != stored.fingerprint():
        raise OutputFolderError(
            f"cannot resume {out} with this experiment: it differs from the one the folder was started with "
            f"(scenario, axes, seed or replications); resume with the folder alone: --resume {out}"
        )
    return stored, read_manifest(out)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write ``frame`` next to ``path`` and move it into place (never a half-written table)."""
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_csv(tmp, index=False, lineterminator="\n", encoding="utf-8")
    os.replace(tmp, path)


def _append(handle: Any, record: RunRecord) -> None:
    handle.write(json.dumps(_finite(record.to_json()), allow_nan=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# --------------------------------------------------------------------------- running


def run_records(executor: Any, specs: list[RunSpec], *, progress: bool | None = None,
                description: str = "runs", on_record: Any = None) -> list[RunRecord]:
    """Run ``specs`` on an open executor; call ``on_record`` as each finishes."""
    records: list[RunRecord] = []
    bar = progress_bar(len(specs), description, progress)
    try:
        for record in executor.map(specs):
            records.append(record)
            if on_record is not None:
                on_record(record)
            bar.update(1)
            if record.status != "ok":
                bar.set_postfix_str(f"{sum(r.status != 'ok' for r in records)} failed")
    finally:
        bar.close()
    return records


def experiment(
    spec: Experiment | str | Path | None = None,
    *,
    out: str | Path | None = None,
    workers: int | None = None,
    executor: str | None = None,
    dask_address: str | None = None,
    tables: bool = False,
    table_format: str = "csv",
    resume: bool = False,
    confidence: float = 0.95,
    progress: bool | None = None,
    check_invariants: bool | None = None,
) -> ExperimentResult:
    """Run every (point, replication) of an experiment and combine their summaries.

    ``spec`` is an :class:`Experiment` or the path of an experiment file (None with
    ``resume``: the one stored in ``out``). ``executor`` is ``serial``, ``processes`` (the
    default; ``workers`` processes, one per core by default) or ``dask`` (at
    ``dask_address``, or a LocalCluster of ``workers`` processes). ``tables`` keeps each
    run's full tables under ``out/runs/``. ``progress`` None shows a bar only where someone
    watches. ``check_invariants``: check every run's invariants (a violation fails that run;
    None: as ``ECSSIM_CHECK_INVARIANTS`` says). Raises :class:`SweepInterrupted` on Ctrl-C
    after keeping the finished runs.
    """
    if isinstance(spec, (str, Path)):
        spec = load_experiment(spec)
    folder = Path(out) if out is not None else None
    if folder is None and (resume or tables):
        raise ValueError("resume and tables need an output folder (out=...)")
    if spec is None and not resume:
        raise ValueError("give an experiment (or resume=True with the folder of an earlier sweep)")
    if tables:
        require_format(table_format)
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    done: dict[tuple[int, int], RunRecord] = {}
    if folder is not None:
        spec, done = open_sweep_folder(folder, spec, resume)
    assert spec is not None
    done = {key: record for key, record in done.items() if record.status == "ok"}
    todo = [
        run_spec(spec, point.index, r, tables_dir=folder if tables else None, table_format=table_format,
                 check_invariants=check_invariants)
        for point in spec.points for r in range(spec.replications) if (point.index, r) not in done
    ]
    records = list(done.values())
    handle = (folder / MANIFEST_FILE).open("a", encoding="utf-8") if folder is not None else None
    try:
        with make_executor(executor, workers=workers, dask_address=dask_address) as pool:
            records += run_records(pool, todo, progress=progress, description=spec.name,
                                   on_record=(lambda r: _append(handle, r)) if handle else None)
    except KeyboardInterrupt:
        finished = len(read_manifest(folder)) if folder is not None else len(records)
        raise SweepInterrupted(finished, spec.runs, folder) from None
    finally:
        if handle is not None:
            handle.close()
    result = ExperimentResult(spec, records, confidence, folder)
    if folder is not None:
        _write_csv(result.runs, folder / "runs.csv")
        _write_csv(result.aggregate, folder / "aggregate.csv")
        _write_csv(result.failures, folder / "failures.csv")
    return result
