"""The collector's thresholds are raised only while a simulation runs, and put back after."""

from __future__ import annotations

import gc

import pytest

from ecssim.gc_tuning import RUN_THRESHOLDS, fewer_collections


def test_thresholds_are_raised_inside_and_restored_after():
    before = gc.get_threshold()
    with fewer_collections():
        inside = gc.get_threshold()
    assert gc.get_threshold() == before
    assert inside == tuple(max(a, b) for a, b in zip(before, RUN_THRESHOLDS, strict=True))


def test_thresholds_are_restored_when_the_run_fails():
    before = gc.get_threshold()
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failing run")
    assert gc.get_threshold() == before


def test_a_disabled_collector_stays_disabled():
    before = gc.get_threshold()
    gc.set_threshold(0)
    try:
        with fewer_collections():
            assert gc.get_threshold()[0] == 0
    finally:
        gc.set_threshold(*before)


class _Node:
    def __init__(self) -> None:
        self.other = None


def test_what_the_run_holds_moves_to_the_oldest_generation():
    """After the block the young generations are empty: the next collections skip the run's objects."""
    with fewer_collections():
        held = [_Node() for _ in range(1000)]
    young = {id(o) for o in gc.get_objects(generation=0) + gc.get_objects(generation=1)}
    assert not any(id(node) in young for node in held)
    assert gc.get_freeze_count() == 0


def test_cycles_made_in_the_run_are_still_collected():
    with fewer_collections():
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        del a, b
    assert gc.collect() >= 2


def test_objects_someone_froze_stay_frozen():
    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        with fewer_collections():
            pass
        # unfreeze() would empty the permanent generation; its exact count may still drop a
        # little, as reference counting frees some frozen objects meanwhile
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
