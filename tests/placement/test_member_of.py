"""memberOf constraints in the placement pipeline: the ECS docs' examples, task groups,
every subject that needs context, failure reasons and their combination with the other filters.

Expected instances are written by hand from the ECS rule (ecs-reference 3.4), not from a run.
"""

from datetime import UTC, datetime

import numpy as np
import pytest

from ecssim.placement import (
    REASON_DISTINCT_INSTANCE,
    REASON_MEMBER_OF,
    REASON_MEMORY,
    ClusterView,
    Query,
    TaskDemand,
    compile_query,
    compiled_query,
    place,
)

TYPES = ["t2.micro", "t2.small", "m5.large", "m5.large"]
AZS = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1a"]


def doc_view(**kwargs):
    """Four instances: t2.micro/1a, t2.small/1b, m5.large/1c, m5.large/1a."""
    return ClusterView.build(
        [2048] * 4, [4096] * 4, azs=AZS, attributes={"ecs.instance-type": TYPES}, **kwargs
    )


SMALL = TaskDemand(128, 128)


def choices(view, constraints, demand=SMALL, group="service:web", seeds=60):
    """Every slot random placement picks over many seeds (all feasible slots show up)."""
    picked = set()
    for seed in range(seeds):
        d = place(demand, view, [("random", None)], constraints, group, np.random.default_rng(seed))
        assert d.placed, d.reason
        picked.add(d.instance)
    return picked


def member_of(expression):
    return ("memberOf", compile_query(expression))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("attribute:ecs.instance-type =~ t2.*", {0, 1}),
        ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", {0, 1, 3}),
        ("not(attribute:ecs.instance-type =~ t2.*)", {2, 3}),
        ("attribute:ecs.instance-type == m5.large and attribute:ecs.availability-zone == us-east-1a", {3}),
        ("attribute:ecs.availability-zone == us-east-1c || attribute:ecs.instance-type == t2.micro", {0, 2}),
    ],
)
def test_ecs_documentation_examples(expression, expected):
    assert choices(doc_view(), [member_of(expression)]) == expected


def test_task_group_affinity_and_anti_affinity():
    view = doc_view(group_counts={"databases": [0, 0, 1, 0], "service:web": [1, 0, 0, 0]})
    # ECS docs: "task:group == databases" places next to the databases group.
    assert choices(view, [member_of("task:group == databases")]) == {2}
    # Anti-affinity: never next to it.
    assert choices(view, [member_of("task:group != databases")]) == {0, 1, 3}
    assert choices(view, [member_of("not(task:group == databases)")]) == {0, 1, 3}
    # A group nobody runs: == matches nothing, so the constraint fails everywhere.
    d = place(TaskDemand(1, 1), view, (), [member_of("task:group == cache")], "g", np.random.default_rng(0))
    assert (d.instance, d.reason, d.closest) == (-1, REASON_MEMBER_OF, 0)


def test_running_tasks_count_reads_the_desired_running_count():
    view = doc_view()
    view.running_tasks_count[:4] = [3, 0, 1, 0]  # PENDING tasks are counted by the simulator too
    assert choices(view, [member_of("runningTasksCount == 0")]) == {1, 3}
    assert choices(view, [member_of("runningTasksCount < 2")]) == {1, 2, 3}


def test_registered_at_in_seconds_and_as_a_date():
    start = datetime(2024, 1, 1, tzinfo=UTC)
    view = doc_view(registered_at_s=[0.0, 3600.0, 7200.0, np.nan], start_time=start)
    assert choices(view, [member_of("registeredAt < 3600")]) == {0}
    # 01:00 UTC is 3600 s after the start; the instance that never registered matches nothing.
    assert choices(view, [member_of("registeredAt >= 2024-01-01T01:00:00Z")]) == {1, 2}


def test_agent_version_compares_versions():
    view = doc_view(agent_versions=["1.9.0", "1.10.0", "1.89.0", None])
    assert choices(view, [member_of("agentVersion >= 1.10.0")]) == {1, 2}
    assert choices(view, [member_of("agentVersion < 1.10")]) == {0}


def test_several_constraints_all_bind():
    # Task definition: m5 only; service: distinctInstance; request: not in 1c.
    view = doc_view(group_counts={"service:web": [0, 0, 0, 1]})
    rules = [
        ("distinctInstance", None),
        member_of("attribute:ecs.instance-type =~ m5.*"),
        member_of("attribute:ecs.availability-zone != us-east-1c"),
    ]
    # m5 instances are 2 and 3; 3 already runs a task of the group; 2 is in 1c.
    d = place(TaskDemand(1, 1), view, (), rules, "service:web", np.random.default_rng(0))
    # The closest passes the most checks in order: slot 2 passes distinctInstance and the m5
    # rule and fails only the AZ rule.
    assert (d.instance, d.reason, d.closest) == (-1, REASON_MEMBER_OF, 2)
    # Without the AZ rule, slot 2 is the only one left.
    assert choices(view, rules[:2]) == {2}
    # Constraints are checked in the order given: memberOf keeps only slot 3, where
    # distinctInstance then fails; the other way round, slots 0-2 pass distinctInstance and
    # the lowest of them is the closest, failing memberOf.
    only_3 = [member_of("ec2InstanceId == i-00000000000000003"), ("distinctInstance", None)]
    d = place(TaskDemand(1, 1), view, (), only_3, "service:web", np.random.default_rng(0))
    assert (d.reason, d.closest) == (REASON_DISTINCT_INSTANCE, 3)
    d = place(TaskDemand(1, 1), view, (), list(reversed(only_3)), "service:web", np.random.default_rng(0))
    assert (d.reason, d.closest) == (REASON_MEMBER_OF, 0)


def test_resources_are_checked_before_member_of():
    # Slot 0 matches the constraint but lacks memory; the others have memory but do not match.
    view = doc_view(memory_free=[10, 4096, 4096, 4096])
    d = place(TaskDemand(1, 100), view, (), [member_of("attribute:ecs.instance-type == t2.micro")], "g",
              np.random.default_rng(0))
    # Closest: slot 1 passes every resource check and fails only memberOf.
    assert (d.instance, d.reason, d.closest) == (-1, REASON_MEMBER_OF, 1)
    view = doc_view(memory_free=[10, 10, 10, 10])
    d = place(TaskDemand(1, 100), view, (), [member_of("attribute:ecs.instance-type == t2.micro")], "g",
              np.random.default_rng(0))
    assert (d.reason, d.closest) == (REASON_MEMORY, 0)


def test_constraint_text_is_compiled_once_and_cached():
    text = "attribute:ecs.instance-type =~ t2.*"
    assert compiled_query(text) is compiled_query(text)
    assert isinstance(compiled_query(text), Query)
    assert choices(doc_view(), [("memberOf", text)]) == {0, 1}


def test_member_of_without_expression_is_refused():
    with pytest.raises(ValueError, match="needs an expression"):
        place(TaskDemand(1, 1), doc_view(), (), [("memberOf", None)], "g", np.random.default_rng(0))
