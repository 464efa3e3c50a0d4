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
