"""The simulated ECS agent: runs the task lifecycle on one container instance.

This is one implementation of the agent interface the control plane talks to
(``start_task``, ``stop_task``, ``terminate``; state changes reported through the
recorder). The Docker-backed agent of a later issue implements the same three calls with
real containers, so placement and the service scheduler are the same code in both.

Which states take time (EC2 launch type; every transition is recorded, zero-length ones too):
- PROVISIONING: ``timing.eniAttach`` for awsvpc tasks, else none.
- PENDING: waiting for the host's own ledger to free resources held by stopping tasks
  (FIFO, but a task starts as soon as its own resources fit, agent >= 1.73), then the
  image pull (``timing.imagePull``; cached images cost nothing, per instance), then the
  container start (``timing.containerStart``). A start that a ``failedStart`` fault fails
  spends one ``timing.imagePull`` draw (cache or not, and caching nothing), then goes
  STOPPING -> STOPPED with stopCode ``TaskFailedToStart`` (``CannotPullContainerError``).
- ACTIVATING: none (load balancers and service discovery come later).
- RUNNING: until the task's own duration ends, it crashes or is OOM-killed (stopCode
  ``EssentialContainerExited``), or it is stopped.
- DEACTIVATING: the target group's deregistration delay (``task.deregistration_s``, set by
  the control plane from the service's target group; 300 s by default) when a RUNNING task
  of a load-balanced service is stopped; none otherwise, nor when its essential container
  exited by itself (the target is already failing; ecssim's simplification).
- STOPPING: ``timing.containerStop`` capped by the stop timeout when the task is stopped;
  none when its essential container exited by itself.
- DEPROVISIONING: ``timing.eniDetach`` for awsvpc tasks, else none.

When the host stops working (``die``: an impaired or terminated host) nothing on it moves
any more: no row until ECS learns of the termination (``terminate``), and a task placed on
it meanwhile stays PROVISIONING. While the agent is disconnected (``disconnect``) the host
works, but ECS's stop requests and the exits of RUNNING tasks reach ECS only when it
reconnects (task starts are still recorded as they happen: a simplification).
"""

from __future__ import annotations

import math

import simpy

from .recorder import Recorder
from .start_sharing import StartSharing
from .task import (
    ACTIVATING,
    DEACTIVATING,
    DEPROVISIONING,
    ESSENTIAL_CONTAINER_EXITED,
    ESSENTIAL_EXIT_REASON,
    PENDING,
    PROVISIONING,
    RUNNING,
    STOPPED,
    STOPPING,
    TASK_FAILED_TO_START,
    Task,
    pull_error_reason,
)


class SimulatedAgent:
    """The agent of one container instance, with the host's own resource ledger."""

    __slots__ = ("env", "slot", "timing", "rng", "rec", "control", "host_cpu_free", "host_memory_free",
                 "waiting", "images", "tasks", "alive", "_terminated", "on_terminated", "connected", "held_stops", "reconnected",
                 "disconnected_by", "start_sharing")

    def __init__(self, env: simpy.Environment, slot: int, cpu: int, memory: int, timing, rng,  # noqa: ANN001
                 recorder: Recorder, control) -> None:  # noqa: ANN001
        self.env = env
        self.slot = slot
        self.timing = timing
        self.rng = rng
        self.rec = recorder
        self.control = control
        self.host_cpu_free = cpu
        self.host_memory_free = memory
        self.waiting: list[tuple[Task, simpy.Event]] = []
        self.images: dict[str, object] = {}  # image -> True (cached) or the pull's completion event
        self.tasks: dict[str, Task] = {}  # live tasks on this host, in arrival order
        self.alive = True  # the host works (False once impaired or terminated)
        self._terminated = False  # EC2 terminated the host (ECS may learn it later)
        self.on_terminated = None  # called with the slot once the host is terminated (its Auto Scaling group)
        self.connected = True  # the agent talks to ECS
        self.held_stops: list[Task] = []  # stop requests waiting for the agent to reconnect
        self.reconnected: simpy.Event | None = None  # succeeds when a disconnected agent reconnects
        self.disconnected_by = ""  # the incident that disconnected the agent
        self.start_sharing: StartSharing | None = None  # the engine's concurrent starts (None: no contention)

    @property
    def terminated(self) -> bool:
        """EC2 terminated the host (ECS may learn it later)."""
        return self._terminated

    @terminated.setter
    def terminated(self, value: bool) -> None:
        was = self._terminated
        self._terminated = value
        if value and not was and self.on_terminated is not None:
            self.on_terminated(self.slot)

    # ------------------------------------------------------------------ the agent interface
    def start_task(self, task: Task) -> None:
        """Run a task the control plane placed here (it is already recorded as PROVISIONING).

        On a host that stopped working the task never starts (PROVISIONING until ECS learns).
        """
        self.tasks[task.id] = task
        if self.alive:
            task.process = self.env.process(self._lifecycle(task))

    def stop_task(self, task: Task) -> None:
        """Stop a task (its stop code and reason are already set by the control plane).

        A dead host never hears it; a disconnected agent hears it when it reconnects.
        """
        if not self.alive:
            return
        if not self.connected:
            self.held_stops.append(task)
            return
        process = task.process
        if process is not None and process.is_alive:
            process.interrupt("stop")

    def die(self) -> None:
        """The host stops working (impaired or terminated): nothing on it moves any more."""
        self.alive = False
        self.held_stops.clear()

    def disconnect(self, incident: str) -> None:
        """The agent loses its connection to ECS; the host keeps working."""
        self.connected = False
        self.disconnected_by = incident
        self.reconnected = self.env.event()

    def reconnect(self) -> None:
        """The agent reconnects: held exits are reported and held stop requests delivered."""
        self.connected = True
        self.disconnected_by = ""
        event, self.reconnected = self.reconnected, None
        if event is not None:
            event.succeed()
        held, self.held_stops = self.held_stops, []
        for task in held:
            if task.id in self.tasks:
                self.stop_task(task)

    def terminate(self, reason_for, incident: str) -> None:  # noqa: ANN001
        """ECS learns the host is gone: every task on it goes straight to STOPPED."""
        self.alive = False
        self.terminated = True
        self.held_stops.clear()
        rec = self.rec
        for task in list(self.tasks.values()):
            if task.desired_running:
                task.stop_reason = reason_for
                task.stop_code = ""
                task.incident = incident
            if task.state == RUNNING and task.desired_running:  # (a stopped one has an interrupt on its way)
                self._let_go(task)
            rec.task_state(task, STOPPED)
            if task.host_acquired:
                task.host_acquired = False
                self.host_cpu_free += task.cpu  # the ledger agrees with the host_released row
                self.host_memory_free += task.memory
                rec.task_event(task, "host_released")
        self.tasks.clear()
        self.waiting.clear()
        # Nothing more happens on this host (every step checks ``alive`` before it draws): let go
        # of what a long run would otherwise keep for every instance it ever launched.
        self.images = {}
        self.rng = None

    def _let_go(self, task: Task) -> None:
        """Take a RUNNING task of a terminated host off its run timer: after it the process would
        only find the host gone and end. Otherwise the process, the task and this agent stay in
        memory, and the timer in SimPy's queue, until each task would have ended, days later
        for a service task (17,000 such after the large benchmark's AZ outage: 26 MiB of its peak)."""
        process = task.process
        task.process = None
        if process is None:
            return
        timer = process.target
        if isinstance(timer, simpy.Timeout) and timer.callbacks and process._resume in timer.callbacks:
            timer.callbacks.remove(process._resume)  # what SimPy's Interruption does, without the event

    def warm_start(self, task: Task) -> None:
        """Bring a task to RUNNING at once (warm start): every transition recorded at t=0."""
        self.tasks[task.id] = task
        rec = self.rec
        rec.task_state(task, PENDING)
        self._acquire(task)
        rec.task_event(task, "pull_started")
        for image in task.spec.images:
            self.images[image] = True
        rec.task_event(task, "pull_stopped")
        rec.task_state(task, ACTIVATING)
        rec.task_state(task, RUNNING)
        task.process = self.env.process(self._run(task))

    # ------------------------------------------------------------------ lifecycle
    def _lifecycle(self, task: Task):
        if not self.alive:  # the host died between the placement and this process's first step
            return
        env, rec, timing, rng = self.env, self.rec, self.timing, self.rng
        containers_started = False
        failed = False
        try:
            if task.spec.network_mode == "awsvpc":
                yield env.timeout(timing.eni_attach.sample(rng))
                if not self.alive:
                    return
            rec.task_state(task, PENDING)
            if self._fits(task):
                self._acquire(task)
            else:
                ready = env.event()  # succeeds once _release has acquired the resources for it
                self.waiting.append((task, ready))
                yield ready
                if not self.alive:
                    return
            rec.task_event(task, "pull_started")
            if self.control.start_faults and self.control.start_fails(task):
                yield env.timeout(timing.image_pull.sample(rng))  # the pull is retried, then given up
                if not self.alive:
                    return
                failed = True
            else:
                yield from self._pull(task)
                if not self.alive:
                    return
                rec.task_event(task, "pull_stopped")
                containers_started = True
                yield from self._start_containers(task)
                if not self.alive:
                    return
                rec.task_state(task, ACTIVATING)
                rec.task_state(task, RUNNING)
        except simpy.Interrupt:
            yield from self._stop_before_running(task, containers_started)
            return
        if failed:
            task.stop_code = TASK_FAILED_TO_START
            task.stop_reason = pull_error_reason(task)
            yield from self._stop_before_running(task, False)
            return
        yield from self._run(task)

    def _pull(self, task: Task):
        """Pull the task's images not cached on this host (one pull per image, shared by waiting tasks)."""
        images = self.images
        for image in task.spec.images:
            pull = images.get(image)
            if pull is None:
                pull = self.env.timeout(self.timing.image_pull.sample(self.rng))
                images[image] = pull
                yield pull
                images[image] = True
            elif pull is not True:
                yield pull
            if not self.alive:
                return

    def _run(self, task: Task):
        run_for = task.duration
        crash_after, crash = self.control.crash_delay(task)
        if crash_after < run_for:
            run_for = crash_after
        else:
            crash = None
        try:
            ended_by = yield from self._run_containers(task, run_for, crash)
            if not self.alive:
                return
            if not self.connected:  # the exit reaches ECS when the agent reconnects
                yield self.reconnected
        except simpy.Interrupt:
            if self.alive:
                yield from self._stop_running(task)
            return
        if not self.alive:
            return
        task.stop_code = ESSENTIAL_CONTAINER_EXITED
        if ended_by is not None:
            task.incident = self.control.record_crash(task, ended_by)
            task.stop_reason = ended_by.reason
        else:
            task.stop_reason = ESSENTIAL_EXIT_REASON
        yield from self._exit(task)

    # ------------------------------------------------------------------ the containers
    # The three steps that touch containers; the Docker agent overrides them with real ones.
    def _start_containers(self, task: Task):
        """Create and start the task's containers (``timing.containerStart``, slowed down by the
        other starts on the same engine when ``timing.containerStartContention`` says so)."""
        work = self.timing.container_start.sample(self.rng)
        if self.start_sharing is None:
            yield self.env.timeout(work)
        else:
            yield from self.start_sharing.run(work)

    def _run_containers(self, task: Task, run_for: float, crash):  # noqa: ANN001
        """The containers run ``run_for`` seconds (inf: until stopped), then the essential one
        exits: by itself, or ended by ``crash``, the fault runtime (task crash, OOM kill) due
        at ``run_for`` (None: no fault ends it).

        Returns the fault that really ended the task (None: it exited by itself); its
        ``kind``, ``name`` and ``reason`` make the incident and the stop reason. Simulated
        containers always do what the fault says, so this is ``crash``; the Docker agent
        returns what the engine reported.
        """
        yield self.env.timeout(run_for) if run_for != math.inf else self.env.event()
        return crash

    def _stop_containers(self, task: Task):
        """Stop the task's containers: SIGTERM, then SIGKILL at the stop timeout (``timing.containerStop``)."""
        yield self.env.timeout(min(self.timing.container_stop.sample(self.rng), task.spec.stop_timeout_s))

    def _exit(self, task: Task):
        """The essential container exited by itself: nothing left to stop."""
        rec = self.rec
        rec.task_state(task, DEACTIVATING)
        rec.task_state(task, STOPPING)
        yield from self._deprovision(task)

    def _stop_running(self, task: Task):
        """A stop was requested while RUNNING: SIGTERM, wait for exit (at most the stop timeout)."""
        rec = self.rec
        rec.task_state(task, DEACTIVATING)
        if task.deregistration_s > 0.0:  # the load balancer drains the target first
            yield self.env.timeout(task.deregistration_s)
            if not self.alive:
                return
        rec.task_state(task, STOPPING)
        yield from self._stop_containers(task)
        if self.alive:
            yield from self._deprovision(task)

    def _stop_before_running(self, task: Task, containers_started: bool):
        rec = self.rec
        if task.state == PROVISIONING:
            yield from self._deprovision(task)
            return
        self.waiting = [(t, ev) for t, ev in self.waiting if t is not task]
        rec.task_state(task, STOPPING)
        if containers_started:
            yield from self._stop_containers(task)
            if not self.alive:
                return
        if task.spec.network_mode == "awsvpc":
            yield from self._deprovision(task)  # a PENDING bridge task skips DEPROVISIONING (decisions.md)
        else:
            self._finish(task)

    def _deprovision(self, task: Task):
        rec = self.rec
        rec.task_state(task, DEPROVISIONING)
        if task.spec.network_mode == "awsvpc":
            yield self.env.timeout(self.timing.eni_detach.sample(self.rng))
            if not self.alive:
                return
        self._finish(task)

    def _finish(self, task: Task) -> None:
        rec = self.rec
        rec.task_state(task, STOPPED)
        del self.tasks[task.id]
        if task.host_acquired:
            self._release(task)

    # ------------------------------------------------------------------ host ledger
    def _fits(self, task: Task) -> bool:
        return task.cpu <= self.host_cpu_free and task.memory <= self.host_memory_free and not self.waiting

    def _acquire(self, task: Task) -> None:
        self.host_cpu_free -= task.cpu
        self.host_memory_free -= task.memory
        task.host_acquired = True
        self.rec.task_event(task, "host_acquired")

    def _release(self, task: Task) -> None:
        self.host_cpu_free += task.cpu
        self.host_memory_free += task.memory
        task.host_acquired = False
        self.rec.task_event(task, "host_released")
        # Agent >= 1.73: start queued tasks in FIFO order as soon as their own resources fit.
        still_waiting = []
        for waiting_task, ready in self.waiting:
            if waiting_task.cpu <= self.host_cpu_free and waiting_task.memory <= self.host_memory_free:
                self._acquire(waiting_task)
                ready.succeed()
            else:
                still_waiting.append((waiting_task, ready))
        self.waiting = still_waiting
