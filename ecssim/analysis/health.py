"""When a task counts as *healthy*, for the ``healthy`` figures of the reports.

ECS counts a task towards ``minimumHealthyPercent`` once it is healthy: with a load balancer
when its target is healthy, with container health checks when the container is HEALTHY,
and with neither some time after RUNNING (``ecs-reference.md`` §4.5 and §7). The simulator
applies those rules and writes the outcome to the event log as task *health* rows
(``entity="task"``, ``event="health"``, ``to_state`` ``HEALTHY`` or ``UNHEALTHY``), only
for service tasks and only while they are RUNNING; the reports do not decide health.

Definition used by every report: a task is healthy from its health row to ``HEALTHY`` until
its next health row to ``UNHEALTHY`` or its state row leaving RUNNING, whichever comes
first. A task without a ``HEALTHY`` row is never healthy, and a health row seen while the
task is not RUNNING does not make it healthy. ECS's view is kept: a task on an impaired
host (agent disconnected) that ECS still shows RUNNING stays healthy unless a health row
says otherwise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecssim.analysis.eventcodes import CodedRows
from ecssim.analysis.groups import Groups, codes_of
from ecssim.analysis.schema import RUNNING

#: ``event`` of a task health row.
HEALTH_EVENT = "health"
#: Health values of ``from_state``/``to_state`` on health rows (``UNKNOWN``: before the first).
HEALTHY, UNHEALTHY, UNKNOWN = "HEALTHY", "UNHEALTHY", "UNKNOWN"


def task_status(rows: pd.DataFrame, tasks: Groups | None = None) -> pd.Series:
    """The task's state (lastStatus) in force after each row; "" before its first state row.

    ``rows`` are task rows (state rows and others) in log order; ``tasks`` their grouping by
    ``entity_id`` when already made.
    """
    if tasks is None:
        tasks = Groups(codes_of(rows["entity_id"]))
    source = latest_state_rows((rows["event"] == "state").to_numpy(dtype=bool), tasks)
    status = rows["to_state"].take(np.clip(source, 0, None))
    status.index = rows.index
    return status.where(source >= 0, "")


def latest_state_rows(is_state: np.ndarray, tasks: Groups) -> np.ndarray:
    """Per row, the row of its task's latest state row up to it (-1 before its first): where
    the task's state after the row was set. ``is_state`` and the result are in row order."""
    # forward fill in grouped order: the latest state row so far of each task
    latest = tasks.last_where(is_state[tasks.order])
    return tasks.ungroup(np.where(latest >= 0, tasks.order[np.clip(latest, 0, None)], -1))


def status_codes(rows: CodedRows, tasks: Groups) -> np.ndarray:
    """:func:`task_status` as codes of the ``to_state`` column (-1 before a task's first state row)."""
    source = latest_state_rows(rows.member("event", ("state",)), tasks)
    return np.where(source >= 0, rows.code("to_state")[np.clip(source, 0, None)], -1)


def healthy_flags(rows: pd.DataFrame, status: pd.Series | None = None) -> pd.Series:
    """Per row, True when the task is healthy right after it (see the module docstring).

    ``rows`` are the task's state and health rows in log order; ``status`` is
    :func:`task_status` of ``rows`` when already computed. A health row to ``HEALTHY`` while
    RUNNING sets the flag; any state row and any other health row clear it (health rows
    come only after the row into RUNNING, so clearing there is safe).
    """
    if status is None:
        status = task_status(rows)
    return (rows["event"] == HEALTH_EVENT) & (rows["to_state"] == HEALTHY) & (status == RUNNING)


def healthy_rows(rows: CodedRows, running: np.ndarray) -> np.ndarray:
    """:func:`healthy_flags` of ``rows`` read through codes; ``running``: per row, whether the
    task is RUNNING right after it."""
    return rows.member("event", (HEALTH_EVENT,)) & rows.member("to_state", (HEALTHY,)) & running
