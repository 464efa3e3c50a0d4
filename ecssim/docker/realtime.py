"""SimPy in wall-clock time, woken at once by other threads: the Docker mode's driver.

The Docker agent runs the same world (placement, service scheduler, control plane) as the
simulator, but its containers live in a real engine whose events arrive on a reader thread
(:class:`~ecssim.docker.engine.EventReader`). :class:`WallClockEnvironment` is a SimPy
environment whose clock follows the wall clock, scaled by ``factor`` wall seconds per
simulated second (0.01: a simulated minute passes in 0.6 s), and which accepts callbacks
from other threads (:meth:`~WallClockEnvironment.call_threadsafe`). While it waits for its
next scheduled event it blocks on its inbox, so a callback runs as soon as it is posted,
stamped with the simulated time of that moment, and nothing polls: no tick, no busy loop.
"""

from __future__ import annotations

import math
import queue
import time
from collections.abc import Callable
from typing import Any

import simpy
from simpy.core import EmptySchedule


class WallClockEnvironment(simpy.Environment):
    """A SimPy environment that runs in (scaled) wall-clock time and takes thread-safe callbacks.

    ``factor``: wall seconds per simulated second (1.0: real time). Simulated time ``t``
    falls at wall time ``start + (t - initial_time) * factor``, ``start`` being when the
    environment was made (or :meth:`restart_clock` was called). Callbacks posted with
    :meth:`call_threadsafe` run in the SimPy thread, in the order posted, with ``env.now``
    set to the simulated time at which they are taken from the inbox, and never before an
    event already due (the clock only moves forward).
    """

    def __init__(self, factor: float = 1.0, initial_time: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not (factor > 0 and math.isfinite(factor)):
            raise ValueError(f"factor must be a positive number of wall seconds per simulated second, got {factor}")
        super().__init__(initial_time)
        self.factor = float(factor)
        self._clock = clock
        self._initial = float(initial_time)
        self._wall_start = clock()
        self._inbox: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = queue.SimpleQueue()

    def restart_clock(self) -> None:
        """Make simulated ``now`` fall at this wall instant (e.g. after a slow set-up)."""
        self._initial = float(self.now)
        self._wall_start = self._clock()

    def simulated_time(self, wall_s: float) -> float:
        """The simulated time that wall-clock instant ``wall_s`` (of the environment's clock) maps to."""
        return self._initial + (wall_s - self._wall_start) / self.factor

    def wall_time(self, simulated_s: float) -> float:
        """The wall-clock instant (of the environment's clock) at which ``simulated_s`` falls."""
        return self._wall_start + (simulated_s - self._initial) * self.factor

    def call_threadsafe(self, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` in the SimPy thread as soon as possible (any thread may call this)."""
        self._inbox.put((callback, args))

    def step(self) -> None:
        """Wait for the wall clock to reach the next event, running posted callbacks meanwhile."""
        while True:
            self._run_posted()
            due = self.peek()
            wait = math.inf if due == math.inf else self.wall_time(due) - self._clock()
            if wait <= 0:
                break
            if wait == math.inf:
                raise EmptySchedule()
            try:
                posted = self._inbox.get(timeout=wait)
            except queue.Empty:
                break
            self._take(*posted)
        super().step()

    def _run_posted(self) -> None:
        while True:
            try:
                posted = self._inbox.get_nowait()
            except queue.Empty:
                return
            self._take(*posted)

    def _take(self, callback: Callable[..., Any], args: tuple[Any, ...]) -> None:
        """Move the clock to the wall's simulated time (never past the next due event), then call."""
        now = self.simulated_time(self._clock())
        self._now = max(self._now, min(now, self.peek()))
        callback(*args)
