"""Settled recovery rows of the summary-only mode, kept as five numbers each.

A task crash or OOM kill is an incident of one task: once that task is gone and its service
is back to its desired count, no later row can change the incident's ``recovery`` row. The
online summary then moves the row here: its fault time and time back to desired as floats,
its incident id as its number, its service and fault kind as codes (about 40 bytes, against
some 400 for a live row with its dict entries and id string), so that a long run's memory
does not grow with every crash it survived.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator

#: Fault kinds whose incident is one task's (its fault row, then that task's stop rows).
SETTLING_KINDS = frozenset(("task_crash", "oom_kill"))
_PREFIX = "inc-"


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
        self.numbers = array("q")  # -1: taken back
        self.services = array("l")
        self.kinds = array("l")
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

    def add(self, fault_time: float, incident: str, service: str, kind: str, recovered_at: float,
            counted: bool) -> bool:
        """Keep the row; False (nothing kept) if the incident id is not of the ``inc-NNNN`` form."""
        number = incident_number(incident)
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
