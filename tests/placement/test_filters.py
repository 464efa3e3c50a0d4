"""Binding filters, constraints, failure reasons and the closest matching instance."""

import numpy as np
import pytest

from ecssim.placement import (
    AGENT_RESERVED_TCP_PORTS,
    REASON_AGENT,
    REASON_CPU,
    REASON_DISTINCT_INSTANCE,
    REASON_MEMORY,
    REASON_NO_ACTIVE_INSTANCES,
    REASON_PORTS,
    ClusterView,
    TaskDemand,
    place,
)

DISTINCT = [("distinctInstance", None)]


def decide(view, demand, constraints=(), group="service:web", strategies=()):
    return place(demand, view, strategies, constraints, group, np.random.default_rng(0))


def test_inactive_and_disconnected_instances_are_never_chosen():
    view = ClusterView.build(
        [2048] * 3, [4096] * 3, active=[False, True, True], connected=[True, False, True]
    )
    for seed in range(30):
        d = place(TaskDemand(256, 256), view, (), (), "g", np.random.default_rng(seed))
        assert d.instance == 2 and d.reason == "" and d.closest == 2


def test_no_active_instance():
    view = ClusterView.build([2048] * 2, [4096] * 2, active=[False, False])
    d = decide(view, TaskDemand(1, 1))
    assert (d.instance, d.closest, d.reason) == (-1, -1, REASON_NO_ACTIVE_INSTANCES)
    assert not d.placed
    empty = ClusterView.build([], [])
    assert decide(empty, TaskDemand(1, 1)).reason == REASON_NO_ACTIVE_INSTANCES


def test_agent_reason_when_all_active_instances_are_disconnected():
    view = ClusterView.build([2048] * 3, [4096] * 3, active=[False, True, True], connected=False)
    d = decide(view, TaskDemand(1, 1))
    assert (d.instance, d.closest, d.reason) == (-1, 1, REASON_AGENT)


def test_cpu_reason_and_closest_is_lowest_connected_slot():
    view = ClusterView.build(
        [1024] * 4, [4096] * 4, connected=[False, True, True, True], cpu_free=[4096, 100, 200, 300]
    )
    d = decide(view, TaskDemand(512, 1))
    assert (d.instance, d.closest, d.reason) == (-1, 1, REASON_CPU)


def test_memory_reason_closest_passes_cpu():
    view = ClusterView.build([1024] * 3, [4096] * 3, cpu_free=[0, 1024, 1024], memory_free=[9999, 10, 20])
    d = decide(view, TaskDemand(512, 100))
    assert (d.instance, d.closest, d.reason) == (-1, 1, REASON_MEMORY)


def test_ports_reason_static_conflict():
    view = ClusterView.build([1024] * 3, [4096] * 3, memory_free=[0, 4096, 4096], tcp_ports=[[], [80], [80]])
    d = decide(view, TaskDemand(1, 1, tcp_ports=(80,)))
    assert (d.instance, d.closest, d.reason) == (-1, 1, REASON_PORTS)


def test_static_port_conflict_only_excludes_instances_using_it():
    view = ClusterView.build([1024] * 2, [4096] * 2, tcp_ports=[[80], [443]])
    assert decide(view, TaskDemand(1, 1, tcp_ports=(80,))).instance == 1


@pytest.mark.parametrize("port", AGENT_RESERVED_TCP_PORTS)
def test_agent_reserved_ports_are_taken_everywhere(port):
    view = ClusterView.build([1024] * 2, [4096] * 2)
    assert decide(view, TaskDemand(1, 1, tcp_ports=(port,))).reason == REASON_PORTS
    # The same number on UDP is free: tcp and udp are separate.
    assert decide(view, TaskDemand(1, 1, udp_ports=(port,))).placed


def test_udp_and_tcp_ports_are_separate():
    view = ClusterView.build([1024] * 2, [4096] * 2, udp_ports=[[53], []], tcp_ports=[[], [53]])
    assert decide(view, TaskDemand(1, 1, udp_ports=(53,))).instance == 1
    assert decide(view, TaskDemand(1, 1, tcp_ports=(53,))).instance == 0
    d = decide(view, TaskDemand(1, 1, tcp_ports=(53,), udp_ports=(53,)))
    assert (d.instance, d.reason) == (-1, REASON_PORTS)


def test_hundred_reserved_port_limit():
    # Slot 0: 5 agent ports + 94 task ports = 99 reserved; slot 1: 5 + 95 = 100.
    view = ClusterView.build([1024] * 2, [4096] * 2, tcp_ports=[range(1000, 1094), range(1000, 1095)])
    assert list(view.reserved_port_count) == [99, 100]
    assert decide(view, TaskDemand(1, 1, tcp_ports=(2000,))).instance == 0
    d = decide(view, TaskDemand(1, 1, tcp_ports=(2000,), udp_ports=(2000,)))  # 99 + 2 > 100
    assert (d.instance, d.closest, d.reason) == (-1, 0, REASON_PORTS)
    # Dynamic ports (not in the demand) never count.
    assert decide(view, TaskDemand(1, 1)).placed


def test_distinct_instance_excludes_instances_holding_the_group():
    view = ClusterView.build([1024] * 3, [4096] * 3, group_counts={"service:web": [1, 0, 2]})
    for seed in range(20):
        d = place(TaskDemand(1, 1), view, (), DISTINCT, "service:web", np.random.default_rng(seed))
        assert d.instance == 1
    # Another group is unaffected.
    assert decide(view, TaskDemand(1, 1), DISTINCT, group="service:api").placed


def test_distinct_instance_reason():
    view = ClusterView.build(
        [1024] * 3, [4096] * 3, connected=[False, True, True], group_counts={"service:web": [0, 1, 1]}
    )
    d = decide(view, TaskDemand(1, 1), DISTINCT)
    assert (d.instance, d.closest, d.reason) == (-1, 1, REASON_DISTINCT_INSTANCE)


def test_closest_is_the_instance_passing_most_checks_in_order():
    # slot 0: disconnected (0 checks); slot 1: short of CPU (1); slot 2: short of memory (2);
    # slot 3: port taken (3). Closest: slot 3, RESOURCE:PORTS.
    view = ClusterView.build(
        [1024] * 4,
        [4096] * 4,
        connected=[False, True, True, True],
        cpu_free=[1024, 0, 1024, 1024],
        memory_free=[4096, 4096, 0, 4096],
        tcp_ports=[[], [], [], [80]],
    )
    d = decide(view, TaskDemand(512, 512, tcp_ports=(80,)))
    assert (d.instance, d.closest, d.reason) == (-1, 3, REASON_PORTS)


def test_unknown_constraint_type_is_refused():
    view = ClusterView.build([1024], [4096])
    with pytest.raises(ValueError, match="distinctInstance, memberOf"):
        decide(view, TaskDemand(1, 1), [("sameInstance", None)])


def test_views_are_read_not_written():
    view = ClusterView.build([1024] * 3, [4096] * 3, azs=["a", "b", "c"], group_counts={"g": [1, 2, 3]})
    before = {s: getattr(view, s).copy() for s in ("cpu_free", "memory_free", "active", "connected")}
    place(
        TaskDemand(1, 1),
        view,
        [("spread", "attribute:ecs.availability-zone")],
        DISTINCT,
        "g",
        np.random.default_rng(0),
        explain=True,
    )
    for name, arr in before.items():
        assert np.array_equal(getattr(view, name), arr)
    assert list(view.group_counts["g"]) == [1, 2, 3]
