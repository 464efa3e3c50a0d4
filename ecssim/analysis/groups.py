"""Per-entity running figures over rows in log order, with numpy on integer group codes.

The capacity and service-count series need, for every row, the change from the previous row
of the same task (or instance, or service), running sums per scope and "has this happened
yet" flags per task. pandas' ``groupby(...).shift/cumsum/cummax`` over millions of rows keyed
by string ids hashes those strings for every call; :class:`Groups` factorizes the keys once,
sorts the rows by code stably (so each group's rows are together, in log order) and answers
each question with one pass of numpy over that *grouped order*.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def codes_of(keys: pd.Series | np.ndarray) -> np.ndarray:
    """One integer per row, equal for equal keys (``pd.factorize``; a missing key gets -1)."""
    return pd.factorize(keys)[0]


def as_objects(values: pd.Series | np.ndarray) -> np.ndarray:
    """``values`` as an object array of str, fast for columns with few distinct strings.

    Converts only the distinct values and repeats them by code (converting a pyarrow
    string column value by value is slow); a missing value becomes NaN.
    """
    codes, uniques = pd.factorize(values)
    return np.append(np.asarray(uniques, dtype=object), np.nan)[codes]  # code -1 takes the NaN


class Groups:
    """Rows grouped by integer codes: ``order`` lists the rows group by group, each group's
    rows in their original order. Methods take and return arrays in that grouped order."""

    __slots__ = ("order", "starts")

    def __init__(self, codes: np.ndarray, order: np.ndarray | None = None) -> None:
        codes = np.asarray(codes)
        #: Row indices sorted by code, stably (``order`` if the caller already has it).
        self.order = np.argsort(codes, kind="stable") if order is None else order
        ordered = codes[self.order]
        #: True where a row (in grouped order) is the first of its group.
        self.starts = np.ones(len(codes), dtype=bool)
        self.starts[1:] = ordered[1:] != ordered[:-1]

    def previous(self, values: np.ndarray, fill: int = 0) -> np.ndarray:
        """Each row's value on the previous row of its group, ``fill`` on a group's first row."""
        out = np.empty_like(values)
        out[1:] = values[:-1]
        out[self.starts] = fill
        return out

    def step(self, values: np.ndarray) -> np.ndarray:
        """Change of ``values`` from the previous row of the group (a first row starts from 0)."""
        return values - self.previous(values)

    def running_sum(self, values: np.ndarray) -> np.ndarray:
        """Running sum of ``values`` (1-D, or rows x columns) inside each group."""
        total = np.cumsum(values, axis=0)
        return total - self.sum_before(total, values)

    def sum_before(self, total: np.ndarray, values: np.ndarray) -> np.ndarray:
        """Per row, the running total (``total``: cumsum of ``values``) before its group began."""
        group = np.cumsum(self.starts) - 1
        return (total - values)[self.starts][group]

    def any_so_far(self, flags: np.ndarray) -> np.ndarray:
        """True from a group's first True row on (``groupby(...).cummax()`` of booleans)."""
        return self.running_sum(flags.astype(np.int64)) > 0

    def last_where(self, flags: np.ndarray) -> np.ndarray:
        """Per row, the (grouped-order) index of the latest row of its group up to it where
        ``flags`` holds, -1 if none: the row a forward fill would copy from."""
        index = np.arange(len(flags))
        latest = np.maximum.accumulate(np.where(flags, index, -1)) if len(flags) else index
        group_start = np.maximum.accumulate(np.where(self.starts, index, 0)) if len(flags) else index
        return np.where(latest >= group_start, latest, -1)

    def previous_rows(self) -> np.ndarray:
        """Per row (original order), the row before it in its group; -1 for a group's first row.

        ``values - np.append(values, 0)[previous_rows()]`` is :meth:`step` in the original
        order, without grouping and ungrouping the values.
        """
        return previous_rows(self.order, self.starts, len(self.order))

    def ungroup(self, values: np.ndarray) -> np.ndarray:
        """Values in grouped order put back in the original row order."""
        out = np.empty_like(values)
        out[self.order] = values
        return out


def previous_rows(rows: np.ndarray, starts: np.ndarray, size: int) -> np.ndarray:
    """Per row ``0 .. size-1``, the row before it in its group (-1 for a group's first row and
    for rows not in ``rows``); ``rows``: rows in grouped order, ``starts``: its groups' first rows."""
    previous = np.full(size, -1, dtype=np.intp)
    previous[rows[1:]] = np.where(starts[1:], -1, rows[:-1])
    return previous


def first_rows(keys: np.ndarray, size: int, *, last: bool = False) -> np.ndarray:
    """For each key ``0 .. size-1``, the index of its first (or last) row in ``keys``; -1 if it
    has none. Rows whose key is -1 belong to no key."""
    rows = np.flatnonzero(keys >= 0)
    if last:
        out = np.full(size, -1, dtype=np.intp)
        np.maximum.at(out, keys[rows], rows)
        return out
    out = np.full(size, len(keys), dtype=np.intp)
    np.minimum.at(out, keys[rows], rows)
    out[out == len(keys)] = -1
    return out


def smallest(keys: np.ndarray, values: np.ndarray, size: int, *, largest: bool = False) -> np.ndarray:
    """For each key ``0 .. size-1``, the smallest (or largest) of its ``values``, NaN ignored;
    NaN if it has none (``groupby(...).min()``/``max()`` of floats). Key -1: no key."""
    rows = keys >= 0
    out = np.full(size, np.nan)
    (np.fmax if largest else np.fmin).at(out, keys[rows], values[rows])
    return out
