"""Invariants over random small scenarios (hypothesis), recomputed from the output tables.

Each example is a whole simulation of a random cluster (1-4 fleets of small instance types),
1-4 services (random demand, static or dynamic ports, bridge or awsvpc, strategies,
maximumPercent), RunTask Poisson workloads, instance failures, an AZ outage, task crashes,
operator actions and random latency distributions. The checks live in ``invariants.py``.
The ``ci`` profile (tests/conftest.py) runs 25 examples per test; ``dev`` runs more.
"""

from __future__ import annotations

from hypothesis import given, note
from hypothesis import strategies as st

import ecssim

from . import invariants

AZS = ["a", "b", "c"]
TYPES = ["t3.micro", "t3.small", "t3.medium", "m5.large", "c5.large"]
STRATEGIES = [
    [{"type": "binpack", "field": "memory"}],
    [{"type": "binpack", "field": "cpu"}],
    [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "instanceId"}],
    [{"type": "random"}],
    None,  # ECS's default
]


def seconds(lo: float, hi: float):
    return st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 3))


@st.composite
def distributions(draw, lo: float, hi: float):
    """A latency distribution: constant, uniform, exponential or lognormal."""
    kind = draw(st.sampled_from(["constant", "uniform", "exponential", "lognormal"]))
    a = draw(seconds(lo, hi))
    if kind == "constant":
        return a
    if kind == "uniform":
        return {"type": "uniform", "low": a, "high": round(a + draw(seconds(0, hi)), 3)}
    if kind == "exponential":
        return {"type": "exponential", "mean": max(a, 0.01)}
    return {"type": "lognormal", "median": max(a, 0.01), "sigma": draw(st.floats(0.0, 1.0))}


@st.composite
def task_definitions(draw, family: str):
    mode = draw(st.sampled_from(["bridge", "bridge", "awsvpc", "host"]))
    container = {
        "name": "main",
        "image": f"repo/{draw(st.sampled_from(['a', 'b', family]))}:1",
        "cpu": draw(st.sampled_from([0, 128, 256, 512, 1024])),
        "memory": draw(st.sampled_from([128, 256, 512, 900, 1536])),
    }
    port = draw(st.sampled_from([None, "dynamic", 8080, 8081]))
    if port == "dynamic" and mode != "host":
        container["portMappings"] = [{"containerPort": 80, "hostPort": 0}]
    elif isinstance(port, int):
        container["portMappings"] = [{"containerPort": port, "hostPort": port}]
    if draw(st.booleans()):
        container["stopTimeout"] = draw(st.integers(2, 30))
    return {"family": family, "networkMode": mode, "containerDefinitions": [container]}


@st.composite
def scenarios(draw):
    duration = draw(st.integers(300, 1800))
    fleets = []
    for k in range(draw(st.integers(1, 4))):
        fleets.append({
            "name": f"f{k}",
            "instanceType": draw(st.sampled_from(TYPES)),
            "count": draw(st.integers(1, 4)),
            "availabilityZones": draw(st.lists(st.sampled_from(AZS), min_size=1, max_size=3, unique=True)),
        })
    n_services = draw(st.integers(1, 4))
    tds = [draw(task_definitions(f"svc{k}")) for k in range(n_services)] + [draw(task_definitions("batch"))]
    services = []
    for k in range(n_services):
        service = {
            "serviceName": f"svc{k}",
            "taskDefinition": f"svc{k}",
            "desiredCount": draw(st.integers(0, 6)),
            "deploymentConfiguration": {"maximumPercent": draw(st.sampled_from([100, 125, 150, 200])),
                                        "minimumHealthyPercent": draw(st.sampled_from([0, 50, 100]))},
        }
        strategy = draw(st.sampled_from(STRATEGIES))
        if strategy is not None:
            service["placementStrategy"] = strategy
        services.append(service)
    names = [s["serviceName"] for s in services]
    times = seconds(0, duration)
    workloads = []
    for k in range(draw(st.integers(0, 2))):
        workloads.append({
            "name": f"w{k}",
            "taskDefinition": "batch",
            "arrivals": {"type": "poisson", "rate": draw(st.floats(0.005, 0.1))},
            "duration": draw(st.sampled_from([{"type": "exponential", "mean": 60}, 30, {"type": "lognormal",
                                                                                          "median": 40,
                                                                                          "sigma": 0.8}])),
            "count": draw(st.integers(1, 3)),
            "placementStrategy": draw(st.sampled_from(STRATEGIES[:5])),
        })
    faults = []
    if draw(st.booleans()):
        faults.append({"type": "instanceFailure", "at": draw(st.lists(times, min_size=1, max_size=3)),
                       "select": {"count": draw(st.integers(1, 2))}})
    if draw(st.booleans()):
        start = draw(times)
        zones = sorted({az for fleet in fleets for az in fleet["availabilityZones"]})
        outage = {"type": "azOutage", "availabilityZone": draw(st.sampled_from(zones)), "start": start}
        if draw(st.booleans()):
            outage["end"] = round(start + draw(seconds(10, 600)), 3)
        faults.append(outage)
    for name in draw(st.lists(st.sampled_from(names), max_size=2, unique=True)):
        faults.append({"type": "taskCrash", "service": name, "meanTimeToCrash": draw(seconds(30, 900))})
    actions = []
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["updateService", "stopTask", "runTask", "terminateInstance"]))
        at = draw(times)
        if kind == "updateService":
            actions.append({"type": kind, "at": at, "service": draw(st.sampled_from(names)),
                            "desiredCount": draw(st.integers(0, 8))})
        elif kind == "stopTask":
            actions.append({"type": kind, "at": at, "service": draw(st.sampled_from(names)),
                            "count": draw(st.integers(1, 3))})
        elif kind == "runTask":
            actions.append({"type": kind, "at": at, "taskDefinition": "batch", "count": draw(st.integers(1, 4)),
                            "duration": draw(seconds(1, 300))})
        else:
            actions.append({"type": kind, "at": at, "select": {"count": 1}})
    reaction = draw(st.sampled_from(["cycle", "delay"]))
    timing = {
        "serviceReaction": ({"mode": "cycle", "period": draw(seconds(1, 30))} if reaction == "cycle"
                            else {"mode": "delay", "delay": draw(distributions(0, 20))}),
        "serviceLaunchRate": draw(st.sampled_from(["500/min", "1/s", "7/min", 0.3])),
        "serviceLaunchBurst": draw(st.integers(1, 5)),
        "placementRetry": {"initial": draw(seconds(1, 30)), "multiplier": draw(st.sampled_from([1.0, 2.0])),
                           "max": 120, "retryOnCapacityChange": draw(st.booleans())},
        "agentRegistration": draw(distributions(0, 60)),
        "eniAttach": draw(distributions(0, 6)),
        "eniDetach": draw(distributions(0, 6)),
        "imagePull": draw(distributions(0, 20)),
        "containerStart": draw(distributions(0, 4)),
        "containerStop": draw(distributions(0, 40)),
        "stopTimeout": draw(st.sampled_from([5, 30])),
    }
    return {
        "duration": duration,
        "warmStart": draw(st.booleans()),
        "cluster": {"fleets": fleets},
        "taskDefinitions": tds,
        "services": services,
        "workloads": workloads,
        "faults": faults,
        "actions": actions,
        "timing": timing,
    }


def simulate(scenario: dict, seed: int) -> ecssim.Result:
    note(repr(scenario))
    return ecssim.simulate(ecssim.load_scenario_dict(scenario), seed=seed)


SEEDS = st.integers(0, 2**32 - 1)


@given(scenarios(), SEEDS)
def test_ledgers_never_over_committed_and_ports_never_collide(scenario, seed):
    assert invariants.ledgers(simulate(scenario, seed)) == []


@given(scenarios(), SEEDS)
def test_every_task_ends_once_and_only_moves_forward(scenario, seed):
    res = simulate(scenario, seed)
    assert invariants.lifecycles(res) + invariants.timestamps_and_reasons(res) == []


@given(scenarios(), SEEDS)
def test_services_never_exceed_maximum_percent(scenario, seed):
    assert invariants.maximum_percent(simulate(scenario, seed)) == []


@given(scenarios(), SEEDS)
def test_tasks_only_placed_on_active_instances(scenario, seed):
    assert invariants.placement_targets(simulate(scenario, seed)) == []


@st.composite
def rolling_deployments(draw):
    """One service deploying a new revision: random size, bounds, LB or not, latencies, capacity."""
    desired = draw(st.integers(1, 8))
    minimum = draw(st.sampled_from([0, 25, 50, 75, 100]))
    maximum = draw(st.sampled_from([100, 125, 150, 200, 300]))
    instances = draw(st.integers(1, 4))
    service = {"serviceName": "web", "taskDefinition": "web:1", "desiredCount": desired,
               "deploymentConfiguration": {"minimumHealthyPercent": minimum, "maximumPercent": maximum}}
    if draw(st.booleans()):
        service["loadBalancers"] = [{"targetGroupArn": "tg", "containerName": "main"}]
    tds = [{"family": "web", "revision": r, "containerDefinitions": [
        {"name": "main", "image": f"web:{r}", "cpu": draw(st.sampled_from([128, 256, 512])), "memory": 256}]}
        for r in (1, 2)]
    scenario = {
        "duration": "3h", "warmStart": True,
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": instances,
                                "availabilityZones": ["a", "b"]}]},
        "taskDefinitions": tds, "services": [service],
        "targetGroups": [{"targetGroupArn": "tg", "healthCheckIntervalSeconds": draw(st.sampled_from([5, 10, 30])),
                          "deregistrationDelay": draw(st.sampled_from([0, 30, 300]))}],
        "actions": [{"type": "updateService", "at": draw(seconds(1, 600)), "service": "web",
                     "taskDefinition": "web:2"}],
        "timing": {"imagePull": draw(distributions(0, 20)), "containerStart": draw(distributions(0.5, 5)),
                   "containerStop": draw(distributions(0.5, 10)),
                   "serviceReaction": draw(st.sampled_from([{"mode": "cycle", "period": "15s"},
                                                            {"mode": "delay", "delay": draw(distributions(1, 40))}])),
                   "placementRetry": {"retryOnCapacityChange": draw(st.booleans())}},
    }
    return scenario, (desired, minimum, maximum)


@given(rolling_deployments(), st.integers(0, 2**16))
def test_deployments_never_exceed_their_bounds(case, seed):
    """Tasks not STOPPED stay <= floor(desired x max%); healthy tasks >= ceil(desired x min%) from the
    deployment on; a deployment whose bounds let a task move and whose tasks fit completes."""
    scenario, bounds = case
    note(repr(scenario))
    res = ecssim.simulate(ecssim.load_scenario_dict(scenario), seed=seed)
    assert invariants.deployment_bounds(res, {"web": bounds}) == []
    assert invariants.all_invariants(res) == []
    desired, minimum, maximum = bounds
    movable = desired * maximum // 100 > desired or -(-desired * minimum // 100) < desired
    fits = len(res.placement_failures) == 0
    if movable and fits:
        assert res.deployments.rollout_state.tolist() == ["COMPLETED", "COMPLETED"]
