"""Planner-facing questions about a scenario: why a placement went where it did, and headroom.

- :func:`explain` re-simulates a run up to one placement (task ``t-000042`` or failure
  ``pf-000003``) and returns its pipeline as it was at that moment, one row per instance.
- :func:`headroom` counts how many more tasks of a task definition fit now, per AZ, and after
  losing the largest AZ or the largest instance, by placing them with the placement engine
  on a copy of the cluster's state (time does not move).
"""

from ecssim.insight.explain import ExplainProbe, Target, UnknownTargetError, explain, explanation_frame
from ecssim.insight.explain_text import to_text, verdict
from ecssim.insight.headroom import Resident, headroom
from ecssim.insight.report import HeadroomReport, LossCase

__all__ = [
    "ExplainProbe",
    "HeadroomReport",
    "LossCase",
    "Resident",
    "Target",
    "UnknownTargetError",
    "explain",
    "explanation_frame",
    "headroom",
    "to_text",
    "verdict",
]
