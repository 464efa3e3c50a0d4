"""From a :class:`ClusterSnapshot` to a scenario that starts in the cluster's current state.

Pure: no network. Container instances are grouped into fleets, one per (Auto Scaling group or
``unmanaged``, instance type, AZ, registered CPU and memory, custom attributes), so every
instance keeps its AZ and the resources it registered; the tasks running on them become
``initialTasks`` naming (fleet, index); task definitions, services and capacity providers are
pasted in as ECS gave them (README "Importing a live cluster").
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from .snapshot import ClusterSnapshot, _asg_name

#: Attribute name prefixes that ECS sets itself; the rest are custom attributes.
BUILTIN_ATTRIBUTE_PREFIXES = ("ecs.", "com.amazonaws.ecs.")

#: Container-instance statuses imported (REGISTERING, DEREGISTERING... hold no tasks to speak of).
IMPORTED_STATUSES = ("ACTIVE", "DRAINING")

#: Task lastStatus values that hold resources on their instance: imported as running tasks.
PLACED_STATUSES = ("PENDING", "ACTIVATING", "RUNNING")

#: Fields of a describe-services object left out of the scenario (history, not configuration).
DROPPED_SERVICE_FIELDS = ("events",)


@dataclass
class ImportedCluster:
    """A scenario dict made from a snapshot, and the header lines that say where it came from."""

    scenario: dict[str, Any]
    header: list[str]
    warnings: list[str] = field(default_factory=list)

    def to_yaml(self) -> str:
        """The scenario file: header comments, then the scenario."""
        import yaml

        body = yaml.safe_dump(self.scenario, sort_keys=False, default_flow_style=False, width=110)
        lines = self.header + [f"# warning: {w}" for w in self.warnings]
        return "\n".join(lines) + "\n" + body


def plain(value: Any) -> Any:
    """YAML-safe values: datetimes as ISO 8601 strings, tuples as lists."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items() if k != "ResponseMetadata"}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _resource(instance: dict[str, Any], which: str, name: str) -> int:
    for resource in instance.get(which, []):
        if resource.get("name") == name:
            return int(resource.get("integerValue", 0))
    return 0


def _attributes(instance: dict[str, Any]) -> dict[str, str]:
    """An instance's attributes, name to value ("" for a value-less attribute)."""
    return {a["name"]: str(a.get("value", "")) for a in instance.get("attributes", [])}


def _custom(attributes: dict[str, str]) -> dict[str, str]:
    return {k: attributes[k] for k in sorted(attributes) if not k.startswith(BUILTIN_ATTRIBUTE_PREFIXES)}


def task_definition_name(arn: str) -> str:
    """``family:revision`` of a task definition ARN (or the name itself)."""
    return arn.rsplit("/", 1)[-1]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "fleet"


@dataclass
class _Fleet:
    key: tuple
    group: str
    instance_type: str
    az: str
    cpu: int
    memory: int
    attributes: dict[str, str]
    instances: list[dict[str, Any]] = field(default_factory=list)
    name: str = ""


def _instance_groups(snap: ClusterSnapshot) -> dict[str, str]:
    """EC2 instance id -> name of the capacity-provider Auto Scaling group holding it."""
    return {i["InstanceId"]: g["AutoScalingGroupName"] for g in snap.auto_scaling_groups for i in g.get("Instances", [])}


def _fleets(snap: ClusterSnapshot, warnings: list[str]) -> list[_Fleet]:
    groups = _instance_groups(snap)
    fleets: dict[tuple, _Fleet] = {}
    for instance in snap.container_instances:
        status = instance.get("status")
        if status not in IMPORTED_STATUSES:
            warnings.append(f"container instance {instance.get('ec2InstanceId')} is {status}: left out")
            continue
        if status == "DRAINING":
            warnings.append(f"container instance {instance.get('ec2InstanceId')} is DRAINING: imported as ACTIVE")
        attributes = _attributes(instance)
        custom = _custom(attributes)
        fleet = _Fleet(
            key=(), group=groups.get(instance.get("ec2InstanceId", ""), "unmanaged"),
            instance_type=attributes.get("ecs.instance-type", ""), az=attributes.get("ecs.availability-zone", ""),
            cpu=_resource(instance, "registeredResources", "CPU"),
            memory=_resource(instance, "registeredResources", "MEMORY"), attributes=custom)
        fleet.key = (fleet.group, fleet.instance_type, fleet.az, fleet.cpu, fleet.memory, tuple(custom.items()))
        fleets.setdefault(fleet.key, fleet).instances.append(instance)
    ordered = [fleets[key] for key in sorted(fleets)]
    used: Counter[str] = Counter()
    for fleet in ordered:
        fleet.instances.sort(key=lambda i: (i.get("ec2InstanceId", ""), i.get("containerInstanceArn", "")))
        base = _slug(f"{fleet.group}-{fleet.instance_type}-{fleet.az}")
        used[base] += 1
        fleet.name = base if used[base] == 1 else f"{base}-{used[base]}"
    return ordered


def _fleet_entry(fleet: _Fleet) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": fleet.name, "instanceType": fleet.instance_type, "count": len(fleet.instances),
                             "availabilityZones": [fleet.az], "registeredCpu": fleet.cpu,
                             "registeredMemory": fleet.memory}
    if fleet.attributes:
        entry["attributes"] = dict(fleet.attributes)
    return entry


def _size_groups(entries: list[dict[str, Any]], fleets: list[_Fleet], snap: ClusterSnapshot,
                 warnings: list[str]) -> dict[str, str]:
    """Set minSize/maxSize from each Auto Scaling group; return group name -> the fleet that stands for it."""
    first: dict[str, str] = {}
    for group in snap.auto_scaling_groups:
        name = group["AutoScalingGroupName"]
        mine = [(e, f) for e, f in zip(entries, fleets, strict=True) if f.group == name]
        if not mine:
            warnings.append(f"Auto Scaling group {name} has no registered container instance: its capacity "
                            "provider is left out")
            continue
        entry = mine[0][0]
        first[name] = entry["name"]
        others = sum(e["count"] for e, _ in mine[1:])
        if len(mine) > 1:
            warnings.append(f"Auto Scaling group {name} spans {len(mine)} fleets ({', '.join(e['name'] for e, _ in mine)})"
                            f": its capacity provider takes over the first, {entry['name']}; the others keep their size")
        minimum, maximum = int(group.get("MinSize", 0)), int(group.get("MaxSize", entry["count"]))
        entry["minSize"] = min(minimum, entry["count"])
        entry["maxSize"] = max(maximum - others, entry["count"])
        if entry["minSize"] != minimum or entry["maxSize"] + others != maximum:
            warnings.append(f"Auto Scaling group {name}: MinSize {minimum} / MaxSize {maximum} clamped to "
                            f"{entry['minSize']} / {entry['maxSize']} around its {entry['count']} registered instances")
        desired = group.get("DesiredCapacity")
        if desired is not None and int(desired) != entry["count"] + others:
            warnings.append(f"Auto Scaling group {name} wants {desired} instances; {entry['count'] + others} are "
                            "registered in the cluster (the fleets start with those)")
    return first


def _capacity_providers(snap: ClusterSnapshot, fleet_of_group: dict[str, str]) -> list[dict[str, Any]]:
    providers = []
    for provider in sorted(snap.capacity_providers, key=lambda p: p["name"]):
        group = _asg_name(provider["autoScalingGroupProvider"]["autoScalingGroupArn"])
        if group not in fleet_of_group:
            continue
        entry = plain(provider)
        entry["autoScalingGroupProvider"]["autoScalingGroupArn"] = fleet_of_group[group]
        providers.append(entry)
    return providers


def _initial_tasks(snap: ClusterSnapshot, fleets: list[_Fleet], services: dict[str, str],
                   warnings: list[str]) -> tuple[list[dict[str, Any]], Counter[str]]:
    """The placed tasks as initialTasks entries, and counts of the tasks left out by reason.

    ``services``: service name -> schedulingStrategy. A DAEMON service's tasks are left out: its
    scheduler starts them with their instances (warmStart)."""
    where = {i["containerInstanceArn"]: (f.name, n) for f in fleets for n, i in enumerate(f.instances)}
    order = {f.name: k for k, f in enumerate(fleets)}
    counts: Counter[tuple] = Counter()
    skipped: Counter[str] = Counter()
    for task in snap.tasks:
        if task.get("launchType") == "FARGATE" or (not task.get("containerInstanceArn")
                                                   and str(task.get("capacityProviderName", "")).startswith("FARGATE")):
            skipped["fargate"] += 1
            continue
        if task.get("lastStatus") not in PLACED_STATUSES:
            skipped[str(task.get("lastStatus", "unknown")).lower()] += 1
            continue
        place = where.get(task.get("containerInstanceArn", ""))
        if place is None:
            skipped["elsewhere"] += 1
            continue
        definition = task_definition_name(task["taskDefinitionArn"])
        group = str(task.get("group", ""))
        service = group.removeprefix("service:") if group.startswith("service:") else ""
        if service and service not in services:
            service = ""
        if service and services[service] == "DAEMON":
            skipped["daemon"] += 1
            continue
        counts[(order[place[0]], place[1], place[0], definition, service, "" if service else group)] += 1
    tasks = []
    for (_, index, fleet, definition, service, group), count in sorted(counts.items()):
        entry: dict[str, Any] = {"taskDefinition": definition, "fleet": fleet, "instance": index}
        if service:
            entry["service"] = service
        elif group and group != f"family:{definition.split(':')[0]}":
            entry["group"] = group
        if count > 1:
            entry["count"] = count
        tasks.append(entry)
    if skipped["elsewhere"]:
        warnings.append(f"{skipped['elsewhere']} task(s) on container instances left out were not imported")
    return tasks, skipped


def to_scenario(snap: ClusterSnapshot, duration: str = "1h") -> ImportedCluster:
    """The scenario of ``snap``: fleets, capacity providers, task definitions, services and the
    tasks running now (``initialTasks``), with ``warmStart`` so it starts in this state."""
    warnings: list[str] = []
    name = snap.cluster["clusterName"]
    fleets = _fleets(snap, warnings)
    entries = [_fleet_entry(f) for f in fleets]
    fleet_of_group = _size_groups(entries, fleets, snap, warnings)
    services = [{k: v for k, v in plain(s).items() if k not in DROPPED_SERVICE_FIELDS}
                for s in sorted(snap.services, key=lambda s: s["serviceName"]) if s.get("status") == "ACTIVE"]
    initial, skipped = _initial_tasks(
        snap, fleets, {s["serviceName"]: s.get("schedulingStrategy", "REPLICA") for s in services}, warnings)
    cluster: dict[str, Any] = {"name": name, "fleets": entries}
    if snap.cluster.get("defaultCapacityProviderStrategy"):
        cluster["defaultCapacityProviderStrategy"] = plain(snap.cluster["defaultCapacityProviderStrategy"])
    scenario: dict[str, Any] = {
        "name": f"{name}-snapshot",
        "description": f"Snapshot of ECS cluster {name} ({snap.region}) taken {_stamp(snap.taken_at)}.",
        "duration": duration, "warmStart": True, "cluster": cluster}
    providers = _capacity_providers(snap, fleet_of_group)
    if providers:
        scenario["capacityProviders"] = providers
    scenario["taskDefinitions"] = [plain(d) for d in sorted(
        snap.task_definitions, key=lambda d: (d["family"], int(d.get("revision", 0))))]
    scenario["services"] = services
    if initial:
        scenario["initialTasks"] = initial
    placed = sum(t.get("count", 1) for t in initial)
    others = ", ".join(f"{n} {k}" for k, n in sorted(skipped.items()) if k not in ("fargate", "elsewhere", "daemon"))
    header = [
        f"# ecssim import-cluster: cluster {name} in {snap.region} (account {snap.account}), "
        f"taken {_stamp(snap.taken_at)}",
        f"# {len(snap.container_instances)} container instance(s) in {len(fleets)} fleet(s); {placed} task(s) "
        f"placed where they run; {skipped['fargate']} Fargate task(s) (started again by warmStart from their "
        f"services' desiredCount); {skipped['daemon']} DAEMON service task(s) (started again with their instances); "
        f"{len(services)} service(s)" + (f"; not imported: {others}" if others else ""),
    ]
    return ImportedCluster(scenario, header, warnings)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
