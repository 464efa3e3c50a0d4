"""Fixtures of the Docker tests: a real engine (``DOCKER_HOST``), the workload image, run ids.

Without an engine the tests are skipped with a one-line reason, except in CI (``CI=true``),
where ``.ci/run`` starts an isolated daemon and a missing or broken engine fails them.

This folder has no ``__init__.py`` on purpose: as a package named ``docker`` it would
shadow the Docker SDK on ``sys.path``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from ecssim.analysis.output import MissingExtraError
from ecssim.docker import (
    EngineUnavailable,
    cleanup,
    connect,
    container_labels,
    ensure_workload_image,
    new_run_id,
)
from ecssim.docker.images import WORKLOAD_NETWORK_MODE


@pytest.fixture(scope="session")
def engine():  # noqa: ANN201
    """A client of the engine at DOCKER_HOST (fails in CI, skips elsewhere, when there is none)."""
    try:
        client = connect()
    except (EngineUnavailable, MissingExtraError) as error:
        reason = str(error).splitlines()[0]
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs a working Docker engine (.ci/run starts one): {reason}")
        pytest.skip(f"no Docker engine: {reason}")
    yield client
    client.close()


@pytest.fixture(scope="session")
def image(engine) -> str:  # noqa: ANN001
    return ensure_workload_image(engine)


@pytest.fixture
def run_id(engine) -> Iterator[str]:  # noqa: ANN001
    """A fresh run id whose containers are removed after the test."""
    run = new_run_id("test")
    yield run
    cleanup(engine, run)


@pytest.fixture
def start(engine, image, run_id):  # noqa: ANN001, ANN201
    """Start a labelled stand-in container (kind ``task``) of the test's run:
    ``start(command, **container_options)``."""

    def run(command: list[str], **options):  # noqa: ANN003, ANN202
        labels = container_labels(run_id, kind="task", task="t-1", instance="i-1", service="web")
        return engine.containers.run(image, command, detach=True, network_mode=WORKLOAD_NETWORK_MODE,
                                     labels=labels, **options)

    return run
