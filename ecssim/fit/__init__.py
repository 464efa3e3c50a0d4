"""Timing fitted from a real cluster: ECS task state-change events to a ``timing:`` file.

``ecssim fit-timing EVENTS --out fitted.yaml`` reads the events (:mod:`.events`), takes one
latency sample per task and field (:mod:`.samples`), fits the duration families by maximum
likelihood and chooses by AIC (:mod:`.families`), and writes the file (:mod:`.timing_fit`).
"""

from .events import EventFileError, EventLog, TaskRecord, read_events
from .families import Candidate, choose, fit_candidates, weibull_shape
from .samples import FieldSamples, field_samples
from .timing_fit import (
    DEFAULT_MIN_SAMPLES,
    MARKER,
    FieldFit,
    TimingFit,
    check_target,
    fit_events,
    write_timing,
)

__all__ = [
    "DEFAULT_MIN_SAMPLES", "MARKER", "Candidate", "EventFileError", "EventLog", "FieldFit", "FieldSamples",
    "TaskRecord", "TimingFit", "check_target", "choose", "field_samples", "fit_candidates", "fit_events",
    "read_events", "weibull_shape", "write_timing",
]
