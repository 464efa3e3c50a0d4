"""Writing a result folder safely, and reading its tables back with their exact dtypes.

Rules (``decisions.md``, "Output folders"):

- a folder is written into a temporary sibling (``.<name>.tmp-<hex>``) and moved into place
  only when complete, so an interrupted save leaves nothing half-written at the target;
- the target must be absent or empty; ``force=True`` replaces a folder only if ecssim wrote
  it: it holds ``provenance.json`` with the marker field :data:`MARKER` *and* nothing
  besides the files that provenance lists. Any other non-empty folder is refused, even with
  ``force``; ecssim never deletes a file it did not write.

CSV files are UTF-8 with ``\\n`` line ends, no index, floats in Python's shortest
round-trip form (``repr``), missing numbers and missing strings as empty fields, booleans as
``True``/``False`` and timestamps as ``2024-05-01 09:00:00.5+00:00``. Identical tables give
byte-identical files.
"""

from __future__ import annotations

import csv
import importlib.util
import json
import math
import os
import secrets
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from ecssim.analysis.csv_writer import write_csv
from ecssim.analysis.schema import SCHEMAS, timestamp_name

PROVENANCE_FILE = "provenance.json"
#: Field of ``provenance.json`` that marks a folder as written by ecssim (value: layout version).
MARKER = "ecssim_result"
LAYOUT_VERSION = 1
FORMATS = ("csv", "parquet")
PARQUET_HINT = "Parquet output needs the optional extra: pip install 'ecssim[parquet]'"


class OutputFolderError(ValueError):
    """The output folder cannot be written (it holds something ecssim must not replace)."""


class MissingExtraError(ImportError):
    """An optional dependency needed for the requested operation is not installed."""


def require_format(fmt: str) -> None:
    """Check that ``fmt`` is known and its dependencies are installed."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown table format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise MissingExtraError(PARQUET_HINT)


def to_jsonable(value: Any) -> Any:
    """Plain JSON values: NaN/inf floats become None, numpy scalars become Python ones."""
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as indented JSON (key order as given, NaN as null), ending with a newline."""
    text = json.dumps(to_jsonable(data), indent=2, ensure_ascii=False, allow_nan=False)
    path.write_text(text + "\n", encoding="utf-8")


def read_provenance(folder: Path, marker: str = MARKER) -> dict | None:
    """The folder's provenance if ecssim wrote it (``marker`` present: a run's result by
    default, ``ecssim_sweep`` for a sweep), else None."""
    try:
        data = json.loads((folder / PROVENANCE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and marker in data else None


def check_target(path: str | Path, force: bool) -> dict | None:
    """Raise ``OutputFolderError`` if ``path`` may not be written (rules in the module doc).

    Returns the provenance of the ecssim folder that will be replaced, else None. Callers
    may run it before a long simulation to fail early; saving checks again.
    """
    path = Path(path)
    if path.is_symlink() or (path.exists() and not path.is_dir()):
        raise OutputFolderError(f"{path} exists and is not a folder; choose another output path")
    if not path.exists() or not any(path.iterdir()):
        return None
    provenance = read_provenance(path)
    if provenance is None:
        raise OutputFolderError(
            f"{path} is not empty and was not written by ecssim (no ecssim {PROVENANCE_FILE}); "
            "refusing to write there, even with force: choose an empty or new folder"
        )
    if not force:
        raise OutputFolderError(
            f"{path} already holds an ecssim result; use force=True (--force) to replace it"
        )
    known = {PROVENANCE_FILE, *provenance.get("files", [])}
    foreign = sorted(p.name for p in path.iterdir() if p.name not in known or not p.is_file())
    if foreign:
        raise OutputFolderError(
            f"{path} holds an ecssim result plus files ecssim did not write "
            f"({', '.join(foreign)}); refusing to replace it, even with force"
        )
    return provenance


_check_target = check_target  # the name ecssim.cli imports


def _remove_own_files(folder: Path, provenance: dict) -> None:
    """Delete only the files ecssim listed, then the folder if nothing else is left."""
    for name in [*provenance.get("files", []), PROVENANCE_FILE]:
        (folder / name).unlink(missing_ok=True)
    try:
        folder.rmdir()
    except OSError:
        pass  # something appeared meanwhile: leave it rather than delete it


def write_folder(path: str | Path, write: Callable[[Path], None], *, force: bool = False) -> Path:
    """Run ``write(tmp)`` into a fresh sibling folder, then move it to ``path`` (module doc)."""
    path = Path(path)
    replaced = check_target(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.tmp-{secrets.token_hex(4)}"
    os.mkdir(tmp)
    try:
        write(tmp)
        if replaced is None:
            if path.exists():
                path.rmdir()  # empty, checked above
            os.rename(tmp, path)
            return path
        old = path.parent / f".{path.name}.old-{secrets.token_hex(4)}"
        os.rename(path, old)
        try:
            os.rename(tmp, path)
        except BaseException:
            os.rename(old, path)
            raise
        _remove_own_files(old, replaced)
        return path
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_table(df: pd.DataFrame, folder: Path, name: str, fmt: str) -> str:
    """Write one table as ``<name>.<fmt>`` into ``folder``; return the file name."""
    file_name = f"{name}.{fmt}"
    if fmt == "csv":
        write_csv(df, folder / file_name)
    else:
        df.to_parquet(folder / file_name, index=False, engine="pyarrow")
    return file_name


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle), [])


def read_table(folder: Path, name: str, fmt: str, start_time: str | None) -> pd.DataFrame:
    """Read a table written by :func:`write_table`, restoring the schema's dtypes exactly."""
    path = folder / f"{name}.{fmt}"
    schema = SCHEMAS[name]
    if fmt == "parquet":
        require_format(fmt)
        return pd.read_parquet(path, engine="pyarrow")
    columns = _header(path)
    dtypes = {c: schema.get(c, "str") for c in columns}
    floats = [c for c, t in dtypes.items() if t == "float64"]
    df = pd.read_csv(
        path,
        dtype={c: ("str" if t == "bool" else t) for c, t in dtypes.items()},
        keep_default_na=False,
        na_values=dict.fromkeys(floats, [""]),
        encoding="utf-8",
    )
    for column in columns:
        if dtypes[column] == "bool":
            df[column] = df[column].map({"True": True, "False": False}).astype("bool")
        elif column not in schema and _is_timestamp(column, schema):
            df[column] = _parse_timestamps(df[column], start_time)
    return df


def _is_timestamp(column: str, schema: dict[str, str]) -> bool:
    return any(timestamp_name(c) == column for c in schema)


def _parse_timestamps(values: pd.Series, start_time: str | None) -> pd.Series:
    parsed = pd.to_datetime(values.replace("", None), format="ISO8601", utc=True)
    tz = pd.Timestamp(start_time).tz if start_time else "UTC"
    return parsed.dt.tz_convert(tz).dt.as_unit("ns")
