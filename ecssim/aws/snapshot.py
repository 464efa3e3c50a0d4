"""Read a live ECS cluster through boto3: read-only, paginated calls, nothing else.

Everything the scenario needs is gathered into one :class:`ClusterSnapshot` of plain ECS and
Auto Scaling response objects; :mod:`ecssim.aws.to_scenario` turns it into a scenario without
touching the network, so the mapping can be tested on stored data. boto3 is imported only here,
when a snapshot is taken (the optional extra ``ecssim[aws]``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ..analysis.output import MissingExtraError

AWS_HINT = "importing a live cluster needs boto3: pip install 'ecssim[aws]'"

#: API batch limits: DescribeContainerInstances and DescribeTasks take 100 ids, DescribeServices 10,
#: DescribeCapacityProviders 100 names, DescribeAutoScalingGroups 100 names (AWS API references).
DESCRIBE_BATCH = {"container_instances": 100, "tasks": 100, "services": 10, "capacity_providers": 100,
                  "auto_scaling_groups": 100}

#: ClientError codes that mean the caller lacks an IAM permission.
ACCESS_DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation",
                                 "UnrecognizedClientException", "InvalidClientTokenId",
                                 "ExpiredTokenException", "AuthFailure"})

#: IAM actions the import needs (README "Importing a live cluster").
IAM_ACTIONS = ("ecs:DescribeClusters", "ecs:ListContainerInstances", "ecs:DescribeContainerInstances",
               "ecs:ListTasks", "ecs:DescribeTasks", "ecs:ListServices", "ecs:DescribeServices",
               "ecs:DescribeTaskDefinition", "ecs:DescribeCapacityProviders",
               "autoscaling:DescribeAutoScalingGroups")


class SnapshotError(ValueError):
    """The cluster could not be read: no credentials or region, a missing permission, no such cluster."""


@dataclass
class ClusterSnapshot:
    """What the ECS and Auto Scaling APIs reported about one cluster, as they reported it."""

    cluster: dict[str, Any]
    region: str
    taken_at: datetime
    container_instances: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    services: list[dict[str, Any]] = field(default_factory=list)
    task_definitions: list[dict[str, Any]] = field(default_factory=list)
    capacity_providers: list[dict[str, Any]] = field(default_factory=list)
    auto_scaling_groups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def account(self) -> str:
        """The account id, from the cluster's ARN (no STS call needed)."""
        parts = str(self.cluster.get("clusterArn", "")).split(":")
        return parts[4] if len(parts) > 4 else "unknown"


def boto3_module():  # noqa: ANN201 - the module
    """The ``boto3`` module, or :class:`MissingExtraError` naming the extra to install."""
    try:
        import boto3
    except ImportError as error:
        raise MissingExtraError(AWS_HINT) from error
    return boto3


def make_session(region: str | None = None, profile: str | None = None):  # noqa: ANN201 - a boto3 Session
    """A boto3 session for ``profile`` and ``region`` (their defaults: the environment's)."""
    boto3 = boto3_module()
    from botocore.exceptions import ProfileNotFound

    try:
        return boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as error:
        raise SnapshotError(f"AWS profile not found: {error}") from error


def _batches(items: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _paginate(client, operation: str, key: str, **kwargs: Any) -> list[str]:  # noqa: ANN001
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def _asg_name(arn_or_name: str) -> str:
    """The group name of an Auto Scaling group ARN (``...:autoScalingGroupName/NAME``) or name."""
    match = re.search(r"autoScalingGroupName/(.+)$", arn_or_name)
    return match.group(1) if match else arn_or_name


def _describe_cluster(ecs, name: str) -> dict[str, Any]:  # noqa: ANN001
    response = ecs.describe_clusters(clusters=[name])
    clusters = response.get("clusters", [])
    if not clusters:
        reasons = ", ".join(f.get("reason", "?") for f in response.get("failures", [])) or "not found"
        raise SnapshotError(f"cluster {name!r} not found in {ecs.meta.region_name} ({reasons}); "
                            "check --cluster and --region")
    cluster = clusters[0]
    if cluster.get("status") != "ACTIVE":
        raise SnapshotError(f"cluster {name!r} is {cluster.get('status')}, not ACTIVE; nothing to import")
    return cluster


def _read(session, name: str) -> ClusterSnapshot:  # noqa: ANN001
    ecs = session.client("ecs")
    cluster = _describe_cluster(ecs, name)
    arn = cluster["clusterArn"]
    snap = ClusterSnapshot(cluster=cluster, region=ecs.meta.region_name, taken_at=datetime.now(UTC))
    for batch in _batches(_paginate(ecs, "list_container_instances", "containerInstanceArns", cluster=arn),
                          DESCRIBE_BATCH["container_instances"]):
        snap.container_instances += ecs.describe_container_instances(
            cluster=arn, containerInstances=batch)["containerInstances"]
    for batch in _batches(_paginate(ecs, "list_tasks", "taskArns", cluster=arn, desiredStatus="RUNNING"),
                          DESCRIBE_BATCH["tasks"]):
        snap.tasks += ecs.describe_tasks(cluster=arn, tasks=batch)["tasks"]
    for batch in _batches(_paginate(ecs, "list_services", "serviceArns", cluster=arn), DESCRIBE_BATCH["services"]):
        snap.services += ecs.describe_services(cluster=arn, services=batch)["services"]
    definitions = {t["taskDefinitionArn"] for t in snap.tasks} | {
        s["taskDefinition"] for s in snap.services if s.get("taskDefinition")}
    for definition in sorted(definitions):
        snap.task_definitions.append(ecs.describe_task_definition(taskDefinition=definition)["taskDefinition"])
    names = [p for p in cluster.get("capacityProviders", []) if p not in ("FARGATE", "FARGATE_SPOT")]
    for batch in _batches(names, DESCRIBE_BATCH["capacity_providers"]):
        snap.capacity_providers += [p for p in ecs.describe_capacity_providers(capacityProviders=batch)
                                    ["capacityProviders"] if p.get("autoScalingGroupProvider")]
    groups = sorted({_asg_name(p["autoScalingGroupProvider"]["autoScalingGroupArn"])
                     for p in snap.capacity_providers})
    if groups:
        autoscaling = session.client("autoscaling")
        for batch in _batches(groups, DESCRIBE_BATCH["auto_scaling_groups"]):
            snap.auto_scaling_groups += _paginate(autoscaling, "describe_auto_scaling_groups",
                                                  "AutoScalingGroups", AutoScalingGroupNames=batch)
    return snap


def read_cluster(cluster: str, session=None, region: str | None = None,  # noqa: ANN001
                 profile: str | None = None) -> ClusterSnapshot:
    """Read cluster ``cluster`` with read-only, paginated ECS and Auto Scaling calls.

    ``session``: a boto3 Session (default: one for ``profile`` and ``region``).

    Raises:
        SnapshotError: no credentials or region, a missing permission, no such (ACTIVE) cluster.
        MissingExtraError: boto3 is not installed.
    """
    boto3_module()
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        NoCredentialsError,
        NoRegionError,
        PartialCredentialsError,
    )

    if session is None:
        session = make_session(region, profile)
    elif region is not None and session.region_name != region:
        raise SnapshotError(f"the session's region {session.region_name} is not --region {region}")
    try:
        return _read(session, cluster)
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise SnapshotError(f"no AWS credentials found ({error}); configure them (aws configure, "
                            "AWS_PROFILE or AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY) or pass --profile") from error
    except NoRegionError as error:
        raise SnapshotError("no AWS region given; pass --region or set AWS_REGION / AWS_DEFAULT_REGION") from error
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", str(error))
        operation = getattr(error, "operation_name", "?")
        if code == "ClusterNotFoundException":
            raise SnapshotError(f"cluster {cluster!r} not found ({message}); check --cluster and --region") from error
        if code in ACCESS_DENIED_CODES:
            raise SnapshotError(f"{operation} refused ({code}: {message}); the import needs read-only access: "
                                f"{', '.join(IAM_ACTIONS)}") from error
        raise SnapshotError(f"{operation} failed: {code}: {message}") from error
    except BotoCoreError as error:
        raise SnapshotError(f"cannot reach AWS: {error}") from error
