"""Any generated scenario that validates must also run: ``simulate`` then ``summary()`` without
an exception. Scenarios are small (1-3 fleets of 1-4 instances, 1-3 task definitions, duration
at most 1 h) and mix the features the scenario format has: services, workloads, faults, actions.
Examples that do not validate are skipped (``assume``): the loader's own fuzz test covers those.
"""

from __future__ import annotations

from typing import Any

from hypothesis import assume, given
from hypothesis import strategies as st

from ecssim import simulate
from ecssim.scenario import ScenarioError, load_scenario_dict

AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]
TYPES = ["t3.medium", "m5.large", "c5.xlarge", "r5.large"]
MINUTES = st.integers(0, 60).map(lambda m: f"{m}m")
DURATIONS = st.one_of(
    st.integers(1, 1800),
    st.builds(lambda lo, width: {"type": "uniform", "low": lo, "high": lo + width}, st.integers(0, 600),
              st.integers(1, 600)),
    st.builds(lambda mean: {"type": "exponential", "mean": mean}, st.integers(1, 1800)),
    st.builds(lambda med, sigma: {"type": "lognormal", "median": med, "sigma": sigma}, st.integers(1, 900),
              st.floats(0, 2)),
)
STRATEGIES = st.sampled_from([
    None,
    [{"type": "binpack", "field": "memory"}],
    [{"type": "spread", "field": "attribute:ecs.availability-zone"}, {"type": "binpack", "field": "cpu"}],
    [{"type": "random"}],
    [{"type": "spread", "field": "instanceId"}],
])


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    """A small scenario mixing the format's features; some are invalid (ports, references)."""
    fleets = [
        {"name": f"f{i}", "instanceType": draw(st.sampled_from(TYPES)), "count": draw(st.integers(1, 4)),
         "availabilityZones": draw(st.lists(st.sampled_from(AZS), min_size=1, max_size=3, unique=True)),
         "market": draw(st.sampled_from(["on-demand", "spot"]))}
        for i in range(draw(st.integers(1, 3)))
    ]
    families = [f"td{i}" for i in range(draw(st.integers(1, 3)))]
    task_definitions = []
    for family in families:
        container: dict[str, Any] = {"name": "c", "image": "img", "cpu": draw(st.sampled_from([0, 128, 512, 1024])),
                                     "memory": draw(st.sampled_from([64, 256, 1024, 3000]))}
        if draw(st.booleans()):
            container["portMappings"] = [{"containerPort": 80, "hostPort": draw(st.sampled_from([0, 80]))}]
        task_definitions.append({"family": family, "containerDefinitions": [container]})
    services = [
        {"serviceName": f"s{i}", "taskDefinition": draw(st.sampled_from(families)),
         "desiredCount": draw(st.integers(0, 6)), "placementStrategy": draw(STRATEGIES),
         "deploymentConfiguration": {"maximumPercent": draw(st.sampled_from([100, 150, 200])),
                                     "minimumHealthyPercent": draw(st.sampled_from([0, 50, 100]))}}
        for i in range(draw(st.integers(0, 3)))
    ]
    for service in services:
        if service["placementStrategy"] is None:
            del service["placementStrategy"]
    workloads = [
        {"name": f"w{i}", "taskDefinition": draw(st.sampled_from(families)), "duration": draw(DURATIONS),
         "count": draw(st.integers(1, 3)),
         "arrivals": draw(st.one_of(
             st.builds(lambda r: {"type": "poisson", "rate": f"{r}/h"}, st.integers(1, 120)),
             st.builds(lambda at: {"type": "schedule", "at": at}, st.lists(MINUTES, min_size=1, max_size=4)),
         ))}
        for i in range(draw(st.integers(0, 2)))
    ]
    names = [s["serviceName"] for s in services]
    fault_choices = [
        st.builds(lambda at: {"type": "instanceFailure", "at": [at], "select": {"count": 1}}, MINUTES),
        st.builds(lambda az, start, mode: {"type": "azOutage", "availabilityZone": az, "start": start,
                                           "end": "59m", "mode": mode},
                  st.sampled_from(AZS), MINUTES, st.sampled_from(["terminated", "impaired"])),
        st.builds(lambda at: {"type": "agentDisconnect", "at": [at], "duration": "5m"}, MINUTES),
    ]
    if names:
        fault_choices += [
            st.builds(lambda s, m: {"type": "taskCrash", "service": s, "meanTimeToCrash": m},
                      st.sampled_from(names), st.sampled_from(["5m", "30m"])),
            st.builds(lambda s, p: {"type": "failedStart", "service": s, "probability": p},
                      st.sampled_from(names), st.sampled_from([0.1, 0.5, 1.0])),
        ]
    faults = draw(st.lists(st.one_of(*fault_choices), max_size=2))
    action_choices = [
        st.builds(lambda at, f: {"type": "runTask", "at": at, "taskDefinition": f, "count": 2, "duration": 300},
                  MINUTES, st.sampled_from(families)),
        st.builds(lambda at: {"type": "terminateInstance", "at": at, "select": {"count": 1}}, MINUTES),
        st.builds(lambda at: {"type": "drainInstance", "at": at, "select": {"count": 1}}, MINUTES),
    ]
    if names:
        action_choices += [
            st.builds(lambda at, s, n: {"type": "updateService", "at": at, "service": s, "desiredCount": n},
                      MINUTES, st.sampled_from(names), st.integers(0, 8)),
            st.builds(lambda at, s: {"type": "updateService", "at": at, "service": s, "forceNewDeployment": True},
                      MINUTES, st.sampled_from(names)),
            st.builds(lambda at, s: {"type": "stopTask", "at": at, "service": s}, MINUTES, st.sampled_from(names)),
        ]
    actions = draw(st.lists(st.one_of(*action_choices), max_size=3))
    return {
        "duration": draw(st.sampled_from(["10m", "30m", "1h"])),
        "warmStart": draw(st.booleans()),
        "cluster": {"fleets": fleets},
        "taskDefinitions": task_definitions,
        "services": services,
        "workloads": workloads,
        "faults": faults,
        "actions": actions,
    }


@given(scenarios(), st.integers(0, 3))
def test_a_scenario_that_validates_runs(data: dict[str, Any], seed: int) -> None:
    try:
        scenario = load_scenario_dict(data, source="fuzz")
    except ScenarioError:
        assume(False)
        return
    result = simulate(scenario, seed=seed)
    summary = result.summary()
    assert summary
