"""Task groups' counts per slot survive new groups and new slots, and a ledger over a copy keeps to it."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from ecssim.insight.headroom import copy_view, ledger_for
from ecssim.model.cluster import Cluster
from ecssim.placement.demand import TaskDemand


def _task(group: str) -> SimpleNamespace:
    demand = TaskDemand(cpu=1, memory_mib=1)
    return SimpleNamespace(group=group, cpu=1, memory=1, spec=SimpleNamespace(demand=demand))


def _add(cluster: Cluster) -> int:
    info = cluster.add_instance(fleet="f", instance_type="m5.large", az="a", market="on-demand", cpu=2048,
                                memory=8192, attributes={}, stream_key=f"s{cluster.view.n}")
    cluster.activate(info.slot, now=0.0)
    return info.slot


def test_counts_survive_new_groups_and_new_slots() -> None:
    cluster = Cluster([], capacity=2)
    expected: dict[str, np.ndarray] = {}
    rng = np.random.default_rng(7)
    for step in range(400):  # 40 groups over 100 slots (the arrays regrow several times)
        if cluster.view.n < 100 and step % 4 == 0:
            _add(cluster)
        group = f"family:g{int(rng.integers(40))}"
        slot = int(rng.integers(cluster.view.n))
        cluster.reserve(slot, _task(group))
        expected.setdefault(group, np.zeros(100, dtype=np.int64))[slot] += 1
        if step % 3 == 0:  # and some leave again
            cluster.release_desired(slot, _task(group))
            expected[group][slot] -= 1
    counts = cluster.view.group_counts
    assert set(counts) == set(expected)
    for group, want in expected.items():
        assert counts[group][:100].tolist() == want.tolist(), group
    assert int(cluster.view.running_tasks_count[:100].sum()) == sum(int(w.sum()) for w in expected.values())


def test_a_ledger_over_a_copied_view_keeps_the_copy_own_arrays() -> None:
    """Headroom's ledger writes into a copied view: the copied groups stay its own arrays."""
    cluster = Cluster([], capacity=4)
    slots = [_add(cluster) for _ in range(3)]
    cluster.reserve(slots[0], _task("service:web"))
    copy = copy_view(cluster.view)
    ledger = ledger_for(copy)
    ledger.reserve(slots[1], _task("service:web"))
    ledger.reserve(slots[2], _task("service:api"))  # a group the copy did not have
    assert copy.group_counts["service:web"][:3].tolist() == [1, 1, 0]
    assert copy.group_counts["service:api"][:3].tolist() == [0, 0, 1]
    assert cluster.view.group_counts["service:web"][:3].tolist() == [1, 0, 0]  # the live arrays untouched
    assert "service:api" not in cluster.view.group_counts
