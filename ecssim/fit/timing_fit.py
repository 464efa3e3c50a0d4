"""A timing file fitted from ECS task state-change events: the fits, their report, the file.

``ecssim fit-timing EVENTS --out fitted.yaml`` writes comment lines (source, tasks, period,
every candidate's AIC and the chosen fit's KS statistic) then a ``timing:`` section, the
format ``ecssim docker-calibrate`` writes and ``ecssim run --timing`` reads. An existing file
is replaced only with ``force``, and only if fit-timing wrote it (its first line).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from ..own_files import check_replaceable, first_line, write_atomic
from .events import EventFileError, EventLog, read_events
from .families import Candidate, choose, fit_candidates
from .samples import FITTED_FIELDS, REPORTED_FIELDS, FieldSamples, field_samples

#: The first line of every file fit-timing writes (``--force`` checks it).
MARKER = "# ecssim fit-timing"
#: Fewest positive samples a field is fitted from (``--min-samples``).
DEFAULT_MIN_SAMPLES = 20


@dataclass
class FieldFit:
    """One field's samples, its candidates and the chosen one (None: not fitted, see ``note``)."""

    samples: FieldSamples
    candidates: list[Candidate]
    chosen: Candidate | None
    note: str = ""

    @property
    def n(self) -> int:
        return len(self.samples.values)

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.samples.values, q)) if self.n else math.nan


@dataclass
class TimingFit:
    """Every field's fit from one event file."""

    log: EventLog
    fields: dict[str, FieldFit]
    min_samples: int

    def timing_section(self) -> dict[str, dict[str, object]]:
        """The fitted fields as a scenario's ``timing:`` entries."""
        return {name: f.chosen.entry() for name, f in self.fields.items() if f.chosen is not None}

    def _period(self) -> str:
        if self.log.first_time is None or self.log.last_time is None:
            return "no event times"

        def iso(t: float) -> str:
            return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

        return f"{iso(self.log.first_time)} to {iso(self.log.last_time)}"

    def header(self) -> list[str]:
        """The comment lines: what was read, then every field's figures and candidates."""
        skipped = ", ".join(f"{count} {kind!r}" for kind, count in self.log.skipped.items())
        lines = [f"{MARKER}: timing fitted from ECS task state-change events",
                 f"# source: {self.log.source}; {len(self.log.tasks)} tasks from {self.log.events} events"
                 + (f" (skipped: {skipped})" if skipped else ""),
                 f"# period: {self._period()}",
                 "# maximum-likelihood fits; chosen: least AIC = 2k - 2 lnL; KS = Kolmogorov-Smirnov distance "
                 "of the chosen fit",
                 f"# {'field':<15}{'n':>5}{'median_s':>10}{'p95_s':>10}  chosen (KS; candidates' AIC)"]
        for name, fit in self.fields.items():
            median, p95 = (f"{fit.quantile(q):.4g}" if fit.n else "-" for q in (0.5, 0.95))
            lines.append(f"# {name:<15}{fit.n:>5}{median:>10}{p95:>10}  {_verdict(fit)}")
            lines += [f"#   {note}" for note in fit.samples.notes]
        return lines

    def to_yaml(self) -> str:
        """The timing file: the header comments, then the ``timing:`` section."""
        body = ["timing:"]
        for name, entry in self.timing_section().items():
            body.append(f"  {name}: {{{', '.join(f'{key}: {value}' for key, value in entry.items())}}}")
        return "\n".join(self.header() + body) + "\n"

    def candidates_text(self) -> str:
        """Every candidate of every fitted field: parameters, log-likelihood, AIC and KS."""
        lines = [f"{'field':<15}{'family':<12}{'lnL':>11}{'AIC':>11}{'KS':>7}  parameters"]
        for name, fit in self.fields.items():
            for c in fit.candidates:
                mark = " *" if c is fit.chosen else ""
                params = ", ".join(f"{k} {v:.4g}" for k, v in c.params.items())
                lines.append(f"{name:<15}{c.family:<12}{c.log_likelihood:>11.2f}{c.aic:>11.2f}{c.ks:>7.3f}  "
                             f"{params}{mark}")
        return "\n".join(lines)


def _verdict(fit: FieldFit) -> str:
    if fit.chosen is None:
        return fit.note
    entry = ", ".join(f"{k} {v}" for k, v in fit.chosen.entry().items() if k != "type")
    aics = ", ".join(f"{c.family} {c.aic:.1f}" for c in fit.candidates)
    critical = 1.36 / math.sqrt(fit.n)
    return (f"{fit.chosen.family} ({entry}); KS {fit.chosen.ks:.3f} (5% critical {critical:.3f}); "
            f"AIC {aics}")


def fit_events(path: str | Path, min_samples: int = DEFAULT_MIN_SAMPLES) -> TimingFit:
    """Read the event file at ``path`` and fit every field with at least ``min_samples``
    positive samples; ``eniAttach`` is reported, never fitted.

    Raises:
        EventFileError: the file cannot be read (see :func:`~ecssim.fit.events.read_events`).
    """
    log = read_events(path)
    fields: dict[str, FieldFit] = {}
    for name, samples in field_samples(log).items():
        if name in REPORTED_FIELDS:
            fields[name] = FieldFit(samples, [], None, "reported only, not fitted: it also holds placement and "
                                    "waits for resources")
        elif len(samples.values) < min_samples:
            fields[name] = FieldFit(samples, [], None, f"{len(samples.values)} samples, fewer than "
                                    f"{min_samples}: not fitted (the scenario keeps its own)")
        else:
            candidates = fit_candidates(samples.values)
            fields[name] = FieldFit(samples, candidates, choose(candidates))
    ordered = {name: fields[name] for name in (*FITTED_FIELDS, *REPORTED_FIELDS)}
    return TimingFit(log, ordered, min_samples)


def check_target(path: str | Path, force: bool) -> None:
    """Refuse to write at ``path`` a file that would replace another: without ``force`` any
    existing file; with it, any file fit-timing did not write.

    Raises:
        EventFileError: with the reason.
    """
    check_replaceable(path, force, lambda p: first_line(p).startswith(MARKER), tool="ecssim fit-timing",
                      example="timing.yaml", error=EventFileError)


def write_timing(fit: TimingFit, path: str | Path, *, force: bool = False) -> Path:
    """Write the fit's timing file at ``path`` (to a temporary name, then renamed).

    Raises:
        EventFileError: a file is in the way, or no field could be fitted.
    """
    if not fit.timing_section():
        raise EventFileError(f"{fit.log.source}: no field has {fit.min_samples} or more samples; nothing to "
                             "write (see --min-samples)")
    check_target(path, force)
    return write_atomic(path, fit.to_yaml())
