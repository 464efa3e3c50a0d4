"""Properties of placement with memberOf constraints, ENIs and GPUs, and of spread (hypothesis).

The reference checks look at one instance at a time, in plain Python, and share nothing with
the vectorised pipeline.
"""

import re

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.placement import ClusterView, TaskDemand, compile_query, place

GROUP = "service:web"
TYPES = ["m5.large", "t3.micro", "c5.large"]
ZONES = ["a", "b", "c"]
TEAMS = ["web", "db", None]

# Atoms: (expression text, reference predicate over one instance's facts).
ATOMS = [
    ("attribute:team == web", lambda f: f["team"] == "web"),
    ("attribute:team != web", lambda f: f["team"] is not None and f["team"] != "web"),
    ("attribute:team exists", lambda f: f["team"] is not None),
    ("attribute:team !exists", lambda f: f["team"] is None),
    ("attribute:ecs.instance-type =~ m5.*", lambda f: re.fullmatch("m5.*", f["type"]) is not None),
    ("attribute:ecs.availability-zone in [a, b]", lambda f: f["zone"] in ("a", "b")),
    ("runningTasksCount < 2", lambda f: f["running"] < 2),
    ("task:group == databases", lambda f: f["databases"] > 0),
    ("task:group != databases", lambda f: f["databases"] == 0),
]


@st.composite
def expressions(draw, depth=0):
    """A random expression and its reference predicate."""
    kind = draw(st.sampled_from(["atom", "atom", "not", "and", "or"] if depth < 2 else ["atom"]))
    if kind == "atom":
        return draw(st.sampled_from(ATOMS))
    if kind == "not":
        text, pred = draw(expressions(depth + 1))
        return f"not({text})", lambda f: not pred(f)
    (lt, lp), (rt, rp) = draw(expressions(depth + 1)), draw(expressions(depth + 1))
    if kind == "and":
        return f"({lt}) and ({rt})", lambda f: lp(f) and rp(f)
    return f"({lt}) or ({rt})", lambda f: lp(f) or rp(f)


@st.composite
def cases(draw):
    n = draw(st.integers(1, 8))
    lists = lambda s: st.lists(s, min_size=n, max_size=n)  # noqa: E731
    facts = [
        {"type": t, "zone": z, "team": m, "running": r, "databases": d}
        for t, z, m, r, d in zip(
            draw(lists(st.sampled_from(TYPES))), draw(lists(st.sampled_from(ZONES))),
            draw(lists(st.sampled_from(TEAMS))), draw(lists(st.integers(0, 3))),
            draw(lists(st.integers(0, 1))), strict=True,
        )
    ]
    view = ClusterView.build(
        [4096] * n, [8192] * n,
        azs=[f["zone"] for f in facts],
        attributes={"ecs.instance-type": [f["type"] for f in facts], "team": [f["team"] for f in facts]},
        cpu_free=draw(lists(st.integers(0, 4096))),
        memory_free=draw(lists(st.integers(0, 8192))),
        active=draw(lists(st.booleans())),
        connected=draw(lists(st.booleans())),
        enis=draw(lists(st.integers(0, 2))),
        gpus=draw(lists(st.integers(0, 2))),
        group_counts={"databases": [f["databases"] for f in facts]},
    )
    view.running_tasks_count[:n] = [f["running"] for f in facts]
    demand = TaskDemand(draw(st.integers(0, 4096)), draw(st.integers(1, 8192)),
                        enis=draw(st.integers(0, 1)), gpus=draw(st.integers(0, 2)))
    rules = draw(st.lists(expressions(), min_size=0, max_size=3))
    return view, facts, demand, rules


def feasible(view, facts, demand, rules, s):
    return bool(
        view.active[s] and view.connected[s]
        and view.cpu_free[s] >= demand.cpu and view.memory_free[s] >= demand.memory_mib
        and view.eni_free[s] >= demand.enis and view.gpu_free[s] >= demand.gpus
        and all(pred(facts[s]) for _, pred in rules)
    )


@settings(max_examples=150, deadline=None)
@given(cases(), st.integers(0, 2**32), st.sampled_from([(), (("binpack", "memory"),), (("random", None),)]))
def test_chosen_instance_satisfies_every_constraint_and_resource(case, seed, strategies):
    view, facts, demand, rules = case
    constraints = [("memberOf", compile_query(text)) for text, _ in rules]
    d = place(demand, view, strategies, constraints, GROUP, np.random.default_rng(seed))
    ok = [s for s in range(view.n) if feasible(view, facts, demand, rules, s)]
    if ok:
        assert d.instance in ok and d.reason == ""
    else:
        assert d.instance == -1 and d.reason


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.sampled_from(["x", "y", "z", "w"]), min_size=1, max_size=10),
    st.integers(1, 30),
    st.integers(0, 2**32),
    st.sampled_from([(), (("binpack", "memory"),), (("spread", "instanceId"),)]),
)
def test_spread_over_an_attribute_stays_within_one(values, tasks, seed, later):
    """Place N tasks one by one with spread(attribute) where all fit: counts per value differ <= 1."""
    n = len(values)
    view = ClusterView.build([10**6] * n, [10**6] * n, attributes={"rack": values}, group_counts={GROUP: [0] * n})
    rng = np.random.default_rng(seed)
    strategies = (("spread", "attribute:rack"), *later)
    for _ in range(tasks):
        d = place(TaskDemand(10, 10), view, strategies, (), GROUP, rng)
        assert d.placed
        view.group_counts[GROUP][d.instance] += 1
        view.cpu_free[d.instance] -= 10
        view.memory_free[d.instance] -= 10
    per_value = {v: 0 for v in values}
    for s, v in enumerate(values):
        per_value[v] += int(view.group_counts[GROUP][s])
    assert sum(per_value.values()) == tasks
    assert max(per_value.values()) - min(per_value.values()) <= 1
