"""Strategies, their chaining and defaults, on small hand-made clusters."""

import numpy as np
import pytest

from ecssim.placement import (
    DEFAULT_RUNTASK_STRATEGY,
    DEFAULT_SERVICE_STRATEGY,
    ClusterView,
    TaskDemand,
    place,
)

AZ = "attribute:ecs.availability-zone"
SMALL = TaskDemand(cpu=256, memory_mib=512)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def chosen(view, strategies, group="service:web", constraints=(), demand=SMALL, seed=0) -> int:
    return place(demand, view, strategies, constraints, group, rng(seed)).instance


def test_binpack_cpu_picks_least_remaining_cpu_that_fits():
    view = ClusterView.build([2048] * 4, [4096] * 4, cpu_free=[1024, 200, 300, 2048])
    assert chosen(view, [("binpack", "cpu")]) == 2  # 200 does not fit 256


def test_binpack_memory_picks_least_remaining_memory_that_fits():
    view = ClusterView.build([2048] * 4, [4096] * 4, memory_free=[4096, 600, 511, 1000])
    assert chosen(view, [("binpack", "memory")]) == 1


def test_spread_instance_picks_fewest_group_tasks_on_instance():
    view = ClusterView.build(
        [2048] * 3, [4096] * 3, group_counts={"service:web": [2, 0, 1], "service:other": [0, 5, 0]}
    )
    assert chosen(view, [("spread", "instanceId")]) == 1
    assert chosen(view, [("spread", "host")]) == 1
    # Another group's tasks do not count.
    assert chosen(view, [("spread", "instanceId")], group="service:other") in (0, 2)


def test_spread_az_counts_tasks_on_all_active_instances_not_only_feasible():
    # AZ a: slot 0 holds 3 tasks but is full; slot 1 is free. AZ b: 1 task.
    view = ClusterView.build(
        [2048] * 3,
        [4096] * 3,
        azs=["a", "a", "b"],
        cpu_free=[0, 2048, 2048],
        group_counts={"service:web": [3, 0, 1]},
    )
    assert chosen(view, [("spread", AZ)]) == 2


def test_spread_az_ignores_tasks_on_inactive_instances():
    view = ClusterView.build(
        [2048] * 3,
        [4096] * 3,
        azs=["a", "b", "b"],
        active=[True, True, False],
        group_counts={"service:web": [1, 0, 5]},
    )
    assert chosen(view, [("spread", AZ)]) == 1


def test_instances_lacking_the_attribute_form_their_own_bucket():
    view = ClusterView.build(
        [2048] * 3, [4096] * 3, azs=["a", None, None], group_counts={"service:web": [1, 1, 1]}
    )
    # bucket a: 1 task; missing bucket: 2 tasks.
    assert chosen(view, [("spread", AZ)]) == 0


def test_spread_over_unknown_attribute_breaks_no_ties():
    view = ClusterView.build([2048] * 2, [4096] * 2, memory_free=[4000, 1000])
    assert chosen(view, [("spread", "attribute:custom"), ("binpack", "memory")]) == 1


def test_spread_az_then_binpack_memory():
    view = ClusterView.build(
        [4096] * 5,
        [8192] * 5,
        azs=["a", "a", "b", "b", "c"],
        memory_free=[1000, 700, 3000, 900, 600],
        group_counts={"service:web": [1, 0, 0, 0, 2]},
    )
    # Fewest tasks: AZ b (0). Within b, least memory remaining that fits: slot 3.
    assert chosen(view, [("spread", AZ), ("binpack", "memory")]) == 3


def test_binpack_then_spread_breaks_ties_of_binpack_only():
    view = ClusterView.build(
        [2048] * 3, [4096] * 3, cpu_free=[512, 512, 1024], group_counts={"service:web": [1, 0, 0]}
    )
    assert chosen(view, [("binpack", "cpu"), ("spread", "instanceId")]) == 1


def test_default_service_strategy_az_then_instance():
    view = ClusterView.build(
        [2048] * 4,
        [4096] * 4,
        azs=["a", "a", "b", "b"],
        group_counts={"service:web": [1, 0, 1, 1]},
    )
    assert DEFAULT_SERVICE_STRATEGY == (("spread", AZ), ("spread", "instanceId"))
    # AZ a has 1 task, b has 2; within a, slot 1 has none.
    assert chosen(view, DEFAULT_SERVICE_STRATEGY) == 1


def test_random_and_empty_strategy_spread_choices_uniformly():
    view = ClusterView.build([2048] * 4, [4096] * 4, cpu_free=[2048, 2048, 2048, 100])
    assert DEFAULT_RUNTASK_STRATEGY == (("random", None),)
    for strategies in (DEFAULT_RUNTASK_STRATEGY, ()):
        r = rng(1)
        picks = [place(SMALL, view, strategies, (), "family:x", r).instance for _ in range(3000)]
        freq = np.bincount(picks, minlength=4) / len(picks)
        assert freq[3] == 0
        assert np.allclose(freq[:3], 1 / 3, atol=0.04)


def test_random_strategy_ends_ranking_later_rules_never_act():
    view = ClusterView.build([2048] * 2, [4096] * 2, cpu_free=[2048, 300])
    picks = {chosen(view, [("random", None), ("binpack", "cpu")], seed=s) for s in range(40)}
    assert picks == {0, 1}


def test_ties_left_after_last_strategy_are_random_and_seeded():
    view = ClusterView.build([2048] * 3, [4096] * 3)
    picks = [chosen(view, [("binpack", "cpu")], seed=s) for s in range(60)]
    assert set(picks) == {0, 1, 2}
    assert picks == [chosen(view, [("binpack", "cpu")], seed=s) for s in range(60)]


def test_only_first_n_slots_count():
    view = ClusterView.build([2048] * 2, [4096] * 2, capacity=10)
    view.active[:] = True  # spare slots beyond n must still be ignored
    view.connected[:] = True
    view.cpu_free[:] = 4096
    view.memory_free[:] = 8192
    assert {chosen(view, (), seed=s) for s in range(30)} == {0, 1}


def test_unknown_strategy_names_valid_ones():
    view = ClusterView.build([2048], [4096])
    with pytest.raises(ValueError, match="binpack, spread, random"):
        chosen(view, [("pack", "cpu")])
    with pytest.raises(ValueError, match="cpu, memory"):
        chosen(view, [("binpack", "gpu")])
    with pytest.raises(ValueError, match="instanceId"):
        chosen(view, [("spread", "az")])
