"""``ecssim import-cluster`` against moto: a cluster built with boto3 calls, snapshotted, loaded,
validated and simulated; its state at t=0 must be moto's.

Without moto the tests are skipped, except in CI (``CI=true``), where the test extra installs it
and a missing moto fails them.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

try:
    import boto3
    from moto import mock_aws
    from moto.moto_api import state_manager
except ImportError as error:  # pragma: no cover - depends on the environment
    if os.environ.get("CI") == "true":
        raise ImportError(f"CI needs moto and boto3 (the test extra installs them): {error}") from error
    pytest.skip(f"moto/boto3 not installed: {error}", allow_module_level=True)

from click.testing import CliRunner

import ecssim
from ecssim.aws import MARKER, SnapshotError, import_cluster, snapshot, write_snapshot
from ecssim.cli import main

REGION = "us-east-1"


@pytest.fixture
def aws(monkeypatch):  # noqa: ANN001, ANN201
    """A mocked AWS account (fake credentials) whose ECS tasks stay RUNNING when described."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(name, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 1_000_000})
    with mock_aws():
        yield boto3.Session(region_name=REGION)
    state_manager.unset_transition("ecs::task")


def _register(ecs, ec2, instance_ids: list[str]) -> list[str]:  # noqa: ANN001
    """Register EC2 instances as container instances of cluster prod (as the agent does)."""
    arns = []
    reservations = ec2.describe_instances(InstanceIds=instance_ids)["Reservations"]
    for instance in sorted((i for r in reservations for i in r["Instances"]), key=lambda i: i["InstanceId"]):
        document = {"instanceId": instance["InstanceId"], "region": REGION, "instanceType": instance["InstanceType"],
                    "availabilityZone": instance["Placement"]["AvailabilityZone"]}
        arns.append(ecs.register_container_instance(cluster="prod", instanceIdentityDocument=json.dumps(document))
                    ["containerInstance"]["containerInstanceArn"])
    return arns


def _run_instance(ec2, ami: str, instance_type: str, az: str) -> str:  # noqa: ANN001
    return ec2.run_instances(ImageId=ami, MinCount=1, MaxCount=1, InstanceType=instance_type,
                             Placement={"AvailabilityZone": az})["Instances"][0]["InstanceId"]


def build_cluster(session) -> dict:  # noqa: ANN001
    """Cluster prod: 2 m5.large of Auto Scaling group web-asg (capacity provider web-cp), one in us-east-1a
    and one in us-east-1b, unmanaged c5.xlarge in us-east-1b and us-east-1c (custom attributes), three
    services and their tasks, and standalone tasks.

    moto's DescribeServices returns neither placementStrategy nor capacityProviderStrategy (every service
    is launchType EC2 there), so the imported services use ECS's default strategy: the web tasks are
    spread over two AZs, or AZ rebalancing would move one at once."""
    ecs, ec2, autoscaling = session.client("ecs"), session.client("ec2"), session.client("autoscaling")
    ecs.create_cluster(clusterName="prod")
    ami = ec2.describe_images()["Images"][0]["ImageId"]
    ec2.create_launch_template(LaunchTemplateName="web-lt", LaunchTemplateData={"ImageId": ami,
                                                                                "InstanceType": "m5.large"})
    autoscaling.create_auto_scaling_group(AutoScalingGroupName="web-asg", LaunchTemplate={"LaunchTemplateName": "web-lt"},
                                          MinSize=0, MaxSize=6, DesiredCapacity=0,
                                          AvailabilityZones=["us-east-1a", "us-east-1b"])
    # moto launches a group's instances all in one AZ: attach one per AZ instead
    autoscaling.attach_instances(AutoScalingGroupName="web-asg", InstanceIds=[
        _run_instance(ec2, ami, "m5.large", "us-east-1a"), _run_instance(ec2, ami, "m5.large", "us-east-1b")])
    autoscaling.update_auto_scaling_group(AutoScalingGroupName="web-asg", MinSize=1)
    group = autoscaling.describe_auto_scaling_groups(AutoScalingGroupNames=["web-asg"])["AutoScalingGroups"][0]
    web = _register(ecs, ec2, sorted(i["InstanceId"] for i in group["Instances"]))
    batch_b = _register(ecs, ec2, [_run_instance(ec2, ami, "c5.xlarge", "us-east-1b")])[0]
    batch_c = _register(ecs, ec2, [_run_instance(ec2, ami, "c5.xlarge", "us-east-1c")])[0]
    ecs.put_attributes(cluster="prod", attributes=[
        *({"name": "team", "value": "web", "targetId": arn} for arn in web),   # moto: an ARN, no targetType
        {"name": "team", "value": "batch", "targetId": batch_c}])
    ecs.create_capacity_provider(name="web-cp", autoScalingGroupProvider={
        "autoScalingGroupArn": group["AutoScalingGroupARN"],
        "managedScaling": {"status": "ENABLED", "targetCapacity": 100}, "managedTerminationProtection": "DISABLED"})
    ecs.put_cluster_capacity_providers(cluster="prod", capacityProviders=["web-cp"],
                                       defaultCapacityProviderStrategy=[{"capacityProvider": "web-cp", "weight": 1}])
    ecs.register_task_definition(family="web", networkMode="bridge", containerDefinitions=[
        {"name": "app", "image": "example/web:1", "cpu": 256, "memory": 512,
         "portMappings": [{"containerPort": 80, "hostPort": 8080}]}])
    ecs.register_task_definition(family="api", networkMode="awsvpc", containerDefinitions=[
        {"name": "api", "image": "example/api:2", "cpu": 512, "memory": 1024}])
    ecs.register_task_definition(family="batch", containerDefinitions=[
        {"name": "job", "image": "example/batch:1", "cpu": 128, "memory": 300}])
    ecs.register_task_definition(family="edge", networkMode="awsvpc", requiresCompatibilities=["FARGATE"],
                                 cpu="256", memory="512", containerDefinitions=[{"name": "edge", "image": "example/e:1", "memory": 512}])
    subnet = ec2.describe_subnets()["Subnets"][0]["SubnetId"]
    group_id = ec2.describe_security_groups()["SecurityGroups"][0]["GroupId"]
    awsvpc = {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group_id]}}
    ecs.create_service(cluster="prod", serviceName="web", taskDefinition="web", desiredCount=2,
                       capacityProviderStrategy=[{"capacityProvider": "web-cp", "weight": 1}],
                       placementStrategy=[{"type": "spread", "field": "attribute:ecs.availability-zone"},
                                          {"type": "binpack", "field": "memory"}])
    ecs.create_service(cluster="prod", serviceName="api", taskDefinition="api", desiredCount=1, launchType="EC2",
                       networkConfiguration=awsvpc)
    ecs.create_service(cluster="prod", serviceName="edge", taskDefinition="edge", desiredCount=1,
                       launchType="FARGATE", networkConfiguration=awsvpc)
    # moto schedules nothing: place the tasks by hand where the services would have them.
    for arn in web:
        ecs.start_task(cluster="prod", taskDefinition="web", containerInstances=[arn], group="service:web",
                       startedBy="ecs-svc/1")
    # moto's StartTask refuses awsvpc; its RunTask packs the first ACTIVE instance: leave only batch_b ACTIVE
    others = [*web, batch_c]
    ecs.update_container_instances_state(cluster="prod", containerInstances=others, status="DRAINING")
    ecs.run_task(cluster="prod", taskDefinition="api", launchType="EC2", group="service:api", startedBy="ecs-svc/2",
                 networkConfiguration=awsvpc)
    ecs.update_container_instances_state(cluster="prod", containerInstances=others, status="ACTIVE")
    ecs.start_task(cluster="prod", taskDefinition="batch", containerInstances=[batch_c, batch_c])
    ecs.start_task(cluster="prod", taskDefinition="batch", containerInstances=[batch_b], group="nightly")
    ecs.run_task(cluster="prod", taskDefinition="edge", launchType="FARGATE", group="service:edge",
                 networkConfiguration=awsvpc)
    return {"web": web, "batch_b": batch_b, "batch_c": batch_c}


def moto_instances(session) -> Counter:  # noqa: ANN001
    """Per container instance, as moto reports it: (type, AZ, registered CPU and MiB, tasks, reserved CPU and MiB)."""
    ecs = session.client("ecs")
    arns = ecs.list_container_instances(cluster="prod")["containerInstanceArns"]
    rows = Counter()
    for instance in ecs.describe_container_instances(cluster="prod", containerInstances=arns)["containerInstances"]:
        attributes = {a["name"]: a.get("value") for a in instance["attributes"]}
        registered = {r["name"]: r.get("integerValue") for r in instance["registeredResources"]}
        remaining = {r["name"]: r.get("integerValue") for r in instance["remainingResources"]}
        rows[(attributes["ecs.instance-type"], attributes["ecs.availability-zone"], registered["CPU"],
              registered["MEMORY"], instance["runningTasksCount"], registered["CPU"] - remaining["CPU"],
              registered["MEMORY"] - remaining["MEMORY"])] += 1
    return rows


def simulated_instances(state) -> Counter:  # noqa: ANN001
    """The same tuples from a simulation's cluster state."""
    return Counter(
        (row.instance_type, row.az, row.cpu_registered, row.memory_registered_mib,
         row.tasks_running + row.tasks_pending, row.cpu_registered - row.cpu_free,
         row.memory_registered_mib - row.memory_free_mib)
        for row in state.itertuples(index=False))


def test_snapshot_maps_the_cluster(aws) -> None:  # noqa: ANN001
    build_cluster(aws)
    scenario = snapshot("prod", session=aws)
    fleets = {f["name"]: f for f in scenario["cluster"]["fleets"]}
    assert fleets == {
        "unmanaged-c5.xlarge-us-east-1b": {"name": "unmanaged-c5.xlarge-us-east-1b", "instanceType": "c5.xlarge",
                                           "count": 1, "availabilityZones": ["us-east-1b"], "registeredCpu": 4096,
                                           "registeredMemory": 7482},
        "unmanaged-c5.xlarge-us-east-1c": {"name": "unmanaged-c5.xlarge-us-east-1c", "instanceType": "c5.xlarge",
                                           "count": 1, "availabilityZones": ["us-east-1c"], "registeredCpu": 4096,
                                           "registeredMemory": 7482, "attributes": {"team": "batch"}},
        "web-asg-m5.large-us-east-1a": {"name": "web-asg-m5.large-us-east-1a", "instanceType": "m5.large",
                                        "count": 1, "availabilityZones": ["us-east-1a"], "registeredCpu": 4096,
                                        "registeredMemory": 7482, "attributes": {"team": "web"},
                                        "minSize": 1, "maxSize": 5},
        "web-asg-m5.large-us-east-1b": {"name": "web-asg-m5.large-us-east-1b", "instanceType": "m5.large",
                                        "count": 1, "availabilityZones": ["us-east-1b"], "registeredCpu": 4096,
                                        "registeredMemory": 7482, "attributes": {"team": "web"}},
    }
    assert scenario["warmStart"] is True
    assert scenario["cluster"]["defaultCapacityProviderStrategy"] == [{"capacityProvider": "web-cp", "weight": 1}]
    [provider] = scenario["capacityProviders"]
    assert provider["name"] == "web-cp"
    assert provider["autoScalingGroupProvider"]["autoScalingGroupArn"] == "web-asg-m5.large-us-east-1a"
    assert provider["autoScalingGroupProvider"]["managedScaling"]["status"] == "ENABLED"
    assert [f"{d['family']}:{d['revision']}" for d in scenario["taskDefinitions"]] == [
        "api:1", "batch:1", "edge:1", "web:1"]
    assert {s["serviceName"]: s["desiredCount"] for s in scenario["services"]} == {"api": 1, "edge": 1, "web": 2}
    assert sorted(scenario["initialTasks"], key=lambda t: (t["fleet"], t["instance"], t["taskDefinition"])) == [
        {"taskDefinition": "api:1", "fleet": "unmanaged-c5.xlarge-us-east-1b", "instance": 0, "service": "api"},
        {"taskDefinition": "batch:1", "fleet": "unmanaged-c5.xlarge-us-east-1b", "instance": 0, "group": "nightly"},
        {"taskDefinition": "batch:1", "fleet": "unmanaged-c5.xlarge-us-east-1c", "instance": 0, "count": 2},
        {"taskDefinition": "web:1", "fleet": "web-asg-m5.large-us-east-1a", "instance": 0, "service": "web"},
        {"taskDefinition": "web:1", "fleet": "web-asg-m5.large-us-east-1b", "instance": 0, "service": "web"},
    ]


def test_imported_scenario_loads_validates_and_starts_where_moto_is(aws, tmp_path: Path) -> None:  # noqa: ANN001
    build_cluster(aws)
    imported = import_cluster("prod", session=aws, duration="10m")
    path = write_snapshot(imported, tmp_path / "prod.yaml")
    text = path.read_text()
    assert text.startswith(f"{MARKER} cluster prod in us-east-1 (account 123456789012), taken ")
    assert "1 Fargate task(s)" in text.splitlines()[1]
    assert "6 task(s) placed" in text.splitlines()[1]

    validated = CliRunner().invoke(main, ["validate", str(path)])
    assert validated.exit_code == 0, validated.output

    scenario = ecssim.load_scenario(path)
    sim = ecssim.Simulation(scenario, seed=0)
    sim.run_until(0)
    state = sim.cluster_state()
    assert simulated_instances(state) == moto_instances(aws)
    assert Counter(zip(state["instance_type"], state["az"], strict=True)) == Counter(
        {("m5.large", "us-east-1a"): 1, ("m5.large", "us-east-1b"): 1, ("c5.xlarge", "us-east-1b"): 1,
         ("c5.xlarge", "us-east-1c"): 1})
    services_at_start = Counter(s for names in state["services"] for s in names.split())
    assert services_at_start == Counter({"web": 2, "api": 1})

    sim.run_until()
    result = sim.result()
    tasks = result.tasks
    alive = tasks[tasks["last_status"] == "RUNNING"]
    assert alive.groupby("service").size().to_dict() == {"": 3, "api": 1, "edge": 1, "web": 2}
    assert dict(zip(result.services["service"], result.services["desired_count"], strict=True)) == {
        "api": 1, "edge": 1, "web": 2}
    standalone = alive[alive["service"] == ""]
    assert sorted(standalone["group"]) == ["family:batch", "family:batch", "nightly"]
    # every task running at t=0 on an instance was imported, none started again by the scheduler
    assert (tasks["launch_type"] == "EC2").sum() == 6


def test_cli_import_cluster_writes_and_refuses_to_overwrite(aws, tmp_path: Path) -> None:  # noqa: ANN001
    build_cluster(aws)
    out = tmp_path / "prod.yaml"
    runner = CliRunner()
    first = runner.invoke(main, ["import-cluster", "--cluster", "prod", "--region", REGION, "--out", str(out)])
    assert first.exit_code == 0, first.output
    assert out.read_text().startswith(MARKER)
    again = runner.invoke(main, ["import-cluster", "--cluster", "prod", "--region", REGION, "--out", str(out)])
    assert again.exit_code == 2
    assert "exists; use --force" in again.output
    forced = runner.invoke(main, ["import-cluster", "--cluster", "prod", "--region", REGION, "--out", str(out),
                                  "--force"])
    assert forced.exit_code == 0, forced.output
    mine = tmp_path / "mine.yaml"
    mine.write_text("name: my own scenario\n")
    refused = runner.invoke(main, ["import-cluster", "--cluster", "prod", "--region", REGION, "--out", str(mine),
                                   "--force"])
    assert refused.exit_code == 2
    assert "not written by ecssim import-cluster" in refused.output
    assert mine.read_text() == "name: my own scenario\n"


def test_wrong_cluster_name_is_a_clear_error(aws) -> None:  # noqa: ANN001
    build_cluster(aws)
    with pytest.raises(SnapshotError, match="cluster 'nope' not found in us-east-1"):
        snapshot("nope", session=aws)
    result = CliRunner().invoke(main, ["import-cluster", "--cluster", "nope", "--region", REGION,
                                       "--out", "unused.yaml"])
    assert result.exit_code == 2
    assert "error: cluster 'nope' not found" in result.output
    assert "Traceback" not in result.output


def test_no_credentials_is_a_clear_error(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    for name in list(os.environ):
        if name.startswith("AWS_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(SnapshotError, match="no AWS credentials found"):
        snapshot("prod", region=REGION)
    with pytest.raises(SnapshotError, match="no AWS region given"):
        snapshot("prod")
    result = CliRunner().invoke(main, ["import-cluster", "--cluster", "prod", "--region", REGION,
                                       "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert "error: no AWS credentials found" in result.output
    assert not (tmp_path / "x.yaml").exists()


class _StubbedSession:
    """A session whose ECS client answers from a botocore Stubber (no network)."""

    region_name = REGION

    def __init__(self) -> None:
        from botocore.stub import Stubber

        self.ecs = boto3.Session(region_name=REGION, aws_access_key_id="a", aws_secret_access_key="b").client("ecs")
        self.stubber = Stubber(self.ecs)

    def client(self, name: str):  # noqa: ANN201
        assert name == "ecs"
        return self.ecs


def test_a_refused_call_names_the_permissions() -> None:
    session = _StubbedSession()
    session.stubber.add_client_error("describe_clusters", service_error_code="AccessDeniedException",
                                     service_message="User: arn:aws:iam::1:user/x is not authorized")
    with session.stubber, pytest.raises(SnapshotError) as error:
        snapshot("prod", session=session)
    assert str(error.value).startswith("DescribeClusters refused (AccessDeniedException: User: arn:aws:iam::1:user/x "
                                       "is not authorized); the import needs read-only access: ecs:DescribeClusters, ")
    assert "autoscaling:DescribeAutoScalingGroups" in str(error.value)


def test_an_inactive_cluster_is_refused() -> None:
    session = _StubbedSession()
    session.stubber.add_response("describe_clusters", {"clusters": [
        {"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/old", "clusterName": "old", "status": "INACTIVE"}],
        "failures": []})
    with session.stubber, pytest.raises(SnapshotError, match="cluster 'old' is INACTIVE, not ACTIVE"):
        snapshot("old", session=session)


def _instance(instance_id: str, instance_type: str, az: str, **attributes: str) -> dict:
    resources = [{"name": "CPU", "integerValue": 2048}, {"name": "MEMORY", "integerValue": 7800}]
    return {"containerInstanceArn": f"arn:aws:ecs:us-east-1:1:container-instance/c/{instance_id}",
            "ec2InstanceId": instance_id, "status": "ACTIVE", "registeredResources": resources,
            "attributes": [{"name": "ecs.instance-type", "value": instance_type},
                           {"name": "ecs.availability-zone", "value": az},
                           {"name": "ecs.capability.privileged-container"},
                           *({"name": k, "value": v} for k, v in attributes.items())]}


def test_a_group_over_two_azs_gives_two_fleets_and_the_provider_takes_the_first() -> None:
    from datetime import UTC, datetime

    from ecssim.aws import ClusterSnapshot, to_scenario

    group_arn = "arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/app"
    snap = ClusterSnapshot(
        cluster={"clusterArn": "arn:aws:ecs:us-east-1:123456789012:cluster/c", "clusterName": "c", "status": "ACTIVE"},
        region=REGION, taken_at=datetime(2026, 11, 28, 17, 55, tzinfo=UTC),
        container_instances=[_instance("i-3", "m5.large", "us-east-1b"), _instance("i-1", "m5.large", "us-east-1a"),
                             _instance("i-2", "m5.large", "us-east-1a"),
                             _instance("i-4", "m5.large", "us-east-1a", team="x")],
        capacity_providers=[{"name": "app-cp", "autoScalingGroupProvider": {"autoScalingGroupArn": group_arn}}],
        auto_scaling_groups=[{"AutoScalingGroupName": "app", "MinSize": 2, "MaxSize": 10, "DesiredCapacity": 3,
                              "Instances": [{"InstanceId": "i-1"}, {"InstanceId": "i-2"}, {"InstanceId": "i-3"}]}],
        tasks=[{"taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/w:7", "lastStatus": "RUNNING",
                "containerInstanceArn": "arn:aws:ecs:us-east-1:1:container-instance/c/i-2", "group": "family:w"},
               {"taskDefinitionArn": "arn:aws:ecs:us-east-1:1:task-definition/w:7", "lastStatus": "STOPPING",
                "containerInstanceArn": "arn:aws:ecs:us-east-1:1:container-instance/c/i-1", "group": "family:w"}])
    imported = to_scenario(snap)
    fleets = imported.scenario["cluster"]["fleets"]
    assert [(f["name"], f["count"], f.get("minSize"), f.get("maxSize")) for f in fleets] == [
        ("app-m5.large-us-east-1a", 2, 2, 9), ("app-m5.large-us-east-1b", 1, None, None),
        ("unmanaged-m5.large-us-east-1a", 1, None, None)]
    assert fleets[2]["attributes"] == {"team": "x"}
    assert imported.scenario["capacityProviders"][0]["autoScalingGroupProvider"]["autoScalingGroupArn"] == (
        "app-m5.large-us-east-1a")
    assert imported.scenario["initialTasks"] == [{"taskDefinition": "w:7", "fleet": "app-m5.large-us-east-1a",
                                                  "instance": 1}]
    assert imported.warnings == ["Auto Scaling group app spans 2 fleets (app-m5.large-us-east-1a, "
                                 "app-m5.large-us-east-1b): its capacity provider takes over the first, "
                                 "app-m5.large-us-east-1a; the others keep their size"]
    assert imported.header[0] == ("# ecssim import-cluster: cluster c in us-east-1 (account 123456789012), "
                                  "taken 2026-11-28T17:55:00Z")
    assert imported.header[1].endswith("not imported: 1 stopping")


def test_without_boto3_the_cli_names_the_extra(monkeypatch, tmp_path: Path) -> None:  # noqa: ANN001
    monkeypatch.setitem(__import__("sys").modules, "boto3", None)   # import boto3 now raises ImportError
    result = CliRunner().invoke(main, ["import-cluster", "--cluster", "prod", "--out", str(tmp_path / "x.yaml")])
    assert result.exit_code == 2
    assert result.output.strip() == "error: importing a live cluster needs boto3: pip install 'ecssim[aws]'"
