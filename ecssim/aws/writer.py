"""Write an imported scenario file, never over a file the user wrote.

A file is replaced only with ``force`` and only if its first line is import-cluster's header
(decisions.md "Output folders": nothing the user wrote is ever overwritten).
"""

from __future__ import annotations

from pathlib import Path

from ..own_files import check_replaceable, first_line, write_atomic
from .snapshot import SnapshotError
from .to_scenario import ImportedCluster

#: The first line of every file import-cluster writes starts with this (``--force`` checks it).
MARKER = "# ecssim import-cluster:"


def check_target(path: str | Path, force: bool) -> None:
    """Refuse ``path`` if a file is there, unless ``force`` and import-cluster wrote it.

    Raises:
        SnapshotError: with the reason.
    """
    check_replaceable(path, force, lambda p: first_line(p).startswith(MARKER), tool="ecssim import-cluster",
                      example="scenario.yaml", error=SnapshotError)


def write_snapshot(imported: ImportedCluster, path: str | Path, *, force: bool = False) -> Path:
    """Write ``imported`` as a YAML scenario at ``path`` (a temporary name, then renamed)."""
    check_target(path, force)
    return write_atomic(path, imported.to_yaml())
