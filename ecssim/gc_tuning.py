"""Fewer runs of Python's cyclic garbage collector while a simulation runs.

A long run keeps millions of rows and thousands of live objects, and CPython's collector, by
default, scans every tracked object again at each full collection (one per 700 x 10 x 10
container allocations): at 5,000 instances for a simulated week that was a third of the
simulation's time. Simulations make little cyclic garbage, so the thresholds are raised
while one runs and put back after; results do not depend on when the collector runs.

At the end of the block, what the run still holds (its rows, tasks, instances) moves straight
to the collector's oldest generation: otherwise the next collection of the middle generation,
soon after, would scan all of it once more (0.8 s after a run at 2,500 instances).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

#: Collector thresholds while a simulation runs (generation 0 allocations, then how many
#: collections of the younger generation trigger the next); CPython's defaults are 700, 10, 10.
RUN_THRESHOLDS = (100_000, 50, 100)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the collector's thresholds to :data:`RUN_THRESHOLDS` inside the block (restored after)."""
    old = gc.get_threshold()
    if old[0] == 0:  # the collector is off (gc.disable() via threshold 0): leave it so
        yield
        return
    gc.set_threshold(*(max(a, b) for a, b in zip(old, RUN_THRESHOLDS, strict=True)))
    try:
        yield
    finally:
        gc.set_threshold(*old)
        if gc.get_freeze_count() == 0:  # (objects someone else froze, e.g. before a fork, stay frozen)
            gc.freeze()  # every tracked object to the permanent generation,
            gc.unfreeze()  # and back into the oldest one: the run's survivors skip the younger scans
