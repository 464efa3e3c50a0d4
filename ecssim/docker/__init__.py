"""The Docker-backed mode: real containers on a local Docker engine.

It connects to the engine (:mod:`.engine`), builds the stand-in workload image without a
registry (:mod:`.images`), labels and cleans up ecssim's containers (:mod:`.labels`,
:mod:`.cleanup`) and calibrates the simulator's container latencies on the engine
(:mod:`.calibrate`, written by :mod:`.timing_file`). :mod:`.agent` runs a task as real
containers, :mod:`.realtime` is the wall-clock SimPy driver, and :mod:`.real_run` runs a
whole scenario with them (:func:`run_real`, :func:`run_with_docker`), optionally with a
cgroup per virtual instance (:mod:`.cgroups`). :mod:`.compare` tests the simulation against
real runs (:func:`~ecssim.docker.compare.validate`, ``ecssim docker-validate``), written by
:mod:`.output` with the figures of :mod:`.plots`. The Docker SDK is an optional extra (``pip install
'ecssim[docker]'``): nothing here imports it until an engine is asked for, so importing this
package costs nothing without it.
"""

from __future__ import annotations

from .agent import ContainerExit, DockerAgent, DockerRun
from .calibrate import (
    Calibration,
    CalibrationError,
    CalibrationFileError,
    Measurement,
    Sample,
    calibrate,
)
from .cgroups import CgroupUnavailable, InstanceCgroups
from .cleanup import cleaning_up, cleanup, managed_containers
from .engine import (
    EngineEvent,
    EngineInfo,
    EngineUnavailable,
    EventReader,
    HostKillUnavailable,
    connect,
    kill_main_process,
)
from .images import WORKLOAD_IMAGE, WorkloadImageError, ensure_workload_image, workload_command
from .labels import container_filters, container_labels, event_filters, new_run_id
from .real_run import RealRun, docker_agents, run_real, run_with_docker
from .realtime import WallClockEnvironment
from .timing_file import check_target, samples_path, write_calibration

__all__ = [
    "WORKLOAD_IMAGE",
    "Calibration",
    "ContainerExit",
    "DockerAgent",
    "DockerRun",
    "RealRun",
    "CalibrationError",
    "CalibrationFileError",
    "CgroupUnavailable",
    "EngineEvent",
    "EngineInfo",
    "EngineUnavailable",
    "EventReader",
    "HostKillUnavailable",
    "InstanceCgroups",
    "Measurement",
    "Sample",
    "WallClockEnvironment",
    "WorkloadImageError",
    "calibrate",
    "check_target",
    "cleaning_up",
    "cleanup",
    "connect",
    "docker_agents",
    "container_filters",
    "container_labels",
    "ensure_workload_image",
    "event_filters",
    "kill_main_process",
    "managed_containers",
    "new_run_id",
    "run_real",
    "run_with_docker",
    "samples_path",
    "workload_command",
    "write_calibration",
]
