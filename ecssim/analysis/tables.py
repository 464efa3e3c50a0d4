"""Turn an :class:`~ecssim.model.eventlog.EventLog` into the per-thing output tables.

Pure functions, run once when the simulation ends. ``events`` is the log itself as a
DataFrame; ``tasks`` and ``instances`` add the lifecycle timestamps ECS shows
(``createdAt`` -> ``created_at_s`` and so on), recomputed from the ``events`` rows so that a
saved run can be re-analysed from its files alone. Column dtypes are fixed in
:mod:`ecssim.analysis.schema`; add wall-clock twins with
:func:`~ecssim.analysis.schema.add_timestamps`.

Task timestamps (seconds since the start of the run; NaN when the task never got there):

============================  =============================================================
``created_at_s``              the task was created (placed); ECS ``createdAt``
``pull_started_at_s``         first image pull started; ``pullStartedAt``
``pull_stopped_at_s``         last image pull finished; ``pullStoppedAt``
``started_at_s``              first transition to RUNNING; ``startedAt``
``stopping_at_s``             first transition to DEACTIVATING, STOPPING or STOPPED;
                              ``stoppingAt``
``stopped_at_s``              transition to STOPPED; ``stoppedAt``
``last_status``               the task's state when the run ended; ``lastStatus``
``stop_code``                 first non-empty stop code of its stop rows; ``stopCode``
                              ("" for host terminations: ECS documents none)
``stopped_reason``            first non-empty reason of its stop rows; ``stoppedReason``
``incident_id``               first fault incident found on its stop rows ("" if none)
============================  =============================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd

try:  # optional (the ``parquet`` extra); pandas then backs its ``str`` dtype with pyarrow
    import pyarrow as pa
except ImportError:  # pragma: no cover - exercised only without the extra
    pa = None

from ecssim.analysis.eventcodes import EventCodes
from ecssim.analysis.groups import first_rows, smallest
from ecssim.analysis.lookup import lookup
from ecssim.analysis.schema import (
    RUNNING,
    SCHEMAS,
    STOP_STATES,
    STOPPED,
    conform,
    frame,
)
from ecssim.model.eventlog import (
    EVENT_COLUMNS,
    INSTANCE_COLUMNS,
    TASK_COLUMNS,
    EventLog,
    EventRows,
)

#: Event columns read dictionary-encoded: pyarrow numbers their few distinct values as it reads
#: them, for about the price of reading them plain, and the builders ask for these codes anyway
#: (:class:`~ecssim.analysis.eventcodes.EventCodes`), which would walk the column again.
CODED_EVENT_COLUMNS = ("entity", "event", "to_state", "instance_id", "az", "service")


def events_table(log: EventLog) -> pd.DataFrame:
    """Every row of the log, in order, with a leading ``seq`` (0, 1, ...) giving that order."""
    return events_and_codes(log)[0]


def events_and_codes(log: EventLog) -> tuple[pd.DataFrame, EventCodes]:
    """:func:`events_table` and its :class:`~ecssim.analysis.eventcodes.EventCodes`, holding
    the codes of :data:`CODED_EVENT_COLUMNS` made while reading them."""
    schema = SCHEMAS["events"]
    rows = log.events
    if not rows:
        events = frame([], schema)
        return events, EventCodes(events)
    columns = {c: schema[c] for c in EVENT_COLUMNS}
    events, known = None, {}
    if isinstance(rows, EventRows):  # stored flat: each column is one slice
        read = _arrow_columns_frame([rows.column(k) for k in range(len(columns))], columns, CODED_EVENT_COLUMNS)
        if read is not None:
            events, known = read
    if events is None:
        events = _records_frame(rows if isinstance(rows, list) else list(rows), columns)
    events.insert(0, "seq", np.arange(len(rows), dtype=np.int64))
    return events, EventCodes(events, known)


def _records_frame(rows: list[tuple], schema: dict[str, str]) -> pd.DataFrame:
    """``frame(rows, schema)``, built without one object array of a long run's millions of rows.

    pyarrow reads all the tuples in one pass (after a run they lie scattered in memory, so one
    pass beats one per column); rows it cannot type exactly are read column by column.
    """
    if not rows:
        return frame(rows, schema)
    built = _arrow_frame(rows, schema)
    return built if built is not None else _column_frame(rows, schema)


#: pyarrow types of the schema dtypes :func:`_arrow_frame` reads.
_ARROW_TYPES = {"str": "large_string", "float64": "float64", "int64": "int64"}


def _arrow_frame(rows: list[tuple], schema: dict[str, str]) -> pd.DataFrame | None:
    """The rows read by pyarrow as one struct array, or None if pyarrow is missing or a value
    does not fit its column's type exactly (then pandas' own conversions decide)."""
    if pa is None or any(dtype not in _ARROW_TYPES for dtype in schema.values()):
        return None
    fields = [pa.field(name, getattr(pa, _ARROW_TYPES[dtype])()) for name, dtype in schema.items()]
    try:
        arrays = pa.array(rows, type=pa.struct(fields)).flatten()
    except (pa.ArrowException, TypeError, ValueError):
        return None
    columns = {}
    for (name, dtype), array in zip(schema.items(), arrays, strict=True):
        column = _series(array, dtype)
        if column is None:
            return None
        columns[name] = column
    return pd.DataFrame(columns, copy=False)


def _series(array, dtype: str) -> pd.Series | None:  # noqa: ANN001
    """A pyarrow array as a column of the schema's ``dtype``; None for an int64 column with a
    missing value (pandas' own conversion decides then)."""
    if dtype == "str":
        return pd.Series(pd.array(array, dtype="str"), copy=False)
    if dtype == "int64" and array.null_count:
        return None
    # a missing float (None) is NaN, as in pandas
    return pd.Series(array.to_numpy(zero_copy_only=False), dtype=dtype, copy=False)


def _arrow_columns_frame(
    values: list[list], schema: dict[str, str], coded: tuple[str, ...] = ()
) -> tuple[pd.DataFrame, dict[str, tuple[np.ndarray, pd.Index]]] | None:
    """The columns ``values`` (one list per schema column) read by pyarrow, plus the codes of
    the string columns ``coded`` (as ``pd.factorize`` gives them); None if pyarrow is missing or
    a value does not fit its column's type exactly (as :func:`_arrow_frame`)."""
    if pa is None or any(dtype not in _ARROW_TYPES for dtype in schema.values()):
        return None
    columns, codes = {}, {}
    for (name, dtype), column in zip(schema.items(), values, strict=True):
        try:
            if name in coded and dtype == "str":
                encoded = pa.array(column, type=pa.dictionary(pa.int32(), pa.large_string()))
                array = encoded.dictionary.take(encoded.indices)  # the plain column, decoded
                codes[name] = _dictionary_codes(encoded)
            else:
                array = pa.array(column, type=getattr(pa, _ARROW_TYPES[dtype])())
        except (pa.ArrowException, TypeError, ValueError):
            return None
        series = _series(array, dtype)
        if series is None:
            return None
        columns[name] = series
    return pd.DataFrame(columns, copy=False), codes


def _dictionary_codes(encoded) -> tuple[np.ndarray, pd.Index]:  # noqa: ANN001 - a pyarrow DictionaryArray
    """``pd.factorize`` of a dictionary-encoded column: pyarrow numbers the values in order of
    first appearance, as pandas does; a missing value is -1."""
    numbers = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.intp)
    return numbers, pd.Index(pd.array(encoded.dictionary, dtype="str"))


def _column_frame(rows: list[tuple], schema: dict[str, str]) -> pd.DataFrame:
    """``frame(rows, schema)`` for non-empty ``rows``, built column by column."""
    columns = {}
    for index, (name, dtype) in enumerate(schema.items()):
        values = [row[index] for row in rows]
        # non-strings as ``frame`` does: inferred, then cast (a float cpu would be truncated)
        columns[name] = _string_column(values) if dtype == "str" else pd.Series(values).astype(dtype)
    return pd.DataFrame(columns, copy=False)


def _string_column(values: list) -> pd.Series:
    """``pd.Series(values, dtype="str")``, built through pyarrow directly (about twice as fast).

    pandas' ``str`` dtype holds a pyarrow ``large_string`` array; without pyarrow, or with
    values that are not all ``str``, pandas' own (converting) path is taken.
    """
    if pa is None:
        return pd.Series(values, dtype="str")
    try:
        array = pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.Series(values, dtype="str")
    return pd.Series(pd.array(array, dtype="str"), copy=False)


def services_table(log: EventLog) -> pd.DataFrame:
    """One row per service, as the simulator registered it (initial desired count)."""
    return frame(log.services, SCHEMAS["services"])


def placement_failures_table(log: EventLog) -> pd.DataFrame:
    """One row per launch that found no instance (ECS created no task then)."""
    return frame(log.placement_failures, SCHEMAS["placement_failures"])


def service_events_table(log: EventLog) -> pd.DataFrame:
    """One row per message ECS would show in a service's event log."""
    return frame(log.service_events, SCHEMAS["service_events"])


def _first(rows: pd.DataFrame, column: str, how: str = "first") -> pd.Series:
    """Per-entity first (or min/max/last) value of ``column`` among ``rows``."""
    return rows.groupby("entity_id", sort=False)[column].agg(how)


def _attach(
    base: pd.DataFrame, key: str, values: dict[str, pd.Series], fill: dict[str, object]
) -> pd.DataFrame:
    """Add one column per ``values`` entry by looking ``base[key]`` up in it."""
    out = base.copy()
    for name, series in values.items():
        out[name] = lookup(out[key], series, fill[name]) if len(series) else fill[name]
    return out


class _TaskEvents:
    """The task rows of ``events`` as arrays keyed by the task's position in the tasks table."""

    def __init__(self, codes: EventCodes, task_ids: pd.Series) -> None:
        self.codes = codes
        self.size = len(task_ids)
        found = codes.positions_in("entity_id", pd.Index(task_ids))
        #: per event row: its task's row in the tasks table (-1 for rows of no known task)
        self.task = np.where(codes.equals("entity", "task"), found, -1)
        self.known = self.task >= 0
        self.time_s = codes.number("time_s")

    def rows(self, mask: np.ndarray) -> np.ndarray:
        """The positions of the rows of ``mask`` that belong to a known task, in log order."""
        return np.flatnonzero(mask & self.known)

    def time(self, mask: np.ndarray, how: str) -> np.ndarray:
        """Per task, the earliest (``how="min"``) or latest (``"max"``) ``time_s`` of its rows of ``mask``."""
        rows = self.rows(mask)
        return smallest(self.task[rows], self.time_s[rows], self.size, largest=how == "max")

    def label(self, mask: np.ndarray, column: str, *, last: bool = False) -> pd.api.extensions.ExtensionArray:
        """Per task, ``column`` on its first (or last) row of ``mask``; "" if it has none."""
        rows = self.rows(mask)
        first = first_rows(self.task[rows], self.size, last=last)  # positions in ``rows``, -1: none
        return _strings_at(self.codes.events[column], np.append(rows, -1)[first])


def _strings_at(column: pd.Series, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """The ``str`` ``column`` at the positions ``rows`` ("" where a position is -1), taken as
    strings: no Python object per value, as reading them into an object array would make."""
    if not len(column):
        return pd.array(np.full(len(rows), "", dtype=object), dtype="str")
    taken = column.take(np.where(rows >= 0, rows, 0)).reset_index(drop=True)
    return taken.where(rows >= 0, "").array


def tasks_table(log: EventLog, events: pd.DataFrame | None = None, *, codes: EventCodes | None = None) -> pd.DataFrame:
    """One row per task created: the registry row plus ECS's lifecycle fields (see module doc).

    ``events`` is the already built ``events`` table (built from ``log`` when omitted),
    ``codes`` its :class:`~ecssim.analysis.eventcodes.EventCodes` when already made.
    """
    if events is None:
        events = events_table(log)
    codes = codes if codes is not None else EventCodes(events)
    schema = SCHEMAS["tasks"]
    base = _records_frame(log.tasks, {c: schema[c] for c in TASK_COLUMNS})
    rows = _TaskEvents(codes, base["task_id"])
    state = codes.equals("event", "state")
    stops = state & codes.member("to_state", STOP_STATES)
    given = {c: ~codes.equals(c, "") for c in ("instance_id", "az", "stop_code", "reason", "incident_id")}
    out = base.copy()
    out["pull_started_at_s"] = rows.time(codes.equals("event", "pull_started"), "min")
    out["pull_stopped_at_s"] = rows.time(codes.equals("event", "pull_stopped"), "max")
    out["started_at_s"] = rows.time(state & codes.equals("to_state", RUNNING), "min")
    out["stopping_at_s"] = rows.time(stops, "min")
    out["stopped_at_s"] = rows.time(state & codes.equals("to_state", STOPPED), "min")
    out["instance_id"] = rows.label(given["instance_id"], "instance_id")
    # Fargate tasks have an AZ but no instance
    out["az"] = rows.label(given["az"], "az")
    out["last_status"] = rows.label(state, "to_state", last=True)
    out["stop_code"] = rows.label(stops & given["stop_code"], "stop_code")
    out["stopped_reason"] = rows.label(stops & given["reason"], "reason")
    out["incident_id"] = rows.label(stops & given["incident_id"], "incident_id")
    return conform(out, schema)


def instances_table(log: EventLog, events: pd.DataFrame | None = None, *, codes: EventCodes | None = None) -> pd.DataFrame:
    """One row per instance launched, plus when it registered and when/why it was terminated.

    ``registered_at_s`` is its first transition to ACTIVE (the agent registered);
    ``terminated_at_s``, ``termination_reason`` and ``incident_id`` come from its first
    transition to INACTIVE (NaN / "" while it is still alive at the end of the run).
    ``codes``: :class:`~ecssim.analysis.eventcodes.EventCodes` of ``events`` when already made.
    """
    if events is None:
        events = events_table(log)
    codes = codes if codes is not None else EventCodes(events)
    schema = SCHEMAS["instances"]
    base = frame(log.instances, {c: schema[c] for c in INSTANCE_COLUMNS})
    state = events[codes.equals("entity", "instance") & codes.equals("event", "state")]
    gone = state[state["to_state"] == "INACTIVE"]
    values = {
        "registered_at_s": _first(state[state["to_state"] == "ACTIVE"], "time_s", "min"),
        "terminated_at_s": _first(gone, "time_s"),
        "termination_reason": _first(gone, "reason"),
        "incident_id": _first(gone, "incident_id"),
    }
    fill = {"registered_at_s": float("nan"), "terminated_at_s": float("nan")}
    fill |= {"termination_reason": "", "incident_id": ""}
    return conform(_attach(base, "instance_id", values, fill), schema)
