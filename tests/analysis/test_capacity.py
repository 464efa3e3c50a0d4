"""Capacity and service-count step series, recomputed from the event rows."""

from __future__ import annotations

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.analysis import (
    SCHEMAS,
    capacity_table,
    events_table,
    instances_table,
    resample_capacity,
    service_counts,
    tasks_table,
)

LEVELS = [c for c in SCHEMAS["capacity"] if c not in ("time_s", "scope") and SCHEMAS["capacity"][c] == "int64"]


def capacity_of(log) -> pd.DataFrame:
    events = events_table(log)
    return capacity_table(events, tasks_table(log, events), instances_table(log, events))


def _rows(capacity: pd.DataFrame, scope: str, columns: list[str]) -> list[tuple]:
    part = capacity[capacity["scope"] == scope]
    return [tuple(r) for r in part[["time_s", *columns]].itertuples(index=False)]


def test_cluster_series_exact(tiny):
    capacity = capacity_of(tiny)
    assert capacity.dtypes.astype(str).to_dict() == SCHEMAS["capacity"]
    columns = ["instances_active", "cpu_registered", "cpu_reserved", "memory_reserved_mib",
               "cpu_reserved_host", "memory_reserved_host_mib", "tasks_pending",
               "tasks_running", "tasks_stopping"]
    assert _rows(capacity, "cluster", columns) == [
        (10.0, 2, 3072, 0, 0, 0, 0, 0, 0, 0),
        (20.0, 2, 3072, 512, 1000, 512, 1000, 1, 0, 0),  # PROVISIONING->PENDING collapsed
        (25.0, 2, 3072, 512, 1000, 512, 1000, 0, 1, 0),
        (30.0, 2, 3072, 768, 1500, 768, 1500, 0, 2, 0),
        # STOPPING frees the control-plane ledger; the host keeps it until STOPPED
        (100.0, 2, 3072, 256, 500, 768, 1500, 0, 1, 1),
        (110.0, 2, 3072, 256, 500, 256, 500, 0, 1, 0),
    ]
    assert (capacity["tasks_provisioning"] == 0).all()  # zero-duration, collapsed away
    assert (capacity["memory_registered_mib"][capacity["scope"] == "cluster"] == 6000).all()


def test_per_az_scopes_exact(tiny):
    capacity = capacity_of(tiny)
    assert capacity["scope"].tolist()[:3] == ["cluster", "us-east-1a", "us-east-1b"]
    columns = ["instances_active", "cpu_registered", "cpu_reserved", "cpu_reserved_host",
               "tasks_running", "tasks_stopping"]
    assert _rows(capacity, "us-east-1a", columns) == [
        (10.0, 1, 2048, 0, 0, 0, 0),
        (20.0, 1, 2048, 512, 512, 0, 0),
        (25.0, 1, 2048, 512, 512, 1, 0),
        (100.0, 1, 2048, 0, 512, 0, 1),
        (110.0, 1, 2048, 0, 0, 0, 0),
    ]
    assert _rows(capacity, "us-east-1b", columns) == [
        (10.0, 1, 1024, 0, 0, 0, 0),
        (30.0, 1, 1024, 256, 256, 1, 0),
    ]


def test_terminated_instance_leaves_registered_capacity(outage):
    capacity = capacity_of(outage)
    cluster = capacity[capacity["scope"] == "cluster"].set_index("time_s")
    assert cluster.loc[100.0, ["instances_active", "cpu_registered"]].tolist() == [1, 2048]
    assert cluster.loc[105.0, "cpu_reserved"] == 0  # killed tasks reach STOPPED at 105
    assert cluster.loc[105.0, "tasks_running"] == 0


def test_resample_is_a_forward_filled_grid(tiny):
    grid = resample_capacity(capacity_of(tiny), "50s")
    cluster = grid[grid["scope"] == "cluster"]
    assert cluster["time_s"].tolist() == [0.0, 50.0, 100.0]
    assert cluster["cpu_reserved"].tolist() == [0, 768, 256]
    assert cluster["tasks_running"].tolist() == [0, 2, 1]
    east_b = grid[grid["scope"] == "us-east-1b"]
    assert east_b["cpu_reserved"].tolist() == [0, 256, 256]
    longer = resample_capacity(capacity_of(tiny), 60, end_s=240)
    assert longer[longer["scope"] == "cluster"]["time_s"].tolist() == [0, 60, 120, 180, 240]
    assert grid.dtypes.astype(str).to_dict() == SCHEMAS["capacity"]


def test_service_counts_follow_desired_and_running(outage):
    counts = service_counts(events_table(outage))
    columns = ["time_s", "desired_count", "running", "pending", "healthy"]
    rows = [tuple(r) for r in counts[columns].itertuples(index=False)]
    # health rows to HEALTHY: the first two at 50, the replacements at 170 and 180
    assert rows == [
        (0.0, 2, 0, 2, 0),
        (10.0, 2, 2, 0, 0),
        (50.0, 2, 2, 0, 2),
        (105.0, 2, 0, 0, 0),
        (120.0, 2, 0, 1, 0),
        (125.0, 2, 0, 2, 0),
        (130.0, 2, 1, 1, 0),
        (140.0, 2, 2, 0, 0),
        (170.0, 2, 2, 0, 1),
        (180.0, 2, 2, 0, 2),
    ]


def test_desired_count_changes(builder):
    builder.instance("i-a", "az1", active=0)
    builder.service("web", 1)
    builder.desired("web", 3, 50)
    builder.desired("web", 0, 80)
    counts = service_counts(events_table(builder.build()))
    assert counts[["time_s", "desired_count"]].values.tolist() == [[0, 1], [50, 3], [80, 0]]


lifecycles = st.lists(
    st.tuples(
        st.integers(0, 2),  # instance
        st.integers(0, 50),  # created
        st.sampled_from(["pending", "running", "stopping", "stopped", "killed", "failed"]),
        st.integers(0, 20),  # step between stages
        st.integers(1, 4),  # cpu multiple of 128
    ),
    max_size=25,
)


@settings(max_examples=25, deadline=None)
@given(lifecycles)
def test_ledgers_and_counts_agree_with_final_states(logs, tasks):
    b = logs.LogBuilder()
    for i in range(3):
        b.instance(f"i-{i}", f"az{i % 2}", cpu=4096, memory=8192, active=0)
    for n, (inst, created, end, step, cpu) in enumerate(tasks):
        t = {"created": created, "cpu": 128 * cpu, "memory": 256 * cpu}
        run = created + step
        plan = {
            "pending": {},
            "running": {"running": run},
            "stopping": {"running": run, "stopping": run + step},
            "stopped": {"running": run, "stopping": run + step, "stopped": run + 2 * step},
            "killed": {"running": run, "killed": run + step},
            "failed": {"stopping": run, "stopped": run + step},
        }[end]
        b.task(f"t-{n:06d}", f"i-{inst}", **t, **plan)
    log = b.build()
    events = events_table(log)
    tasks_df = tasks_table(log, events)
    capacity = capacity_table(events, tasks_df, instances_table(log, events))
    assert (capacity[LEVELS] >= 0).all().all()
    assert (capacity["cpu_reserved"] <= capacity["cpu_registered"]).all()
    final = capacity.groupby("scope").last()
    alive = tasks_df[~tasks_df["last_status"].isin(["STOPPING", "STOPPED"])]
    if len(capacity):
        assert final.loc["cluster", "cpu_reserved"] == alive["cpu"].sum()
        held = tasks_df[tasks_df["last_status"] != "STOPPED"]
        assert final.loc["cluster", "cpu_reserved_host"] == held["cpu"].sum()
        running = (tasks_df["last_status"] == "RUNNING").sum()
        assert final.loc["cluster", "tasks_running"] == running
    # the cluster is the sum of its zones at every grid point
    grid = resample_capacity(capacity, 7, end_s=200)
    zones = grid[(grid["scope"] != "cluster") & ~grid["scope"].str.startswith("provider:")].groupby("time_s")[LEVELS].sum()
    cluster = grid[grid["scope"] == "cluster"].set_index("time_s")[LEVELS]
    pd.testing.assert_frame_equal(zones.reindex(cluster.index, fill_value=0), cluster,
                                  check_names=False)
