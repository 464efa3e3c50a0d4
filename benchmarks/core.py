"""Core benchmark: 500 instances, 50 services, about 10,000 task lifecycles over one simulated day.

Times loading the scenario, simulating and building the result DataFrames (the timed part,
per decisions.md), and separately writing the CSVs; prints the median of several runs, each
in a fresh process so that its peak memory (max RSS) is its own. Target: <= 5 s on a 2-core
machine.

Usage:  python benchmarks/core.py [--repeats 5] [--seed 1] [--scenario benchmarks/scenarios/core.yaml]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SCENARIO = HERE / "scenarios" / "core.yaml"


def one_run(scenario_path: Path, seed: int) -> dict:
    """One measured run in this process."""
    started = time.perf_counter()
    import ecssim

    imported = time.perf_counter()
    scenario = ecssim.load_scenario(scenario_path)
    loaded = time.perf_counter()
    sim = ecssim.Simulation(scenario, seed=seed)
    sim.run_until()
    simulated = time.perf_counter()
    result = sim.result()
    tabled = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        result.save(Path(tmp) / "out")
    written = time.perf_counter()
    return {
        "import_s": imported - started,
        "load_s": loaded - imported,
        "simulate_s": simulated - loaded,
        "tables_s": tabled - simulated,
        "timed_s": tabled - imported,
        "csv_s": written - tabled,
        "lifecycles": int(len(result.tasks)),
        "events": int(len(result.events)),
        "instances": int(len(result.instances)),
        "max_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one_run(args.scenario, args.seed)))
        return
    runs = []
    for _ in range(args.repeats):
        out = subprocess.run([sys.executable, __file__, "--one", "--seed", str(args.seed), "--scenario",
                              str(args.scenario)], check=True, capture_output=True, text=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    med = {key: statistics.median(r[key] for r in runs) for key in runs[0]}
    print(f"scenario: {args.scenario.name}, seed {args.seed}, {args.repeats} runs (median)")
    print(f"  instances {med['instances']:.0f}, task lifecycles {med['lifecycles']:.0f}, event rows {med['events']:.0f}")
    print(f"  timed (load + simulate + tables): {med['timed_s']:.2f} s  "
          f"[load {med['load_s']:.2f}, simulate {med['simulate_s']:.2f}, tables {med['tables_s']:.2f}]")
    print(f"  task lifecycles per second: {med['lifecycles'] / med['timed_s']:,.0f}")
    print(f"  CSV writing (separate): {med['csv_s']:.2f} s; interpreter + import: {med['import_s']:.2f} s")
    print(f"  peak memory (max RSS): {med['max_rss_mib']:.0f} MiB")
    timed = ", ".join(f"{r['timed_s']:.2f}" for r in runs)
    print(f"  all timed runs: {timed} s  (target <= 5 s)")


if __name__ == "__main__":
    main()
