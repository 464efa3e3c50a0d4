"""The scale-out computation of cluster auto scaling (ecs-reference 6.3), without SimPy."""

from __future__ import annotations

import pytest

from ecssim.placement.demand import TaskDemand
from ecssim.placement.scale_out import (
    InstanceShape,
    instances_for,
    needed_when_waiting,
    reservation,
    scale_in_limit,
    scale_out_step,
    target_size,
    tasks_per_instance,
)

M5_LARGE = InstanceShape(cpu=2048, memory_mib=7980, enis=2, gpus=0, reserved_ports=(22, 2375, 2376, 51678, 51679))


@pytest.mark.parametrize(("demand", "expected"), [
    (TaskDemand(cpu=1024, memory_mib=1024), 2),  # CPU binds
    (TaskDemand(cpu=256, memory_mib=2048), 3),  # memory binds: 7980 // 2048
    (TaskDemand(cpu=256, memory_mib=512, tcp_ports=(80,)), 1),  # a static host port: one per instance
    (TaskDemand(cpu=256, memory_mib=512, tcp_ports=(22,)), 0),  # the agent reserves port 22
    (TaskDemand(cpu=256, memory_mib=512, enis=1), 2),  # awsvpc: two task ENIs
    (TaskDemand(cpu=4096, memory_mib=512), 0),  # larger than the instance: excluded
    (TaskDemand(cpu=0, memory_mib=100, gpus=1), 0),  # no GPU on the type
])
def test_tasks_per_instance(demand: TaskDemand, expected: int):
    assert tasks_per_instance(demand, M5_LARGE) == expected


def test_groups_of_identical_tasks_are_binpacked_separately_and_excluded_ones_need_nothing():
    small, big, huge = TaskDemand(1024, 1024), TaskDemand(256, 2048), TaskDemand(8192, 512)
    demands = [small] * 5 + [big] * 4 + [huge] * 3
    assert instances_for(demands, M5_LARGE) == 3 + 2  # ceil(5/2) + ceil(4/3); the huge ones are excluded


@pytest.mark.parametrize(("needed", "minimum", "maximum", "expected"), [
    (0, 1, 10000, 0), (3, 1, 10000, 3), (3, 5, 10000, 5), (30, 1, 10, 10), (30, 5, 10, 10),
])
def test_documented_step_rule(needed: int, minimum: int, maximum: int, expected: int):
    assert scale_out_step(needed, minimum, maximum) == expected


def test_multi_az_option_scales_by_exactly_the_minimum_step():
    assert scale_out_step(30, 2, 10, minimum_only=True) == 2


def test_reservation_and_targets():
    assert reservation(2, 0, True) == 200.0  # scaling out from zero
    assert reservation(0, 0, False) == 100.0
    assert reservation(3, 4, False) == 75.0
    assert target_size(4, 80) == 5 and target_size(4, 100) == 4 and target_size(3, 75) == 4
    assert scale_in_limit(1, 0.5) == 1 and scale_in_limit(9, 0.5) == 4


def test_needed_when_waiting():
    demands = [TaskDemand(1024, 1024)] * 5
    assert needed_when_waiting(demands, M5_LARGE, 0, 1, 10000) == 2  # 200%: two instances from zero
    assert needed_when_waiting(demands, M5_LARGE, 4, 1, 10000) == 7
    assert needed_when_waiting(demands, M5_LARGE, 4, 1, 2) == 6
    assert needed_when_waiting([TaskDemand(9999, 1)], M5_LARGE, 4, 1, 10) == 4  # excluded: stays at 100%
