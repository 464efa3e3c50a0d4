"""Container starts that share one Docker engine slow each other down.

Measured on a real engine (``ecssim docker-calibrate``): k container starts issued at once
each take about ``1 + slowdown * (k - 1)`` times as long as one alone, and they slow down
together rather than queue. :class:`StartSharing` models that as processor sharing: each
start has a drawn amount of work (its ``timing.containerStart`` draw, the time it takes
alone), and while n starts are in progress each progresses at rate ``1 / (1 + slowdown * (n - 1))``.

It is event-driven: the only scheduled event is the next completion, recomputed whenever a
start begins, ends or is abandoned (the task was stopped meanwhile). With ``slowdown`` 0 the
world does not use it at all, so runs without contention are unchanged.
"""

from __future__ import annotations

import simpy

#: Work left (simulated seconds) below which a start counts as complete: guards against
#: floating-point residue after many rate changes, far below any latency that matters.
_DONE_EPSILON = 1e-9


class StartSharing:
    """The container starts in progress on one engine (an instance's, or the cluster's one)."""

    __slots__ = ("env", "slowdown", "_active", "_last", "_generation")

    def __init__(self, env: simpy.Environment, slowdown: float) -> None:
        if slowdown < 0:
            raise ValueError(f"slowdown must be >= 0, got {slowdown}")
        self.env = env
        self.slowdown = float(slowdown)
        self._active: dict[object, list] = {}  # token -> [work left, completion event], in start order
        self._last = env.now  # when the work left was last brought up to date
        self._generation = 0  # invalidates the completion timers of earlier schedules

    @property
    def in_progress(self) -> int:
        """Starts in progress now."""
        return len(self._active)

    def rate(self, n: int) -> float:
        """How fast each of ``n`` concurrent starts progresses (1: as fast as alone)."""
        return 1.0 / (1.0 + self.slowdown * (n - 1)) if n > 0 else 0.0

    def run(self, work: float):
        """A start of ``work`` simulated seconds alone: ``yield from sharing.run(work)``.

        Returns when the start has had its work done at the shared rate; if the waiting
        process is interrupted, the start leaves the engine at once (it no longer slows
        the others) and the interrupt propagates.
        """
        self._advance()
        token = object()
        done = self.env.event()
        self._active[token] = [float(work), done]
        self._schedule()
        try:
            yield done
        finally:
            if token in self._active:  # abandoned before completion
                self._advance()
                del self._active[token]
                self._schedule()

    def _advance(self) -> None:
        """Subtract the work done since the last update from every start in progress."""
        now = self.env.now
        elapsed = now - self._last
        self._last = now
        if elapsed > 0 and self._active:
            step = elapsed * self.rate(len(self._active))
            for entry in self._active.values():
                entry[0] -= step

    def _schedule(self) -> None:
        """Schedule the next completion at the current rate (earlier timers become stale)."""
        self._generation += 1
        if not self._active:
            return
        least = min(entry[0] for entry in self._active.values())
        delay = max(least, 0.0) / self.rate(len(self._active))
        timer = self.env.timeout(delay)
        generation = self._generation
        timer.callbacks.append(lambda _event: self._complete(generation))

    def _complete(self, generation: int) -> None:
        if generation != self._generation:
            return
        self._advance()
        finished = [token for token, entry in self._active.items() if entry[0] <= _DONE_EPSILON]
        for token in finished:
            self._active.pop(token)[1].succeed()
        self._schedule()
