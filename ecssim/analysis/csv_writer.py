"""Write a table as CSV, byte for byte as ``DataFrame.to_csv`` writes it, through pyarrow.

pandas formats and quotes a CSV value by value in Python: a simulated week at 5,000 instances
took half a minute to save, most of it the ``events`` table's three million rows. Here each
column becomes one array of finished CSV fields by pyarrow's compute kernels, the columns are
joined row by row with commas and newlines, and the rows are written a block at a time (so
that saving holds one block of text, not the whole file). The fields are exactly pandas':

- strings as they are, or in double quotes with inner quotes doubled when they hold a comma,
  a quote or a newline (``csv.QUOTE_MINIMAL``: which of ``\\n`` and ``\\r`` count is asked
  of the ``csv`` module, as it changed between Python versions); a missing value is empty;
- integers in decimal; booleans ``True`` / ``False``;
- floats as Python's ``repr`` (which pandas uses): pyarrow's shortest form is the same for
  non-integral values from 1e-4 to 1e10 (both write the shortest digits in fixed notation
  there; outside it pyarrow turns to exponents at other points), integral values are the
  integer with ``.0``, and the rest (tiny, huge, -0.0) are formatted by ``repr`` itself; NaN
  is empty.

- timestamps (the wall-clock twins of the time columns) by pandas itself, one column at a
  time: pandas picks a timestamp column's precision (seconds, milli-, micro-, nanoseconds)
  per chunk of rows it writes, so they are formatted in the same chunks.

Without pyarrow, for a single-column table (where ``csv`` quotes an empty field) or with a
column of another kind, the table is written by ``to_csv``.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

try:  # optional (the ``parquet`` extra)
    import pyarrow as pa
    import pyarrow.compute as pc
except ImportError:  # pragma: no cover - exercised only without the extra
    pa = None
try:  # the cells per chunk of ``to_csv``, which decides how timestamps are formatted
    from pandas.io.formats.csvs import _DEFAULT_CHUNKSIZE_CELLS as PANDAS_CHUNK_CELLS
except ImportError:  # pragma: no cover - another pandas: its own to_csv writes timestamp tables
    PANDAS_CHUNK_CELLS = None

#: Rows formatted and written at a time (bounds the text held in memory while saving).
BLOCK_ROWS = 200_000


def _quoted_characters() -> str:
    """The characters among ``,``, ``"``, ``\\n`` and ``\\r`` that make ``csv`` (which pandas
    writes through, quoting minimally, lines ended by ``\\n``) quote a field."""
    quoted = ""
    for character in ',"\n\r':
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow([f"a{character}b", "c"])
        if out.getvalue().startswith('"'):
            quoted += character
    return quoted


_QUOTED = _quoted_characters()
#: A string field is quoted when it holds one of :data:`_QUOTED` (a regular expression).
_NEEDS_QUOTES = "[" + "".join({"\n": "\\n", "\r": "\\r"}.get(c, c) for c in _QUOTED) + "]"
#: The bytes of :data:`_QUOTED` (UTF-8 never uses them inside another character).
_SPECIAL_BYTES = np.frombuffer(_QUOTED.encode("ascii"), dtype=np.uint8)


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """Write ``df`` to ``path`` as ``df.to_csv(path, index=False, lineterminator="\\n")`` would (UTF-8)."""
    dtypes = [df[name].dtype for name in df.columns]
    timestamps = any(_is_timestamp(dtype) for dtype in dtypes)
    if (pa is None or df.shape[1] < 2 or not all(_is_timestamp(d) or str(d) in _PLAIN for d in dtypes)
            or (timestamps and PANDAS_CHUNK_CELLS is None)):
        df.to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
        return
    # with timestamps, blocks are whole chunks of to_csv's (each chunk's precision is its own)
    chunk = max(PANDAS_CHUNK_CELLS // df.shape[1], 1) if timestamps else None
    block_rows = chunk * max(BLOCK_ROWS // chunk, 1) if chunk else BLOCK_ROWS
    header = df.iloc[:0].to_csv(index=False, lineterminator="\n").encode("utf-8")
    with open(path, "wb") as handle:
        handle.write(header)
        for start in range(0, len(df), block_rows):
            _write_rows(df.iloc[start:start + block_rows], handle, chunk)


#: The dtypes whose fields pyarrow formats (the timestamps are pandas').
_PLAIN = ("str", "float64", "int64", "bool")


def _is_timestamp(dtype) -> bool:  # noqa: ANN001
    return pd.api.types.is_datetime64_any_dtype(dtype)


def _write_rows(block: pd.DataFrame, handle, chunk: int | None) -> None:  # noqa: ANN001
    """Format ``block``'s rows as CSV lines and write them (one buffer, no Python string per value);
    ``chunk``: the rows per chunk of ``to_csv`` of the whole table (the block starts a chunk)."""
    fields = [_timestamp_fields(block[name], chunk) if _is_timestamp(block[name].dtype) else _fields(block[name])
              for name in block.columns]
    comma, empty, newline = (pa.scalar(text, pa.large_string()) for text in (",", "", "\n"))
    lines = pc.binary_join_element_wise(pc.binary_join_element_wise(*fields, comma), empty, newline)
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset:lines.offset + len(lines) + 1]
    handle.write(memoryview(lines.buffers()[2])[offsets[0]:offsets[-1]])


def _fields(column: pd.Series):  # noqa: ANN202 - a pyarrow large_string array
    """The CSV field of every value of ``column``, as pandas writes it (module doc)."""
    dtype = str(column.dtype)
    if dtype == "str":
        return _string_fields(column)
    values = column.to_numpy()
    if dtype == "float64":
        return _float_fields(values)
    if dtype == "int64":
        return pc.cast(pa.array(values), pa.large_string())
    return pa.array(np.where(values, "True", "False"), type=pa.large_string())  # bool


def _timestamp_fields(column: pd.Series, chunk: int):  # noqa: ANN202
    """pandas' own text of a timestamp column, chunk by chunk as ``to_csv`` of the table formats it."""
    text = column.to_frame().to_csv(index=False, header=False, lineterminator="\n", chunksize=chunk)
    # a one-column CSV quotes an empty field (a missing time): in a wider row it is empty
    return pa.array(["" if line == '""' else line for line in text.split("\n")[:-1]], type=pa.large_string())


def _string_fields(column: pd.Series):  # noqa: ANN202
    strings = pa.array(column.array, type=pa.large_string(), from_pandas=True)
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    strings = strings.fill_null("")
    if not _any_special_byte(strings):
        return strings  # the usual case: nothing to quote, and no value looked at one by one
    special = pc.match_substring_regex(strings, _NEEDS_QUOTES)
    if pc.any(special).as_py():
        quote = pa.scalar('"', pa.large_string())
        quoted = pc.binary_join_element_wise(quote, pc.replace_substring(strings, '"', '""'), quote,
                                             pa.scalar("", pa.large_string()))
        strings = pc.if_else(special, quoted, strings)
    return strings


def _any_special_byte(strings) -> bool:  # noqa: ANN001 - a pyarrow large_string array
    """Whether any value holds a byte that needs quotes, read off the array's bytes at once."""
    offsets = np.frombuffer(strings.buffers()[1], dtype=np.int64)[strings.offset:strings.offset + len(strings) + 1]
    data = strings.buffers()[2]
    if data is None or not len(offsets) or offsets[-1] == offsets[0]:
        return False
    raw = np.frombuffer(data, dtype=np.uint8)[offsets[0]:offsets[-1]]
    return bool(np.isin(raw, _SPECIAL_BYTES).any())



def _float_fields(values: np.ndarray):  # noqa: ANN202
    """``repr`` of each float ("" for NaN), where pyarrow's shortest form is not already it."""
    fields = pc.cast(pa.array(values, from_pandas=False), pa.large_string())
    size = np.abs(values)
    with np.errstate(invalid="ignore"):
        integral = np.isfinite(values) & (values == np.trunc(values)) & (size < 1e15)
        integral &= ~((values == 0) & np.signbit(values))  # -0.0: repr's own path
        plain = np.isfinite(values) & ~integral & (size >= 1e-4) & (size < 1e10)
    missing = np.isnan(values)
    odd = ~(integral | plain | missing) & np.isfinite(values)
    if integral.any():
        whole = pc.cast(pa.array(values[integral].astype(np.int64)), pa.large_string())
        whole = pc.binary_join_element_wise(whole, pa.scalar(".0", pa.large_string()), pa.scalar("", pa.large_string()))
        fields = pc.replace_with_mask(fields, pa.array(integral), whole)
    if odd.any():
        fields = pc.replace_with_mask(fields, pa.array(odd), pa.array([repr(x) for x in values[odd].tolist()],
                                                                      type=pa.large_string()))
    if missing.any():
        fields = pc.replace_with_mask(fields, pa.array(missing), pa.array([""] * int(missing.sum()),
                                                                          type=pa.large_string()))
    return fields
