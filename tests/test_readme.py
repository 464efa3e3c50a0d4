"""The README's promises: two set-up commands, runnable examples, documented columns and metrics."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from ecssim.analysis import DYNAMIC_METRIC_PATTERNS, METRIC_NAMES, SCHEMAS
from ecssim.experiments import load_experiment
from ecssim.scenario import load_scenario_dict

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
BLOCK = re.compile(r"```(\w+)\n(.*?)```", re.DOTALL)
BASE = {
    "duration": "10m",
    "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 3,
                            "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]}]},
    "taskDefinitions": [
        {"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "memory": 512}]},
        {"family": "batch", "containerDefinitions": [{"name": "job", "image": "y", "memory": 512}]},
    ],
    "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 2}],
}


#: The Placement section's examples are whole scenarios run with their outputs by
#: tests/test_readme_placement.py (its Python blocks read the scenarios saved as files).
_HEAD, _, _REST = README.partition("\n## Placement\n")
OUTSIDE_PLACEMENT = _HEAD + "\n## " + _REST.split("\n## ", 1)[1] if _REST else README


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(OUTSIDE_PLACEMENT) if lang == language]


def test_quick_start_has_exactly_two_commands() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    shell = [body for lang, body in BLOCK.findall(section) if lang == "sh"]
    assert len(shell) == 1
    commands = [line for line in shell[0].splitlines() if line.strip()]
    assert len(commands) == 2
    assert "ecssim run scenarios/demo.yaml" in commands[0]
    assert commands[1].rstrip().endswith("pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands[0] in ci and commands[1] in ci  # CI runs the same two commands


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    exec(compile(blocks("python")[index], f"README.md python block {index}", "exec"), {})


@pytest.mark.parametrize("index", range(len(blocks("yaml"))))
def test_yaml_examples_are_valid(index: int, tmp_path: Path) -> None:
    text = blocks("yaml")[index]
    fragment = yaml.safe_load(text)
    if "axes" in fragment:  # an experiment: the block is the shipped file it names
        shipped = ROOT / text.splitlines()[0].removeprefix("# ").strip()
        assert yaml.safe_load(shipped.read_text(encoding="utf-8")) == {**yaml.safe_load(
            shipped.read_text(encoding="utf-8")), **fragment}
        assert load_experiment(shipped).axes == fragment["axes"]
        return
    data = dict(BASE)
    data.update(fragment)
    if "workloads" in fragment:  # the trace example's path is relative to scenarios/
        base_dir = ROOT / "scenarios"
    else:
        base_dir = tmp_path
    load_scenario_dict(data, source=f"README.md yaml block {index}", base_dir=base_dir)


def test_every_table_column_is_documented() -> None:
    missing = [f"{table}.{column}" for table, schema in SCHEMAS.items() if table != "service_counts"
               for column in schema if f"`{column}`" not in README]
    assert not missing, f"columns not documented in the README: {missing}"


def test_every_summary_metric_is_documented() -> None:
    missing = [name for name in METRIC_NAMES if f"`{name}`" not in README]
    assert not missing


def test_every_dynamic_summary_pattern_is_documented() -> None:
    missing = [pattern for pattern in DYNAMIC_METRIC_PATTERNS if f"`{pattern}`" not in README]
    assert not missing
