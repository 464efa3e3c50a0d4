"""A RunTask-only cluster against queueing theory: the Erlang loss formula.

Standalone tasks arrive as a Poisson process; a RunTask that finds no instance with room
is lost (ECS creates no task, a ``placement_failures`` row). Four instances each fitting
exactly three tasks by memory give c = 12 servers; each task holds the control-plane ledger
from its creation to STOPPING, i.e. the container start (5 s; the image pull is paid only by
the first task of an instance, before the measurement window) plus its exponential run
time, so the mean holding time is 5 + 115 = 120 s and the offered load is a = lambda x 120 s.
Erlang's loss formula holds for any holding-time distribution (M/G/c/c insensitivity), so
the blocking probability must be B(c, a).

Method: 10 independent replications (``replication=0..9``, common seed) of 13 simulated
hours each, the first hour excluded (``measureFrom``); blocking per replication =
placement failures / arrivals (arrivals = tasks created + placement failures) after the
warm-up; a Student-t 95 % interval over the replications.

Each load point is simulated once per session (the module-scoped ``loss_runs`` fixture); the
four tests per point (informative load, summary = tables, interval tight enough, Erlang-B
inside the interval) only judge it. Tightness required: half-width <= 10 % of the estimate.

Figures (2-core reference machine; 6-8 s per load point, 16 s for the file when idle, 25 s
per point measured while a benchmark shared the machine):
a = 9  -> estimate 0.0833, 95 % CI [0.0768, 0.0898], half-width 7.8 % of the estimate,
          Erlang-B 0.0831;
a = 11 -> estimate 0.1559, 95 % CI [0.1485, 0.1634], half-width 4.8 %, Erlang-B 0.1589.
(Run ``pytest -m statistical -s`` to print them.)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

import ecssim

SERVERS = 12  # 4 instances x 3 tasks
MEAN_HOLDING_S = 120.0  # 5 s container start + 115 s mean run time
WARM_UP_S = 3600.0
REPLICATIONS = 10


def erlang_b(servers: int, load: float) -> float:
    """Erlang's loss formula by the stable recursion B(k) = a B(k-1) / (k + a B(k-1))."""
    b = 1.0
    for k in range(1, servers + 1):
        b = load * b / (k + load * b)
    return b


def loss_scenario(load: float) -> ecssim.Scenario:
    return ecssim.load_scenario_dict(loss_scenario_data(load))


def loss_scenario_data(load: float, *, instances: int = 4, tasks_per_instance: int = 3,
                       duration: str = "13h") -> dict:
    """The loss system as a scenario mapping: ``instances`` x ``tasks_per_instance`` servers."""
    return {
        "name": "erlang-loss",
        "duration": duration,
        "measureFrom": WARM_UP_S,
        "cluster": {"fleets": [{"name": "pool", "instanceType": "m5.large", "count": instances,
                                "registeredMemory": 1024 * tasks_per_instance, "availabilityZones": ["a", "b"]}]},
        "taskDefinitions": [{"family": "job", "containerDefinitions": [
            {"name": "work", "image": "repo/job:1", "cpu": 256, "memory": 1024}]}],
        "workloads": [{
            "name": "arrivals",
            "taskDefinition": "job",
            "arrivals": {"type": "poisson", "rate": load / MEAN_HOLDING_S},
            "duration": {"type": "exponential", "mean": MEAN_HOLDING_S - 5.0},
        }],
        "timing": {"imagePull": "10s", "containerStart": "5s", "agentRegistration": 0},
    }


def blocking(result: ecssim.Result) -> float:
    """Lost / offered RunTask calls after the warm-up, from the output tables."""
    lost = int((result.placement_failures.time_s >= WARM_UP_S).sum())
    created = int((result.tasks.created_at_s >= WARM_UP_S).sum())
    return lost / (lost + created)


def test_erlang_b_recursion():
    assert erlang_b(1, 1.0) == pytest.approx(0.5)
    assert erlang_b(2, 1.0) == pytest.approx(0.2)
    assert erlang_b(12, 10.0) == pytest.approx(0.11974, abs=1e-5)


@dataclass(frozen=True)
class LossRuns:
    """The replications of one load point, reduced to what the tests judge."""

    load: float
    expected: float  # Erlang-B
    estimates: np.ndarray  # blocking per replication, from the tables
    summary_fractions: list[float]  # the summaries' placement_failure_fraction
    mean: float
    half_width: float  # Student-t 95 %


@pytest.fixture(scope="module", params=[9.0, 11.0], ids=lambda load: f"a={load:g}")
def loss_runs(request) -> LossRuns:
    """Simulated once per load for the whole session (the tests below share it)."""
    load = request.param
    scenario = loss_scenario(load)
    started = time.perf_counter()
    results = [ecssim.simulate(scenario, seed=2024, replication=r) for r in range(REPLICATIONS)]
    estimates = np.array([blocking(result) for result in results])
    fractions = [r.summary()["placement_failure_fraction"] for r in results]
    mean = float(estimates.mean())
    half_width = float(stats.t.ppf(0.975, REPLICATIONS - 1) * estimates.std(ddof=1) / math.sqrt(REPLICATIONS))
    expected = erlang_b(SERVERS, load)
    print(f"\na={load}: blocking {mean:.4f}, 95% CI [{mean - half_width:.4f}, {mean + half_width:.4f}] "
          f"(half-width {half_width / mean:.1%}), Erlang-B {expected:.4f}, {time.perf_counter() - started:.1f} s")
    return LossRuns(load, expected, estimates, fractions, mean, half_width)


@pytest.mark.statistical
def test_load_point_is_informative(loss_runs):
    assert 0.05 <= loss_runs.expected <= 0.30


@pytest.mark.statistical
def test_summary_blocking_is_the_tables_ratio(loss_runs):
    # the summary's placement_failure_fraction is the same ratio over the same window
    assert loss_runs.summary_fractions == pytest.approx(list(loss_runs.estimates))


@pytest.mark.statistical
def test_interval_is_tight_enough_to_judge(loss_runs):
    assert loss_runs.half_width <= 0.10 * loss_runs.mean, "run longer: the interval is too wide to judge"


@pytest.mark.statistical
def test_runtask_blocking_matches_erlang_b(loss_runs):
    r = loss_runs
    assert r.mean - r.half_width <= r.expected <= r.mean + r.half_width
