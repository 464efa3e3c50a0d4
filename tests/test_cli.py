"""The command line: exit statuses, messages without tracebacks, output folders."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecssim.cli import main

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "scenarios" / "teaching-3-instances.yaml"


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_run_prints_summary_and_writes_tables(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = invoke("run", str(DEMO), "--seed", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "teaching-3-instances (seed 3)" in result.output
    assert "placement failures" in result.output
    for name in ("events", "tasks", "instances", "capacity", "recovery", "placement_failures", "service_events"):
        assert (out / f"{name}.csv").is_file()
    provenance = json.loads((out / "provenance.json").read_text())
    assert provenance["seed"] == 3
    assert {"ecssim_version", "numpy_version", "pandas_version", "simpy_version"} <= set(provenance)


def test_run_twice_needs_force_and_force_replaces(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert invoke("run", str(DEMO), "--out", str(out)).exit_code == 0
    again = invoke("run", str(DEMO), "--out", str(out))
    assert again.exit_code == 2
    assert "--force" in again.output
    assert invoke("run", str(DEMO), "--out", str(out), "--force").exit_code == 0


def test_force_never_replaces_a_folder_the_user_wrote(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("precious")
    result = invoke("run", str(DEMO), "--out", str(out), "--force")
    assert result.exit_code == 2
    assert "not written by ecssim" in result.output
    assert (out / "notes.txt").read_text() == "precious"


def test_missing_file_is_bad_input() -> None:
    result = invoke("run", "no/such/file.yaml")
    assert result.exit_code == 2
    assert "no/such/file.yaml" in result.output
    assert "Traceback" not in result.output


def test_validate_reports_every_file_and_fails_on_any_error() -> None:
    invalid = sorted((ROOT / "scenarios" / "invalid").glob("*.yaml"))
    assert invalid, "scenarios/invalid/ holds examples that must fail"
    result = invoke("validate", str(DEMO), str(invalid[0]))
    assert result.exit_code == 2
    assert f"{DEMO}: OK" in result.output


def test_validate_accepts_every_example_scenario() -> None:
    files = sorted(str(p) for p in (ROOT / "scenarios").glob("*.yaml"))
    result = invoke("validate", *files)
    assert result.exit_code == 0, result.output
    assert result.output.count(": OK") == len(files)


def test_schema_is_json_schema() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert "cluster" in schema["properties"]
    assert "warmStart" in schema["properties"]


def test_parquet_format(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    out = tmp_path / "pq"
    assert invoke("run", str(DEMO), "--out", str(out), "--format", "parquet").exit_code == 0
    assert (out / "events.parquet").is_file()


def test_parquet_without_pyarrow_says_which_extra(tmp_path: Path) -> None:
    """With pyarrow hidden, --format parquet fails clearly (status 2) and names the extra."""
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from ecssim.cli import main\n"
        f"main(['run', {str(DEMO)!r}, '--out', {str(tmp_path / 'x')!r}, '--format', 'parquet'])\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "ecssim[parquet]" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_input_from_a_real_process_has_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("duration: 1h\ncluster:\n  fleets:\n    - name: a\n      instanceType: m5.lrge\n      count: -1\n")
    proc = subprocess.run([sys.executable, "-m", "ecssim.cli", "run", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "bad.yaml" in proc.stderr
    assert "count" in proc.stderr
    assert "m5.large" in proc.stderr  # the closest valid instance type is suggested


def test_a_failure_inside_a_run_exits_1_with_a_message(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("simulated breakage")

    monkeypatch.setattr("ecssim.simulation.simulate", broken)
    result = invoke("run", str(DEMO))
    assert result.exit_code == 1
    assert "the run failed: RuntimeError: simulated breakage" in result.output
    assert "Traceback" not in result.output
