"""An experiment: a base scenario, parameter axes, replications and a root seed.

The file (YAML or JSON) reads::

    scenario: az-outage-terminated.yaml      # relative to this file, or an inline mapping
    seed: 0                                  # root seed of every run
    replications: 10
    axes:                                    # dotted paths into the scenario -> values
      cluster.fleets[0].count: [6, 9, 12]
      timing.serviceReaction.period: [10s, 30s]

The cartesian product of the axes, in file order with the last axis varying fastest, gives
the numbered points (0, 1, ...); every point runs replications 0..R-1. Run (p, r) simulates
point p's scenario with the root seed and replication r, so its random streams are keyed by
(seed, r, component, entity) and not by p: replication r draws the same workloads and faults
at every point (common random numbers). Every point's scenario is built and validated when
the experiment is loaded, so a bad value is reported before any run starts.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ecssim.scenario import Scenario, ScenarioError, load_scenario_dict
from ecssim.scenario.errors import Issue, issues_from_validation_error
from ecssim.scenario.loading import read_scenario_data

from .paths import PathError, parse_path, resolved_path, set_path

#: Most runs one experiment may expand to (a guard against a typo such as 1000 replications x 1000 values).
MAX_RUNS = 100_000


class ExperimentFile(BaseModel):
    """The fields of an experiment file, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    description: str = ""
    scenario: str | dict[str, Any] = Field(
        description="The base scenario: a file path (relative to the experiment file) or an inline mapping."
    )
    seed: int = Field(default=0, ge=0, description="Root seed of every run.")
    replications: int = Field(default=1, ge=1, description="Replications per point (0..R-1).")
    axes: dict[str, list[Any]] = Field(
        default_factory=dict, description="Dotted scenario path -> the values it takes (cartesian product)."
    )


@dataclass(frozen=True)
class Point:
    """One parameter point: its number, its axis values and its validated scenario."""

    index: int
    values: dict[str, Any]
    scenario_data: dict[str, Any]
    scenario: Scenario

    def label(self) -> str:
        """``count=9, period=30s``-style text naming the point (empty without axes)."""
        return ", ".join(f"{path}={value}" for path, value in self.values.items())


class Experiment:
    """A validated experiment: its points (each with its scenario), replications and seed.

    Build it from a file with :func:`load_experiment`, or in Python::

        Experiment("scenarios/az-outage-terminated.yaml",
                   axes={"cluster.fleets[0].count": [6, 9, 12]}, replications=10, seed=0)

    ``scenario`` may be a file path, a mapping as a file holds it, or a loaded
    :class:`~ecssim.scenario.Scenario`.
    """

    def __init__(
        self,
        scenario: str | Path | dict[str, Any] | Scenario,
        *,
        axes: dict[str, list[Any]] | None = None,
        replications: int = 1,
        seed: int = 0,
        name: str = "",
        description: str = "",
        source: str = "<experiment>",
        base_dir: str | Path | None = None,
    ) -> None:
        if isinstance(scenario, Scenario):
            base_dir = scenario.base_dir if base_dir is None else base_dir
            scenario = scenario.model_dump(mode="json", by_alias=True, exclude_unset=True)
        elif isinstance(scenario, Path):
            scenario = str(scenario)
        try:
            spec = ExperimentFile.model_validate({
                "name": name, "description": description, "scenario": scenario,
                "seed": seed, "replications": replications, "axes": dict(axes or {}),
            })
        except ValidationError as exc:
            raise ScenarioError(issues_from_validation_error(exc, ExperimentFile, source)) from None
        self._init(spec, source, Path(base_dir) if base_dir is not None else None)

    @classmethod
    def from_file_spec(cls, spec: ExperimentFile, source: str, base_dir: Path) -> Experiment:
        """An experiment from an already validated :class:`ExperimentFile`."""
        self = cls.__new__(cls)
        self._init(spec, source, base_dir)
        return self

    def _init(self, spec: ExperimentFile, source: str, base_dir: Path | None) -> None:
        _check_axes(spec.axes, source)
        self.spec = spec
        self.source = source
        self.name = spec.name
        self.description = spec.description
        self.seed = spec.seed
        self.replications = spec.replications
        self.axes = dict(spec.axes)
        if isinstance(spec.scenario, str):
            path = Path(spec.scenario).expanduser()
            path = path if path.is_absolute() or base_dir is None else base_dir / path
            self.scenario_source = str(path)
            self.scenario_base_dir = path.resolve().parent
            self.scenario_data = read_scenario_data(path)
        else:
            self.scenario_source = source if source.startswith("<") else f"{source}: scenario"
            self.scenario_base_dir = (base_dir or Path.cwd()).resolve()
            self.scenario_data = dict(spec.scenario)
        runs = self.replications
        for values in self.axes.values():
            runs *= len(values)
        if runs > MAX_RUNS:
            raise ScenarioError.single(
                source, f"the experiment expands to {runs} runs; at most {MAX_RUNS} are allowed", "axes"
            )
        self.points = self._expand()
        if not self.name:
            self.name = self.points[0].scenario.name

    def _expand(self) -> list[Point]:
        """Every point's scenario, built and validated; all problems reported at once."""
        issues: list[Issue] = []
        refused: list[tuple[dict[str, Any], Issue]] = []
        points: list[Point] = []
        paths = list(self.axes)
        resolved = {p: resolved_path(self.scenario_data, p) for p in paths}
        for index, combo in enumerate(itertools.product(*self.axes.values())):
            values = dict(zip(paths, combo, strict=True))
            data = self.scenario_data
            try:
                for path, value in values.items():
                    data = set_path(data, path, value)
            except PathError as error:
                issues.append(Issue(self.source, f"axes.{path}", str(error)))
                break  # a wrong path is wrong at every point
            label = ", ".join(f"{p}={v!r}" for p, v in values.items())
            try:
                scenario = load_scenario_dict(data, self.scenario_source, self.scenario_base_dir)
            except ScenarioError as error:
                for issue in error.issues:
                    axis = next((p for p in paths if _within(issue.path, resolved[p])), None)
                    where = f"axes.{axis}" if axis else "scenario"
                    issues.append(Issue(self.source, where, f"at point {index} ({label}): {issue}"))
                    refused.append((values, issue))
                continue
            points.append(Point(index, values, data, scenario))
        if issues:
            error = ScenarioError(_first_per_message(issues))
            error.refused = refused  # (axis values, the scenario's own issue), for callers' messages
            raise error
        return points

    @property
    def runs(self) -> int:
        """Number of runs: points x replications."""
        return len(self.points) * self.replications

    def point(self, index: int) -> Point:
        """Point ``index``, or ValueError naming the valid range."""
        if not 0 <= index < len(self.points):
            raise ValueError(f"point {index} does not exist; the experiment has points 0..{len(self.points) - 1}")
        return self.points[index]

    def to_dict(self) -> dict[str, Any]:
        """The resolved experiment (base scenario inline) as stored in a sweep's folder."""
        return {
            "name": self.name,
            "description": self.description,
            "seed": self.seed,
            "replications": self.replications,
            "axes": self.axes,
            "scenario_source": self.scenario_source,
            "scenario_base_dir": str(self.scenario_base_dir),
            "scenario": self.scenario_data,
        }

    def fingerprint(self) -> str:
        """A hash of what decides the runs' results (scenario, axes, seed, replications)."""
        text = json.dumps(
            {"scenario": self.scenario_data, "axes": self.axes, "seed": self.seed, "replications": self.replications},
            sort_keys=True, default=str,
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str) -> Experiment:
        """The experiment a sweep folder stored with :meth:`to_dict`."""
        return cls(
            data["scenario"], axes=data["axes"], replications=data["replications"], seed=data["seed"],
            name=data.get("name", ""), description=data.get("description", ""), source=source,
            base_dir=data.get("scenario_base_dir"),
        )


def _within(path: str, prefix: str) -> bool:
    """Whether the field ``path`` is ``prefix`` or lies inside it."""
    return path == prefix or path.startswith((prefix + ".", prefix + "["))


def _check_axes(axes: dict[str, list[Any]], source: str) -> None:
    """Every axis a readable path with distinct values, or a ScenarioError naming ``axes.<path>``."""
    issues = []
    for path, values in axes.items():
        try:
            parse_path(path)
        except PathError as error:
            issues.append(Issue(source, f"axes.{path}", str(error)))
            continue
        if not values:
            issues.append(Issue(source, f"axes.{path}", "the axis has no values; give at least one"))
            continue
        seen = [json.dumps(v, sort_keys=True, default=str) for v in values]
        if len(set(seen)) != len(seen):
            issues.append(Issue(source, f"axes.{path}", "the axis lists a value twice"))
    if issues:
        raise ScenarioError(issues)


def _first_per_message(issues: list[Issue]) -> list[Issue]:
    """The issues without repeats (one bad value shows once, not once per combination)."""
    seen: set[str] = set()
    out: list[Issue] = []
    for issue in issues:
        key = issue.path + issue.message.split("): ", 1)[-1]
        if key not in seen:
            seen.add(key)
            out.append(issue)
    return out


def load_experiment(path: str | Path) -> Experiment:
    """A validated :class:`Experiment` from a ``.yaml``/``.yml``/``.json`` file.

    Raises :class:`~ecssim.scenario.ScenarioError` naming the file and field of every problem
    (unknown path, empty axis, a value the scenario refuses at some point).
    """
    path = Path(path)
    data = read_scenario_data(path)
    try:
        spec = ExperimentFile.model_validate(data)
    except ValidationError as exc:
        raise ScenarioError(issues_from_validation_error(exc, ExperimentFile, str(path))) from None
    return Experiment.from_file_spec(spec, str(path), path.parent)
