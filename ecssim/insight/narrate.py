"""A run told as a human-readable timeline, read from its tables (no re-simulation).

``narrate(result)`` walks ``events`` in order (time, then ``seq``), with ``placement_failures``
and ``service_events`` of the same instant after the event rows, and writes one line per
narrated moment, stamped with the simulated time (``HH:MM:SS`` rounded down, ``1d 02:03:04``
past a day)::

    00:05:00 fault b-down (inc-0001): AZ outage of us-east-1b
    00:05:00 instance i-00000000000000002 (us-east-1b) terminated: 2 tasks of web stopped (Availability zone outage (fault b-down))
    00:05:10 web: placed task t-000006 on i-00000000000000001 (spread by AZ, then binpack memory: least memory left, 3072 MiB)
    00:06:10 web: unable to place a task: no instance has enough memory (RESOURCE:MEMORY)

It is a pure function of the tables and the resolved scenario (``result.scenario``), so a
result loaded from its folder narrates the same; a one-hour run takes well under a second.

Rows of one instant are grouped so that a line says something: an instance's rows become one
line (launched, registered, draining, active again, terminated with the tasks that stopped with
it, per service); instances doing the same thing at once share a line; tasks reaching RUNNING
are counted per service (ids listed, at most five: a start is routine, so one line per service
and instant keeps the text short); identical stops (same stop code and reason) are counted per
service, as in ``web: 4 tasks stopped (TaskFailedToStart: …)``. A counted line sits where its
last row is, a single one where its row is. What is told, and what is left out on purpose:

- a task's *placement* (its first row), with the rationale of
  :class:`~ecssim.insight.narrate_placement.PlacementLedger`;
- a task's *stop* once, when it is decided (its first row into DEACTIVATING, STOPPING or
  STOPPED), with its stop code and reason; the later STOPPED is in the ``tasks`` table;
- *health* only when it goes UNHEALTHY or back to HEALTHY (a new task's first HEALTHY is
  routine and would double the text);
- ``service_events`` that repeat the event rows (started, stopped, unable_to_place,
  deployment_completed, deployment_failed, rollback) are skipped; a steady state is told only
  when the service had a narrated change since its last one;
- image pulls and host resource rows (``pull_*``, ``host_*``) and intermediate task states
  are silent; any other row the narration does not know gets a plain generic line.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import TYPE_CHECKING

import pandas as pd

from ecssim.insight.narrate_moment import LogContext, Moment, NarratedLine
from ecssim.insight.narrate_placement import PlacementLedger

if TYPE_CHECKING:
    from ecssim.analysis.result import Result

__all__ = ["NARRATION_KINDS", "NarratedLine", "narrate", "narrate_lines", "narration"]

#: The kinds of narrated line, for the ``kinds`` filter.
NARRATION_KINDS: tuple[str, ...] = (
    "instance",  # launched, registered, draining, active again, terminated; agent connection
    "fault",  # a fault starts or ends
    "action",  # a scenario action
    "service",  # created, desired count, service events (steady state, rebalancing, ...)
    "deployment",  # a rollout starts, completes, fails, rolls back
    "placement",  # a task placed, with its rationale
    "placement_failure",  # a task that found no instance
    "running",  # tasks reaching RUNNING
    "stop",  # tasks stopping, with stop code and reason
    "health",  # a task UNHEALTHY, or HEALTHY again
    "capacity",  # a capacity provider changes its group's DesiredCapacity
    "other",  # rows the narration does not know
)

_EVENT_FIELDS = ("seq", "time_s", "entity", "entity_id", "event", "from_state", "to_state", "reason",
                 "stop_code", "instance_id", "az", "service", "group", "task_definition", "incident_id", "value")


def narration(result: Result) -> list[NarratedLine]:
    """Every narrated line of a run, sorted by time and then log order (no filter)."""
    ledger = PlacementLedger(result.scenario, result.tasks, result.instances)
    context = LogContext(result.events)
    events = result.events.sort_values(["time_s", "seq"], kind="stable")
    rows = list(events.loc[:, list(_EVENT_FIELDS)].itertuples(index=False, name="Row"))
    failures = _by_time(result.placement_failures)
    messages = _by_time(result.service_events)
    times = sorted({row.time_s for row in rows} | set(failures) | set(messages))
    unsettled: dict[str, bool] = {}
    lines: list[NarratedLine] = []
    position = 0
    for t in times:
        moment = Moment(t, ledger, context)
        while position < len(rows) and rows[position].time_s == t:
            moment.feed(rows[position])
            position += 1
        for k, row in enumerate(failures.get(t, ())):
            moment.failure(k, row)
        for row in messages.get(t, ()):
            moment.message(row)
        lines.extend(moment.finish(unsettled))
    return lines


def narrate_lines(result: Result, *, services: Iterable[str] | None = None,
                  kinds: Iterable[str] | None = None) -> list[str]:
    """The narration as one string per narrated moment, ``HH:MM:SS text``, in time order.

    Args:
        result: a :class:`~ecssim.analysis.result.Result`.
        services: keep only lines about these services (``""`` for standalone tasks); lines
            about the cluster (instances, faults, actions) are always kept as context — drop
            them with ``kinds``.
        kinds: keep only these kinds of line (see :data:`NARRATION_KINDS`).

    Raises:
        ValueError: a kind that is not one of :data:`NARRATION_KINDS`.
    """
    wanted_kinds = None if kinds is None else set(kinds)
    if wanted_kinds is not None:
        unknown = sorted(wanted_kinds - set(NARRATION_KINDS))
        if unknown:
            raise ValueError(f"unknown narration kind {', '.join(unknown)}; valid: {', '.join(NARRATION_KINDS)}")
    if isinstance(services, str):
        services = [services]
    wanted_services = None if services is None else {str(s) for s in services}
    out = []
    for line in narration(result):
        if wanted_kinds is not None and line.kind not in wanted_kinds:
            continue
        if wanted_services is not None and line.service is not None and line.service not in wanted_services:
            continue
        out.append(str(line))
    return out


def narrate(result: Result, *, services: Iterable[str] | None = None, kinds: Iterable[str] | None = None) -> str:
    """The run as a human-readable timeline, one line per narrated moment (see :func:`narrate_lines`)."""
    return "\n".join(narrate_lines(result, services=services, kinds=kinds))


def _by_time(table: pd.DataFrame) -> dict[float, list]:
    grouped: dict[float, list] = defaultdict(list)
    for row in table.itertuples(index=False, name="Row"):
        grouped[row.time_s].append(row)
    return grouped
