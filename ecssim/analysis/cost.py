"""What a run cost: one row per billed resource (container instance or Fargate task), and the
cost metrics of the summary.

Prices come from the scenario's optional ``prices`` section, in the camelCase form of the
resolved scenario (``{"instances": {"m5.large": {"onDemand": 0.096, "spot": 0.035}},
"fargate": {"vcpuHour": ..., "gbHour": ...}, "minimumBilledSeconds": 60}``); ecssim ships none.

Billing follows AWS's published rules: EC2 Linux instances bill per second from launch (boot
and agent registration included) to termination, Fargate tasks per second "from the time you
start to download your container image until the Amazon ECS task terminates", both with a
one-minute minimum (``minimumBilledSeconds``). A resource still running when the run ends is
billed up to the end with no minimum (its bill is not over). A resource whose price is
missing gets NaN ``hourly_usd`` and ``cost_usd``, and makes the cost metrics NaN.

Every function is pure over the run's tables.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ecssim.analysis.schema import RUNNING, SCHEMAS, STOPPED, frame
from ecssim.scenario.catalog import instance_type

#: The cost table's columns and dtypes.
COST_SCHEMA: dict[str, str] = SCHEMAS["cost"]
#: The summary's cost metrics, in order (NaN without prices).
COST_METRIC_NAMES: tuple[str, ...] = (
    "cost_usd",
    "cost_instances_usd",
    "cost_fargate_usd",
    "cost_per_task_hour_usd",
)
INSTANCE, FARGATE_TASK = "instance", "fargate_task"
#: Default of ``prices.minimumBilledSeconds``: EC2 Linux and Fargate's one-minute minimum.
DEFAULT_MINIMUM_BILLED_S = 60.0
_HOUR_S = 3600.0


def _state_rows(events: pd.DataFrame, entity: str) -> pd.DataFrame:
    return events[(events["entity"] == entity) & (events["event"] == "state")]


def _first_time(rows: pd.DataFrame) -> pd.Series:
    """Earliest ``time_s`` per ``entity_id`` of ``rows``."""
    return rows.groupby("entity_id")["time_s"].min()


def _billed(start: np.ndarray, end: np.ndarray, ended: np.ndarray, minimum: float) -> np.ndarray:
    """Seconds billed: the minimum applies only to resources that ended before the run did."""
    length = np.maximum(end - start, 0.0)
    return np.where(ended, np.maximum(length, minimum), length)


def _instance_rows(instances: pd.DataFrame, events: pd.DataFrame, prices: Mapping[str, Any],
                   end_s: float, minimum: float) -> pd.DataFrame:
    """One row per container instance: billed from launch to its INACTIVE row (or the end)."""
    inactive = _first_time(_state_rows(events, "instance").query("to_state == 'INACTIVE'"))
    stopped = instances["instance_id"].map(inactive).to_numpy(dtype=float)
    ended = ~np.isnan(stopped)
    start = instances["launched_at_s"].to_numpy(dtype=float)
    end = np.where(ended, stopped, end_s)
    table = prices.get("instances") or {}

    def hourly(kind: str, market: str) -> float:
        price = (table.get(kind) or {}).get("spot" if market == "spot" else "onDemand")
        return math.nan if price is None else float(price)

    kinds, markets = instances["instance_type"].tolist(), instances["market"].tolist()
    return pd.DataFrame({
        "resource_type": INSTANCE,
        "resource_id": instances["instance_id"].to_numpy(),
        "instance_type": kinds,
        "market": markets,
        "vcpu": [float(instance_type(k).vcpus) for k in kinds],
        "memory_gb": [instance_type(k).memory_mib / 1024 for k in kinds],
        "start_s": start,
        "end_s": end,
        "billed_s": _billed(start, end, ended, minimum),
        "hourly_usd": [hourly(k, m) for k, m in zip(kinds, markets, strict=True)],
    })


def _fargate_hourly(fargate: Mapping[str, Any] | None, vcpu: float, memory_gb: float, spot: bool) -> float:
    """A Fargate task's hourly price (NaN when the prices it needs are not given)."""
    if not fargate:
        return math.nan
    per_vcpu = fargate.get("spotVcpuHour" if spot else "vcpuHour")
    per_gb = fargate.get("spotGbHour" if spot else "gbHour")
    if per_vcpu is None or per_gb is None:
        return math.nan
    return vcpu * float(per_vcpu) + memory_gb * float(per_gb)


def _fargate_rows(tasks: pd.DataFrame, events: pd.DataFrame, prices: Mapping[str, Any],
                  end_s: float, minimum: float) -> pd.DataFrame:
    """One row per Fargate task that got as far as pulling (or PENDING): billed to STOPPED."""
    fargate = tasks[tasks["launch_type"] == "FARGATE"]
    task_events = events[events["entity"] == "task"]
    pulls = _first_time(task_events[task_events["event"] == "pull_started"])
    states = _state_rows(events, "task")
    pending = _first_time(states[states["to_state"] == "PENDING"])
    stops = _first_time(states[states["to_state"] == STOPPED])
    ids = fargate["task_id"]
    start = ids.map(pulls).fillna(ids.map(pending)).to_numpy(dtype=float)
    billed_task = ~np.isnan(start)  # stopped in PROVISIONING: never pulled, never billed
    stopped = ids.map(stops).to_numpy(dtype=float)
    ended = ~np.isnan(stopped)
    end = np.where(ended, stopped, end_s)
    if "capacity_provider" in fargate.columns:
        spot = fargate["capacity_provider"].astype(str).to_numpy() == "FARGATE_SPOT"
    else:
        spot = np.zeros(len(fargate), dtype=bool)
    vcpu = fargate["cpu"].to_numpy(dtype=float) / 1024
    memory_gb = fargate["memory_mib"].to_numpy(dtype=float) / 1024
    rows = pd.DataFrame({
        "resource_type": FARGATE_TASK,
        "resource_id": ids.to_numpy(),
        "instance_type": "",
        "market": np.where(spot, "spot", "on-demand"),
        "vcpu": vcpu,
        "memory_gb": memory_gb,
        "start_s": start,
        "end_s": end,
        "billed_s": _billed(start, end, ended, minimum),
        "hourly_usd": [_fargate_hourly(prices.get("fargate"), c, m, s)
                       for c, m, s in zip(vcpu, memory_gb, spot, strict=True)],
    })
    return rows[billed_task]


def cost_table(instances: pd.DataFrame, tasks: pd.DataFrame, events: pd.DataFrame,
               prices: Mapping[str, Any] | None, end_s: float) -> pd.DataFrame:
    """The ``cost`` table: container instances (in instance order), then Fargate tasks.

    ``prices``: the scenario's ``prices`` section as a camelCase mapping; None (no prices)
    gives an empty table. ``end_s``: the end of the run, where running resources stop being
    billed. ``tasks`` may lack a ``capacity_provider`` column (every Fargate task is then
    ``FARGATE``, priced On-Demand).
    """
    if not prices:
        return frame([], COST_SCHEMA)
    minimum = float(prices.get("minimumBilledSeconds", DEFAULT_MINIMUM_BILLED_S))
    parts = [part for part in (_instance_rows(instances, events, prices, end_s, minimum),
                               _fargate_rows(tasks, events, prices, end_s, minimum)) if len(part)]
    if not parts:
        return frame([], COST_SCHEMA)
    rows = pd.concat(parts, ignore_index=True)
    rows["cost_usd"] = rows["hourly_usd"] * rows["billed_s"] / _HOUR_S
    return frame(rows.to_dict("list"), COST_SCHEMA)


def running_task_seconds(events: pd.DataFrame, start: float, end: float) -> float:
    """Task-seconds spent RUNNING within ``[start, end]``, from the tasks' state rows.

    A task is RUNNING from its row to RUNNING until its next state row (or ``end``); rows of
    a task are taken in log order (``seq``).
    """
    states = _state_rows(events, "task").sort_values(["entity_id", "seq"], kind="stable")
    following = states.groupby("entity_id")["time_s"].shift(-1).fillna(end)
    running = (states["to_state"] == RUNNING).to_numpy()
    begin = np.maximum(states["time_s"].to_numpy(dtype=float)[running], start)
    finish = np.minimum(following.to_numpy(dtype=float)[running], end)
    return float(np.clip(finish - begin, 0.0, None).sum())


def _window_cost(rows: pd.DataFrame, start: float) -> float:
    """Cost of the part of each billed interval [start_s, start_s + billed_s] at or after ``start``.

    NaN if any row has no price (a partial sum would understate the bill).
    """
    begin = rows["start_s"].to_numpy(dtype=float)
    finish = begin + rows["billed_s"].to_numpy(dtype=float)
    seconds = np.clip(finish - np.maximum(begin, start), 0.0, None)
    costs = rows["hourly_usd"].to_numpy(dtype=float) * seconds / _HOUR_S
    return float(costs.sum())


def cost_metrics(cost: pd.DataFrame | None, events: pd.DataFrame, start: float, end: float) -> dict[str, float]:
    """The summary's cost metrics over the window; all NaN when ``cost`` is None (no prices).

    Each resource's billed interval is clipped to start at ``start`` (``measureFrom``); the
    ``cost`` table itself keeps whole intervals. ``cost_per_task_hour_usd`` divides the total
    by the task-hours RUNNING in ``[start, end]`` (NaN when there are none).
    """
    if cost is None:
        return dict.fromkeys(COST_METRIC_NAMES, math.nan)
    kinds = cost["resource_type"].to_numpy()
    instances = _window_cost(cost[kinds == INSTANCE], start)
    fargate = _window_cost(cost[kinds == FARGATE_TASK], start)
    total = instances + fargate
    task_hours = running_task_seconds(events, start, end) / _HOUR_S
    return {
        "cost_usd": total,
        "cost_instances_usd": instances,
        "cost_fargate_usd": fargate,
        "cost_per_task_hour_usd": total / task_hours if task_hours > 0 else math.nan,
    }
