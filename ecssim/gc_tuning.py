"""Fewer runs of Python's cyclic garbage collector while a simulation runs.

A long run keeps millions of rows and thousands of live objects, and CPython's collector, by
default, scans every tracked object again at each full collection (one per 700 x 10 x 10
container allocations): at 5,000 instances for a simulated week that was a third of the
simulation's time. Simulations make little cyclic garbage, so the thresholds are raised
while one runs and put back after; results do not depend on when the collector runs.
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
