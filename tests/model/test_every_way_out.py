"""Every invariant holds in a run where instances leave in every way the simulator models.

Found by it: a task placed on a host that died in the same instant went on to PENDING and
pulled its image there; a drained instance waited for managedDrainingTimeout after its last
task had stopped, and the termination that should have ended the drain, once made, ran inside
the task's own STOPPED row and recorded it twice.
"""

from __future__ import annotations

import pytest

import ecssim
from ecssim.scenario import load_scenario_dict

from .every_way_out import EVERY_WAY_OUT


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_every_invariant_holds_however_instances_leave(seed: int):
    sim = ecssim.Simulation(load_scenario_dict(EVERY_WAY_OUT), seed=seed, check_invariants=True)
    sim.run_until()  # the checker raises InvariantViolation at the first broken invariant
    events = sim.result().events
    left = events.query("entity == 'instance' and to_state == 'INACTIVE'").entity_id.nunique()
    assert left >= 5  # instances did leave
