"""Building the simulated world from a scenario: cluster, agents, control plane, load, faults.

Build, run and collect are separate steps (``World``, ``Simulation.run_until``,
``Simulation.result``), so notebooks can stop and look at the world in between.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import simpy

from ..control.capacity_provider import CapacityProviderRuntime
from ..control.daemon import DaemonScheduler
from ..control.health import health_rules
from ..control.plane import ControlPlane
from ..control.service import ServiceScheduler
from ..control.service_autoscaling import install_service_autoscaling
from ..placement import DEFAULT_RUNTASK_STRATEGY, DEFAULT_SERVICE_STRATEGY
from ..scenario.ecs_objects import FARGATE_PROVIDERS
from ..scenario.models import Scenario
from .actions import install_actions
from .agent import SimulatedAgent
from .asg import AutoScalingGroup
from .cluster import Cluster
from .ec2 import Ec2
from .eventlog import EventLog
from .fargate import FargateAgent, FargateCapacity, fargate_slot
from .faults import install_faults
from .recorder import Recorder
from .start_sharing import StartSharing
from .streams import Streams
from .taskspec import TaskSpec, task_spec
from .workloads import install_workloads

#: Makes the agent of one container instance: (world, slot, registered CPU, registered MiB,
#: the instance's agent random stream) -> an object with the agent interface of
#: :class:`~ecssim.model.agent.SimulatedAgent` (start_task, stop_task, terminate, ...).
AgentFactory = Callable[["World", int, int, int, np.random.Generator], Any]


def simulated_agent(world: World, slot: int, cpu: int, memory: int, rng: np.random.Generator) -> SimulatedAgent:
    """The default agent: the task lifecycle in simulated time."""
    agent = SimulatedAgent(world.env, slot, cpu, memory, world.scenario.timing, rng, world.rec, world.plane)
    agent.start_sharing = world.start_sharing()
    return agent


class World:
    """Everything a run simulates, wired together and ready to run."""

    def __init__(self, scenario: Scenario, seed: int, replication: int = 0, *, explain=None,  # noqa: ANN001
                 env: simpy.Environment | None = None, agent_factory: AgentFactory | None = None,
                 log: EventLog | None = None) -> None:
        """Build the world; ``explain`` is an explain probe for the control plane (see ``ecssim.insight``).

        ``env``: the SimPy environment to run in (default a new simulated-time one; a
        ``simpy.rt.RealtimeEnvironment`` runs the same world in wall-clock time).
        ``agent_factory``: makes the agent of each container instance (default
        :class:`SimulatedAgent`); the Docker mode passes one that runs real containers behind
        the same agent interface, so placement and the schedulers stay the same code.
        ``log``: where the rows go (default a new :class:`EventLog`; a summary-only run passes
        an :class:`~ecssim.analysis.online.OnlineSummary` sink that keeps none of them).
        """
        self.scenario = scenario
        self.seed = int(seed)
        self.replication = int(replication)
        self.duration = float(scenario.duration)
        self.env = env if env is not None else simpy.Environment()
        self.agent_factory: AgentFactory = agent_factory if agent_factory is not None else simulated_agent
        self.log = log if log is not None else EventLog()
        self.rec = Recorder(self.env, self.log)
        self.streams = Streams(seed, replication)
        total = sum(f.count for f in scenario.cluster.fleets)
        self.cluster = Cluster(scenario.cluster.reserved_ports, capacity=max(total, 16),
                               start_time=scenario.start_datetime(), clock=lambda: self.env.now)
        self.plane = ControlPlane(self.env, self.cluster, self.rec, scenario.timing, explain)
        self.down_azs: set[str] = set()  # AZs in an outage
        self.refusing_azs: set[str] = set()  # AZs that launch no new instance (an outage refusing them)
        self.asgs: dict[str, AutoScalingGroup] = {}  # fleet name -> its Auto Scaling group
        self.providers: dict[str, CapacityProviderRuntime] = {}  # capacity provider name -> its runtime
        self.ec2 = Ec2(self)
        contention = scenario.timing.container_start_contention
        self._cluster_starts = (StartSharing(self.env, contention.slowdown)
                                if contention.slowdown > 0 and contention.scope == "cluster" else None)
        self._specs: dict[str, TaskSpec] = {}
        self._latest: dict[str, TaskSpec] = {}
        for td in scenario.task_definitions:
            spec = task_spec(td, scenario.timing.stop_timeout)
            self._specs[spec.key] = spec
            latest = self._latest.get(td.family)
            if latest is None or td.revision > int(latest.key.rsplit(":", 1)[1]):
                self._latest[td.family] = spec
        self._task_definitions = {td.key: td for td in scenario.task_definitions}
        self._build_instances()
        install_faults(self)  # before the services: warm-started tasks meet the task-level faults too
        self._build_services()
        install_workloads(self)
        install_service_autoscaling(self)
        install_actions(self)

    def start_sharing(self) -> StartSharing | None:
        """The engine a new instance's container starts share (``timing.containerStartContention``):
        None without contention, the cluster's one engine, or a new one of the instance's own."""
        contention = self.scenario.timing.container_start_contention
        if contention.slowdown <= 0:
            return None
        if self._cluster_starts is not None:
            return self._cluster_starts
        return StartSharing(self.env, contention.slowdown)

    # ------------------------------------------------------------------ lookups
    def spec_for(self, reference: str) -> TaskSpec:
        """The task definition a ``family``, ``family:revision`` or task-definition ARN reference names."""
        if reference.startswith("arn:"):
            reference = reference.rsplit("task-definition/", 1)[-1]
        if reference in self._specs:
            return self._specs[reference]
        return self._latest[reference]

    def strategies_for(self, strategies, *, service: bool) -> tuple:  # noqa: ANN001
        """ECS's placement strategy list as (type, field) pairs, or ECS's default."""
        if strategies is None:
            return DEFAULT_SERVICE_STRATEGY if service else DEFAULT_RUNTASK_STRATEGY
        return tuple(s.as_tuple() for s in strategies)

    def constraints_for(self, constraints, spec: TaskSpec) -> tuple:  # noqa: ANN001
        """Request-level constraints plus the task definition's own, memberOf ones compiled."""
        td = self._task_definitions[spec.key]
        return tuple(c.as_tuple() for c in list(constraints) + list(td.placement_constraints))

    def resolve_path(self, path: str) -> Path:
        """A path from the scenario file, relative to the file's folder."""
        candidate = Path(path)
        base = getattr(self.scenario, "base_dir", None)
        if not candidate.is_absolute() and base is not None:
            candidate = Path(base) / candidate
        return candidate

    def live_tasks(self) -> list:
        """Tasks not yet STOPPED, in creation order."""
        tasks = [t for agent in self.plane.agents for t in agent.tasks.values()]
        return sorted(tasks, key=lambda t: t.num)

    # ------------------------------------------------------------------ building
    def _build_instances(self) -> None:
        """Each fleet is an Auto Scaling group that launches its instances (see ``asg``); capacity
        providers take over the groups they name before the first launch."""
        for fleet in self.scenario.cluster.fleets:
            self.asgs[fleet.name] = AutoScalingGroup(self, fleet)
        for model in self.scenario.capacity_providers:
            asg = self.asgs[model.auto_scaling_group_provider.fleet]
            runtime = CapacityProviderRuntime(self, model, asg)
            self.providers[model.name] = runtime
            self.plane.fleet_providers[asg.name] = runtime
        self._build_fargate()
        for asg in self.asgs.values():
            asg.launch_initial(self.scenario.warm_start)
        for runtime in self.plane.fleet_providers.values():
            runtime.start()

    def _build_fargate(self) -> None:
        """The FARGATE and FARGATE_SPOT providers and one Fargate agent per Fargate AZ."""
        for name in FARGATE_PROVIDERS:
            self.providers[name] = FargateCapacity(name)
        cluster = self.scenario.cluster
        azs = cluster.fargate_availability_zones
        if azs is None:
            azs = list(dict.fromkeys(az for fleet in cluster.fleets for az in fleet.availability_zones))
            azs = azs or ["us-east-1a", "us-east-1b", "us-east-1c"]
        self.rec.fargate_azs = list(azs)
        for index, az in enumerate(azs):
            rng = self.streams.get("fargate", az)
            self.plane.fargate_agents.append(FargateAgent(self.env, fargate_slot(index), self.scenario.timing, rng,
                                                          self.rec, self.plane))

    def provider_items(self, items, launch_type: str | None) -> tuple:  # noqa: ANN001
        """The capacity provider strategy a request uses as ``(provider, base, weight)``: its own, else
        the cluster's default when it names no launch type (6.1); () for the EC2 launch type."""
        if launch_type == "FARGATE":
            return (("FARGATE", 0, 1),)
        if not items and launch_type is None:
            items = self.scenario.cluster.default_capacity_provider_strategy
        return tuple((i.capacity_provider, i.base, i.weight) for i in items)

    def _build_services(self) -> None:
        for model in self.scenario.services:
            spec = self.spec_for(model.task_definition)
            strategies = self.strategies_for(model.placement_strategy, service=True)
            constraints = self.constraints_for(model.placement_constraints, spec)
            rng = self.streams.get("service", model.service_name)
            placement_rng = self.streams.get("placement", f"service:{model.service_name}")
            rules_for = self._rules_for(model)
            if model.scheduling_strategy == "DAEMON":
                service = DaemonScheduler(self.plane, model, spec, constraints, rng, placement_rng, rules_for)
            else:
                service = ServiceScheduler(
                    self.plane, model, spec, constraints, strategies, rng, placement_rng,
                    constraints_for=lambda s, m=model: self.constraints_for(m.placement_constraints, s),
                    rules_for=rules_for)
            if model.scheduling_strategy != "DAEMON":
                service.use_providers(self.provider_items(model.capacity_provider_strategy, model.launch_type),
                                      self.providers)
            self.plane.services[service.name] = service
            dc = model.deployment_configuration
            self.log.services.append((service.name, spec.key, model.scheduling_strategy, model.desired_count,
                                      dc.maximum_percent, dc.minimum_healthy_percent))
            self.rec.service_row(service.name, "state", "", "ACTIVE")
            self.rec.service_row(service.name, "desired_count", "", str(model.desired_count),
                                 float(model.desired_count))
        # Daemon tasks first: on every instance already registered (all of them with a warm start).
        self.plane.warm_starting = self.scenario.warm_start
        for daemon in self.plane.daemons():
            daemon.reconcile()
        if self.scenario.warm_start:
            self._place_initial_tasks()
            self._warm_start_services()
        self.plane.warm_starting = False
        for service in self.plane.services.values():
            if service.kind == "REPLICA" and len(service.live) < service.desired:
                service.notify()

    def _rules_for(self, model):  # noqa: ANN001, ANN202
        """spec -> the health rules of the service's tasks of that task definition."""
        groups = {g.target_group_arn: g for g in self.scenario.target_groups}
        healthy_after = float(self.scenario.timing.healthy_after_running)

        def rules(spec: TaskSpec):  # noqa: ANN202
            containers = self._task_definitions[spec.key].container_definitions
            return health_rules(containers, model.load_balancers, groups, healthy_after)

        return rules

    def _place_initial_tasks(self) -> None:
        """``initialTasks``: tasks RUNNING at t=0 on the instance a snapshot found them on (no placement
        decision beyond the fit check; one that does not fit is a placement failure, as any)."""
        rng = self.streams.get("initial-tasks", "durations")
        for item in self.scenario.initial_tasks:
            spec = self.spec_for(item.task_definition)
            slot = self.asgs[item.fleet].slots[item.instance]
            service = self.plane.services[item.service] if item.service is not None else None
            group = service.group if service is not None else (item.group or f"family:{spec.family}")
            for _ in range(item.count):
                duration = item.duration.sample(rng) if item.duration is not None else math.inf
                task, decision = self.plane.launch_on(slot, spec, group, service, "warmStart", (), duration)
                if task is None and service is not None:
                    service._placement_failed(decision)

    def _warm_start_services(self) -> None:
        """Place every service's desired tasks RUNNING at t=0 (beyond its initial tasks), round-robin over
        the services."""
        services = [s for s in self.plane.services.values() if s.kind == "REPLICA"]
        remaining = {s.name: max(s.desired - len(s.live), 0) for s in services}
        while any(remaining.values()):
            for service in services:
                if remaining[service.name] == 0:
                    continue
                task, decision = self.plane.launch(service.spec, service.group, service, "warmStart",
                                                   service.strategies, service.constraints, service.placement_rng,
                                                   float("inf"), service._next_provider())
                if task is None:
                    service._placement_failed(decision)
                    remaining[service.name] = 0
                    continue
                remaining[service.name] -= 1
        for service in services:
            service._check_progress()
