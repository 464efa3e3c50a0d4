"""The sorted free-amount index gives exactly the full scan's placements (placement.free_index).

A cluster goes through random launches, stops, holds, disconnections, drains and instance
losses; before every launch the same placement is made twice, once by the full scan (the
view without its index) and once with the index, from the same random state: the chosen
slot, the failure and the random stream afterwards must be the same. The index must also
really answer most of them (else this would test nothing).
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from ecssim.model.cluster import Cluster
from ecssim.placement import free_index, pipeline
from ecssim.placement.demand import TaskDemand

AZS = ("us-east-1a", "us-east-1b", "us-east-1c")
RULES = [
    (("binpack", "memory"),),
    (("binpack", "cpu"),),
    (("spread", "attribute:ecs.availability-zone"), ("binpack", "memory")),
    (("spread", "attribute:ecs.availability-zone"), ("binpack", "cpu")),
    (("spread", "attribute:stack"), ("binpack", "memory")),  # a quarter of the instances lack it
    (("random", None),),
    (),
]
SIZES = [(128, 256), (256, 512), (256, 1024), (512, 256), (1024, 2048), (0, 128)]


def _attributes(i: int) -> dict[str, str]:
    stack = {} if i % 4 == 0 else {"stack": ("blue", "green")[i % 2]}
    return {"ecs.availability-zone": AZS[i % 3], **stack}


def _cluster(rng: np.random.Generator, instances: int) -> Cluster:
    cluster = Cluster([], capacity=8)
    for i in range(instances):
        cpu, memory = [(1024, 2048), (2048, 3840), (4096, 7680)][int(rng.integers(3))]
        cluster.add_instance(fleet="f", instance_type="t", az=AZS[i % 3], market="on-demand", cpu=cpu,
                             memory=memory, attributes=_attributes(i), stream_key=str(i))
        cluster.activate(i, now=0.0)
    return cluster


def _task(group: str, cpu: int, memory: int) -> SimpleNamespace:
    spec = SimpleNamespace(demand=TaskDemand(cpu, memory))
    return SimpleNamespace(group=group, cpu=cpu, memory=memory, spec=spec)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_index_places_exactly_like_the_full_scan(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(seed)
    cluster = _cluster(rng, 60)
    view = cluster.view
    answered = []
    fast = free_index.fast_choose

    def counted(*args):  # noqa: ANN002, ANN202
        slot = fast(*args)
        answered.append(slot is not None)
        return slot

    monkeypatch.setattr(pipeline, "fast_choose", counted)
    placed: list[tuple[int, SimpleNamespace]] = []
    held: list[tuple[int, TaskDemand]] = []
    for step in range(3000):
        action = rng.random()
        if action < 0.6 or not placed:
            cpu, memory = SIZES[int(rng.integers(len(SIZES)))]
            group = f"service:s{int(rng.integers(4))}"
            rules = RULES[int(rng.integers(len(RULES)))]
            demand = TaskDemand(cpu, memory)
            index, view.index = view.index, None
            scan_rng = np.random.default_rng([seed, step])
            expected = pipeline.place(demand, view, rules, (), group, scan_rng)
            view.index = index
            index_rng = np.random.default_rng([seed, step])
            got = pipeline.place(demand, view, rules, (), group, index_rng)
            assert (got.instance, got.reason, got.closest) == (expected.instance, expected.reason, expected.closest)
            assert index_rng.random() == scan_rng.random()  # as many draws made
            if got.placed:
                task = _task(group, cpu, memory)
                cluster.reserve(got.instance, task)
                placed.append((got.instance, task))
        elif action < 0.85:
            slot, task = placed.pop(int(rng.integers(len(placed))))
            cluster.release_desired(slot, task)
            cluster.release(slot, task)
        elif action < 0.9:
            slot = int(rng.integers(view.n))
            if view.active[slot] and view.cpu_free[slot] >= 128 and view.memory_free[slot] >= 256:
                cluster.hold(slot, TaskDemand(128, 256))
                held.append((slot, TaskDemand(128, 256)))
            elif held:
                cluster.unhold(*held.pop())
        elif action < 0.96:
            slot = int(rng.integers(view.n))
            if cluster.infos[slot].status == "ACTIVE":
                cluster.set_connected(slot, not bool(view.connected[slot]))
        elif action < 0.98:
            slot = int(rng.integers(view.n))
            if cluster.infos[slot].status == "ACTIVE":
                cluster.set_draining(slot)
            elif cluster.infos[slot].status == "DRAINING":
                cluster.set_active(slot)
        else:
            i = view.n  # a new instance; sometimes an old one goes
            cluster.add_instance(fleet="f", instance_type="t", az=AZS[i % 3], market="on-demand", cpu=2048,
                                 memory=3840, attributes=_attributes(i), stream_key=str(i))
            cluster.activate(i, now=float(step))
            gone = int(rng.integers(view.n))
            if cluster.infos[gone].status != "INACTIVE" and rng.random() < 0.5:
                cluster.deactivate(gone)
    assert len(answered) > 1000
    assert sum(answered) > 0.3 * len(answered)  # the index answered many placements itself


def test_a_copied_or_built_view_has_no_index() -> None:
    from ecssim.insight.headroom import copy_view
    from ecssim.placement import ClusterView

    cluster = _cluster(np.random.default_rng(0), 3)
    assert cluster.view.index is not None
    assert copy_view(cluster.view).index is None
    assert ClusterView.build([1024], [2048]).index is None
