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

try:  # optional (the ``parquet`` extra); pandas then backs its ``str`` dtype with pyarrow
    import pyarrow as pa
except ImportError:  # pragma: no cover - exercised only without the extra
    pa = None

from ecssim.analysis.groups import Groups


class Labels:
    """One name per row, stored as integer codes (>= 0) into ``names`` (an object array).

    Selecting rows and grouping them by scope then moves integers: an object array of a long
    run's million scope names costs a hash per row to factorize and a conversion per row to
    become a ``str`` column.
    """

    __slots__ = ("codes", "names")

    def __init__(self, codes: np.ndarray, names: np.ndarray) -> None:
        self.codes = codes
        self.names = names

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, rows: np.ndarray) -> Labels:
        """The labels of ``rows`` (positions, a boolean mask or a slice)."""
        return Labels(self.codes[rows], self.names)

    def filled(self) -> np.ndarray:
        """Per row, whether its name is not ``""``."""
        return np.asarray(self.names != "", dtype=bool)[self.codes]


class Deltas(NamedTuple):
    """Delta rows from one kind of log row, in log order.

    ``scope`` is one name per row ("" for none; an object array or :class:`Labels`) or a
    single name for every row; ``columns`` maps a level column to its integer deltas (int8
    or int64, summed as int64; columns left out are 0 on these rows).
    """

    seq: np.ndarray
    time_s: np.ndarray
    scope: np.ndarray | Labels | str
    columns: dict[str, np.ndarray]


def _labels(part: Deltas) -> Labels:
    """The scope of ``part`` as :class:`Labels` (an object array is factorized)."""
    if isinstance(part.scope, Labels):
        return part.scope
    if isinstance(part.scope, str):
        return Labels(np.zeros(len(part.seq), dtype=np.intp), np.array([part.scope], dtype=object))
    codes, uniques = pd.factorize(part.scope, use_na_sentinel=False)
    return Labels(codes, np.asarray(uniques, dtype=object))


def _scope_codes(parts: list[Deltas]) -> tuple[np.ndarray, np.ndarray]:
    """Per row of the parts (concatenated), a scope code, and the distinct scope names by code.

    The codes number the names of the parts' vocabularies, not the rows: the order of the
    scopes is arbitrary (the builders sort the rows by name afterwards).
    """
    names = {part.scope for part in parts if isinstance(part.scope, str)}
    if len(names) == 1 and all(isinstance(part.scope, str) for part in parts):
        return np.zeros(sum(len(part.seq) for part in parts), dtype=np.intp), np.array(list(names), dtype=object)
    merged = _merged([_labels(part) for part in parts])
    return merged.codes, merged.names


def _merged(labels: list[Labels]) -> Labels:
    """The labels one after the other, coded into one vocabulary of distinct names."""
    # number the distinct names of all vocabularies (a few), then map each one's codes to them
    distinct, uniques = pd.factorize(np.concatenate([label.names for label in labels]), use_na_sentinel=False)
    codes, offset = [], 0
    for label in labels:
        codes.append(distinct[offset:offset + len(label.names)][label.codes])
        offset += len(label.names)
    return Labels(np.concatenate(codes), np.asarray(uniques, dtype=object))


def _name_column(names: np.ndarray, codes: np.ndarray) -> pd.api.extensions.ExtensionArray | np.ndarray:
    """``names[codes]`` as a ``str`` array, taken by pyarrow from the few distinct names (a
    conversion per row otherwise); the object array itself without pyarrow or for non-str names."""
    if pa is not None:
        try:
            return pd.array(pa.array(names, type=pa.large_string()).take(codes), dtype="str")
        except (pa.ArrowException, TypeError, ValueError):
            pass
    return names[codes]


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


def _totals_at(parts: list[Deltas], order: np.ndarray, columns: list[str], at: np.ndarray) -> np.ndarray:
    """The running totals of the parts' deltas over the rows in ``order``, read after the
    positions ``at`` of that order (-1: before its first row, all 0); int64, ``at`` x ``columns``.

    Each part's columns are summed over that part's own rows only (the order of a part's rows
    is its log order inside each scope) and read through how many of its rows come up to each
    position: no matrix of every row by every column, most of them 0.
    """
    sizes = [len(part.seq) for part in parts]
    starts = np.cumsum([0, *sizes[:-1]])
    part_of = np.repeat(np.arange(len(parts), dtype=np.intp), sizes)[order]  # per position: its row's part
    out = np.zeros((len(at), len(columns)), dtype=np.int64, order="F")
    for number, part in enumerate(parts):
        mine = part_of == number
        rows = order[mine] - starts[number]  # the part's rows, in ``order``
        # per position of ``at``: how many of the part's rows come up to it (0 at -1)
        count = np.cumsum(mine)[at] if len(at) else np.zeros(0, dtype=np.intp)
        count[at < 0] = 0
        in_log_order = len(rows) == len(part.seq) and bool(np.all(rows[1:] > rows[:-1]))
        for name, values in part.columns.items():
            values = np.asarray(values) if in_log_order else np.asarray(values)[rows]
            sums = np.zeros(len(values) + 1, dtype=np.int64)  # sums[k]: the first k rows' total
            np.cumsum(values, dtype=np.int64, out=sums[1:])
            column = out[:, columns.index(name)]
            column += sums[count]
    return out


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


class Levels(NamedTuple):
    """Step series as arrays: ``values`` (rows x level columns, int64) from ``time_s`` on, per
    ``scope``."""

    time_s: np.ndarray
    scope: Labels
    values: np.ndarray


def level_rows(parts: list[Deltas], columns: list[str], *, scoped: bool = False) -> Levels:
    """Cumulative levels per scope, collapsed to the last value per instant, changes only.

    Rows come scope by scope, each in time order. ``scoped``: leave out the rows whose scope
    is "".
    """
    codes, names = _scope_codes(parts)
    keep = np.asarray(names != "", dtype=bool)[codes] if scoped else np.ones(len(codes), dtype=bool)
    order = _grouped_order(np.concatenate([part.seq for part in parts]), codes, keep)
    codes = codes[order]
    times = np.concatenate([part.time_s for part in parts])[order]
    groups = Groups(codes, order=np.arange(len(codes)))
    last = np.flatnonzero(_last_per_instant(times, codes, groups))
    firsts = np.flatnonzero(groups.starts)
    # running totals over all scopes, in grouped order: at each kept row, and before each scope
    totals = _totals_at(parts, order, columns, np.concatenate([last, firsts - 1]))
    group = (np.cumsum(groups.starts) - 1)[last]
    levels = totals[:len(last)]
    if len(firsts) > 1:  # the scopes after the first start from the totals before them
        levels = levels - totals[len(last):][group]
    instants = Groups(group, order=np.arange(len(levels)))
    changed = (levels != instants.previous(levels)).any(axis=1)
    last = last[changed]
    return Levels(times[last], Labels(codes[last], names), levels[changed])


def step_levels(parts: list[Deltas], key: str, columns: list[str], *, scoped: bool = False) -> pd.DataFrame:
    """:func:`level_rows` as a frame: ``time_s``, ``key`` (the scope name) and ``columns``."""
    return levels_frame(level_rows(parts, columns, scoped=scoped), key, columns)


def levels_frame(levels: Levels, key: str, columns: list[str], rows: np.ndarray | None = None) -> pd.DataFrame:
    """``time_s``, ``key`` (the scope name) and ``columns`` of ``levels`` (its ``rows`` if given),
    one frame built from the columns (inserting the leading ones into a frame copies its block)."""
    rows = slice(None) if rows is None else rows
    out = {"time_s": levels.time_s[rows], key: _name_column(levels.scope.names, levels.scope.codes[rows])}
    values = levels.values[rows]
    out |= {name: values[:, i] for i, name in enumerate(columns)}
    return pd.DataFrame(out, copy=False)


def ordered_levels(series: list[Levels], key: str, columns: list[str], first: str | None = None) -> pd.DataFrame:
    """The series as one frame in :func:`order_rows` order, sorted as arrays (no frame built
    twice and no string column sorted)."""
    both = Levels(np.concatenate([one.time_s for one in series]), _merged([one.scope for one in series]),
                  np.concatenate([one.values for one in series]))
    names, codes = both.scope.names, both.scope.codes
    used = np.zeros(len(names), dtype=bool)
    used[codes] = True
    if not all(isinstance(name, str) for name in names[used]):  # a missing name: as order_rows places it
        return order_rows(levels_frame(both, key, columns), key, first)
    name_rank = np.empty(len(names), dtype=np.int64)  # per code, its name's place in name order
    name_rank[np.argsort(np.where(used, names, "").astype(str), kind="stable")] = np.arange(len(names))
    rank = np.zeros(len(names), dtype=np.int64) if first is None else np.asarray(names != first, dtype=np.int64)
    # as order_rows: by time, then ``first`` before the other names, then by name (stable)
    return levels_frame(both, key, columns, np.lexsort((name_rank[codes], rank[codes], both.time_s)))


def order_rows(df: pd.DataFrame, key: str, first: str | None = None) -> pd.DataFrame:
    """Sort by time, then by key name (``first`` before all others); stable, hash-free."""
    name_rank, names = pd.factorize(df[key], sort=True)  # codes in name order (-1: missing)
    if first is None:
        rank = np.zeros(len(df), dtype=np.int64)
    else:  # 0 for ``first``, 1 for every other name (and for a missing one, code -1)
        rank = np.append(np.asarray(names != first, dtype=np.int64), 1)[name_rank]
    # np.lexsort is stable and sorts by its last key first
    return df.take(np.lexsort((name_rank, rank, df["time_s"].to_numpy())))
