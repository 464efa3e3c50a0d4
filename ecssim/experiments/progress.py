"""Progress bars for runs (done, rate, ETA) that suit a terminal and a notebook alike.

``tqdm.auto`` draws a widget in Jupyter and a text bar in a terminal. By default the bar
shows only where someone watches: stderr is a terminal, or the code runs in a Jupyter
kernel; pipes, CI logs and ``--quiet`` stay clean. In a kernel without ipywidgets the text
bar is used (``tqdm.auto`` would warn "IProgress not found" there).
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any


def interactive() -> bool:
    """True in a terminal (stderr is a TTY) or in a Jupyter kernel."""
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


def progress_bar(total: int, description: str, show: bool | None = None) -> Any:
    """A tqdm bar counting runs; disabled unless ``show`` (None: :func:`interactive`)."""
    enabled = interactive() if show is None else bool(show)
    if enabled and "ipykernel" in sys.modules and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.auto import tqdm
    else:
        from tqdm import tqdm
    return tqdm(total=total, desc=description, unit="run", disable=not enabled, dynamic_ncols=True,
                smoothing=0.1)
