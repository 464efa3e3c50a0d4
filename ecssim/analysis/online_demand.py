"""The demand metrics of the online summary (:mod:`ecssim.analysis.online`).

A service's demand series (its ``demand`` rows, one per resource) is served by the CPU and
memory its RUNNING tasks reserve; as in the ``demand`` table, a step is taken at the end of
each instant where the demand, the RUNNING count or the reservation changed.
"""

from __future__ import annotations

import math

from ecssim.analysis.demand import RESOURCE_COLUMNS
from ecssim.analysis.online_sums import DemandWindow

NAN = math.nan


class OnlineDemand:
    """Per (resource, service): the demand series, and per service what its RUNNING tasks reserve."""

    __slots__ = ("start", "end", "series", "touched", "running_reserved")

    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end
        self.series: dict[tuple[str, str], DemandWindow] = {}  # (resource, service) -> series
        self.touched: dict[str, None] = {}  # services whose demand or RUNNING tasks changed this instant
        self.running_reserved: dict[str, list[int]] = {}  # service -> [RUNNING tasks, their cpu, memory]

    def row(self, resource: str, service: str, value: float) -> None:
        """A ``demand`` row of ``service`` for ``resource`` (a NaN value keeps the last demand, as
        the table forward-fills it)."""
        key = (resource, service)
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = DemandWindow(self.start, self.end)
        if value == value:
            series.demand = float(value)
        self.touched[service] = None

    def running(self, service: str, sign: int, cpu: int, memory: int) -> None:
        """A task of ``service`` entered (``sign`` 1) or left (-1) RUNNING, reserving ``cpu`` and ``memory``."""
        reserved = self.running_reserved.get(service)
        if reserved is None:
            reserved = self.running_reserved[service] = [0, 0, 0]
        reserved[0] += sign
        reserved[1] += sign * cpu
        reserved[2] += sign * memory
        self.touched[service] = None

    def close(self, now: float) -> None:
        """The instant ``now`` ends: a step for each touched series whose levels changed."""
        for service in self.touched:
            running, cpu, memory = self.running_reserved.get(service, (0, 0, 0))
            for resource, capacity in (("cpu", cpu), ("memory", memory)):
                series = self.series.get((resource, service))
                if series is None or series.demand is None:
                    continue
                levels = (series.demand, running, capacity)
                if levels != series.emitted:
                    served = min(series.demand, float(capacity))
                    series.change(now, (series.demand, series.demand - served))
                    series.emitted = levels
        self.touched.clear()

    def finish(self) -> None:
        """The run is over: close every series that has a step."""
        for series in self.series.values():
            if series.emitted is not None:
                series.finish()

    def metrics(self) -> dict[str, float]:
        """``demand_unserved_pct`` and ``demand_unserved_longest_s``, as ``demand_metrics``."""
        shares, longest = [], NAN
        for resource in RESOURCE_COLUMNS:
            offered = unserved = 0.0
            for key in sorted(k for k in self.series if k[0] == resource):
                series = self.series[key]
                if series.emitted is None:
                    continue  # no row in the demand table
                offered += series.offered.value()
                unserved += series.unserved.value()
                longest = series.longest if math.isnan(longest) else max(longest, series.longest)
            if offered > 0:
                shares.append(100.0 * unserved / offered)
        return {"demand_unserved_pct": max(shares) if shares else NAN, "demand_unserved_longest_s": longest}
