"""Pictures benchmark: the standard figures, the report, the animation and the narration of a
large run (benchmarks/scenarios/core.yaml: 837 instances over the day, 50 services, about
12,000 task lifecycles, 2,046 faults).

Simulates once, then times each figure (built, then saved as PNG), the HTML report (its
figures included), a 60-frame GIF and the narration; prints the median of several
repetitions of each. No target is pinned yet; the figures show where drawing time goes on a
large result (before the fixes of the first version, the Gantt chart alone took 210 s here).

Usage:  python benchmarks/pictures.py [--repeats 3] [--seed 0] [--scenario benchmarks/scenarios/core.yaml]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

import ecssim  # noqa: E402
from ecssim.analysis.plots import SAVE_DPI, figure_names, plot_function, save_animation  # noqa: E402
from ecssim.analysis.report import write_report  # noqa: E402
from ecssim.insight.narrate import narrate_lines  # noqa: E402

HERE = Path(__file__).resolve().parent
DEFAULT_SCENARIO = HERE / "scenarios" / "core.yaml"


def timed(action) -> float:  # noqa: ANN001
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def figure_seconds(result, name: str, folder: Path) -> tuple[float, float]:  # noqa: ANN001
    """(build, build + save) seconds of one standard figure."""
    started = time.perf_counter()
    fig = plot_function(name)(result)
    built = time.perf_counter()
    fig.savefig(folder / f"{name}.png", dpi=SAVE_DPI, bbox_inches="tight")
    plt.close(fig)
    return built - started, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--scenario", type=Path, default=DEFAULT_SCENARIO)
    args = parser.parse_args()

    result = ecssim.simulate(ecssim.load_scenario(args.scenario), seed=args.seed)
    print(f"{args.scenario.name} seed {args.seed}: {len(result.instances)} instances, {len(result.tasks)} task "
          f"lifecycles, {len(result.events)} event rows; medians of {args.repeats} repetitions")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        result.save(folder / "run")
        total = 0.0
        names = figure_names(result)  # scaling and demand only for runs with capacity providers / demand
        for name in names:
            runs = [figure_seconds(result, name, folder) for _ in range(args.repeats)]
            build = statistics.median(r[0] for r in runs)
            whole = statistics.median(r[1] for r in runs)
            total += whole
            print(f"  {name:<14} build {build:6.2f} s   build + save PNG {whole:6.2f} s")
        print(f"  {'all ' + str(len(names)):<14} {'':>17}  {total:6.2f} s")
        report = statistics.median(timed(lambda: write_report(result, folder / "run", force=True))
                                   for _ in range(args.repeats))
        print(f"  report.html    {report:6.2f} s (the {len(names)} figures embedded, table heads, summary)")
        gif = statistics.median(timed(lambda: save_animation(result, folder / "a.gif"))
                                for _ in range(args.repeats))
        print(f"  animation.gif  {gif:6.2f} s (60 frames, 30 boxes)")
        lines: list[str] = []
        story = statistics.median(timed(lambda: lines.extend(narrate_lines(result))) for _ in range(args.repeats))
        print(f"  narration      {story:6.2f} s ({len(lines) // args.repeats} lines)")


if __name__ == "__main__":
    main()
