"""Regenerate the README's pictures: python docs/make_images.py (from the repository root)."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import ecssim  # noqa: E402
from ecssim.analysis.plots import save_animation  # noqa: E402

OUT = Path(__file__).resolve().parent / "images"

result = ecssim.simulate(ecssim.load_scenario("scenarios/az-outage-terminated.yaml"), seed=0)
save_animation(result, OUT / "az-outage.gif", frames=40, dpi=60, interval_ms=300)  # small enough for a README
for name in ("capacity", "gantt"):
    getattr(result.plot, name)().savefig(OUT / f"az-outage-{name}.png", dpi=80, bbox_inches="tight")

# README "Replaying public traces": the shipped Alibaba slice on a fleet too small for its peaks
trace_run = ecssim.simulate(ecssim.load_scenario("scenarios/alibaba-batch-slice.yaml"), seed=0)
trace_run.plot.capacity(by="cluster").savefig(OUT / "alibaba-batch-slice-capacity.png", dpi=80, bbox_inches="tight")
print(f"written to {OUT}")
