"""Writing a calibration as a timing file and its raw samples, never over a foreign file.

``docker-calibrate --out timing.yaml`` writes ``timing.yaml`` (comment lines giving every
figure, then a ``timing:`` section scenarios accept) and ``timing.samples.csv`` beside it.
Each is written to a temporary name and renamed into place; an existing file is replaced
only with ``force``, and only if ecssim's calibration wrote it (its first line).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .calibrate import CSV_COLUMNS, EARLIER_CSV_COLUMNS, MARKER, Calibration, CalibrationFileError


def samples_path(path: str | Path) -> Path:
    """The sidecar CSV of a timing file: ``timing.yaml`` -> ``timing.samples.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.samples.csv")


def _first_line(path: Path) -> str:
    with open(path, encoding="utf-8", errors="replace") as handle:
        return handle.readline().rstrip("\n")


def check_target(path: str | Path, force: bool) -> None:
    """Refuse to write the timing file at ``path`` if that would replace a file: without
    ``force`` any existing file; with it, any file ecssim's calibration did not write.

    Raises:
        CalibrationFileError: with the reason.
    """
    path = Path(path)
    ours = {path: lambda p: _first_line(p).startswith(MARKER),
            samples_path(path): lambda p: _first_line(p) in {",".join(CSV_COLUMNS), ",".join(EARLIER_CSV_COLUMNS)}}
    for target, is_ours in ours.items():
        if target.is_dir():
            raise CalibrationFileError(f"{target} is a folder; give a file name such as timing.yaml")
        if not target.exists():
            continue
        if not force:
            raise CalibrationFileError(f"{target} exists; use --force to replace it")
        if not is_ours(target):
            raise CalibrationFileError(f"{target} was not written by ecssim docker-calibrate; "
                                       "refusing to replace it, even with --force")


def _write_atomic(path: Path, text: str) -> Path:
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path


def write_calibration(calibration: Calibration, path: str | Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write the timing file at ``path`` and its raw samples beside it (each file written to
    a temporary name, then renamed); returns both paths.

    Raises:
        CalibrationFileError: a file is in the way (see :func:`check_target`).
    """
    path = Path(path)
    check_target(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_path = _write_atomic(samples_path(path), calibration.samples_csv())
    return _write_atomic(path, calibration.to_yaml(csv_path.name)), csv_path
