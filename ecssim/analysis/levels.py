"""Step series from per-row deltas: the engine behind the ``capacity`` and service-count tables.

Each log row that changes a level becomes a row of :class:`Deltas` (+1 task RUNNING, -512
CPU units reserved, ...) in some *scope* (``cluster``, an AZ, a service). :func:`step_levels`
sums them cumulatively per scope in log order, keeps the value after the last row of each
instant and drops instants where nothing changed. Everything runs on numpy arrays, one
column at a time where the data is large (a long run has millions of delta rows).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from ecssim.analysis.groups import Groups


class Deltas(NamedTuple):
    """Delta rows from one kind of log row, in log order.

    ``scope`` is one name per row ("" for none) or a single name for every row; ``columns``
    maps a level column to its int64 deltas (columns left out are 0 on these rows).
    """

    seq: np.ndarray
    time_s: np.ndarray
    scope: np.ndarray | str
    columns: dict[str, np.ndarray]


def _scope_codes(parts: list[Deltas]) -> tuple[np.ndarray, np.ndarray]:
    """Per row of the parts (concatenated), a scope code, and the scope names by code."""
    names = {part.scope for part in parts if isinstance(part.scope, str)}
    if len(names) == 1 and all(isinstance(part.scope, str) for part in parts):
        return np.zeros(sum(len(part.seq) for part in parts), dtype=np.intp), np.array(list(names), dtype=object)
    scopes = [np.full(len(p.seq), p.scope, dtype=object) if isinstance(p.scope, str) else p.scope for p in parts]
    codes, uniques = pd.factorize(np.concatenate(scopes))
    return codes, np.asarray(uniques, dtype=object)


def _grouped_order(seq: np.ndarray, codes: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """The rows of ``keep`` scope by scope, each scope's rows in log (``seq``) order.

    The parts are each in log order, so the stable sort by ``seq`` only merges their runs;
    the stable sort by scope code keeps that order inside each scope.
    """
    by_log = np.argsort(seq, kind="stable")
    by_log = by_log[keep[by_log]]
    scope = codes[by_log]
    if len(scope) and scope.max() > scope.min():
        small = scope.astype(np.int16) if scope.max() < np.iinfo(np.int16).max else scope
        by_log = by_log[np.argsort(small, kind="stable")]  # a radix sort for int16 codes
    return by_log


def _matrix(parts: list[Deltas], order: np.ndarray, columns: list[str]) -> np.ndarray:
    """The parts' deltas as one column-major int64 matrix whose rows follow ``order``."""
    size = sum(len(part.seq) for part in parts)
    target = np.full(size, -1, dtype=np.intp)
    target[order] = np.arange(len(order))
    matrix = np.zeros((len(order), len(columns)), dtype=np.int64, order="F")
    offset = 0
    for part in parts:
        where = target[offset:offset + len(part.seq)]
        kept = where >= 0
        everything = bool(kept.all())
        for name, values in part.columns.items():
            column = matrix[:, columns.index(name)]
            if everything:
                column[where] = values
            else:
                column[where[kept]] = np.asarray(values)[kept]
        offset += len(part.seq)
    return matrix


def _last_per_instant(times: np.ndarray, codes: np.ndarray, groups: Groups) -> np.ndarray:
    """True on the last row of each (instant, scope), rows in grouped order: the rows
    ``drop_duplicates(keep="last")`` keeps.

    Rows of a scope come in log order, so equal instants are adjacent; were the times not
    sorted within a scope, pandas decides.
    """
    starts = groups.starts
    if not np.all((times[1:] >= times[:-1]) | starts[1:]):
        return ~pd.DataFrame({"t": times, "k": codes}).duplicated(keep="last").to_numpy()
    last = np.ones(len(times), dtype=bool)
    last[:-1] = starts[1:] | (times[1:] != times[:-1])
    return last


def _per_scope(totals: np.ndarray, starts: np.ndarray, last: np.ndarray, group: np.ndarray) -> np.ndarray:
    """The rows ``last`` of the running totals (rows in grouped order, scopes flagged by their
    ``starts``) less, in each scope, the total just before the scope's first row; ``group``:
    the scope number of each row of ``last``."""
    levels = totals[last]
    firsts = np.flatnonzero(starts)
    # the kept rows are in grouped order too: each scope's rows are one slice of them
    bounds = np.searchsorted(group, np.arange(len(firsts) + 1))
    for scope in range(1, len(firsts)):
        levels[bounds[scope]:bounds[scope + 1]] -= totals[firsts[scope] - 1]
    return levels


def step_levels(parts: list[Deltas], key: str, columns: list[str], *, scoped: bool = False) -> pd.DataFrame:
    """Cumulative levels per scope, collapsed to the last value per instant, changes only.

    Returns ``time_s``, ``key`` (the scope name) and ``columns``; rows come scope by scope,
    each in time order. ``scoped``: leave out the rows whose scope is "".
    """
    codes, names = _scope_codes(parts)
    keep = np.asarray(names != "", dtype=bool)[codes] if scoped else np.ones(len(codes), dtype=bool)
    order = _grouped_order(np.concatenate([part.seq for part in parts]), codes, keep)
    totals = _matrix(parts, order, columns)
    codes = codes[order]
    times = np.concatenate([part.time_s for part in parts])[order]
    groups = Groups(codes, order=np.arange(len(codes)))
    last = _last_per_instant(times, codes, groups)
    np.cumsum(totals, axis=0, out=totals)  # running totals over all scopes, in grouped order
    group = (np.cumsum(groups.starts) - 1)[last]
    levels = _per_scope(totals, groups.starts, last, group)
    instants = Groups(group, order=np.arange(len(levels)))
    changed = (levels != instants.previous(levels)).any(axis=1)
    out = pd.DataFrame(levels[changed], columns=columns)
    out.insert(0, key, names[codes[last][changed]])
    out.insert(0, "time_s", times[last][changed])
    return out


def order_rows(df: pd.DataFrame, key: str, first: str | None = None) -> pd.DataFrame:
    """Sort by time, then by key name (``first`` before all others); stable, hash-free."""
    name_rank, names = pd.factorize(df[key], sort=True)  # codes in name order (-1: missing)
    if first is None:
        rank = np.zeros(len(df), dtype=np.int64)
    else:  # 0 for ``first``, 1 for every other name (and for a missing one, code -1)
        rank = np.append(np.asarray(names != first, dtype=np.int64), 1)[name_rank]
    # np.lexsort is stable and sorts by its last key first
    return df.take(np.lexsort((name_rank, rank, df["time_s"].to_numpy())))
