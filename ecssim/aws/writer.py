"""Write an imported scenario file, never over a file the user wrote.

A file is replaced only with ``force`` and only if its first line is import-cluster's header
(decisions.md "Output folders": nothing the user wrote is ever overwritten).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .snapshot import SnapshotError
from .to_scenario import ImportedCluster

#: The first line of every file import-cluster writes starts with this (``--force`` checks it).
MARKER = "# ecssim import-cluster:"


def check_target(path: str | Path, force: bool) -> None:
    """Refuse ``path`` if a file is there, unless ``force`` and import-cluster wrote it.

    Raises:
        SnapshotError: with the reason.
    """
    path = Path(path)
    if path.is_dir():
        raise SnapshotError(f"{path} is a folder; give a file name such as scenario.yaml")
    if not path.exists():
        return
    if not force:
        raise SnapshotError(f"{path} exists; use --force to replace it")
    with open(path, encoding="utf-8", errors="replace") as handle:
        if not handle.readline().startswith(MARKER):
            raise SnapshotError(f"{path} was not written by ecssim import-cluster; refusing to replace it, "
                                "even with --force")


def write_snapshot(imported: ImportedCluster, path: str | Path, *, force: bool = False) -> Path:
    """Write ``imported`` as a YAML scenario at ``path`` (a temporary name, then renamed)."""
    path = Path(path)
    check_target(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        temporary.write_text(imported.to_yaml(), encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
