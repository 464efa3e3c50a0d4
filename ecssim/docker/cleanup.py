"""Removing ecssim's containers, and only ecssim's.

:func:`cleanup` force-removes the containers that carry ecssim's labels (all of them, or one
run's); a container is removed only if the engine's label filter selected it *and* its own
labels, read back, say ``ecssim.managed=true`` (and the run id asked for), so a container
ecssim did not create is never touched. :func:`cleaning_up` wraps a run: its containers are
removed when the block ends, normally, on an error, on Ctrl-C (KeyboardInterrupt) or on
SIGTERM, which it turns into ``SystemExit(143)`` so that the clean-up runs too. Containers
created by an API call interrupted half-way carry the labels already, so they are found too;
after an interruption the clean-up keeps looking for a short while (:data:`SETTLE_WINDOW_S`),
since the engine may finish a create call the client gave up on.
``ecssim docker-cleanup`` calls :func:`cleanup` for the leftovers of a run that was killed
outright (SIGKILL, power loss).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from .labels import container_filters, is_managed

if TYPE_CHECKING:  # pragma: no cover
    import docker


#: The engine's answer to a request on a container in the wrong state (being removed, not running).
CONFLICT = 409


def managed_containers(client: docker.DockerClient, run_id: str | None = None) -> list:
    """ecssim's containers (running or not) on the engine: all of them, or run ``run_id``'s.

    A container removed between the listing and its inspection (by its own run) is left out.
    """
    found = client.containers.list(all=True, filters=container_filters(run_id), ignore_removed=True)
    return [container for container in found if is_managed(container.labels, run_id)]


def cleanup(client: docker.DockerClient, run_id: str | None = None) -> list[str]:
    """Force-remove ecssim's containers (all, or run ``run_id``'s); return their ids.

    A container that vanished meanwhile (removed by its run), or whose removal is already in
    progress (the engine answers 409 Conflict), is skipped silently.
    """
    return _remove(client, run_id)[0]


def _remove(client: docker.DockerClient, run_id: str | None) -> tuple[list[str], list[str]]:
    """:func:`cleanup`'s work: the ids removed, and those the engine answered 409 Conflict for
    (a removal in progress, or a container in the middle of a state change), still there."""
    from .engine import docker_sdk

    errors = docker_sdk().errors
    removed, conflicted = [], []
    for container in managed_containers(client, run_id):
        try:
            container.remove(force=True)
        except errors.NotFound:
            continue
        except errors.APIError as error:
            if error.status_code == CONFLICT:
                conflicted.append(container.id)
                continue
            raise
        removed.append(container.id)
    return removed, conflicted


@contextmanager
def _signals_deferred() -> Iterator[None]:
    """Hold SIGINT and SIGTERM off while the clean-up runs (main thread only), so a second
    Ctrl-C cannot leave containers behind; the signal is re-raised once it is done."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {sig: signal.signal(sig, lambda number, frame: pending.append(number))
                for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])


def _exit_on_sigterm(number: int, frame: object) -> None:
    raise SystemExit(128 + number)


@contextmanager
def cleaning_up(client: docker.DockerClient, run_id: str) -> Iterator[str]:
    """Run a block whose containers (labelled with ``run_id``) are removed when it ends,
    however it ends; yields ``run_id``.

    In the main thread, SIGTERM raises ``SystemExit(143)`` inside the block (so the clean-up
    runs), and SIGINT/SIGTERM are deferred while the containers are being removed. A
    container the engine would not remove at once (409 Conflict: in the middle of a kill or
    of another removal) is asked again until it is gone, within :data:`SETTLE_WINDOW_S`.
    """
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm) if in_main else None
    cut_short = False
    try:
        yield run_id
    except BaseException:
        cut_short = True
        raise
    finally:
        try:
            with _signals_deferred():
                conflicted = _remove(client, run_id)[1]
                if cut_short or conflicted:
                    _settle(client, run_id)
        finally:
            if in_main:
                signal.signal(signal.SIGTERM, previous)


#: After an interrupted block (or a removal refused with 409), how long to keep looking for a
#: container whose create call was cut short on the client's side but still completes in the
#: engine, or which the engine would not remove at once, and how often.
SETTLE_WINDOW_S = 3.0
SETTLE_POLL_S = 0.25


def _settle(client: docker.DockerClient, run_id: str) -> None:
    """Remove the run's containers until two listings in a row find none (at most ``SETTLE_WINDOW_S``).

    Ctrl-C during a create call stops the client, not the engine: the container may appear
    after the first clean-up listed the run's containers. A container whose removal the
    engine refused with 409 Conflict is still listed, so it is asked again.
    """
    deadline = time.monotonic() + SETTLE_WINDOW_S
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        time.sleep(SETTLE_POLL_S)
        removed, conflicted = _remove(client, run_id)
        quiet = 0 if removed or conflicted else quiet + 1
