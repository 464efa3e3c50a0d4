"""Invariants of a run, recomputed from its output tables only (never from the simulator's counters).

Each check walks the ``events`` table in log order (``seq``): rows at the same instant are
in the order the simulator made the changes, so a sweep in that order sees every
intermediate state. Each returns a list of violations (empty when the run is sound), so a
failing property test shows all of them at once.
"""

from __future__ import annotations

from collections import defaultdict

import ecssim

STATES = ("PROVISIONING", "PENDING", "ACTIVATING", "RUNNING", "DEACTIVATING", "STOPPING", "DEPROVISIONING",
          "STOPPED")
RANK = {state: k for k, state in enumerate(STATES)}
#: A task leaves the control-plane ledger on its first row into one of these (ecs-reference 2.6).
CP_FREE = ("STOPPING", "STOPPED")
#: TCP ports the agent reserves by default (scenario ``cluster.reservedPorts``).
AGENT_PORTS = frozenset((22, 2375, 2376, 51678, 51679))


def _task_rows(res: ecssim.Result):
    ev = res.events.sort_values("seq")
    return ev[ev.entity == "task"].itertuples(index=False)


def ledgers(res: ecssim.Result) -> list[str]:
    """(a) neither ledger ever holds more than an instance registered; (e) static ports never collide."""
    problems: list[str] = []
    tasks = res.tasks.set_index("task_id")
    demand = {tid: (int(r.cpu), int(r.memory_mib), r.host_ports.split()) for tid, r in tasks.iterrows()}
    registered = {r.instance_id: (int(r.cpu_registered), int(r.memory_registered_mib))
                  for r in res.instances.itertuples(index=False)}
    holders = {"cp": defaultdict(set), "host": defaultdict(set)}
    where: dict[str, str] = {}

    def take(kind: str, row) -> None:  # noqa: ANN001
        held = holders[kind][row.instance_id]
        if row.entity_id in held:
            problems.append(f"{row.time_s}: {row.entity_id} takes the {kind} ledger twice")
        if kind == "cp":
            ports = {p for t in held for p in demand[t][2]}
            mine = set(demand[row.entity_id][2])
            if ports & mine:
                problems.append(f"{row.time_s}: {row.entity_id} port(s) {ports & mine} already used on "
                                f"{row.instance_id}")
            if {f"{p}/tcp" for p in AGENT_PORTS} & mine:
                problems.append(f"{row.time_s}: {row.entity_id} uses an agent-reserved port")
        held.add(row.entity_id)
        cpu = sum(demand[t][0] for t in held)
        memory = sum(demand[t][1] for t in held)
        cpu_reg, memory_reg = registered[row.instance_id]
        if cpu > cpu_reg or memory > memory_reg:
            problems.append(f"{row.time_s}: {kind} ledger of {row.instance_id} over-committed: "
                            f"cpu {cpu}/{cpu_reg}, memory {memory}/{memory_reg} ({sorted(held)})")

    def drop(kind: str, row) -> None:  # noqa: ANN001
        held = holders[kind][row.instance_id]
        if row.entity_id not in held:
            problems.append(f"{row.time_s}: {row.entity_id} releases the {kind} ledger it does not hold")
        held.discard(row.entity_id)

    for row in _task_rows(res):
        if row.event == "state":
            if row.from_state == "":
                where[row.entity_id] = row.instance_id
                if row.instance_id:  # waiting for a capacity provider's instance, or on Fargate: no ledger
                    take("cp", row)
            elif row.to_state in CP_FREE and row.entity_id in holders["cp"][row.instance_id]:
                drop("cp", row)
        elif row.event == "placed":  # a task that waited in PROVISIONING got its instance
            where[row.entity_id] = row.instance_id
            take("cp", row)
        elif row.event == "host_acquired":
            take("host", row)
        elif row.event == "host_released":
            drop("host", row)
        if where.get(row.entity_id) != row.instance_id:
            problems.append(f"{row.time_s}: {row.entity_id} row on {row.instance_id}, created on "
                            f"{where.get(row.entity_id)}")
    return problems


def lifecycles(res: ecssim.Result) -> list[str]:
    """(b) every task created ends in exactly one STOPPED or is live; states only move forward."""
    problems: list[str] = []
    last: dict[str, str] = {}
    health: dict[str, str] = {}
    stopped: dict[str, int] = defaultdict(int)
    acquired: dict[str, int] = defaultdict(int)
    released: dict[str, int] = defaultdict(int)
    for row in _task_rows(res):
        tid = row.entity_id
        previous = last.get(tid)
        if row.event == "state":
            if previous is None:
                if (row.from_state, row.to_state) != ("", "PROVISIONING"):
                    problems.append(f"{tid}: first row {row.from_state!r} -> {row.to_state!r}")
            else:
                if row.from_state != previous:
                    problems.append(f"{tid}: row from {row.from_state} but the task was {previous}")
                if row.to_state not in RANK or RANK[row.to_state] <= RANK.get(previous, 99):
                    problems.append(f"{row.time_s}: {tid} moves backwards or after STOPPED: "
                                    f"{previous} -> {row.to_state}")
            last[tid] = row.to_state
            stopped[tid] += row.to_state == "STOPPED"
        elif row.event == "health":
            # Health rows: service tasks only, only while RUNNING, chained from UNKNOWN.
            if previous != "RUNNING" or not row.service:
                problems.append(f"{tid}: health row while {previous} (service {row.service!r})")
            if row.from_state != health.get(tid, "UNKNOWN") or row.to_state not in ("HEALTHY", "UNHEALTHY"):
                problems.append(f"{tid}: health {row.from_state} -> {row.to_state} after {health.get(tid)}")
            health[tid] = row.to_state
        else:
            if previous is None:
                problems.append(f"{tid}: {row.event} before its creation")
            elif row.from_state != previous or row.to_state != previous:
                problems.append(f"{tid}: {row.event} row carries {row.from_state}/{row.to_state}, task {previous}")
            if previous == "STOPPED" and row.event != "host_released":
                problems.append(f"{tid}: {row.event} after STOPPED")
            acquired[tid] += row.event == "host_acquired"
            released[tid] += row.event == "host_released"
    created = set(res.tasks.task_id)
    if created != set(last):
        problems.append(f"tasks table and events disagree: {sorted(created ^ set(last))}")
    for tid, count in stopped.items():
        if count > 1:
            problems.append(f"{tid}: {count} STOPPED rows")
    for tid in last:
        if acquired[tid] > 1 or released[tid] > acquired[tid]:
            problems.append(f"{tid}: host acquired {acquired[tid]}x, released {released[tid]}x")
        if last[tid] == "STOPPED" and released[tid] != acquired[tid]:
            problems.append(f"{tid}: STOPPED but still holds the host ledger")
    table = res.tasks.set_index("task_id")
    for tid, state in last.items():
        if table.loc[tid, "last_status"] != state:
            problems.append(f"{tid}: last_status {table.loc[tid, 'last_status']} but last row {state}")
    return problems


def maximum_percent(res: ecssim.Result) -> list[str]:
    """(c) at each task creation of a service, its tasks not yet STOPPED <= floor(desired x max% / 100)."""
    problems: list[str] = []
    max_pct = dict(zip(res.services.service, res.services.maximum_percent, strict=True))
    desired: dict[str, int] = {}
    alive: dict[str, int] = defaultdict(int)
    ev = res.events.sort_values("seq")
    for row in ev.itertuples(index=False):
        if row.entity == "service" and row.event == "desired_count":
            desired[row.entity_id] = int(row.value)
        elif row.entity == "task" and row.event == "state" and row.service:
            if row.from_state == "":
                alive[row.service] += 1
                bound = desired[row.service] * int(max_pct[row.service]) // 100
                if alive[row.service] > bound:
                    problems.append(f"{row.time_s}: {row.service} has {alive[row.service]} tasks not STOPPED, "
                                    f"more than {bound} (desired {desired[row.service]})")
            elif row.to_state == "STOPPED":
                alive[row.service] -= 1
    return problems


def placement_targets(res: ecssim.Result) -> list[str]:
    """(d) tasks are only placed on ACTIVE instances; a gone instance keeps no live task."""
    problems: list[str] = []
    status: dict[str, str] = {}
    gone_at: dict[str, float] = {}
    ev = res.events.sort_values("seq")
    for row in ev.itertuples(index=False):
        if row.entity == "instance" and row.event == "state":
            status[row.entity_id] = row.to_state
            if row.to_state == "INACTIVE":
                gone_at[row.entity_id] = row.time_s
        elif row.entity == "task" and row.instance_id and (
                (row.event == "state" and row.from_state == "") or row.event == "placed"):
            if status.get(row.instance_id) != "ACTIVE":
                problems.append(f"{row.time_s}: {row.entity_id} placed on {row.instance_id} "
                                f"({status.get(row.instance_id)})")
        elif row.entity == "task" and row.instance_id in gone_at and row.time_s > gone_at[row.instance_id]:
            problems.append(f"{row.time_s}: {row.entity_id} row on {row.instance_id}, gone since "
                            f"{gone_at[row.instance_id]}")
    tasks = res.tasks
    for instance_id, at in gone_at.items():
        mine = tasks[tasks.instance_id == instance_id]
        alive = mine[~(mine.stopped_at_s <= at)]
        if len(alive):
            problems.append(f"{instance_id} INACTIVE at {at} but {list(alive.task_id)} not STOPPED by then")
    return problems


STOP_CODES = frozenset(("EssentialContainerExited", "ServiceSchedulerInitiated", "UserInitiated",
                        "TaskFailedToStart", "TerminationNotice", ""))


def timestamps_and_reasons(res: ecssim.Result) -> list[str]:
    """ECS's timestamps are ordered; a RUNNING task holds the host ledger; every stopped task
    says why (an empty stop code only for a host that was terminated under it)."""
    problems: list[str] = []
    t = res.tasks
    order = ["created_at_s", "pull_started_at_s", "pull_stopped_at_s", "started_at_s", "stopping_at_s",
             "stopped_at_s"]
    for tid, row in t.set_index("task_id")[order].iterrows():
        seen = [v for v in row.tolist() if v == v]  # drop NaN
        if seen != sorted(seen):
            problems.append(f"{tid}: timestamps out of order {row.to_dict()}")
    stopped = t[t.last_status == "STOPPED"]
    for row in stopped.itertuples(index=False):
        if row.stop_code not in STOP_CODES or not row.stopped_reason:
            problems.append(f"{row.task_id}: stop code {row.stop_code!r}, reason {row.stopped_reason!r}")
        if row.stop_code == "" and not row.stopped_reason.startswith("Host EC2 (instance "):
            problems.append(f"{row.task_id}: empty stop code for {row.stopped_reason!r}")
    holding: set[str] = set()
    for row in _task_rows(res):
        if row.event == "host_acquired":
            holding.add(row.entity_id)
        elif row.event == "host_released":
            holding.discard(row.entity_id)
        elif row.event == "state" and row.to_state in ("ACTIVATING", "RUNNING") and row.entity_id not in holding \
                and row.instance_id:  # a Fargate task has no host ledger
            problems.append(f"{row.time_s}: {row.entity_id} {row.to_state} without the host's resources")
    return problems


def all_invariants(res: ecssim.Result) -> list[str]:
    return (ledgers(res) + lifecycles(res) + maximum_percent(res) + placement_targets(res)
            + timestamps_and_reasons(res))


def deployment_bounds(res, services: dict) -> list[str]:  # noqa: ANN001
    """Deployments never leave their bounds, recomputed from the events table.

    ``services`` maps a service to (desiredCount, minimumHealthyPercent, maximumPercent), for a
    run without faults or desired-count changes. At the end of every instant: tasks not yet
    STOPPED <= floor(desired x max / 100); from the first deployment created after t=0 on,
    healthy tasks (a HEALTHY health row, still RUNNING) >= ceil(desired x min / 100).
    """
    problems: list[str] = []
    ev = res.events
    deployments = ev[(ev.entity == "deployment") & (ev.event == "state") & (ev.to_state == "PRIMARY")
                     & (ev.time_s > 0)]
    for name, (desired, minimum, maximum) in services.items():
        start = deployments[deployments.service == name].time_s.min()
        rows = ev[(ev.entity == "task") & (ev.service == name) & ev.event.isin(["state", "health"])]
        alive: set[str] = set()
        healthy: set[str] = set()
        ceiling, floor = desired * maximum // 100, -(-desired * minimum // 100)
        for t, group in rows.groupby("time_s", sort=True):
            for row in group.itertuples(index=False):
                if row.event == "health":
                    (healthy.add if row.to_state == "HEALTHY" else healthy.discard)(row.entity_id)
                elif row.to_state == "PROVISIONING":
                    alive.add(row.entity_id)
                elif row.from_state == "RUNNING":
                    healthy.discard(row.entity_id)
                if row.event == "state" and row.to_state == "STOPPED":
                    alive.discard(row.entity_id)
            if len(alive) > ceiling:
                problems.append(f"{t}: {name} has {len(alive)} tasks not STOPPED > {ceiling}")
            if t >= start and len(healthy) < floor:
                problems.append(f"{t}: {name} has {len(healthy)} healthy tasks < {floor}")
    return problems
