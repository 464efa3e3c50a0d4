"""Availability Zone rebalancing of a service's tasks (ecs-reference 4.7), as a pure function.

ECS rebalances services whose first placement strategy spreads over
``attribute:ecs.availability-zone`` (``availabilityZoneRebalancing`` ENABLED, CreateService's
default): once the service is in a steady state and its tasks are unevenly spread, it starts
tasks in the AZs with the fewest and stops tasks in the AZs with the most. ``moves`` says
how many tasks to move out of which AZ; the service scheduler then replaces those tasks
(start-first within ``maximumPercent``, as for draining), and its spread strategy places the
replacements in the AZs with the fewest tasks.
"""

from __future__ import annotations

AZ_SPREAD = ("spread", "attribute:ecs.availability-zone")


def spreads_over_azs(strategies) -> bool:  # noqa: ANN001
    """Whether the first placement strategy spreads over AZs (ECS's default for services does)."""
    return bool(strategies) and tuple(strategies[0]) == AZ_SPREAD


def moves(tasks_per_az: dict[str, int], open_azs: set[str]) -> dict[str, int]:
    """Tasks to move out of each AZ so that no AZ has 2 more tasks than an AZ that has room.

    ``tasks_per_az``: the service's tasks in every AZ it may use (0 included); ``open_azs``:
    the AZs where a task of the service fits now. Greedy, one task at a time from the fullest
    AZ to the emptiest open one (ties by AZ name), so the result is deterministic.
    """
    counts = dict(tasks_per_az)
    out: dict[str, int] = {}
    targets = sorted(az for az in open_azs if az in counts)
    if not targets:
        return out
    while True:
        source = min(counts, key=lambda az: (-counts[az], az))
        target = min(targets, key=lambda az: (counts[az], az))
        if counts[source] - counts[target] <= 1:
            return out
        counts[source] -= 1
        counts[target] += 1
        out[source] = out.get(source, 0) + 1
