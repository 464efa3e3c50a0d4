"""Experiments at scale: replications, parameter sweeps with common random numbers, capacity search.

>>> import ecssim
>>> exp = ecssim.load_experiment("scenarios/experiments/az-outage-fleet-size.yaml")  # doctest: +SKIP
>>> result = ecssim.experiment(exp, workers=2)                                  # doctest: +SKIP
>>> result.metric("recovery_time_p95_s")                                        # doctest: +SKIP
>>> ecssim.find_min_capacity("scenarios/az-outage-terminated.yaml", "cluster.fleets[0].count",
...                          ["recovery_time_p95_s <= 300"], low=3, high=30)      # doctest: +SKIP
"""

from .executors import EXECUTORS, DaskExecutor, ProcessExecutor, SerialExecutor, make_executor
from .paths import PathError, parse_path, set_path
from .runner import RunRecord, RunSpec
from .search import CapacityPlan, Criterion, find_min_capacity
from .spec import Experiment, Point, load_experiment
from .stats import Interval, lower_bound, mean_interval, t_quantile, upper_bound
from .sweep import ExperimentResult, SweepInterrupted, experiment, run_spec

__all__ = [
    "EXECUTORS",
    "CapacityPlan",
    "Criterion",
    "DaskExecutor",
    "Experiment",
    "ExperimentResult",
    "Interval",
    "PathError",
    "Point",
    "ProcessExecutor",
    "RunRecord",
    "RunSpec",
    "SerialExecutor",
    "SweepInterrupted",
    "experiment",
    "find_min_capacity",
    "load_experiment",
    "lower_bound",
    "make_executor",
    "mean_interval",
    "parse_path",
    "run_spec",
    "set_path",
    "t_quantile",
    "upper_bound",
]
