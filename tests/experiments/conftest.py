"""Small, fast scenarios and experiment files for the experiments tests."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml


def small_scenario() -> dict[str, Any]:
    """Three m5.large over three AZs, a service of 6 tasks, random instance failures and crashes
    (a run takes about 0.15 s); both faults draw from their own streams."""
    return {
        "name": "small",
        "duration": "2h",
        "warmStart": True,
        "cluster": {"fleets": [{"name": "pool", "instanceType": "m5.large", "count": 3,
                                "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]}]},
        "taskDefinitions": [{"family": "web", "cpu": "0.5 vCPU", "memory": "1 GB",
                             "containerDefinitions": [{"name": "web", "image": "example/web:1"}]}],
        "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 6}],
        "faults": [
            {"type": "instanceFailure", "name": "hosts-fail",
             "timeToFailure": {"type": "exponential", "mean": "3h"}},
            {"type": "taskCrash", "name": "web-crashes", "service": "web", "meanTimeToCrash": "2h"},
        ],
    }


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "small.yaml", small_scenario())


@pytest.fixture
def experiment_file(tmp_path: Path, scenario_file: Path) -> Path:
    """2 x 2 points x 3 replications over the small scenario."""
    return write_yaml(tmp_path / "sweep.yaml", {
        "name": "small-sweep",
        "scenario": scenario_file.name,
        "seed": 7,
        "replications": 3,
        "axes": {"cluster.fleets[0].count": [3, 4], "timing.serviceReaction.period": ["10s", "30s"]},
    })


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_dask() -> None:
    """Dask must be installed in CI (the test then fails); elsewhere the test is skipped."""
    if in_ci():
        import distributed  # noqa: F401 - fails the test in CI when the extra is missing
    else:
        pytest.importorskip("distributed")
