"""The connection to a Docker engine, and its container events as a stream.

:func:`connect` finds the engine the way the ``docker`` CLI does (``DOCKER_HOST``, else the
default socket), checks that it answers and speaks API :data:`MIN_API_VERSION` or newer, and
otherwise raises :class:`EngineUnavailable` saying how to start one. The Docker SDK is an
optional extra imported only here, when asked for, so ``import ecssim`` never needs it.

:class:`EventReader` reads the engine's event stream (``client.events(decode=True)``) in a
background thread: real state changes come from the engine with its own timestamps
(``timeNano``), never from polling. Calibration waits on it for one event at a time; the
Docker agent consumes the same :class:`EngineEvent` records. :func:`kill_main_process`
injects a crash the way the engine sees one: SIGKILL of the container's process from the host.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ..analysis.output import MissingExtraError
from .labels import ecssim_labels

if TYPE_CHECKING:  # pragma: no cover
    import docker

#: Oldest engine API ecssim accepts: Docker Engine 20.10, the version its figures were measured on.
MIN_API_VERSION = "1.41"
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
SDK_HINT = "the Docker mode needs the Docker SDK for Python: pip install 'ecssim[docker]'"
README_SECTION = 'the README section "Docker-backed validation"'
#: How to start a Docker daemon isolated in its own folder (no bridge, no iptables changes).
ISOLATED_DAEMON = (
    "D=/tmp/ecssim-dockerd; mkdir -p $D\n"
    "  setsid dockerd --data-root $D/data --exec-root $D/run --pidfile $D/dockerd.pid "
    "-H unix://$D/docker.sock \\\n"
    "    --iptables=false --ip-forward=false --bridge=none --exec-opt native.cgroupdriver=cgroupfs "
    ">$D/dockerd.log 2>&1 </dev/null &\n"
    "  export DOCKER_HOST=unix://$D/docker.sock"
)


class EngineUnavailable(RuntimeError):
    """No usable Docker engine answers (none running, no permission, or too old an API)."""


def docker_sdk():  # noqa: ANN201 - the module, typed as Any for callers
    """The ``docker`` SDK module, or :class:`MissingExtraError` naming the extra to install."""
    try:
        import docker
    except ImportError as error:
        raise MissingExtraError(SDK_HINT) from error
    return docker


def _api_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(version).split(".") if part.isdigit())


def unavailable_message(where: str, reason: str) -> str:
    """The error text when no engine answers at ``where``: the reason and how to start one."""
    return (
        f"no usable Docker engine at {where}: {reason}\n"
        f"Start one (see {README_SECTION}), for example a daemon isolated in its own folder (as root):\n"
        f"  {ISOLATED_DAEMON}\n"
        "or point DOCKER_HOST at a running engine."
    )


def connect(base_url: str | None = None, *, timeout_s: float = 30.0) -> docker.DockerClient:
    """A client of the engine at ``base_url`` (default: ``DOCKER_HOST``, else the default
    socket), checked to answer and to speak API ``MIN_API_VERSION`` or newer.

    Raises:
        EngineUnavailable: no engine answers, or it is too old.
        MissingExtraError: the Docker SDK is not installed.
    """
    sdk = docker_sdk()
    where = base_url or os.environ.get("DOCKER_HOST") or DEFAULT_SOCKET
    try:
        if base_url is None:
            client = sdk.from_env(timeout=int(timeout_s))
        else:
            client = sdk.DockerClient(base_url=base_url, timeout=int(timeout_s))
        client.ping()
        version = client.version()
        client.ecssim_engine_url = where  # the SDK's own base_url hides a socket's path
    except (sdk.errors.DockerException, OSError) as error:
        raise EngineUnavailable(unavailable_message(where, _first_line(error))) from None
    api = str(version.get("ApiVersion", "0"))
    if _api_tuple(api) < _api_tuple(MIN_API_VERSION):
        client.close()
        raise EngineUnavailable(unavailable_message(
            where, f"engine API {api} is older than {MIN_API_VERSION} (Docker Engine 20.10); upgrade Docker"))
    return client


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


@dataclass(frozen=True)
class EngineInfo:
    """What the engine says about itself, for headers and result provenance."""

    version: str
    api_version: str
    os: str
    arch: str
    kernel: str
    base_url: str

    @classmethod
    def of(cls, client: docker.DockerClient) -> EngineInfo:
        """Ask the engine behind ``client``."""
        v = client.version()
        return cls(version=str(v.get("Version", "?")), api_version=str(v.get("ApiVersion", "?")),
                   os=str(v.get("Os", "?")), arch=str(v.get("Arch", "?")),
                   kernel=str(v.get("KernelVersion", "?")),
                   base_url=str(getattr(client, "ecssim_engine_url", client.api.base_url)))

    def describe(self) -> str:
        """One line: ``Docker 20.10.24 (API 1.41), linux/amd64, kernel 6.1.0``."""
        return f"Docker {self.version} (API {self.api_version}), {self.os}/{self.arch}, kernel {self.kernel}"


class EngineEvent(NamedTuple):
    """One container event: engine time in seconds since the epoch (from ``timeNano``), the
    action (``create``, ``start``, ``die``, ``oom``, ``kill``, ``stop``, ``destroy``...), the
    full container id, its ``ecssim.*`` labels, all the event's attributes (``exitCode`` of
    a ``die``, ``signal`` of a ``kill``, ``name``, ``image``, every label) and the exact
    timestamp in nanoseconds."""

    time_s: float
    action: str
    container_id: str
    labels: dict[str, str]
    attributes: dict[str, str]
    #: The engine's timestamp in integer nanoseconds (exact, for differences).
    time_ns: int = 0


def parse_event(raw: Mapping[str, Any]) -> EngineEvent | None:
    """The :class:`EngineEvent` of a decoded engine event, or None for non-container events."""
    if raw.get("Type", "container") != "container":
        return None
    actor = raw.get("Actor") or {}
    attributes = dict(actor.get("Attributes") or {})
    nanos = int(raw.get("timeNano") or int(raw.get("time", 0)) * 1_000_000_000)
    action = str(raw.get("Action") or raw.get("status") or "")
    container_id = str(actor.get("ID") or raw.get("id") or "")
    return EngineEvent(nanos / 1e9, action, container_id, ecssim_labels(attributes), attributes, nanos)


_END = object()


@dataclass
class EventReader:
    """The engine's container events, read in a background thread into a queue.

    The subscription is made in the constructor (the engine registers it before answering),
    so no event of a container created afterwards is missed. Use as a context manager, or
    call :meth:`close`. ``on_event``, if given, is called in the reader thread for each event
    (the agent uses it to hand events to its real-time clock); otherwise read them with
    :meth:`get` or :meth:`wait_for`.
    """

    client: docker.DockerClient
    filters: dict[str, list[str]] | None = None
    on_event: Callable[[EngineEvent], None] | None = None
    _queue: queue.Queue = field(default_factory=queue.Queue, init=False, repr=False)
    _backlog: deque = field(default_factory=lambda: deque(maxlen=10_000), init=False, repr=False)
    _error: BaseException | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self._stream = self.client.events(decode=True, filters=self.filters)
        self._thread = threading.Thread(target=self._read, name="ecssim-docker-events", daemon=True)
        self._closed = False
        self._thread.start()

    def _read(self) -> None:
        try:
            for raw in self._stream:
                event = parse_event(raw)
                if event is None:
                    continue
                if self.on_event is not None:
                    self.on_event(event)
                else:
                    self._queue.put(event)
        except Exception as error:  # a closed stream ends the loop with an error: keep it for get()
            if not self._closed:
                self._error = error
        finally:
            self._queue.put(_END)

    def get(self, timeout_s: float | None = None) -> EngineEvent | None:
        """The next event, or None after ``timeout_s`` seconds without one.

        Raises:
            EngineUnavailable: the stream ended (the engine went away) before an event came.
        """
        if self._backlog:
            return self._backlog.popleft()
        try:
            item = self._queue.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if item is _END:
            self._queue.put(_END)  # later calls see the end too
            reason = _first_line(self._error) if self._error else "the stream ended"
            raise EngineUnavailable(f"the engine's event stream stopped: {reason}")
        return item

    def wait_for(self, container_id: str, actions: str | Iterable[str], timeout_s: float) -> EngineEvent:
        """The next event of ``container_id`` with one of ``actions``; other events are kept
        for later calls, in order.

        Raises:
            TimeoutError: no such event within ``timeout_s`` seconds.
        """
        wanted = {actions} if isinstance(actions, str) else set(actions)
        skipped: list[EngineEvent] = []
        deadline = time.monotonic() + timeout_s
        try:
            while True:
                event = self.get(max(deadline - time.monotonic(), 0.0))
                if event is None:
                    raise TimeoutError(f"no {'/'.join(sorted(wanted))} event of container "
                                       f"{container_id[:12]} within {timeout_s:g} s")
                if event.container_id == container_id and event.action in wanted:
                    return event
                skipped.append(event)
        finally:
            self._backlog.extendleft(reversed(skipped))

    def drain(self) -> list[EngineEvent]:
        """Every event received and not yet read, without waiting (empties the reader)."""
        events = list(self._backlog)
        self._backlog.clear()
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return events
            if item is _END:
                self._queue.put(_END)
                return events
            events.append(item)

    def close(self) -> None:
        """Stop reading (closes the HTTP stream; the thread then ends)."""
        if not self._closed:
            self._closed = True
            self._stream.close()
            self._thread.join(timeout=5)

    def __enter__(self) -> EventReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class HostKillUnavailable(RuntimeError):
    """A container's process cannot be signalled from this host (remote or rootless engine)."""


def kill_main_process(container: Any, sig: int = signal.SIGKILL) -> int:
    """Send ``sig`` to the container's main process from the host, as a crash would; returns
    its host pid.

    Not ``docker kill``: Docker counts that as a manual stop and never restarts the container
    (``docker-engine.md``). The pid is checked to belong to the container (its cgroup names the
    container id), so a remote engine's pid can never hit an unrelated local process.

    Raises:
        HostKillUnavailable: the container is not running on this host, or we may not signal it.
    """
    container.reload()
    pid = int(container.attrs["State"].get("Pid") or 0)
    if pid <= 0:
        raise HostKillUnavailable(f"container {container.short_id} has no running process")
    try:
        cgroups = Path(f"/proc/{pid}/cgroup").read_text(encoding="utf-8")
    except OSError as error:
        raise HostKillUnavailable(f"pid {pid} of container {container.short_id} is not visible on this "
                                  f"host ({_first_line(error)}): is the engine remote?") from None
    if container.id not in cgroups:
        raise HostKillUnavailable(f"pid {pid} on this host is not container {container.short_id}'s "
                                  "process: is the engine remote or in a VM?")
    try:
        os.kill(pid, sig)
    except (PermissionError, ProcessLookupError) as error:
        raise HostKillUnavailable(f"cannot signal pid {pid} of container {container.short_id}: "
                                  f"{_first_line(error)} (run as root on the engine's host)") from None
    return pid
