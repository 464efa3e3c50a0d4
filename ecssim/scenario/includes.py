"""File includes: ``{file: path, ...overrides}`` entries of ``taskDefinitions`` and ``services``.

A scenario may name ECS JSON/YAML files instead of pasting objects in: the output of ``aws ecs
describe-task-definition`` / ``describe-services`` (wrappers unwrapped), the inner objects, or a
``register-task-definition`` / ``create-service`` ``--cli-input-json`` file; a file may also be a
list of such objects and further includes. :func:`expand_includes` replaces every include by the
objects it names, with the overrides merged in, before pydantic sees the data, so a saved result's
``scenario.json`` holds the objects themselves. :class:`Expansion` maps paths of the expanded lists
back to what the user wrote: ``services[1] (from svc.json)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Issue, ScenarioError

#: The scenario sections whose entries may be includes.
SECTIONS = ("taskDefinitions", "services")
#: The key that makes an entry an include.
FILE_KEY = "file"
#: Keys of ``describe-task-definition`` / ``register-task-definition`` responses beside the object.
_TD_WRAPPER = frozenset({"taskDefinition", "tags", "ResponseMetadata"})
#: Keys of ``describe-services`` responses beside the services.
_SERVICES_WRAPPER = frozenset({"services", "failures", "ResponseMetadata"})
#: Keys of ``create-service`` / ``update-service`` responses beside the service.
_SERVICE_WRAPPER = frozenset({"service", "ResponseMetadata"})
#: Exclusive in ECS: overriding one drops the file's value of the other.
_LAUNCH_CHOICE = ("launchType", "capacityProviderStrategy")
_NOUN = {"taskDefinitions": "task definition", "services": "service"}
_SHAPES = {
    "taskDefinitions": "expected the output of aws ecs describe-task-definition ({taskDefinition: ...}), "
    "a task definition object or a register-task-definition --cli-input-json file",
    "services": "expected the output of aws ecs describe-services ({services: [...]}), a service object "
    "or a create-service --cli-input-json file",
}
_PREFIX = re.compile(r"^(taskDefinitions|services)\[(\d+)\]")


class IncludeError(Exception):
    """An include that cannot be expanded; the message names the file."""


@dataclass(frozen=True)
class Origin:
    """Where an entry of an expanded list came from: its path as written, and the file if included."""

    written: str
    file: str | None = None

    @property
    def label(self) -> str:
        """``services[0]``, or ``services[0] (from svc.json at services[1])`` for an included object."""
        return self.written if self.file is None else f"{self.written} (from {self.file})"


@dataclass
class Expansion:
    """The scenario data with its includes expanded, and where each expanded entry came from."""

    data: dict[str, Any]
    origins: dict[tuple[str, int], Origin] = field(default_factory=dict)

    def attribute(self, text: str) -> str:
        """``text`` (a path, or a message starting with one) with an expanded entry's path as written.

        ``taskDefinitions[0].containerDefinitions[0].memroy`` becomes
        ``taskDefinitions[0] (from taskdefs/web.json): containerDefinitions[0].memroy``.
        """
        match = _PREFIX.match(text)
        origin = self.origins.get((match[1], int(match[2]))) if match else None
        if origin is None:
            return text
        rest = text[match.end():]
        if origin.file is None:
            return origin.written + rest
        return f"{origin.label}: {rest[1:]}" if rest.startswith(".") else origin.label + rest

    def issues(self, issues: list[Issue]) -> list[Issue]:
        """``issues`` with their paths attributed (see :meth:`attribute`)."""
        return [Issue(i.file, self.attribute(i.path), i.message) for i in issues]


def is_include(entry: object) -> bool:
    """True for a ``{file: ..., ...}`` entry."""
    return isinstance(entry, dict) and FILE_KEY in entry


def expand_includes(data: dict[str, Any], source: str, base_dir: str | Path | None) -> Expansion:
    """``data`` with every include of ``taskDefinitions`` and ``services`` expanded.

    Paths resolve against ``base_dir`` (the scenario file's folder; the working directory when
    None), nested ones against the file that holds them. Raises :class:`ScenarioError` naming
    each failing entry's ``file`` path (``taskDefinitions[2].file``) and the file.
    """
    if not isinstance(data, dict) or not any(
        isinstance(data.get(s), list) and any(map(is_include, data[s])) for s in SECTIONS
    ):
        return Expansion(data)
    root = Path(base_dir or Path.cwd()).resolve()
    scenario = Path(source)
    chain = (scenario.resolve(),) if scenario.suffix and scenario.is_file() else ()
    expanded: dict[str, Any] = dict(data)
    origins: dict[tuple[str, int], Origin] = {}
    problems: list[Issue] = []
    for section in SECTIONS:
        entries = data.get(section)
        if not isinstance(entries, list):
            continue
        out: list[Any] = []
        for i, entry in enumerate(entries):
            written = f"{section}[{i}]"
            if not is_include(entry):
                origins[(section, len(out))] = Origin(written)
                out.append(entry)
                continue
            try:
                objects = _include(entry, section, root, chain, root)
            except IncludeError as exc:
                problems.append(Issue(source, f"{written}.{FILE_KEY}", str(exc)))
                continue
            for obj, shown in objects:
                origins[(section, len(out))] = Origin(written, shown)
                out.append(obj)
        expanded[section] = out
    if problems:
        raise ScenarioError(problems)
    return Expansion(expanded, origins)


def _show(path: Path, root: Path) -> str:
    """``path`` for messages: relative to the scenario's folder when inside it, else absolute."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)


def _hop(shown: str, inner: str, several: bool) -> str:
    """One file of an include chain, with the object's place in it when it holds several."""
    if not several or not inner:
        return shown
    return f"{shown}{inner}" if inner.startswith("[") else f"{shown} at {inner}"


def _include(
    entry: dict[str, Any], section: str, folder: Path, chain: tuple[Path, ...], root: Path
) -> list[tuple[dict[str, Any], str]]:
    """The objects an include names, overrides merged, each with its file chain for messages
    (``taskdefs.yaml[1] -> api.json``)."""
    name = entry[FILE_KEY]
    if not isinstance(name, str) or not name.strip():
        raise IncludeError(f"expected the path of a .json, .yaml or .yml file, got {name!r}")
    target = (folder / Path(name).expanduser()).resolve()
    shown = _show(target, root)
    if target in chain:
        cycle = [*chain[chain.index(target):], target]
        raise IncludeError(f"include cycle: {' -> '.join(_show(p, root) for p in cycle)}")
    found: list[tuple[dict[str, Any], str]] = []
    items = _objects(_read(target, shown), section, shown, "")
    for obj, inner in items:
        hop = _hop(shown, inner, len(items) > 1)
        if is_include(obj):
            for nested, nested_shown in _include(obj, section, target.parent, (*chain, target), root):
                found.append((nested, f"{hop} -> {nested_shown}"))
        else:
            found.append((obj, hop))
    overrides = {key: value for key, value in entry.items() if key != FILE_KEY}
    if section == "services" and "serviceName" in overrides:
        wanted = overrides["serviceName"]
        names = [obj.get("serviceName") for obj, _ in found]
        found = [item for item in found if item[0].get("serviceName") == wanted]
        if not found:
            raise IncludeError(f"{shown}: has no service named {wanted!r}; its services: "
                               f"{', '.join(str(n) for n in names)}")
    return [(merge_overrides(obj, overrides, section), hops) for obj, hops in found]


def merge_overrides(obj: dict[str, Any], overrides: dict[str, Any], section: str) -> dict[str, Any]:
    """``obj`` with ``overrides`` laid over it: top-level keys replace the file's, except that a
    mapping given for a mapping is merged one level deep (its keys replace the file's keys there);
    lists are replaced whole. For services, overriding ``launchType`` or
    ``capacityProviderStrategy`` drops the file's value of both (ECS takes one or the other)."""
    merged = dict(obj)
    if section == "services" and any(key in overrides for key in _LAUNCH_CHOICE):
        for key in _LAUNCH_CHOICE:
            merged.pop(key, None)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _objects(content: Any, section: str, shown: str, where: str) -> list[tuple[Any, str]]:
    """The objects (or nested includes) in a file's content, with their place in it, wrappers unwrapped."""
    noun = _NOUN[section]
    if isinstance(content, list):
        if not content:
            raise IncludeError(f"{shown}: {where or 'the file'} is an empty list")
        found: list[tuple[Any, str]] = []
        for k, item in enumerate(content):
            found += _objects(item, section, shown, f"{where}[{k}]")
        return found
    if not isinstance(content, dict):
        raise IncludeError(f"{shown}: {where + ': ' if where else ''}not a {noun}: {_SHAPES[section]}; "
                           f"got a {type(content).__name__}")
    if is_include(content):
        return [(content, where)]
    keys = set(content)
    if section == "taskDefinitions" and isinstance(content.get("taskDefinition"), dict):
        _only(keys, _TD_WRAPPER, shown, where)
        return [(content["taskDefinition"], f"{where}.taskDefinition" if where else "taskDefinition")]
    if section == "services" and isinstance(content.get("services"), list):
        _only(keys, _SERVICES_WRAPPER, shown, where)
        if not content["services"]:
            failures = content.get("failures") or []
            reasons = "; ".join(f"{f.get('arn', '?')}: {f.get('reason', '?')}" for f in failures if isinstance(f, dict))
            raise IncludeError(f"{shown}: the describe-services response holds no services"
                               + (f" (failures: {reasons})" if reasons else ""))
        return _objects(content["services"], section, shown, f"{where}.services" if where else "services")
    if section == "services" and isinstance(content.get("service"), dict):
        _only(keys, _SERVICE_WRAPPER, shown, where)
        return [(content["service"], f"{where}.service" if where else "service")]
    looks_like_td = "containerDefinitions" in keys or isinstance(content.get("taskDefinition"), dict)
    looks_like_service = "serviceName" in keys or "services" in keys
    if section == "taskDefinitions" and looks_like_td and not looks_like_service:
        return [(content, where)]
    if section == "services" and looks_like_service and not looks_like_td:
        return [(content, where)]
    at = f"{where}: " if where else ""
    if section == "services" and looks_like_td:
        raise IncludeError(f"{shown}: {at}this is a task definition; include it under taskDefinitions")
    if section == "taskDefinitions" and looks_like_service:
        raise IncludeError(f"{shown}: {at}this is a service; include it under services")
    raise IncludeError(f"{shown}: {at}not a {noun}: {_SHAPES[section]}; its keys: {', '.join(sorted(map(str, keys)))}")


def _only(keys: set[str], allowed: frozenset[str], shown: str, where: str) -> None:
    """A response wrapper holds only the keys ECS (and boto's ResponseMetadata) put there."""
    others = sorted(map(str, keys - allowed))
    if others:
        at = f"{where}: " if where else ""
        raise IncludeError(f"{shown}: {at}unexpected {', '.join(others)} beside the response's "
                           f"{', '.join(sorted(keys & allowed))}; expected only {', '.join(sorted(allowed))}")


def _read(target: Path, shown: str) -> Any:
    """The parsed content of an included file (the scenario file's strict parsers)."""
    from .loading import MAX_SCENARIO_BYTES, SUFFIXES, _parse_json, _parse_yaml  # noqa: PLC0415 - a cycle

    kind = SUFFIXES.get(target.suffix.lower())
    if kind is None:
        raise IncludeError(f"{shown}: expected a .json, .yaml or .yml file")
    try:
        if target.is_dir():
            raise IncludeError(f"{shown}: is a folder, not a file")
        size = target.stat().st_size
        if size > MAX_SCENARIO_BYTES:
            raise IncludeError(f"{shown}: file is {size / 2**20:.1f} MiB; included files are limited to "
                               f"{MAX_SCENARIO_BYTES // 2**20} MiB")
        raw = target.read_bytes()
    except FileNotFoundError:
        raise IncludeError(f"{shown}: file not found") from None
    except OSError as exc:
        raise IncludeError(f"{shown}: cannot read the file: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IncludeError(f"{shown}: not a UTF-8 text file (byte {exc.start} is not UTF-8)") from None
    if not text.strip():
        raise IncludeError(f"{shown}: the file is empty")
    try:
        content = _parse_yaml(text, shown) if kind == "yaml" else _parse_json(text, shown)
    except ScenarioError as exc:
        raise IncludeError("; ".join(str(issue) for issue in exc.issues)) from None
    if content is None:
        raise IncludeError(f"{shown}: the file is empty (only comments)")
    return content
