"""Dotted paths into a scenario (``cluster.fleets[0].count``): parse, check, and set a value.

An experiment's axes name the scenario fields they vary by the path a reader sees in the
file: keys as written (camelCase), ``[i]`` for the i-th item of a list, and ``[name]`` for
the item whose ``name``, ``serviceName`` or ``family`` is ``name`` (``services[api].desiredCount``).

A path is checked against the scenario's models, not only against the file: a field the
file leaves to its default (``timing.serviceReactionDelay``) may be varied, but a key
ecssim does not model (a typo, or an ECS field it accepts and ignores) is refused, since
varying it would change nothing. Values are checked later, by loading each point's scenario.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from typing import Any

from pydantic import BaseModel

from ecssim.scenario.ecs_fields import did_you_mean
from ecssim.scenario.errors import file_keys, union_members
from ecssim.scenario.errors import strip_annotation as _strip
from ecssim.scenario.models import Scenario

#: Keys that name a list item for a ``[name]`` selector, in the order they are tried.
NAME_KEYS = ("name", "serviceName", "family")

_KEY = re.compile(r"[^.\[\]\s]+")

Segment = str | int | tuple[str]  # a key, a list index, or a (name,) selector


class PathError(ValueError):
    """A dotted path that does not name a field of the scenario."""


def parse_path(text: str) -> list[Segment]:
    """The segments of ``text``: keys as str, ``[3]`` as 3, ``[api]`` as ("api",)."""
    if not isinstance(text, str) or not text.strip():
        raise PathError("expected a dotted path such as cluster.fleets[0].count")
    text = text.strip()
    segments: list[Segment] = []
    position = 0
    while position < len(text):
        char = text[position]
        if char == "[":
            close = text.find("]", position)
            selector = text[position + 1:close].strip() if close > 0 else ""
            if close < 0 or not selector:
                raise PathError(f"cannot read the path {text!r}: unclosed or empty [] at character {position + 1}")
            segments.append(int(selector) if selector.isdigit() else (selector,))
            position = close + 1
            continue
        if char == ".":
            if not segments:
                raise PathError(f"the path {text!r} starts with a dot")
            position += 1
        match = _KEY.match(text, position)
        if match is None:
            raise PathError(f"cannot read the path {text!r} at character {position + 1}")
        segments.append(match.group(0))
        position = match.end()
    if not isinstance(segments[0], str):
        raise PathError(f"the path {text!r} must start with a section name, e.g. cluster or services")
    return segments


def format_path(segments: list[Segment]) -> str:
    """The display form of ``segments`` (inverse of :func:`parse_path`)."""
    out = ""
    for segment in segments:
        if isinstance(segment, str):
            out += f".{segment}" if out else segment
        elif isinstance(segment, int):
            out += f"[{segment}]"
        else:
            out += f"[{segment[0]}]"
    return out


def _model_of(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class for ``node`` under ``annotation`` (a union is resolved by its ``type`` tag)."""
    annotation = _strip(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return None
    models = [m for m in map(_strip, typing.get_args(annotation)) if isinstance(m, type) and issubclass(m, BaseModel)]
    if len(models) == 1:  # e.g. a string or a mapping: the mapping's model
        return models[0]
    tag = node.get("type") if isinstance(node, dict) else None
    return union_members(annotation).get(tag) if isinstance(tag, str) else None


def _field(model: type[BaseModel], key: str) -> Any:
    """The annotation of the field written ``key`` in a file, or None."""
    for name, info in model.model_fields.items():
        if key == (info.alias or name):
            return info.annotation
    return None


def _select(items: list, selector: tuple[str], where: str) -> int:
    """Index of the one item of ``items`` named ``selector[0]``."""
    wanted = selector[0]
    hits = [i for i, item in enumerate(items)
            if isinstance(item, dict) and any(item.get(k) == wanted for k in NAME_KEYS)]
    if len(hits) == 1:
        return hits[0]
    names = [next((str(item[k]) for k in NAME_KEYS if isinstance(item, dict) and k in item), "?") for item in items]
    if not hits:
        return_hint = f"; it has: {', '.join(names)}" if names else "; it is empty"
        raise PathError(f"{where} has no item named {wanted!r}{return_hint}")
    raise PathError(f"{where} has {len(hits)} items named {wanted!r}; use an index such as [{hits[0]}]")


def set_path(data: dict[str, Any], path: str, value: Any, root: type[BaseModel] = Scenario) -> dict[str, Any]:
    """A copy of the scenario mapping ``data`` with the field at ``path`` set to ``value``.

    Raises :class:`PathError` naming the first segment that does not exist: an unknown or
    unmodelled key (with a did-you-mean), an index past the end of a list, a name no item has.
    Missing mappings along the path are created (the field was left to its default).
    """
    segments = parse_path(path)
    out = copy.deepcopy(data)
    node: Any = out
    annotation: Any = root
    for depth, segment in enumerate(segments):
        where = format_path(segments[:depth]) or "the scenario"
        last = depth == len(segments) - 1
        if isinstance(segment, str):
            model = _model_of(annotation, node)
            if model is not None:
                field = _field(model, segment)
                if field is None:
                    keys = file_keys(model)
                    hint = did_you_mean(segment, keys) or f"; expected one of {', '.join(keys)}"
                    raise PathError(f"{where} has no field {segment!r} that ecssim models{hint}")
                annotation = field
            elif typing.get_origin(_strip(annotation)) is dict:
                annotation = typing.get_args(_strip(annotation))[1]
            elif typing.get_origin(_strip(annotation)) is list:
                raise PathError(f"{where} is a list; pick an item first: {where}[0].{segment} or {where}[name].{segment}")
            else:
                raise PathError(f"{where} is a single value; it has no field {segment!r}")
            if not isinstance(node, dict):
                raise PathError(f"{where} is not a mapping in the scenario")
            if last:
                node[segment] = value
            else:
                if node.get(segment) is None:
                    if typing.get_origin(_strip(annotation)) is list:
                        raise PathError(f"{format_path(segments[:depth + 1])} is an empty list in the scenario")
                    node[segment] = {}
                node = node[segment]
            continue
        stripped = _strip(annotation)
        if typing.get_origin(stripped) is not list:
            raise PathError(f"{where} is not a list; [{segment if isinstance(segment, int) else segment[0]}] "
                            "does not apply")
        if not isinstance(node, list):
            raise PathError(f"{where} is not a list in the scenario")
        index = _select(node, segment, where) if isinstance(segment, tuple) else segment
        if not 0 <= index < len(node):
            raise PathError(f"{where} has {len(node)} item(s); there is no [{index}]")
        annotation = typing.get_args(stripped)[0] if typing.get_args(stripped) else Any
        if last:
            node[index] = value
        else:
            node = node[index]
    return out


def resolved_path(data: dict[str, Any], path: str) -> str:
    """``path`` with its ``[name]`` selectors replaced by the indices they pick in ``data``
    (the form scenario errors use), e.g. ``services[web].desiredCount`` -> ``services[0].desiredCount``."""
    out: list[Segment] = []
    node: Any = data
    for segment in parse_path(path):
        if isinstance(segment, tuple) and isinstance(node, list):
            try:
                segment = _select(node, segment, format_path(out))
            except PathError:
                node = None
        out.append(segment)
        if isinstance(segment, str):
            node = node.get(segment) if isinstance(node, dict) else None
        elif isinstance(segment, int) and isinstance(node, list) and 0 <= segment < len(node):
            node = node[segment]
        else:
            node = None
    return format_path(out)
