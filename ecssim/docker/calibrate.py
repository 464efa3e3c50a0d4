"""Calibrating the simulator's container latencies on the local Docker engine.

:func:`calibrate` measures, over N samples each, with the stand-in workload image:

- ``containerStart``: the create+start API call to the container's ``start`` event (what the
  simulator's ``timing.containerStart`` stands for);
- ``containerStop``: ``docker stop`` of a running workload (it traps SIGTERM and exits at once)
  to its ``die`` event (``timing.containerStop``);
- ``killToExit``: SIGKILL of the container's main process *from the host* (a crash; not
  ``docker kill``) to its ``die`` event;
- ``oomKill``: the ``start`` event of a memory hog under a small hard limit to its ``oom``
  event, checked by ``State.OOMKilled`` or a SIGKILL exit (the flag is set racily);
- ``containerStartBurst``: the same as ``containerStart`` for k containers created and
  started at the same moment from k threads (k = 2..``max_burst``), each timed from its own
  API call. Concurrent starts slow each other down; the ratio of each burst's mean latency
  to the lone median, regressed on k-1, gives ``timing.containerStartContention.slowdown``
  (see :func:`fit_contention_slowdown`).

Intervals run from the host's clock at the API call (``time.time_ns``, read just before it)
or from one engine event to the engine's timestamp (``timeNano``) of another; the API call's
own duration is recorded too, from the monotonic clock. The engine must therefore run on
this host (it does for ``unix://`` sockets). The kinds of sample are interleaved so a drift of
the machine affects all alike. Every container is labelled ``ecssim.kind=calibration`` with
a fresh run id and removed after its sample, and all of them on any exit (error, Ctrl-C).

The result, a :class:`Calibration`, writes a ``timing:`` section the simulator accepts (the
two latencies it models, fitted as lognormals: the samples' median and the standard
deviation of their logs, and the contention slowdown when bursts were measured), headed by
comments giving every figure, plus a sidecar CSV of the raw samples (with a ``burst``
column: 1 for a lone sample). :func:`~ecssim.docker.timing_file.write_calibration` writes both atomically and never
replaces a file ecssim did not write (the timing file's first line carries :data:`MARKER`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import numpy as np

from .cleanup import cleaning_up
from .engine import EngineInfo, EventReader, HostKillUnavailable, kill_main_process
from .images import WORKLOAD_NETWORK_MODE, ensure_workload_image, workload_command
from .labels import container_labels, event_filters, new_run_id

if TYPE_CHECKING:  # pragma: no cover
    import docker

#: The first line of every timing file ``docker-calibrate`` writes (``--force`` checks it).
MARKER = "# ecssim docker-calibrate"
CSV_COLUMNS = ("measurement", "sample", "burst", "seconds", "api_call_s", "container_id")
#: The samples file's columns before bursts were measured: such a file is ecssim's too.
EARLIER_CSV_COLUMNS = ("measurement", "sample", "seconds", "api_call_s", "container_id")
#: The raw samples of concurrent starts (``burst`` = how many started together; the sample
#: index is the round, shared by the burst's containers).
BURST_MEASUREMENT = "containerStartBurst"
#: Each measurement: what it times, and the simulator's field for it (None: none yet).
MEASUREMENTS: dict[str, tuple[str, str | None]] = {
    "containerStart": ("create+start API call -> start event", "timing.containerStart"),
    "containerStop": ("docker stop (SIGTERM, trapped by the workload) -> die event", "timing.containerStop"),
    "killToExit": ("SIGKILL of the main process from the host -> die event", None),
    "oomKill": ("start event of a memory hog under {limit} MiB -> oom event", None),
}
FITTED = ("containerStart", "containerStop")


class CalibrationError(RuntimeError):
    """A calibration sample went wrong (an expected event never came, a clock disagreed)."""


class CalibrationFileError(ValueError):
    """The timing file (or its samples file) cannot be written where asked."""


@dataclass(frozen=True)
class Sample:
    """One raw sample: the latency in seconds, the API call's own duration (monotonic
    clock, NaN when no call starts the interval), the container measured and how many
    containers were started at the same moment (1: alone)."""

    measurement: str
    index: int
    seconds: float
    api_call_s: float
    container_id: str
    burst: int = 1


@dataclass(frozen=True)
class Measurement:
    """The samples of one measurement and their summary figures (seconds)."""

    name: str
    what: str
    samples: tuple[float, ...]
    note: str = ""

    @property
    def n(self) -> int:
        """Number of samples."""
        return len(self.samples)

    def _stat(self, function: Callable[[np.ndarray], float]) -> float:
        return float(function(np.asarray(self.samples))) if self.samples else float("nan")

    @property
    def median(self) -> float:
        """Median (seconds)."""
        return self._stat(np.median)

    @property
    def p5(self) -> float:
        """5th percentile (seconds)."""
        return self._stat(lambda a: np.percentile(a, 5))

    @property
    def p95(self) -> float:
        """95th percentile (seconds)."""
        return self._stat(lambda a: np.percentile(a, 95))

    @property
    def min(self) -> float:
        """Smallest sample (seconds)."""
        return self._stat(np.min)

    @property
    def max(self) -> float:
        """Largest sample (seconds)."""
        return self._stat(np.max)

    @property
    def sigma(self) -> float:
        """Standard deviation of the samples' natural logs (the lognormal's sigma)."""
        if self.n < 2:
            return 0.0
        return float(np.std(np.log(np.asarray(self.samples)), ddof=1))

    def lognormal(self) -> dict[str, object]:
        """The fitted distribution as a scenario writes it: the samples' median and sigma."""
        return {"type": "lognormal", "median": round(self.median, 6), "sigma": round(self.sigma, 4)}


def fit_contention_slowdown(rounds: Iterable[tuple[int, float]]) -> float:
    """The processor-sharing slowdown ``s`` fitted to bursts of concurrent starts.

    ``rounds`` holds, per burst round, its size k and the ratio r of its mean latency to the
    lone median. The model ``r = 1 + s*(k-1)`` (k starts in progress each progress at rate
    ``1/(1 + s*(k-1))``) is fitted by least squares through the origin,
    ``s = sum((k-1)*(r-1)) / sum((k-1)**2)``, and clipped at 0 (starts never speed up).

    Raises:
        ValueError: no round of two or more containers.
    """
    pairs = [(k - 1, r - 1) for k, r in rounds]
    denominator = sum(x * x for x, _ in pairs)
    if denominator == 0:
        raise ValueError("no burst of two or more containers to fit the contention slowdown on")
    return max(0.0, sum(x * y for x, y in pairs) / denominator)


@dataclass(frozen=True)
class Calibration:
    """What :func:`calibrate` measured on one engine, ready to write as a timing file."""

    engine: EngineInfo
    date: str
    run_id: str
    image: str
    samples_per_measurement: int
    oom_limit_mib: int
    measurements: dict[str, Measurement]
    raw: tuple[Sample, ...] = field(repr=False)
    max_burst: int = 1
    burst_rounds: int = 0

    def bursts(self) -> dict[int, Measurement]:
        """The concurrent starts' latencies by burst size (empty when bursts were disabled)."""
        sizes = sorted({s.burst for s in self.raw if s.measurement == BURST_MEASUREMENT})
        return {k: Measurement(BURST_MEASUREMENT, f"{k} create+start calls at once -> start events",
                               tuple(s.seconds for s in self.raw
                                     if s.measurement == BURST_MEASUREMENT and s.burst == k))
                for k in sizes}

    def burst_ratio(self, size: int) -> float:
        """The median latency of bursts of ``size`` over the lone ``containerStart`` median."""
        return self.bursts()[size].median / self.measurements["containerStart"].median

    def round_ratios(self) -> list[tuple[int, float]]:
        """Per burst round: its size and its mean latency over the lone median (what the
        contention fit uses)."""
        rounds: dict[tuple[int, int], list[float]] = {}
        for s in self.raw:
            if s.measurement == BURST_MEASUREMENT:
                rounds.setdefault((s.burst, s.index), []).append(s.seconds)
        lone = self.measurements["containerStart"].median
        return [(k, float(np.mean(values)) / lone) for (k, _), values in sorted(rounds.items())]

    @property
    def contention_slowdown(self) -> float | None:
        """The fitted ``timing.containerStartContention.slowdown`` (None: bursts disabled)."""
        rounds = self.round_ratios()
        return fit_contention_slowdown(rounds) if rounds else None

    def timing_section(self) -> dict[str, dict[str, object]]:
        """The scenario's ``timing`` entries this calibration sets (camelCase keys)."""
        section = {name: self.measurements[name].lognormal() for name in FITTED}
        slowdown = self.contention_slowdown
        if slowdown is not None:  # scope left to its default: docker-validate sets it itself
            section["containerStartContention"] = {"slowdown": round(slowdown, 4)}
        return section

    def _burst_header(self) -> list[str]:
        """The header lines on concurrent starts (none when bursts were disabled)."""
        slowdown = self.contention_slowdown
        if slowdown is None:
            return []
        lines = [f"# {BURST_MEASUREMENT}: k create+start calls at the same moment from k threads, each timed",
                 f"# from its own call to its start event; {self.burst_rounds} rounds per size",
                 f"# {'burst k':<15}{'median':>9}{'p5':>9}{'p95':>9}{'n':>4}  {'ratio':>6} {'fit':>6}",
                 "# (ratio: the median over the lone containerStart median; fit: 1 + slowdown*(k-1))"]
        for k, m in self.bursts().items():
            figures = "".join(f"{value:>9.4f}" for value in (m.median, m.p5, m.p95))
            lines.append(f"# {k:<15}{figures}{m.n:>4}  {self.burst_ratio(k):>6.3f} {1 + slowdown * (k - 1):>6.3f}")
        lines += [f"# containerStartContention slowdown {slowdown:.4f}: least squares of each round's mean "
                  "ratio - 1 on k-1,",
                  f"# clipped at 0. Meaning: k starts in progress on one engine each progress at rate "
                  f"1/(1 + {slowdown:.4f}*(k-1)).",
                  ]
        return lines

    def header(self, samples_file: str | None = None) -> list[str]:
        """The comment lines heading the timing file: engine, date and every figure."""
        lines = [
            f"{MARKER}: container latencies measured on a local Docker engine",
            f"# engine: {self.engine.describe()} at {self.engine.base_url}",
            f"# date: {self.date}; {self.samples_per_measurement} samples per measurement; image "
            f"{self.image}, network {WORKLOAD_NETWORK_MODE}; run {self.run_id}",
            f"# {'seconds':<15}{'median':>9}{'p5':>9}{'p95':>9}{'min':>9}{'max':>9}{'n':>4}  what",
        ]
        for name, m in self.measurements.items():
            what, field_name = MEASUREMENTS[name]
            target = field_name or "no simulator field yet"
            figures = "".join(f"{value:>9.4f}" for value in (m.median, m.p5, m.p95, m.min, m.max))
            lines.append(f"# {name:<15}{figures}{m.n:>4}  {m.what} ({target})"
                         + (f"; {m.note}" if m.note else ""))
        lines += [
            "# containerStart and containerStop are fitted as lognormals (median of the samples, sigma",
            "# of their logs). The simulator has no field for kill->exit or OOM latency yet: they are",
            "# recorded here only.",
        ]
        lines += self._burst_header()
        if samples_file:
            lines.append(f"# raw samples: {samples_file}")
        return lines

    def to_yaml(self, samples_file: str | None = None) -> str:
        """The timing file: the header comments, then a ``timing:`` section a scenario accepts."""
        body = ["timing:"]
        for name, entry in self.timing_section().items():
            body.append(f"  {name}: {{{', '.join(f'{key}: {value}' for key, value in entry.items())}}}")
        return "\n".join(self.header(samples_file) + body) + "\n"

    def samples_csv(self) -> str:
        """Every raw sample as CSV (columns :data:`CSV_COLUMNS`)."""
        rows = [",".join(CSV_COLUMNS)]
        rows += [f"{s.measurement},{s.index},{s.burst},{s.seconds!r},{s.api_call_s!r},{s.container_id}"
                 for s in self.raw]
        return "\n".join(rows) + "\n"


class _Sampler:
    """Runs the samples of one calibration (one run id, one event reader)."""

    def __init__(self, client: docker.DockerClient, image: str, run_id: str, reader: EventReader,
                 oom_limit_mib: int, timeout_s: float) -> None:
        self.client, self.image, self.run_id, self.reader = client, image, run_id, reader
        self.oom_limit_mib, self.timeout_s = oom_limit_mib, timeout_s
        self.raw: list[Sample] = []

    def _create(self, name: str, command: list[str], **options: object):  # noqa: ANN202
        return self.client.containers.create(
            self.image, command, name=f"ecssim-{self.run_id}-{name}", detach=True,
            labels=container_labels(self.run_id, kind="calibration"),
            network_mode=WORKLOAD_NETWORK_MODE, **options)

    def _record(self, measurement: str, index: int, start_ns: int, end_ns: int, api_call_s: float,
                container_id: str, burst: int = 1) -> None:
        seconds = (end_ns - start_ns) / 1e9
        if seconds <= 0:
            raise CalibrationError(f"{measurement}: the engine's event came {-seconds:.3f} s before the call; "
                                   "calibrate on the engine's own host (its clock must be this one)")
        self.raw.append(Sample(measurement, index, seconds, api_call_s, container_id, burst))

    def _start(self, name: str, command: list[str], **options: object):  # noqa: ANN202
        """Create and start a container; returns it, the call's host time and duration and
        its start event."""
        called_ns, t0 = time.time_ns(), time.monotonic()
        container = self._create(name, command, **options)
        container.start()
        api_call_s = time.monotonic() - t0
        started = self.reader.wait_for(container.id, "start", self.timeout_s)
        return container, called_ns, api_call_s, started

    def _create_and_start(self, name: str, barrier: threading.Barrier):  # noqa: ANN202
        """In a worker thread: wait for the burst's other threads, then create and start one
        container; returns it, the call's host time and its duration."""
        barrier.wait(self.timeout_s)
        called_ns, t0 = time.time_ns(), time.monotonic()
        container = self._create(name, workload_command())
        container.start()
        return container, called_ns, time.monotonic() - t0

    def burst(self, size: int, index: int, pool: ThreadPoolExecutor) -> None:
        """Create and start ``size`` containers at the same moment from ``size`` worker threads
        (``pool`` has at least that many), time each to its start event, remove them."""
        barrier = threading.Barrier(size)
        futures = [pool.submit(self._create_and_start, f"burst{size}-{index}-{j}", barrier) for j in range(size)]
        started = []
        try:
            for future in futures:
                started.append(future.result())
            for container, called_ns, api_call_s in started:
                event = self.reader.wait_for(container.id, "start", self.timeout_s)
                self._record(BURST_MEASUREMENT, index, called_ns, event.time_ns, api_call_s, container.id, size)
        finally:
            for future in futures[len(started):]:  # a failed burst: its other containers too
                try:
                    started.append(future.result())
                except Exception:  # already failing; cleaning_up removes whatever is left
                    pass
            for container, _, _ in started:
                container.remove(force=True)

    def start_and_stop(self, index: int) -> None:
        container, called_ns, api_call_s, started = self._start(f"stop-{index}", workload_command())
        self._record("containerStart", index, called_ns, started.time_ns, api_call_s, container.id)
        called_ns, t0 = time.time_ns(), time.monotonic()
        container.stop(timeout=10)
        api_call_s = time.monotonic() - t0
        died = self.reader.wait_for(container.id, "die", self.timeout_s)
        self._record("containerStop", index, called_ns, died.time_ns, api_call_s, container.id)
        container.remove(force=True)

    def kill(self, index: int) -> None:
        container, _, _, _ = self._start(f"kill-{index}", workload_command())
        try:
            called_ns = time.time_ns()
            kill_main_process(container)
            died = self.reader.wait_for(container.id, "die", self.timeout_s)
            self._record("killToExit", index, called_ns, died.time_ns, float("nan"), container.id)
        finally:
            container.remove(force=True)

    def oom(self, index: int) -> None:
        limit = f"{self.oom_limit_mib}m"
        container, _, _, started = self._start(f"oom-{index}", workload_command(memory_hog=True),
                                               mem_limit=limit, memswap_limit=limit)
        try:
            oom = self.reader.wait_for(container.id, "oom", self.timeout_s)
            self.reader.wait_for(container.id, "die", self.timeout_s)
            container.reload()
            state = container.attrs["State"]
            # The ``oom`` event is the measurement; the engine's OOMKilled flag is set
            # racily (seen false once in CI with the event delivered and exit code 137),
            # so a SIGKILL exit after the event counts as the OOM kill too.
            if not state.get("OOMKilled") and state.get("ExitCode") != 137:
                raise CalibrationError(f"the memory hog under {limit} died without an OOM kill "
                                       f"(exit code {state.get('ExitCode')}, State.OOMKilled false)")
            self._record("oomKill", index, started.time_ns, oom.time_ns, float("nan"), container.id)
        finally:
            container.remove(force=True)


def _burst_schedule(samples: int, max_burst: int, burst_rounds: int) -> list[list[tuple[int, int]]]:
    """The bursts (size, round) to run after each of the ``samples`` rounds of the other
    kinds: every size once per round, the rounds spread evenly among the samples."""
    bursts = [(size, index) for index in range(burst_rounds) for size in range(2, max_burst + 1)]
    schedule: list[list[tuple[int, int]]] = [[] for _ in range(samples)]
    for position, burst in enumerate(bursts):
        schedule[position * samples // len(bursts)].append(burst)
    return schedule


def calibrate(client: docker.DockerClient, samples: int = 20, *, max_burst: int = 4,
              burst_rounds: int | None = None, oom_limit_mib: int = 16,
              timeout_s: float = 30.0, run_id: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Measure container start, stop, kill->exit and OOM latencies, ``samples`` each, and
    bursts of 2..``max_burst`` concurrent starts, ``burst_rounds`` of each size (default
    ``max(2, samples // 4)``; ``max_burst=1``: no bursts).

    ``progress(done, samples)`` is called after each round of samples. Kill->exit is left
    out (with a note) when the engine's processes cannot be signalled from here.

    Raises:
        CalibrationError: an expected event did not come within ``timeout_s``, or the
            engine's clock is not this host's.
        WorkloadImageError: the stand-in image is missing and cannot be built.
    """
    if samples < 2:
        raise ValueError(f"samples must be >= 2, got {samples}")
    if max_burst < 1:
        raise ValueError(f"max_burst must be >= 1, got {max_burst}")
    burst_rounds = max(2, samples // 4) if burst_rounds is None else burst_rounds
    if burst_rounds < 1:
        raise ValueError(f"burst_rounds must be >= 1, got {burst_rounds}")
    if max_burst == 1:
        burst_rounds = 0
    schedule = _burst_schedule(samples, max_burst, burst_rounds) if burst_rounds else [[]] * samples
    image = ensure_workload_image(client)
    run_id = run_id or new_run_id("calibration")
    date = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    notes: dict[str, str] = {}
    with (cleaning_up(client, run_id), EventReader(client, event_filters(run_id)) as reader,
          ThreadPoolExecutor(max_burst, thread_name_prefix="ecssim-calibrate") as pool):
        sampler = _Sampler(client, image, run_id, reader, oom_limit_mib, timeout_s)
        try:
            for index in range(samples):
                sampler.start_and_stop(index)
                if "killToExit" not in notes:
                    try:
                        sampler.kill(index)
                    except HostKillUnavailable as error:
                        notes["killToExit"] = f"not measured: {error}"
                sampler.oom(index)
                for size, burst_index in schedule[index]:
                    sampler.burst(size, burst_index, pool)
                reader.drain()  # events of removed containers: nothing waits for them
                if progress is not None:
                    progress(index + 1, samples)
        except (TimeoutError, threading.BrokenBarrierError) as error:
            raise CalibrationError(str(error) or "a burst's threads did not all start") from None
    measurements = {}
    for name, (what, _) in MEASUREMENTS.items():
        values = tuple(s.seconds for s in sampler.raw if s.measurement == name)
        measurements[name] = Measurement(name, what.format(limit=oom_limit_mib), values, notes.get(name, ""))
    return Calibration(EngineInfo.of(client), date, run_id, image, samples, oom_limit_mib, measurements,
                       tuple(sampler.raw), max_burst, burst_rounds)
