"""The events rows stored flat (EventRows) read exactly as the list of tuples they replace."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import pytest

import ecssim
from ecssim.model.eventlog import EVENT_COLUMNS, ROW_WIDTH, EventRows

ROOT = Path(__file__).resolve().parents[2]
ROWS = [
    (float(k), "task", f"t-{k:06d}", "state", "", "PENDING", "", "", "i-1", "az-a", "web", "service:web", "web:1",
     "", math.nan)
    for k in range(7)
]


def test_reads_as_the_list_of_tuples() -> None:
    rows = EventRows(ROWS)
    assert ROW_WIDTH == len(EVENT_COLUMNS) == len(ROWS[0])
    assert len(rows) == 7 and bool(rows) and not EventRows()
    assert list(rows) == ROWS and rows == ROWS and rows == EventRows(ROWS)
    assert rows[0] == ROWS[0] and rows[-1] == ROWS[-1] and rows[3] == ROWS[3]
    for key in (slice(2, 5), slice(5, None), slice(None, -2), slice(6, 2), slice(0, 7, 3), slice(None, None, -1)):
        assert rows[key] == ROWS[key], key
    assert rows.column(2) == [row[2] for row in ROWS]
    assert repr(rows) == repr(ROWS)
    with pytest.raises(IndexError):
        rows[7]
    with pytest.raises(IndexError):
        rows[-8]


def test_append_checks_the_width_and_pickles() -> None:
    rows = EventRows()
    rows.append(ROWS[0])
    rows.add(ROWS[1])  # the recorder's unchecked append
    with pytest.raises(ValueError, match="an events row has 15 values, got 14"):
        rows.append(ROWS[2][:-1])
    assert rows == ROWS[:2]
    back = pickle.loads(pickle.dumps(rows))
    back.add(ROWS[2])
    assert repr(back) == repr(ROWS[:3]) and rows == ROWS[:2]  # repr: a pickled NaN is another NaN


def test_a_run_reads_back_what_the_tables_show() -> None:
    """The events table is built from the flat columns: it matches the rows read one by one."""
    sim = ecssim.Simulation(ecssim.load_scenario(ROOT / "scenarios" / "demo.yaml"), seed=1).run_until()
    rows = sim.world.log.events
    assert isinstance(rows, EventRows) and len(rows) > 500
    table = sim.result().events
    assert len(table) == len(rows)
    for k in (0, len(rows) // 2, len(rows) - 1):
        values = table.iloc[k][list(EVENT_COLUMNS)].tolist()
        assert [v for v in values if v == v] == [v for v in rows[k] if v == v]  # NaN aside
