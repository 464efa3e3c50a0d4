"""Small real results shared by the plot tests (session-scoped: each is simulated once).

- ``small_result``: 30 simulated minutes on four instances in two AZs; services ``web`` (4,
  scaled to 6 at 22 min) and ``api`` (2) plus a ``batch`` load of standalone tasks; one
  instance fails at 10 min (replaced) and ``api`` tasks crash from 12 min on.
- ``no_fault_result``: the same cluster, services, load and scale-up, without faults.
- ``empty_result``: two instances and nothing else: no services, no tasks, no faults.
"""

from __future__ import annotations

import copy
import os
from types import SimpleNamespace

import matplotlib
import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

import ecssim
from ecssim.analysis import Result

os.environ.setdefault("MPLBACKEND", "Agg")
matplotlib.use("Agg")

SEED = 3

SMALL_SCENARIO: dict = {
    "name": "plots-small",
    "duration": "30m",
    "warmStart": True,
    "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 4,
                            "availabilityZones": ["us-east-1a", "us-east-1b"]}]},
    "taskDefinitions": [
        {"family": "web", "containerDefinitions": [
            {"name": "w", "image": "example/web:1", "cpu": 256, "memoryReservation": 512}]},
        {"family": "api", "containerDefinitions": [
            {"name": "a", "image": "example/api:1", "cpu": 512, "memoryReservation": 1024}]},
        {"family": "batch", "cpu": "0.25 vCPU", "memory": "512 MiB",
         "containerDefinitions": [{"name": "b", "image": "example/batch:1"}]},
    ],
    "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 4},
                 {"serviceName": "api", "taskDefinition": "api", "desiredCount": 2}],
    "workloads": [{"name": "batch", "taskDefinition": "batch",
                   "arrivals": {"type": "poisson", "rate": "30/h"},
                   "duration": {"type": "lognormal", "median": "5m", "sigma": 0.5}}],
    "faults": [{"type": "instanceFailure", "name": "lose-one", "at": ["10m"], "select": {"count": 1}},
               {"type": "taskCrash", "name": "crash", "service": "api", "meanTimeToCrash": "20m",
                "start": "12m"}],
    "actions": [{"type": "updateService", "name": "scale-web", "at": "22m", "service": "web",
                 "desiredCount": 6}],
}


def run(data: dict, seed: int = SEED) -> Result:
    """Simulate a scenario given as a dict (camelCase keys, as in a file)."""
    return ecssim.simulate(ecssim.load_scenario_dict(copy.deepcopy(data)), seed=seed)


@pytest.fixture(scope="session")
def small_result() -> Result:
    return run(SMALL_SCENARIO)


@pytest.fixture(scope="session")
def no_fault_result() -> Result:
    return run({k: v for k, v in SMALL_SCENARIO.items() if k != "faults"} | {"name": "plots-no-fault"})


@pytest.fixture(scope="session")
def empty_result() -> Result:
    data = {k: SMALL_SCENARIO[k] for k in ("duration", "warmStart")}
    data |= {"name": "plots-empty", "taskDefinitions": [],
             "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 2,
                                     "availabilityZones": ["us-east-1a", "us-east-1b"]}]}}
    return run(data)


def replace_tables(result: Result, **tables) -> Result:
    """A copy of ``result`` with some tables replaced (to build edge cases from a real run)."""
    return Result(result.tables() | tables, scenario=result.scenario, seed=result.seed,
                  replication=result.replication, duration_s=result.duration_s,
                  measure_from_s=result.measure_from_s)


def vertical_marks(ax: Axes) -> list[float]:
    """x positions of the full-height vertical lines (fault and action marks) of an axes."""
    return sorted(float(line.get_xdata()[0]) for line in ax.lines
                  if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]
                  and list(line.get_ydata()) == [0, 1])


def mark_times_s(result: Result) -> list[float]:
    """Times of the first row of each fault occurrence and of each action, from ``events``."""
    rows = result.events[result.events["entity"].isin(("fault", "action"))]
    return sorted(rows.drop_duplicates(["entity", "entity_id"])["time_s"].tolist())


def texts(fig: Figure) -> str:
    """All text written inside the axes of a figure, joined (to assert on messages)."""
    return " | ".join(t.get_text() for ax in fig.axes for t in ax.texts)


@pytest.fixture(scope="session")
def plot_helpers() -> SimpleNamespace:
    """The helpers above, for test modules (conftest modules are not importable by name)."""
    return SimpleNamespace(replace_tables=replace_tables, vertical_marks=vertical_marks,
                           mark_times_s=mark_times_s, texts=texts, run=run, scenario=SMALL_SCENARIO)


@pytest.fixture
def close():
    """Collects figures a test makes (``close(fig)``) and closes them when it ends."""
    import matplotlib.pyplot as plt

    figures = []
    yield figures.append
    for fig in figures:
        plt.close(fig)
