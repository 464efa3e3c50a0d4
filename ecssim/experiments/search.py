"""Capacity search: the smallest value of an integer parameter whose runs meet criteria.

``find_min_capacity(scenario, "cluster.fleets[0].count", ["recovery_time_p95_s <= 300"])``
runs ``replications`` replications at a value and judges each criterion on a one-sided
Student-t confidence bound of the mean over them: ``metric <= x`` (or ``<``) holds when the
*upper* bound at ``confidence`` is <= x; ``metric >= x`` (or ``>``) when the *lower* bound
is >= x. So "p95 recovery <= 300 s with 95 % confidence" means the upper 95 % bound of the
mean p95 over the replications is at most 300 s. Replication r draws the same faults and
workloads at every value (common random numbers), so neighbouring values differ by capacity,
not by luck.

The search assumes **monotonicity**: if the criteria hold at a value, they hold at every
larger one (more capacity never hurts). It evaluates the top of the range, then the bottom,
then bisects, so it needs about log2(range) + 2 evaluations; without a top it gallops up
from the bottom (``low``, ``low + step``, ``low + 3 step``, ...) until the criteria hold.
After finding the answer it evaluates ``check_above`` more values just above it: one that
fails there is a violation of the assumption, reported with the answer (as is any pair of
evaluated values that contradicts it). Counts that do not divide evenly across a fleet's
AZs are searched like any other (a fleet of 7 over 3 AZs runs 3/2/2, round-robin in the
fleet's AZ order) and the evidence shows the split; as which AZ is short matters for an AZ
outage, uneven counts are a common cause of violations: ``step`` = the number of AZs
searches even splits only.

A criterion's metric may be NaN in a run (e.g. ``recovery_time_p95_s`` when nothing needed
recovery). With ``nan="fail"`` (default) such a value does not meet the criterion; with
``nan="ignore"`` the NaN runs are left out (the bound then needs two values). A value with a
failed run does not meet the criteria; the failures are reported.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ecssim.analysis import output
from ecssim.analysis.result import library_versions
from ecssim.analysis.summary import METRIC_NAMES, is_dynamic_metric
from ecssim.scenario import Scenario, ScenarioError
from ecssim.scenario.ecs_fields import did_you_mean
from ecssim.scenario.errors import Issue
from ecssim.units import parse_duration

from .executors import make_executor
from .paths import parse_path
from .runner import RunRecord
from .spec import Experiment
from .stats import lower_bound, upper_bound
from .sweep import run_records, run_spec

#: Largest value a search without ``high`` gallops to: ECS's limit of instances per cluster.
DEFAULT_MAX_VALUE = 5000
_CRITERION = re.compile(r"^\s*([A-Za-z0-9_]+)\s*(<=|>=|<|>)\s*(\S+)\s*$")
ASSUMPTION = ("monotone: if the criteria hold at a value they hold at every larger value "
              "(more capacity never makes the metrics worse)")


@dataclass(frozen=True)
class Criterion:
    """``metric op threshold``, judged on a one-sided confidence bound over replications."""

    metric: str
    op: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> Criterion:
        """``"recovery_time_p95_s <= 300"`` (durations such as ``5m`` allowed for ``_s`` metrics)."""
        match = _CRITERION.match(text or "")
        if match is None:
            raise ValueError(f"cannot read the criterion {text!r}; expected METRIC OP VALUE, "
                             "e.g. 'recovery_time_p95_s <= 300' (OP one of <=, <, >=, >)")
        metric, op, raw = match.groups()
        if metric not in METRIC_NAMES and not is_dynamic_metric(metric):
            raise ValueError(f"criterion {text!r}: {metric!r} is not a summary metric"
                             f"{did_you_mean(metric, list(METRIC_NAMES)) or '; see the README for the names'}")
        try:
            threshold = parse_duration(raw) if metric.endswith("_s") else float(raw)
        except ValueError:
            raise ValueError(f"criterion {text!r}: {raw!r} is not a number") from None
        return cls(metric, op, float(threshold))

    @property
    def side(self) -> str:
        """``upper`` for <=/<, ``lower`` for >=/>."""
        return "upper" if self.op in ("<=", "<") else "lower"

    def bound(self, values: list[float], confidence: float) -> float:
        """The one-sided confidence bound of the mean the criterion is judged on."""
        return (upper_bound if self.side == "upper" else lower_bound)(values, confidence)

    def holds(self, bound: float) -> bool:
        """Whether ``bound`` meets the threshold (NaN never does)."""
        if math.isnan(bound):
            return False
        return {"<=": bound <= self.threshold, "<": bound < self.threshold,
                ">=": bound >= self.threshold, ">": bound > self.threshold}[self.op]

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.threshold:g}"


@dataclass
class Evaluation:
    """The runs at one value of the parameter and the verdict on each criterion."""

    value: int
    order: int
    records: list[RunRecord]
    rows: list[dict[str, Any]] = field(default_factory=list)
    met: bool = False


@dataclass
class CapacityPlan:
    """The answer of a capacity search and its evidence."""

    parameter: str
    criteria: list[Criterion]
    confidence: float
    replications: int
    low: int
    high: int | None
    step: int
    answer: int | None
    evidence: pd.DataFrame
    runs: pd.DataFrame
    failures: pd.DataFrame
    violations: list[str]
    assumption: str = ASSUMPTION

    @property
    def found(self) -> bool:
        return self.answer is not None

    @property
    def plot(self) -> Any:
        """Figures of this search, e.g. ``plan.plot.evidence()``.

        Returns a :class:`~ecssim.experiments.plots.PlanPlots`; matplotlib is imported on first use.
        """
        from .plots import PlanPlots

        return PlanPlots(self)

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write ``plan.txt``, ``evidence.csv`` and ``runs.csv`` into a new folder, atomically."""

        def write(folder: Path) -> None:
            (folder / "plan.txt").write_text(str(self) + "\n", encoding="utf-8")
            self.evidence.to_csv(folder / "evidence.csv", index=False, lineterminator="\n")
            self.runs.to_csv(folder / "runs.csv", index=False, lineterminator="\n")
            output.write_json(folder / output.PROVENANCE_FILE, {
                output.MARKER: output.LAYOUT_VERSION, "kind": "capacity_plan", **library_versions(),
                "parameter": self.parameter, "criteria": [str(c) for c in self.criteria],
                "confidence": self.confidence, "replications": self.replications, "answer": self.answer,
                "files": ["plan.txt", "evidence.csv", "runs.csv"],
            })

        return output.write_folder(path, write, force=force)

    def __str__(self) -> str:
        top = "unbounded" if self.high is None else str(self.high)
        lines = [
            f"Capacity search over {self.parameter} in [{self.low}, {top}], step {self.step}",
            "Criteria (one-sided {:.0%} Student-t bound of the mean over {} replications): {}".format(
                self.confidence, self.replications, "; ".join(str(c) for c in self.criteria)),
            f"Assumes: {self.assumption}.",
        ]
        if self.answer is None:
            lines.append("Answer: no value in the range meets the criteria.")
        else:
            split = self.evidence.loc[self.evidence["value"] == self.answer, "per_az"]
            where = f" (per AZ: {split.iloc[0]})" if len(split) and split.iloc[0] else ""
            lines.append(f"Answer: {self.parameter} = {self.answer}{where}")
        lines += ["", "Evidence, in evaluation order:",
                  self.evidence.drop(columns=["order"]).to_string(index=False, float_format=lambda v: f"{v:.4g}"),
                  ""]
        if self.violations:
            lines.append("Monotonicity VIOLATED (the answer may not be the smallest; try --step = number of AZs):")
            lines += [f"  {v}" for v in self.violations]
        else:
            lines.append("Monotonicity: no violation among the evaluated values.")
        failed = len(self.failures)
        lines.append(f"Runs: {len(self.runs)} ({self.evidence['value'].nunique()} values x "
                     f"{self.replications} replications), {failed} failed")
        return "\n".join(lines)


def _fleet_split(scenario: Scenario, parameter: str) -> str:
    """``us-east-1a:3 us-east-1b:2 ...`` when ``parameter`` is a fleet's count, else ""."""
    segments = parse_path(parameter)
    if len(segments) != 4 or segments[:2] != ["cluster", "fleets"] or segments[3] != "count":
        return ""
    selector = segments[2]
    fleets = scenario.cluster.fleets
    fleet = (fleets[selector] if isinstance(selector, int)
             else next(f for f in fleets if f.name == selector[0]))
    zones = list(fleet.availability_zones)
    count = int(fleet.count)
    return " ".join(f"{z}:{count // len(zones) + (1 if i < count % len(zones) else 0)}"
                    for i, z in enumerate(zones))


def find_min_capacity(
    scenario: str | Path | dict[str, Any] | Scenario,
    parameter: str,
    criteria: list[str | Criterion] | str,
    *,
    low: int = 1,
    high: int | None = None,
    step: int = 1,
    replications: int = 10,
    confidence: float = 0.95,
    seed: int = 0,
    nan: str = "fail",
    check_above: int = 1,
    workers: int | None = None,
    executor: str | None = None,
    dask_address: str | None = None,
    progress: bool | None = None,
) -> CapacityPlan:
    """The smallest ``parameter`` value in ``[low, high]`` (multiples of ``step`` above ``low``)
    meeting every criterion; see the module doc for the method and its assumption."""
    if isinstance(criteria, (str, Criterion)):
        criteria = [criteria]
    parsed = [c if isinstance(c, Criterion) else Criterion.parse(c) for c in criteria]
    if not parsed:
        raise ValueError("give at least one criterion, e.g. 'recovery_time_p95_s <= 300'")
    if replications < 2:
        raise ValueError("a confidence bound needs at least 2 replications")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    if step < 1 or low < 0 or (high is not None and high < low):
        raise ValueError(f"need 0 <= low <= high and step >= 1; got low={low}, high={high}, step={step}")
    if nan not in ("fail", "ignore"):
        raise ValueError(f"nan must be 'fail' or 'ignore', got {nan!r}")
    top = high if high is not None else max(low, DEFAULT_MAX_VALUE)
    candidates = list(range(low, top + 1, step))
    base = scenario if isinstance(scenario, Experiment) else Experiment(scenario, source="<scenario>")
    _check_ends(base, parameter, sorted({candidates[0], candidates[-1]}))
    evaluations: dict[int, Evaluation] = {}

    with make_executor(executor, workers=workers, dask_address=dask_address) as pool:
        def evaluate(value: int) -> Evaluation:
            if value in evaluations:
                return evaluations[value]
            exp = Experiment(base.scenario_data, axes={parameter: [value]}, replications=replications,
                             seed=seed, source=base.scenario_source, base_dir=base.scenario_base_dir)
            specs = [run_spec(exp, 0, r) for r in range(replications)]
            records = run_records(pool, specs, progress=progress, description=f"{parameter}={value}")
            records.sort(key=lambda r: r.key)
            evaluation = Evaluation(value, len(evaluations), records)
            _judge(evaluation, parsed, confidence, nan, _fleet_split(exp.points[0].scenario, parameter))
            evaluations[value] = evaluation
            return evaluation

        answer = _search(candidates, evaluate, high is None)
        if answer is not None:
            index = candidates.index(answer)
            for extra in candidates[index + 1:index + 1 + check_above]:
                evaluate(extra)

    ordered = sorted(evaluations.values(), key=lambda e: e.order)
    evidence = pd.DataFrame([row for e in ordered for row in e.rows])
    runs = _runs_frame(parameter, ordered)
    failures = runs[runs["status"] != "ok"].reset_index(drop=True)
    return CapacityPlan(parameter, parsed, confidence, replications, low, high, step, answer, evidence,
                        runs, failures, _violations(evaluations))


def _check_ends(base: Experiment, parameter: str, values: list[int]) -> None:
    """Both ends of the range give valid scenarios, before any run (else a path-named error)."""
    try:
        Experiment(base.scenario_data, axes={parameter: values}, source=base.scenario_source,
                   base_dir=base.scenario_base_dir)
    except ScenarioError as error:
        refused = getattr(error, "refused", None)
        if not refused:
            raise ScenarioError([Issue(i.file, i.path.removeprefix("axes."), i.message) for i in error.issues]) from None
        raise ScenarioError([
            Issue(issue.file, parameter, f"the search tries {values[parameter]!r}, which the scenario refuses: "
                                         f"{issue.path}: {issue.message}")
            for values, issue in refused
        ]) from None


def _search(candidates: list[int], evaluate: Any, gallop: bool) -> int | None:
    """Bisection over ``candidates`` (module doc); None when even the largest fails."""
    last = len(candidates) - 1
    if gallop:  # low, low + 1, low + 3, low + 7, ... steps until the criteria hold
        fail, index, gap = -1, 0, 1
        while not evaluate(candidates[index]).met:
            if index == last:
                return None
            fail, index, gap = index, min(index + gap, last), gap * 2
        ok = index
    else:
        if not evaluate(candidates[last]).met:
            return None
        ok, fail = last, -1
        if last > 0:
            if evaluate(candidates[0]).met:
                return candidates[0]
            fail = 0
    while ok - fail > 1:
        middle = (ok + fail) // 2
        if evaluate(candidates[middle]).met:
            ok = middle
        else:
            fail = middle
    return candidates[ok]


def _judge(evaluation: Evaluation, criteria: list[Criterion], confidence: float, nan: str, split: str) -> None:
    """Fill the evaluation's evidence rows (one per criterion) and its verdict."""
    ok = [r for r in evaluation.records if r.status == "ok"]
    failed = len(evaluation.records) - len(ok)
    verdicts = []
    for criterion in criteria:
        values = [float(r.summary.get(criterion.metric, math.nan)) for r in ok]
        missing = sum(1 for v in values if math.isnan(v))
        used = [v for v in values if not math.isnan(v)]
        bound = criterion.bound(used, confidence) if (nan == "ignore" or not missing) else math.nan
        holds = criterion.holds(bound) and not failed
        verdicts.append(holds)
        mean = math.fsum(used) / len(used) if used else math.nan
        evaluation.rows.append({
            "order": evaluation.order, "value": evaluation.value, "per_az": split, "criterion": str(criterion),
            "runs": len(evaluation.records), "failed": failed, "nan_runs": missing,
            "mean": mean, "bound": bound, "holds": holds,
        })
    evaluation.met = all(verdicts)
    for row in evaluation.rows:
        row["met"] = evaluation.met


def _runs_frame(parameter: str, evaluations: list[Evaluation]) -> pd.DataFrame:
    rows = []
    for e in evaluations:
        for r in e.records:
            rows.append({parameter: e.value, "replication": r.replication, "status": r.status, **r.summary,
                         "error": r.error})
    return pd.DataFrame(rows)


def _violations(evaluations: dict[int, Evaluation]) -> list[str]:
    """Evaluated pairs a < b with the criteria met at a but not at b."""
    values = sorted(evaluations)
    out = []
    for i, a in enumerate(values):
        if not evaluations[a].met:
            continue
        for b in values[i + 1:]:
            if not evaluations[b].met:
                out.append(f"the criteria hold at {a} but not at {b}")
    return out
