"""The cost metrics of the online summary (:mod:`ecssim.analysis.online`), billed as resources end.

Each instance and each Fargate task is billed once: when it ends (INACTIVE, STOPPED), with
the minimum billed time, or at the end of the run without it, the way
:func:`~ecssim.analysis.cost.cost_table` bills it and ``cost_metrics`` clips it to the window.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from ecssim.analysis.cost import (
    _HOUR_S,
    COST_METRIC_NAMES,
    DEFAULT_MINIMUM_BILLED_S,
    FARGATE_TASK,
    INSTANCE,
    _fargate_hourly,
)
from ecssim.analysis.online_sums import CompensatedSum

NAN = math.nan


class OnlineCost:
    """Window cost of the resources billed so far, and the task-seconds RUNNING in the window."""

    __slots__ = ("start", "end", "prices", "minimum_billed_s", "sums", "running_s")

    def __init__(self, start: float, end: float, prices: Mapping[str, Any] | None) -> None:
        """``prices``: the scenario's ``prices`` section in camelCase (None: every cost is NaN)."""
        self.start, self.end = start, end
        self.prices = prices or None
        self.minimum_billed_s = (float(prices.get("minimumBilledSeconds", DEFAULT_MINIMUM_BILLED_S))
                                 if prices else DEFAULT_MINIMUM_BILLED_S)
        self.sums = {INSTANCE: CompensatedSum(), FARGATE_TASK: CompensatedSum()}
        self.running_s = CompensatedSum()  # RUNNING intervals closed so far, clipped to the window

    def instance_hourly(self, kind: str, market: str) -> float:
        """An instance type's hourly price in its market (NaN if the prices do not give it)."""
        table = (self.prices or {}).get("instances") or {}
        price = (table.get(kind) or {}).get("spot" if market == "spot" else "onDemand")
        return NAN if price is None else float(price)

    def fargate_hourly(self, cpu: int, memory: int, spot: bool) -> float | None:
        """A Fargate task's hourly price (``cpu`` units, ``memory`` MiB); None without prices."""
        if not self.prices:
            return None
        return _fargate_hourly(self.prices.get("fargate"), cpu / 1024, memory / 1024, spot)

    def bill(self, resource: str, hourly: float, start: float, end: float, *, ended: bool) -> None:
        """Add a resource's cost in the window, as ``cost_table`` bills it and ``cost_metrics`` clips it."""
        length = max(end - start, 0.0)
        billed = max(length, self.minimum_billed_s) if ended else length
        seconds = start + billed - max(start, self.start)
        self.sums[resource].add(hourly * (seconds if seconds > 0.0 else 0.0) / _HOUR_S)

    def bill_fargate(self, hourly: float, pulled: float | None, pending: float | None, end: float, *,
                     ended: bool) -> None:
        """Bill a Fargate task from its first pull (else its first PENDING row) to ``end``."""
        start = pulled if pulled is not None else pending
        if start is not None:  # stopped in PROVISIONING: never pulled, never billed
            self.bill(FARGATE_TASK, hourly, start, end, ended=ended)

    def running(self, since: float, until: float) -> None:
        """A task was RUNNING from ``since`` to ``until``: its seconds in the window count."""
        seconds = min(until, self.end) - max(since, self.start)
        self.running_s.add(seconds if seconds > 0.0 else 0.0)

    def metrics(self, live_instances: Iterable[tuple[float, float]],
                live_fargate: Iterable[tuple[float, float | None, float | None]]) -> dict[str, float]:
        """The cost metrics, once the run is over: what is still live is billed to the end,
        without the minimum (``live_instances``: (hourly, launched at) each;
        ``live_fargate``: (hourly, first pull, first PENDING) of each Fargate task not stopped)."""
        if not self.prices:
            return dict.fromkeys(COST_METRIC_NAMES, NAN)
        for hourly, launched_at in live_instances:
            self.bill(INSTANCE, hourly, launched_at, self.end, ended=False)
        for hourly, pulled, pending in live_fargate:
            self.bill_fargate(hourly, pulled, pending, self.end, ended=False)
        instances, fargate = self.sums[INSTANCE].value(), self.sums[FARGATE_TASK].value()
        total = instances + fargate
        task_hours = self.running_s.value() / _HOUR_S
        return {
            "cost_usd": total,
            "cost_instances_usd": instances,
            "cost_fargate_usd": fargate,
            "cost_per_task_hour_usd": total / task_hours if task_hours > 0 else NAN,
        }
