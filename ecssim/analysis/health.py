"""When a task counts as *healthy*, for the ``healthy`` figures of the reports.

ECS counts a task towards ``minimumHealthyPercent`` once it is healthy: with a load balancer
when its target is healthy, with container health checks when the container is HEALTHY,
and with neither "40 seconds after RUNNING" (``ecs-reference.md`` §4.5 and §7, from the API
reference of ``DeploymentConfiguration.minimumHealthyPercent``). ecssim has neither load
balancers nor health checks yet, so the reports use that last rule: a task is healthy from
``started_at_s + healthy_after_s`` until it leaves RUNNING; a task that leaves RUNNING
before that instant is never healthy. ECS's view is kept: a task on an impaired host (agent
disconnected) that ECS still shows RUNNING counts as healthy too.

The delay is a parameter of the report functions (``healthy_after_s``), defaulting to
:data:`DEFAULT_HEALTHY_AFTER_S`; the scenario's timing section is the place to set it per
run (to be wired by the scenario's owner).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Seconds after RUNNING at which ECS counts a task without load balancer or container
#: health check as healthy (``ecs-reference.md`` §4.5; [API:DeploymentConfiguration]).
DEFAULT_HEALTHY_AFTER_S = 40.0


def check_healthy_after(healthy_after_s: float) -> float:
    """Return ``healthy_after_s`` as a float, refusing negative or non-finite values."""
    value = float(healthy_after_s)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"healthy_after_s must be a finite number >= 0, got {healthy_after_s!r}")
    return value


def running_spans(rows: pd.DataFrame, running_change: pd.Series) -> pd.DataFrame:
    """Each stay of a task in RUNNING: ``entity_id``, ``service``, ``start_s``, ``end_s``.

    ``rows`` are task state rows in log order and ``running_change`` the +1/-1/0 change of
    the task's RUNNING indicator on each row; the k-th entry into RUNNING of a task pairs
    with its k-th exit (``end_s`` NaN while it is still RUNNING at the end of the log).
    """
    change = running_change.to_numpy()
    starts, ends = rows[change == 1], rows[change == -1]
    begin = pd.DataFrame({
        "entity_id": starts["entity_id"].to_numpy(),
        "k": starts.groupby("entity_id", sort=False).cumcount().to_numpy(),
        "service": starts["service"].to_numpy(),
        "start_s": starts["time_s"].to_numpy(),
    })
    finish = pd.DataFrame({
        "entity_id": ends["entity_id"].to_numpy(),
        "k": ends.groupby("entity_id", sort=False).cumcount().to_numpy(),
        "end_s": ends["time_s"].to_numpy(),
    })
    return begin.merge(finish, on=["entity_id", "k"], how="left").drop(columns="k")


def healthy_deltas(
    spans: pd.DataFrame, healthy_after_s: float, end_s: float | None = None
) -> pd.DataFrame:
    """+1/-1 changes of the healthy count: ``time_s``, ``service``, ``healthy``.

    A span becomes healthy ``healthy_after_s`` after it starts if it is still RUNNING then
    (and if that instant is not after ``end_s``, the end of the run, when given).
    """
    onset = spans["start_s"].to_numpy() + check_healthy_after(healthy_after_s)
    end = spans["end_s"].to_numpy()
    keep = np.isnan(end) | (end > onset)
    if end_s is not None:
        keep &= onset <= end_s
    kept = spans[keep]
    up = pd.DataFrame({"time_s": onset[keep], "service": kept["service"].to_numpy(),
                       "healthy": 1})
    closed = kept[kept["end_s"].notna()]
    down = pd.DataFrame({"time_s": closed["end_s"].to_numpy(),
                         "service": closed["service"].to_numpy(), "healthy": -1})
    return pd.concat([up, down], ignore_index=True)
