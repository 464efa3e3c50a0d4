"""The ``events`` table read through integer codes, shared by the builders of one result.

Building the tables asks the same questions of the same columns many times over (which rows
are task state rows, which task or instance a row names, in which AZ). On pandas'
pyarrow-backed ``str`` columns each ``==``, ``isin``, ``take`` or ``factorize`` walks a long
run's millions of strings again. :class:`EventCodes` factorizes a column once, when first
asked for its codes, and answers with numpy on the codes; :class:`CodedRows` is a selection
of rows read the same way, so that no builder copies string columns to select rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

import numpy as np
import pandas as pd

from ecssim.analysis.lookup import index_positions

T = TypeVar("T")


class EventCodes:
    """Per column of ``events``: one integer per row and the distinct values by code, cached.

    Columns are factorized lazily; a question about a column not factorized yet (``==``
    on a string column) is asked of the column itself, which is cheaper than factorizing it
    for one question.
    """

    __slots__ = ("events", "_codes", "_names", "_numbers", "_found", "_derived")

    def __init__(self, events: pd.DataFrame, known: dict[str, tuple[np.ndarray, pd.Index]] | None = None) -> None:
        """``known``: the codes and distinct values (``pd.factorize``) of some columns, if made
        while building ``events``."""
        self.events = events
        self._codes: dict[str, tuple[np.ndarray, pd.Index]] = dict(known or {})
        self._names: dict[str, np.ndarray] = {}
        self._numbers: dict[str, np.ndarray] = {}
        #: column -> [(an index looked in, per code its position there), ...]
        self._found: dict[str, list[tuple[pd.Index, np.ndarray]]] = {}
        self._derived: dict[str, object] = {}

    def __len__(self) -> int:
        return len(self.events)

    def codes(self, column: str) -> np.ndarray:
        """One integer per row, equal for equal values of ``column`` (``pd.factorize``)."""
        if column not in self._codes:
            self._codes[column] = pd.factorize(self.events[column])
        return self._codes[column][0]

    def names(self, column: str) -> np.ndarray:
        """The distinct values of ``column`` by code as an object array, plus a last NaN that
        code -1 (a missing value) reads, as in :func:`~ecssim.analysis.groups.as_objects`."""
        if column not in self._names:
            self.codes(column)
            self._names[column] = np.append(np.asarray(self._codes[column][1], dtype=object), np.nan)
        return self._names[column]

    def number(self, column: str) -> np.ndarray:
        """A numeric column as a numpy array (converted once)."""
        if column not in self._numbers:
            self._numbers[column] = self.events[column].to_numpy()
        return self._numbers[column]

    def table(self, column: str, wanted: Iterable[str]) -> np.ndarray:
        """Per code of ``column`` (and -1, a missing value: False), whether its value is in
        ``wanted``."""
        return np.isin(self.names(column), tuple(wanted))

    def member(self, column: str, wanted: Iterable[str]) -> np.ndarray:
        """``events[column].isin(wanted)`` as a numpy array."""
        return self.table(column, wanted)[self.codes(column)]

    def equals(self, column: str, value: str) -> np.ndarray:
        """``events[column] == value`` as a numpy array (on the codes once they exist)."""
        if column in self._codes:
            return self.member(column, (value,))
        return (self.events[column] == value).to_numpy(dtype=bool)

    def values(self, column: str, at: np.ndarray) -> np.ndarray:
        """The string ``column`` at the rows ``at`` as an object array (read from the codes once
        they exist; a few rows are cheaper to take than a whole column to factorize)."""
        if column not in self._codes:
            return self.events[column].take(at).to_numpy(dtype=object)
        codes, uniques = self._codes[column]
        if column in self._names or len(at) >= len(uniques):
            return self.names(column)[codes[at]]
        # fewer rows than distinct values (a few service rows among all task ids): convert those only
        picked = uniques.take(codes[at], allow_fill=True, fill_value=np.nan)
        return np.asarray(picked, dtype=object)

    def positions_in(self, column: str, index: pd.Index) -> np.ndarray:
        """Per row, the position of its ``column`` value in ``index`` (-1 where missing), asking
        the index once per distinct value (as :func:`~ecssim.analysis.lookup.positions_in`)."""
        return self.found(column, index)[self.codes(column)]

    def found(self, column: str, index: pd.Index) -> np.ndarray:
        """Per code of ``column``, its value's position in ``index`` (-1 where missing), plus a
        last -1 that code -1 reads; kept per index (builders ask the same ones again and again)."""
        known = self._found.setdefault(column, [])
        # builders look ids up in the same few tables (tasks, instances), often in equal copies
        for seen, found in known:
            if seen is index or (len(seen) == len(index) and seen.equals(index)):
                return found
        self.codes(column)
        found = np.append(index_positions(index, self._codes[column][1]), -1)
        known.append((index, found))
        return found

    def derived(self, name: str, make: Callable[[], T]) -> T:
        """``make()``, made once per name: a selection of the events several builders read (the
        caller must not modify it)."""
        if name not in self._derived:
            self._derived[name] = make()
        return self._derived[name]

    def rows(self, where: np.ndarray) -> CodedRows:
        """The rows where ``where`` holds, in table order."""
        return CodedRows(self, np.flatnonzero(where))


class CodedRows:
    """Some rows of an events table (``index``: their positions), read through its codes."""

    __slots__ = ("source", "index")

    def __init__(self, source: EventCodes, index: np.ndarray) -> None:
        self.source = source
        self.index = index

    def __len__(self) -> int:
        return len(self.index)

    def where(self, keep: np.ndarray) -> CodedRows:
        """The rows of this selection where ``keep`` (one flag per row) holds."""
        return CodedRows(self.source, self.index[keep])

    def code(self, column: str) -> np.ndarray:
        """The rows' codes of ``column`` (see :meth:`EventCodes.codes`)."""
        return self.source.codes(column)[self.index]

    def number(self, column: str) -> np.ndarray:
        """The rows' values of a numeric column."""
        return self.source.number(column)[self.index]

    def member(self, column: str, wanted: Iterable[str]) -> np.ndarray:
        """Per row, whether its ``column`` is in ``wanted``."""
        return self.source.table(column, wanted)[self.code(column)]

    def filled(self, column: str) -> np.ndarray:
        """Per row, whether its ``column`` is not ``""``."""
        return ~self.member(column, ("",))

    def objects(self, column: str) -> np.ndarray:
        """The rows' values of a string column as an object array."""
        return self.source.values(column, self.index)

    def positions_in(self, column: str, index: pd.Index) -> np.ndarray:
        """Position of each row's ``column`` value in ``index`` (-1 where missing), asking the
        index once per distinct value (as :func:`~ecssim.analysis.lookup.positions_in`)."""
        return self.source.found(column, index)[self.code(column)]
