"""How services recovered from each fault: one row per (incident, affected service).

An incident *affects* a service when some task of that service has a stop row (a state row
into DEACTIVATING, STOPPING, DEPROVISIONING or STOPPED) carrying the incident's id. Columns:

================================  ========================================================
``incident_id``                   the fault occurrence (``inc-0001``)
``kind``                          ``instance_failure``, ``az_outage``, ``task_crash``, ...
``fault_time_s``                  when the fault happened
``service``                       the affected service
``tasks_lost``                    distinct tasks of the service the incident stopped
``time_to_first_replacement_s``   from the fault to the first RUNNING of a task of the
                                  service created at or after the fault
``time_to_desired_s``             from the fault to ``recovered_at_s``
``recovered_at_s``                first instant at or after the incident's last stop row
                                  for the service at which the service's RUNNING count
                                  (from task state rows) is at least its desired count
``overlapped``                    another row of the same service has a recovery window
                                  ``[fault_time_s, recovered_at_s]`` that intersects this
                                  row's (an unrecovered window extends to infinity)
``not_recovered_reason``          ``""``, or ``not_recovered_by_end_of_run``
================================  ========================================================

Times not reached are NaN. Rows are ordered by fault time, incident id, then service name.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ecssim.analysis.capacity import service_counts
from ecssim.analysis.schema import SCHEMAS, STOP_STATES, conform

NOT_RECOVERED = "not_recovered_by_end_of_run"


def _losses(events: pd.DataFrame) -> pd.DataFrame:
    """Per (incident, service): distinct tasks stopped and the time of the last stop row."""
    mask = (
        (events["entity"] == "task")
        & (events["event"] == "state")
        & events["to_state"].isin(STOP_STATES)
        & (events["incident_id"] != "")
        & (events["service"] != "")
    )
    grouped = events[mask].groupby(["incident_id", "service"], sort=False)
    return grouped.agg(
        tasks_lost=("entity_id", "nunique"), last_loss_s=("time_s", "max")
    ).reset_index()


def _faults(events: pd.DataFrame) -> pd.DataFrame:
    rows = events[(events["entity"] == "fault") & (events["event"] == "fault")]
    rows = rows.drop_duplicates("incident_id", keep="first")
    return rows[["incident_id", "time_s", "to_state"]].rename(
        columns={"time_s": "fault_time_s", "to_state": "kind"}
    )


def _first_replacement(tasks: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Per row: first ``started_at_s`` of a task of its service created at/after the fault."""
    out = np.full(len(rows), np.nan)
    started = tasks[tasks["started_at_s"].notna() & (tasks["service"] != "")]
    for service, part in started.groupby("service", sort=True):
        part = part.sort_values("created_at_s", kind="stable")
        created = part["created_at_s"].to_numpy()
        suffix_min = np.minimum.accumulate(part["started_at_s"].to_numpy()[::-1])[::-1]
        where = np.flatnonzero(rows["service"].to_numpy() == service)
        index = np.searchsorted(created, rows["fault_time_s"].to_numpy()[where], side="left")
        found = index < len(created)
        out[where[found]] = suffix_min[index[found]]
    return out


def _recovered_at(counts: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """Per row: first instant >= its last loss at which RUNNING >= desired (NaN if never)."""
    out = np.full(len(rows), np.nan)
    for service, part in counts.groupby("service", sort=True):
        times = part["time_s"].to_numpy()
        ok = (part["running"] >= part["desired_count"]).to_numpy()
        # next_ok[k]: first index >= k where the service is at desired (len(ok) if none)
        candidates = np.where(ok, np.arange(len(ok)), len(ok))
        next_ok = np.append(np.minimum.accumulate(candidates[::-1])[::-1], len(ok))
        where = np.flatnonzero(rows["service"].to_numpy() == service)
        since = rows["last_loss_s"].to_numpy()[where]
        level = np.searchsorted(times, since, side="right") - 1  # row in force at `since`
        hit = next_ok[np.clip(level, 0, None)]
        # before a service's first row every level is 0, so 0 running >= 0 desired holds
        hit_time = np.where(level < 0, since, times[np.clip(hit, 0, len(times) - 1)])
        found = (level < 0) | (hit < len(ok))
        out[where[found]] = np.maximum(hit_time, since)[found]
    return out


def _overlapped(rows: pd.DataFrame) -> np.ndarray:
    """True where another row of the same service has an intersecting recovery window."""
    out = np.zeros(len(rows), dtype=bool)
    ends_all = rows["recovered_at_s"].fillna(np.inf).to_numpy()
    for _, where in rows.groupby("service", sort=True).indices.items():
        order = where[np.argsort(rows["fault_time_s"].to_numpy()[where], kind="stable")]
        starts, ends = rows["fault_time_s"].to_numpy()[order], ends_all[order]
        # NaN sentinels: a comparison with NaN is False, also against an infinite end
        earlier_end = np.concatenate([[np.nan], np.maximum.accumulate(ends)[:-1]])
        later_start = np.concatenate([starts[1:], [np.nan]])
        out[order] = (earlier_end >= starts) | (later_start <= ends)
    return out


def recovery_table(events: pd.DataFrame, tasks: pd.DataFrame) -> pd.DataFrame:
    """One row per (incident, affected service); see the module docstring for the columns."""
    rows = _losses(events).merge(_faults(events), on="incident_id", how="left")
    rows["kind"] = rows["kind"].fillna("")
    rows = rows.sort_values(["fault_time_s", "incident_id", "service"], kind="stable")
    rows = rows.reset_index(drop=True)
    first = _first_replacement(tasks, rows)
    rows["time_to_first_replacement_s"] = first - rows["fault_time_s"].to_numpy()
    rows["recovered_at_s"] = _recovered_at(service_counts(events), rows)
    rows["time_to_desired_s"] = rows["recovered_at_s"] - rows["fault_time_s"]
    rows["overlapped"] = _overlapped(rows)
    rows["not_recovered_reason"] = np.where(rows["recovered_at_s"].isna(), NOT_RECOVERED, "")
    return conform(rows, SCHEMAS["recovery"])
