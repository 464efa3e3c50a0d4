"""The ``ecssim`` command line: run, report, validate, schema, explain, headroom, sweep, plan,
docker-calibrate, docker-validate, docker-cleanup, fit-timing, convert-trace and import-cluster.

``run --out DIR`` writes a result folder; ``--plots`` adds the standard figures as PNG files
and ``--report`` a self-contained ``report.html``, both written inside the folder before it
is moved into place; ``--narrate`` prints the run's timeline in words. ``report DIR`` writes
the report of a result folder written earlier. ``sweep --plots`` and ``plan --plots`` add
their figures to the output folder. Plotting modules (matplotlib) are imported only when
asked for, so ``ecssim --help`` stays fast.

Exit status: 0 on success, 2 on bad input (a clear message, no traceback), 1 on a failure
inside a run.
"""

from __future__ import annotations

import json
import math
import sys
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from .analysis import MissingExtraError, OutputFolderError
from .model.invariants import InvariantViolation  # --check-invariants (issue 10)
from .scenario import ScenarioError, load_scenario, scenario_json_schema, validate_file
from .scenario.traces import TraceError
from .units import format_duration

BAD_INPUT = 2
RUN_FAILED = 1
_INPUT_ERRORS = (ScenarioError, OutputFolderError, MissingExtraError, TraceError)


def _fail(message: str, status: int = BAD_INPUT) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


#: --check-invariants (issue 10).
CHECK_INVARIANTS_HELP = ("Check the run's invariants after every step (ledgers, task conservation, deployment "
                         "limits, time order; slower). Default: the ECSSIM_CHECK_INVARIANTS environment variable, "
                         "else off.")


@contextmanager
def _exit_status(debug: bool, input_errors: tuple[type[Exception], ...] = _INPUT_ERRORS) -> Iterator[None]:
    """Bad input exits 2 with its message; any other failure inside a run exits 1."""
    try:
        yield
    except input_errors as error:
        _fail(str(error))
    except InvariantViolation as error:  # --check-invariants (issue 10): ecssim's bug, status 1, one line
        if debug:
            traceback.print_exc()
        _fail(str(error), RUN_FAILED)
    except Exception as error:  # a failure inside the run: status 1
        if debug:
            traceback.print_exc()
        _fail(f"the run failed: {type(error).__name__}: {error} (use --debug for a traceback)", RUN_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecssim")
def main() -> None:
    """ecssim: simulate an Amazon ECS cluster over time from a scenario file."""


@main.command()
@click.argument("scenario_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=None, help="Seed of every random stream  [default: 0, or the experiment's].")
@click.option("--replication", type=int, default=0, show_default=True, help="Replication index (streams key).")
@click.option("--experiment", "experiment_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Run one run of this experiment file instead of a scenario (with --point and --replication).")
@click.option("--point", type=int, default=None, help="Point of the experiment to run (see --experiment).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the tables into (must be new or empty, see --force).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="Table file format; parquet needs: pip install 'ecssim[parquet]'.")
@click.option("--force", is_flag=True, help="Replace an output folder that ecssim wrote before.")
@click.option("--timing", "timing_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="A timing: section (e.g. from docker-calibrate) laid over the scenario's, key by key.")
@click.option("--plots", is_flag=True, help="Also write the standard figures as PNG files into --out.")
@click.option("--report", "with_report", is_flag=True,
              help="Also write a self-contained report.html into --out (open it in a browser).")
@click.option("--animation", is_flag=True,
              help="Also write animation.gif into --out: instances filling with tasks over time.")
@click.option("--narrate", is_flag=True, help="Print what happened, in words, before the summary.")
@click.option("--debug", is_flag=True, help="Show a traceback when a run fails.")
@click.option("--check-invariants/--no-check-invariants", "check_invariants", default=None,
              help=CHECK_INVARIANTS_HELP)  # --check-invariants (issue 10)
@click.option("--summary-only", is_flag=True,
              help="Keep no tables, only the summary, computed as the run goes: memory stays flat however "
                   "long the run (--out then writes summary.json, scenario.json and provenance.json).")
def run(scenario_file: Path | None, seed: int | None, replication: int, experiment_file: Path | None,
        point: int | None, out: Path | None, fmt: str, force: bool, timing_file: Path | None, plots: bool,
        with_report: bool, animation: bool, narrate: bool, debug: bool, check_invariants: bool | None,
        summary_only: bool) -> None:
    """Run SCENARIO_FILE and print a short summary (and write the tables with --out).

    With --experiment FILE --point P --replication R, run that one run of an experiment
    alone: it gives the same tables as inside the sweep.
    """
    from .simulation import simulate

    if (scenario_file is None) == (experiment_file is None):
        _fail("give a SCENARIO_FILE, or --experiment FILE with --point P (and --replication R)")
    if experiment_file is None and point is not None:
        _fail("--point needs --experiment FILE")
    if experiment_file is not None and timing_file is not None:
        _fail("--timing applies to a SCENARIO_FILE; an experiment sets timing through its axes or its scenario")
    if out is None and (plots or with_report or animation):
        flag = "--plots" if plots else "--report" if with_report else "--animation"
        _fail(f"{flag} writes into the output folder: give --out DIR")
    if summary_only and (plots or with_report or animation or narrate or check_invariants or fmt != "csv"):
        flag = next(name for name, on in (("--plots", plots), ("--report", with_report), ("--animation", animation),
                                          ("--narrate", narrate), ("--check-invariants", check_invariants),
                                          ("--format", fmt != "csv")) if on)
        _fail(f"--summary-only keeps no tables, which {flag} needs: leave one of them out")
    with _exit_status(debug, (*_INPUT_ERRORS, ValueError)):
        if experiment_file is not None:
            from .experiments import load_experiment, run_spec

            experiment = load_experiment(experiment_file)
            if seed is not None and seed != experiment.seed:
                _fail(f"--seed {seed} differs from the experiment's seed {experiment.seed}; leave --seed out")
            seed = experiment.seed
            spec = run_spec(experiment, 0 if point is None else point, replication)  # checks both
            scenario = experiment.point(spec.point).scenario
        else:
            scenario = load_scenario(scenario_file, timing=timing_file)
        seed = 0 if seed is None else seed
        if out is not None:
            from .analysis.output import check_target, require_format

            require_format(fmt)
            check_target(out, force)
    with _exit_status(debug):
        started = time.perf_counter()
        if summary_only:
            from .simulation import Simulation

            result = Simulation(scenario, seed, replication, summary_only=True).run_until().result()
        else:
            result = simulate(scenario, seed=seed, replication=replication, check_invariants=check_invariants)
        wall = time.perf_counter() - started
        extras: list[str] = []
        if out is not None and summary_only:
            result.save(out, force=force)
        elif out is not None:
            wanted = plots or with_report or animation
            extra = _extra_files(result, plots, with_report, animation, extras) if wanted else None
            result.save(out, format=fmt, force=force, extra=extra)
        story = _narration(result) if narrate else ""
    if story:
        click.echo(story)
    click.echo(_summary_text(scenario.name, seed, result.summary(), wall, out, summary_only))
    if extras:
        click.echo(f"  also written: {', '.join(extras)}")


def _extra_files(result, plots: bool, with_report: bool, animation: bool,  # noqa: ANN001, ANN202
                 names: list[str]):
    """The ``Result.save`` hook writing the figures, the animation and the report into the
    temporary folder (their file names are appended to ``names`` and returned)."""

    def write(folder: Path) -> list[str]:
        if plots and not with_report:
            from .analysis.plots import save_plots

            names.extend(path.name for path in save_plots(result, folder))
        if animation:
            from .analysis.plots import ANIMATION_FILE, save_animation

            names.append(save_animation(result, folder / ANIMATION_FILE).name)
        if with_report:
            from .analysis.plots import figure_names
            from .analysis.report import figure_file, write_report

            # With --plots too, the report writes the PNGs it embeds: each figure drawn once.
            report = write_report(result, folder, save_figures=plots)
            if plots:
                names.extend(figure_file(name) for name in figure_names(result))
            names.append(report.name)
        return names

    return write


def _narration(result) -> str:  # noqa: ANN001
    from .insight.narrate import narrate

    return narrate(result).rstrip("\n")


def _summary_text(name: str, seed: int, summary: dict, wall_s: float, out: Path | None,
                  summary_only: bool = False) -> str:
    def seconds(key: str) -> str:
        value = summary.get(key, math.nan)
        return format_duration(value) if value == value else "n/a"

    lines = [
        f"ecssim: {name} (seed {seed}): {format_duration(summary['duration_s'])} simulated in {wall_s:.2f} s",
        f"  tasks created {summary['tasks_created']}, started {summary['tasks_started']}, "
        f"stopped {summary['tasks_stopped']}, placement failures {summary['placement_failures']}",
        (f"  peak reserved: CPU {summary['peak_cpu_reserved_fraction']:.0%}, "
         f"memory {summary['peak_memory_reserved_fraction']:.0%}"
         if summary['peak_cpu_reserved_fraction'] == summary['peak_cpu_reserved_fraction']
         else "  peak reserved: no container instances (Fargate only)"),
        f"  incidents {summary['incidents']}: recovery mean {seconds('recovery_time_mean_s')}, "
        f"p95 {seconds('recovery_time_p95_s')}, max {seconds('recovery_time_max_s')}; "
        f"unrecovered {summary['unrecovered_incidents']}",
    ]
    cost = summary.get("cost_usd", math.nan)
    if cost == cost:
        lines.append(f"  cost: {cost:,.2f} USD (instances {summary['cost_instances_usd']:,.2f}, "
                     f"Fargate {summary['cost_fargate_usd']:,.2f})")
    if out is not None:
        lines.append(f"  {'summary' if summary_only else 'tables'} written to {out}/")
    return "\n".join(lines)


@main.command("report")
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--rows", "table_rows", type=click.IntRange(min=0), default=10, show_default=True,
              help="Rows shown per table (the report links to each whole table).")
@click.option("--force", is_flag=True, help="Replace a report.html that ecssim wrote before.")
@click.option("--debug", is_flag=True, help="Show a traceback when writing the report fails.")
def report_command(out_dir: Path, table_rows: int, force: bool, debug: bool) -> None:
    """Write OUT_DIR/report.html: one self-contained page (figures, metrics, tables) of a
    result folder written by `ecssim run --out OUT_DIR`."""
    from .analysis import load_result
    from .analysis.output import read_provenance
    from .analysis.report import write_report

    provenance = read_provenance(out_dir)
    if provenance is not None and "seed" not in provenance:  # e.g. a capacity plan's folder
        kind = str(provenance.get("kind", "folder")).replace("_", " ")
        _fail(f"{out_dir} holds an ecssim {kind}, not one run's result (written by `ecssim run --out`)")
    with _exit_status(debug):
        result = load_result(out_dir)
        path = write_report(result, out_dir, table_rows=table_rows, force=force)
    click.echo(f"report written to {path}")


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--quiet", "-q", is_flag=True, help="Print only errors.")
def validate(files: tuple[Path, ...], quiet: bool) -> None:
    """Check scenario FILES; list errors, warnings and the ECS fields ecssim ignores."""
    failed = False
    for path in files:
        try:
            report = validate_file(path)
        except ScenarioError as error:
            failed = True
            click.echo(str(error), err=True)
            continue
        if quiet:
            continue
        click.echo(f"{path}: OK")
        for warning in report.warnings:
            click.echo(f"  warning: {warning}")
        if report.ignored:
            click.echo("  ECS fields accepted but not modelled (ignored):")
            for field in report.ignored:
                click.echo(f"    {field}")
    if failed:
        sys.exit(BAD_INPUT)


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the run to explain.")
@click.option("--replication", type=int, default=0, show_default=True, help="Replication index of the run.")
@click.option("--task", "task_id", default=None, help="Explain the placement of this task (t-000042).")
@click.option("--failure", "failure_id", default=None, help="Explain this placement failure (pf-000003).")
@click.option("--service", default=None,
              help="Explain this service's latest placement failure, or its latest placement if it had none.")
@click.option("--limit", type=int, default=30, show_default=True, help="Rows shown at most (0 = all).")
@click.option("--debug", is_flag=True, help="Show a traceback when the run fails.")
def explain(scenario_file: Path, seed: int, replication: int, task_id: str | None, failure_id: str | None,
            service: str | None, limit: int, debug: bool) -> None:
    """Show how one placement of SCENARIO_FILE was decided, as it was at that moment."""
    from .insight import UnknownTargetError, to_text
    from .insight import explain as explain_placement
    from .insight.explain import service_target

    chosen = [x for x in (task_id, failure_id, service) if x is not None]
    if len(chosen) != 1:
        _fail("give exactly one of --task ID, --failure ID or --service NAME")
    with _exit_status(debug, (*_INPUT_ERRORS, UnknownTargetError)):
        scenario = load_scenario(scenario_file)
        note = ""
        target = task_id or failure_id
        if target is None:
            target, note = service_target(scenario, seed, replication, service)
        elif (task_id and not task_id.startswith("t-")) or (failure_id and not failure_id.startswith("pf-")):
            _fail(f"{target!r} is not a {'task' if task_id else 'placement failure'} id")
        frame = explain_placement(scenario, seed, target, replication=replication)
    if note:
        click.echo(note)
    click.echo(to_text(frame, limit))


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--task-definition", "task_definition", required=True, help="family or family:revision.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the run.")
@click.option("--replication", type=int, default=0, show_default=True, help="Replication index of the run.")
@click.option("--at", "at", default=None, help="Run the scenario to this time first (e.g. 30m); default t=0.")
@click.option("--strategy", "strategies", multiple=True,
              help="Placement strategy type:field, repeatable in order (default: random, as RunTask).")
@click.option("--group", default=None, help="Task group (default family:<family>).")
@click.option("--csv", "as_csv", is_flag=True, help="Print the figures as CSV instead of text.")
@click.option("--debug", is_flag=True, help="Show a traceback when the run fails.")
def headroom(scenario_file: Path, task_definition: str, seed: int, replication: int, at: str | None,
             strategies: tuple[str, ...], group: str | None, as_csv: bool, debug: bool) -> None:
    """How many more tasks of a task definition fit, per AZ and after losing an AZ or an instance."""
    from .insight.headroom import parse_strategy
    from .simulation import Simulation
    from .units import parse_duration

    try:
        rules = [parse_strategy(text) for text in strategies] or None
        until = parse_duration(at) if at is not None else None
    except ValueError as error:
        _fail(str(error))
    with _exit_status(debug):
        scenario = load_scenario(scenario_file)
        families = {td.family for td in scenario.task_definitions} | {td.key for td in scenario.task_definitions}
        if task_definition not in families:
            _fail(f"unknown task definition {task_definition!r}; known: {', '.join(sorted(families))}")
        sim = Simulation(scenario, seed=seed, replication=replication)
        if until is not None:
            sim.run_until(until)
        report = sim.headroom(task_definition, strategies=rules, group=group)
    click.echo(report.to_frame().to_csv(index=False).rstrip("\n") if as_csv else str(report))


def _executor_options(command):  # noqa: ANN001, ANN202 - a click decorator
    """The options sweep and plan share: where runs execute, progress, debugging."""
    options = [
        click.option("--workers", type=click.IntRange(min=1), default=None,
                     help="Worker processes (default: one per core; 1 runs in this process)."),
        click.option("--executor", type=click.Choice(["serial", "processes", "dask"]), default=None,
                     help="Where runs execute (default: processes, or dask with --dask)."),
        click.option("--dask", "dask", default=None, metavar="ADDRESS",
                     help="Run on a Dask cluster: a scheduler address (tcp://host:8786), or 'local' for a "
                          "LocalCluster of --workers processes. Needs: pip install 'ecssim[dask]'."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        click.option("--debug", is_flag=True, help="Show tracebacks of failed runs."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _where(workers: int | None, executor: str | None, dask: str | None) -> dict:
    if dask is not None and executor not in (None, "dask"):
        _fail(f"--dask runs on Dask; it cannot be combined with --executor {executor}")
    if dask is not None:
        return {"executor": "dask", "dask_address": None if dask == "local" else dask, "workers": workers}
    return {"executor": executor, "workers": workers}


def _interval(row) -> str:  # noqa: ANN001
    if row["n"] == 0:
        return "n/a"
    if row["n"] == 1 or row["ci_high"] != row["ci_high"]:
        return f"{row['mean']:.4g}"
    return f"{row['mean']:.4g} [{row['ci_low']:.4g}, {row['ci_high']:.4g}]"


#: Metrics ``ecssim sweep`` prints per point unless --metric says otherwise.
SWEEP_HEADLINE = ("recovery_time_p95_s", "service_availability_mean", "placement_failures",
                  "peak_memory_reserved_fraction")


@main.command()
@click.argument("experiment_file", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for the tables and the manifest (new or empty).")
@click.option("--resume", "resume", type=click.Path(file_okay=False, path_type=Path), default=None,
              metavar="DIR", help="Finish an interrupted sweep in DIR: run only the missing and failed runs.")
@click.option("--tables", is_flag=True, help="Also keep every run's full tables under OUT/runs/.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="Format of the per-run tables (--tables).")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Level of the aggregate's confidence intervals.")
@click.option("--metric", "metrics", multiple=True,
              help=f"Summary metric to print per point (repeatable; default {', '.join(SWEEP_HEADLINE)}).")
@click.option("--plots", is_flag=True,
              help="Also write a PNG per metric (mean and confidence band per point) into the folder.")
@click.option("--check-invariants/--no-check-invariants", "check_invariants", default=None,
              help=CHECK_INVARIANTS_HELP)  # --check-invariants (issue 10)
@_executor_options
def sweep(experiment_file: Path | None, out: Path | None, resume: Path | None, tables: bool, fmt: str,
          confidence: float, metrics: tuple[str, ...], plots: bool, check_invariants: bool | None,
          workers: int | None, executor: str | None, dask: str | None, quiet: bool, debug: bool) -> None:
    """Run every point x replication of EXPERIMENT_FILE; write runs.csv and aggregate.csv.

    Exit status: 0 when every run succeeded, 1 when some failed (listed at the end; the
    others are kept), 2 on bad input, 130 when interrupted (finish with --resume DIR).
    """
    from .experiments import SweepInterrupted, experiment, load_experiment

    if resume is not None and out is not None and out != resume:
        _fail("--resume DIR writes into DIR; leave --out out")
    if experiment_file is None and resume is None:
        _fail("give an EXPERIMENT_FILE (with --out DIR), or --resume DIR")
    folder = resume if resume is not None else out
    if plots and folder is None:
        _fail("--plots writes into the sweep's folder: give --out DIR")
    where = _where(workers, executor, dask)
    started = time.perf_counter()
    try:
        with _exit_status(debug, (*_INPUT_ERRORS, ValueError)):  # runs' own errors are recorded, not raised
            spec = load_experiment(experiment_file) if experiment_file is not None else None
            result = experiment(spec, out=folder, tables=tables, table_format=fmt, resume=resume is not None,
                                confidence=confidence, progress=False if quiet else None,
                                check_invariants=check_invariants, **where)
    except SweepInterrupted as stop:
        _fail(str(stop), 130)
    wall = time.perf_counter() - started
    exp = result.experiment
    ok = int((result.runs["status"] == "ok").sum())
    click.echo(f"ecssim sweep: {exp.name}: {len(exp.points)} point(s) x {exp.replications} replication(s), "
               f"seed {exp.seed}: {ok} ok, {len(result.failures)} failed in {wall:.1f} s")
    wanted = list(metrics) or [m for m in SWEEP_HEADLINE if m in set(result.aggregate["metric"])]
    unknown = [m for m in wanted if m not in set(result.aggregate["metric"])]
    if unknown:
        click.echo(f"  (no metric {', '.join(unknown)} in the runs)", err=True)
    shown = result.aggregate[result.aggregate["metric"].isin(wanted)]
    if len(shown):
        table = shown.assign(value=shown.apply(_interval, axis=1)).pivot(
            index=["point", *exp.axes], columns="metric", values="value")
        table = table[[m for m in wanted if m in table.columns]]
        click.echo(f"  mean [{confidence:.0%} CI] per point:")
        click.echo("\n".join("  " + line for line in table.reset_index().to_string(index=False).splitlines()))
    if folder is not None:
        click.echo(f"  tables written to {folder}/ (runs.csv, aggregate.csv, failures.csv, manifest.jsonl)")
    if plots:
        with _exit_status(debug, (*_INPUT_ERRORS, ValueError)):
            from .experiments.plots import save_sweep_plots

            paths = save_sweep_plots(result, folder, list(metrics) or None)
        click.echo(f"  plots written: {', '.join(p.name for p in paths) or 'none'}")
    if len(result.failures):
        click.echo(f"{len(result.failures)} run(s) failed:", err=True)
        for row in result.failures.itertuples():
            click.echo(f"  point {row.point} replication {row.replication}: {row.error}", err=True)
            if debug:
                click.echo(row.traceback, err=True)
        sys.exit(RUN_FAILED)


NO_ANSWER = 3


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--parameter", required=True, metavar="PATH",
              help="Integer field to search, as a dotted path (cluster.fleets[0].count).")
@click.option("--criterion", "criteria", multiple=True, required=True, metavar="'METRIC OP VALUE'",
              help="A summary metric bound, e.g. 'recovery_time_p95_s <= 300' (repeatable; all must hold).")
@click.option("--low", type=click.IntRange(min=0), default=1, show_default=True, help="Smallest value tried.")
@click.option("--high", type=click.IntRange(min=0), default=None,
              help="Largest value tried (default: gallop up from --low until the criteria hold).")
@click.option("--step", type=click.IntRange(min=1), default=1, show_default=True,
              help="Try only low, low+step, ... (e.g. the number of AZs, for even AZ splits).")
@click.option("--replications", type=click.IntRange(min=2), default=10, show_default=True,
              help="Replications per value.")
@click.option("--confidence", type=click.FloatRange(0, 1, min_open=True, max_open=True), default=0.95,
              show_default=True, help="Level of the one-sided confidence bounds.")
@click.option("--seed", type=int, default=0, show_default=True, help="Root seed of every run.")
@click.option("--nan", "nan", type=click.Choice(["fail", "ignore"]), default="fail", show_default=True,
              help="A run whose metric is NaN (e.g. nothing to recover): the value fails, or the run is left out.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder for plan.txt, evidence.csv and runs.csv (new or empty).")
@click.option("--plots", is_flag=True, help="Also write the search's evidence figure (PNG) into --out.")
@_executor_options
def plan(scenario_file: Path, parameter: str, criteria: tuple[str, ...], low: int, high: int | None, step: int,
         replications: int, confidence: float, seed: int, nan: str, out: Path | None, plots: bool,
         workers: int | None, executor: str | None, dask: str | None, quiet: bool, debug: bool) -> None:
    """Find the smallest value of an integer PARAMETER of SCENARIO_FILE meeting the criteria.

    Exit status: 0 when a value was found, 3 when no value in the range meets the criteria,
    1 when runs failed, 2 on bad input.
    """
    from .experiments import Criterion, PathError, find_min_capacity

    if plots and out is None:
        _fail("--plots writes into the output folder: give --out DIR")
    try:
        parsed = [Criterion.parse(text) for text in criteria]
    except ValueError as error:
        _fail(str(error))
    where = _where(workers, executor, dask)
    with _exit_status(debug, (*_INPUT_ERRORS, PathError)):
        if out is not None:
            from .analysis.output import check_target

            check_target(out, False)
        result = find_min_capacity(str(scenario_file), parameter, parsed, low=low, high=high, step=step,
                                   replications=replications, confidence=confidence, seed=seed, nan=nan,
                                   progress=False if quiet else None, **where)
        if out is not None:
            result.save(out)
            written = ["plan.txt", "evidence.csv", "runs.csv"]
            if plots:
                from .analysis.report import register_files
                from .experiments.plots import save_plan_plots

                names = [path.name for path in save_plan_plots(result, out)]
                register_files(out, names)  # listed in provenance: ecssim wrote them
                written += names
    click.echo(str(result))
    if out is not None:
        click.echo(f"written to {out}/ ({', '.join(written)})")
    if len(result.failures):
        click.echo(f"{len(result.failures)} run(s) failed; first: {result.failures['error'].iloc[0]}", err=True)
        sys.exit(RUN_FAILED)
    if result.answer is None:
        sys.exit(NO_ANSWER)


def _docker_errors() -> tuple[type[Exception], ...]:
    """The Docker mode's bad-input errors (exit 2): no engine, no static busybox, a file in the
    way, no cgroup v1 for --instance-cgroups."""
    from .docker import CalibrationFileError, CgroupUnavailable, EngineUnavailable, WorkloadImageError

    return (*_INPUT_ERRORS, EngineUnavailable, WorkloadImageError, CalibrationFileError, CgroupUnavailable)


@main.command("docker-calibrate")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Timing file to write (its raw samples go beside it, as NAME.samples.csv).")
@click.option("--samples", type=click.IntRange(min=2), default=20, show_default=True,
              help="Samples per measurement.")
@click.option("--max-burst", "max_burst", type=click.IntRange(min=1), default=4, show_default=True,
              help="Also time bursts of 2..K containers started at the same moment, to fit how concurrent "
                   "starts slow each other down (timing.containerStartContention); 1 disables bursts.")
@click.option("--force", is_flag=True, help="Replace a timing file that docker-calibrate wrote before.")
@click.option("--debug", is_flag=True, help="Show a traceback when the calibration fails.")
def docker_calibrate(out: Path, samples: int, max_burst: int, force: bool, debug: bool) -> None:
    """Measure container start, stop, kill->exit and OOM latencies, and how concurrent starts
    slow each other down, on the local Docker engine; write a `timing:` section for scenarios
    (DOCKER_HOST selects the engine)."""
    from .docker import EngineInfo, calibrate, check_target, connect, write_calibration

    with _exit_status(debug, _docker_errors()):
        check_target(out, force)
        client = connect()
        engine = EngineInfo.of(client).describe()
        bursts = f", bursts of 2..{max_burst} concurrent starts" if max_burst > 1 else ""
        click.echo(f"calibrating on {engine}: {samples} samples per measurement{bursts}", err=True)
        def progress(done: int, total: int) -> None:
            if done % 5 == 0 or done == total:
                click.echo(f"  {done}/{total}", err=True)

        try:
            calibration = calibrate(client, samples, max_burst=max_burst, progress=progress)
        except KeyboardInterrupt:
            _fail("interrupted; the calibration's containers were removed", 130)
        timing_file, samples_file = write_calibration(calibration, out, force=force)
    click.echo("\n".join(calibration.header(samples_file.name)))
    click.echo(f"written: {timing_file} and {samples_file}")


#: The fewest simulated replications a validation's prediction interval is drawn from.
MIN_SIM_REPLICATIONS = 20


@main.command("docker-validate")
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--timing", "timing_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The timing file docker-calibrate wrote (measured on separate containers).")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="New folder for real/, sim/, comparison.csv and the figures.")
@click.option("--time-scale", "factor", type=click.FloatRange(min=0, min_open=True), default=0.02,
              show_default=True, help="Wall seconds per simulated second of the real runs (0.02: a minute in 1.2 s).")
@click.option("--real-runs", type=click.IntRange(min=1), default=3, show_default=True,
              help="Runs with real containers (seeds SEED, SEED+1, ...).")
@click.option("--sim-replications", type=click.IntRange(min=MIN_SIM_REPLICATIONS), default=MIN_SIM_REPLICATIONS,
              show_default=True, help="Simulated replications the prediction intervals come from.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the first real run.")
@click.option("--instance-cgroups", is_flag=True,
              help="Give each virtual instance a cgroup limited to its registered memory and CPU (cgroup v1).")
@click.option("--no-plots", is_flag=True, help="Skip running-tasks.png and comparison.png.")
@click.option("--debug", is_flag=True, help="Show a traceback when the validation fails.")
def docker_validate(scenario_file: Path, timing_file: Path, out: Path, factor: float, real_runs: int,
                    sim_replications: int, seed: int, instance_cgroups: bool, no_plots: bool, debug: bool) -> None:
    """Run SCENARIO_FILE with real containers on the local Docker engine and simulate it with
    the calibrated timing; write where each real figure falls in the simulated prediction interval."""
    from .docker import connect
    from .docker.compare import validate
    from .docker.output import check_new_folder
    from .scenario import read_timing_file
    from .scenario.checks import fargate_requesters

    with _exit_status(debug, _docker_errors()):
        check_new_folder(out)
        scenario = load_scenario(scenario_file)
        on_fargate = fargate_requesters(scenario)
        if on_fargate:
            _fail(f"{scenario_file}: {', '.join(on_fargate)} run on Fargate; the Docker-backed validation runs tasks "
                  "on (virtual) container instances only: give them launchType EC2 or an EC2 capacity provider", 2)
        calibration = read_timing_file(timing_file)
        client = connect()
        click.echo(f"validating {scenario.name}: {real_runs} real run(s) at {factor:g} wall s per simulated s, "
                   f"{sim_replications} simulated replications", err=True)
        try:
            validation = validate(scenario, calibration_timing=calibration, factor=factor, real_runs=real_runs,
                                  sim_replications=sim_replications, seed=seed, client=client,
                                  progress=lambda line: click.echo(f"  {line}", err=True),
                                  instance_cgroups=instance_cgroups)
        except KeyboardInterrupt:
            _fail(f"interrupted; the validation's containers were removed and nothing was written to {out}", 130)
        except Exception as error:  # raised while the interrupt was being handled (its clean-up)
            if isinstance(error.__context__, KeyboardInterrupt):
                _fail(f"interrupted; the validation's containers were removed and nothing was written to {out} "
                      f"(during the clean-up: {type(error).__name__}: {error})", 130)
            raise
        validation.save(out, plots=not no_plots)
    table = validation.comparison
    judged = table[table["note"] == ""]
    click.echo(_comparison_text(table))
    click.echo(f"{int(judged['inside'].sum())} of {len(judged)} real values inside the simulated 95% "
               f"prediction interval; written to {out}/")


def _comparison_text(table) -> str:  # noqa: ANN001 - a comparison DataFrame
    """The run-level rows of a comparison, one line per (metric, real run)."""
    rows = table[table["incident_id"] == ""]
    lines = [f"{'metric':34} {'run':>3} {'real':>10} {'simulated 95% interval':>24}  inside"]
    for row in rows.itertuples(index=False):
        interval = f"[{row.sim_low:.4g}, {row.sim_high:.4g}]" if row.sim_n else "-"
        mark = "yes" if row.inside else ("no" if not row.note else row.note)
        lines.append(f"{row.metric:34} {row.real_run:>3} {row.real_value:>10.4g} {interval:>24}  {mark}")
    incidents = table[table["incident_id"] != ""]
    for metric, part in incidents.groupby("metric", sort=False):
        lines.append(f"{metric} per incident: {int(part['inside'].sum())} of {len(part)} inside")
    return "\n".join(lines)


@main.command("docker-cleanup")
@click.option("--run", "run_id", default=None, help="Remove only this run's containers (label ecssim.run).")
@click.option("--debug", is_flag=True, help="Show a traceback when the clean-up fails.")
def docker_cleanup(run_id: str | None, debug: bool) -> None:
    """Remove the containers ecssim left behind (those labelled ecssim.managed=true), and no other."""
    from .docker import cleanup, connect

    with _exit_status(debug, _docker_errors()):
        removed = cleanup(connect(), run_id)
    which = f" of run {run_id}" if run_id else ""
    click.echo(f"removed {len(removed)} ecssim container(s){which}" + "".join(f"\n  {cid[:12]}" for cid in removed))


@main.command()
@click.option("--indent", type=int, default=2, show_default=True)
def schema(indent: int) -> None:
    """Print the JSON Schema of the scenario format (for editor completion)."""
    click.echo(json.dumps(scenario_json_schema(), indent=indent))


@main.command("fit-timing")
@click.argument("events_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Timing file to write (a timing: section for `ecssim run --timing`).")
@click.option("--force", is_flag=True, help="Replace a timing file that fit-timing wrote before.")
@click.option("--min-samples", "min_samples", type=click.IntRange(min=2), default=20, show_default=True,
              help="Fewest samples a field is fitted from; a field with fewer keeps the scenario's own.")
def fit_timing(events_file: Path, out: Path, force: bool, min_samples: int) -> None:
    """Fit image pull, container start and container stop latencies to ECS task state-change
    events (EventBridge 'ECS Task State Change', JSON lines or a JSON array); write a `timing:`
    section for scenarios."""
    from .fit import EventFileError, check_target, fit_events, write_timing

    try:
        check_target(out, force)
        fitted = fit_events(events_file, min_samples=min_samples)
        written = write_timing(fitted, out, force=force)
    except EventFileError as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"{out}: cannot write: {error.strerror or error}")
    click.echo("\n".join(fitted.header()))
    click.echo(fitted.candidates_text())
    click.echo(f"written: {written}")


@main.command("convert-trace")
@click.argument("source", type=click.Choice(["alibaba", "google2011"]))
@click.argument("input_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Core-format trace CSV to write (README \"Trace format\").")
@click.option("--machine-memory", "machine_memory_mib", type=click.FloatRange(min=0, min_open=True), default=None,
              help="MiB that a normalised memory of 1.0 stands for (alibaba default: 393216, an assumption; "
                   "required for google2011).")
@click.option("--machine-cores", "machine_cores", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Cores that a normalised CPU request of 1.0 stands for (google2011 only; required there).")
@click.option("--start", type=float, default=None, help="Keep rows from this source time on (seconds).")
@click.option("--end", type=float, default=None, help="Keep rows before this source time (seconds).")
@click.option("--rows", "row_range", default=None, help="Keep input rows A:B (0-based, B excluded) instead.")
@click.option("--family", default=None, help="Task definition family written in a family column.")
@click.option("--unfinished", type=click.Choice(["drop", "trace-end"]), default="drop", show_default=True,
              help="google2011: a run with no end event is dropped or lasts to the input's last event.")
@click.option("--force", is_flag=True, help="Replace an existing core-format trace file.")
def convert_trace(source: str, input_file: Path, out: Path, machine_memory_mib: float | None,
                  machine_cores: float | None, start: float | None, end: float | None, row_range: str | None,
                  family: str | None, unfinished: str, force: bool) -> None:
    """Convert a public trace (SOURCE: alibaba or google2011) into the core's RunTask trace format."""
    from . import trace_convert as tc

    if out.exists() and (not force or not tc.is_core_trace(out)):
        _fail(f"{out} exists; use --force to replace it" if not force else
              f"{out} is not a core-format trace; refusing to replace it, even with --force")
    if row_range is not None and (start is not None or end is not None):
        _fail("give --rows or --start/--end, not both")
    if source == "google2011" and (machine_cores is None or machine_memory_mib is None):
        _fail("google2011 needs --machine-cores and --machine-memory (the trace does not publish them)")
    try:
        trace = tc.convert_file(source, input_file, machine_memory_mib=machine_memory_mib,
                                machine_cores=machine_cores, start_s=start, end_s=end, row_range=row_range,
                                family=family, unfinished=unfinished)
    except (OSError, ValueError, KeyError) as error:
        _fail(f"{input_file}: cannot convert: {error}")
    tc.write_trace(trace, out)
    dropped = "".join(f", {key} {value}" for key, value in sorted(trace.attrs.items()))
    click.echo(f"written {out}: {len(trace)} rows, {int(trace['count'].sum())} tasks{dropped}")


@main.command("import-cluster")
@click.option("--cluster", "cluster", required=True, help="Name (or ARN) of the ECS cluster to snapshot.")
@click.option("--region", default=None, help="AWS region  [default: the environment's or profile's].")
@click.option("--profile", default=None, help="AWS named profile  [default: the environment's].")
@click.option("--duration", default="1h", show_default=True, help="Duration of the scenario written.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Scenario file to write (YAML).")
@click.option("--force", is_flag=True, help="Replace a scenario file that import-cluster wrote before.")
def import_cluster(cluster: str, region: str | None, profile: str | None, duration: str, out: Path,
                   force: bool) -> None:
    """Snapshot a live ECS cluster (read-only API calls) into a scenario that starts in its current
    state; needs pip install 'ecssim[aws]'."""
    from .aws import SnapshotError, check_target, write_snapshot
    from .aws import import_cluster as read_and_map

    try:
        check_target(out, force)
        imported = read_and_map(cluster, region=region, profile=profile, duration=duration)
        write_snapshot(imported, out, force=force)
    except (SnapshotError, MissingExtraError) as error:
        _fail(str(error))
    except OSError as error:
        _fail(f"{out}: cannot write: {error.strerror or error}")
    click.echo("\n".join(imported.header + [f"# warning: {w}" for w in imported.warnings]))
    click.echo(f"written: {out}")


if __name__ == "__main__":  # pragma: no cover
    main()
