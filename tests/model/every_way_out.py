"""A scenario that packs every way an instance leaves or is held into six simulated hours.

Failures hung and terminated, an AZ outage with rebalancing, Spot notices with draining,
agent disconnects, operator drains, re-activations and terminations, capacity-provider
scale-in with managed draining (termination protection off, so busy instances are drained),
a DAEMON service whose tasks crash, service crashes and scaling. Used where a property must
hold however instances come and go (the invariants, slot compaction). Also random scenarios
where deployments, health checks and task faults meet the same churn.
"""

from __future__ import annotations

import numpy as np

WEB = {"family": "web", "containerDefinitions": [{"name": "web", "image": "web", "cpu": 512, "memory": 1024}]}
LOG = {"family": "log", "containerDefinitions": [{"name": "log", "image": "log", "cpu": 64, "memory": 128}]}
BATCH = {"family": "batch", "containerDefinitions": [{"name": "b", "image": "b", "cpu": 256, "memory": 512}]}

EVERY_WAY_OUT = {
    "duration": "6h",
    "warmStart": True,
    "cluster": {"fleets": [
        {"name": "od", "instanceType": "m5.large", "count": 6, "minSize": 0, "maxSize": 12,
         "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"], "launchDelay": 120},
        {"name": "spot", "instanceType": "m5.large", "count": 4, "market": "spot", "spotInstanceDraining": True,
         "availabilityZones": ["us-east-1a", "us-east-1b"]},
    ]},
    "capacityProviders": [{"name": "cp", "autoScalingGroupProvider": {
        "autoScalingGroupArn": "od", "managedDraining": "ENABLED", "managedTerminationProtection": "DISABLED",
        "managedScaling": {"status": "ENABLED", "targetCapacity": 100}}}],
    "taskDefinitions": [WEB, LOG, BATCH],
    "services": [
        {"serviceName": "web", "taskDefinition": "web", "desiredCount": 10,
         "capacityProviderStrategy": [{"capacityProvider": "cp", "weight": 1}]},
        {"serviceName": "log", "taskDefinition": "log", "schedulingStrategy": "DAEMON"},
        {"serviceName": "batch", "taskDefinition": "batch", "desiredCount": 6, "launchType": "EC2",
         "placementConstraints": [{"type": "memberOf", "expression": "attribute:ecs.os-type == linux"}]},
    ],
    "faults": [
        {"type": "instanceFailure", "name": "hung", "timeToFailure": {"type": "exponential", "mean": "3h"},
         "select": {"fleet": "od"}, "mode": "impaired", "terminateAfter": "15m"},
        {"type": "instanceFailure", "name": "lost", "timeToFailure": {"type": "exponential", "mean": "4h"},
         "select": {"fleet": "spot"}},
        {"type": "agentDisconnect", "name": "flaky", "at": ["30m", "90m", "4h"], "select": {"count": 2},
         "duration": "25m"},
        {"type": "spotInterruption", "name": "reclaim", "at": ["1h", "130m", "5h"]},
        {"type": "azOutage", "name": "outage", "availabilityZone": "us-east-1b", "start": "2h", "end": "3h"},
        {"type": "taskCrash", "name": "crash", "service": "web", "meanTimeToCrash": "1h"},
        {"type": "taskCrash", "name": "daemon-crash", "service": "log", "meanTimeToCrash": "20m"},
    ],
    "actions": [
        {"type": "drainInstance", "name": "drain", "at": "40m", "select": {"count": 1}},
        {"type": "activateInstance", "name": "undrain", "at": "55m", "select": {"count": 1}},
        {"type": "terminateInstance", "name": "kill", "at": "70m", "select": {"count": 1}},
        {"type": "updateService", "name": "down", "at": "210m", "service": "web", "desiredCount": 3},
        {"type": "updateService", "name": "up", "at": "280m", "service": "web", "desiredCount": 12},
    ],
}


_TARGET_GROUP = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web/6d0ecf831eec9f09"
def _web(revision: int, image: str, health_check: bool = False, reservation: int | None = None) -> dict:
    container = {"name": "app", "image": image, "cpu": 512, "memory": 1024,
                 "portMappings": [{"containerPort": 8080, "hostPort": 0}]}
    if reservation:
        container["memoryReservation"] = reservation
    if health_check:
        container["healthCheck"] = {"command": ["CMD-SHELL", "true"], "interval": 10, "retries": 3}
    return {"family": "web", "revision": revision, "containerDefinitions": [container]}

def deployments_under_churn(seed: int) -> dict:
    """Deployments (circuit breaker, rollbacks), load-balancer and container health checks, OOM
    kills, failed starts and start contention while instances fail, disconnect, drain and an
    AZ goes down; sizes, means, modes and times drawn from ``seed``."""
    r = np.random.default_rng(seed)
    d = {
        "duration": "5h", "warmStart": bool(r.integers(2)),
        "cluster": {"fleets": [{"name": "main", "instanceType": "m5.large", "count": int(r.integers(3, 9)),
                                "availabilityZones": ["us-east-1a", "us-east-1b", "us-east-1c"]}]},
        "taskDefinitions": [_web(1, "web:1", health_check=bool(r.integers(2))), _web(2, "web:2", reservation=512),
                            {"family": "w", "containerDefinitions": [{"name": "w", "image": "w", "cpu": 256,
                             "memory": 512, "healthCheck": {"command": ["CMD-SHELL", "true"], "interval": 10, "retries": 2}}]}],
        "targetGroups": [{"targetGroupArn": _TARGET_GROUP, "healthCheckIntervalSeconds": int(r.choice([5, 30])),
                          "healthyThresholdCount": int(r.integers(2, 6)), "unhealthyThresholdCount": 2,
                          "deregistrationDelay": f"{int(r.choice([0, 30, 300]))}s"}],
        "services": [
            {"serviceName": "web", "taskDefinition": "web:1", "desiredCount": int(r.integers(2, 12)),
             "loadBalancers": [{"targetGroupArn": _TARGET_GROUP, "containerName": "app", "containerPort": 8080}],
             "deploymentConfiguration": {"maximumPercent": int(r.choice([100, 150, 200])),
                                         "minimumHealthyPercent": int(r.choice([0, 50, 100])),
                                         "deploymentCircuitBreaker": {"enable": bool(r.integers(2)), "rollback": bool(r.integers(2))}}},
            {"serviceName": "w", "taskDefinition": "w", "desiredCount": int(r.integers(1, 8))},
        ],
        "faults": [
            {"type": "healthCheckFailure", "service": "web", "timeToFailure": {"type": "exponential", "mean": f"{int(r.integers(20, 200))}m"}},
            {"type": "healthCheckFailure", "service": "w", "timeToFailure": {"type": "exponential", "mean": f"{int(r.integers(20, 200))}m"}},
            {"type": "failedStart", "name": "bad", "taskDefinition": "web:2", "probability": float(r.choice([0.3, 1.0]))},
            {"type": "memoryUse", "name": "leak", "service": "web", "usage": {"type": "lognormal", "median": "0.9 GiB", "sigma": 0.2}, "ramp": "1h"},
            {"type": "taskCrash", "service": "w", "meanTimeToCrash": f"{int(r.integers(10, 120))}m"},
            {"type": "instanceFailure", "name": "f", "timeToFailure": {"type": "exponential", "mean": f"{int(r.integers(60, 600))}m"},
             "mode": str(r.choice(["terminated", "impaired"])), "terminateAfter": f"{int(r.integers(1, 30))}m"},
            {"type": "agentDisconnect", "at": [f"{int(r.integers(5, 290))}m"], "select": {"count": 1}, "duration": f"{int(r.integers(1, 40))}m"},
            {"type": "azOutage", "availabilityZone": "us-east-1c", "start": f"{int(r.integers(30, 200))}m", "end": f"{int(r.integers(201, 280))}m",
             "mode": str(r.choice(["terminated", "impaired"]))},
        ],
        "actions": [
            {"type": "updateService", "name": "deploy2", "at": f"{int(r.integers(5, 100))}m", "service": "web", "taskDefinition": "web:2"},
            {"type": "updateService", "name": "deploy1", "at": f"{int(r.integers(100, 250))}m", "service": "web", "taskDefinition": "web:1",
             "desiredCount": int(r.integers(1, 14))},
            {"type": "stopTask", "name": "stop", "at": f"{int(r.integers(5, 290))}m", "service": "w", "count": 2},
            {"type": "drainInstance", "name": "drain", "at": f"{int(r.integers(5, 290))}m", "select": {"count": 1}},
        ],
        "timing": {"containerStartContention": {"slowdown": float(r.choice([0.0, 0.3])), "scope": str(r.choice(["instance", "cluster"]))}},
    }
    if d["faults"][5]["mode"] == "terminated":
        del d["faults"][5]["terminateAfter"]
    if d["faults"][7]["mode"] == "impaired":
        d["faults"][7]["terminateAfter"] = f"{int(r.integers(1, 30))}m"
    return d
