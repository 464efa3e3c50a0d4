"""Latency samples per ``timing`` field, each the difference of two timestamps of one task.

The mapping (a sample only when both timestamps exist and the difference is >= 0):

- ``imagePull`` = pullStoppedAt - pullStartedAt, EC2 tasks only (Fargate pulls are
  ``timing.fargate.imagePull``); a zero pull is a cached image, counted apart, not fitted.
- ``containerStart`` = startedAt - pullStoppedAt.
- ``containerStop`` = executionStoppedAt (else stoppedAt) - stoppingAt, for tasks that ran and
  were stopped (not those whose essential container exited by itself, whose stop is immediate
  in the model, nor those that failed to start).
- ``eniAttach`` (reported, not fitted) = pullStartedAt - createdAt of EC2 tasks with an ENI
  attachment: it also holds the placement and any wait for resources.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .events import EventLog, TaskRecord

#: Stop codes of tasks that did not receive a SIGTERM while running: no containerStop sample.
NO_STOP_SAMPLE_CODES = frozenset({"EssentialContainerExited", "TaskFailedToStart"})
#: The fields fitted, in file order.
FITTED_FIELDS = ("imagePull", "containerStart", "containerStop")
#: The fields only reported.
REPORTED_FIELDS = ("eniAttach",)


@dataclass
class FieldSamples:
    """The positive samples of one field, and how many zero ones were set apart."""

    name: str
    what: str
    values: np.ndarray
    zeros: int = 0
    notes: list[str] = field(default_factory=list)


def _difference(task: TaskRecord, start: str, end: str) -> float | None:
    if start not in task.times or end not in task.times:
        return None
    value = task.times[end] - task.times[start]
    return value if value >= 0 else None


def _collect(name: str, what: str, tasks: list[TaskRecord], start: str, end: str) -> FieldSamples:
    values = [v for v in (_difference(t, start, end) for t in tasks) if v is not None]
    positive = np.array([v for v in values if v > 0], dtype=float)
    return FieldSamples(name, what, positive, zeros=len(values) - len(positive))


def _stop_end(task: TaskRecord) -> str:
    return "executionStoppedAt" if "executionStoppedAt" in task.times else "stoppedAt"


def field_samples(log: EventLog) -> dict[str, FieldSamples]:
    """The samples of every fitted and reported field, keyed by the field's name."""
    tasks = log.tasks
    ec2 = [t for t in tasks if t.launch_type.upper() != "FARGATE"]
    fargate = len(tasks) - len(ec2)
    pull = _collect("imagePull", "pullStartedAt -> pullStoppedAt (EC2)", ec2, "pullStartedAt", "pullStoppedAt")
    if pull.zeros:
        total = pull.zeros + len(pull.values)
        pull.notes.append(f"{pull.zeros} of {total} pulls took 0 s (cached image, "
                          f"{pull.zeros / total:.0%}): fitted on the others")
    if fargate:
        pull.notes.append(f"{fargate} Fargate task(s) left out (their pull is timing.fargate.imagePull)")
    start = _collect("containerStart", "pullStoppedAt -> startedAt", tasks, "pullStoppedAt", "startedAt")
    stopped = [t for t in tasks if "startedAt" in t.times and t.stop_code not in NO_STOP_SAMPLE_CODES]
    stop_values = [_difference(t, "stoppingAt", _stop_end(t)) for t in stopped]
    kept = [v for v in stop_values if v is not None]
    stop = FieldSamples("containerStop", "stoppingAt -> executionStoppedAt (else stoppedAt)",
                        np.array([v for v in kept if v > 0], dtype=float), zeros=sum(v == 0 for v in kept))
    eni = [t for t in ec2 if t.has_eni]
    attach = _collect("eniAttach", "createdAt -> pullStartedAt (EC2, awsvpc)", eni, "createdAt", "pullStartedAt")
    samples = {s.name: s for s in (pull, start, stop, attach)}
    for s in (start, stop, attach):
        if s.zeros:
            s.notes.append(f"{s.zeros} zero sample(s) left out")
    return samples
