"""Determinism across interpreters and executors: the same scenario and seed give the same
``events.csv`` (sha256 of the saved file) in this process, in a fresh interpreter with another
hash seed, in the processes executor and on a Dask LocalCluster of worker processes.

The demo scenario draws from every kind of stream (a Poisson/lognormal workload, a random
instance choice for a fault, exponential task crashes, spread/binpack ties); two replications
per executor, which must differ from each other so the test can tell runs apart. Workers
only return summaries: their full tables are written by the worker itself into
``<out>/runs/p<point>-r<replication>/`` (``tables=True``) and hashed here. About 15 s on 2
cores, half of it the Dask cluster. Identity holds under the same dependency versions (numpy
does not promise identical random streams across its versions: README, "Random streams and
seeds").
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ecssim
from ecssim.experiments import Experiment, experiment
from ecssim.experiments.runner import run_folder_name

from .conftest import require_dask

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "scenarios" / "demo.yaml"
SEED = 7
REPLICATIONS = (0, 1)

_CHILD = """
import hashlib, json, sys
import ecssim
scenario = ecssim.load_scenario(sys.argv[1])
hashes = {}
for replication in (0, 1):
    folder = ecssim.simulate(scenario, seed=int(sys.argv[2]), replication=replication).save(
        f"{sys.argv[3]}/r{replication}")
    hashes[replication] = hashlib.sha256((folder / "events.csv").read_bytes()).hexdigest()
print(json.dumps({"events": hashes}))
"""


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> dict[int, str]:
    """(a) The events hash of each replication simulated and saved in this process."""
    folder = tmp_path_factory.mktemp("here")
    scenario = ecssim.load_scenario(DEMO)
    hashes = {}
    for replication in REPLICATIONS:
        saved = ecssim.simulate(scenario, seed=SEED, replication=replication).save(folder / f"r{replication}")
        hashes[replication] = sha256(saved / "events.csv")
    assert hashes[0] != hashes[1], "the replications must differ, or identity proves nothing"
    return hashes


def sweep_hashes(out: Path, **executor) -> dict[int, str]:
    """The events hash of each replication of the demo, run by ``executor`` with its tables kept."""
    exp = Experiment(str(DEMO), replications=len(REPLICATIONS), seed=SEED)
    result = experiment(exp, out=out, tables=True, progress=False, **executor)
    assert set(result.runs.status) == {"ok"}, result.failures.to_dict("records")
    return {r: sha256(out / "runs" / run_folder_name(0, r) / "events.csv") for r in REPLICATIONS}


def test_fresh_interpreter_with_another_hash_seed(tmp_path, reference):
    """(b) A new interpreter (another PYTHONHASHSEED, so another set/str-dict order) writes the same file."""
    hash_seed = "1" if os.environ.get("PYTHONHASHSEED") == "4242" else "4242"
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-c", _CHILD, str(DEMO), str(SEED), str(tmp_path)],
                          env=env, capture_output=True, text=True, check=True, timeout=120)
    child = json.loads(done.stdout.strip().splitlines()[-1])
    assert {int(k): v for k, v in child["events"].items()} == reference


def test_serial_executor(tmp_path, reference):
    assert sweep_hashes(tmp_path / "serial", executor="serial") == reference


def test_processes_executor(tmp_path, reference):
    """(c) Worker processes forked from a forkserver (a fresh interpreter of its own)."""
    assert sweep_hashes(tmp_path / "processes", executor="processes", workers=2) == reference


def test_dask_local_cluster_in_worker_processes(tmp_path, reference):
    """(d) A LocalCluster with processes=True: the runs execute and write their tables in the
    workers' own interpreters (other pids), and the files are identical. In CI a missing
    dask.distributed fails this test."""
    require_dask()
    import dask
    from distributed import Client, LocalCluster

    from ecssim.experiments.executors import LOCAL_CLUSTER_CONFIG

    with dask.config.set(LOCAL_CLUSTER_CONFIG), LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
    ) as cluster, Client(cluster) as client:
        worker_pids = set(client.run(os.getpid).values())
        hashes = sweep_hashes(tmp_path / "dask", dask_address=cluster.scheduler_address)
    assert len(worker_pids) == 2 and os.getpid() not in worker_pids
    assert hashes == reference

