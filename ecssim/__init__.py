"""ecssim: a discrete-event simulator of Amazon ECS clusters.

>>> import ecssim
>>> scenario = ecssim.load_scenario("scenarios/demo.yaml")   # doctest: +SKIP
>>> result = ecssim.simulate(scenario, seed=7)               # doctest: +SKIP
>>> result.summary()["recovery_time_p95_s"]                  # doctest: +SKIP
"""

from .analysis import Result, load_result
from .experiments import (
    CapacityPlan,
    Experiment,
    ExperimentResult,
    experiment,
    find_min_capacity,
    load_experiment,
)
from .scenario import Scenario, ScenarioError, load_scenario, load_scenario_dict, validate_file
from .simulation import Simulation, simulate

try:
    from importlib.metadata import version as _version

    __version__ = _version("ecssim")
except Exception:  # pragma: no cover - running from a source tree without installing
    __version__ = "0.0.0"

__all__ = [
    "CapacityPlan",
    "Experiment",
    "ExperimentResult",
    "Result",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "__version__",
    "experiment",
    "find_min_capacity",
    "load_experiment",
    "load_result",
    "load_scenario",
    "load_scenario_dict",
    "simulate",
    "validate_file",
]
