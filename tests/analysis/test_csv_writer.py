"""The fast CSV writer writes exactly the bytes ``DataFrame.to_csv`` writes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecssim.analysis import csv_writer
from ecssim.analysis.csv_writer import write_csv

EDGE_FLOATS = [
    0.1, 1e-05, 1e-4, 0.0001234, 9.99e-5, 1e16, 9999999999999998.0, 1e15, 999999999999999.9, 123456789012345678.0,
    -0.0, 0.0, math.inf, -math.inf, math.nan, 1.5e300, 5e-324, 3.0, -7.0, 2.5, 1e17, 0.30000000000000004, 100.0,
    12345.678, -2.5e-07, 1e21, 2.0**53, 604800.0, 259200.123456789, 9999999999.5, 37917696300.91649, 9.999999999999999e-05,
]


def _pandas_bytes(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


def _written(df: pd.DataFrame, tmp_path) -> bytes:  # noqa: ANN001
    path = tmp_path / "table.csv"
    write_csv(df, path)
    return path.read_bytes()


def _edge_frame() -> pd.DataFrame:
    n = len(EDGE_FLOATS)
    texts = ["plain", 'a "quoted" word', "a, b", "two\nlines", "carriage\rreturn", "", "ünïcödé", " spaced ",
             "semi;colon", "'", '"', ","]
    return pd.DataFrame({
        "time_s": np.array(EDGE_FLOATS),
        "count": (np.arange(n, dtype=np.int64) - n // 2) * 1_000_000_007,
        "text": pd.array([texts[k % len(texts)] for k in range(n)], dtype="str"),
        "missing": pd.array([None if k % 3 == 0 else "x" for k in range(n)], dtype="str"),
        "flag": np.array([k % 2 == 0 for k in range(n)]),
    })


def test_edge_values_are_written_as_pandas_writes_them(tmp_path) -> None:  # noqa: ANN001
    df = _edge_frame()
    assert _written(df, tmp_path) == _pandas_bytes(df)


def test_rows_written_block_by_block_are_the_same_file(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    monkeypatch.setattr(csv_writer, "BLOCK_ROWS", 4)
    df = _edge_frame()
    assert _written(df, tmp_path) == _pandas_bytes(df)
    assert _written(df.iloc[:0], tmp_path) == _pandas_bytes(df.iloc[:0])  # the header alone


@pytest.mark.parametrize("case", ["one column", "without pyarrow"])
def test_the_other_cases_are_left_to_pandas(case: str, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    df = _edge_frame()
    if case == "one column":  # csv quotes a lone empty field: pandas decides
        df = df[["text"]]
    else:
        monkeypatch.setattr(csv_writer, "pa", None)
    assert _written(df, tmp_path) == _pandas_bytes(df)


@pytest.mark.parametrize("block_rows", [10, 200_000])
def test_timestamps_keep_the_precision_pandas_gives_each_chunk(block_rows: int, tmp_path,  # noqa: ANN001
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(csv_writer, "BLOCK_ROWS", block_rows)
    chunk = csv_writer.PANDAS_CHUNK_CELLS // 3  # rows per chunk of to_csv for three columns
    seconds = np.arange(2 * chunk + 50, dtype=np.float64)
    seconds[chunk + 7] += 0.25  # the second chunk needs milliseconds, the others whole seconds
    seconds[2 * chunk + 3] += 1e-6  # the third, microseconds
    at = pd.Series(pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(seconds, unit="s"))
    at[5] = pd.NaT
    df = pd.DataFrame({"time_s": seconds, "time": at, "what": pd.array(["x"] * len(seconds), dtype="str")})
    written = _written(df, tmp_path)
    assert written == _pandas_bytes(df)
    assert b"00:00:01+00:00" in written and b".250+00:00" in written and b".000001+00:00" in written


@settings(max_examples=150, deadline=None)
@given(
    floats=st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=1, max_size=30),
    texts=st.lists(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8),
                   min_size=1, max_size=30),
)
def test_any_floats_and_strings_are_written_as_pandas_writes_them(floats: list[float], texts: list[str]) -> None:
    n = min(len(floats), len(texts))
    df = pd.DataFrame({"value": np.array(floats[:n], dtype=np.float64), "label": pd.array(texts[:n], dtype="str")})
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.csv"
        write_csv(df, path)
        assert path.read_bytes() == _pandas_bytes(df)
