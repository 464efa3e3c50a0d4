"""Fargate Spot interruptions (ecs-reference 6.5): the ``fargateSpotInterruption`` fault at run time.

An interrupted task gets ECS's warning: its desired status becomes STOPPED with stopCode
``TerminationNotice`` and stoppedReason ``Your Spot Task was interrupted.``; it is SIGTERMed and
stops as any stopped task does, its SIGTERM-to-SIGKILL capped at 120 s (Fargate's limit, within
the two-minute notice). Each interrupted task opens an incident of kind
``fargate_spot_interruption``. With ``capacityUnavailableFor`` the FARGATE_SPOT provider then
refuses launches for that long, and services retry with their placement back-off.
"""

from __future__ import annotations

import math

from .fargate import SPOT_INTERRUPTED_REASON, TERMINATION_NOTICE
from .task import RUNNING, Task
from .timers import call_later

KIND = "fargate_spot_interruption"


class FargateSpotFault:
    """One ``fargateSpotInterruption`` fault: scheduled (``at``) or per running task (``mtti``)."""

    def __init__(self, world, fault, name: str, rng) -> None:  # noqa: ANN001
        self.world = world
        self.fault = fault
        self.name = name
        self.rng = rng
        self.capacity = world.providers["FARGATE_SPOT"]

    def install(self) -> None:
        if self.fault.mtti is not None:
            self.world.plane.running_listeners.append(self._running)
        else:
            for at in sorted(self.fault.at):
                call_later(self.world.env, at, self._scheduled)

    def _hit(self, task: Task) -> bool:
        return (task.capacity_provider == "FARGATE_SPOT" and task.desired_running and task.state == RUNNING
                and (self.fault.service is None or task.service_name == self.fault.service))

    def _running(self, task: Task) -> None:
        if task.capacity_provider != "FARGATE_SPOT":
            return
        delay = float(self.rng.exponential(self.fault.mtti))
        call_later(self.world.env, delay, self._interrupt_if_running, task)

    def _interrupt_if_running(self, task: Task) -> None:
        if self._hit(task):
            self.interrupt(task)

    def _scheduled(self) -> None:
        tasks = sorted((t for agent in self.world.plane.fargate_agents for t in agent.tasks.values() if self._hit(t)),
                       key=lambda t: t.num)
        if not tasks:
            return
        fault = self.fault
        count = math.ceil(fault.fraction * len(tasks)) if fault.fraction is not None else (fault.count or 1)
        picks = self.rng.choice(len(tasks), size=min(count, len(tasks)), replace=False)
        for k in sorted(int(i) for i in picks):
            self.interrupt(tasks[k])

    def interrupt(self, task: Task) -> None:
        """Interrupt one task: its incident, the warning (stop), and Spot capacity gone for a while."""
        plane = self.world.plane
        incident = plane.new_incident()
        plane.rec.fault(incident, "fault", KIND, self.name, az=plane.rec.where(task.slot)[1],
                        service=task.service_name)
        task.incident = incident
        plane.stop_task(task, TERMINATION_NOTICE, SPOT_INTERRUPTED_REASON)
        if self.fault.capacity_unavailable_for > 0:
            until = self.world.env.now + self.fault.capacity_unavailable_for
            self.capacity.unavailable_until = max(self.capacity.unavailable_until, until)
