"""Converters from public cluster traces into the core's RunTask trace format (README
"Replaying public traces"; the format itself is :mod:`ecssim.scenario.traces`).

Two sources: the Alibaba-2018-derived batch trace published with CloudSimPy (one row per
task: ``submit_time, duration, cpu, memory, job_id, task_id, instances_num, disk``) and the
Google cluster-data 2011 ``task_events`` table (Reiss & Wilkes, "Google cluster-usage
traces: format + schema", version 2011.10.27). Both normalise their requests, so each
converter takes the machine size that 1.0 stands for. Pure pandas functions, no simulation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .own_files import write_atomic

#: The core format's columns, in the order the converters write them.
CORE_COLUMNS = ("arrival_s", "duration_s", "cpu", "memory_mib", "count", "group")

#: CPU units per core (ECS registers 1024 per vCPU).
CPU_UNITS_PER_CORE = 1024

#: Cores of one Alibaba 2018 machine: ``machine_meta.cpu_num`` is 96 (cluster-trace-v2018 schema.txt).
ALIBABA_MACHINE_CORES = 96

#: Assumed memory of one Alibaba 2018 machine, MiB. The trace publishes memory only normalised
#: (``mem_size``/``plan_mem`` in [0, 100]); its absolute size is not published. Assumption:
#: 96 cores x 4 GiB per core (EC2's general-purpose m5 ratio) = 384 GiB. Override it when you know better.
ALIBABA_MACHINE_MEMORY_MIB = ALIBABA_MACHINE_CORES * 4096

#: Columns of the CloudSimPy/Alibaba batch trace the converter reads.
ALIBABA_COLUMNS = ("submit_time", "duration", "cpu", "memory", "job_id", "task_id", "instances_num")

#: The 13 columns of a Google 2011 ``task_events`` file (no header in the published CSVs).
GOOGLE_2011_TASK_EVENTS_COLUMNS = (
    "timestamp_us", "missing_info", "job_id", "task_index", "machine_id", "event_type", "user",
    "scheduling_class", "priority", "cpu_request", "memory_request", "disk_request", "different_machines",
)

#: Google 2011 event types: SUBMIT 0, SCHEDULE 1; EVICT 2, FAIL 3, FINISH 4, KILL 5, LOST 6 end a run.
GOOGLE_SUBMIT, GOOGLE_SCHEDULE = 0, 1
GOOGLE_ENDS = frozenset({2, 3, 4, 5, 6})

#: Timestamp the 2011 trace gives to events after its end (2**63 - 1).
GOOGLE_AFTER_END_US = 2**63 - 1


def _ceil(values: pd.Series) -> pd.Series:
    """Round up to a whole number, ignoring float noise (0.55 * 1024 is 563.2 -> 564, 512.0000000001 -> 512)."""
    return np.ceil(values.round(6)).astype("int64")


def from_alibaba(rows: pd.DataFrame, machine_memory_mib: float = ALIBABA_MACHINE_MEMORY_MIB,
                 time_offset: float | None = None, family: str | None = None) -> pd.DataFrame:
    """Convert Alibaba batch-trace rows into the core format, one row per trace row.

    ``arrival_s = submit_time - time_offset`` (default: the rows' first submit_time),
    ``duration_s = duration``, ``cpu = ceil(cpu x 1024)``, ``memory_mib = ceil(memory x
    machine_memory_mib)``, ``count = instances_num`` (the replay splits it into RunTask calls
    of 10), ``group = job:<job_id>``, and ``family`` when given.
    """
    missing = [c for c in ALIBABA_COLUMNS if c not in rows.columns]
    if missing:
        raise ValueError(f"Alibaba rows lack column(s) {', '.join(missing)}; expected {', '.join(ALIBABA_COLUMNS)}")
    if machine_memory_mib <= 0:
        raise ValueError(f"machine_memory_mib must be > 0, not {machine_memory_mib}")
    submit = rows["submit_time"].astype(float)
    offset = float(submit.min()) if time_offset is None and len(rows) else (time_offset or 0.0)
    out = pd.DataFrame({
        "arrival_s": submit - offset,
        "duration_s": rows["duration"].astype(float),
        "cpu": _ceil(rows["cpu"].astype(float) * CPU_UNITS_PER_CORE),
        "memory_mib": _ceil(rows["memory"].astype(float) * machine_memory_mib),
        "count": rows["instances_num"].astype("int64"),
        "group": "job:" + rows["job_id"].astype(str),
    })
    if family is not None:
        out["family"] = family
    if (out["arrival_s"] < 0).any():
        raise ValueError("a row's submit_time is before time_offset; arrivals must be >= 0")
    return out.sort_values("arrival_s", kind="stable").reset_index(drop=True)


def read_alibaba(path: str | Path) -> pd.DataFrame:
    """Read the CloudSimPy/Alibaba batch CSV (its first, unnamed column is a row index)."""
    return pd.read_csv(path, index_col=0)


def read_google_2011_task_events(path: str | Path) -> pd.DataFrame:
    """Read a Google 2011 ``task_events`` CSV (header-less, possibly .csv.gz) with named columns."""
    return pd.read_csv(path, header=None, names=list(GOOGLE_2011_TASK_EVENTS_COLUMNS))


def from_google_2011(events: pd.DataFrame, machine_cores: float, machine_memory_mib: float,
                     time_offset_us: int | None = None, unfinished: str = "drop",
                     family: str | None = None) -> pd.DataFrame:
    """Convert Google 2011 task events into the core format, one row per run of a task.

    A run is a SCHEDULE (1) and the first EVICT/FAIL/FINISH/KILL/LOST (2-6) of the same task
    after it. ``arrival_s`` = the task's latest SUBMIT (0) before that SCHEDULE (the SCHEDULE
    itself when no SUBMIT is in the events) minus ``time_offset_us`` (default: the first
    kept arrival), in seconds; ``duration_s`` = end - SCHEDULE; ``cpu = ceil(cpu_request x
    machine_cores x 1024)``; ``memory_mib = ceil(memory_request x machine_memory_mib)``
    (requests are normalised to the largest machine, whose size the trace does not
    publish); ``count = 1``; ``group = job:<job_id>``. A SUBMIT never scheduled is dropped;
    a run without an end in the events is dropped (``unfinished="drop"``) or lasts to the
    last event of the input (``unfinished="trace-end"``). The counts of dropped rows are in
    ``result.attrs`` (``dropped_unscheduled``, ``dropped_unfinished``, ``dropped_no_request``).
    """
    if unfinished not in ("drop", "trace-end"):
        raise ValueError(f"unfinished must be 'drop' or 'trace-end', not {unfinished!r}")
    if machine_cores <= 0 or machine_memory_mib <= 0:
        raise ValueError("machine_cores and machine_memory_mib must be > 0")
    missing = [c for c in ("timestamp_us", "job_id", "task_index", "event_type", "cpu_request", "memory_request")
               if c not in events.columns]
    if missing:
        raise ValueError(f"task events lack column(s) {', '.join(missing)}")
    frame = events.reset_index(drop=True)
    frame = frame.assign(_order=np.arange(len(frame))).sort_values(
        ["job_id", "task_index", "timestamp_us", "_order"], kind="stable")
    in_trace = frame["timestamp_us"][frame["timestamp_us"] < GOOGLE_AFTER_END_US]
    last_us = int(in_trace.max()) if len(in_trace) else 0
    runs, unscheduled, unended = _google_runs(frame, last_us if unfinished == "trace-end" else None)
    out = pd.DataFrame(runs, columns=["job_id", "submit_us", "schedule_us", "end_us", "cpu_request", "memory_request"])
    known = out["cpu_request"].notna() & out["memory_request"].notna()
    no_request = int((~known).sum())
    out = out[known]
    offset = int(out["submit_us"].min()) if time_offset_us is None and len(out) else int(time_offset_us or 0)
    result = pd.DataFrame({
        "arrival_s": (out["submit_us"] - offset) / 1e6,
        "duration_s": (out["end_us"] - out["schedule_us"]) / 1e6,
        "cpu": _ceil(out["cpu_request"].astype(float) * machine_cores * CPU_UNITS_PER_CORE),
        "memory_mib": _ceil(out["memory_request"].astype(float) * machine_memory_mib),
        "count": 1,
        "group": "job:" + out["job_id"].astype(str),
    })
    if family is not None:
        result["family"] = family
    result = result.sort_values("arrival_s", kind="stable").reset_index(drop=True)
    result.attrs.update(dropped_unscheduled=unscheduled, dropped_unfinished=unended, dropped_no_request=no_request)
    return result


def _google_runs(frame: pd.DataFrame, end_us: int | None) -> tuple[list[tuple], int, int]:
    """Pair each task's SCHEDULE with its next end event, walking events in time order per task."""
    runs: list[tuple] = []
    unscheduled = unended = 0
    task = submit = scheduled = None
    cpu = memory = math.nan

    def close_task() -> None:
        nonlocal unscheduled, unended
        if scheduled is not None:
            if end_us is None:
                unended += 1
            else:
                runs.append((task[0], scheduled[0], scheduled[1], end_us, scheduled[2], scheduled[3]))
        elif submit is not None:
            unscheduled += 1

    for row in frame.itertuples(index=False):
        key = (row.job_id, row.task_index)
        if key != task:
            close_task()
            task, submit, scheduled, cpu, memory = key, None, None, math.nan, math.nan
        cpu = row.cpu_request if pd.notna(row.cpu_request) else cpu
        memory = row.memory_request if pd.notna(row.memory_request) else memory
        kind, at = int(row.event_type), int(row.timestamp_us)
        if kind == GOOGLE_SUBMIT:
            if submit is not None and scheduled is None:
                unscheduled += 1  # resubmitted before it ever ran
            submit = at
        elif kind == GOOGLE_SCHEDULE and scheduled is None:
            scheduled = (submit if submit is not None else at, at, cpu, memory)
            submit = None
        elif kind in GOOGLE_ENDS and scheduled is not None:
            runs.append((task[0], scheduled[0], scheduled[1], at, scheduled[2], scheduled[3]))
            scheduled = None
    close_task()
    return runs, unscheduled, unended


def convert_file(source: str, path: str | Path, machine_memory_mib: float | None = None,
                 machine_cores: float | None = None, start_s: float | None = None, end_s: float | None = None,
                 row_range: str | None = None, family: str | None = None, unfinished: str = "drop") -> pd.DataFrame:
    """Read a trace file of ``source`` ("alibaba" or "google2011"), keep input rows ``"A:B"``
    or source times in [start_s, end_s), and convert it (what ``ecssim convert-trace`` does)."""
    if source == "alibaba":
        frame, time_column, scale = read_alibaba(path), "submit_time", 1.0
    elif source == "google2011":
        if machine_cores is None or machine_memory_mib is None:
            raise ValueError("google2011 needs machine_cores and machine_memory_mib (the trace does not publish them)")
        frame, time_column, scale = read_google_2011_task_events(path), "timestamp_us", 1e6
    else:
        raise ValueError(f"unknown trace source {source!r}; expected alibaba or google2011")
    if row_range is not None:
        low, _, high = row_range.partition(":")
        frame = frame.iloc[int(low) if low else 0:int(high) if high else None]
    if start_s is not None:
        frame = frame[frame[time_column] >= start_s * scale]
    if end_s is not None:
        frame = frame[frame[time_column] < end_s * scale]
    if source == "alibaba":
        return from_alibaba(frame, machine_memory_mib or ALIBABA_MACHINE_MEMORY_MIB, family=family)
    return from_google_2011(frame, machine_cores, machine_memory_mib, unfinished=unfinished, family=family)


def write_trace(trace: pd.DataFrame, path: str | Path) -> Path:
    """Write a core-format trace as CSV (the header starts with ``arrival_s,duration_s,cpu,memory_mib``)."""
    return write_atomic(path, trace.to_csv(index=False))


def is_core_trace(path: str | Path) -> bool:
    """Whether ``path`` is a core-format CSV trace (its header starts with the required columns),
    so ``convert-trace --force`` may replace it."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            header = handle.readline().strip()
    except OSError:
        return False
    return header.startswith(",".join(CORE_COLUMNS[:4]))
