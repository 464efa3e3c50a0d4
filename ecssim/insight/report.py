"""The answer of a headroom query: a small dataclass with a table and a readable text."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from ecssim.placement import TaskDemand


@dataclass(frozen=True, slots=True)
class LossCase:
    """Headroom after losing some capacity (the largest AZ or the largest instance).

    Attributes:
        lost: the AZ name or instance id removed.
        instances_lost: ACTIVE instances removed.
        displaced: tasks they were running (desired status RUNNING), re-placed first.
        displaced_unplaced: displaced tasks that found no room on the survivors.
        fits: tasks of the task definition that still fit after that.
        binding: the failure reason that ended the count (``RESOURCE:MEMORY``, ...).
    """

    lost: str
    instances_lost: int
    displaced: int
    displaced_unplaced: int
    fits: int
    binding: str


@dataclass(frozen=True, slots=True)
class HeadroomReport:
    """How many more tasks of one task definition fit (see :func:`ecssim.insight.headroom`).

    Attributes:
        task_definition: ``family:revision`` (``(demand)`` for a bare TaskDemand).
        demand: what one task reserves.
        time_s: simulated time of the state (NaN for a bare view).
        instances: ACTIVE instances counted.
        total: tasks that fit now on the whole cluster.
        binding: reason that ended the count (the closest instance's first failing check).
        per_az: AZ -> tasks that fit on that AZ's instances alone.
        after_az_loss, after_instance_loss: the N+1 cases (None without ACTIVE instances).
    """

    task_definition: str
    demand: TaskDemand
    time_s: float
    instances: int
    total: int
    binding: str
    per_az: dict[str, int] = field(default_factory=dict)
    after_az_loss: LossCase | None = None
    after_instance_loss: LossCase | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row per figure: ``scope`` (total, az, without_largest_az,
        without_largest_instance), ``name``, ``fits``, ``binding``, ``instances_lost``,
        ``displaced``, ``displaced_unplaced``."""
        rows = [("total", "", self.total, self.binding, 0, 0, 0)]
        rows += [("az", az, n, "", 0, 0, 0) for az, n in self.per_az.items()]
        for scope, case in (("without_largest_az", self.after_az_loss),
                            ("without_largest_instance", self.after_instance_loss)):
            if case is not None:
                rows.append((scope, case.lost, case.fits, case.binding, case.instances_lost, case.displaced,
                             case.displaced_unplaced))
        columns = ["scope", "name", "fits", "binding", "instances_lost", "displaced", "displaced_unplaced"]
        return pd.DataFrame(rows, columns=columns)

    def __str__(self) -> str:
        d = self.demand
        when = "" if self.time_s != self.time_s else f" at t={self.time_s:g}s"
        lines = [
            f"headroom for {self.task_definition} ({d.cpu} CPU, {d.memory_mib} MiB){when}, "
            f"{self.instances} ACTIVE instances",
            f"  fits now: {self.total} more (binding: {self.binding})",
        ]
        if self.per_az:
            lines.append("  per AZ alone: " + ", ".join(f"{az or '(none)'} {n}" for az, n in self.per_az.items()))
        for what, case in (("AZ", self.after_az_loss), ("instance", self.after_instance_loss)):
            if case is None:
                continue
            lost = f"{_n(case.instances_lost, 'instance')}, " if what == "AZ" else ""
            lines.append(
                f"  after losing the largest {what} {case.lost} ({lost}{_n(case.displaced, 'task')} re-placed, "
                f"{case.displaced_unplaced} unplaced): {case.fits} (binding: {case.binding})"
            )
        return "\n".join(lines)


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
