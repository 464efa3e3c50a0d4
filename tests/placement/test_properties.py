"""Invariants of placement over random small clusters (hypothesis)."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.placement import ClusterView, TaskDemand, place
from ecssim.placement.view import AGENT_RESERVED_TCP_PORTS, MAX_RESERVED_PORTS

AZ = "attribute:ecs.availability-zone"
GROUP = "service:web"
PORTS = (22, 80, 443, 8080)
RULES = st.sampled_from(
    [("binpack", "cpu"), ("binpack", "memory"), ("spread", "instanceId"), ("spread", AZ), ("random", None)]
)


@st.composite
def clusters(draw):
    n = draw(st.integers(1, 8))
    ints = lambda lo, hi: st.lists(st.integers(lo, hi), min_size=n, max_size=n)  # noqa: E731
    bools = st.lists(st.booleans(), min_size=n, max_size=n)
    tcp = draw(st.lists(st.sets(st.sampled_from(PORTS[1:])), min_size=n, max_size=n))
    udp = draw(st.lists(st.sets(st.sampled_from(PORTS)), min_size=n, max_size=n))
    view = ClusterView.build(
        [4096] * n,
        [8192] * n,
        azs=draw(st.lists(st.sampled_from(["a", "b", "c", None]), min_size=n, max_size=n)),
        cpu_free=draw(ints(0, 4096)),
        memory_free=draw(ints(0, 8192)),
        active=draw(bools),
        connected=draw(bools),
        tcp_ports=tcp,
        udp_ports=udp,
        group_counts={GROUP: draw(ints(0, 3))},
        capacity=n + draw(st.integers(0, 3)),
    )
    # Some instances close to the 100-port limit.
    # (never beyond the limit itself: ECS never lets an instance reserve more than 100).
    view.reserved_port_count[:n] = np.minimum(
        view.reserved_port_count[:n] + np.array(draw(ints(0, 95)), dtype=np.int32), MAX_RESERVED_PORTS
    )
    demand = TaskDemand(
        draw(st.integers(0, 4096)),
        draw(st.integers(1, 8192)),
        tuple(draw(st.sets(st.sampled_from(PORTS), max_size=2))),
        tuple(draw(st.sets(st.sampled_from(PORTS), max_size=1))),
    )
    strategies = draw(st.lists(RULES, max_size=3))
    distinct = draw(st.booleans())
    return view, demand, strategies, [("distinctInstance", None)] if distinct else []


def fits(view, demand, distinct, s):
    """Reference feasibility of slot s, one instance at a time."""
    taken_tcp = {p for p, m in view.tcp_ports_used.items() if m[s]}
    taken_udp = {p for p, m in view.udp_ports_used.items() if m[s]}
    return bool(
        view.active[s]
        and view.connected[s]
        and view.cpu_free[s] >= demand.cpu
        and view.memory_free[s] >= demand.memory_mib
        and not taken_tcp & set(demand.tcp_ports)
        and not taken_udp & set(demand.udp_ports)
        # The 100-port limit applies to a task that reserves host ports; one without
        # static ports reserves none, so it fits even where the limit is already reached.
        and (demand.port_count == 0 or view.reserved_port_count[s] + demand.port_count <= MAX_RESERVED_PORTS)
        and not (distinct and view.group_counts[GROUP][s] > 0)
    )


def key(view, rule, s):
    """Reference key (lower preferred) of one rule for slot s; None for random."""
    kind, field = rule
    if kind == "binpack":
        return int((view.cpu_free if field == "cpu" else view.memory_free)[s])
    if kind == "random":
        return None
    counts = view.group_counts[GROUP]
    if field == "instanceId":
        return int(counts[s])
    codes = view.attributes["ecs.availability-zone"][0]
    return sum(int(counts[i]) for i in range(view.n) if view.active[i] and codes[i] == codes[s])


def keys_until_random(view, strategies, s):
    out = []
    for rule in strategies:
        if rule[0] == "random":
            break
        out.append(key(view, rule, s))
    return tuple(out)


@settings(max_examples=100, deadline=None)
@given(clusters(), st.integers(0, 2**32))
def test_placement_invariants(case, seed):
    view, demand, strategies, constraints = case
    d = place(demand, view, strategies, constraints, GROUP, np.random.default_rng(seed))
    feasible = [s for s in range(view.n) if fits(view, demand, bool(constraints), s)]
    if not feasible:
        assert d.instance == -1 and d.reason
        assert d.closest == -1 or view.active[d.closest]
        return
    # A decision is never -1 when something fits, and the chosen instance fits.
    assert d.instance in feasible and d.reason == ""
    # Lexicographic optimality: first rule, and all rules up to the first random one.
    if strategies and strategies[0][0] != "random":
        assert key(view, strategies[0], d.instance) == min(key(view, strategies[0], s) for s in feasible)
    best = min(keys_until_random(view, strategies, s) for s in feasible)
    assert keys_until_random(view, strategies, d.instance) == best
    # Determinism: same seed, same choice.
    again = place(demand, view, strategies, constraints, GROUP, np.random.default_rng(seed))
    assert again.instance == d.instance


@settings(max_examples=50, deadline=None)
@given(clusters())
def test_explain_agrees_with_the_filters(case):
    view, demand, strategies, constraints = case
    d = place(demand, view, strategies, constraints, GROUP, np.random.default_rng(0), explain=True)
    df = d.candidates
    assert list(df.index) == [s for s in range(view.n) if view.active[s]]
    feasible = [s for s in df.index if fits(view, demand, bool(constraints), s)]
    assert [s for s in df.index if df.loc[s, "filtered_by"] == ""] == feasible
    if feasible:
        assert df.loc[d.instance, "rank"] == 1
        assert sorted(df["rank"].dropna().tolist()) == list(range(1, len(feasible) + 1))


def test_agent_reserved_ports_set():
    assert AGENT_RESERVED_TCP_PORTS == (22, 2375, 2376, 51678, 51679)
