"""Settled recovery rows of the summary-only mode, kept as five numbers each.

Once no live task carries an incident, each service it hit is back to its desired count and
none of its impairments is open, no later row of a simulator's log changes the incident's
``recovery`` rows (a crash's one row, an instance failure's or an AZ outage's row per service
hit). The online summary then moves them here: fault time and time back to desired as floats,
the incident id as its number, service and fault kind as codes (29 bytes a row, against some
400 for a live row with its dict entries and id string), so that a long run's memory does not
grow with every incident it survived.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import numpy as np

_PREFIX = "inc-"
_LARGEST_NUMBER = 2**31 - 1  # what an array("i") entry holds


def incident_number(incident: str) -> int | None:
    """The number of an incident id ``inc-0042`` (None if the id is not in that exact form)."""
    digits = incident[len(_PREFIX):]
    if not incident.startswith(_PREFIX) or not digits.isdigit():
        return None
    number = int(digits)
    return number if incident_id(number) == incident else None


def incident_id(number: int) -> str:
    """The id of incident ``number`` (as ``ControlPlane.new_incident`` writes it)."""
    return f"{_PREFIX}{number:04d}"


class SettledRecoveries:
    """Recovery rows compacted by the online summary, one entry per column (see the module doc).

    Compaction is undone by :meth:`take` should a later row mention the incident after all
    (a hand-made log may give a crash incident to a second task): the summary then puts the
    row back as it was, so the result never depends on when rows were compacted.
    """

    __slots__ = ("fault_times", "recovered", "numbers", "services", "kinds", "counted", "names", "_codes",
                 "_held", "in_window")

    def __init__(self) -> None:
        self.fault_times = array("d")
        self.recovered = array("d")
        self.numbers = array("i")  # -1: taken back
        self.services = array("I")
        self.kinds = array("I")
        self.counted = array("b")  # 1 if its incident counted in the window's incidents
        self.names: list[str] = []  # code -> service or kind name
        self._codes: dict[str, int] = {}
        self._held = bytearray()  # incident number -> 1 if it has an entry here
        self.in_window = 0  # entries whose incident counts in the window's incidents

    def _code(self, name: str) -> int:
        code = self._codes.get(name)
        if code is None:
            code = self._codes[name] = len(self.names)
            self.names.append(name)
        return code

    @staticmethod
    def _number(incident: str) -> int | None:
        """The number of an ``inc-NNNN`` id that fits in 31 bits, else None."""
        number = incident_number(incident)
        return number if number is not None and number <= _LARGEST_NUMBER else None

    @staticmethod
    def keeps(incident: str) -> bool:
        """Whether :meth:`add` can keep a row of ``incident`` (an ``inc-NNNN`` id of at most 31 bits)."""
        return SettledRecoveries._number(incident) is not None

    def add(self, fault_time: float, incident: str, service: str, kind: str, recovered_at: float,
            counted: bool) -> bool:
        """Keep the row; False (nothing kept) if the incident id is not of the ``inc-NNNN`` form
        (or its number does not fit in 31 bits)."""
        number = self._number(incident)
        if number is None:
            return False
        self.fault_times.append(fault_time)
        self.recovered.append(recovered_at)
        self.numbers.append(number)
        self.services.append(self._code(service))
        self.kinds.append(self._code(kind))
        self.counted.append(1 if counted else 0)
        if counted:
            self.in_window += 1
        held = self._held
        if number >= len(held):
            held.extend(bytes(number + 1 - len(held)))
        held[number] = 1
        return True

    def holds(self, incident: str) -> bool:
        """Whether ``incident`` has a compacted row here."""
        number = incident_number(incident)
        return number is not None and number < len(self._held) and self._held[number] == 1

    def take(self, incident: str) -> list[tuple[float, str, str, float, bool]]:
        """Take back the rows of ``incident``: (fault time, service, kind, recovered_at_s, counted)."""
        number = incident_number(incident)
        taken = []
        if number is None or number >= len(self._held) or not self._held[number]:
            return taken
        self._held[number] = 0
        names, numbers = self.names, self.numbers
        at = numbers.index(number)
        while True:
            counted = self.counted[at] == 1
            taken.append((self.fault_times[at], names[self.services[at]], names[self.kinds[at]],
                          self.recovered[at], counted))
            if counted:
                self.in_window -= 1
            numbers[at] = -1
            try:
                at = numbers.index(number, at + 1)
            except ValueError:
                return taken

    def rows(self) -> Iterator[tuple[float, str, str, str, float]]:
        """(fault time, incident, service, kind, recovered_at_s) of each row kept."""
        names = self.names
        for fault_time, number, service, kind, recovered in zip(
                self.fault_times, self.numbers, self.services, self.kinds, self.recovered, strict=True):
            if number >= 0:
                yield fault_time, incident_id(number), names[service], names[kind], recovered

    def service_names(self) -> set[str]:
        """The services of the rows kept."""
        return {self.names[code] for code, number in zip(self.services, self.numbers, strict=True) if number >= 0}


class RecoveryColumns(NamedTuple):
    """Every ``recovery`` row as columns, in the table's order (see :func:`recovery_columns`)."""

    fault_time: np.ndarray  # float64; NaN: the incident has no fault row
    recovered_at: np.ndarray  # float64; NaN: not back to desired
    service: np.ndarray  # codes into ``names``
    kind: np.ndarray  # codes into ``names``
    names: list[str]
    code_of: dict[str, int]


def _column(values: array) -> np.ndarray:
    return np.frombuffer(values, dtype=np.dtype(values.typecode))


def recovery_columns(settled: SettledRecoveries,
                     live: Sequence[tuple[float, str, str, str, float]]) -> RecoveryColumns:
    """The settled rows and the ``live`` ones (fault time, incident, service, kind, recovered_at_s)
    as columns in the ``recovery`` table's order: fault time (NaN last), then incident id, then
    service. Only rows with equal fault times are ordered by their ids, so that a long run's
    result does not build a tuple and an id string per settled row."""
    names, code_of = list(settled.names), dict(settled._codes)

    def code(name: str) -> int:
        found = code_of.get(name)
        if found is None:
            found = code_of[name] = len(names)
            names.append(name)
        return found

    kept = _column(settled.numbers) >= 0
    numbers = _column(settled.numbers)[kept]
    fault_time = np.concatenate((_column(settled.fault_times)[kept], np.array([r[0] for r in live], dtype=float)))
    recovered = np.concatenate((_column(settled.recovered)[kept], np.array([r[4] for r in live], dtype=float)))
    codes = _column(settled.services).dtype  # 4 bytes a row, as kept
    service = np.concatenate((_column(settled.services)[kept], np.array([code(r[2]) for r in live], dtype=codes)))
    kind = np.concatenate((_column(settled.kinds)[kept], np.array([code(r[3]) for r in live], dtype=codes)))
    held = len(numbers)

    def tie_key(i: int) -> tuple[str, str]:
        incident = incident_id(int(numbers[i])) if i < held else live[i - held][1]
        return incident, names[service[i]]

    order = np.argsort(fault_time, kind="stable")  # NaN last, as in the table
    ordered = fault_time[order]
    nan = np.isnan(ordered)
    same = (ordered[1:] == ordered[:-1]) | (nan[1:] & nan[:-1])
    bounds = np.concatenate(([0], np.flatnonzero(~same) + 1, [len(order)]))
    for run in np.flatnonzero(np.diff(bounds) > 1).tolist():  # equal fault times: by incident, service
        start, end = int(bounds[run]), int(bounds[run + 1])
        order[start:end] = sorted(order[start:end].tolist(), key=tie_key)
    return RecoveryColumns(fault_time[order], recovered[order], service[order], kind[order], names, code_of)
