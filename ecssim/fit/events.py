"""ECS task state-change events, as EventBridge delivers them, reduced to one record per task.

A file holds ``aws.ecs`` "ECS Task State Change" events as JSON lines, as one JSON array, or
as the output of ``aws logs filter-log-events`` (``{"events": [{"message": "<event>"}]}``).
A task appears in one event per state change; each timestamp of a task is taken from the
latest event carrying it (ordered by the task's ``version``, then the event ``time``, then the
file order). Other detail-types are counted and skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: The detail-type of the events read; any other is counted in ``EventLog.skipped``.
TASK_STATE_CHANGE = "ECS Task State Change"
#: The task timestamps kept (ECS's Task fields, seconds since the epoch once parsed).
TIMESTAMPS = ("createdAt", "connectivityAt", "pullStartedAt", "pullStoppedAt", "startedAt",
              "stoppingAt", "executionStoppedAt", "stoppedAt")
#: Attachment types that mean an awsvpc ENI (EventBridge writes ``eni``, DescribeTasks
#: ``ElasticNetworkInterface``).
ENI_TYPES = frozenset({"eni", "elasticnetworkinterface"})


class EventFileError(ValueError):
    """An event file that cannot be read: the message names the file and the line (or element)."""


@dataclass
class TaskRecord:
    """One task as its events describe it: its latest timestamps and facts."""

    arn: str
    times: dict[str, float] = field(default_factory=dict)
    launch_type: str = ""
    stop_code: str = ""
    has_eni: bool = False
    events: int = 0


@dataclass
class EventLog:
    """The tasks of an event file (sorted by ARN), with what was read and skipped."""

    source: str
    tasks: list[TaskRecord]
    events: int
    skipped: dict[str, int]
    first_time: float | None
    last_time: float | None


def parse_time(text: object) -> float:
    """Seconds since the epoch from an ISO 8601 timestamp (``2024-05-01T09:00:00.123Z``)."""
    if not isinstance(text, str):
        raise ValueError(f"expected an ISO 8601 timestamp, got {text!r}")
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise ValueError(f"timestamp {text!r} has no time zone (ECS writes UTC, ending in Z)")
    return moment.timestamp()


def _raw_events(path: Path) -> list[tuple[str, Any]]:
    """(where, parsed JSON value) for every event of the file, ``where`` naming its line or element."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise EventFileError(f"{path}: cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise EventFileError(f"{path}: not a UTF-8 text file") from None
    stripped = text.lstrip()
    if not stripped:
        raise EventFileError(f"{path}: the file is empty (expected ECS task state-change events)")
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as error:
        if stripped.startswith("["):
            raise EventFileError(f"{path}, line {error.lineno}: malformed JSON: {error.msg}") from None
        return _json_lines(path, text)
    if isinstance(whole, list):
        return [(f"element {i}", item) for i, item in enumerate(whole)]
    if isinstance(whole, dict) and isinstance(whole.get("events"), list) and "detail" not in whole:
        return _log_messages(path, whole["events"])
    return [("line 1", whole)]


def _json_lines(path: Path, text: str) -> list[tuple[str, Any]]:
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            found.append((f"line {number}", json.loads(line)))
        except json.JSONDecodeError as error:
            raise EventFileError(f"{path}, line {number}: malformed JSON: {error.msg} "
                                 f"(expected one event per line, or a JSON array)") from None
    return found


def _log_messages(path: Path, entries: list[Any]) -> list[tuple[str, Any]]:
    """The events inside CloudWatch Logs entries (``aws logs filter-log-events`` output)."""
    found = []
    for i, entry in enumerate(entries):
        message = entry.get("message") if isinstance(entry, dict) else None
        if not isinstance(message, str):
            raise EventFileError(f"{path}, events[{i}]: a log entry without a message string")
        try:
            found.append((f"events[{i}]", json.loads(message)))
        except json.JSONDecodeError as error:
            raise EventFileError(f"{path}, events[{i}]: malformed JSON in the message: {error.msg}") from None
    return found


def _ordering(detail: dict[str, Any], envelope_time: float | None, position: int) -> tuple[float, float, int]:
    version = detail.get("version")
    return (float(version) if isinstance(version, (int, float)) else -1.0,
            envelope_time if envelope_time is not None else -1.0, position)


def read_events(path: str | Path) -> EventLog:
    """The tasks described by the ECS task state-change events of ``path``.

    Raises:
        EventFileError: malformed JSON, an event that is not an object, a task event without
            ``detail.taskArn``, or a timestamp that is not ISO 8601 (naming file and line).
    """
    path = Path(path)
    skipped: dict[str, int] = {}
    kept: list[tuple[tuple[float, float, int], str, dict[str, Any]]] = []
    moments: list[float] = []
    for position, (where, event) in enumerate(_raw_events(path)):
        if not isinstance(event, dict):
            raise EventFileError(f"{path}, {where}: expected an event object, got {type(event).__name__}")
        kind = str(event.get("detail-type", "(no detail-type)"))
        if kind != TASK_STATE_CHANGE:
            skipped[kind] = skipped.get(kind, 0) + 1
            continue
        detail = event.get("detail")
        if not isinstance(detail, dict) or not isinstance(detail.get("taskArn"), str):
            raise EventFileError(f"{path}, {where}: an {TASK_STATE_CHANGE!r} event without detail.taskArn")
        try:
            envelope_time = parse_time(event["time"]) if "time" in event else None
        except ValueError as error:
            raise EventFileError(f"{path}, {where}: time: {error}") from None
        if envelope_time is not None:
            moments.append(envelope_time)
        kept.append((_ordering(detail, envelope_time, position), where, detail))
    tasks: dict[str, TaskRecord] = {}
    for _, where, detail in sorted(kept, key=lambda item: item[0]):
        record = tasks.setdefault(detail["taskArn"], TaskRecord(detail["taskArn"]))
        _merge(record, detail, f"{path}, {where}")
    return EventLog(str(path), [tasks[arn] for arn in sorted(tasks)], len(kept), dict(sorted(skipped.items())),
                    min(moments, default=None), max(moments, default=None))


def _merge(record: TaskRecord, detail: dict[str, Any], where: str) -> None:
    """Lay one event's task fields over the record (later events win, absent fields keep)."""
    record.events += 1
    for name in TIMESTAMPS:
        if detail.get(name) is not None:
            try:
                record.times[name] = parse_time(detail[name])
            except ValueError as error:
                raise EventFileError(f"{where}: detail.{name}: {error}") from None
    record.launch_type = str(detail.get("launchType") or record.launch_type)
    record.stop_code = str(detail.get("stopCode") or record.stop_code)
    attachments = detail.get("attachments") or []
    if isinstance(attachments, list):
        record.has_eni |= any(isinstance(a, dict) and str(a.get("type", "")).lower() in ENI_TYPES
                              for a in attachments)
