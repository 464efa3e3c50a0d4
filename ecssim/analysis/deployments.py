"""The ``deployments`` table: one row per service deployment, from the deployment rows.

The simulator writes deployment rows to the event log (``entity="deployment"``, see
:mod:`ecssim.model.eventlog`): ``state`` rows with the deployment status (PRIMARY, ACTIVE,
INACTIVE) and ``rollout`` rows with its rolloutState (IN_PROGRESS, COMPLETED, FAILED; the
``value`` is failedTasks). Every REPLICA service gets its initial deployment at t=0. Rows
are in creation order (the deployment's first row in the log). Columns:

==========================  ===============================================================
``deployment_id``           ECS's id, ``ecs-svc/`` + 19 digits
``service``                 the service it belongs to
``task_definition``         the ``family:revision`` it runs
``created_at_s``            time of its first row (created PRIMARY, rollout IN_PROGRESS)
``status``                  its last status: ``PRIMARY``, ``ACTIVE`` or ``INACTIVE``
``rollout_state``           its last rolloutState: ``IN_PROGRESS``, ``COMPLETED``, ``FAILED``
``rollout_state_reason``    the reason of its last rollout row (why it FAILED; "" else)
``ended_at_s``              time of its rollout row to COMPLETED or FAILED (NaN while it is
                            still IN_PROGRESS at the end of the run)
``failed_tasks``            failedTasks on its last rollout row (NaN without one)
``duration_s``              ``ended_at_s - created_at_s``
==========================  ===============================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecssim.analysis.eventcodes import EventCodes
from ecssim.analysis.schema import SCHEMAS, conform

DEPLOYMENT = "deployment"
ROLLOUT_EVENT = "rollout"
IN_PROGRESS, COMPLETED, FAILED = "IN_PROGRESS", "COMPLETED", "FAILED"
#: rolloutStates that end a rollout.
ROLLOUT_ENDS: tuple[str, ...] = (COMPLETED, FAILED)


def _last(rows: pd.DataFrame, column: str) -> pd.Series:
    return rows.groupby("entity_id", sort=False)[column].last()


def deployments_table(events: pd.DataFrame) -> pd.DataFrame:
    """One row per deployment id, in creation order; see the module docstring."""
    rows = events[events["entity"] == DEPLOYMENT].sort_values("seq", kind="stable")
    first = rows.drop_duplicates("entity_id", keep="first")
    state = rows[rows["event"] == "state"]
    rollout = rows[rows["event"] == ROLLOUT_EVENT]
    # groupby().last() skips NaN: take the last rollout row itself, not its last non-NaN value
    last_rollout = rollout.drop_duplicates("entity_id", keep="last").set_index("entity_id")
    ids = first["entity_id"]
    out = pd.DataFrame({
        "deployment_id": ids.to_numpy(),
        "service": first["service"].to_numpy(),
        "task_definition": first["task_definition"].to_numpy(),
        "created_at_s": first["time_s"].to_numpy(dtype="float64"),
        "status": ids.map(_last(state, "to_state")).fillna("").to_numpy(),
        "rollout_state": ids.map(last_rollout["to_state"]).fillna("").to_numpy(),
        "rollout_state_reason": ids.map(last_rollout["reason"]).fillna("").to_numpy(),
        "failed_tasks": ids.map(last_rollout["value"]).to_numpy(dtype="float64"),
    })
    ended = last_rollout["time_s"].where(last_rollout["to_state"].isin(ROLLOUT_ENDS))
    out["ended_at_s"] = ids.map(ended).to_numpy(dtype="float64")
    out["duration_s"] = out["ended_at_s"] - out["created_at_s"]
    return conform(out, SCHEMAS["deployments"])


def failed_rollouts(events: pd.DataFrame, codes: EventCodes | None = None) -> pd.DataFrame:
    """``time_s`` and ``service`` of every rollout row to FAILED (the circuit breaker).

    ``codes``: :class:`~ecssim.analysis.eventcodes.EventCodes` of ``events`` when already made.
    """
    codes = codes if codes is not None else EventCodes(events)
    mask = codes.equals("entity", DEPLOYMENT) & codes.equals("event", ROLLOUT_EVENT) & codes.equals("to_state", FAILED)
    rows = events.loc[mask]
    return pd.DataFrame({"time_s": rows["time_s"].to_numpy(dtype=float),
                         "service": rows["service"].to_numpy(dtype=object)})


def initial(deployments: pd.DataFrame) -> np.ndarray:
    """True for each service's initial deployment: its first one, when created at t=0."""
    first = ~deployments["service"].duplicated(keep="first").to_numpy()
    return first & (deployments["created_at_s"].to_numpy() == 0.0)
