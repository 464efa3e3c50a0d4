"""The teaching notebooks run top to bottom, and are committed without outputs.

Each notebook in ``notebooks/`` is executed in a fresh ``python3`` kernel (ipykernel) with
its own folder as the working directory, as a reader opening it in Jupyter would; a cell
that raises fails the test with that cell's source and error. The kernel draws with the
Agg backend, so no display is needed.

Notebooks that talk to a Docker engine (:data:`NEEDS_DOCKER`) are skipped with a one-line
reason when none answers at ``DOCKER_HOST`` (or the Docker SDK is missing), as the Docker
tests are, except in CI (``CI=true``), where a missing engine fails them.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Seconds a single cell may take before the kernel is interrupted.
CELL_TIMEOUT_S = 300
#: Notebooks that run real containers and so need a Docker engine.
NEEDS_DOCKER = {"04-simulation-vs-docker.ipynb"}


def require_docker_engine() -> None:
    """Skip the calling test when no Docker engine answers (fail instead in CI), the way
    ``tests/docker/conftest.py`` decides."""
    from ecssim.analysis.output import MissingExtraError
    from ecssim.docker import EngineUnavailable, connect

    try:
        connect().close()
    except (EngineUnavailable, MissingExtraError) as error:
        reason = str(error).splitlines()[0]
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI needs a working Docker engine (.ci/run starts one): {reason}", pytrace=False)
        pytest.skip(f"no Docker engine: {reason}")


def test_the_notebooks_exist() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert names == [
        "01-ecs-scheduling-basics.ipynb",
        "02-capacity-planning.ipynb",
        "03-failures-and-recovery.ipynb",
        "04-simulation-vs-docker.ipynb",
        "05-capacity-providers-and-cost.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_top_to_bottom(path: Path) -> None:
    if path.name in NEEDS_DOCKER:
        require_docker_engine()
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(notebook, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    started = time.perf_counter()
    try:
        client.execute(env={**os.environ, "MPLBACKEND": "Agg"})
    except CellExecutionError as error:
        pytest.fail(f"{path.name}: a cell failed\n{error}", pytrace=False)
    print(f"{path.name}: executed in {time.perf_counter() - started:.1f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_is_committed_clean(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    dirty = [
        index for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; strip them"
