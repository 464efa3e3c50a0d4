"""Meaning of the cluster query language: subject/operator checks and vectorised evaluators.

:mod:`ecssim.placement.query` parses an expression; this module decides what each comparison
means and turns it into a leaf evaluator, a callable ``(view, context, n) -> bool array`` over
the first ``n`` slots of a :class:`~ecssim.placement.view.ClusterView`. Every evaluator returns a
new array, so combinators may update their operands in place.

The semantic choices are listed in the ``query`` module docstring. The one with most effect: an
instance with no value for the subject (attribute missing, agent version unknown, registration
time NaN) matches no comparison, ``!=``/``!in``/``!~`` included, as in ECS
(``attribute:retiring != true`` returns only instances with the attribute:
aws/containers-roadmap#486); ``!exists`` or ``not(...)`` select it.
"""

from __future__ import annotations

import difflib
import operator as op
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import islice

import numpy as np

from ecssim.placement.view import ClusterView

#: Subjects of the language; ``attribute:<name>`` stands for every attribute.
SUBJECTS = (
    "agentConnected",
    "agentVersion",
    "attribute:",
    "ec2InstanceId",
    "registeredAt",
    "runningTasksCount",
    "task:group",
)
ATTRIBUTE_PREFIX = "attribute:"

_EQ, _SET, _RX = ("==", "!="), ("in", "!in"), ("=~", "!~")
_ORDER, _EXISTS = (">", ">=", "<", "<="), ("exists", "!exists")
#: Operators allowed per subject (ECS lists them for every subject but ``attribute:`` and
#: ``task:group``; attributes take all of them, task groups equality and lists).
VALID_OPERATORS: dict[str, tuple[str, ...]] = {
    "agentConnected": _EQ + _SET + _RX,
    "agentVersion": _EQ + _ORDER,
    ATTRIBUTE_PREFIX: _EQ + _ORDER + _EXISTS + _SET + _RX,
    "ec2InstanceId": _EQ + _SET + _RX,
    "registeredAt": _EQ + _ORDER,
    "runningTasksCount": _EQ + _ORDER,
    "task:group": _EQ + _SET,
}
_NEGATED = {"!=": "==", "!in": "in", "!~": "=~", "!exists": "exists"}
_COMPARE = {"==": op.eq, "!=": op.ne, ">": op.gt, ">=": op.ge, "<": op.lt, "<=": op.le}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_VERSION = re.compile(r"\d+(?:\.\d+)*")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2}(?:Z|[+-]\d{2}:\d{2})?)?")
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9._/\\-]{1,128}")

Leaf = Callable[[ClusterView, "QueryContext", int], np.ndarray]


@dataclass(frozen=True)
class QueryContext:
    """What an evaluation may read besides the view (all optional; see each subject).

    Attributes:
        registered_at_s: per slot, simulated seconds at which the instance registered (NaN =
            unknown); needed by ``registeredAt``.
        agent_versions: per slot, agent version such as ``"1.80.0"`` (``None`` = unknown);
            ``None`` for the whole list means every version is unknown.
        start_time: the datetime of simulated t=0, to compare ``registeredAt`` with dates.
    """

    registered_at_s: np.ndarray | None = None
    agent_versions: list[str | None] | None = None
    start_time: datetime | None = None


class QueryEvaluationError(ValueError):
    """The expression needs context the caller did not give (e.g. a date without start_time)."""


class SemanticError(ValueError):
    """A well-formed comparison that means nothing; ``part`` and ``index`` locate the culprit."""

    def __init__(self, message: str, part: str, index: int = 0) -> None:
        super().__init__(message)
        self.part = part  # "subject", "operator" or "argument"
        self.index = index  # which list element, for arguments


def subject_kind(subject: str) -> str:
    """The key of ``VALID_OPERATORS`` for a subject; raise :class:`SemanticError` if unknown."""
    if subject.startswith(ATTRIBUTE_PREFIX):
        name = subject[len(ATTRIBUTE_PREFIX) :]
        if not _ATTRIBUTE_NAME.fullmatch(name):
            raise SemanticError(f"attribute name {name!r} must be 1-128 of A-Z a-z 0-9 . - _ / \\", "subject")
        return ATTRIBUTE_PREFIX
    if subject in VALID_OPERATORS:
        return subject
    hint = suggest_subject(subject)
    valid = ", ".join(s if s != ATTRIBUTE_PREFIX else "attribute:<name>" for s in SUBJECTS)
    raise SemanticError(f"unknown subject {subject!r}{hint}; valid subjects: {valid}", "subject")


def suggest_subject(word: str) -> str:
    """``" (did you mean 'X'?)"`` for the closest subject, or ``""``."""
    prefix, colon, rest = word.partition(":")
    if colon and difflib.get_close_matches(prefix.lower(), ["attribute"], 1, 0.6):
        return f" (did you mean 'attribute:{rest}'?)"
    names = {s.lower(): s for s in SUBJECTS if s != ATTRIBUTE_PREFIX}
    close = difflib.get_close_matches(word.lower(), list(names), 1, 0.6)
    return f" (did you mean {names[close[0]]!r}?)" if close else ""


def compile_compare(subject: str, operator: str, argument: str | tuple[str, ...] | None) -> Leaf:
    """Check one comparison and build its evaluator; raise :class:`SemanticError` if invalid."""
    kind = subject_kind(subject)
    if operator not in VALID_OPERATORS[kind]:
        allowed = " ".join(VALID_OPERATORS[kind])
        raise SemanticError(f"{operator!r} does not apply to {subject}; use one of: {allowed}", "operator")
    negate = operator in _NEGATED
    positive = _NEGATED.get(operator, operator)
    if kind == ATTRIBUTE_PREFIX:
        predicate = _value_predicate(positive, operator, argument)
        return _AttributeLeaf(subject[len(ATTRIBUTE_PREFIX) :], predicate, negate, operator == "!exists")
    return _BUILDERS[kind](positive, operator, argument, negate)


def _value_predicate(positive: str, operator: str, argument) -> Callable[[str], bool]:
    """The positive test of one present attribute value (the leaf applies negation)."""
    if positive == "exists":
        return lambda value: True
    if positive == "in":
        return frozenset(argument).__contains__
    if positive == "=~":
        return _regex(argument).fullmatch
    if positive == "==":
        return argument.__eq__
    threshold = _number(argument, f"{operator!r} on an attribute")
    compare = _COMPARE[operator]
    return lambda value: _NUMBER.fullmatch(value) is not None and compare(float(value), threshold)


class _AttributeLeaf:
    """``attribute:<name> ...``: the predicate once per distinct value, then indexed by codes.

    The per-value table is cached against the identity and length of the view's values list
    (values lists only grow), so repeated evaluations cost one ``take`` over the codes.
    """

    __slots__ = ("name", "predicate", "negate", "missing", "_values", "_size", "_table")

    def __init__(self, name: str, predicate: Callable[[str], bool], negate: bool, missing: bool) -> None:
        self.name, self.predicate, self.negate, self.missing = name, predicate, negate, missing
        self._values: list[str] | None = None
        self._size = -1
        self._table = np.zeros(1, dtype=bool)

    def __call__(self, view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        entry = view.attributes.get(self.name)
        if entry is None:
            return np.full(n, self.missing, dtype=bool)
        codes, values = entry
        if values is not self._values or len(values) != self._size:
            table = np.empty(len(values) + 1, dtype=bool)
            table[:-1] = [bool(self.predicate(v)) != self.negate for v in values]
            table[-1] = self.missing  # code -1: the slot lacks the attribute
            self._values, self._size, self._table = values, len(values), table
        return self._table.take(codes[:n])


def _group_leaf(positive: str, operator: str, argument, negate: bool) -> Leaf:
    """``task:group``: ``==`` holds >= 1 task of the group, ``in`` any of them; negations: none."""
    groups = (argument,) if isinstance(argument, str) else tuple(argument)

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        out = np.zeros(n, dtype=bool)
        for group in groups:
            counts = view.group_counts.get(group)
            if counts is not None:
                out |= counts[:n] > 0
        return ~out if negate else out

    return leaf


def _connected_leaf(positive: str, operator: str, argument, negate: bool) -> Leaf:
    """``agentConnected``: decide at compile time which of true/false match, then select."""
    if positive == "=~":
        pattern = _regex(argument)
        hits = {flag for flag in (True, False) if pattern.fullmatch(str(flag).lower())}
    else:
        args = (argument,) if isinstance(argument, str) else argument
        hits = {_boolean(a, i) for i, a in enumerate(args)}
    if negate:
        hits = {True, False} - hits

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        connected = view.connected[:n]
        if len(hits) == 2:
            return np.ones(n, dtype=bool)
        if not hits:
            return np.zeros(n, dtype=bool)
        return connected.copy() if True in hits else ~connected

    return leaf


def _instance_id_leaf(positive: str, operator: str, argument, negate: bool) -> Leaf:
    """``ec2InstanceId``: ``list.index`` scans for equality/lists; a memoised pass for regexes."""
    if positive == "=~":
        pattern = _regex(argument)
        memo = _Memo(lambda instance_id: pattern.fullmatch(instance_id) is not None)
    wanted = (argument,) if isinstance(argument, str) else tuple(argument)

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        ids = view.instance_ids
        if positive == "=~":
            out = np.fromiter(map(memo.__getitem__, islice(ids, n)), bool, n)
        else:
            out = np.zeros(n, dtype=bool)
            for target in wanted:
                out[_positions(ids, target, n)] = True
        return ~out if negate else out

    return leaf


class _Memo(dict):
    """Results of a predicate per distinct key, computed on first use (ids and versions repeat)."""

    def __init__(self, predicate: Callable[[str], bool]) -> None:
        super().__init__()
        self.predicate = predicate

    def __missing__(self, key: str) -> bool:
        value = self[key] = self.predicate(key)
        return value


def _positions(items: list[str], target: str, n: int) -> list[int]:
    """Every index < n where ``items`` holds ``target`` (C-speed scans with ``list.index``)."""
    found, start = [], 0
    while True:
        try:
            start = items.index(target, start, n)
        except ValueError:
            return found
        found.append(start)
        start += 1


def _count_leaf(positive: str, operator: str, argument, negate: bool) -> Leaf:
    """``runningTasksCount``: a numeric comparison of the per-slot count."""
    threshold, compare = _number(argument, "runningTasksCount"), _COMPARE[operator]
    return lambda view, context, n: compare(view.running_tasks_count[:n], threshold)


def _registered_leaf(positive: str, operator: str, argument, negate: bool) -> Leaf:
    """``registeredAt``: simulated seconds, or an ISO date converted with ``start_time``."""
    seconds = float(argument) if _NUMBER.fullmatch(argument) else None
    date = None if seconds is not None else _date(argument)
    compare = _COMPARE[operator]

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        if context.registered_at_s is None:
            raise QueryEvaluationError("registeredAt needs QueryContext.registered_at_s")
        threshold = seconds
        if threshold is None:
            if context.start_time is None:
                raise QueryEvaluationError(
                    f"registeredAt compares with the date {argument!r}: QueryContext.start_time "
                    "(the datetime of t=0) is needed to convert it to simulated seconds"
                )
            threshold = (date - _utc(context.start_time)).total_seconds()
        registered = context.registered_at_s[:n]
        out = compare(registered, threshold)
        if operator == "!=":
            out &= ~np.isnan(registered)  # unknown registration matches nothing
        return out

    return leaf


def _version_leaf(positive: str, operator: str, argument, negate: bool) -> Leaf:
    """``agentVersion``: versions as integer tuples; one memoised pass over the slots' strings."""
    if not _VERSION.fullmatch(argument):
        raise SemanticError(f"agentVersion compares with a version like 1.14.5, not {argument!r}", "argument")
    target, compare = _version(argument), _COMPARE[operator]

    def test(value: str | None) -> bool:
        return (
            value is not None and _VERSION.fullmatch(value) is not None and compare(_version(value), target)
        )

    memo = _Memo(test)

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        versions = context.agent_versions
        if versions is None:
            return np.zeros(n, dtype=bool)
        return np.fromiter(map(memo.__getitem__, islice(versions, n)), bool, n)

    return leaf


_BUILDERS = {
    "task:group": _group_leaf,
    "agentConnected": _connected_leaf,
    "ec2InstanceId": _instance_id_leaf,
    "runningTasksCount": _count_leaf,
    "registeredAt": _registered_leaf,
    "agentVersion": _version_leaf,
}


def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise SemanticError(f"invalid regular expression {pattern!r}: {exc}", "argument") from None


def _number(argument: str, what: str) -> float:
    if not _NUMBER.fullmatch(argument):
        raise SemanticError(f"{what} compares with a number, not {argument!r}", "argument")
    return float(argument)


def _boolean(argument: str, index: int) -> bool:
    lowered = argument.lower()
    if lowered not in ("true", "false"):
        raise SemanticError(
            f"agentConnected compares with true or false, not {argument!r}", "argument", index
        )
    return lowered == "true"


def _date(argument: str) -> datetime:
    if not _DATE.fullmatch(argument):
        raise SemanticError(
            f"registeredAt compares with simulated seconds or a date such as 2018-06-18, "
            f"2018-06-18T22:28:28, 2018-06-18T22:28:28Z or 2018-06-18T22:28:28+00:00; got {argument!r}",
            "argument",
        )
    try:
        return _utc(datetime.fromisoformat(argument))
    except ValueError as exc:
        raise SemanticError(f"invalid date {argument!r}: {exc}", "argument") from None


def _utc(moment: datetime) -> datetime:
    """Naive datetimes are taken as UTC (ECS's registration dates are UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _version(text: str) -> tuple[int, ...]:
    parts = [int(p) for p in text.split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()  # 1.14 == 1.14.0
    return tuple(parts)


def all_of(leaves: list[Leaf]) -> Leaf:
    """Conjunction of evaluators (``and``)."""

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        out = leaves[0](view, context, n)
        for other in leaves[1:]:
            out &= other(view, context, n)
        return out

    return leaf


def any_of(leaves: list[Leaf]) -> Leaf:
    """Disjunction of evaluators (``or``)."""

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        out = leaves[0](view, context, n)
        for other in leaves[1:]:
            out |= other(view, context, n)
        return out

    return leaf


def negation(inner: Leaf) -> Leaf:
    """Logical ``not``: selects exactly the instances ``inner`` does not, missing values included."""

    def leaf(view: ClusterView, context: QueryContext, n: int) -> np.ndarray:
        out = inner(view, context, n)
        np.logical_not(out, out=out)
        return out

    return leaf
