"""Calibrating the simulator's container latencies on the local Docker engine.

:func:`calibrate` measures, over N samples each, with the stand-in workload image:

- ``containerStart``: the create+start API call to the container's ``start`` event (what the
  simulator's ``timing.containerStart`` stands for);
- ``containerStop``: ``docker stop`` of a running workload (it traps SIGTERM and exits at once)
  to its ``die`` event (``timing.containerStop``);
- ``killToExit``: SIGKILL of the container's main process *from the host* (a crash; not
  ``docker kill``) to its ``die`` event;
- ``oomKill``: the ``start`` event of a memory hog under a small hard limit to its ``oom``
  event, with ``State.OOMKilled`` checked.

Intervals run from the host's clock at the API call (``time.time_ns``, read just before it)
or from one engine event to the engine's timestamp (``timeNano``) of another; the API call's
own duration is recorded too, from the monotonic clock. The engine must therefore run on
this host (it does for ``unix://`` sockets). The kinds of sample are interleaved so a drift of
the machine affects all alike. Every container is labelled ``ecssim.kind=calibration`` with
a fresh run id and removed after its sample, and all of them on any exit (error, Ctrl-C).

The result, a :class:`Calibration`, writes a ``timing:`` section the simulator accepts (the
two latencies it models, fitted as lognormals: the samples' median and the standard
deviation of their logs), headed by comments giving every figure, plus a sidecar CSV of
the raw samples. :func:`write_calibration` writes both atomically and never replaces a file
ecssim did not write (the timing file's first line carries :data:`MARKER`).
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
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
CSV_COLUMNS = ("measurement", "sample", "seconds", "api_call_s", "container_id")
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
    clock, NaN when no call starts the interval) and the container measured."""

    measurement: str
    index: int
    seconds: float
    api_call_s: float
    container_id: str


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

    def timing_section(self) -> dict[str, dict[str, object]]:
        """The scenario's ``timing`` entries this calibration sets (camelCase keys)."""
        return {name: self.measurements[name].lognormal() for name in FITTED}

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
        if samples_file:
            lines.append(f"# raw samples: {samples_file}")
        return lines

    def to_yaml(self, samples_file: str | None = None) -> str:
        """The timing file: the header comments, then a ``timing:`` section a scenario accepts."""
        body = ["timing:"]
        for name, dist in self.timing_section().items():
            body.append(f"  {name}: {{type: lognormal, median: {dist['median']}, sigma: {dist['sigma']}}}")
        return "\n".join(self.header(samples_file) + body) + "\n"

    def samples_csv(self) -> str:
        """Every raw sample as CSV (columns :data:`CSV_COLUMNS`)."""
        rows = [",".join(CSV_COLUMNS)]
        rows += [f"{s.measurement},{s.index},{s.seconds!r},{s.api_call_s!r},{s.container_id}" for s in self.raw]
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
                container_id: str) -> None:
        seconds = (end_ns - start_ns) / 1e9
        if seconds <= 0:
            raise CalibrationError(f"{measurement}: the engine's event came {-seconds:.3f} s before the call; "
                                   "calibrate on the engine's own host (its clock must be this one)")
        self.raw.append(Sample(measurement, index, seconds, api_call_s, container_id))

    def _start(self, name: str, command: list[str], **options: object):  # noqa: ANN202
        """Create and start a container; returns it, the call's host time and duration and
        its start event."""
        called_ns, t0 = time.time_ns(), time.monotonic()
        container = self._create(name, command, **options)
        container.start()
        api_call_s = time.monotonic() - t0
        started = self.reader.wait_for(container.id, "start", self.timeout_s)
        return container, called_ns, api_call_s, started

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
            if not container.attrs["State"].get("OOMKilled"):
                raise CalibrationError(f"the memory hog under {limit} died without State.OOMKilled")
            self._record("oomKill", index, started.time_ns, oom.time_ns, float("nan"), container.id)
        finally:
            container.remove(force=True)


def calibrate(client: docker.DockerClient, samples: int = 20, *, oom_limit_mib: int = 16,
              timeout_s: float = 30.0, run_id: str | None = None,
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Measure container start, stop, kill->exit and OOM latencies, ``samples`` each.

    ``progress(done, samples)`` is called after each round of samples. Kill->exit is left
    out (with a note) when the engine's processes cannot be signalled from here.

    Raises:
        CalibrationError: an expected event did not come within ``timeout_s``, or the
            engine's clock is not this host's.
        WorkloadImageError: the stand-in image is missing and cannot be built.
    """
    if samples < 2:
        raise ValueError(f"samples must be >= 2, got {samples}")
    image = ensure_workload_image(client)
    run_id = run_id or new_run_id("calibration")
    date = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    notes: dict[str, str] = {}
    with cleaning_up(client, run_id), EventReader(client, event_filters(run_id)) as reader:
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
                reader.drain()  # events of removed containers: nothing waits for them
                if progress is not None:
                    progress(index + 1, samples)
        except TimeoutError as error:
            raise CalibrationError(str(error)) from None
    measurements = {}
    for name, (what, _) in MEASUREMENTS.items():
        values = tuple(s.seconds for s in sampler.raw if s.measurement == name)
        measurements[name] = Measurement(name, what.format(limit=oom_limit_mib), values, notes.get(name, ""))
    return Calibration(EngineInfo.of(client), date, run_id, image, samples, oom_limit_mib, measurements,
                       tuple(sampler.raw))


def samples_path(path: str | Path) -> Path:
    """The sidecar CSV of a timing file: ``timing.yaml`` -> ``timing.samples.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.samples.csv")


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\n")


def check_target(path: str | Path, force: bool) -> None:
    """Refuse to write the timing file at ``path`` if that would replace a file: without
    ``force`` any existing file; with it, any file ecssim's calibration did not write.

    Raises:
        CalibrationFileError: with the reason.
    """
    path = Path(path)
    ours = {path: lambda p: _first_line(p).startswith(MARKER),
            samples_path(path): lambda p: _first_line(p) == ",".join(CSV_COLUMNS)}
    for target, is_ours in ours.items():
        if target.is_dir():
            raise CalibrationFileError(f"{target} is a folder; give a file name such as timing.yaml")
        if not target.exists():
            continue
        if not force:
            raise CalibrationFileError(f"{target} exists; use --force to replace it")
        if not is_ours(target):
            raise CalibrationFileError(f"{target} was not written by ecssim docker-calibrate; "
                                       "refusing to replace it, even with --force")


def _write_atomic(path: Path, text: str) -> Path:
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_calibration(calibration: Calibration, path: str | Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write the timing file at ``path`` and its raw samples beside it (each file written to
    a temporary name, then renamed); returns both paths.

    Raises:
        CalibrationFileError: a file is in the way (see :func:`check_target`).
    """
    path = Path(path)
    check_target(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_path = _write_atomic(samples_path(path), calibration.samples_csv())
    return _write_atomic(path, calibration.to_yaml(csv_path.name)), csv_path
