"""Single files ecssim writes (timing files, scenarios, traces): never replace a user's file.

The rule for every such ``--out FILE``: an existing file is refused without ``--force``; with
it, only a file ecssim's same tool wrote (its first line says so) is replaced; a folder is
refused. Files are written under a temporary name and renamed, so a reader never sees half a
file. Result folders follow the same rule in :mod:`ecssim.analysis.output`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def first_line(path: Path) -> str:
    """The first line of a text file, without its newline ("" if it is empty or unreadable)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.readline().rstrip("\n")
    except OSError:
        return ""


def check_replaceable(path: str | Path, force: bool, is_ours: Callable[[Path], bool], *, tool: str,
                      example: str, error: type[Exception]) -> None:
    """Raise ``error`` if writing ``path`` would replace a file it must not (module docstring).

    ``tool`` names the writer in the message (``ecssim fit-timing``), ``example`` a file name to
    suggest when ``path`` is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise error(f"{path} is a folder; give a file name such as {example}")
    if not path.exists():
        return
    if not force:
        raise error(f"{path} exists; use --force to replace it")
    if not is_ours(path):
        raise error(f"{path} was not written by {tool}; refusing to replace it, even with --force")


def write_atomic(path: str | Path, text: str) -> Path:
    """Write ``text`` at ``path`` through a temporary file in the same folder, then rename it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        temporary.write_text(text, encoding="utf-8")
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
