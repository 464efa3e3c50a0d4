"""Per-instance cgroup parents: each virtual instance's containers bounded by its registered budget."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_agent import scenario
from watching import FACTOR, run_watching

from ecssim.docker import new_run_id
from ecssim.docker.cgroups import CGROUP_ROOT, CgroupUnavailable, InstanceCgroups, run_folder
from ecssim.docker.real_run import run_real


def test_without_cgroup_v1_controllers_the_option_is_refused(tmp_path: Path) -> None:
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "cgroup.procs").write_text("")
    with pytest.raises(CgroupUnavailable, match="cpu controller"):
        InstanceCgroups("r", root=tmp_path)


def test_limits_are_the_registered_budget(tmp_path: Path) -> None:
    for controller in ("memory", "cpu"):
        (tmp_path / controller).mkdir()
        (tmp_path / controller / "cgroup.procs").write_text("")
    cgroups = InstanceCgroups("run-1", root=tmp_path)
    assert cgroups.create("i-1", cpu_units=2048, memory_mib=7979) == "/ecssim-run-1/i-1"
    assert (tmp_path / "memory/ecssim-run-1/i-1/memory.limit_in_bytes").read_text() == str(7979 * 2**20)
    assert (tmp_path / "cpu/ecssim-run-1/i-1/cpu.cfs_quota_us").read_text() == "200000"  # 2 CPUs
    assert (tmp_path / "cpu/ecssim-run-1/i-1/cpu.cfs_period_us").read_text() == "100000"


def require_cgroup_v1() -> None:
    """Skip without cgroup v1 memory and cpu controllers, except in CI (whose machines have them)."""
    if all((CGROUP_ROOT / c / "cgroup.procs").is_file() for c in ("memory", "cpu")):
        return
    if os.environ.get("CI") == "true":
        pytest.fail("CI's machines mount cgroup v1 memory and cpu controllers; this one does not")
    pytest.skip("this host has no cgroup v1 memory and cpu controllers")


def test_containers_run_in_their_instances_cgroup_and_it_is_removed_after(engine, image) -> None:  # noqa: ANN001
    require_cgroup_v1()
    run_id = new_run_id("test")
    cgroups = InstanceCgroups(run_id)

    def memory_limits() -> dict[str, int]:  # each instance's cgroup limit, read mid-run
        top = CGROUP_ROOT / "memory" / run_folder(run_id)
        return {path.name: int((path / "memory.limit_in_bytes").read_text()) for path in top.iterdir() if path.is_dir()}

    try:
        result, _, snapshots = run_watching(engine, scenario(), 0, [20.0], run_id=run_id, cgroups=cgroups,
                                            start_warm=True, extra=memory_limits)
    finally:
        cgroups.remove()
    seen = {attrs["Id"]: attrs for attrs in snapshots[20.0]["containers"]}
    limits = snapshots[20.0]["extra"]
    assert len(seen) == 4
    for attrs in seen.values():
        instance = attrs["Config"]["Labels"]["ecssim.instance"]
        assert attrs["HostConfig"]["CgroupParent"] == f"/{run_folder(run_id)}/{instance}"
    registered = result.instances.set_index("instance_id")["memory_registered_mib"]
    assert limits == {i: int(registered[i]) * 2**20 for i in limits} and len(limits) == 2
    assert not any((controller / run_folder(run_id)).exists() for controller in CGROUP_ROOT.iterdir())


def test_run_real_with_instance_cgroups_leaves_no_cgroup(engine, image) -> None:  # noqa: ANN001
    require_cgroup_v1()
    before = {p.name for p in (CGROUP_ROOT / "memory").iterdir() if p.name.startswith("ecssim-")}
    run = run_real(scenario(duration="20s"), 0, factor=FACTOR, client=engine, instance_cgroups=True)
    assert len(run.result.tasks) == 4
    after = {p.name for p in (CGROUP_ROOT / "memory").iterdir() if p.name.startswith("ecssim-")}
    assert after == before
