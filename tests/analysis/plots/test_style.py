"""The shared style: time units, service colours, and fault marks (few labelled, many as a rug)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecssim.analysis.plots.style import (
    MAX_LABELLED_MARKS,
    STANDALONE_COLOR,
    mark_faults,
    new_figure,
    service_colors,
    time_unit,
)


@pytest.mark.parametrize("span_s, unit", [(3600, "min"), (3 * 3600, "min"), (3 * 3600 + 1, "h"),
                                          (3 * 86400, "h"), (7 * 86400, "days")])
def test_time_unit_follows_the_span(span_s: float, unit: str) -> None:
    assert time_unit(span_s)[1] == unit


def test_service_colours_are_stable_and_standalone_is_grey() -> None:
    colors = service_colors(["web", "", "api"])
    assert colors == service_colors(["api", "web", ""])
    assert colors[""] == STANDALONE_COLOR and colors["api"] != colors["web"]


def _marks(n_faults: int, n_actions: int) -> pd.DataFrame:
    times = np.arange(n_faults + n_actions, dtype=float) * 60.0
    return pd.DataFrame({"time_s": times, "kind": "task_crash", "label": "inc",
                         "what": ["fault"] * n_faults + ["action"] * n_actions})


def test_few_marks_are_full_height_labelled_lines(close) -> None:
    fig, axes = new_figure()
    close(fig)
    ax = axes[0, 0]
    mark_faults(ax, _marks(3, 1), 60.0)
    xs = sorted(float(line.get_xdata()[0]) for line in ax.lines)
    assert xs == [0.0, 1.0, 2.0, 3.0]
    assert [t.get_text() for t in ax.texts] == ["task_crash"] * 4


def test_many_marks_are_one_rug_per_kind_with_a_count(close) -> None:
    n = MAX_LABELLED_MARKS + 60
    fig, axes = new_figure()
    close(fig)
    ax = axes[0, 0]
    mark_faults(ax, _marks(n - 5, 5), 60.0)
    assert len(ax.lines) == 0
    rugs = {c.get_gid(): c for c in ax.collections}
    faults = np.array([seg[0][0] for seg in rugs["marks:fault"].get_segments()])
    actions = np.array([seg[0][0] for seg in rugs["marks:action"].get_segments()])
    np.testing.assert_array_equal(faults, np.arange(n - 5, dtype=float))
    np.testing.assert_array_equal(actions, np.arange(n - 5, n, dtype=float))
    assert [t.get_text() for t in ax.texts] == [f"{n - 5} faults | 5 actions (ticks along the top, too many to label)"]
