"""A scenario that packs every way an instance leaves or is held into six simulated hours.

Failures hung and terminated, an AZ outage with rebalancing, Spot notices with draining,
agent disconnects, operator drains, re-activations and terminations, capacity-provider
scale-in with managed draining (termination protection off, so busy instances are drained),
a DAEMON service whose tasks crash, service crashes and scaling. Used where a property must
hold however instances come and go (the invariants, slot compaction).
"""

from __future__ import annotations

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
