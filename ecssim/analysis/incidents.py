"""Per-incident facts read from the event log, the inputs of the ``recovery`` table.

An incident (``inc-0001``) is one fault occurrence. What the log says about it:

- its ``fault`` row: when it happened and its kind (:func:`faults`);
- the task stop rows carrying its id: the tasks it cost each service (:func:`losses`);
- the agent rows (``event="agent"``, ``to_state`` ``DISCONNECTED``/``CONNECTED``) carrying its
  id: the hosts whose agent it disconnected. ECS keeps showing the tasks there RUNNING and
  does not replace them (``ecs-reference.md`` §5.1-5.2): they are *impaired*
  (:func:`impaired`) until they leave RUNNING, the agent reconnects or a load balancer
  finds them UNHEALTHY;
- the first row by which ECS showed it (:func:`detections`).

Each function is vectorised over the log; none loops over events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecssim.analysis.eventcodes import EventCodes
from ecssim.analysis.schema import STOP_STATES

AGENT_EVENT = "agent"
DISCONNECTED, CONNECTED = "DISCONNECTED", "CONNECTED"


def faults(events: pd.DataFrame, codes: EventCodes | None = None) -> pd.DataFrame:
    """One row per incident: ``incident_id``, ``fault_time_s``, ``kind`` (first fault row).

    ``codes`` (here and below): :class:`~ecssim.analysis.eventcodes.EventCodes` of ``events``
    when already made.
    """
    codes = _codes(events, codes)
    mask = codes.equals("entity", "fault") & codes.equals("event", "fault")
    rows = events.loc[mask, ["incident_id", "time_s", "to_state"]]
    rows = rows.drop_duplicates("incident_id", keep="first")
    return rows[["incident_id", "time_s", "to_state"]].rename(
        columns={"time_s": "fault_time_s", "to_state": "kind"}
    )


def _codes(events: pd.DataFrame, codes: EventCodes | None) -> EventCodes:
    """``codes``, or new :class:`~ecssim.analysis.eventcodes.EventCodes` of ``events``."""
    return codes if codes is not None else EventCodes(events)


def _with_incident(codes: EventCodes) -> pd.DataFrame:
    """The rows that carry an incident id, with the columns the incident figures read (a long
    run has millions of rows, few of them caused by a fault)."""
    columns = ["entity", "event", "to_state", "incident_id", "service", "entity_id", "time_s"]
    # losses and detections both read them: selected once per EventCodes
    return codes.derived("with_incident", lambda: codes.events.loc[~codes.equals("incident_id", ""), columns])


def _task_stops(codes: EventCodes) -> pd.DataFrame:
    """Task state rows into a stop state among the rows that carry an incident id (selected
    once per EventCodes, as :func:`_with_incident`)."""
    def select() -> pd.DataFrame:
        rows = _with_incident(codes)
        return rows[(rows["entity"] == "task") & (rows["event"] == "state") & rows["to_state"].isin(STOP_STATES)]

    return codes.derived("incident_task_stops", select)


def losses(events: pd.DataFrame, codes: EventCodes | None = None) -> pd.DataFrame:
    """Per (incident, service): ``tasks_lost`` (distinct tasks stopped), ``last_loss_s``."""
    stops = _task_stops(_codes(events, codes))
    grouped = stops[stops["service"] != ""].groupby(["incident_id", "service"], sort=False)
    return grouped.agg(
        tasks_lost=("entity_id", "nunique"), last_loss_s=("time_s", "max")
    ).reset_index()


def _agent_rows(codes: EventCodes) -> pd.DataFrame:
    columns = ["time_s", "entity_id", "to_state", "instance_id", "incident_id"]
    rows = codes.events.loc[codes.equals("event", AGENT_EVENT), columns]
    instance = rows["instance_id"].where(rows["instance_id"] != "", rows["entity_id"])
    return rows.assign(host=instance.astype("str"))


def _disconnects(codes: EventCodes) -> pd.DataFrame:
    """Disconnect rows carrying an incident id, with the host's next reconnect (NaN if none)."""
    agent = _agent_rows(codes)
    lost = agent[(agent["to_state"] == DISCONNECTED) & (agent["incident_id"] != "")]
    lost = lost[["host", "time_s", "incident_id"]].sort_values("time_s", kind="stable")
    back = agent.loc[agent["to_state"] == CONNECTED, ["host", "time_s"]]
    back = back.rename(columns={"time_s": "reconnect_s"}).sort_values("reconnect_s")
    if lost.empty:
        return lost.assign(reconnect_s=pd.Series(dtype="float64"))
    return pd.merge_asof(
        lost, back, left_on="time_s", right_on="reconnect_s", by="host",
        direction="forward", allow_exact_matches=False,
    )


def _first_unhealthy(codes: EventCodes) -> pd.Series:
    """Per task id: time of its first health row to UNHEALTHY."""
    mask = codes.equals("event", "health") & codes.equals("to_state", "UNHEALTHY")
    rows = codes.events.loc[mask, ["entity_id", "time_s"]]
    return rows.groupby("entity_id", sort=False)["time_s"].min()


def impaired(events: pd.DataFrame, tasks: pd.DataFrame, codes: EventCodes | None = None) -> pd.DataFrame:
    """Per (incident, service): ``tasks_impaired``, ``impaired_until_s`` and ``tasks_unreplaced``.

    A task is impaired by an incident when it is a service task RUNNING (``started_at_s`` <=
    the disconnect < ``stopping_at_s``) on a host whose agent DISCONNECTED row carries the
    incident's id; it stays impaired until it leaves RUNNING, the agent reconnects, or its
    load balancer finds it UNHEALTHY (its first health row to UNHEALTHY: the scheduler then
    replaces it, §4.4, though ECS still shows it RUNNING on the dead host). A task found
    UNHEALTHY before the disconnect is not impaired. ``impaired_until_s`` is the latest such
    end over the service's impaired tasks (``inf`` while one of them is still impaired at the
    end of the log); ``tasks_unreplaced`` counts those whose impairment did not end with an
    UNHEALTHY row (ECS never replaced them for their health).
    """
    codes = _codes(events, codes)
    lost = _disconnects(codes)
    columns = ["task_id", "service", "instance_id", "started_at_s", "stopping_at_s"]
    running = tasks.loc[(tasks["service"] != "") & tasks["started_at_s"].notna(), columns]
    hit = lost.merge(running, left_on="host", right_on="instance_id", how="inner")
    stopping = hit["stopping_at_s"].fillna(np.inf)
    unhealthy = hit["task_id"].map(_first_unhealthy(codes)).astype("float64").fillna(np.inf)
    hit = hit[(hit["started_at_s"] <= hit["time_s"]) & (stopping > hit["time_s"]) & (unhealthy > hit["time_s"])]
    stopping, unhealthy = stopping[hit.index], unhealthy[hit.index]
    ended = np.minimum(stopping, hit["reconnect_s"].fillna(np.inf))
    hit = hit.assign(impaired_until_s=np.minimum(ended, unhealthy), unreplaced=(unhealthy >= ended).astype("int64"))
    grouped = hit.groupby(["incident_id", "service"], sort=False)
    return grouped.agg(
        tasks_impaired=("task_id", "nunique"), impaired_until_s=("impaired_until_s", "max"),
        tasks_unreplaced=("unreplaced", "sum"),
    ).reset_index()


def detections(events: pd.DataFrame, codes: EventCodes | None = None) -> pd.Series:
    """Per incident id: time of the first row by which ECS showed it.

    That is the earliest of its task stop rows, its instances' INACTIVE rows, its agent
    DISCONNECTED rows and its task health rows to UNHEALTHY (all carrying the incident's id).
    """
    codes = _codes(events, codes)
    rows, stops = _with_incident(codes), _task_stops(codes)
    gone = rows[(rows["entity"] == "instance") & (rows["event"] == "state") & (rows["to_state"] == "INACTIVE")]
    agent = rows[(rows["event"] == AGENT_EVENT) & (rows["to_state"] == DISCONNECTED)]
    unhealthy = rows[(rows["event"] == "health") & (rows["to_state"] == "UNHEALTHY")]
    shown = pd.concat([part[["incident_id", "time_s"]] for part in (stops, gone, agent, unhealthy)])
    return shown.groupby("incident_id", sort=False)["time_s"].min()


def affected(events: pd.DataFrame, tasks: pd.DataFrame, codes: EventCodes | None = None) -> pd.DataFrame:
    """One row per (incident, service) that lost or had impaired tasks, with the fault.

    Columns: ``incident_id``, ``service``, ``tasks_lost``, ``last_loss_s`` (NaN without a
    loss), ``tasks_impaired``, ``impaired_until_s`` (NaN without impaired tasks),
    ``tasks_unreplaced`` (see :func:`impaired`),
    ``fault_time_s`` and ``kind`` ("" when the log has no fault row for the incident).
    """
    codes = _codes(events, codes)
    keys = ["incident_id", "service"]
    rows = losses(events, codes).merge(impaired(events, tasks, codes), on=keys, how="outer", sort=False)
    rows["tasks_lost"] = rows["tasks_lost"].fillna(0).astype("int64")
    rows["tasks_impaired"] = rows["tasks_impaired"].fillna(0).astype("int64")
    rows["tasks_unreplaced"] = rows["tasks_unreplaced"].fillna(0).astype("int64")
    rows = rows.merge(faults(events, codes), on="incident_id", how="left")
    rows["kind"] = rows["kind"].fillna("").astype("str")
    return rows
