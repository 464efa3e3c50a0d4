"""The Docker agent: the task lifecycle of :class:`SimulatedAgent` with real containers.

:class:`DockerAgent` keeps the simulated agent's lifecycle and every recording call, and
replaces only its container steps: each task becomes one container per container definition
on the local engine (``nano_cpus``/``mem_limit`` from the task definition, ecssim's labels,
no network), running the stand-in workload for the task's duration scaled to wall time.
Blocking Docker API calls run in worker threads; a SimPy process resumes when the engine's
own event (``start``, ``die``) arrives through :class:`~ecssim.docker.engine.EventReader`
and :meth:`~ecssim.docker.realtime.WallClockEnvironment.call_threadsafe`, so nothing
polls and every state row falls at the simulated time the real event maps to.

Faults happen for real. A task crash (``taskCrash``) is a SIGKILL of the essential
container's main process from the host. An OOM kill (``memoryUse``) of a stand-in container
under a hard memory limit is the kernel's own: the workload is armed to hog memory on
:data:`~ecssim.docker.images.HOG_SIGNAL`, sent when the simulated use crosses the limit, and
the task's outcome is what the engine then reports (see :meth:`DockerAgent._run_containers`).

:func:`~ecssim.docker.real_run.run_real` runs a whole scenario this way: the same placement,
service scheduler and control plane as :func:`ecssim.simulate`, in scaled wall-clock time.
"""

from __future__ import annotations

import math
import re
import signal
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, NamedTuple

import simpy

from ..model.agent import SimulatedAgent
from ..model.faults import CrashRuntime, MemoryKill
from ..model.task import ESSENTIAL_EXIT_REASON, Task
from .cgroups import InstanceCgroups
from .cleanup import CONFLICT
from .engine import EngineEvent, HostKillUnavailable, docker_sdk, kill_main_process
from .images import HOG_SIGNAL, WORKLOAD_IMAGE, WORKLOAD_NETWORK_MODE, ensure_workload_image, workload_command
from .labels import container_labels
from .realtime import WallClockEnvironment

if TYPE_CHECKING:  # pragma: no cover
    import docker

    from ..model.world import World
    from ..scenario.ecs_objects import ContainerDefinition, TaskDefinition

#: CPU units per CPU (ECS's unit), and the engine's nano-CPUs per CPU.
CPU_UNITS_PER_CPU = 1024
NANO_CPUS_PER_CPU = 1_000_000_000
#: Worker threads making blocking Docker API calls (creates, starts, stops, kills).
API_WORKERS = 8
#: Wall seconds to wait, after the ``die`` of a container signalled to hog memory, for an
#: ``oom`` event not delivered yet, before concluding that it died without an OOM kill. The
#: engine sends ``oom`` before ``die``, so this is spent only when no OOM kill happened (or
#: the events came out of order); it is an ecssim choice, not an engine figure.
OOM_EVENT_GRACE_WALL_S = 0.5


class ContainerExit(NamedTuple):
    """The real exit of a task's essential container, as the engine reported it."""

    task_id: str
    container_id: str
    exit_code: int
    simulated_s: float  # when the die event reached the simulation
    engine_time_s: float  # the engine's own timestamp (epoch seconds)
    crashed: bool  # ecssim signalled its process to inject a fault (SIGKILL: crash; HOG_SIGNAL: OOM)
    oom_killed: bool  # the engine reported an ``oom`` event of the container


class ContainerEvents:
    """Routes the engine's container events to SimPy events waiting for them.

    ``post`` runs in the reader thread and hands each event to the SimPy thread; there,
    every waiter on (container, action) succeeds with the :class:`EngineEvent`. The last
    event of each (container, action) is kept, so a wait that starts after the event
    (a start that came before the API call returned) succeeds at once.
    """

    def __init__(self) -> None:
        self.env: WallClockEnvironment | None = None
        self._seen: dict[tuple[str, str], EngineEvent] = {}
        self._waiters: dict[tuple[str, str], list[simpy.Event]] = defaultdict(list)

    def post(self, event: EngineEvent) -> None:
        """Hand an engine event to the SimPy thread (called in the reader thread)."""
        env = self.env
        if env is not None:
            env.call_threadsafe(self._deliver, event)

    def _deliver(self, event: EngineEvent) -> None:
        key = (event.container_id, event.action)
        self._seen[key] = event
        for waiter in self._waiters.pop(key, ()):
            waiter.succeed(event)

    def seen(self, container_id: str, action: str) -> EngineEvent | None:
        """The last ``action`` event of the container delivered so far, if any."""
        return self._seen.get((container_id, action))

    def when(self, container_id: str, action: str) -> simpy.Event:
        """A SimPy event that succeeds with the container's ``action`` event (at once if seen)."""
        waiter = self.env.event()
        event = self._seen.get((container_id, action))
        if event is not None:
            waiter.succeed(event)
        else:
            self._waiters[(container_id, action)].append(waiter)
        return waiter


class DockerRun:
    """What the agents of one run share: engine, run id, events, worker threads, images."""

    def __init__(self, client: docker.DockerClient, run_id: str, events: ContainerEvents) -> None:
        self.client = client
        self.run_id = run_id
        self.events = events
        self.executor = ThreadPoolExecutor(max_workers=API_WORKERS, thread_name_prefix="ecssim-docker-api")
        self.definitions: dict[str, TaskDefinition] = {}  # family:revision -> task definition
        self.images: dict[str, str] = {}  # task definition image -> image to run
        self.exits: list[ContainerExit] = []
        self.env: WallClockEnvironment | None = None
        self.cgroups: InstanceCgroups | None = None  # per-instance cgroup parents, when asked for

    def bind(self, world: World) -> None:
        """Attach to the world's clock and resolve its task definitions' images (once)."""
        if self.env is not None:
            return
        if not isinstance(world.env, WallClockEnvironment):
            raise TypeError("the Docker agent needs a WallClockEnvironment (real time with thread-safe callbacks)")
        self.env = self.events.env = world.env
        not_found = docker_sdk().errors.ImageNotFound
        for td in world.scenario.task_definitions:
            self.definitions[td.key] = td
            for container in td.container_definitions:
                image = container.image
                if image and image not in self.images:
                    try:
                        self.client.images.get(image)
                        self.images[image] = image
                    except not_found:
                        self.images[image] = ensure_workload_image(self.client)

    def call(self, function: Callable[..., Any], *args: Any) -> simpy.Event:
        """Run a blocking ``function(*args)`` in a worker thread; the returned SimPy event
        succeeds with its result (or fails with its exception) in the SimPy thread."""
        env = self.env
        done = env.event()

        def settle(future: Future) -> None:
            error = future.exception()
            if error is not None:
                done.fail(error)
            else:
                done.succeed(future.result())

        self.executor.submit(function, *args).add_done_callback(lambda f: env.call_threadsafe(settle, f))
        return done

    def kill_quietly(self, containers: list) -> None:
        """Kill containers in the background (host gone, leftovers); errors are ignored."""
        if containers:
            self.executor.submit(_kill_all, containers)

    def start_warm_containers(self, agents: list) -> int:
        """Start the containers of every warm-started task now, before the clock starts, and
        return how many tasks: a warm start means RUNNING at t=0, as in the simulation, so
        their real starts (several at once, slowed by each other) must not eat into the run.

        Call it after the world is built and before its clock starts; the starts run in the
        worker threads, and this returns when every create+start call has returned.
        """
        launches = [(agent, task.id, self.executor.submit(agent._create_and_start, agent._container_specs(task)))
                    for agent in agents if isinstance(agent, DockerAgent)
                    for task in agent.tasks.values() if task.id not in agent.containers]
        for agent, task_id, launch in launches:
            agent.containers[task_id] = launch.result()
        return len(launches)

    def close(self) -> None:
        """Wait for the API calls in flight, then stop the worker threads."""
        self.executor.shutdown(wait=True)


def _kill_all(containers: list) -> None:
    errors = docker_sdk().errors
    for container in containers:
        try:
            container.kill()
        except (errors.NotFound, errors.APIError):  # gone already, or not running
            continue


def _stop_all(containers: list, timeout_s: int) -> None:
    """``docker stop`` each container; one already gone, or being removed (409), is skipped."""
    errors = docker_sdk().errors
    for container in containers:
        try:
            container.stop(timeout=timeout_s)
        except errors.NotFound:
            continue
        except errors.APIError as error:
            if error.status_code != CONFLICT:
                raise


class ExitWithoutOom(NamedTuple):
    """What ended a task that a memory fault was to OOM-kill but whose container died without
    the engine reporting an OOM kill (a stand-in that could not be armed, or a hog that died
    otherwise).

    It is recorded as a crash (incident kind ``task_crash``, stop reason
    ``ESSENTIAL_EXIT_REASON``) under the memory fault's name, so that the tables never claim
    an OOM kill the engine did not see; the fault's name still says what was meant.
    """

    name: str
    kind: str = CrashRuntime.kind
    reason: str = ESSENTIAL_EXIT_REASON


def hog_armed(image: str, memory: str | None) -> bool:
    """Whether a container of ``image`` with hard memory limit ``memory`` runs the stand-in
    armed to hog memory on :data:`HOG_SIGNAL`: only the stand-in knows the signal, and only a
    hard limit keeps the hog from eating the host's memory."""
    return image == WORKLOAD_IMAGE and memory is not None


def _signal(container: Any, sig: int) -> None:
    """Send ``sig`` to the container's main process from the host; an already exited one is fine."""
    try:
        kill_main_process(container, sig)
    except HostKillUnavailable:
        container.reload()
        if container.attrs["State"].get("Running"):
            raise


_NAME_UNSAFE = re.compile(r"[^a-zA-Z0-9_.-]")


def nano_cpus(container: ContainerDefinition, td: TaskDefinition) -> int | None:
    """The container's CPU limit in nano-CPUs: its own CPU units, else the task's; None: no limit."""
    units = container.cpu or td.cpu or 0
    return units * NANO_CPUS_PER_CPU // CPU_UNITS_PER_CPU if units else None


def memory_limit(container: ContainerDefinition, td: TaskDefinition) -> str | None:
    """The container's hard memory limit (``"128m"``): its own ``memory``, else the task's; None: none."""
    mib = container.memory or td.memory
    return f"{mib}m" if mib else None


class DockerAgent(SimulatedAgent):
    """The agent of one virtual container instance whose tasks are real containers.

    The instance stays virtual (its registered budget is enforced by placement, as in ECS);
    only the container steps of :class:`SimulatedAgent` are real. With a warm start the
    task's states are recorded at t=0 as in simulation; :func:`~ecssim.docker.real_run.run_real` starts its
    containers before the clock starts (:meth:`DockerRun.start_warm_containers`), and
    otherwise they start right after.
    """

    __slots__ = ("run", "instance_id", "containers", "launches", "cgroup_parent")

    def __init__(self, world: World, slot: int, cpu: int, memory: int, rng: Any, run: DockerRun) -> None:
        super().__init__(world.env, slot, cpu, memory, world.scenario.timing, rng, world.rec, world.plane)
        self.run = run
        self.instance_id = world.rec.instance_ids[slot]
        self.containers: dict[str, list] = {}  # task id -> its containers (SDK objects), definition order
        self.launches: dict[str, simpy.Event] = {}  # task id -> its create+start call, while in flight
        # the instance's own cgroup (its registered budget as limits), or None: the engine's default
        self.cgroup_parent = run.cgroups.create(self.instance_id, cpu, memory) if run.cgroups is not None else None

    # ------------------------------------------------------------------ the host goes away
    def die(self) -> None:
        """The host stops working: its containers are killed for real."""
        super().die()
        self.run.kill_quietly([c for containers in self.containers.values() for c in containers])

    def terminate(self, reason_for, incident: str) -> None:  # noqa: ANN001
        """ECS learns the host is gone: kill its containers for real, then stop its tasks."""
        if self.alive:
            self.run.kill_quietly([c for containers in self.containers.values() for c in containers])
        super().terminate(reason_for, incident)

    def _let_go(self, task: Task) -> None:
        """Keep the task's process: it waits on the engine's report, and tidies up after it."""

    # ------------------------------------------------------------------ the container steps
    def _pull(self, task: Task):
        """Images are local (the task definition's, or the stand-in): nothing to wait for."""
        for image in task.spec.images:
            self.images[image] = True
        yield from ()

    def _start_containers(self, task: Task):
        """Create and start the task's containers; resume when the engine reports each start."""
        launch = self.launches[task.id] = self.run.call(self._create_and_start, self._container_specs(task))
        launch.callbacks.append(lambda event, task=task: self._launched(task, event))
        containers = yield launch
        yield self.env.all_of([self.run.events.when(c.id, "start") for c in containers])

    def _launched(self, task: Task, event: simpy.Event) -> None:
        """A create+start call returned (SimPy thread), whether or not anyone still waits for it."""
        self.launches.pop(task.id, None)
        if not event.ok:
            return
        self.containers[task.id] = event.value
        if not self.alive or task.id not in self.tasks:
            self.run.kill_quietly(event.value)

    def _run_containers(self, task: Task, run_for: float, crash):  # noqa: ANN001
        """Wait for the essential container's real exit and return what ended it.

        When ``crash`` is due (at ``run_for``, the container still running) it is injected
        for real:

        - an OOM kill (``crash.kind == "oom_kill"``) of an armed container (:func:`hog_armed`)
          gets :data:`HOG_SIGNAL`: the workload starts allocating and the kernel OOM-kills it
          at its hard limit, after however long that takes. An ``oom`` event from the engine
          makes the outcome ``crash`` (stop reason ``OOM_REASON``); a death without one is an
          :class:`ExitWithoutOom`, a crash;
        - any other crash, and an OOM kill of a container that cannot be armed (no hard limit,
          or a user's own image that does not know the signal), is a SIGKILL of its main
          process from the host: a ``task_crash`` returns ``crash``, an unarmed OOM kill an
          :class:`ExitWithoutOom`, since the engine saw a kill, not an OOM.

        A container that exits before ``run_for`` exited by itself (None), unless the engine
        reported an OOM kill of it and ``crash`` was the memory fault.
        """
        if task.id not in self.containers:  # warm start: the states are recorded, the containers not yet started
            yield from self._start_containers(task)
        containers = self.containers[task.id]
        index = self._essential_index(task)
        essential = containers[index]
        exited = self.run.events.when(essential.id, "die")
        signalled = hogging = False
        if crash is not None and run_for != math.inf:
            outcome = yield exited | self.env.timeout(run_for)
            if exited not in outcome:
                signalled = True
                hogging = crash.kind == MemoryKill.kind and self._hog_armed(task, index)
                yield self.run.call(_signal, essential, HOG_SIGNAL if hogging else signal.SIGKILL)
                yield exited
        else:
            yield exited
        die = exited.value
        oom_killed = yield from self._oom_reported(essential.id, wait=hogging)
        self.run.exits.append(ContainerExit(task.id, essential.id, int(die.attributes.get("exitCode", -1)),
                                            float(self.env.now), die.time_s, signalled, oom_killed))
        self.run.kill_quietly([c for c in containers if c is not essential])  # ECS stops the others
        if crash is None:
            return None
        if crash.kind != MemoryKill.kind:
            return crash if signalled else None
        if oom_killed:
            return crash
        return ExitWithoutOom(crash.name) if signalled else None

    def _oom_reported(self, container_id: str, *, wait: bool):
        """Whether the engine reported an ``oom`` event of the container (which has died);
        with ``wait``, give a late event :data:`OOM_EVENT_GRACE_WALL_S` to arrive."""
        events = self.run.events
        if events.seen(container_id, "oom") is None and wait:
            yield events.when(container_id, "oom") | self.env.timeout(OOM_EVENT_GRACE_WALL_S / self.env.factor)
        return events.seen(container_id, "oom") is not None

    def _stop_containers(self, task: Task):
        """``docker stop`` with the stop timeout scaled to wall time; resume on the die events."""
        launch = self.launches.get(task.id)
        if launch is not None:
            yield launch
        containers = self.containers.get(task.id, [])
        events = self.run.events
        dies = [events.when(c.id, "die") for c in containers]
        timeout_s = math.ceil(task.spec.stop_timeout_s * self.env.factor)
        yield self.run.call(_stop_all, containers, timeout_s)
        yield self.env.all_of(dies)

    def _finish(self, task: Task) -> None:
        self.containers.pop(task.id, None)
        super()._finish(task)

    # ------------------------------------------------------------------ containers of a task
    def _essential_index(self, task: Task) -> int:
        definitions = self.run.definitions[task.spec.key].container_definitions
        return next((i for i, c in enumerate(definitions) if c.essential), 0)

    def _hog_armed(self, task: Task, index: int) -> bool:
        """Whether the task's container ``index`` was started armed to hog memory on signal."""
        td = self.run.definitions[task.spec.key]
        container = td.container_definitions[index]
        return hog_armed(self.run.images.get(container.image, WORKLOAD_IMAGE), memory_limit(container, td))

    def _container_specs(self, task: Task) -> list[tuple[str, list[str] | None, dict[str, Any]]]:
        """(image, command, create options) of each container of the task, in definition order."""
        run = self.run
        td = run.definitions[task.spec.key]
        duration = task.duration * self.env.factor if task.duration != math.inf else None
        specs = []
        for container in td.container_definitions:
            image = run.images.get(container.image, WORKLOAD_IMAGE)
            memory = memory_limit(container, td)
            command = None
            if image == WORKLOAD_IMAGE:
                command = workload_command(duration_s=duration, hog_on_signal=hog_armed(image, memory))
            options: dict[str, Any] = {
                "name": _NAME_UNSAFE.sub("-", f"{run.run_id}-{task.id}-{container.name}"),
                "labels": container_labels(run.run_id, kind="task", task=task.id, instance=self.instance_id,
                                           service=task.service.name if task.service is not None else ""),
                "network_mode": WORKLOAD_NETWORK_MODE,
            }
            cpus = nano_cpus(container, td)
            if cpus:
                options["nano_cpus"] = cpus
            if self.cgroup_parent is not None:
                options["cgroup_parent"] = self.cgroup_parent
            if memory:
                options["mem_limit"] = memory
                options["memswap_limit"] = memory  # no swap: the hard limit is what the OOM killer enforces
            specs.append((image, command, options))
        return specs

    def _create_and_start(self, specs: list) -> list:
        """Worker thread: create and start each container; returns the SDK objects."""
        containers = []
        for image, command, options in specs:
            container = self.run.client.containers.create(image, command, **options)
            containers.append(container)
            container.start()
        return containers
