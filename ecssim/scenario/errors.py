"""Scenario errors: every problem of a file at once, each with its file, field path and message.

:class:`ScenarioError` carries a list of :class:`Issue`; ``str(err)`` prints one line per
issue, ``FILE: PATH: MESSAGE``, with paths as written in the file
(``services[0].placementStrategy[1].field``). :func:`issues_from_validation_error` turns
pydantic's errors into these, with plain messages and no pydantic URLs.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from .ecs_fields import did_you_mean


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem in a scenario: the file, the field path (``""`` for the whole file), the message."""

    file: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"


class ScenarioError(Exception):
    """A scenario that cannot be loaded; ``issues`` lists every problem found."""

    def __init__(self, issues: list[Issue]) -> None:
        self.issues = list(issues)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(issue) for issue in self.issues)

    @classmethod
    def single(cls, file: str, message: str, path: str = "") -> ScenarioError:
        """An error with one issue."""
        return cls([Issue(file, path, message)])


# --------------------------------------------------------------------------- paths


def strip_annotation(annotation: Any) -> Any:
    """Drop ``Annotated`` metadata and ``None`` from an optional."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1:
            return strip_annotation(members[0])
    return annotation


def union_members(annotation: Any) -> dict[str, type[BaseModel]]:
    """Tag value -> model class for a union of models tagged by a ``type`` literal."""
    if typing.get_origin(annotation) not in (typing.Union, types.UnionType):
        return {}
    members: dict[str, type[BaseModel]] = {}
    for arg in typing.get_args(annotation):
        arg = strip_annotation(arg)
        if isinstance(arg, type) and issubclass(arg, BaseModel) and "type" in arg.model_fields:
            for tag in typing.get_args(arg.model_fields["type"].annotation):
                members[tag] = arg
    return members


def model_field_by_key(model: type[BaseModel], key: str) -> tuple[str, Any] | None:
    """``(attribute, annotation)`` of the field written as ``key`` (alias or name) in ``model``."""
    for name, info in model.model_fields.items():
        if key in (info.alias, name):
            return name, info.annotation
    return None


def file_keys(model: type[BaseModel]) -> list[str]:
    """The keys a file may use for ``model``'s fields (aliases where set)."""
    return [info.alias or name for name, info in model.model_fields.items()]


def resolve_loc(root: type[BaseModel], loc: tuple[Any, ...]) -> tuple[str, type[BaseModel] | None, Any]:
    """The display path of a pydantic ``loc``, the model holding its last key, and its annotation.

    Union tags that pydantic inserts (``faults.0.azOutage.start``) are dropped, so the path
    reads as the file does: ``faults[0].start``.
    """
    path = ""
    current: Any = root
    owner: type[BaseModel] | None = None
    for item in loc:
        current = strip_annotation(current)
        if isinstance(item, int):
            path += f"[{item}]"
            args = typing.get_args(current)
            current = args[0] if typing.get_origin(current) is list and args else None
            continue
        tags = union_members(current)
        if item in tags:
            current = tags[item]
            continue
        path += f".{item}" if path else str(item)
        if isinstance(current, type) and issubclass(current, BaseModel):
            owner = current
            field = model_field_by_key(current, item)
            current = field[1] if field else None
        elif typing.get_origin(current) is dict:
            owner = None
            current = typing.get_args(current)[1]
        else:
            owner, current = None, None
    return path, owner, strip_annotation(current)


# --------------------------------------------------------------------------- messages


def _quote_list(text: str) -> str:
    """``"'a', 'b' or 'c'"`` (pydantic's wording) as ``"a, b, c"``."""
    return text.replace("'", "").replace(" or ", ", ")


def _message(error: dict[str, Any], owner: type[BaseModel] | None, key: Any) -> str:
    """A plain message for one pydantic error."""
    kind, ctx, value = error["type"], error.get("ctx") or {}, error.get("input")
    if kind.startswith("ecs_"):
        return str(ctx.get("message", error["msg"]))
    simple = {
        "missing": "required field missing",
        "int_parsing": f"expected an integer, got {value!r}",
        "int_type": f"expected an integer, got {value!r}",
        "int_from_float": f"expected a whole number, got {value!r}",
        "float_parsing": f"expected a number, got {value!r}",
        "finite_number": f"expected a finite number, got {value!r}",
        "float_type": f"expected a number, got {value!r}",
        "bool_parsing": f"expected true or false, got {value!r}",
        "bool_type": f"expected true or false, got {value!r}",
        "string_type": f"expected a string, got {value!r}",
        "list_type": f"expected a list, got {type(value).__name__}",
        "dict_type": f"expected a mapping, got {type(value).__name__}",
        "model_type": f"expected a mapping, got {type(value).__name__}",
        "model_attributes_type": f"expected a mapping, got {type(value).__name__}",
    }
    if kind in simple:
        return simple[kind]
    bounds = {"greater_than_equal": ">=", "greater_than": ">", "less_than_equal": "<=", "less_than": "<"}
    if kind in bounds:
        limit = next(iter(v for k, v in ctx.items() if k in ("ge", "gt", "le", "lt")), "?")
        return f"must be {bounds[kind]} {limit}, got {value!r}"
    if kind == "literal_error":
        return f"expected one of {_quote_list(str(ctx.get('expected', '')))}; got {value!r}"
    if kind in ("too_short", "string_too_short"):
        unit = "character" if kind.startswith("string") else "item"
        return f"needs at least {ctx.get('min_length')} {unit}(s)"
    if kind in ("too_long", "string_too_long"):
        unit = "character" if kind.startswith("string") else "item"
        return f"allows at most {ctx.get('max_length')} {unit}(s)"
    if kind == "extra_forbidden":
        candidates = file_keys(owner) if owner else []
        hint = did_you_mean(str(key), candidates)
        if not hint and candidates:
            hint = f"; expected one of {', '.join(candidates)}"
        return f"unknown field{hint}"
    if kind in ("value_error", "assertion_error"):
        message = str(ctx.get("message", error["msg"]))
        return message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return str(error["msg"])


def issues_from_validation_error(exc: ValidationError, root: type[BaseModel], file: str) -> list[Issue]:
    """One :class:`Issue` per pydantic error, with file-style paths and plain messages."""
    issues: list[Issue] = []
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind in ("union_tag_invalid", "union_tag_not_found"):
            path, _, annotation = resolve_loc(root, loc)
            tags = ", ".join(union_members(annotation)) or _quote_list(
                str((error.get("ctx") or {}).get("expected_tags", ""))
            )
            field = str((error.get("ctx") or {}).get("discriminator", "type")).strip("'")
            got = (error.get("ctx") or {}).get("tag")
            detail = f"; got {got!r}" if got is not None else " (missing)"
            issues.append(
                Issue(file, f"{path}.{field}" if path else field, f"expected one of {tags}{detail}")
            )
            continue
        path, owner, _ = resolve_loc(root, loc)
        issues.append(Issue(file, path, _message(error, owner, loc[-1] if loc else "")))
    return issues
