"""Look keys up in a keyed Series by position: ``keys.map(table).fillna(fill)``, fast.

pandas' ``Series.map`` over string keys casts every looked-up value back through the keys'
string dtype, which dominated building the capacity and tasks tables of long runs (millions of
rows). Looking the positions up once with the index's hash table gives the same values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

try:  # optional (the ``parquet`` extra); pandas then backs its ``str`` dtype with pyarrow
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only without the extra
    pa = None


def lookup(keys: pd.Series, table: pd.Series, fill: object) -> pd.Series:
    """The value of ``table`` at each key (``fill`` where the key is missing), on ``keys``' index.

    Same values and dtype as ``keys.map(table).fillna(fill)`` for numeric tables (float64 once a
    key is missing), and as ``keys.map(table).astype(object).fillna(fill)`` for string tables.
    ``table``'s index must be unique, as ``map`` requires.
    """
    if len(table) == 0:
        values = np.full(len(keys), fill, dtype=object if isinstance(fill, str) else np.float64)
        return pd.Series(values, index=keys.index)
    positions = positions_in(keys, table.index)
    numeric = pd.api.types.is_numeric_dtype(table.dtype) and not pd.api.types.is_bool_dtype(table.dtype)
    source = table.to_numpy(dtype=None if numeric else object)
    values = source[positions]
    missing = positions < 0
    if missing.any():
        if numeric:
            values = values.astype(np.float64)
        values[missing] = fill
    return pd.Series(values, index=keys.index)


def positions_in(keys: pd.Series | np.ndarray, index: pd.Index) -> np.ndarray:
    """Position of each key in ``index`` (-1 where missing), as ``index.get_indexer(keys)``.

    The keys are factorized first, so the index's hash table is asked once per distinct key
    rather than once per row (a long run has millions of rows but thousands of ids).
    """
    return codes_and_positions(keys, index)[1]


def codes_and_positions(keys: pd.Series | np.ndarray, index: pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """``pd.factorize(keys)[0]`` (one integer per distinct key) and :func:`positions_in`,
    for the price of one factorization."""
    codes, uniques = pd.factorize(keys)
    found = index_positions(index, uniques)
    return codes, np.where(codes < 0, -1, found[codes])


def index_positions(index: pd.Index, values: pd.Index | np.ndarray) -> np.ndarray:
    """``index.get_indexer(values)`` (``index`` unique), by pyarrow's hash lookup when both hold
    strings: about twice as fast on a long run's hundred thousand task ids."""
    if pa is None or index.dtype != "str" or getattr(values, "dtype", None) != "str" or not index.is_unique:
        return index.get_indexer(values)
    return pc.index_in(pa.array(values), value_set=pa.array(index)).fill_null(-1).to_numpy().astype(np.intp)
