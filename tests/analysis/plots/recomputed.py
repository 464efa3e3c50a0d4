"""Figures the plot tests recompute from the tables themselves (never from the plotting code)."""

from __future__ import annotations

import pandas as pd


def freed_at(result) -> pd.Series:  # noqa: ANN001
    """Each task's time of its first STOPPING/STOPPED row (the control plane frees it then),
    recomputed from ``events``, aligned with ``result.tasks``; NaN for a task still holding
    its resources at the end."""
    events = result.events
    rows = events[(events["entity"] == "task") & (events["event"] == "state")
                  & events["to_state"].isin(("STOPPING", "STOPPED"))]
    return result.tasks["task_id"].map(rows.groupby("entity_id")["time_s"].min()).rename("freed_s")
