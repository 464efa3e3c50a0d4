"""ECS's cluster query language, the expression of ``memberOf`` placement constraints.

``compile_query(text)`` tokenizes and parses by recursive descent, checks every comparison and
returns a :class:`Query`: compile once per constraint, then ``evaluate(view)`` as often as needed
for a bool mask over instances, vectorised (:mod:`ecssim.placement.query_eval`).

Grammar (ECS developer guide, "Cluster query language")::

    expression := conjunction (("or" | "||") conjunction)*
    conjunction := term (("and" | "&&") term)*
    term := ("not" | "!") term | "(" expression ")" | comparison
    comparison := subject operator [argument | "[" argument ("," argument)* "]"]

Keywords and word operators (``equals``, ``not_equals``, ``greater_than``,
``greater_than_equal``, ``less_than``, ``less_than_equal``, ``exists``, ``not_exists``, ``in``,
``not_in``, ``matches``, ``not_matches``) are case-insensitive; subjects are not. An argument is
a bare token (anything up to whitespace, ``( ) [ ] , ' "`` or a symbolic operator) or a string
in single or double quotes, without escapes (a regex with parentheses must be quoted).

Semantics chosen where ECS is silent or loosely documented:

* A missing attribute, unknown agent version or unknown registration time matches no comparison,
  ``!=``/``!in``/``!~`` included (as ECS: aws/containers-roadmap#486); ``!exists`` and
  ``not(...)`` select such instances. ``a != v`` is therefore not ``not(a == v)`` for attributes.
* ``task:group == G``: the instance holds at least one task of group G; ``!=``: it holds none;
  ``in``/``!in``: any/none of the listed groups. Ordering, ``exists`` and regexes do not apply
  (a regex would need every group's counts, see :meth:`Query.needs_group_counts`).
* Ordering operators on ``attribute:`` compare numbers (non-numeric values never match; the
  argument must be a number); ``agentVersion`` compares versions (1.9.0 < 1.10.0);
  ``registeredAt`` takes simulated seconds or an ISO date (naive = UTC, converted with
  ``QueryContext.start_time``); ``runningTasksCount`` compares counts.
* ``=~``/``!~``: Python ``re.fullmatch`` on the pattern as written (Java's ``matches`` also
  requires the whole value to match); Java-only syntax (``\\p{Alpha}``, ``\\Q..\\E``) is not
  translated and fails at compile time.
* ``==``/``!=`` are string equality for attributes and instance ids, numeric for counts and
  times, boolean (``true``/``false``, any case) for ``agentConnected``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ecssim.placement.query_eval import (
    QueryContext,
    QueryEvaluationError,
    SemanticError,
    all_of,
    any_of,
    compile_compare,
    negation,
    subject_kind,
)
from ecssim.placement.view import ClusterView

#: Word spellings of the operators (ECS lists both forms), lower-case.
_OPERATOR_WORDS = {"equals": "==", "not_equals": "!=", "greater_than": ">", "greater_than_equal": ">="}
_OPERATOR_WORDS |= {"less_than": "<", "less_than_equal": "<=", "exists": "exists", "not_exists": "!exists"}
_OPERATOR_WORDS |= {"in": "in", "not_in": "!in", "matches": "=~", "not_matches": "!~"}
_NO_CONTEXT = QueryContext()

#: ECS's limit on the length of a constraint expression.
MAX_EXPRESSION_LENGTH = 2000
KEYWORDS = frozenset({"and", "or", "not"})
_MAX_DEPTH = 100
_PUNCTUATION = {"(": "lparen", ")": "rparen", "[": "lbrack", "]": "rbrack", ",": "comma", "!": "not"}
_SYMBOL = r"==|!=|>=|<=|=~|!~|&&|\|\||>|<"
_SYMBOLS = re.compile(_SYMBOL)
_BANG_WORD = re.compile(rf"!(in|exists)(?=$|[\s()\[\],'\"]|{_SYMBOL})", re.IGNORECASE)
_WORD = re.compile(rf"(?:(?!{_SYMBOL})[^\s()\[\],'\"])+")


class QuerySyntaxError(ValueError):
    """A malformed or meaningless expression; ``column`` (1-based) is where the problem starts.

    ``str()`` gives the message followed by the expression and a caret under the column.
    """

    def __init__(self, text: str, column: int, problem: str) -> None:
        super().__init__(f"memberOf expression, column {column}: {problem}")
        self.text, self.column, self.problem = text, column, problem

    def __reduce__(self):
        return type(self), (self.text, self.column, self.problem)

    def __str__(self) -> str:
        start = max(0, self.column - 60)
        shown = self.text[start : start + 100].translate(str.maketrans("\t\r\n", "   "))
        prefix = "..." if start else ""
        return f"{self.args[0]}\n{prefix}{shown}\n{' ' * (len(prefix) + self.column - 1 - start)}^"


class Token(NamedTuple):
    """One lexeme: ``kind`` (word, string, op, and, or, not, lparen, ..., end), value, column."""

    kind: str
    value: str
    column: int
    raw: str

    @property
    def shown(self) -> str:  # how error messages name the token
        return "the end of the expression" if self.kind == "end" else repr(self.raw)


def tokenize(text: str) -> list[Token]:
    """Split an expression into tokens, ending with an ``end`` token; raise on bad input."""
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise QuerySyntaxError(text, MAX_EXPRESSION_LENGTH + 1, f"{len(text)} characters; ECS allows 2000")
    tokens, i = [], 0
    while i < len(text):
        char, column = text[i], i + 1
        if char.isspace():
            i += 1
        elif match := _SYMBOLS.match(text, i) or _BANG_WORD.match(text, i):
            symbol = match.group().lower()
            kind = {"&&": "and", "||": "or"}.get(symbol, "op")
            tokens.append(Token(kind, symbol, column, match.group()))
            i = match.end()
        elif char in _PUNCTUATION:  # after the symbols: a lone "!" is "not"
            tokens.append(Token(_PUNCTUATION[char], char, column, char))
            i += 1
        elif char in "'\"":
            end = text.find(char, i + 1)
            if end < 0:
                raise QuerySyntaxError(text, column, f"unterminated string: no closing {char}")
            tokens.append(Token("string", text[i + 1 : end], column, text[i : end + 1]))
            i = end + 1
        else:
            match = _WORD.match(text, i)
            tokens.append(Token("word", match.group(), column, match.group()))
            i = match.end()
    tokens.append(Token("end", "", len(text) + 1, ""))
    return tokens


@dataclass(frozen=True)
class Compare:
    """``subject operator [argument]``; ``argument`` is a tuple for ``in``/``!in``, None for exists."""

    subject: str
    operator: str
    argument: str | tuple[str, ...] | None = None

    def __str__(self) -> str:
        if self.argument is None:
            return f"{self.subject} {self.operator}"
        if isinstance(self.argument, tuple):
            return f"{self.subject} {self.operator} [{', '.join(map(quote, self.argument))}]"
        return f"{self.subject} {self.operator} {quote(self.argument)}"


@dataclass(frozen=True)
class Not:
    """Logical negation of an expression."""

    operand: Node

    def __str__(self) -> str:
        return f"not({self.operand})"


@dataclass(frozen=True)
class And:
    """Conjunction of two or more expressions (binds tighter than ``or``)."""

    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " and ".join(_wrap(o, (And, Or)) for o in self.operands)


@dataclass(frozen=True)
class Or:
    """Disjunction of two or more expressions."""

    operands: tuple[Node, ...]

    def __str__(self) -> str:
        return " or ".join(_wrap(o, (Or,)) for o in self.operands)


Node = Compare | Not | And | Or


def _wrap(node: Node, kinds: tuple[type, ...]) -> str:
    """Parenthesise a nested And/Or so the printed form re-parses to the same tree."""
    return f"({node})" if isinstance(node, kinds) else str(node)


def quote(value: str) -> str:
    """``value`` as an argument token: bare when it lexes back as itself, else quoted."""
    reserved = value.lower() in KEYWORDS or value.lower() in _OPERATOR_WORDS
    if _WORD.fullmatch(value) and value[0] != "!" and not reserved:
        return value
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise ValueError(f"an argument cannot contain both quote characters: {value!r}")


class Query:
    """A compiled ``memberOf`` expression: evaluate it against views as often as needed.

    Attributes:
        text: the expression as given.
        ast: its syntax tree (:class:`Compare`, :class:`Not`, :class:`And`, :class:`Or`).
    """

    __slots__ = ("text", "ast", "_leaf")

    def __init__(self, text: str, ast: Node, leaves: dict[Compare, object]) -> None:
        self.text, self.ast = text, ast
        self._leaf = _build(ast, leaves)

    def evaluate(self, view: ClusterView, context: QueryContext | None = None) -> np.ndarray:
        """A new bool array over the first ``view.n`` slots: True where the instance matches."""
        return self._leaf(view, context or _NO_CONTEXT, view.n)

    def needs_group_counts(self) -> set[str]:
        """Task groups the expression reads, so callers can keep their per-slot counts."""
        return _groups(self.ast)

    def __repr__(self) -> str:
        return f"Query({self.text!r})"

    def __reduce__(self):
        return compile_query, (self.text,)  # evaluators are closures: recompile on unpickling


def compile_query(text: str) -> Query:
    """Parse and check a cluster query expression; raise :class:`QuerySyntaxError` if invalid."""
    parser = _Parser(text)
    return Query(text, parser.parse(), parser.leaves)


def parse(text: str) -> Node:
    """Parse and check an expression, returning its syntax tree."""
    return _Parser(text).parse()


def _build(node: Node, leaves: dict):
    if isinstance(node, Compare):
        return leaves[node]
    if isinstance(node, Not):
        return negation(_build(node.operand, leaves))
    combine = all_of if isinstance(node, And) else any_of
    return combine([_build(o, leaves) for o in node.operands])


def _groups(node: Node) -> set[str]:
    if isinstance(node, Compare):
        if node.subject != "task:group":
            return set()
        return {node.argument} if isinstance(node.argument, str) else set(node.argument)
    if isinstance(node, Not):
        return _groups(node.operand)
    return set().union(*(_groups(o) for o in node.operands))


class _Parser:
    """Recursive descent over the token list; checks each comparison as it is read."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.pos = self.depth = 0
        self.leaves: dict[Compare, object] = {}

    def parse(self) -> Node:
        node = self.expression()
        if self.peek().kind != "end":
            self.fail(self.peek(), "expected 'and', 'or' or the end of the expression")
        return node

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def advance(self) -> Token:
        token = self.tokens[self.pos]
        self.pos += token.kind != "end"
        return token

    def fail(self, token: Token, expected: str):
        raise QuerySyntaxError(self.text, token.column, f"{expected}, got {token.shown}")

    def at_keyword(self, kind: str) -> bool:
        token = self.peek()
        return token.kind == kind or (token.kind == "word" and token.value.lower() == kind)

    def expression(self) -> Node:
        operands = [self.conjunction()]
        while self.at_keyword("or"):
            self.advance()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Node:
        operands = [self.term()]
        while self.at_keyword("and"):
            self.advance()
            operands.append(self.term())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def term(self) -> Node:
        self.depth += 1
        if self.depth > _MAX_DEPTH:  # keeps Python's recursion limit out of reach
            raise QuerySyntaxError(self.text, self.peek().column, f"nesting deeper than {_MAX_DEPTH} levels")
        node = self.negation_or_group()
        self.depth -= 1
        return node

    def negation_or_group(self) -> Node:
        if self.at_keyword("not"):
            self.advance()
            return Not(self.term())
        if self.peek().kind == "lparen":
            opening = self.advance()
            node = self.expression()
            if self.peek().kind != "rparen":
                self.fail(self.peek(), f"expected ')' to close the '(' at column {opening.column}")
            self.advance()
            return node
        return self.comparison()

    def comparison(self) -> Compare:
        subject = self.advance()
        if subject.kind != "word" or subject.value.lower() in KEYWORDS:
            self.fail(subject, "expected a subject, '(' or 'not'")
        self.check(lambda: subject_kind(subject.value), subject, None, [])
        operator_token = self.advance()
        operator = _operator(operator_token)
        if operator is None:
            hint = " (use '==')" if operator_token.value == "=" else ""
            self.fail(operator_token, f"expected an operator after {subject.shown}{hint}")
        argument_tokens: list[Token] = []
        if operator in ("exists", "!exists"):
            argument = None
        elif operator in ("in", "!in"):
            argument_tokens = self.argument_list(operator_token)
            argument = tuple(t.value for t in argument_tokens)
        else:
            if self.peek().kind == "lbrack":
                self.fail(self.peek(), f"{operator!r} takes one value (use 'in' for a list)")
            argument_tokens = [self.argument(operator_token)]
            argument = argument_tokens[0].value
        node = Compare(subject.value, operator, argument)
        build = lambda: compile_compare(subject.value, operator, argument)  # noqa: E731
        self.leaves[node] = self.check(build, subject, operator_token, argument_tokens)
        return node

    def check(self, build, subject: Token, operator: Token | None, arguments):
        """Run ``build``; turn a :class:`SemanticError` into a syntax error at the right column."""
        try:
            return build()
        except SemanticError as exc:
            if exc.part == "subject" or operator is None:
                at = subject
            elif exc.part == "operator" or not arguments:
                at = operator
            else:
                at = arguments[min(exc.index, len(arguments) - 1)]
            raise QuerySyntaxError(self.text, at.column, str(exc)) from None

    def argument(self, after: Token) -> Token:
        token = self.advance()
        if token.kind not in ("word", "string"):
            self.fail(token, f"expected a value after {after.shown}")
        return token

    def argument_list(self, after: Token) -> list[Token]:
        opening = self.advance()
        if opening.kind != "lbrack":
            self.fail(opening, f"expected '[' to start the list after {after.shown}")
        if self.peek().kind == "rbrack":
            self.fail(self.peek(), f"expected a value: {after.shown} needs a non-empty list")
        items = [self.argument(opening)]
        while self.peek().kind == "comma":
            items.append(self.argument(self.advance()))
        if self.peek().kind != "rbrack":
            self.fail(self.peek(), f"expected ',' or ']' in the list opened at column {opening.column}")
        self.advance()
        return items


def _operator(token: Token) -> str | None:
    """The canonical operator a token spells, or None."""
    if token.kind == "op":
        return token.value
    if token.kind == "word":
        return _OPERATOR_WORDS.get(token.value.lower())
    return None


__all__ = ["And", "Compare", "Not", "Or", "Query", "QueryContext", "QueryEvaluationError"]
__all__ += ["QuerySyntaxError", "Token"]
__all__ += ["compile_query", "parse", "quote", "tokenize"]
