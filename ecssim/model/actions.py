"""Operator actions at given times: updateService, stopTask, runTask, terminateInstance, drainInstance,
activateInstance.

terminateInstance is an EC2 termination like a failure's (the fleet's Auto Scaling group
replaces the instance), but it is no incident.
"""

from __future__ import annotations

import math

from ..scenario.models import (
    ActivateInstance,
    DrainInstance,
    RunTask,
    StopTask,
    TerminateInstance,
    UpdateService,
)
from .selection import select_instances
from .task import RUNNING, USER_INITIATED


def action_key(action, position: int) -> str:  # noqa: ANN001
    """The stable name of an action's random stream: its name, else its kind and position."""
    return action.name or f"{action.type}[{position}]"


def install_actions(world) -> None:  # noqa: ANN001
    """Start one process per action of the scenario."""
    for position, action in enumerate(world.scenario.actions):
        name = action_key(action, position)
        world.env.process(_perform(world, action, name, world.streams.get("action", name)))


def _perform(world, action, name: str, rng):  # noqa: ANN001
    yield world.env.timeout(action.at)
    plane, rec = world.plane, world.plane.rec
    if isinstance(action, UpdateService):
        changes = []
        if action.desired_count is not None:
            changes.append(f"desiredCount={action.desired_count}")
        if action.task_definition is not None:
            changes.append(f"taskDefinition={world.spec_for(action.task_definition).key}")
        if action.force_new_deployment:
            changes.append("forceNewDeployment")
        rec.action(name, action.type, " ".join(changes), service=action.service)
        service = plane.services[action.service]
        if action.desired_count is not None:
            service.set_desired(action.desired_count)
        if action.task_definition is not None or action.force_new_deployment:
            spec = world.spec_for(action.task_definition) if action.task_definition is not None else service.spec
            service.update(spec, action.force_new_deployment)
    elif isinstance(action, StopTask):
        tasks = _tasks_to_stop(world, action, rng)
        rec.action(name, action.type, f"stop {' '.join(t.id for t in tasks) or 'nothing'}",
                   service=action.service or "")
        for task in tasks:
            plane.stop_task(task, USER_INITIATED, action.reason)
    elif isinstance(action, RunTask):
        rec.action(name, action.type, f"{action.count} x {action.task_definition}")
        spec = world.spec_for(action.task_definition)
        durations = ([action.duration.sample(rng) for _ in range(action.count)] if action.duration is not None
                     else [math.inf] * action.count)
        plane.run_task(spec, action.count, action.group or f"family:{spec.family}", f"action:{name}",
                       world.strategies_for(action.placement_strategy, service=False),
                       world.constraints_for(action.placement_constraints, spec),
                       world.streams.get("placement", f"action:{name}"), durations,
                       (world.provider_items([], None), world.providers))
    elif isinstance(action, TerminateInstance):
        slots = select_instances(world.cluster.infos, action.select, rng)
        rec.action(name, action.type, " ".join(world.cluster.infos[s].id for s in slots) or "nothing")
        for slot in slots:
            world.ec2.terminate(slot, f"Instance terminated by the operator (action {name})")
    elif isinstance(action, ActivateInstance):
        slots = select_instances(world.cluster.infos, action.select, rng)
        rec.action(name, action.type, " ".join(world.cluster.infos[s].id for s in slots) or "nothing")
        for slot in slots:
            plane.activate_instance(slot, f"UpdateContainerInstancesState ACTIVE (action {name})")
    elif isinstance(action, DrainInstance):
        slots = select_instances(world.cluster.infos, action.select, rng)
        rec.action(name, action.type, " ".join(world.cluster.infos[s].id for s in slots) or "nothing")
        for slot in slots:
            plane.drain_instance(slot, f"UpdateContainerInstancesState DRAINING (action {name})")


def _tasks_to_stop(world, action: StopTask, rng) -> list:  # noqa: ANN001
    if action.task_ids is not None:
        wanted = set(action.task_ids)
        return [t for t in world.live_tasks() if t.id in wanted]
    service = world.plane.services[action.service]
    running = [t for t in service.live.values() if t.state == RUNNING]
    if len(running) <= action.count:
        return running
    picks = sorted(int(k) for k in rng.choice(len(running), size=action.count, replace=False))
    return [running[k] for k in picks]
