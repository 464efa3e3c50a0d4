"""The ``healthy`` count from task health rows: exact timelines and an invariant."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.analysis import events_table, service_counts


def timeline(log, service: str = "web") -> list[list[float]]:
    counts = service_counts(events_table(log))
    part = counts[counts["service"] == service]
    return part[["time_s", "running", "healthy"]].values.tolist()


def web(b):
    b.instance("i-a", "az1", active=0)
    b.service("web", 1)
    return b


def test_healthy_span_ends_at_unhealthy(builder):
    web(builder).task("t-000001", "i-a", service="web", created=0, running=10, healthy=20)
    builder.health(50, "t-000001", "UNHEALTHY", reason="Task failed ELB health checks in "
                   "(target-group tg-web)")
    builder.health(70, "t-000001", "HEALTHY")  # and back
    assert timeline(builder.build()) == [[0, 0, 0], [10, 1, 0], [20, 1, 1], [50, 1, 0],
                                         [70, 1, 1]]


def test_healthy_span_ends_when_the_task_leaves_running(builder):
    web(builder).task("t-000001", "i-a", service="web", created=0, running=10, healthy=20,
                      stopping=60, stopped=70)  # DEACTIVATING at 60: no health row needed
    builder.task("t-000002", "i-a", service="web", created=0, running=10, healthy=30,
                 killed=80)  # host gone: RUNNING -> STOPPED
    assert timeline(builder.build()) == [[0, 0, 0], [10, 2, 0], [20, 2, 1], [30, 2, 2],
                                         [60, 1, 1], [80, 0, 0]]


def test_task_without_a_healthy_row_is_never_healthy(builder):
    web(builder).task("t-000001", "i-a", service="web", created=0, running=10, stopping=90,
                      stopped=95)
    builder.task("t-000002", "i-a", service="web", created=0, running=10)
    builder.health(40, "t-000002", "UNHEALTHY")  # first row: UNKNOWN -> UNHEALTHY
    log = builder.build()
    assert timeline(log) == [[0, 0, 0], [10, 2, 0], [90, 1, 0]]
    first = [r for r in log.events if r[3] == "health"][0]
    assert (first[4], first[5]) == ("UNKNOWN", "UNHEALTHY")


def test_health_rows_outside_running_and_of_standalone_tasks_are_ignored(builder):
    web(builder).task("t-000001", "i-a", service="web", created=0, stopping=5, stopped=6)
    builder.health(8, "t-000001", "HEALTHY")  # after STOPPED (outside the contract)
    builder.task("t-000002", "i-a", created=0, running=3, healthy=4)  # RunTask: no service
    log = builder.build()
    assert timeline(log) == [[0, 0, 0], [5, 0, 0]]  # only pending changes (1 on [0, 5))
    assert set(service_counts(events_table(log))["service"]) == {"web"}


def test_healthy_at_the_instant_of_running(builder):
    web(builder).task("t-000001", "i-a", service="web", created=0, running=10, healthy=10,
                      stopping=10, stopped=12)  # healthy and stopped in the same instant
    builder.task("t-000002", "i-a", service="web", created=0, running=10, healthy=10)
    assert timeline(builder.build()) == [[0, 0, 0], [10, 1, 1]]


stages = st.lists(
    st.tuples(
        st.integers(0, 30),  # created
        st.sampled_from(["pending", "running", "stopped", "killed"]),
        st.integers(0, 15),  # step between stages
        st.lists(st.tuples(st.integers(0, 80), st.booleans()), max_size=4),  # health rows
    ),
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(stages)
def test_healthy_never_exceeds_running(logs, tasks):
    b = logs.LogBuilder()
    b.instance("i-a", "az1", active=0)
    b.service("web", 3)
    final = 0
    for n, (created, end, step, checks) in enumerate(tasks):
        run = created + step
        plan = {"pending": {}, "running": {"running": run},
                "stopped": {"running": run, "stopping": run + step, "stopped": run + step + 1},
                "killed": {"running": run, "killed": run + step}}[end]
        tid = f"t-{n:06d}"
        b.task(tid, "i-a", service="web", created=created, **plan)
        for when, ok in sorted(checks):  # also at times the task is not RUNNING
            b.health(when, tid, "HEALTHY" if ok else "UNHEALTHY")
        # healthy at the end: still RUNNING and its last health row after RUNNING is HEALTHY
        later = [ok for when, ok in sorted(checks) if end == "running" and when >= run]
        final += bool(later and later[-1])
    counts = service_counts(events_table(b.build()))
    assert (counts["healthy"] >= 0).all()
    assert (counts["healthy"] <= counts["running"]).all()
    assert (counts["healthy"].iloc[-1] if len(counts) else 0) == final
