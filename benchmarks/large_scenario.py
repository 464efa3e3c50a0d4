"""The large reference scenario of benchmarks/large.py, at any scale and length.

The full scenario (scale 1, 7 days) is shipped as ``benchmarks/scenarios/large.yaml``;
``python benchmarks/large_scenario.py`` regenerates it, and a test checks that the shipped
file is what this module writes. Pinned rates (issue 10): 5,000 m5.xlarge container instances
over 3 AZs; 500 REPLICA services of 100 tasks (50,000, spread over AZs then binpack on
memory), warm-started; 100,000 standalone batch tasks over the run as a Poisson process,
lognormal durations with mean 10 minutes; instance failures with an exponential time to
failure of mean 30 days per instance (terminated, replaced by the Auto Scaling group);
service task crashes with an exponential mean time to crash of 7 days per task; one AZ
outage of 1 hour at day 3.

``scale`` multiplies instances, services and batch tasks together (the growth measurement
runs 1/4, 1/2 and 1); ``days`` stretches the run, keeping the batch arrival *rate*.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
SHIPPED = HERE / "scenarios" / "large.yaml"

INSTANCES = 5_000
SERVICES = 500
TASKS_PER_SERVICE = 100
BATCH_TASKS_PER_WEEK = 100_000
AZS = ["us-east-1a", "us-east-1b", "us-east-1c"]
#: Service task sizes (CPU units, MiB), cycled over the services: 10 tasks per instance use
#: about 55 % of an m5.xlarge's CPU and 48 % of its memory, so the cluster still holds every
#: service task with one AZ of three out (15 per instance).
SIZES = [(256, 512), (256, 1024), (128, 512), (256, 1024)]


def scenario_dict(scale: float = 1.0, days: float = 7.0) -> dict:
    """The large scenario as a plain dict (what the YAML file holds)."""
    instances = round(INSTANCES * scale)
    services = round(SERVICES * scale)
    batch_per_hour = BATCH_TASKS_PER_WEEK * scale / (7 * 24)
    task_definitions = []
    service_entries = []
    faults: list[dict] = []
    for i in range(services):
        cpu, memory = SIZES[i % len(SIZES)]
        name = f"svc{i:03d}"
        task_definitions.append(
            {
                "family": name,
                "cpu": str(cpu),
                "memory": str(memory),
                "containerDefinitions": [
                    {"name": "app", "image": f"example/app{i % 20}:1", "portMappings": [{"containerPort": 8080}]}
                ],
            }
        )
        service_entries.append(
            {
                "serviceName": name,
                "taskDefinition": name,
                "desiredCount": TASKS_PER_SERVICE,
                "placementStrategy": [
                    {"type": "spread", "field": "attribute:ecs.availability-zone"},
                    {"type": "binpack", "field": "memory"},
                ],
            }
        )
        faults.append({"type": "taskCrash", "name": f"crash-{name}", "service": name, "meanTimeToCrash": "7d"})
    task_definitions.append(
        {
            "family": "batch",
            "cpu": "512",
            "memory": "1024",
            "containerDefinitions": [{"name": "job", "image": "example/batch:1"}],
        }
    )
    faults.append(
        {
            "type": "instanceFailure",
            "name": "instance-failures",
            "timeToFailure": {"type": "exponential", "mean": "30d"},
            "mode": "terminated",
        }
    )
    faults.append(
        {"type": "azOutage", "name": "az-c-outage", "availabilityZone": "us-east-1c", "start": "72h", "end": "73h"}
    )
    scale_text = "" if scale == 1 else f" (scale {scale:g})"
    return {
        "name": "large-benchmark",
        "description": (
            f"Large reference scenario of benchmarks/large.py{scale_text}: {instances:,} m5.xlarge instances over "
            f"3 AZs, {services} services of {TASKS_PER_SERVICE} tasks (warm-started), about "
            f"{round(batch_per_hour * 24 * days):,} batch RunTask tasks (Poisson, lognormal durations with mean "
            f"10 minutes), instance failures (mean 30 days per instance, replaced), task crashes (mean 7 days per "
            f"task) and a 1-hour outage of us-east-1c at day 3, over {days:g} simulated days."
        ),
        "duration": f"{days:g}d",
        "warmStart": True,
        "cluster": {
            "name": "large",
            "fleets": [
                {"name": "general", "instanceType": "m5.xlarge", "count": instances, "availabilityZones": AZS}
            ],
        },
        "taskDefinitions": task_definitions,
        "services": service_entries,
        "workloads": [
            {
                "name": "batch",
                "taskDefinition": "batch",
                "arrivals": {"type": "poisson", "rate": f"{batch_per_hour:.6g}/h"},
                "duration": {"type": "lognormal", "mean": "10m", "sigma": 1.0},
            }
        ],
        "faults": faults,
    }


def scenario_yaml(scale: float = 1.0, days: float = 7.0) -> str:
    """The scenario as YAML text, with a header naming its generator."""
    header = "# Generated by benchmarks/large_scenario.py (python benchmarks/large_scenario.py rewrites it).\n"
    return header + yaml.safe_dump(scenario_dict(scale, days), sort_keys=False, width=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--days", type=float, default=7.0)
    parser.add_argument("--out", type=Path, default=SHIPPED)
    args = parser.parse_args()
    args.out.write_text(scenario_yaml(args.scale, args.days))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
