"""Capacity provider strategy split: base first, then weights (ecs-reference 6.1), without SimPy."""

from __future__ import annotations

from collections import Counter

from ecssim.control.provider_split import choose_provider


def hand_out(items, n: int) -> list[str]:  # noqa: ANN001
    counts: Counter[str] = Counter()
    order = []
    for _ in range(n):
        name = choose_provider(items, counts)
        counts[name] += 1
        order.append(name)
    return order


def test_base_first_then_weights_one_to_three():
    order = hand_out([("od", 2, 1), ("spot", 0, 3)], 10)
    assert order[:2] == ["od", "od"]
    assert Counter(order[2:]) == {"od": 2, "spot": 6}
    assert Counter(hand_out([("od", 2, 1), ("spot", 0, 3)], 402)[2:]) == {"od": 100, "spot": 300}


def test_weight_zero_provider_takes_only_its_base():
    assert Counter(hand_out([("od", 3, 0), ("spot", 0, 1)], 10)) == {"od": 3, "spot": 7}


def test_single_provider_of_weight_zero_takes_every_task():
    assert hand_out([("only", 0, 0)], 3) == ["only"] * 3


def test_counts_of_live_tasks_steer_replacements_back_to_their_share():
    # 4 on spot, 0 on od after od's tasks stopped: the next ones go to od until the 1:1 share holds
    assert [choose_provider([("od", 0, 1), ("spot", 0, 1)], {"od": k, "spot": 4}) for k in range(4)] == ["od"] * 4
