"""Faults with real containers: OOM kills by the kernel, agent disconnects, instance terminations.

Each test runs the small scenario of ``test_agent`` (two m5.large, four 128 MiB tasks) with one
fault, at ``FACTOR`` wall seconds per simulated second, and checks the tables against what the
engine really did (container snapshots taken mid-run, the run's recorded exits and events).
"""

from __future__ import annotations

from test_agent import scenario
from watching import run_watching

from ecssim.model.task import OOM_REASON
from ecssim.scenario import load_scenario_dict

LIMIT_BYTES = 128 * 2**20  # the task definition's memory: the containers' hard limit


def with_faults(faults: list, actions: list | None = None, duration: str = "60s", tasks: int = 4):  # noqa: ANN201
    sc = scenario(faults, duration=duration).model_dump(mode="json", by_alias=True, exclude_none=True)
    sc["actions"] = actions or []
    sc["services"][0]["desiredCount"] = tasks
    return load_scenario_dict(sc)


def running(snapshot: dict) -> list[dict]:
    return [attrs for attrs in snapshot["containers"] if attrs["State"]["Running"]]


def label(attrs: dict, key: str) -> str:
    return attrs["Config"]["Labels"][f"ecssim.{key}"]


def test_memory_use_above_the_limit_is_a_real_oom_kill(engine, image) -> None:  # noqa: ANN001
    # 256 MiB against the 128 MiB limit over a 20 s ramp: each task crosses its limit 10 s
    # after RUNNING, then its container hogs memory until the kernel OOM-kills it (about half
    # a wall second for 128 MiB alone here: some 25 simulated seconds at FACTOR, more when
    # hogs share the CPUs). Two tasks, one per instance, keep the hogs from crowding each other.
    # On a loaded machine a kill came at 110 s and its replacement started at 150 s (its start
    # slowed down as much): 240 s leaves the replacements time to start.
    leak = {"type": "memoryUse", "name": "leak", "service": "web", "usage": "256 MiB", "ramp": "20s"}
    result, run, snapshots = run_watching(engine, with_faults([leak], duration="240s", tasks=2), 0, [20.0])
    tasks, events = result.tasks, result.events

    seen = snapshots[20.0]["containers"]
    assert len(seen) >= 2 and all(attrs["HostConfig"]["Memory"] == LIMIT_BYTES for attrs in seen)
    assert all(attrs["HostConfig"]["MemorySwap"] == LIMIT_BYTES for attrs in seen)

    killed = tasks[tasks["stopped_reason"] == OOM_REASON]
    assert set(tasks[tasks["started_by"] == "warmStart"]["task_id"]) <= set(killed["task_id"])
    assert (killed["stop_code"] == "EssentialContainerExited").all()
    assert (killed["stopped_at_s"] - killed["started_at_s"] >= 10.0).all()  # not before the limit is crossed
    faults = events[(events["entity"] == "fault") & (events["event"] == "fault")]
    assert set(faults["to_state"]) == {"oom_kill"}
    assert set(killed["incident_id"]) == set(faults["entity_id"])

    exits = {e.task_id: e for e in run.exits}
    for task_id in killed["task_id"]:
        assert exits[task_id].oom_killed and exits[task_id].exit_code == 137 and exits[task_id].crashed
    assert not any(e.oom_killed for e in run.exits if e.task_id not in set(killed["task_id"]))

    replacements = tasks[tasks["started_by"] != "warmStart"]
    assert len(replacements) >= 2 and (replacements["created_at_s"] >= killed["stopped_at_s"].min()).all()
    assert replacements["started_at_s"].notna().sum() >= 1  # started as a real container


def test_a_disconnected_agent_keeps_its_containers_and_stops_them_after_reconnecting(engine, image) -> None:  # noqa: ANN001
    # Times leave the engine slack (a start or a stop takes a few simulated seconds at FACTOR):
    # disconnected from 40 s to 90 s, scale-in at 45 s, snapshots before and during.
    disconnect = {"type": "agentDisconnect", "name": "flaky", "at": ["40s"], "duration": "50s",
                  "select": {"availabilityZone": "us-east-1a"}}
    scale_in = {"type": "updateService", "name": "scale-in", "at": "45s", "service": "web", "desiredCount": 2}
    result, run, snapshots = run_watching(engine, with_faults([disconnect], [scale_in], duration="110s"), 0,
                                          [35.0, 65.0])
    tasks, events, instances = result.tasks, result.events, result.instances
    agent_rows = events[(events["entity"] == "instance") & (events["event"] == "agent")]
    gone = agent_rows[agent_rows["to_state"] == "DISCONNECTED"]
    back = agent_rows[agent_rows["to_state"] == "CONNECTED"]
    assert len(gone) == 1 and len(back) == 1
    disconnected = gone["instance_id"].iloc[0]
    assert disconnected == instances[instances["az"] == "us-east-1a"]["instance_id"].iloc[0]
    reconnect_s = float(back["time_s"].iloc[0])

    on_it = tasks[tasks["instance_id"] == disconnected]
    before = {label(a, "task") for a in running(snapshots[35.0]) if label(a, "instance") == disconnected}
    during = {label(a, "task") for a in running(snapshots[65.0]) if label(a, "instance") == disconnected}
    assert before == set(on_it[on_it["started_by"] == "warmStart"]["task_id"]) and len(before) == 2
    assert during == before  # nothing killed on disconnect, nor on the held scale-in

    stopped = tasks[tasks["stop_code"] == "ServiceSchedulerInitiated"]
    assert len(stopped) == 2
    held = stopped[stopped["instance_id"] == disconnected]
    assert len(held) >= 1  # the scale-in picked a task on the disconnected instance
    assert (held["stopped_at_s"] >= reconnect_s).all()  # its real docker stop came after the reconnect
    assert (stopped[stopped["instance_id"] != disconnected]["stopped_at_s"] < reconnect_s).all()
    ids = {label(a, "task"): a["Id"] for a in snapshots[65.0]["containers"]}
    for task_id in held["task_id"]:
        die = run.events.seen(ids[task_id], "die")
        assert die is not None and die.time_s > snapshots[65.0]["wall_s"]


def test_a_terminated_instance_loses_its_real_containers(engine, image) -> None:  # noqa: ANN001
    failure = {"type": "instanceFailure", "name": "loss", "at": ["30s"], "select": {"availabilityZone": "us-east-1a"}}
    result, run, snapshots = run_watching(engine, with_faults([failure], duration="90s"), 0, [60.0, 85.0])
    tasks, instances, events = result.tasks, result.instances, result.events
    lost = instances[instances["az"] == "us-east-1a"]["instance_id"].iloc[0]
    other = instances[instances["az"] == "us-east-1b"]["instance_id"].iloc[0]

    for at in (60.0, 85.0):
        on_lost = [a for a in snapshots[at]["containers"] if label(a, "instance") == lost]
        assert len(on_lost) == 2  # its two tasks were real containers...
        assert all(not a["State"]["Running"] and a["State"]["ExitCode"] == 137 for a in on_lost)  # ...killed
    states = events[(events["entity"] == "instance") & (events["entity_id"] == lost) & (events["event"] == "state")]
    assert states["to_state"].iloc[-1] == "INACTIVE"
    assert instances.set_index("instance_id").loc[lost, "terminated_at_s"] >= 30.0

    victims = tasks[tasks["instance_id"] == lost]
    assert len(victims) == 2 and (victims["last_status"] == "STOPPED").all()
    replacements = tasks[tasks["started_by"] != "warmStart"]
    assert len(replacements) == 2 and (replacements["created_at_s"] >= 30.0).all()
    assert (replacements["instance_id"] == other).sum() >= 1  # placed on the surviving instance
    assert (tasks["last_status"] == "RUNNING").sum() == 4  # the service is whole again, as real containers
    assert {label(a, "task") for a in running(snapshots[85.0])} == set(tasks[tasks["last_status"] == "RUNNING"]["task_id"])
