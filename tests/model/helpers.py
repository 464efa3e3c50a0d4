"""Tiny scenario builders and event-table views shared by the model tests."""

from __future__ import annotations

import copy

import pandas as pd

import ecssim

#: Instance ids of the first instances of a run (launch number in 17 hex digits).
I1, I2, I3 = "i-00000000000000001", "i-00000000000000002", "i-00000000000000003"

#: Constant latencies: no image pull, 2 s container start, 3 s container stop, instant
#: registration, and a service reaction 10 s after each change.
CONSTANT_TIMING = {
    "imagePull": 0,
    "containerStart": "2s",
    "containerStop": "3s",
    "agentRegistration": 0,
    "serviceReaction": {"mode": "delay", "delay": "10s"},
}


def task_definition(family: str, *, cpu: int = 256, memory: int = 512, image: str | None = None,
                    host_port: int | None = None, network_mode: str = "bridge") -> dict:
    """A one-container task definition (container-level cpu/memory)."""
    container: dict = {"name": "main", "image": image or f"repo/{family}:1", "cpu": cpu, "memory": memory}
    if host_port is not None:
        container["portMappings"] = [{"containerPort": 8080, "hostPort": host_port, "protocol": "tcp"}]
    return {"family": family, "networkMode": network_mode, "containerDefinitions": [container]}


def scenario(*, instances: int = 2, instance_type: str = "m5.large", duration: str = "10m", timing=None,
             task_definitions=(), services=(), workloads=(), faults=(), actions=(), fleet=None,
             **extra) -> dict:
    """A scenario dict of one fleet spread round-robin over AZs ``a`` and ``b``.

    ``fleet`` adds keys to the fleet (e.g. ``registeredMemory``); ``timing`` overrides keys of
    :data:`CONSTANT_TIMING`.
    """
    merged = copy.deepcopy(CONSTANT_TIMING)
    for key, value in (timing or {}).items():
        merged[key] = value
    return {
        "duration": duration,
        "cluster": {"fleets": [{"name": "fleet", "instanceType": instance_type, "count": instances,
                                "availabilityZones": ["a", "b"], **(fleet or {})}]},
        "taskDefinitions": list(task_definitions),
        "services": list(services),
        "workloads": list(workloads),
        "faults": list(faults),
        "actions": list(actions),
        "timing": merged,
        **extra,
    }


def service(name: str, task_def: str, desired: int, **extra) -> dict:
    return {"serviceName": name, "taskDefinition": task_def, "desiredCount": desired, **extra}


def run(scenario_dict: dict, seed: int = 1) -> ecssim.Result:
    return ecssim.simulate(ecssim.load_scenario_dict(scenario_dict), seed=seed)


ROW = ["time_s", "entity_id", "event", "from_state", "to_state"]


def rows(events: pd.DataFrame, *, entity: str | None = None, entity_id: str | None = None,
         event: str | None = None, columns=ROW) -> list[tuple]:
    """Rows of the events table as tuples (time rounded to microseconds), in log order.

    Without ``event``, task health rows and deployment rows are left out (see the tests of
    health and deployments for them).
    """
    df = events
    if entity is not None:
        df = df[df["entity"] == entity]
    if entity_id is not None:
        df = df[df["entity_id"] == entity_id]
    if event is not None:
        df = df[df["event"] == event]
    elif entity != "deployment" and "event" in df.columns:
        # Health and deployment rows have tests of their own; the lifecycle timelines leave them out.
        df = df[(df["event"] != "health") & (df["entity"] != "deployment")]
    out = []
    for rec in df[list(columns)].itertuples(index=False):
        values = list(rec)
        if columns[0] == "time_s":
            values[0] = round(float(values[0]), 6)
        out.append(tuple(values))
    return out


def task_rows(events: pd.DataFrame, **kw) -> list[tuple]:
    """The (time, task, event, from, to) rows of task entities."""
    return rows(events, entity="task", **kw)


def lifecycle(task: str, t_create: float, *, pull: float = 0.0, start: float = 2.0) -> list[tuple]:
    """The rows of a bridge task that is placed at ``t_create``, finds its resources free and
    reaches RUNNING after ``pull`` + ``start`` seconds."""
    t_pulled = t_create + pull
    t_run = t_pulled + start
    return [
        (t_create, task, "state", "", "PROVISIONING"),
        (t_create, task, "state", "PROVISIONING", "PENDING"),
        (t_create, task, "host_acquired", "PENDING", "PENDING"),
        (t_create, task, "pull_started", "PENDING", "PENDING"),
        (t_pulled, task, "pull_stopped", "PENDING", "PENDING"),
        (t_run, task, "state", "PENDING", "ACTIVATING"),
        (t_run, task, "state", "ACTIVATING", "RUNNING"),
    ]


def exit_rows(task: str, t: float) -> list[tuple]:
    """An essential container exits at ``t``: every stop state at once, then the host frees."""
    return [
        (t, task, "state", "RUNNING", "DEACTIVATING"),
        (t, task, "state", "DEACTIVATING", "STOPPING"),
        (t, task, "state", "STOPPING", "DEPROVISIONING"),
        (t, task, "state", "DEPROVISIONING", "STOPPED"),
        (t, task, "host_released", "STOPPED", "STOPPED"),
    ]


def stop_rows(task: str, t: float, stop_s: float = 3.0) -> list[tuple]:
    """A RUNNING task is stopped at ``t``: SIGTERM, ``stop_s`` to exit, then STOPPED."""
    return [
        (t, task, "state", "RUNNING", "DEACTIVATING"),
        (t, task, "state", "DEACTIVATING", "STOPPING"),
        (t + stop_s, task, "state", "STOPPING", "DEPROVISIONING"),
        (t + stop_s, task, "state", "DEPROVISIONING", "STOPPED"),
        (t + stop_s, task, "host_released", "STOPPED", "STOPPED"),
    ]
