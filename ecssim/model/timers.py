"""Calling something later in simulated time, without a process."""

from __future__ import annotations


def call_later(env, delay: float, call, *args) -> None:  # noqa: ANN001
    """Call ``call(*args)`` ``delay`` simulated seconds from now.

    A delay of zero (or less) calls at once, without a SimPy event, so that the rows it writes
    keep the order of their causes.
    """
    if delay <= 0.0:
        call(*args)
        return
    timer = env.timeout(delay)
    timer.callbacks.append(lambda _event: call(*args))
