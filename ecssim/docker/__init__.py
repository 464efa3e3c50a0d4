"""The Docker-backed mode: real containers on a local Docker engine.

It connects to the engine (:mod:`.engine`), builds the stand-in workload image
without a registry (:mod:`.images`), labels and cleans up ecssim's containers
(:mod:`.labels`, :mod:`.cleanup`) and calibrates the simulator's container latencies on the
engine (:mod:`.calibrate`); :mod:`.realtime` is the wall-clock SimPy driver the Docker agent
runs the world in, and :mod:`.agent` runs a scenario's tasks as real containers
(:func:`run_with_docker`, :func:`run_real`); :mod:`.compare` tests the simulation against
real runs (:func:`~ecssim.docker.compare.validate`, ``ecssim docker-validate``), written by
:mod:`.output` with the figures of :mod:`.plots`. The Docker SDK is an optional extra (``pip install
'ecssim[docker]'``): nothing here imports it until an engine is asked for, so importing this
package costs nothing without it.
"""

from __future__ import annotations

from .agent import ContainerExit, DockerAgent, DockerRun, RealRun, docker_agents, run_real, run_with_docker
from .calibrate import (
    Calibration,
    CalibrationError,
    CalibrationFileError,
    Measurement,
    Sample,
    calibrate,
    check_target,
    samples_path,
    write_calibration,
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
from .realtime import WallClockEnvironment

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
