"""``ecssim explain``: readable tables, the --service choice, and exit status 2 for bad ids."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from ecssim.cli import main

ROOT = Path(__file__).resolve().parents[2]
TEACHING = str(ROOT / "scenarios" / "teaching-3-instances.yaml")


def invoke(*args: str):
    return CliRunner().invoke(main, list(args))


def test_explain_task_prints_verdict_request_and_table() -> None:
    out = invoke("explain", TEACHING, "--seed", "1", "--task", "t-000003")
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert lines[0] == ("t-000003 at t=0.0s (service frontend, frontend:1): placed on i-00000000000000003 "
                        "(rank 1 of 2 candidates); 1 filtered: 1 RESOURCE:PORTS")
    assert lines[1].startswith("request: 256 CPU, 512 MiB, ports 80/tcp; group service:frontend;")
    assert "<- chosen" in out.output and "port 80/tcp in use" in out.output


def test_explain_service_explains_its_latest_failure() -> None:
    out = invoke("explain", TEACHING, "--seed", "1", "--service", "frontend")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0] == (
        "service frontend: 3 tasks placed, 5 placement failures; explaining its latest failure pf-000005")
    assert "not placed: RESOURCE:PORTS" in out.output and "<- closest" in out.output


def test_explain_service_without_failures_explains_its_latest_placement() -> None:
    out = invoke("explain", TEACHING, "--seed", "1", "--service", "backend")
    assert out.exit_code == 0, out.output
    assert out.output.splitlines()[0].endswith("explaining its latest placement t-000009")


def test_explain_bad_input_exits_2() -> None:
    for args in (("--task", "t-000999"), ("--failure", "pf-000099"), ("--task", "pf-000001"),
                 ("--service", "nope"), ()):
        out = invoke("explain", TEACHING, "--seed", "1", *args)
        assert out.exit_code == 2, (args, out.output)
        assert "Traceback" not in out.output
    assert "it created 9 tasks" in invoke("explain", TEACHING, "--seed", "1", "--task", "t-000999").output
