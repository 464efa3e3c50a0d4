"""The ``ecssim`` command line: run, validate, schema, explain and headroom.

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
from .scenario import ScenarioError, load_scenario, scenario_json_schema, validate_file
from .scenario.traces import TraceError
from .units import format_duration

BAD_INPUT = 2
RUN_FAILED = 1
_INPUT_ERRORS = (ScenarioError, OutputFolderError, MissingExtraError, TraceError)


def _fail(message: str, status: int = BAD_INPUT) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(status)


@contextmanager
def _exit_status(debug: bool, input_errors: tuple[type[Exception], ...] = _INPUT_ERRORS) -> Iterator[None]:
    """Bad input exits 2 with its message; any other failure inside a run exits 1."""
    try:
        yield
    except input_errors as error:
        _fail(str(error))
    except Exception as error:  # a failure inside the run: status 1
        if debug:
            traceback.print_exc()
        _fail(f"the run failed: {type(error).__name__}: {error} (use --debug for a traceback)", RUN_FAILED)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="ecssim")
def main() -> None:
    """ecssim: simulate an Amazon ECS cluster over time from a scenario file."""


@main.command()
@click.argument("scenario_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of every random stream.")
@click.option("--replication", type=int, default=0, show_default=True, help="Replication index (streams key).")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder to write the tables into (must be new or empty, see --force).")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet"]), default="csv", show_default=True,
              help="Table file format; parquet needs: pip install 'ecssim[parquet]'.")
@click.option("--force", is_flag=True, help="Replace an output folder that ecssim wrote before.")
@click.option("--debug", is_flag=True, help="Show a traceback when a run fails.")
def run(scenario_file: Path, seed: int, replication: int, out: Path | None, fmt: str, force: bool,
        debug: bool) -> None:
    """Run SCENARIO_FILE and print a short summary (and write the tables with --out)."""
    from .simulation import simulate

    with _exit_status(debug):
        scenario = load_scenario(scenario_file)
        if out is not None:
            from .analysis.output import check_target, require_format

            require_format(fmt)
            check_target(out, force)
        started = time.perf_counter()
        result = simulate(scenario, seed=seed, replication=replication)
        wall = time.perf_counter() - started
        if out is not None:
            result.save(out, format=fmt, force=force)
    click.echo(_summary_text(scenario.name, seed, result.summary(), wall, out))


def _summary_text(name: str, seed: int, summary: dict, wall_s: float, out: Path | None) -> str:
    def seconds(key: str) -> str:
        value = summary.get(key, math.nan)
        return format_duration(value) if value == value else "n/a"

    lines = [
        f"ecssim: {name} (seed {seed}): {format_duration(summary['duration_s'])} simulated in {wall_s:.2f} s",
        f"  tasks created {summary['tasks_created']}, started {summary['tasks_started']}, "
        f"stopped {summary['tasks_stopped']}, placement failures {summary['placement_failures']}",
        f"  peak reserved: CPU {summary['peak_cpu_reserved_fraction']:.0%}, "
        f"memory {summary['peak_memory_reserved_fraction']:.0%}",
        f"  incidents {summary['incidents']}: recovery mean {seconds('recovery_time_mean_s')}, "
        f"p95 {seconds('recovery_time_p95_s')}, max {seconds('recovery_time_max_s')}; "
        f"unrecovered {summary['unrecovered_incidents']}",
    ]
    if out is not None:
        lines.append(f"  tables written to {out}/")
    return "\n".join(lines)


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


@main.command()
@click.option("--indent", type=int, default=2, show_default=True)
def schema(indent: int) -> None:
    """Print the JSON Schema of the scenario format (for editor completion)."""
    click.echo(json.dumps(scenario_json_schema(), indent=indent))


if __name__ == "__main__":  # pragma: no cover
    main()
