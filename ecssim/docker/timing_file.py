"""Writing a calibration as a timing file and its raw samples, never over a foreign file.

``docker-calibrate --out timing.yaml`` writes ``timing.yaml`` (comment lines giving every
figure, then a ``timing:`` section scenarios accept) and ``timing.samples.csv`` beside it.
Each is written to a temporary name and renamed into place; an existing file is replaced
only with ``force``, and only if ecssim's calibration wrote it (its first line).
"""

from __future__ import annotations

from pathlib import Path

from ..own_files import check_replaceable, first_line, write_atomic
from .calibrate import CSV_COLUMNS, EARLIER_CSV_COLUMNS, MARKER, Calibration, CalibrationFileError


def samples_path(path: str | Path) -> Path:
    """The sidecar CSV of a timing file: ``timing.yaml`` -> ``timing.samples.csv``."""
    path = Path(path)
    return path.with_name(f"{path.stem}.samples.csv")


def check_target(path: str | Path, force: bool) -> None:
    """Refuse to write the timing file at ``path`` if that would replace a file: without
    ``force`` any existing file; with it, any file ecssim's calibration did not write.

    Raises:
        CalibrationFileError: with the reason.
    """
    path = Path(path)
    ours = {path: lambda p: first_line(p).startswith(MARKER),
            samples_path(path): lambda p: first_line(p) in {",".join(CSV_COLUMNS), ",".join(EARLIER_CSV_COLUMNS)}}
    for target, is_ours in ours.items():
        check_replaceable(target, force, is_ours, tool="ecssim docker-calibrate", example="timing.yaml",
                          error=CalibrationFileError)


def write_calibration(calibration: Calibration, path: str | Path, *, force: bool = False) -> tuple[Path, Path]:
    """Write the timing file at ``path`` and its raw samples beside it (each file written to
    a temporary name, then renamed); returns both paths.

    Raises:
        CalibrationFileError: a file is in the way (see :func:`check_target`).
    """
    path = Path(path)
    check_target(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_path = write_atomic(samples_path(path), calibration.samples_csv())
    return write_atomic(path, calibration.to_yaml(csv_path.name)), csv_path
