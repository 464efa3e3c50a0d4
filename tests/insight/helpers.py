"""Tiny scenario builders for the insight tests (constant latencies, warm start)."""

from __future__ import annotations

import ecssim

#: Instance ids of the first instances of a run (slot + 1 in 17 hex digits).
I1, I2, I3 = "i-00000000000000001", "i-00000000000000002", "i-00000000000000003"

TIMING = {
    "imagePull": 0,
    "containerStart": "2s",
    "containerStop": "3s",
    "agentRegistration": 0,
    "serviceReaction": {"mode": "delay", "delay": "10s"},
}


def task_definition(family: str, *, cpu: int = 256, memory: int = 512, host_port: int | None = None) -> dict:
    """A one-container bridge-mode task definition with container-level cpu/memory."""
    container: dict = {"name": "main", "image": f"repo/{family}:1", "cpu": cpu, "memory": memory}
    if host_port is not None:
        container["portMappings"] = [{"containerPort": 8080, "hostPort": host_port}]
    return {"family": family, "networkMode": "bridge", "containerDefinitions": [container]}


def scenario(*, instances: int = 3, instance_type: str = "m5.large", azs=("a", "b", "c"), duration: str = "10m",
             task_definitions=(), services=(), actions=(), workloads=(), warm_start: bool = True) -> dict:
    """One fleet spread round-robin over ``azs``, warm-started by default."""
    return {
        "duration": duration,
        "warmStart": warm_start,
        "cluster": {"fleets": [{"name": "fleet", "instanceType": instance_type, "count": instances,
                                "availabilityZones": list(azs)}]},
        "taskDefinitions": list(task_definitions),
        "services": list(services),
        "actions": list(actions),
        "workloads": list(workloads),
        "timing": dict(TIMING),
    }


def run_task(name: str, at: float, task_def: str, count: int, duration: str = "1h", **extra) -> dict:
    return {"type": "runTask", "name": name, "at": at, "taskDefinition": task_def, "count": count,
            "duration": duration, **extra}


def load(data: dict) -> ecssim.Scenario:
    return ecssim.load_scenario_dict(data)
