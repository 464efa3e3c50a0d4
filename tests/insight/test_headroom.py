"""Headroom: hand-computed cases, the N+1 losses, and agreement with real launches."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

import ecssim
from ecssim.cli import main
from ecssim.insight import HeadroomReport, Resident, headroom
from ecssim.placement import ClusterView, TaskDemand

from .helpers import I1, load, run_task, scenario, task_definition

# Three m5.large (2048 CPU units, 7979 MiB registered) in three AZs; 1000-CPU tasks.
THREE = scenario(task_definitions=[task_definition("big", cpu=1000, memory=1024)])


def test_three_instances_two_per_instance_by_cpu() -> None:
    report = ecssim.Simulation(load(THREE)).headroom("big")
    assert (report.total, report.binding, report.instances) == (6, "RESOURCE:CPU", 3)
    assert report.per_az == {"a": 2, "b": 2, "c": 2}
    assert (report.after_az_loss.lost, report.after_az_loss.fits) == ("a", 4)  # ties: first AZ by name
    assert (report.after_instance_loss.lost, report.after_instance_loss.fits) == (I1, 4)
    assert report.after_az_loss.displaced == report.after_az_loss.displaced_unplaced == 0


def test_displaced_service_tasks_are_placed_first() -> None:
    # One service task of 1000 CPU per instance (spread over AZs): 3 more fit; losing an AZ
    # sends its task to a survivor, leaving room for exactly one more.
    data = dict(THREE, services=[{"serviceName": "s", "taskDefinition": "big", "desiredCount": 3}])
    report = ecssim.Simulation(load(data)).headroom("big")
    assert report.total == 3 and report.per_az == {"a": 1, "b": 1, "c": 1}
    case = report.after_az_loss
    assert (case.instances_lost, case.displaced, case.displaced_unplaced, case.fits) == (1, 1, 0, 1)


def test_displaced_tasks_that_no_longer_fit_are_counted() -> None:
    # Port 80 on every instance: losing one, its task finds no port; nothing else fits.
    data = scenario(task_definitions=[task_definition("web", host_port=80), task_definition("job", cpu=2048)],
                    services=[{"serviceName": "web", "taskDefinition": "web", "desiredCount": 3}])
    sim = ecssim.Simulation(load(data))
    web = sim.headroom("web")
    assert (web.total, web.binding) == (0, "RESOURCE:PORTS")
    assert web.after_instance_loss.displaced_unplaced == 1
    job = sim.headroom("job")  # 2048-CPU jobs: none fit beside a 256-CPU task
    assert (job.total, job.binding) == (0, "RESOURCE:CPU")


def test_largest_instance_and_az_choice_on_a_bare_view() -> None:
    # Slots 2 and 3 tie on CPU and memory; slot 3 runs a task, so it is the largest. The AZs
    # tie on CPU (4096) and memory (16000); c has the task, so it is the largest AZ.
    view = ClusterView.build([2048, 2048, 4096, 4096], [8000, 8000, 16000, 16000], azs=["a", "a", "b", "c"],
                             memory_free=[8000, 8000, 16000, 5000], group_counts={"g": [0, 0, 0, 1]})
    residents = [Resident(3, TaskDemand(0, 1000), "g")]
    report = headroom(view, TaskDemand(1024, 2000), residents=residents)
    assert report.total == 2 + 2 + 4 + 2  # slot 3 binds on memory: 5000 MiB / 2000
    assert report.per_az == {"a": 4, "b": 4, "c": 2}
    for case, lost in ((report.after_instance_loss, view.instance_ids[3]), (report.after_az_loss, "c")):
        assert (case.lost, case.displaced, case.displaced_unplaced, case.fits) == (lost, 1, 0, 8)
    assert np.isnan(report.time_s)


def test_headroom_leaves_the_live_state_untouched() -> None:
    sim = ecssim.Simulation(load(THREE))
    before = sim.cluster_state()
    sim.headroom("big")
    assert sim.cluster_state().equals(before)
    assert sim.world.cluster.view.group_counts.get("family:big") is None


def test_report_text_and_frame() -> None:
    report = ecssim.Simulation(load(THREE)).headroom("big")
    assert isinstance(report, HeadroomReport)
    assert str(report) == "\n".join([
        "headroom for big:1 (1000 CPU, 1024 MiB) at t=0s, 3 ACTIVE instances",
        "  fits now: 6 more (binding: RESOURCE:CPU)",
        "  per AZ alone: a 2, b 2, c 2",
        "  after losing the largest AZ a (1 instance, 0 tasks re-placed, 0 unplaced): 4 (binding: RESOURCE:CPU)",
        f"  after losing the largest instance {I1} (0 tasks re-placed, 0 unplaced): 4 (binding: RESOURCE:CPU)",
    ])
    frame = report.to_frame()
    assert frame[["scope", "name", "fits"]].values.tolist() == [
        ["total", "", 6], ["az", "a", 2], ["az", "b", 2], ["az", "c", 2],
        ["without_largest_az", "a", 4], ["without_largest_instance", I1, 4]]


def test_result_headroom_runs_to_the_given_time() -> None:
    data = dict(THREE, actions=[run_task("fill", 60, "big", 4)])
    result = ecssim.simulate(load(data))
    assert result.headroom("big").total == 6
    assert result.headroom("big", at="2m").total == 2
    with pytest.raises(ValueError, match="unknown task definition 'nope'"):
        result.headroom("nope")


def _launch_check(instances: int, instance_type: str, base_desired: int, cpu: int, memory: int,
                  port: bool) -> None:
    tds = [task_definition("base", cpu=512, memory=1024), task_definition("x", cpu=cpu, memory=memory,
                                                                          host_port=8080 if port else None)]
    services = [{"serviceName": "base", "taskDefinition": "base", "desiredCount": base_desired}]
    data = scenario(instances=instances, instance_type=instance_type, task_definitions=tds, services=services,
                    duration="20s")
    at = 10.0
    sim = ecssim.Simulation(load(data))
    sim.run_until(at)
    fits = sim.headroom("x").total
    wanted, actions = fits + 1, []
    while wanted > 0:  # RunTask places at most 10 tasks per call
        actions.append(run_task(f"go{len(actions)}", at, "x", min(10, wanted)))
        wanted -= 10
    result = ecssim.simulate(load(dict(data, actions=actions)))
    launched = result.tasks["started_by"].str.startswith("action:")
    failed = result.placement_failures["started_by"].str.startswith("action:")
    assert int(launched.sum()) == fits
    assert int(failed.sum()) == 1


@settings(max_examples=12)
@given(
    instances=st.integers(1, 4),
    instance_type=st.sampled_from(["t3.medium", "m5.large", "c5.xlarge"]),
    base_desired=st.integers(0, 6),
    cpu=st.sampled_from([128, 256, 700, 1024]),
    memory=st.sampled_from([256, 900, 2048]),
    port=st.booleans(),
)
def test_headroom_equals_tasks_actually_placed(instances, instance_type, base_desired, cpu, memory, port) -> None:
    _launch_check(instances, instance_type, base_desired, cpu, memory, port)


def test_cli_headroom(tmp_path) -> None:
    path = tmp_path / "three.yaml"
    path.write_text(yaml.safe_dump(THREE))
    out = CliRunner().invoke(main, ["headroom", str(path), "--task-definition", "big"])
    assert out.exit_code == 0, out.output
    assert "fits now: 6 more (binding: RESOURCE:CPU)" in out.output
    csv = CliRunner().invoke(main, ["headroom", str(path), "--task-definition", "big", "--csv"])
    assert csv.output.splitlines()[1] == "total,,6,RESOURCE:CPU,0,0,0"
    bad = CliRunner().invoke(main, ["headroom", str(path), "--task-definition", "nope"])
    assert bad.exit_code == 2 and "unknown task definition 'nope'" in bad.output
    bad = CliRunner().invoke(main, ["headroom", str(path), "--task-definition", "big", "--at", "5 parsecs"])
    assert bad.exit_code == 2



@given(
    cpu_free=st.lists(st.integers(0, 4096), min_size=1, max_size=8),
    mem_free=st.integers(0, 16000),
    cpu=st.integers(1, 2048),
    memory=st.integers(1, 4000),
    port_taken=st.lists(st.booleans(), min_size=8, max_size=8),
    port=st.booleans(),
)
def test_bare_view_fill_matches_arithmetic(cpu_free, mem_free, cpu, memory, port_taken, port) -> None:
    n = len(cpu_free)
    taken = [[80] if port_taken[k] else [] for k in range(n)]
    view = ClusterView.build([4096] * n, [16000] * n, azs=["a"] * n, cpu_free=cpu_free,
                             memory_free=[mem_free] * n, tcp_ports=taken)
    demand = TaskDemand(cpu, memory, tcp_ports=(80,) if port else ())
    per = [min(c // cpu, mem_free // memory) for c in cpu_free]
    if port:
        per = [0 if port_taken[k] else min(p, 1) for k, p in enumerate(per)]
    assert headroom(view, demand).total == sum(per)
