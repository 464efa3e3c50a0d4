"""ENIs (awsvpc, ecs-reference 2.4) and GPUs (2.5) in the pipeline; every reason's service event."""

import numpy as np
import pytest

from ecssim.placement import (
    REASON_AGENT,
    REASON_CPU,
    REASON_DISTINCT_INSTANCE,
    REASON_ENI,
    REASON_GPU,
    REASON_MEMBER_OF,
    REASON_MEMORY,
    REASON_PORTS,
    ClusterView,
    PlacementDecision,
    TaskDemand,
    place,
    unable_to_place_message,
)
from ecssim.scenario.catalog import eni_trunking_table, task_eni_limit


def decide(view, demand, constraints=()):
    return place(demand, view, (), constraints, "service:web", np.random.default_rng(0))


def test_awsvpc_task_needs_a_free_eni():
    view = ClusterView.build([2048] * 3, [4096] * 3, enis=[0, 1, 2])
    for seed in range(30):
        d = place(TaskDemand(1, 1, enis=1), view, (), (), "g", np.random.default_rng(seed))
        assert d.instance in (1, 2)
    d = decide(ClusterView.build([2048] * 2, [4096] * 2, enis=[0, 0]), TaskDemand(1, 1, enis=1))
    assert (d.instance, d.reason, d.closest) == (-1, REASON_ENI, 0)


def test_tasks_without_eni_or_gpu_ignore_those_ledgers():
    view = ClusterView.build([2048], [4096])  # no ENI, no GPU
    assert decide(view, TaskDemand(1, 1)).placed


def test_eni_is_checked_after_ports():
    # Slot 0 has a free ENI but port 80 is taken; slot 1 has the port but no ENI.
    view = ClusterView.build([2048] * 2, [4096] * 2, enis=[1, 0], tcp_ports=[[80], []])
    d = decide(view, TaskDemand(1, 1, tcp_ports=(80,), enis=1))
    assert (d.reason, d.closest) == (REASON_ENI, 1)


def test_gpu_fit():
    view = ClusterView.build([4096] * 3, [16384] * 3, gpus=[0, 1, 4])
    assert decide(view, TaskDemand(1, 1, gpus=2)).instance == 2
    for seed in range(30):
        d = place(TaskDemand(1, 1, gpus=1), view, (), (), "g", np.random.default_rng(seed))
        assert d.instance in (1, 2)
    d = decide(view, TaskDemand(1, 1, gpus=5))
    assert (d.instance, d.reason, d.closest) == (-1, REASON_GPU, 0)


def test_gpu_is_checked_after_eni():
    view = ClusterView.build([4096] * 2, [16384] * 2, enis=[0, 1], gpus=[1, 0])
    d = decide(view, TaskDemand(1, 1, enis=1, gpus=1))
    assert (d.reason, d.closest) == (REASON_GPU, 1)


def test_binpack_only_ranks_instances_with_a_free_gpu():
    view = ClusterView.build([4096] * 3, [16384] * 3, memory_free=[100, 9000, 5000], gpus=[1, 0, 1])
    d = place(TaskDemand(1, 50, gpus=1), view, [("binpack", "memory")], (), "g", np.random.default_rng(0))
    assert d.instance == 0  # least memory left among slots 0 and 2


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        (REASON_CPU, "has insufficient CPU units available."),
        (REASON_MEMORY, "has insufficient memory available."),
        (REASON_PORTS, "is already using a port required by your task."),
        (REASON_ENI, 'encountered error "RESOURCE:ENI".'),
        (REASON_GPU, 'encountered error "RESOURCE:GPU".'),
        (REASON_AGENT, 'encountered error "AGENT".'),
        (REASON_MEMBER_OF, 'encountered error "MemberOf placement constraint unsatisfied".'),
        (REASON_DISTINCT_INSTANCE, 'encountered error "DistinctInstance placement constraint unsatisfied".'),
    ],
)
def test_every_reason_has_its_service_event(reason, text):
    view = ClusterView.build([1024], [1024], instance_ids=["i-0abc"])
    message = unable_to_place_message("web", PlacementDecision(-1, reason, 0), view)
    assert message == (
        "service web was unable to place a task because no container instance met all of its "
        f"requirements. The closest matching container-instance i-0abc {text} "
        "For more information, see the Troubleshooting section."
    )


def test_reason_strings_are_ecs_exactly():
    assert [REASON_CPU, REASON_MEMORY, REASON_PORTS, REASON_ENI, REASON_GPU, REASON_AGENT, REASON_MEMBER_OF] == [
        "RESOURCE:CPU", "RESOURCE:MEMORY", "RESOURCE:PORTS", "RESOURCE:ENI", "RESOURCE:GPU", "AGENT",
        "MemberOf placement constraint unsatisfied",
    ]


# --------------------------------------------------------------------------- ENI limits (2.4)


@pytest.mark.parametrize(
    ("instance_type", "without", "with_trunking"),
    # ECS developer guide, container-instance-eni (ecs-reference 2.4): tasks without / with trunking.
    [("c5.large", 2, 10), ("m5.large", 2, 10), ("m5.xlarge", 3, 20), ("m5.2xlarge", 3, 40),
     ("c5.xlarge", 3, 20), ("r5.large", 2, 10), ("a1.medium", 1, 10)],
)
def test_eni_limits_match_the_ecs_guide(instance_type, without, with_trunking):
    assert task_eni_limit(instance_type) == without
    assert task_eni_limit(instance_type, trunking=True) == with_trunking


def test_trunking_table_holds_only_the_documented_types():
    assert sorted(eni_trunking_table()) == [
        "a1.medium", "c5.large", "c5.xlarge", "m5.2xlarge", "m5.large", "m5.xlarge", "r5.large",
    ]


def test_trunking_elsewhere_needs_the_users_limit():
    with pytest.raises(ValueError, match="give eniTrunkingLimit"):
        task_eni_limit("m5.4xlarge", trunking=True)
    assert task_eni_limit("m5.4xlarge", trunking=True, trunking_limit=60) == 60
    assert task_eni_limit("m5.large", trunking=True, trunking_limit=7) == 7  # the user's number wins
