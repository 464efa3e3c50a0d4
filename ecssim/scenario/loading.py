"""Reading scenario files (YAML or JSON) into a validated :class:`Scenario`.

Loading runs in three passes, each collecting every problem it finds: the file itself
(missing, too large, not UTF-8, syntax errors with line and column, duplicate keys), the
pydantic models (field types, units, unknown keys with a did-you-mean), then the checks
across the scenario (references, ECS's task-definition rules, trace files). Any problem
raises :class:`ScenarioError` listing all of them with their paths.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from .checks import check_scenario
from .ecs_objects import FILE_CONTEXT_KEY, EcsModel
from .errors import Issue, ScenarioError, issues_from_validation_error
from .includes import Expansion, expand_includes
from .models import Scenario, Timing

#: Largest scenario, include or timing file ecssim reads; a guard against pasting a trace in by mistake.
MAX_SCENARIO_BYTES = 16 * 1024 * 1024
#: Most values YAML aliases (``*name``) may stand for in one file, counted as expanded; a guard
#: against "billion laughs" documents that are small on disk and huge once expanded.
MAX_ALIAS_EXPANSION = 100_000
#: File name endings ecssim reads, and the parser each one takes.
SUFFIXES = {".yaml": "yaml", ".yml": "yaml", ".json": "json"}

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _DuplicateKey(Exception):
    def __init__(self, key: object, line: int) -> None:
        super().__init__(f"duplicate key {key!r} at line {line}")


class _StrictLoader(_BaseLoader):  # type: ignore[misc, valid-type]
    """PyYAML's (C) safe loader, refusing duplicate keys (YAML would keep the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[object] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _check_aliases(text: str, name: str) -> None:
    """Refuse a YAML document whose aliases expand to more than :data:`MAX_ALIAS_EXPANSION` nodes.

    PyYAML shares an aliased node rather than copying it, but everything after it (pydantic,
    JSON dumps) walks the expanded tree: nine levels of nine aliases ("billion laughs") would
    take forever. Counted from the parser's events, before any object is built.
    """
    if "*" not in text:
        return
    sizes: dict[str, int] = {}
    stack: list[list[Any]] = [[None, 0]]  # [anchor, expanded size so far] per open collection
    expanded = 0
    for event in yaml.parse(text, Loader=_BaseLoader):
        if isinstance(event, yaml.AliasEvent):
            size = sizes.get(event.anchor, 1)
            expanded += size
            if expanded > MAX_ALIAS_EXPANSION:
                line = event.start_mark.line + 1 if event.start_mark else "?"
                raise ScenarioError.single(
                    name, f"YAML aliases expand to more than {MAX_ALIAS_EXPANSION:,} values (at line {line}, "
                    f"alias *{event.anchor}); write the repeated parts out or use fewer nested aliases")
            stack[-1][1] += size
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                sizes[event.anchor] = 1
            stack[-1][1] += 1
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            stack.append([event.anchor, 1])
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)) and len(stack) > 1:
            anchor, size = stack.pop()
            if anchor:
                sizes[anchor] = size
            stack[-1][1] += size


def _parse_yaml(text: str, name: str) -> Any:
    try:
        _check_aliases(text, name)
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a safe loader
    except _DuplicateKey as exc:
        raise ScenarioError.single(name, str(exc)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "invalid YAML"
        kind = "YAML error" if isinstance(exc, yaml.constructor.ConstructorError) else "YAML syntax error"
        raise ScenarioError.single(name, f"{kind}{where}: {problem}") from None
    except yaml.YAMLError as exc:
        raise ScenarioError.single(name, f"YAML error: {exc}") from None


def _parse_json(text: str, name: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [key for key, _ in pairs]
        for key in keys:
            if keys.count(key) > 1:
                raise ScenarioError.single(name, f"duplicate key {key!r}")
        return dict(pairs)

    try:
        return json.loads(text, object_pairs_hook=no_duplicates)
    except json.JSONDecodeError as exc:
        raise ScenarioError.single(
            name, f"JSON syntax error at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None
    except RecursionError:
        raise ScenarioError.single(name, "JSON nested too deeply") from None


def read_scenario_data(path: str | Path) -> dict[str, Any]:
    """The raw mapping in a scenario file, or :class:`ScenarioError` explaining why not."""
    path = Path(path)
    name = str(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if kind is None:
        raise ScenarioError.single(name, "expected a .yaml, .yml or .json file")
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise ScenarioError.single(name, "is a folder, not a scenario file")
        if size > MAX_SCENARIO_BYTES:
            raise ScenarioError.single(
                name,
                f"file is {size / 2**20:.1f} MiB; scenario files are limited to {MAX_SCENARIO_BYTES // 2**20} MiB",
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ScenarioError.single(name, "file not found") from None
    except OSError as exc:
        raise ScenarioError.single(name, f"cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ScenarioError.single(name, f"not a UTF-8 text file (byte {exc.start} is not UTF-8)") from None
    if not text.strip():
        raise ScenarioError.single(name, "the file is empty")
    data = _parse_yaml(text, name) if kind == "yaml" else _parse_json(text, name)
    if data is None:
        raise ScenarioError.single(name, "the file is empty (only comments)")
    if not isinstance(data, dict):
        raise ScenarioError.single(
            name,
            f"the top level must be a mapping of sections (cluster, taskDefinitions, services, ...), "
            f"got a {type(data).__name__}",
        )
    return data


def _build(data: dict[str, Any], source: str, base_dir: str | Path | None) -> tuple[Scenario, list[str]]:
    """Validate ``data`` into a Scenario and run the checks; returns it and its warnings."""
    return _build_expanded(data, source, base_dir)[:2]


def _build_expanded(
    data: dict[str, Any], source: str, base_dir: str | Path | None
) -> tuple[Scenario, list[str], Expansion]:
    """Expand file includes, validate ``data`` into a Scenario and run the checks; returns it, its
    warnings and the expansion (which maps paths of included objects back to their files)."""
    if not isinstance(data, dict):
        raise ScenarioError.single(source, f"the top level must be a mapping, got a {type(data).__name__}")
    expansion = expand_includes(data, source, base_dir)
    data = expansion.data
    try:
        scenario = Scenario.model_validate(data, by_name=False, context={FILE_CONTEXT_KEY: True})
    except ValidationError as exc:
        raise ScenarioError(expansion.issues(issues_from_validation_error(exc, Scenario, source))) from None
    scenario._base_dir = Path(base_dir).resolve() if base_dir is not None else None
    errors, warnings = check_scenario(scenario)
    if errors:
        raise ScenarioError(expansion.issues([Issue(source, path, message) for path, message in errors]))
    return scenario, [expansion.attribute(warning) for warning in warnings], expansion


def load_scenario_dict(
    data: dict[str, Any], source: str = "<dict>", base_dir: str | Path | None = None
) -> Scenario:
    """A validated Scenario from a mapping as a file would hold it (camelCase keys).

    ``source`` names it in error messages; relative paths (traces) resolve against
    ``base_dir`` (the working directory when None).
    """
    return _build(data, source, base_dir)[0]


def load_scenario(path: str | Path, timing: str | Path | None = None) -> Scenario:
    """A validated Scenario from a ``.yaml``, ``.yml`` or ``.json`` file.

    ``timing``: a file holding only a ``timing:`` section (as ``ecssim docker-calibrate``
    writes) whose keys replace the scenario's own (see :func:`with_timing`).
    Raises :class:`ScenarioError` listing every problem found, each with its path.
    """
    data = read_scenario_data(path)
    if timing is not None:
        data = with_timing(data, timing)
    return _build(data, str(path), Path(path).parent)[0]


def read_timing_file(timing_file: str | Path) -> dict[str, Any]:
    """The ``timing:`` section of a timing file (as ``ecssim docker-calibrate`` writes), as
    written, after validating it on its own so that its errors name that file.

    Raises :class:`ScenarioError` when the file holds anything else or a bad entry.
    """
    name = str(timing_file)
    overlay = read_scenario_data(timing_file)
    others = sorted(set(overlay) - {"timing"})
    if others:
        raise ScenarioError.single(name, "a timing file holds only a timing: section "
                                   "(as ecssim docker-calibrate writes)", path=others[0])
    section = overlay.get("timing")
    if not isinstance(section, dict):
        raise ScenarioError.single(name, "expected a mapping of timing parameters", path="timing")
    try:
        Timing.model_validate(section, by_name=False, context={FILE_CONTEXT_KEY: True})
    except ValidationError as exc:
        issues = issues_from_validation_error(exc, Timing, name)
        raise ScenarioError([Issue(i.file, f"timing.{i.path}" if i.path else "timing", i.message)
                             for i in issues]) from None
    return section


def with_timing(data: dict[str, Any], timing_file: str | Path) -> dict[str, Any]:
    """``data`` with the ``timing:`` section of ``timing_file`` laid over its own, key by key
    (``containerStart`` replaces ``containerStart``; keys the file leaves out are kept).

    The file's section is validated on its own first, so its errors name that file.
    """
    section = read_timing_file(timing_file)
    own = data.get("timing") or {}
    if not isinstance(own, dict):
        return data  # the scenario's own timing is malformed: its validation says so
    return {**data, "timing": {**own, **section}}


@dataclass
class ValidationReport:
    """What ``ecssim validate`` reports for a valid file: ignored ECS fields and warnings."""

    file: str
    scenario: Scenario
    ignored: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """One line per ignored field and per warning, prefixed with the file name."""
        out = [f"{self.file}: {path} (ignored: ecssim does not model it)" for path in self.ignored]
        out += [f"{self.file}: warning: {warning}" for warning in self.warnings]
        return out

    def __str__(self) -> str:
        return "\n".join([f"{self.file}: ok", *self.lines()])


def ignored_fields(model: BaseModel, path: str = "") -> list[str]:
    """Paths of the ECS fields ecssim accepted but does not model, as written in the file."""
    found: list[str] = []
    if isinstance(model, EcsModel) and model.model_extra:
        found += [f"{path}.{key}" if path else key for key in model.model_extra]
    for name, info in type(model).model_fields.items():
        key = info.alias or name
        value = getattr(model, name)
        here = f"{path}.{key}" if path else key
        items = list(enumerate(value)) if isinstance(value, (list, tuple)) else [(None, value)]
        for index, item in items:
            if isinstance(item, BaseModel):
                found += ignored_fields(item, here if index is None else f"{here}[{index}]")
    return found


def validate_file(path: str | Path) -> ValidationReport:
    """Load and check a scenario file; raises :class:`ScenarioError` on any error."""
    data = read_scenario_data(path)
    scenario, warnings, expansion = _build_expanded(data, str(path), Path(path).parent)
    ignored = [expansion.attribute(field_path) for field_path in ignored_fields(scenario)]
    return ValidationReport(str(path), scenario, ignored, warnings)


def scenario_json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (camelCase names), for editor completion."""
    schema = Scenario.model_json_schema(by_alias=True, mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "ecssim scenario",
        **{key: value for key, value in schema.items() if key != "title"},
    }
