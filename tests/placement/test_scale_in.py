"""Choosing the tasks to stop on scale-in."""

import numpy as np
import pytest

from ecssim.placement import DEFAULT_SERVICE_STRATEGY, ClusterView, TaskDemand, choose_tasks_to_stop

AZ = "attribute:ecs.availability-zone"
G = "service:web"


def tasks_on(counts):
    """Candidate task slots for per-instance counts, e.g. [2, 0, 1] -> [0, 0, 2]."""
    return np.repeat(np.arange(len(counts)), counts)


def stop(view, counts, count, strategies, seed=0):
    slots = tasks_on(counts)
    picked = choose_tasks_to_stop(slots, count, view, strategies, G, np.random.default_rng(seed))
    assert len(set(picked.tolist())) == len(picked) == count
    return slots[picked]


def az_view(counts, azs, **kwargs):
    return ClusterView.build(
        [2048] * len(counts), [4096] * len(counts), azs=azs, group_counts={G: counts}, **kwargs
    )


def test_default_takes_fullest_az_then_fullest_instance():
    counts = [1, 1, 3, 0, 2]
    view = az_view(counts, ["a", "a", "b", "b", "c"])
    # Tasks per AZ: a 2, b 3, c 2 -> AZ b, whose fullest instance is slot 2.
    assert stop(view, counts, 1, DEFAULT_SERVICE_STRATEGY)[0] == 2


def test_default_keeps_az_balance_over_several_stops():
    counts = [3, 1, 2, 0, 1, 1]
    azs = ["a", "a", "b", "b", "c", "c"]
    view = az_view(counts, azs)
    for seed in range(20):
        stopped = stop(view, counts, 4, DEFAULT_SERVICE_STRATEGY, seed)
        left = np.array(counts) - np.bincount(stopped, minlength=6)
        per_az = [left[0] + left[1], left[2] + left[3], left[4] + left[5]]
        assert sorted(per_az) == [1, 1, 2]
        assert stopped[0] == 0  # a has 4, its fullest instance is slot 0


def stopped_slots(view, counts, strategies, seeds=200):
    """The first task's slot over many seeds: every slot the rule can pick shows up."""
    return {int(stop(view, counts, 1, strategies, seed)[0]) for seed in range(seeds)}


def test_explicit_az_spread_takes_the_fullest_az_then_random_within_it():
    # ECS (3.2): keep the AZs balanced, random within the AZ. AZ a holds 4 tasks, b 1.
    counts = [1, 3, 1]
    view = az_view(counts, ["a", "a", "b"])
    assert stopped_slots(view, counts, [("spread", AZ)]) == {0, 1}


def test_explicit_az_spread_is_not_the_default_logic():
    # The same rules as the default, written by the user: random within the AZ (3.2), while
    # ECS's default logic takes the instance with the most tasks (3.3).
    counts = [1, 3, 1]
    view = az_view(counts, ["a", "a", "b"])
    explicit = (("spread", AZ), ("spread", "instanceId"))
    assert explicit == DEFAULT_SERVICE_STRATEGY
    assert stopped_slots(view, counts, explicit) == {0, 1}
    assert stopped_slots(view, counts, DEFAULT_SERVICE_STRATEGY) == {1}


def test_explicit_az_spread_keeps_azs_balanced_over_several_stops():
    counts = [2, 2, 1, 0]
    view = az_view(counts, ["a", "a", "b", "b"])
    for seed in range(30):
        stopped = stop(view, counts, 3, [("spread", AZ)], seed)
        # a 4, b 1: three stops all come from a (4 -> 3 -> 2 -> 1 vs b's 1).
        assert sorted(stopped.tolist()) in ([0, 0, 1], [0, 1, 1])


def test_spread_instance_takes_fullest_instance():
    counts = [1, 4, 2]
    view = az_view(counts, ["a", "b", "c"])
    assert list(stop(view, counts, 3, [("spread", "instanceId")])) == [1, 1, 1]


def test_binpack_takes_instance_with_most_free_resource():
    counts = [1, 1, 1]
    view = az_view(counts, ["a", "a", "a"], memory_free=[100, 3000, 200], cpu_free=[900, 0, 10])
    assert stop(view, counts, 1, [("binpack", "memory")])[0] == 1
    assert stop(view, counts, 1, [("binpack", "cpu")])[0] == 0


def test_spread_az_then_binpack_is_random_within_the_az():
    # Later rules do not act after an explicit AZ spread: AZ a (3 tasks), then random.
    counts = [1, 1, 1, 1]
    view = az_view(counts, ["a", "a", "a", "b"], memory_free=[100, 3000, 200, 9000])
    assert stopped_slots(view, counts, [("spread", AZ), ("binpack", "memory")]) == {0, 1, 2}


def test_binpack_then_spread_breaks_ties_by_the_later_rule():
    counts = [1, 1, 2]
    view = az_view(counts, ["a", "b", "b"], memory_free=[3000, 3000, 3000])
    # Equal free memory; spread over instances then keeps the instance with the most tasks.
    assert stopped_slots(view, counts, [("binpack", "memory"), ("spread", "instanceId")]) == {2}


def test_binpack_stops_count_what_earlier_stops_freed():
    counts = [2, 2]
    view = az_view(counts, ["a", "b"], memory_free=[3000, 3000])
    demand = TaskDemand(256, 100)
    for seed in range(20):
        slots = tasks_on(counts)
        picked = choose_tasks_to_stop(slots, 2, view, [("binpack", "memory")], G, np.random.default_rng(seed),
                                      demand=demand)
        # After the first stop its instance has 3100 MiB free, the most: the second stop is there too.
        assert slots[picked][0] == slots[picked][1]


def test_random_is_uniform_and_seeded():
    counts = [1, 1, 1, 1]
    view = az_view(counts, ["a", "b", "c", "d"])
    firsts = [stop(view, counts, 1, [("random", None)], seed)[0] for seed in range(400)]
    assert np.allclose(np.bincount(firsts) / 400, 0.25, atol=0.08)
    assert firsts == [stop(view, counts, 1, (), seed)[0] for seed in range(400)]


def test_counts_and_bounds():
    counts = [2, 1]
    view = az_view(counts, ["a", "b"])
    assert stop(view, counts, 0, DEFAULT_SERVICE_STRATEGY).size == 0
    assert sorted(stop(view, counts, 3, DEFAULT_SERVICE_STRATEGY)) == [0, 0, 1]
    with pytest.raises(ValueError):
        choose_tasks_to_stop(tasks_on(counts), 4, view, (), G, np.random.default_rng(0))


def test_group_unknown_to_view_uses_candidate_counts():
    view = ClusterView.build([2048] * 2, [4096] * 2, azs=["a", "b"])
    slots = tasks_on([1, 2])
    picked = choose_tasks_to_stop(slots, 1, view, DEFAULT_SERVICE_STRATEGY, G, np.random.default_rng(0))
    assert slots[picked][0] == 1


def test_spread_az_over_candidates_of_one_az_draws_as_random_does():
    # AZ rebalancing stops tasks within one AZ: the spread rule keys them all alike, so the
    # picks are the random rule's, draw for draw (the spread's totals are not even computed).
    counts = [2, 3, 0, 1, 4]
    view = az_view(counts, ["a", "b", "a", "b", "b"])
    in_b = [0, 3, 0, 1, 4]  # the candidates: the tasks in AZ b only
    for seed in range(5):
        spread = stop(view, in_b, 4, [("spread", AZ), ("binpack", "memory")], seed=seed)
        random = stop(view, in_b, 4, [("random", None)], seed=seed)
        assert spread.tolist() == random.tolist()
