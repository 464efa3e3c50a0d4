"""What ecssim's event log alone costs, against the bare-SimPy baseline of the large benchmark.

The bare baseline (bare_simpy_baseline.py) runs T task lifecycles on N instances with one
process and three timeouts each, and records nothing. ecssim's output contract asks more of
every lifecycle: each transition is a row of the ``events`` table (12 rows for a task that
starts, runs and stops: PROVISIONING .. STOPPED, the pull and host-ledger rows), and the table
is built from those rows. This benchmark runs the bare model plus exactly that, with ecssim's
own code: the :class:`~ecssim.model.recorder.Recorder` writes the rows of each lifecycle at the
times the bare model's timeouts give, and ``events_and_codes`` builds the ``events`` DataFrame.
No placement, service scheduler, failures or other table.

It prints the bare time, this floor's time (simulation, then the table) and their ratio: the
part of benchmarks/large.py's ratio target (<= 4, issue 10) that the event log alone uses,
whatever the rest of the model costs. Both run in this process, in turns, and the medians of
``--repeats`` runs are compared (the machine's speed drifts within minutes).

Usage:  python benchmarks/log_floor.py [--instances 5000] [--lifecycles 260000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bare_simpy_baseline import _run_once  # noqa: E402

from ecssim.analysis.tables import events_and_codes  # noqa: E402
from ecssim.model.eventlog import EventLog  # noqa: E402
from ecssim.model.recorder import Recorder  # noqa: E402
from ecssim.model.task import (  # noqa: E402
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
    Task,
)

#: Instances the rows name, in three AZs (their ids as ecssim writes them).
AZS = ("us-east-1a", "us-east-1b", "us-east-1c")


def lifecycle(env: simpy.Environment, rec: Recorder, task: Task):  # noqa: ANN201 - a SimPy process
    """The bare baseline's task (start, run, stop) writing the rows ecssim writes for a bridge
    task that starts on a free host and exits by itself."""
    rec.task_state(task, PROVISIONING)
    rec.task_state(task, PENDING)
    rec.task_event(task, "host_acquired")
    rec.task_event(task, "pull_started")
    yield env.timeout(2.0)  # start
    rec.task_event(task, "pull_stopped")
    rec.task_state(task, ACTIVATING)
    rec.task_state(task, RUNNING)
    yield env.timeout(task.duration)  # run
    task.stop_code, task.stop_reason = ESSENTIAL_CONTAINER_EXITED, ESSENTIAL_EXIT_REASON
    rec.task_state(task, DEACTIVATING)
    rec.task_state(task, STOPPING)
    yield env.timeout(1.0)  # stop
    rec.task_state(task, DEPROVISIONING)
    rec.task_state(task, STOPPED)
    rec.task_event(task, "host_released")


def floor_once(instances: int, tasks: int, seed: int = 1) -> tuple[float, float, int]:
    """(simulation seconds, table seconds, rows): the bare model recording ecssim's rows."""
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0, tasks)
    durations = rng.exponential(instances * 2.8, tasks)  # as the bare baseline
    slots = rng.integers(0, instances, tasks)
    env = simpy.Environment()
    log = EventLog()
    rec = Recorder(env, log)
    rec.instance_ids.extend(f"i-{slot + 1:017x}" for slot in range(instances))
    rec.instance_azs.extend(AZS[slot % len(AZS)] for slot in range(instances))
    spec = SimpleNamespace(key="batch:1", demand=SimpleNamespace(cpu=512, memory_mib=1024))

    def arrivals(env):  # noqa: ANN001, ANN202
        draws = zip(gaps.tolist(), durations.tolist(), slots.tolist(), strict=True)
        for number, (gap, duration, slot) in enumerate(draws, 1):
            yield env.timeout(gap)
            env.process(lifecycle(env, rec, Task(number, spec, "family:batch", None, "workload:batch", slot,
                                                 duration)))

    env.process(arrivals(env))
    started = time.perf_counter()
    env.run()
    simulated = time.perf_counter()
    events, _codes = events_and_codes(log)
    tabled = time.perf_counter()
    return simulated - started, tabled - simulated, len(events)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=5000)
    parser.add_argument("--lifecycles", type=int, default=260_000,
                        help="task lifecycles (default: what the full large scenario starts)")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    bare, sims, tables = [], [], []
    rows = 0
    for _ in range(args.repeats):
        bare.append(_run_once(args.instances, args.lifecycles))
        sim_s, table_s, rows = floor_once(args.instances, args.lifecycles)
        sims.append(sim_s)
        tables.append(table_s)
    b, s, t = statistics.median(bare), statistics.median(sims), statistics.median(tables)
    print(f"{args.lifecycles:,} task lifecycles on {args.instances:,} instances, {rows:,} event rows; "
          f"medians of {args.repeats}:")
    print(f"  bare SimPy: {b:.2f} s")
    print(f"  bare + ecssim's event rows: {s + t:.2f} s  [simulate {s:.2f}, events table {t:.2f}]; "
          f"ratio {(s + t) / b:.2f} (of the large benchmark's target of 4)")


if __name__ == "__main__":
    main()
