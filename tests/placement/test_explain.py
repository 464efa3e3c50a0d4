"""Explain output and service event messages."""

import numpy as np
import pandas as pd

from ecssim.placement import (
    DEFAULT_SERVICE_STRATEGY,
    ClusterView,
    TaskDemand,
    place,
    unable_to_place_message,
)

AZ = "attribute:ecs.availability-zone"


def test_explain_rows_columns_and_ranks():
    view = ClusterView.build(
        [2048] * 5,
        [4096] * 5,
        azs=["a", "a", "b", "b", "b"],
        active=[True, True, True, True, False],
        connected=[True, True, False, True, True],
        cpu_free=[2048, 100, 2048, 2048, 2048],
        group_counts={"service:web": [0, 0, 0, 1, 0]},
    )
    d = place(
        TaskDemand(256, 256),
        view,
        DEFAULT_SERVICE_STRATEGY,
        (),
        "service:web",
        np.random.default_rng(0),
        explain=True,
    )
    df = d.candidates
    assert list(df.columns) == ["instance_id", "filtered_by", f"spread:{AZ}", "spread:instanceId", "rank"]
    assert list(df.index) == [0, 1, 2, 3]  # the inactive slot 4 is not listed
    assert list(df["filtered_by"]) == ["", "RESOURCE:CPU", "AGENT", ""]
    assert list(df[f"spread:{AZ}"]) == [0, 0, 1, 1]
    assert list(df["spread:instanceId"]) == [0, 0, 0, 1]
    assert d.instance == 0
    assert df["rank"].tolist() == [1, pd.NA, pd.NA, 2]
    assert df.loc[0, "instance_id"] == view.instance_ids[0]


def test_explain_rank_one_is_the_random_choice_among_ties():
    view = ClusterView.build([2048] * 4, [4096] * 4)
    for seed in range(10):
        d = place(
            TaskDemand(1, 1), view, [("binpack", "cpu")], (), "g", np.random.default_rng(seed), explain=True
        )
        ranks = d.candidates["rank"]
        assert ranks[d.instance] == 1
        assert sorted(ranks.tolist()) == [1, 2, 3, 4]


def test_explain_does_not_change_the_decision_or_the_stream():
    view = ClusterView.build([2048] * 6, [4096] * 6, azs=list("aabbcc"))
    r1, r2 = np.random.default_rng(3), np.random.default_rng(3)
    for _ in range(20):
        a = place(TaskDemand(1, 1), view, DEFAULT_SERVICE_STRATEGY, (), "g", r1)
        b = place(TaskDemand(1, 1), view, DEFAULT_SERVICE_STRATEGY, (), "g", r2, explain=True)
        assert a.instance == b.instance
        assert a.candidates is None and b.candidates is not None


def test_explain_on_failure_has_no_ranks():
    view = ClusterView.build([1024] * 2, [4096] * 2)
    d = place(TaskDemand(4096, 1), view, (), (), "g", np.random.default_rng(0), explain=True)
    assert list(d.candidates["filtered_by"]) == ["RESOURCE:CPU"] * 2
    assert d.candidates["rank"].isna().all()
    assert list(d.candidates.columns) == ["instance_id", "filtered_by", "random", "rank"]


HEAD = "service web was unable to place a task because no container instance met all of its requirements."
TAIL = " For more information, see the Troubleshooting section."


def message_for(demand, **kwargs):
    view = ClusterView.build([1024], [2048], instance_ids=["i-0abc"], **kwargs)
    d = place(demand, view, (), (), "service:web", np.random.default_rng(0))
    return unable_to_place_message("web", d, view)


def test_messages():
    prefix = f"{HEAD} The closest matching container-instance i-0abc "
    assert message_for(TaskDemand(2048, 1)) == prefix + "has insufficient CPU units available." + TAIL
    assert message_for(TaskDemand(1, 4096)) == prefix + "has insufficient memory available." + TAIL
    assert (
        message_for(TaskDemand(1, 1, tcp_ports=(22,)))
        == prefix + "is already using a port required by your task." + TAIL
    )
    assert message_for(TaskDemand(1, 1), connected=[False]) == prefix + 'encountered error "AGENT".' + TAIL
    assert message_for(TaskDemand(1, 1), active=[False]) == HEAD


def test_message_for_constraint_failure():
    view = ClusterView.build([1024], [2048], instance_ids=["i-0abc"], group_counts={"service:web": [1]})
    d = place(
        TaskDemand(1, 1), view, (), [("distinctInstance", None)], "service:web", np.random.default_rng(0)
    )
    assert unable_to_place_message("web", d, view).endswith(
        'i-0abc encountered error "DistinctInstance placement constraint unsatisfied".' + TAIL
    )


def test_explain_duplicate_rules_get_distinct_columns():
    view = ClusterView.build([2048] * 2, [4096] * 2)
    rules = [("binpack", "cpu"), ("binpack", "cpu")]
    d = place(TaskDemand(1, 1), view, rules, (), "g", np.random.default_rng(0), explain=True)
    assert list(d.candidates.columns) == [
        "instance_id",
        "filtered_by",
        "binpack:cpu",
        "binpack:cpu#2",
        "rank",
    ]
