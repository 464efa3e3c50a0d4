"""Where runs execute: in this process, in local worker processes, or on a Dask cluster.

Every executor maps :func:`~ecssim.experiments.runner.execute` over run specs and yields
the records as they finish (in completion order; callers sort). An executor is a context
manager and stays open across batches, so a capacity search pays the start-up of its
workers once.

- ``serial``: in this process, one run after another (debugging, tiny experiments).
- ``processes``: a pool of local processes (default: one per core). Workers are forked from a
  "forkserver" process that has imported ecssim once, so each starts in milliseconds and
  does not inherit the caller's threads (safe in notebooks).
- ``dask``: a ``distributed.Client`` on a scheduler address (``tcp://host:8786``), or on a
  ``LocalCluster`` of worker processes started here when no address is given. Needs the
  extra: ``pip install 'ecssim[dask]'``; the workers must have ecssim installed and see the
  scenario's files (traces) at the same paths.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

from ecssim.analysis.output import MissingExtraError

from .runner import RunRecord, RunSpec, execute

EXECUTORS = ("serial", "processes", "dask")
#: Dask settings for the LocalCluster ecssim starts, so that its workers run a simulation as a
#: plain process does: Dask's nanny otherwise sets glibc's MALLOC_TRIM_THRESHOLD_ to 64 KiB
#: (memory handed back to the OS at once, which costs system calls in code that builds many
#: short-lived pandas frames) and samples every worker's stack every 10 ms for its profiler.
#: For a cluster of your own, set the same in its configuration.
LOCAL_CLUSTER_CONFIG = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}
DASK_HINT = "the Dask executor needs the optional extra: pip install 'ecssim[dask]'"


def default_workers() -> int:
    """Worker processes by default: the cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    """Runs in this process, one after another."""

    name = "serial"
    workers = 1

    def __enter__(self) -> SerialExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, specs: Iterable[RunSpec]) -> Iterator[RunRecord]:
        for spec in specs:
            yield execute(spec)


class ProcessExecutor:
    """A pool of local worker processes, forked from a server that imported ecssim once."""

    name = "processes"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = int(workers) if workers else default_workers()
        self._pool: ProcessPoolExecutor | None = None

    def __enter__(self) -> ProcessExecutor:
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        context = multiprocessing.get_context(method)
        if method == "forkserver":
            context.set_forkserver_preload(["ecssim.experiments.runner", "ecssim.simulation"])
        self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=context)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, specs: Iterable[RunSpec]) -> Iterator[RunRecord]:
        assert self._pool is not None, "use the executor as a context manager"
        pending: set[Future] = {self._pool.submit(execute, spec) for spec in specs}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        finally:
            for future in pending:
                future.cancel()


class DaskExecutor:
    """Runs on a Dask distributed cluster: at ``address``, or a LocalCluster started here."""

    name = "dask"

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        if importlib.util.find_spec("distributed") is None:
            raise MissingExtraError(DASK_HINT)
        self.address = address
        self.workers = int(workers) if workers else default_workers()
        self._cluster = None
        self._client = None

    def __enter__(self) -> DaskExecutor:
        from distributed import Client, LocalCluster

        if self.address:
            self._client = Client(self.address)
            self.workers = max(1, sum(w.get("nthreads", 1) for w in self._client.scheduler_info()["workers"].values()))
        else:
            import dask

            with dask.config.set(LOCAL_CLUSTER_CONFIG):
                self._cluster = LocalCluster(
                    n_workers=self.workers, threads_per_worker=1, processes=True,
                    host="127.0.0.1", dashboard_address=None,
                )
            self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None

    def map(self, specs: Iterable[RunSpec]) -> Iterator[RunRecord]:
        from distributed import as_completed

        assert self._client is not None, "use the executor as a context manager"
        specs = list(specs)
        if not specs:
            return
        futures = self._client.map(execute, specs, pure=False)
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            for future in futures:
                future.cancel()


def make_executor(kind: str | None = None, *, workers: int | None = None,
                  dask_address: str | None = None) -> SerialExecutor | ProcessExecutor | DaskExecutor:
    """The executor named ``kind`` (default: ``dask`` with an address, ``serial`` for one
    worker, else ``processes``)."""
    if kind is None:
        kind = "dask" if dask_address else ("serial" if workers == 1 else "processes")
    if kind == "serial":
        return SerialExecutor()
    if kind == "processes":
        return ProcessExecutor(workers)
    if kind == "dask":
        return DaskExecutor(dask_address, workers)
    raise ValueError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")
