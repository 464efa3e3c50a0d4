"""Explain: the placement pipeline as it was at the moment of a placement or a failure."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import ecssim
from ecssim.insight import UnknownTargetError, explain, verdict

from .helpers import I1, I2, load, run_task, scenario, task_definition

ROOT = Path(__file__).resolve().parents[2]

# Two m5.large (2048 CPU units each): 1000-CPU jobs fit two per instance. Two jobs at 10 s,
# two more at 60 s fill the cluster; a fifth at 120 s finds no room (pf-000001).
FILLING = scenario(
    instances=2,
    azs=("a", "b"),
    task_definitions=[task_definition("job", cpu=1000, memory=1024)],
    actions=[run_task("first", 10, "job", 2), run_task("second", 60, "job", 2), run_task("late", 120, "job", 1)],
)


@pytest.fixture(scope="module")
def filling() -> ecssim.Result:
    return ecssim.simulate(load(FILLING), seed=4)


def test_failure_ids_are_numbered_in_order(filling: ecssim.Result) -> None:
    assert filling.placement_failures[["failure_id", "time_s", "reason"]].values.tolist() == [
        ["pf-000001", 120.0, "RESOURCE:CPU"]]


def test_early_placement_shows_the_free_resources_of_that_moment(filling: ecssim.Result) -> None:
    memory = int(filling.instances["memory_registered_mib"].iloc[0])
    first = filling.explain("t-000001")
    assert first.attrs["time_s"] == 10.0
    assert first["cpu_free"].tolist() == [2048, 2048]  # empty cluster, not the final 48 free
    assert first["memory_free_mib"].tolist() == [memory, memory]
    assert first["filtered_by"].tolist() == ["", ""]
    # The second task of the same RunTask call sees the first one's reservation.
    second = filling.explain("t-000002")
    on_first = filling.tasks.set_index("task_id").loc["t-000001", "instance_id"]
    free = dict(zip(second["instance_id"], second["cpu_free"], strict=True))
    assert free[on_first] == 1048 and sorted(free.values()) == [1048, 2048]


def test_every_explained_task_names_the_instance_the_run_chose(filling: ecssim.Result) -> None:
    for row in filling.tasks.itertuples():
        frame = filling.explain(row.task_id)
        assert frame.attrs["placed"] and frame.attrs["instance_id"] == row.instance_id
        assert frame.attrs["time_s"] == row.created_at_s
        chosen = frame[frame["chosen"]]
        assert chosen["instance_id"].tolist() == [row.instance_id]
        assert chosen["rank"].tolist() == [1]


def test_failure_shows_the_full_cluster_and_the_closest_instance(filling: ecssim.Result) -> None:
    frame = filling.explain("pf-000001")
    a = frame.attrs
    assert (a["placed"], a["reason"], a["closest_instance_id"]) == (False, "RESOURCE:CPU", I1)
    assert a["time_s"] == 120.0 and a["started_by"] == "action:late" and a["group"] == "family:job"
    assert a["demand"]["cpu"] == 1000 and a["strategies"] == [("random", None)]
    assert frame["cpu_free"].tolist() == [48, 48]
    assert frame["filtered_by"].tolist() == ["RESOURCE:CPU", "RESOURCE:CPU"]
    assert frame["why"].tolist() == ["needs 1000 CPU units, 48 free"] * 2
    assert frame["closest"].tolist() == [True, False] and not frame["chosen"].any()
    assert frame["rank"].isna().all()
    assert verdict(frame) == (
        f"pf-000001 at t=120.0s (action:late, job:1): not placed: RESOURCE:CPU (closest {I1}); "
        "2 filtered: 2 RESOURCE:CPU")


def test_service_placement_verdict_strategy_keys_and_ports() -> None:
    # Three instances, a web service on host port 80: the fourth task finds every port taken.
    data = scenario(task_definitions=[task_definition("web", host_port=80)],
                    services=[{"serviceName": "web", "taskDefinition": "web", "desiredCount": 4}])
    sc = load(data)
    third = explain(sc, 0, "t-000003")
    assert third["ports_in_use"].tolist().count("80/tcp") == 2
    assert list(third.columns[-5:]) == ["spread:attribute:ecs.availability-zone", "spread:instanceId", "rank",
                                        "chosen", "closest"]
    chosen = third[third["chosen"]]
    assert chosen["ports_in_use"].tolist() == [""] and chosen["group_tasks"].tolist() == [0]
    assert verdict(third).endswith("placed on i-00000000000000003 (rank 1 of 1 candidates); "
                                   "2 filtered: 2 RESOURCE:PORTS")
    failure = explain(sc, 0, "pf-000001")
    assert failure.attrs["service"] == "web"
    assert set(failure["why"]) == {"port 80/tcp in use"}


def test_unknown_and_malformed_ids(filling: ecssim.Result) -> None:
    with pytest.raises(UnknownTargetError, match=r"no task t-000099 \(task ids: t-000001 to t-000004\)"):
        filling.explain("t-000099")
    with pytest.raises(UnknownTargetError, match="not a task id"):
        filling.explain("task-1")
    with pytest.raises(UnknownTargetError, match="created 4 tasks"):
        explain(load(FILLING), 4, "pf-000002")


def test_explain_is_reproducible_and_leaves_the_run_unchanged(filling: ecssim.Result) -> None:
    a, b = filling.explain("t-000003"), filling.explain("t-000003")
    pd.testing.assert_frame_equal(a, b)
    again = ecssim.simulate(load(FILLING), seed=4)
    pd.testing.assert_frame_equal(again.events, filling.events)


def test_trace_scenario_reloads_from_its_own_folder(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = ecssim.simulate(ecssim.load_scenario(ROOT / "scenarios" / "batch-trace.yaml"), seed=2)
    monkeypatch.chdir(tmp_path)  # the trace path is relative to the scenario file, not here
    last = result.tasks["task_id"].iloc[-1]
    frame = result.explain(last)
    assert frame.attrs["instance_id"] == result.tasks["instance_id"].iloc[-1]
    failure = result.placement_failures.iloc[0]
    assert result.explain(failure["failure_id"]).attrs["reason"] == failure["reason"]


def test_second_instance_is_named_in_the_frame(filling: ecssim.Result) -> None:
    assert filling.explain("t-000001")["instance_id"].tolist() == [I1, I2]


def test_constraint_and_eni_filters_are_explained() -> None:
    web = task_definition("web")
    vpc = dict(task_definition("vpc"), networkMode="awsvpc")
    member_of = {"type": "memberOf", "expression": "attribute:ecs.availability-zone in [a, b]"}
    data = scenario(instance_type="t3.medium", task_definitions=[web, vpc],
                    services=[{"serviceName": "web", "taskDefinition": "web", "desiredCount": 3,
                               "placementConstraints": [member_of]},
                              {"serviceName": "vpc", "taskDefinition": "vpc", "desiredCount": 8}])
    result = ecssim.simulate(load(data))
    first = result.explain("t-000001")
    assert first.attrs["constraints"] == [("memberOf", "attribute:ecs.availability-zone in [a, b]")]
    in_c = first[first["az"] == "c"]
    assert in_c["filtered_by"].tolist() == ["MemberOf placement constraint unsatisfied"]
    assert in_c["why"].tolist() == ["not a member of [attribute:ecs.availability-zone in [a, b]]"]
    eni = result.placement_failures[result.placement_failures["reason"] == "RESOURCE:ENI"]
    assert len(eni)
    frame = result.explain(eni["failure_id"].iloc[0])
    assert set(frame["why"]) == {"needs 1 ENI, 0 free"} and (frame["eni_free"] == 0).all()
