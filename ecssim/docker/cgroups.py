"""Per-instance cgroup parents: a virtual container instance's budget enforced by the kernel.

Optionally (``run_real(..., instance_cgroups=True)``, ``docker-validate --instance-cgroups``)
each virtual instance gets a cgroup of its own, ``/ecssim-<run>/<instance>``, that ecssim
creates before the run with the instance's registered memory as its hard limit and its
registered CPU as a CFS quota, and that every container of the instance uses as its
``cgroup_parent``. Placement already keeps reservations within the registered budget, as
ECS does; the parent makes the *use* of the instance's containers together bounded too, as
on a real host, where containers whose soft reservations add up under the budget can still
exhaust its memory together.

It needs cgroup v1 with the ``memory`` and ``cpu`` controllers mounted under
``/sys/fs/cgroup`` (the engine's ``cgroupfs`` driver, as ``.ci/run`` starts it) and an engine
on this host. :meth:`InstanceCgroups.remove` deletes the run's cgroup folders once its
containers are gone (``rmdir`` of empty cgroups only; nothing else is touched).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Where the cgroup v1 controllers are mounted.
CGROUP_ROOT = Path("/sys/fs/cgroup")
#: The controllers ecssim sets limits in (the engine creates the others' folders itself).
LIMITED_CONTROLLERS = ("memory", "cpu")
#: CFS period (microseconds) of the instance's CPU quota: the kernel's default.
CFS_PERIOD_US = 100_000
#: ECS's CPU units per CPU.
CPU_UNITS_PER_CPU = 1024


class CgroupUnavailable(RuntimeError):
    """Per-instance cgroups cannot be made here (no cgroup v1 memory/cpu controllers, no permission)."""


def run_folder(run_id: str) -> str:
    """The run's top cgroup folder name (under each controller)."""
    return f"ecssim-{run_id}"


class InstanceCgroups:
    """The per-instance cgroup parents of one run."""

    def __init__(self, run_id: str, root: Path = CGROUP_ROOT) -> None:
        self.run_id = run_id
        self.root = Path(root)
        missing = [c for c in LIMITED_CONTROLLERS if not (self.root / c / "cgroup.procs").is_file()]
        if missing:
            raise CgroupUnavailable(
                f"per-instance cgroups need cgroup v1 with the {', '.join(missing)} controller(s) mounted "
                f"under {self.root} (the engine's cgroupfs driver); run without --instance-cgroups")

    def parent(self, instance_id: str) -> str:
        """The ``cgroup_parent`` of the instance's containers."""
        return f"/{run_folder(self.run_id)}/{instance_id}"

    def create(self, instance_id: str, cpu_units: int, memory_mib: int) -> str:
        """Make the instance's cgroup with its registered budget as limits; returns its parent path."""
        relative = self.parent(instance_id).lstrip("/")
        try:
            memory = self.root / "memory" / relative
            memory.mkdir(parents=True, exist_ok=True)
            (memory / "memory.limit_in_bytes").write_text(str(memory_mib * 2**20))
            cpu = self.root / "cpu" / relative
            cpu.mkdir(parents=True, exist_ok=True)
            (cpu / "cpu.cfs_period_us").write_text(str(CFS_PERIOD_US))
            (cpu / "cpu.cfs_quota_us").write_text(str(cpu_units * CFS_PERIOD_US // CPU_UNITS_PER_CPU))
        except OSError as error:
            raise CgroupUnavailable(f"cannot make the cgroup of {instance_id} under {self.root}: {error}") from None
        return self.parent(instance_id)

    def remove(self) -> list[Path]:
        """Remove the run's cgroup folders under every controller, deepest first; returns those removed.

        A folder still in use (a container left, a process inside) is kept.
        """
        removed = []
        for controller in sorted(p for p in self.root.iterdir() if p.is_dir()):
            top = controller / run_folder(self.run_id)
            if not top.is_dir():
                continue
            for folder, _, _ in sorted(os.walk(top), key=lambda entry: -entry[0].count(os.sep)):
                try:
                    os.rmdir(folder)
                    removed.append(Path(folder))
                except OSError:
                    continue
        return removed
