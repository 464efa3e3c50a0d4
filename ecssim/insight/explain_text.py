"""Readable text for an explanation: a one-line verdict and a trimmed table."""

from __future__ import annotations

from collections import Counter

import pandas as pd

#: Columns always shown (when present), in this order; strategy keys go before ``rank``.
_SHOWN = ("instance_id", "az", "cpu_free", "memory_free_mib")
_TAIL = ("filtered_by", "why")


def verdict(frame: pd.DataFrame) -> str:
    """One line: where the task went (or why not) and what the filters removed.

    e.g. ``t-000042 at 2m 5s (service web): placed on i-00000000000000003 (rank 1 of 5
    candidates); 3 filtered: 2 RESOURCE:MEMORY, 1 AGENT``.
    """
    a = frame.attrs
    who = f"service {a['service']}" if a["service"] else a["started_by"]
    head = f"{a['target']} at t={a['time_s']:.1f}s ({who}, {a['task_definition']})"
    feasible = int((frame["filtered_by"] == "").sum())
    filtered = frame.loc[frame["filtered_by"] != "", "filtered_by"]
    tally = ", ".join(f"{n} {reason}" for reason, n in sorted(Counter(filtered).items(), key=lambda x: (-x[1], x[0])))
    removed = f"{len(filtered)} filtered" + (f": {tally}" if tally else "")
    if a["placed"]:
        return f"{head}: placed on {a['instance_id']} (rank 1 of {feasible} candidates); {removed}"
    closest = f" (closest {a['closest_instance_id']})" if a["closest_instance_id"] else ""
    if len(frame) == 0:
        return f"{head}: not placed: {a['reason']}; no ACTIVE instance"
    return f"{head}: not placed: {a['reason']}{closest}; {removed}"


def request_text(frame: pd.DataFrame) -> str:
    """The request as one line: demand, group, strategies and constraints."""
    a = frame.attrs
    d = a["demand"]
    parts = [f"{d['cpu']} CPU", f"{d['memory_mib']} MiB"]
    ports = [f"{p}/tcp" for p in d.get("tcp_ports", ())] + [f"{p}/udp" for p in d.get("udp_ports", ())]
    if ports:
        parts.append("ports " + " ".join(ports))
    parts += [f"{d[k]} {k.removesuffix('s').upper()}" for k in sorted(d)
              if k not in ("cpu", "memory_mib", "tcp_ports", "udp_ports") and d[k]]
    strategies = " > ".join(k if f is None else f"{k}({f})" for k, f in a["strategies"]) or "random"
    constraints = "; ".join(k if e is None else f"{k}({getattr(e, 'text', e)})" for k, e in a["constraints"]) or "none"
    return (f"request: {', '.join(parts)}; group {a['group']}; strategies {strategies}; "
            f"constraints {constraints}")


def table(frame: pd.DataFrame, limit: int | None = 30) -> str:
    """The frame as text: the columns that matter, ranked instances first, then filtered ones.

    Resource columns that are the same everywhere and tell nothing (no ports in use, no
    group task anywhere) are dropped; ``limit`` rows at most (None or 0 = all).
    """
    if frame.empty:
        return "(no ACTIVE instance)"
    strategy_cols = _strategy_columns(frame)
    columns = [c for c in _SHOWN if c in frame.columns]
    columns += [c for c in frame.columns if c.endswith("_free") and c not in columns and _matters(frame, c)]
    if frame["ports_in_use"].ne("").any() or _wants_ports(frame):
        columns.append("ports_in_use")
    if frame["group_tasks"].any():
        columns.append("group_tasks")
    columns += [*_TAIL, *strategy_cols, "rank"]
    shown = frame.assign(_order=frame["rank"].fillna(10**9)).sort_values(["_order", "instance_id"], kind="stable")
    shown = shown.assign(rank=shown["rank"].astype("string").fillna("-"))
    mark = shown["chosen"].map({True: "<- chosen", False: ""})
    mark = mark.where(~shown["closest"], "<- closest")
    out = shown[columns].rename(columns=_short_name).assign(**{" ": mark})
    more = ""
    if limit and len(out) > limit:
        more = f"\n... and {len(out) - limit} more instances"
        out = out.head(limit)
    text = "\n".join(line.rstrip() for line in out.to_string(index=False).splitlines())
    return text + more


def _strategy_columns(frame: pd.DataFrame) -> list[str]:
    """Strategy key columns: those between ``why`` and ``rank``."""
    cols = list(frame.columns)
    return cols[cols.index("why") + 1: cols.index("rank")]


def _short_name(column: str) -> str:
    """``spread:attribute:ecs.availability-zone`` -> ``spread(az)``, ``binpack:cpu`` -> ``binpack(cpu)``."""
    kind, _, field = column.partition(":")
    if kind not in ("binpack", "spread", "random") or not field:
        return column
    field = field.replace("attribute:ecs.availability-zone", "az").replace("attribute:", "")
    return f"{kind}({field})"


def _matters(frame: pd.DataFrame, column: str) -> bool:
    """Show ``eni_free``/``gpu_free`` only when the task asks for that resource or it filtered."""
    resource = column[: -len("_free")]
    asked = frame.attrs.get("demand", {}).get(f"{resource}s", 0)
    return bool(asked) or bool((frame["filtered_by"] == f"RESOURCE:{resource.upper()}").any())


def _wants_ports(frame: pd.DataFrame) -> bool:
    d = frame.attrs.get("demand", {})
    return bool(d.get("tcp_ports") or d.get("udp_ports"))


def to_text(frame: pd.DataFrame, limit: int | None = 30) -> str:
    """Verdict, request and table, as ``ecssim explain`` prints them."""
    return "\n".join([verdict(frame), request_text(frame), "", table(frame, limit)])
