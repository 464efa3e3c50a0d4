"""Checks across a whole scenario, run once its fields are valid: references and ECS's rules.

pydantic checks each field on its own; these checks need the whole scenario: names that
refer to other objects (task definitions, services, fleets, AZs), uniqueness, ECS's rules
for task definitions (memory on EC2, essential containers, port mappings) and files on
disk. Every problem is collected with its path; nothing stops at the first.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

from ..placement.query import Compare, Not, parse
from .catalog import instance_type, registered_resources, task_eni_limit
from .ecs_fields import closest, did_you_mean
from .ecs_objects import FARGATE_PROVIDERS, MAX_CONSTRAINTS, PlacementConstraint, TaskDefinition
from .fargate import fargate_problems
from .models import (
    AzOutage,
    FailedStart,
    FargateSpotInterruption,
    HealthCheckFailure,
    InstanceFailure,
    InstanceSelector,
    MemoryUse,
    RunTask,
    Scenario,
    SpotInterruption,
    StopTask,
    TaskCrash,
    TraceArrivals,
    UpdateService,
)
from .td_rules import check_task_definition, hard_memory_limit_mib
from .traces import TraceError, read_trace

_SECONDS = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")

#: (path, message) pairs; the loader adds the file name.
Problems = list[tuple[str, str]]


def task_definition_name(ref: str) -> str:
    """``family`` or ``family:revision`` from a reference that may be a full ARN."""
    return ref.rsplit("task-definition/", 1)[-1] if ref.startswith("arn:") else ref


def resolve_task_definition(task_definitions: Iterable[TaskDefinition], ref: str) -> TaskDefinition | None:
    """The task definition ``ref`` names, as ECS resolves it, or None.

    ``family:revision`` (or its ARN) names that revision; a bare ``family`` names the
    highest revision given in the scenario (ECS: the latest ACTIVE revision).
    """
    name = task_definition_name(ref)
    family, _, revision = name.partition(":")
    matches = [td for td in task_definitions if td.family == family]
    if revision:
        return next((td for td in matches if str(td.revision) == revision), None)
    return max(matches, key=lambda td: td.revision, default=None)


def check_scenario(scenario: Scenario) -> tuple[Problems, list[str]]:
    """Every cross-reference and ECS-rule problem of ``scenario`` (errors) and its warnings."""
    errors: Problems = []
    warnings: list[str] = []
    _check_unique(scenario, errors)
    _check_references(scenario, errors)
    _check_places(scenario, errors)
    _check_times(scenario, errors, warnings)
    _check_faults(scenario, errors)
    _check_health(scenario, errors)
    _check_placement(scenario, errors, warnings)
    _check_service_auto_scaling(scenario, errors)
    _check_capacity_providers(scenario, errors)
    _check_fargate(scenario, errors)
    _check_initial_tasks(scenario, errors)
    _check_prices(scenario, errors)
    _check_not_empty(scenario, errors)
    for i, td in enumerate(scenario.task_definitions):
        td_errors, td_warnings = check_task_definition(
            td, f"taskDefinitions[{i}]", scenario.cluster.reserved_ports
        )
        errors += td_errors
        warnings += td_warnings
    for i, fleet in enumerate(scenario.cluster.fleets):
        try:
            registered_resources(
                fleet.instance_type,
                scenario.cluster.memory_overhead_fraction,
                fleet.reserved_memory,
                fleet.registered_cpu,
                fleet.registered_memory,
            )
        except ValueError as exc:
            errors.append((f"cluster.fleets[{i}].reservedMemory", str(exc)))
    for i, workload in enumerate(scenario.workloads):
        arrivals = workload.arrivals
        if isinstance(arrivals, TraceArrivals):
            path = scenario.resolve_path(arrivals.file)
            if not path.is_file():
                errors.append((f"workloads[{i}].arrivals.file", f"trace file not found: {path}"))
            else:
                errors += _trace_problems(scenario, path, arrivals, f"workloads[{i}].arrivals.file")
        elif workload.duration is None:
            warnings.append(f"workloads[{i}].duration: not given; the tasks run until the end of the run")
    return errors, warnings


def _check_capacity_providers(scenario: Scenario, errors: Problems) -> None:
    """Providers name fleets (one provider per fleet); strategies name providers the cluster has (6.1)."""
    fleets = {f.name: f for f in scenario.cluster.fleets}
    owner: dict[str, str] = {}
    names: list[str] = []
    for i, provider in enumerate(scenario.capacity_providers):
        path = f"capacityProviders[{i}]"
        names.append(provider.name)
        if provider.name in names[:-1]:
            errors.append((f"{path}.name", f"duplicate {provider.name!r}; capacity provider names must be unique"))
        group = provider.auto_scaling_group_provider
        fleet = fleets.get(group.fleet)
        where = f"{path}.autoScalingGroupProvider.autoScalingGroupArn"
        if fleet is None:
            hint = did_you_mean(group.fleet, set(fleets))
            errors.append((where, f"no fleet named {group.fleet!r} in cluster.fleets{hint}"))
            continue
        if group.fleet in owner:
            errors.append((where, f"fleet {group.fleet!r} already belongs to capacity provider {owner[group.fleet]!r}"))
        owner[group.fleet] = provider.name
        if provider.managed and fleet.maximum <= 0:
            errors.append((where, f"fleet {group.fleet!r} has maxSize 0: managed scaling needs a MaxSize greater "
                                  "than zero to scale out (give the fleet a maxSize)"))
    known = set(names)
    strategies = [("cluster.defaultCapacityProviderStrategy", scenario.cluster.default_capacity_provider_strategy)]
    strategies += [(f"services[{i}].capacityProviderStrategy", s.capacity_provider_strategy)
                   for i, s in enumerate(scenario.services)]
    strategies += [(f"workloads[{i}].capacityProviderStrategy", w.capacity_provider_strategy)
                   for i, w in enumerate(scenario.workloads)]
    for path, items in strategies:
        for k, item in enumerate(items):
            name = item.capacity_provider
            if name in FARGATE_PROVIDERS:
                continue  # every cluster has them
            if name not in known:
                hint = did_you_mean(name, known) or f"; the cluster has: {', '.join(sorted(known)) or 'none'}"
                errors.append((f"{path}[{k}].capacityProvider", f"unknown capacity provider {name!r}{hint}"))


#: Container instances per cluster, ECS's quota (not adjustable; ecs-reference 8).
MAX_INSTANCES_PER_CLUSTER = 5000


def _check_not_empty(scenario: Scenario, errors: Problems) -> None:
    """At most ECS's quota of instances; a cluster without fleets runs only Fargate tasks, and with
    neither nothing could ever run."""
    total = sum(fleet.count for fleet in scenario.cluster.fleets)
    if total > MAX_INSTANCES_PER_CLUSTER:
        errors.append(("cluster.fleets", f"{total:,} instances at the start; ECS allows "
                                         f"{MAX_INSTANCES_PER_CLUSTER:,} container instances per cluster"))
    if scenario.cluster.fleets or fargate_requesters(scenario):
        return
    if any(_runs_on_fargate(scenario, getattr(a, "launch_type", None), getattr(a, "capacity_provider_strategy", None))
           for a in scenario.actions):
        return
    errors.append(("cluster.fleets", "the cluster has no fleets and nothing runs on Fargate, so no task can "
                                     "ever run; add a fleet or give the services launchType: FARGATE"))


def _runs_on_fargate(scenario: Scenario, launch_type: str | None, items: list) -> bool:
    """A request runs on Fargate: launchType FARGATE, or a strategy (its own or the default) of Fargate providers."""
    if launch_type is not None:
        return launch_type == "FARGATE"
    items = items or scenario.cluster.default_capacity_provider_strategy
    return bool(items) and items[0].capacity_provider in FARGATE_PROVIDERS


def _check_initial_tasks(scenario: Scenario, errors: Problems) -> None:
    """``initialTasks`` need warmStart and name a fleet's instance, a task definition and a REPLICA service."""
    fleets = {f.name: f for f in scenario.cluster.fleets}
    services = {s.service_name: s for s in scenario.services}
    for i, item in enumerate(scenario.initial_tasks):
        path = f"initialTasks[{i}]"
        if not scenario.warm_start:
            errors.append((path, "initialTasks start RUNNING at t=0: give the scenario warmStart: true"))
        fleet = fleets.get(item.fleet)
        if fleet is None:
            errors.append((f"{path}.fleet", f"no fleet named {item.fleet!r}{did_you_mean(item.fleet, set(fleets))}"))
        elif item.instance >= fleet.count:
            errors.append((f"{path}.instance", f"fleet {item.fleet!r} has {fleet.count} instance(s) at the start "
                                               f"(0..{fleet.count - 1}), not {item.instance}"))
        if resolve_task_definition(scenario.task_definitions, item.task_definition) is None:
            errors.append((f"{path}.taskDefinition", f"unknown task definition {item.task_definition!r}"))
        if item.service is not None:
            service = services.get(item.service)
            if service is None:
                errors.append((f"{path}.service", f"unknown service {item.service!r}"))
            elif service.scheduling_strategy == "DAEMON":
                errors.append((f"{path}.service", f"{item.service!r} is a DAEMON service: its tasks start with "
                                                  "their instances; leave them out of initialTasks"))
            if item.group is not None:
                errors.append((f"{path}.group", "a service's tasks are in its group service:<name>; give group "
                                                "only for standalone tasks"))


def fargate_requesters(scenario: Scenario) -> list[str]:
    """Paths of the services and workloads that run on Fargate (``services[0]``, ...)."""
    found = [f"services[{i}]" for i, s in enumerate(scenario.services)
             if _runs_on_fargate(scenario, s.launch_type, s.capacity_provider_strategy)]
    return found + [f"workloads[{i}]" for i, w in enumerate(scenario.workloads)
                    if _runs_on_fargate(scenario, w.launch_type, w.capacity_provider_strategy)]


def _check_fargate(scenario: Scenario, errors: Problems) -> None:
    """Task definitions run on Fargate must be Fargate-compatible: awsvpc and a valid task size (6.5)."""
    users = [(f"services[{i}]", s.task_definition, s.launch_type, s.capacity_provider_strategy)
             for i, s in enumerate(scenario.services)]
    users += [(f"workloads[{i}]", w.task_definition, w.launch_type, w.capacity_provider_strategy)
              for i, w in enumerate(scenario.workloads)]
    told: set[str] = set()
    for who, ref, launch_type, items in users:
        if not _runs_on_fargate(scenario, launch_type, items):
            continue
        td = resolve_task_definition(scenario.task_definitions, ref)
        if td is None or td.key in told:
            continue
        told.add(td.key)
        index = scenario.task_definitions.index(td)
        for field, message in fargate_problems(td):
            errors.append((f"taskDefinitions[{index}].{field}", f"{message} ({who} runs {td.key} on Fargate)"))


def _trace_problems(scenario: Scenario, path, arrivals, where: str) -> list[tuple[str, str]]:  # noqa: ANN001
    """Read the trace now, so that a bad one is refused before the run starts."""
    try:
        trace = read_trace(path, arrivals.time_scale, arrivals.limit)
    except TraceError as error:
        return [(where, str(error))]
    if "family" not in trace.columns:
        return []
    known = {td.family for td in scenario.task_definitions}
    families = trace["family"].dropna().astype(str)
    unknown = sorted({f for f in families if f and f not in known})
    if unknown:
        return [(where, f"trace names unknown task definition families: {', '.join(unknown[:5])}; "
                        f"known: {', '.join(sorted(known))}")]
    return []


def _duplicates(names: Iterable[str | None]) -> set[str]:
    counts = Counter(name for name in names if name is not None)
    return {name for name, count in counts.items() if count > 1}


def _check_unique(scenario: Scenario, errors: Problems) -> None:
    groups = {
        "cluster.fleets": ("name", [f.name for f in scenario.cluster.fleets]),
        "services": ("serviceName", [s.service_name for s in scenario.services]),
        "taskDefinitions": ("revision", [td.key for td in scenario.task_definitions]),
        "workloads": ("name", [w.name for w in scenario.workloads]),
        "faults": ("name", [f.name for f in scenario.faults]),
        "actions": ("name", [a.name for a in scenario.actions]),
        "targetGroups": ("targetGroupArn", [g.target_group_arn for g in scenario.target_groups]),
    }
    for section, (field, names) in groups.items():
        dup = _duplicates(names)
        seen: set[str] = set()
        for i, name in enumerate(names):
            if name in dup and name in seen:
                errors.append(
                    (f"{section}[{i}].{field}", f"duplicate {name!r}; names must be unique in {section}")
                )
            if name is not None:
                seen.add(name)


def _check_references(scenario: Scenario, errors: Problems) -> None:
    tds = scenario.task_definitions
    known = ", ".join(sorted(td.key for td in tds)) or "none defined"
    refs: list[tuple[str, str]] = [
        (f"services[{i}].taskDefinition", s.task_definition) for i, s in enumerate(scenario.services)
    ]
    refs += [(f"workloads[{i}].taskDefinition", w.task_definition) for i, w in enumerate(scenario.workloads)]
    refs += [(f"faults[{i}].taskDefinition", f.task_definition) for i, f in enumerate(scenario.faults)
             if isinstance(f, (FailedStart, MemoryUse, HealthCheckFailure)) and f.task_definition is not None]
    refs += [
        (f"actions[{i}].taskDefinition", a.task_definition)
        for i, a in enumerate(scenario.actions)
        if isinstance(a, RunTask) or (isinstance(a, UpdateService) and a.task_definition is not None)
    ]
    for path, ref in refs:
        if resolve_task_definition(tds, ref) is None:
            errors.append((path, f"unknown task definition {ref!r}; known: {known}"))
    services = {s.service_name for s in scenario.services}
    named = [
        (f"faults[{i}].service", f.service) for i, f in enumerate(scenario.faults)
        if isinstance(f, (TaskCrash, FailedStart, MemoryUse, HealthCheckFailure, FargateSpotInterruption))
        and f.service is not None
    ]
    named += [
        (f"actions[{i}].service", a.service)
        for i, a in enumerate(scenario.actions)
        if isinstance(a, (UpdateService, StopTask)) and a.service is not None
    ]
    for path, name in named:
        if name not in services:
            hint = closest(name, services)
            suggestion = (
                f"; did you mean {hint[0]}?" if hint else f"; known: {', '.join(sorted(services)) or 'none'}"
            )
            errors.append((path, f"unknown service {name!r}{suggestion}"))
    daemons = {s.service_name for s in scenario.services if s.scheduling_strategy == "DAEMON"}
    for i, action in enumerate(scenario.actions):
        if isinstance(action, StopTask) and action.service is None and not action.task_ids:
            errors.append((f"actions[{i}]", "stopTask needs a service or taskIds"))
        if isinstance(action, UpdateService) and action.service in daemons:
            if action.desired_count is not None:
                errors.append((f"actions[{i}].desiredCount", f"service {action.service!r} is a DAEMON service: "
                                                             "its desired count follows the instances"))
            if action.task_definition is not None or action.force_new_deployment:
                errors.append((f"actions[{i}]", f"service {action.service!r} is a DAEMON service: deployments of "
                                                "DAEMON services are not simulated yet (REPLICA services only)"))


def _selectors(scenario: Scenario) -> list[tuple[str, InstanceSelector]]:
    found = [(f"faults[{i}].select", f.select) for i, f in enumerate(scenario.faults)
             if getattr(f, "select", None) is not None]
    found += [
        (f"actions[{i}].select", a.select) for i, a in enumerate(scenario.actions) if hasattr(a, "select")
    ]
    return found


def _check_places(scenario: Scenario, errors: Problems) -> None:
    zones = sorted({az for fleet in scenario.cluster.fleets for az in fleet.availability_zones})
    fleets = sorted(fleet.name for fleet in scenario.cluster.fleets)
    places = [
        (f"faults[{i}].availabilityZone", f.availability_zone)
        for i, f in enumerate(scenario.faults)
        if hasattr(f, "availability_zone")
    ]
    for path, selector in _selectors(scenario):
        if selector.availability_zone is not None:
            places.append((f"{path}.availabilityZone", selector.availability_zone))
        if selector.fleet is not None and selector.fleet not in fleets:
            errors.append((f"{path}.fleet", f"unknown fleet {selector.fleet!r}; known: {', '.join(fleets)}"))
        if selector.count is not None and selector.fraction is not None:
            errors.append((path, "give count or fraction, not both"))
    for path, zone in places:
        if zone not in zones:
            errors.append((path, f"{zone!r} is not an AZ of the cluster; its AZs: {', '.join(zones)}"))


def _check_times(scenario: Scenario, errors: Problems, warnings: list[str]) -> None:
    if scenario.measure_from >= scenario.duration:
        errors.append(
            (
                "measureFrom",
                f"must be less than duration ({scenario.duration:g} s), got {scenario.measure_from:g} s",
            )
        )
    for section, items in (("faults", scenario.faults), ("actions", scenario.actions)):
        for i, item in enumerate(items):
            start = getattr(item, "start", None)
            end = getattr(item, "end", None)
            if start is not None and end is not None and end <= start:
                errors.append((f"{section}[{i}].end", f"must be after start ({start:g} s), got {end:g} s"))
            at = getattr(item, "at", None)
            times = list(at) if isinstance(at, list) else [at] if at is not None else []
            times += [start] if start is not None else []
            if times and min(times) >= scenario.duration:
                warnings.append(
                    f"{section}[{i}]: at or after the end of the run ({scenario.duration:g} s); it never happens"
                )
    for i, workload in enumerate(scenario.workloads):
        arrivals = workload.arrivals
        if getattr(arrivals, "end", None) is not None and arrivals.end <= arrivals.start:
            errors.append(
                (
                    f"workloads[{i}].arrivals.end",
                    f"must be after start ({arrivals.start:g} s), got {arrivals.end:g} s",
                )
            )


def _check_faults(scenario: Scenario, errors: Problems) -> None:
    """Instance failures: ``at`` or ``timeToFailure``; ``terminateAfter`` only for impaired hosts; one target per task fault."""
    for i, fault in enumerate(scenario.faults):
        path = f"faults[{i}]"
        if isinstance(fault, InstanceFailure):
            if (fault.at is None) == (fault.time_to_failure is None):
                errors.append((path, "give at (failure times) or timeToFailure (a distribution), exactly one"))
            select = fault.select
            if fault.time_to_failure is not None and select is not None and (
                    select.count is not None or select.fraction is not None):
                errors.append((f"{path}.select", "with timeToFailure every matching instance draws its own "
                                                 "time to failure: count and fraction do not apply"))
        if isinstance(fault, (FailedStart, MemoryUse, HealthCheckFailure)) \
                and (fault.service is None) == (fault.task_definition is None):
            errors.append((path, "give service or taskDefinition, exactly one"))
        if isinstance(fault, MemoryUse):
            _check_hard_limit(scenario, fault, path, errors)
        if isinstance(fault, SpotInterruption):
            _check_spot(scenario, fault, path, errors)
        if isinstance(fault, (InstanceFailure, AzOutage)) and fault.terminate_after is not None \
                and fault.mode != "impaired":
            errors.append((f"{path}.terminateAfter", "applies to mode: impaired (a terminated instance is gone)"))


def _has_container_health_check(td: TaskDefinition) -> bool:
    return any(c.essential and c.health_check is not None for c in td.container_definitions)


def _check_health(scenario: Scenario, errors: Problems) -> None:
    """Load balancer container names exist; a healthCheckFailure has something that notices it."""
    tds = scenario.task_definitions
    for i, service in enumerate(scenario.services):
        td = resolve_task_definition(tds, service.task_definition)
        if td is None:
            continue
        names = [c.name for c in td.container_definitions]
        for k, lb in enumerate(service.load_balancers):
            if lb.container_name is not None and lb.container_name not in names:
                errors.append((f"services[{i}].loadBalancers[{k}].containerName",
                               f"{lb.container_name!r} is not a container of {td.key}; its containers: "
                               f"{', '.join(names)}"))
    for i, fault in enumerate(scenario.faults):
        if not isinstance(fault, HealthCheckFailure):
            continue
        if fault.service is not None:
            services = [s for s in scenario.services if s.service_name == fault.service]
            checked = [resolve_task_definition(tds, s.task_definition) for s in services]
        else:
            td = resolve_task_definition(tds, fault.task_definition or "")
            family = task_definition_name(fault.task_definition or "").partition(":")[0]
            services = [s for s in scenario.services
                        if task_definition_name(s.task_definition).partition(":")[0] == family]
            checked = [td]
        if not services and fault.service is not None:
            continue  # an unknown service: reported with the references
        noticed = any(s.load_balancers for s in services) or any(
            t is not None and _has_container_health_check(t) for t in checked)
        if not noticed:
            errors.append((f"faults[{i}]", "nothing would notice this failure: the tasks have no container health "
                                           "check on an essential container and no load balancer"))


def _check_spot(scenario: Scenario, fault: SpotInterruption, path: str, errors: Problems) -> None:
    """A spotInterruption chooses among the instances of spot fleets: there must be one to hit."""
    spot = [f.name for f in scenario.cluster.fleets if f.market == "spot"]
    if not spot:
        errors.append((path, "spotInterruption needs a fleet with market: spot; none has it"))
    fleet = fault.select.fleet
    known = {f.name for f in scenario.cluster.fleets}
    if fleet is not None and fleet in known and fleet not in spot:
        errors.append((f"{path}.select.fleet", f"fleet {fleet!r} is not a spot fleet (market: spot); "
                                               f"spot fleets: {', '.join(spot) or 'none'}"))


def _check_hard_limit(scenario: Scenario, fault: MemoryUse, path: str, errors: Problems) -> None:
    """A memoryUse fault needs its task definition to have a hard memory limit to exceed."""
    services = {s.service_name: s.task_definition for s in scenario.services}
    reference = fault.task_definition or services.get(fault.service or "")
    td = resolve_task_definition(scenario.task_definitions, reference) if reference else None
    if td is not None and hard_memory_limit_mib(td) is None:
        errors.append((path, f"task definition {td.key} has no hard memory limit (container or task memory) "
                             "to exceed"))


def _requests(scenario: Scenario) -> list[tuple[str, str, list[PlacementConstraint]]]:
    """(path, task definition reference, request-level constraints) of every placement request."""
    found = [(f"services[{i}]", s.task_definition, s.placement_constraints) for i, s in enumerate(scenario.services)]
    found += [
        (f"workloads[{i}]", w.task_definition, w.placement_constraints) for i, w in enumerate(scenario.workloads)
    ]
    found += [
        (f"actions[{i}]", a.task_definition, a.placement_constraints)
        for i, a in enumerate(scenario.actions)
        if isinstance(a, RunTask)
    ]
    return found


def _check_placement(scenario: Scenario, errors: Problems, warnings: list[str]) -> None:
    """ENI trunking limits, ECS's 10-constraint limit, dates in queries, GPUs nobody has."""
    for i, fleet in enumerate(scenario.cluster.fleets):
        path = f"cluster.fleets[{i}]"
        if fleet.awsvpc_trunking:
            try:
                task_eni_limit(fleet.instance_type, True, fleet.eni_trunking_limit)
            except ValueError as exc:
                errors.append((f"{path}.eniTrunkingLimit", str(exc)))
        elif fleet.eni_trunking_limit is not None:
            warnings.append(f"{path}.eniTrunkingLimit: ignored without awsvpcTrunking: true")
    tds = scenario.task_definitions
    for path, ref, constraints in _requests(scenario):
        td = resolve_task_definition(tds, ref)
        own = len(td.placement_constraints) if td is not None else 0
        if len(constraints) + own > MAX_CONSTRAINTS:
            errors.append((
                f"{path}.placementConstraints",
                f"{len(constraints)} placement constraints plus the task definition's {own} make "
                f"{len(constraints) + own}; ECS allows {MAX_CONSTRAINTS} in total",
            ))
    if scenario.start_time is None:
        rules = [(f"taskDefinitions[{i}]", td.placement_constraints) for i, td in enumerate(tds)]
        rules += [(path, constraints) for path, _, constraints in _requests(scenario)]
        for path, constraints in rules:
            for j, constraint in enumerate(constraints):
                if constraint.expression and _compares_dates(parse(constraint.expression)):
                    errors.append((
                        f"{path}.placementConstraints[{j}].expression",
                        "registeredAt compares with a date: give the scenario a startTime (or compare "
                        "with simulated seconds)",
                    ))
    most_gpus = max((instance_type(f.instance_type).gpus for f in scenario.cluster.fleets), default=0)
    for i, td in enumerate(tds):
        gpus = sum(c.gpus for c in td.container_definitions)
        if gpus > most_gpus:
            warnings.append(
                f"taskDefinitions[{i}]: needs {gpus} GPU(s); no fleet's instance type has more than "
                f"{most_gpus}, so its tasks can never be placed"
            )


def _check_prices(scenario: Scenario, errors: Problems) -> None:
    """With ``prices``, every fleet's instance type needs a price for the fleet's market."""
    if scenario.prices is None:
        return
    for i, fleet in enumerate(scenario.cluster.fleets):
        price = scenario.prices.instances.get(fleet.instance_type)
        if price is None or price.for_market(fleet.market) is None:
            key = "spot" if fleet.market == "spot" else "onDemand"
            errors.append((f"prices.instances.{fleet.instance_type}.{key}",
                           f"fleet {fleet.name!r} (cluster.fleets[{i}], market {fleet.market}) needs this "
                           "price, USD per hour"))


def _compares_dates(node) -> bool:  # noqa: ANN001
    """True if the expression compares ``registeredAt`` with a date (not simulated seconds)."""
    if isinstance(node, Compare):
        argument = node.argument
        return node.subject == "registeredAt" and isinstance(argument, str) and not _SECONDS.fullmatch(argument)
    if isinstance(node, Not):
        return _compares_dates(node.operand)
    return any(_compares_dates(operand) for operand in node.operands)


# --------------------------------------------------------------------------- Service Auto Scaling
def _check_service_auto_scaling(scenario: Scenario, errors: Problems) -> None:
    """``demand`` and ``serviceAutoScaling`` name REPLICA services; CSV files read; metrics have what they need."""
    from .demand_curve import DemandFileError, build_curve  # here: keeps the checks' imports light

    services = {s.service_name: s for s in scenario.services}

    def replica(path: str, name: str) -> bool:
        service = services.get(name)
        if service is None:
            hint = closest(name, set(services))
            errors.append((path, f"unknown service {name!r}" + (f"; did you mean {hint[0]}?" if hint else
                                 f"; known: {', '.join(sorted(services)) or 'none'}")))
        elif service.scheduling_strategy == "DAEMON":
            errors.append((path, f"service {name!r} is a DAEMON service: only REPLICA services have a "
                                 "desiredCount to scale and demand to serve"))
        return service is not None and service.scheduling_strategy == "REPLICA"

    offered: set[tuple[str, str]] = set()
    for i, demand in enumerate(scenario.demand):
        replica(f"demand[{i}].service", demand.service)
        if (demand.service, demand.resource) in offered:
            errors.append((f"demand[{i}]", f"a second {demand.resource} demand for service {demand.service!r}"))
        offered.add((demand.service, demand.resource))
        try:
            build_curve(demand.curve, scenario.resolve_path)
        except DemandFileError as error:
            errors.append((f"demand[{i}].curve.file", str(error)))
    scaled: set[str] = set()
    for i, target in enumerate(scenario.service_auto_scaling):
        path = f"serviceAutoScaling[{i}]"
        if target.service_name in scaled:
            errors.append((f"{path}.serviceName", f"duplicate {target.service_name!r}: one scalable target per "
                                                  "service"))
        scaled.add(target.service_name)
        if not replica(f"{path}.serviceName", target.service_name):
            continue
        td = resolve_task_definition(scenario.task_definitions, services[target.service_name].task_definition)
        for j, policy in enumerate(target.policies):
            spec = policy.target_tracking_scaling_policy_configuration.predefined_metric_specification
            where = f"{path}.policies[{j}].targetTrackingScalingPolicyConfiguration.predefinedMetricSpecification"
            if spec.resource == "cpu" and td is not None and not (td.cpu or sum(c.cpu for c in td.container_definitions)):
                errors.append((f"{where}.predefinedMetricType",
                               f"task definition {td.key} reserves no CPU (no task-level cpu and container cpu 0): "
                               "ECSServiceAverageCPUUtilization has nothing to divide by; give it cpu or use "
                               "ECSServiceAverageMemoryUtilization"))
            if (target.service_name, spec.resource) not in offered:
                errors.append((f"{where}.predefinedMetricType",
                               f"{spec.predefined_metric_type} needs a demand entry for service "
                               f"{target.service_name!r} with resource: {spec.resource}"))
