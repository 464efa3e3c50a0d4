"""Shared helpers for the scenario tests: a minimal valid scenario as a dict."""

from __future__ import annotations

import copy
from typing import Any

import pytest

MINIMAL: dict[str, Any] = {
    "duration": "1h",
    "cluster": {"fleets": [{"name": "main", "instanceType": "m5.large", "count": 2}]},
    "taskDefinitions": [
        {"family": "web", "containerDefinitions": [{"name": "web", "image": "nginx", "memory": 256}]}
    ],
    "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 2}],
}


@pytest.fixture
def minimal() -> dict[str, Any]:
    """A fresh copy of a minimal valid scenario, to break in one place per test."""
    return copy.deepcopy(MINIMAL)
