"""The result of a summary-only run: the summary metrics, and no per-event tables.

A summary-only run (``Simulation(..., summary_only=True)``, ``ecssim run --summary-only``)
feeds its rows to an :class:`~ecssim.analysis.online.OnlineSummary` as they are recorded
instead of keeping them, so its memory does not grow with simulated time. What it can give
back is the summary (every metric of :func:`~ecssim.analysis.summary.summarize` but
``first_replacement_time_mean_s``), saved as ``summary.json`` with the scenario and the
provenance; the tables, plots, reports and ``explain`` need a full run.
"""

from __future__ import annotations

from pathlib import Path

from ecssim.analysis import output
from ecssim.analysis.online import LEFT_OUT_METRIC_NAMES, OnlineSummary
from ecssim.analysis.result import SCENARIO_FILE, SUMMARY_FILE, library_versions

#: Provenance key that marks a summary-only result folder.
SUMMARY_ONLY_KEY = "summary_only"


class SummaryOnlyResult:
    """The summary of a run that kept no tables (see the module docstring)."""

    #: Metrics a summary-only run cannot give exactly, hence leaves out of ``summary()``.
    left_out = LEFT_OUT_METRIC_NAMES

    def __init__(self, online: OnlineSummary, *, scenario: dict, seed: int, replication: int,
                 duration_s: float, measure_from_s: float, start_time: str | None) -> None:
        self._online = online
        self.scenario = scenario
        self.seed = int(seed)
        self.replication = int(replication)
        self.duration_s = float(duration_s)
        self.measure_from_s = float(measure_from_s)
        self.provenance = {
            **library_versions(),
            "seed": self.seed,
            "replication": self.replication,
            "duration_s": self.duration_s,
            "measure_from_s": self.measure_from_s,
            "start_time": start_time or "",
            SUMMARY_ONLY_KEY: True,
        }

    def summary(self) -> dict[str, float | int]:
        """The summary metrics, named and ordered as a full run's (without :attr:`left_out`)."""
        return dict(self._online.result())

    def __getattr__(self, name: str):  # noqa: ANN204
        if name.startswith("_"):
            raise AttributeError(name)
        raise AttributeError(f"a summary-only run keeps no {name!r}: it has summary() only; run without "
                             "summary-only for the tables, plots and reports")

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write ``summary.json``, ``scenario.json`` and ``provenance.json`` atomically (output rules)."""
        summary = self.summary()  # NaN is written as null, as a full run's summary.json

        def write(folder: Path) -> None:
            output.write_json(folder / SUMMARY_FILE, summary)
            output.write_json(folder / SCENARIO_FILE, self.scenario)
            provenance = {output.MARKER: output.LAYOUT_VERSION, **self.provenance,
                          "files": [SUMMARY_FILE, SCENARIO_FILE]}
            output.write_json(folder / output.PROVENANCE_FILE, provenance)

        return output.write_folder(path, write, force=force)
