"""The cluster query language: parsing, errors with columns, round trips and vectorised evaluation.

Expected masks are written by hand from the semantics in ``ecssim.placement.query``'s docstring,
over the five-instance cluster below; the property tests compare the vectorised evaluator with a
naive per-instance one written independently here.
"""

from __future__ import annotations

import math
import pickle
import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ecssim.placement.query import (
    And,
    Compare,
    Not,
    Or,
    QueryContext,
    QuerySyntaxError,
    compile_query,
    parse,
    quote,
)
from ecssim.placement.query_eval import QueryEvaluationError
from ecssim.placement.view import ClusterView

# slot:        0            1             2            3            4
TYPES = ["t2.small", "t2.medium", "m4.large", "c5.xlarge", None]
AZS = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1a"]
STACK = ["prod", None, "dev", None, "prod"]
SLOTS = ["4", "16", "abc", None, "8.5"]
GROUPS = {"databases": [1, 0, 0, 2, 0], "service:web": [0, 1, 0, 0, 1]}  # running = [1, 1, 0, 2, 1]
CONNECTED = [True, True, False, True, True]
VERSIONS = ["1.9.0", "1.10.0", "1.14.5", None, "1.14"]
REGISTERED = np.array([0.0, 3600.0, 7200.0, math.nan, 100.0])
START = datetime(2026, 1, 1, tzinfo=UTC)


def cluster() -> ClusterView:
    return ClusterView.build(
        [2048] * 5,
        [4096] * 5,
        azs=AZS,
        connected=CONNECTED,
        attributes={"ecs.instance-type": TYPES, "stack": STACK, "slots": SLOTS},
        group_counts=GROUPS,
    )


CONTEXT = QueryContext(registered_at_s=REGISTERED, agent_versions=VERSIONS, start_time=START)


def mask(text: str, view: ClusterView | None = None, context: QueryContext = CONTEXT) -> list[int]:
    return compile_query(text).evaluate(view or cluster(), context).astype(int).tolist()


EXAMPLES = [
    ("attribute:ecs.instance-type =~ t2.*", [1, 1, 0, 0, 0]),
    ("attribute:ecs.availability-zone in [us-east-1a, us-east-1b]", [1, 1, 0, 0, 1]),
    ("task:group == databases", [1, 0, 0, 1, 0]),
    ("not(attribute:ecs.instance-type =~ t2.*)", [0, 0, 1, 1, 1]),
    ("attribute:ecs.instance-type == t2.small or attribute:ecs.instance-type == m4.large", [1, 0, 1, 0, 0]),
    ("attribute:ecs.availability-zone != us-east-1d and not(task:group == service:web)", [1, 0, 1, 0, 0]),
    ("runningTasksCount == 0", [0, 0, 1, 0, 0]),
    ("agentConnected == true", [1, 1, 0, 1, 1]),
    ("attribute:stack exists", [1, 0, 1, 0, 1]),
    ("ec2InstanceId in [i-00000000000000001, i-00000000000000002]", [0, 1, 1, 0, 0]),
    ("registeredAt >= 3600", [0, 1, 1, 0, 0]),
    # from the ECS developer guide
    ("attribute:ecs.instance-type =~ g2.* and attribute:ecs.availability-zone != us-east-1d", [0] * 5),
    ("task:group == service:production", [0] * 5),
    ("not(task:group == database)", [1] * 5),
    ("runningTasksCount == 1", [1, 1, 0, 0, 1]),
    ("agentVersion < 1.14.5", [1, 1, 0, 0, 1]),
    ("ec2InstanceId in ['i-00000000000000000', 'i-wxyx7890']", [1, 0, 0, 0, 0]),
]


@pytest.mark.parametrize(("text", "expected"), EXAMPLES)
def test_documented_examples_parse_and_behave(text, expected):
    assert mask(text) == expected


OPERATORS = [
    # attributes: a missing value matches no comparison, negative ones included
    ("attribute:ecs.instance-type != t2.small", [0, 1, 1, 1, 0]),
    ("attribute:ecs.instance-type !in [t2.small, m4.large]", [0, 1, 0, 1, 0]),
    ("attribute:ecs.instance-type !~ t2.*", [0, 0, 1, 1, 0]),
    ("attribute:ecs.instance-type =~ t2", [0] * 5),  # the whole value must match
    ("attribute:stack !exists", [0, 1, 0, 1, 0]),
    ("attribute:nosuch exists", [0] * 5),
    ("attribute:nosuch !exists", [1] * 5),
    ("attribute:nosuch != x", [0] * 5),
    ("not(attribute:stack == prod)", [0, 1, 1, 1, 0]),
    # ordering on attributes is numeric; non-numbers never match; == stays string equality
    ("attribute:slots > 5", [0, 1, 0, 0, 1]),
    ("attribute:slots <= 8.5", [1, 0, 0, 0, 1]),
    ("attribute:slots >= 16", [0, 1, 0, 0, 0]),
    ("attribute:slots < 4", [0] * 5),
    ("attribute:slots == 4", [1, 0, 0, 0, 0]),
    ("attribute:slots == 4.0", [0] * 5),
    # task groups
    ("task:group != databases", [0, 1, 1, 0, 1]),
    ("task:group in [databases, service:web]", [1, 1, 0, 1, 1]),
    ("task:group !in [databases, service:web]", [0, 0, 1, 0, 0]),
    ("task:group == nosuch", [0] * 5),
    # running task count
    ("runningTasksCount > 1", [0, 0, 0, 1, 0]),
    ("runningTasksCount >= 1", [1, 1, 0, 1, 1]),
    ("runningTasksCount < 1", [0, 0, 1, 0, 0]),
    ("runningTasksCount <= 1", [1, 1, 1, 0, 1]),
    ("runningTasksCount != 1", [0, 0, 1, 1, 0]),
    # agent connection
    ("agentConnected == false", [0, 0, 1, 0, 0]),
    ("agentConnected != TRUE", [0, 0, 1, 0, 0]),
    ("agentConnected in [true, false]", [1] * 5),
    ("agentConnected !in [true]", [0, 0, 1, 0, 0]),
    ("agentConnected =~ f.*", [0, 0, 1, 0, 0]),
    ("agentConnected !~ f.*", [1, 1, 0, 1, 1]),
    # instance ids
    ("ec2InstanceId == i-00000000000000003", [0, 0, 0, 1, 0]),
    ("ec2InstanceId != i-00000000000000003", [1, 1, 1, 0, 1]),
    ("ec2InstanceId !in [i-00000000000000000]", [0, 1, 1, 1, 1]),
    ("ec2InstanceId =~ 'i-0+[34]'", [0, 0, 0, 1, 1]),
    ("ec2InstanceId !~ 'i-0+[34]'", [1, 1, 1, 0, 0]),
    # agent versions compare numerically; unknown matches nothing
    ("agentVersion >= 1.10", [0, 1, 1, 0, 1]),
    ("agentVersion == 1.14.0", [0, 0, 0, 0, 1]),
    ("agentVersion != 1.9.0", [0, 1, 1, 0, 1]),
    ("agentVersion > 1.9.0", [0, 1, 1, 0, 1]),
    ("agentVersion <= 1.9", [1, 0, 0, 0, 0]),
    # registration: seconds, or dates relative to start_time (naive = UTC); NaN matches nothing
    ("registeredAt < 100", [1, 0, 0, 0, 0]),
    ("registeredAt == 3600", [0, 1, 0, 0, 0]),
    ("registeredAt != 0", [0, 1, 1, 0, 1]),
    ("registeredAt > 100", [0, 1, 1, 0, 0]),
    ("registeredAt <= 100", [1, 0, 0, 0, 1]),
    ("registeredAt >= 2026-01-01T01:00:00Z", [0, 1, 1, 0, 0]),
    ("registeredAt < 2026-01-01T00:01:00", [1, 0, 0, 0, 0]),
    ("registeredAt > 2025-12-31", [1, 1, 1, 0, 1]),
    ("registeredAt <= 2026-01-01T02:00:00+01:00", [1, 1, 0, 0, 1]),
]


@pytest.mark.parametrize(("text", "expected"), OPERATORS)
def test_each_operator_and_subject(text, expected):
    assert mask(text) == expected


SPELLINGS = [
    (
        "task:group == databases AND agentConnected == true",
        "task:group == databases and agentConnected == true",
    ),
    (
        "task:group == databases && agentConnected == true",
        "task:group == databases and agentConnected == true",
    ),
    ("runningTasksCount == 0 OR runningTasksCount > 1", "runningTasksCount == 0 or runningTasksCount > 1"),
    ("runningTasksCount == 0 || runningTasksCount > 1", "runningTasksCount == 0 or runningTasksCount > 1"),
    ("NOT(runningTasksCount == 0)", "not(runningTasksCount == 0)"),
    ("!(runningTasksCount == 0)", "not(runningTasksCount == 0)"),
    ("! runningTasksCount == 0", "not(runningTasksCount == 0)"),
    ("not not runningTasksCount == 0", "not(not(runningTasksCount == 0))"),
    ("attribute:stack EXISTS", "attribute:stack exists"),
    ("attribute:stack not_exists", "attribute:stack !exists"),
    ("attribute:stack !EXISTS", "attribute:stack !exists"),
    ("task:group IN [a, b]", "task:group in [a, b]"),
    ("task:group not_in [a,b]", "task:group !in [a, b]"),
    ("task:group !in[a,b]", "task:group !in [a, b]"),
    ("attribute:x equals a", "attribute:x == a"),
    ("attribute:x not_equals a", "attribute:x != a"),
    ("attribute:x MATCHES a.*", "attribute:x =~ a.*"),
    ("attribute:x not_matches a.*", "attribute:x !~ a.*"),
    ("attribute:x greater_than 1", "attribute:x > 1"),
    ("attribute:x greater_than_equal 1", "attribute:x >= 1"),
    ("attribute:x less_than 1", "attribute:x < 1"),
    ("attribute:x less_than_equal 1", "attribute:x <= 1"),
    ("runningTasksCount==0", "runningTasksCount == 0"),
    ("attribute:stack !exists&&runningTasksCount<=1", "attribute:stack !exists and runningTasksCount <= 1"),
    ("attribute:x == a!b", "attribute:x == a!b"),
    ("attribute:x == '!b'", "attribute:x == '!b'"),
    ("((runningTasksCount == 0))", "runningTasksCount == 0"),
    ("attribute:x == 'a b'", "attribute:x == 'a b'"),
    ('attribute:x == "it\'s"', 'attribute:x == "it\'s"'),
    ("attribute:x =~ '(t2|m4)\\..*'", "attribute:x =~ '(t2|m4)\\..*'"),
    ("attribute:x == 'and'", "attribute:x == 'and'"),
    ("attribute:x in ['a,b', c]", "attribute:x in ['a,b', c]"),
]


@pytest.mark.parametrize(("text", "canonical"), SPELLINGS)
def test_spellings_parse_to_the_canonical_form(text, canonical):
    assert str(parse(text)) == canonical
    assert parse(canonical) == parse(text)


def test_quoted_arguments_are_values_without_quotes():
    assert parse("attribute:x == 'a b'") == Compare("attribute:x", "==", "a b")
    assert parse('attribute:x in ["(", \'"\']') == Compare("attribute:x", "in", ("(", '"'))
    assert mask("attribute:ecs.instance-type =~ '(t2|m4)\\..*'") == [1, 1, 1, 0, 0]
    assert mask("attribute:stack == 'prod'") == mask("attribute:stack == prod") == [1, 0, 0, 0, 1]


def test_and_binds_tighter_than_or():
    a, b, c = (Compare("task:group", "==", g) for g in "abc")
    assert parse("task:group == a or task:group == b and task:group == c") == Or((a, And((b, c))))
    assert parse("task:group == a and task:group == b or task:group == c") == Or((And((a, b)), c))
    assert parse("(task:group == a or task:group == b) and task:group == c") == And((Or((a, b)), c))
    assert parse("not task:group == a and task:group == b") == And((Not(a), b))
    # connected [1,1,0,1,1]; count==0 [0,0,1,0,0]; databases [1,0,0,1,0]
    assert mask("runningTasksCount == 0 or agentConnected == true and task:group == databases") == [
        1,
        0,
        1,
        1,
        0,
    ]
    assert mask("(runningTasksCount == 0 or agentConnected == true) and task:group == databases") == [
        1,
        0,
        0,
        1,
        0,
    ]


def test_nested_parentheses_and_negations():
    text = "not((task:group == databases or (runningTasksCount == 0)) and !(attribute:stack == dev))"
    # inner or: [1,0,1,1,0]; !(stack == dev): [1,1,0,1,1]; and: [1,0,0,1,0]; not: [0,1,1,0,1]
    assert mask(text) == [0, 1, 1, 0, 1]
    assert str(parse(text)) == (
        "not((task:group == databases or runningTasksCount == 0) and not(attribute:stack == dev))"
    )


def test_needs_group_counts_lists_referenced_groups():
    query = compile_query("task:group == a or not(task:group in [b, c]) and attribute:x == task:group")
    assert query.needs_group_counts() == {"a", "b", "c"}
    assert compile_query("runningTasksCount == 0").needs_group_counts() == set()


ERRORS = [
    (
        "attribute:ecs.instance-type foo t2.small",
        29,
        "expected an operator after 'attribute:ecs.instance-type', got 'foo'",
    ),
    (
        "attribute:ecs.instance-type",
        28,
        "expected an operator after 'attribute:ecs.instance-type', got the end",
    ),
    ("runningTasksCount = 1", 19, "(use '==')"),
    ("attribute:x in [a, b", 21, "expected ',' or ']' in the list opened at column 16"),
    ("ec2InstanceId in [a, 'b' c]", 26, "expected ',' or ']'"),
    ("attribute:x in [a,]", 19, "expected a value"),
    ("attribute:x in []", 17, "non-empty list"),
    ("attribute:x in a", 16, "expected '[' to start the list after 'in'"),
    ("attribute:x == [a]", 16, "use 'in' for a list"),
    ("task:group == a b", 17, "expected 'and', 'or' or the end of the expression, got 'b'"),
    ("task:group == a)", 16, "got ')'"),
    ("(task:group == a", 17, "expected ')' to close the '(' at column 1"),
    ("task:group == a and", 20, "expected a subject, '(' or 'not', got the end"),
    ("not", 4, "expected a subject"),
    ("", 1, "expected a subject"),
    ("task:group == ", 15, "expected a value after '=='"),
    ("atribute:ecs.instance-type == t2.small", 1, "did you mean 'attribute:ecs.instance-type'?"),
    ("agentconnected == true", 1, "did you mean 'agentConnected'?"),
    ("runningTasksCount == 0 and task:grup == x", 28, "did you mean 'task:group'?"),
    ("attribute: == x", 1, "attribute name"),
    ("attribute:x =~ 't2('", 16, "invalid regular expression"),
    ("attribute:x == 'open", 16, "unterminated string"),
    ("attribute:x > big", 15, "compares with a number"),
    ("task:group > 1", 12, "'>' does not apply to task:group"),
    ("runningTasksCount exists", 19, "does not apply"),
    ("runningTasksCount == few", 22, "runningTasksCount compares with a number"),
    ("agentConnected in [true, yes]", 26, "true or false"),
    ("agentVersion < latest", 16, "version like 1.14.5"),
    ("registeredAt < yesterday", 16, "simulated seconds or a date"),
    ("registeredAt < 2026-13-01", 16, "invalid date"),
    ("x" * 2001, 2001, "ECS allows 2000"),
    ("(" * 101 + "runningTasksCount == 0" + ")" * 101, 101, "nesting deeper than 100 levels"),
    ("!" * 1500 + "runningTasksCount == 0", 101, "nesting deeper than 100 levels"),
]


@pytest.mark.parametrize(("text", "column", "fragment"), ERRORS)
def test_errors_point_at_the_column_of_the_problem(text, column, fragment):
    with pytest.raises(QuerySyntaxError) as info:
        compile_query(text)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.column == column
    assert fragment in error.args[0]
    assert error.args[0].startswith(f"memberOf expression, column {column}: ")


def test_nesting_up_to_the_limit_is_fine():
    assert mask("(" * 49 + "not " * 50 + "runningTasksCount == 0" + ")" * 49) == [0, 0, 1, 0, 0]  # 100 levels
    assert mask("!" * 98 + "runningTasksCount == 0") == [0, 0, 1, 0, 0]
    assert mask("!" * 99 + "runningTasksCount == 0") == [1, 1, 0, 1, 1]


def test_error_string_has_a_caret_under_the_column():
    with pytest.raises(QuerySyntaxError) as info:
        compile_query("attribute:ecs.instance-type foo t2.small")
    assert str(info.value).splitlines() == [
        "memberOf expression, column 29: expected an operator after 'attribute:ecs.instance-type', got 'foo'",
        "attribute:ecs.instance-type foo t2.small",
        " " * 28 + "^",
    ]


def test_queries_and_errors_survive_pickling():
    query = pickle.loads(pickle.dumps(compile_query("attribute:stack == prod")))
    assert query.evaluate(cluster()).tolist() == [True, False, False, False, True]
    with pytest.raises(QuerySyntaxError) as info:
        compile_query("task:group >")
    copy = pickle.loads(pickle.dumps(info.value))
    assert (copy.column, str(copy)) == (info.value.column, str(info.value))


def test_registered_at_needs_its_context():
    view = cluster()
    with pytest.raises(QueryEvaluationError, match="start_time"):
        compile_query("registeredAt < 2026-01-01").evaluate(view, QueryContext(registered_at_s=REGISTERED))
    with pytest.raises(QueryEvaluationError, match="registered_at_s"):
        compile_query("registeredAt < 10").evaluate(view)


def test_unknown_agent_versions_match_nothing():
    assert mask("agentVersion != 1.0", context=QueryContext()) == [0] * 5


def test_per_value_cache_follows_a_growing_values_list():
    view = cluster()
    query = compile_query("attribute:ecs.instance-type =~ t2.*")
    assert query.evaluate(view).tolist() == [True, True, False, False, False]
    codes, values = view.attributes["ecs.instance-type"]
    values.append("t2.nano")  # a new instance type registers in slot 4
    codes[4] = len(values) - 1
    assert query.evaluate(view).tolist() == [True, True, False, False, True]
    other = ClusterView.build(
        [1] * 5, [1] * 5, attributes={"ecs.instance-type": ["m5.large"] * 3 + ["x"] * 2}
    )
    assert query.evaluate(other).tolist() == [False] * 5  # same length, different list
    assert query.evaluate(view).tolist() == [True, True, False, False, True]


def test_only_the_first_n_slots_are_evaluated():
    view = ClusterView.build([1] * 2, [1] * 2, attributes={"a": ["x", None]}, capacity=6)
    for text in (
        "attribute:a !exists",
        "task:group != g",
        "agentConnected == true",
        "runningTasksCount == 0",
    ):
        assert compile_query(text).evaluate(view).tolist() == [text.startswith("attribute") is False, True]
    assert compile_query("ec2InstanceId =~ .*").evaluate(ClusterView.build([], [])).shape == (0,)


# ----- property tests ---------------------------------------------------------------------------

SAFE_TEXT = st.text(st.sampled_from("ab19.-_/:*?+()[]|!=<>~&, '\"\t"), max_size=6).filter(
    lambda s: not ("'" in s and '"' in s)
)
POOL_TEXT = st.sampled_from(["t2.small", "m4.large", "prod", "4", "16", "abc", "8.5"])
REGEXES = st.sampled_from(["t2.*", ".*", "m[45]\\..*", "i-0+1", "(true|false)", "f.*", "x?", "prod|dev"])
NUMBERS = st.sampled_from(["0", "1", "2", "2.5", "-1", "3600"])
VERSION_ARGS = st.sampled_from(["1.9.0", "1.10.0", "1.14.5", "1.14", "2"])
IDS = st.sampled_from(["i-00000000000000001", "i-00000000000000003", "i-zzz"])
GROUP_NAMES = st.sampled_from(["databases", "service:web", "family:x"])
ATTR_NAMES = st.sampled_from(["ecs.instance-type", "stack", "num", "absent"])
SECONDS_OR_DATES = st.sampled_from(
    ["0", "60", "3600", "2026-01-01", "2026-01-01T00:01:00Z", "2025-12-31T23:00:00"]
)


def lists(values):
    return st.lists(values, min_size=1, max_size=3).map(tuple)


@st.composite
def comparisons(draw, text=POOL_TEXT):
    subject = draw(
        st.sampled_from(
            ["attribute", "agentConnected", "agentVersion", "ec2InstanceId"] * 2
            + ["registeredAt", "runningTasksCount", "task:group"] * 2
        )
    )
    choices = {
        "attribute": [
            ("==", text),
            ("!=", text),
            ("in", lists(text)),
            ("!in", lists(text)),
            ("=~", REGEXES),
            ("!~", REGEXES),
            ("exists", st.none()),
            ("!exists", st.none()),
        ]
        + [(o, NUMBERS) for o in (">", ">=", "<", "<=")],
        "agentConnected": [(o, st.sampled_from(["true", "false", "TRUE"])) for o in ("==", "!=")]
        + [(o, lists(st.sampled_from(["true", "false"]))) for o in ("in", "!in")]
        + [("=~", REGEXES), ("!~", REGEXES)],
        "agentVersion": [(o, VERSION_ARGS) for o in ("==", "!=", ">", ">=", "<", "<=")],
        "ec2InstanceId": [
            ("==", IDS),
            ("!=", IDS),
            ("in", lists(IDS)),
            ("!in", lists(IDS)),
            ("=~", REGEXES),
            ("!~", REGEXES),
        ],
        "registeredAt": [(o, SECONDS_OR_DATES) for o in ("==", "!=", ">", ">=", "<", "<=")],
        "runningTasksCount": [(o, NUMBERS) for o in ("==", "!=", ">", ">=", "<", "<=")],
        "task:group": [
            ("==", GROUP_NAMES),
            ("!=", GROUP_NAMES),
            ("in", lists(GROUP_NAMES)),
            ("!in", lists(GROUP_NAMES)),
        ],
    }[subject]
    operator, arguments = draw(st.sampled_from(choices))
    if subject == "attribute":
        subject = f"attribute:{draw(ATTR_NAMES)}"
    return Compare(subject, operator, draw(arguments))


def expressions(leaves):
    return st.recursive(
        leaves,
        lambda inner: st.one_of(
            inner.map(Not),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: And(tuple(xs))),
            st.lists(inner, min_size=2, max_size=3).map(lambda xs: Or(tuple(xs))),
        ),
        max_leaves=6,
    )


ROUND_TRIP_LEAVES = st.one_of(
    comparisons(),
    st.builds(lambda v: Compare("attribute:stack", "==", v), SAFE_TEXT),
    st.builds(lambda vs: Compare("ec2InstanceId", "in", vs), lists(SAFE_TEXT)),
)


@given(expressions(ROUND_TRIP_LEAVES))
def test_printed_expressions_parse_back_to_the_same_tree(ast):
    text = str(ast)
    assert parse(text) == ast
    assert str(compile_query(text).ast) == text


@given(SAFE_TEXT)
def test_quote_gives_a_single_argument_token(value):
    assert parse(f"attribute:x == {quote(value)}") == Compare("attribute:x", "==", value)


@st.composite
def worlds(draw):
    """A random small view with its context, drawn from the same pools as the queries."""
    n = draw(st.integers(0, 7))
    spare = draw(st.integers(0, 2))

    def column(values):
        return draw(st.lists(values, min_size=n, max_size=n))

    attributes = {
        "ecs.instance-type": column(st.sampled_from(["t2.small", "m4.large", "m5.xlarge", None])),
        "stack": column(st.sampled_from(["prod", "dev", None])),
        "num": column(st.sampled_from(["4", "16", "abc", "2.5", "-1", None])),
    }
    groups = {g: column(st.integers(0, 2)) for g in ("databases", "service:web")}
    view = ClusterView.build(
        [1] * n,
        [1] * n,
        connected=column(st.booleans()),
        attributes=attributes,
        group_counts=groups,
        capacity=n + spare,
    )
    versions = column(st.sampled_from(["1.9.0", "1.10.0", "1.14.5", "1.14", "2.0.0", None])) + [None] * spare
    registered = column(st.sampled_from([0.0, 59.0, 60.0, 3600.0, math.nan])) + [math.nan] * spare
    context = QueryContext(np.array(registered, dtype=float), versions, START)
    return view, context


def naive(node, view: ClusterView, context: QueryContext, slot: int) -> bool:
    """One instance, straight from the documented semantics."""
    if isinstance(node, Not):
        return not naive(node.operand, view, context, slot)
    if isinstance(node, And):
        return all(naive(o, view, context, slot) for o in node.operands)
    if isinstance(node, Or):
        return any(naive(o, view, context, slot) for o in node.operands)
    subject, operator, argument = node.subject, node.operator, node.argument
    if subject.startswith("attribute:"):
        codes, values = view.attributes.get(subject[10:], (None, None))
        value = None if codes is None or codes[slot] < 0 else values[codes[slot]]
        if operator in ("exists", "!exists"):
            return (value is not None) == (operator == "exists")
        return value is not None and plain(operator, value, argument, as_number)
    if subject == "task:group":
        held = {g for g, counts in view.group_counts.items() if counts[slot] > 0}
        wanted = {argument} if isinstance(argument, str) else set(argument)
        return bool(held & wanted) == (operator in ("==", "in"))
    if subject == "agentConnected":
        value = "true" if view.connected[slot] else "false"
        argument = argument.lower() if isinstance(argument, str) and operator != "=~" else argument
        return plain(operator, value, argument, None)
    if subject == "ec2InstanceId":
        return plain(operator, view.instance_ids[slot], argument, None)
    if subject == "runningTasksCount":
        return plain(operator, float(view.running_tasks_count[slot]), float(argument), None)
    if subject == "agentVersion":
        value = context.agent_versions[slot]
        return value is not None and plain(operator, padded(value, argument), padded(argument, value), None)
    registered = context.registered_at_s[slot]
    if re.fullmatch(r"[0-9.]+", argument):
        threshold = float(argument)
    else:
        moment = datetime.fromisoformat(argument.replace("Z", "+00:00"))
        moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        threshold = (moment - START) / timedelta(seconds=1)
    return not math.isnan(registered) and plain(operator, registered, threshold, None)


def as_number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def padded(version: str, other: str) -> tuple[int, ...]:
    parts = [int(p) for p in version.split(".")]
    return tuple(parts + [0] * (len(other.split(".")) - len(parts)))


def plain(operator, value, argument, number) -> bool:
    """A comparison of one present value."""
    if operator in ("==", "!="):
        return (value == argument) == (operator == "==")
    if operator in ("in", "!in"):
        return (value in argument) == (operator == "in")
    if operator in ("=~", "!~"):
        return (re.fullmatch(argument, value) is not None) == (operator == "=~")
    if number is not None:
        value, argument = number(value), float(argument)
        if value is None:
            return False
    return {">": value > argument, ">=": value >= argument, "<": value < argument, "<=": value <= argument}[
        operator
    ]


@given(worlds(), expressions(comparisons()))
def test_vectorised_evaluation_equals_naive_per_instance_evaluation(world, ast):
    view, context = world
    query = compile_query(str(ast))
    expected = [naive(ast, view, context, slot) for slot in range(view.n)]
    result = query.evaluate(view, context)
    assert result.dtype == bool and result.tolist() == expected
    assert query.evaluate(view, context).tolist() == expected  # cached tables give the same answer
