"""Large benchmark: the largest ECS cluster (5,000 instances) for a simulated week, against bare SimPy.

For each scale of benchmarks/scenarios/large.yaml (instances, services and batch tasks scaled
together; see benchmarks/large_scenario.py), each run in a fresh process so that its peak
memory (max RSS) is its own:
- the timed part (load the scenario, simulate, build every result DataFrame), and separately
  writing the CSVs;
- the task lifecycles actually started (relaunches included) and the event rows;
- in the same process, right after, the pinned bare-SimPy baseline (bare_simpy_baseline.py,
  a copy of ../shared/benchmarks/bare_simpy_baseline.py) with the same number of task lifecycles
  and instances, and the ratio of ecssim's timed part to it.
Then the exponent of a least-squares fit of log(time) on log(lifecycles) over the scales. The
repeats run in rounds (each round every scale once) so that a machine slowing down for a
while weighs on every scale alike; each run also reports its CPU time and the machine's
steal time (from /proc/stat: time the virtual machine's CPUs waited for the host), and the
exponent of CPU time is printed beside the one of wall time, since on a shared machine wall
time swings by a third from one minute to the next.
With ``--summary-only``, the runs keep only the summary (``ecssim run --summary-only``) and the
benchmark prints their peak memory at each ``--days`` (7 and 28 by default) instead, and the
memory in use (resident, not peak) at the end of every simulated week of the run.

Targets (issue 10, 2-core machine): full scale under 30 s and 3 GiB; ratio <= 4; exponent <= 1.1;
summary-only memory flat from 7 to 28 days.

Usage:  python benchmarks/large.py [--scales 0.25,0.5,1] [--repeats 3] [--seed 1] [--no-csv]
        python benchmarks/large.py --summary-only [--days 7,28]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def one_run(scale: float, days: float, seed: int, write_csv: bool, summary_only: bool) -> dict:
    """One measured run in this process, then the bare-SimPy baseline of the same size."""
    from bare_simpy_baseline import baseline_seconds
    from large_scenario import scenario_dict

    import ecssim

    data = scenario_dict(scale, days)
    steal_before = _steal_s()
    cpu_started = time.process_time()
    started = time.perf_counter()
    scenario = ecssim.load_scenario_dict(data, source=f"large.yaml (scale {scale:g}, {days:g} days)")
    loaded = time.perf_counter()
    # the invariant checker off whatever ECSSIM_CHECK_INVARIANTS says: it is not what is timed
    sim = ecssim.Simulation(scenario, seed=seed, summary_only=summary_only, check_invariants=False)
    weekly: list[float] = []
    if summary_only:
        sim.env.process(_weekly_rss(sim.env, weekly))  # no rows: the summary is the same
    sim.run_until()
    simulated = time.perf_counter()
    if summary_only and (not weekly or days % 7):
        weekly.append(_rss_now_mib())  # the run's end (a timer due at the very end does not fire)
    result = sim.result()
    if summary_only:
        summary = result.summary()
        lifecycles = int(summary["tasks_created"])
        events = instances = -1
    else:
        lifecycles = int(len(result.tasks))
        events = int(len(result.events))
        instances = int(len(result.instances))
    tabled = time.perf_counter()
    cpu_s = time.process_time() - cpu_started
    steal_s = _steal_s() - steal_before
    csv_s = math.nan
    if write_csv and not summary_only:
        with tempfile.TemporaryDirectory() as tmp:
            result.save(Path(tmp) / "out")
        csv_s = time.perf_counter() - tabled
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    del result, sim
    fleet = int(data["cluster"]["fleets"][0]["count"])
    baseline = baseline_seconds(fleet, lifecycles, repeats=3)
    return {
        "scale": scale, "days": days,
        "load_s": loaded - started, "simulate_s": simulated - loaded, "tables_s": tabled - simulated,
        "timed_s": tabled - started, "timed_cpu_s": cpu_s, "steal_s": steal_s, "csv_s": csv_s,
        "lifecycles": lifecycles, "events": events, "instances": instances, "fleet": fleet,
        "max_rss_mib": rss, "baseline_s": baseline, "ratio": (tabled - started) / baseline,
        "weekly_rss_mib": weekly,
    }


def _weekly_rss(env, samples: list[float]):  # noqa: ANN001, ANN202
    """A SimPy process: the resident memory (MiB) at the end of every simulated week."""
    while True:
        yield env.timeout(7 * 86400.0 - 1e-6)  # just before: the run's own end is then a week's too
        samples.append(_rss_now_mib())
        yield env.timeout(1e-6)


def _rss_now_mib() -> float:
    """The resident memory of this process now (MiB; max RSS is the peak instead)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _steal_s() -> float:
    """The machine's steal time so far, all CPUs together, in seconds (NaN where unknown)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return math.nan


def medians_of(runs: list[dict]) -> dict:
    """The median of each number over ``runs`` (lists, such as the weekly memory, are left out:
    the median of an even number of lists would add them)."""
    return {key: statistics.median(r[key] for r in runs) for key, value in runs[0].items()
            if not isinstance(value, list)}


def _child(scale: float, days: float, seed: int, write_csv: bool, summary_only: bool) -> dict:
    command = [sys.executable, __file__, "--one", "--scales", repr(scale), "--days", repr(days),
               "--seed", str(seed)]
    if not write_csv:
        command.append("--no-csv")
    if summary_only:
        command.append("--summary-only")
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def fitted_exponent(lifecycles: list[float], seconds: list[float]) -> float:
    """Slope of the least-squares line of log(seconds) on log(lifecycles)."""
    xs = [math.log(v) for v in lifecycles]
    ys = [math.log(v) for v in seconds]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum((x - mx) ** 2 for x in xs)


def _machine() -> str:
    cpus = len(os.sched_getaffinity(0))
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPUs {model}, Python {platform.python_version()}, {platform.system()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="0.25,0.5,1", help="comma-separated scales (1 = the full scenario)")
    parser.add_argument("--days", default=None, help="simulated days (default 7; with --summary-only 7,28)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--no-csv", action="store_true", help="do not time writing the CSVs")
    parser.add_argument("--summary-only", action="store_true")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    scales = [float(s) for s in args.scales.split(",")]
    days = [float(d) for d in (args.days or ("7,28" if args.summary_only else "7")).split(",")]
    if args.one:
        print(json.dumps(one_run(scales[0], days[0], args.seed, not args.no_csv, args.summary_only)))
        return
    print(f"machine: {_machine()}")
    if args.summary_only:
        scale = scales[-1]
        for d in days:
            runs = [_child(scale, d, args.seed, False, True) for _ in range(args.repeats)]
            rss = statistics.median(r["max_rss_mib"] for r in runs)
            timed = statistics.median(r["timed_s"] for r in runs)
            print(f"summary-only, scale {scale:g}, {d:g} simulated days: peak memory {rss:,.0f} MiB, "
                  f"{timed:.1f} s, {statistics.median(r['lifecycles'] for r in runs):,.0f} task lifecycles "
                  f"({args.repeats} runs, median)")
            weeks = ", ".join(f"{v:,.0f}" for v in runs[0]["weekly_rss_mib"])
            print(f"  memory in use at the end of each simulated week, and of the run (first run): {weeks} MiB")
        return
    rounds = [[_child(scale, days[0], args.seed, not args.no_csv, False) for scale in scales]
              for _ in range(args.repeats)]
    medians = []
    for position, scale in enumerate(scales):
        runs = [round_[position] for round_ in rounds]
        med = medians_of(runs)
        medians.append(med)
        print(f"scale {scale:g} ({med['fleet']:,.0f} instances, {days[0]:g} days), {args.repeats} runs (median):")
        print(f"  task lifecycles started {med['lifecycles']:,.0f}, instances launched {med['instances']:,.0f}, "
              f"event rows {med['events']:,.0f}")
        print(f"  timed (load + simulate + tables): {med['timed_s']:.1f} s  [load {med['load_s']:.1f}, "
              f"simulate {med['simulate_s']:.1f}, tables {med['tables_s']:.1f}]; CSV writing (separate) "
              f"{med['csv_s']:.1f} s")
        print(f"  CPU time of the timed part {med['timed_cpu_s']:.1f} s; the machine's steal time meanwhile "
              f"{med['steal_s']:.1f} s")
        print(f"  peak memory (max RSS): {med['max_rss_mib']:,.0f} MiB")
        print(f"  bare SimPy, same lifecycles and instances: {med['baseline_s']:.2f} s; "
              f"ratio {med['ratio']:.2f} (target <= 4)")
        timed = ", ".join(f"{r['timed_s']:.1f}" for r in runs)
        print(f"  all timed runs: {timed} s")
    if len(medians) > 1:
        lifecycles = [m["lifecycles"] for m in medians]
        exponent = fitted_exponent(lifecycles, [m["timed_s"] for m in medians])
        cpu_exponent = fitted_exponent(lifecycles, [m["timed_cpu_s"] for m in medians])
        print(f"growth: time ~ lifecycles^{exponent:.2f} over scales {args.scales} (target <= 1.1); "
              f"CPU time ~ lifecycles^{cpu_exponent:.2f}")


if __name__ == "__main__":
    main()
