"""A run's shareable HTML report: one self-contained ``report.html`` in its result folder.

``write_report(result, folder)`` renders the scenario's name and description, what produced
the run (seed, replication, window, start time, library versions), every summary metric, the
standard figures (:func:`ecssim.analysis.plots.standard_figures`, embedded as PNG; ``scaling``
and ``demand`` only when the run has capacity providers or demand curves), and the
first rows of each table with a relative link to its file beside the report. The page
needs no network and no script, so it can be mailed or attached to a ticket as it is.

Like the folder itself (:mod:`ecssim.analysis.output`), the file is written atomically and
never replaces something ecssim did not write: an existing ``report.html`` is replaced only
with ``force`` and only if it carries ecssim's ``<meta name="generator">`` marker.
"""

from __future__ import annotations

import csv
import io
import json
import os
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from ecssim.analysis import output
from ecssim.analysis.report_html import GENERATOR, Plot, TableHead, render_page
from ecssim.analysis.result import SCENARIO_FILE, library_versions
from ecssim.analysis.schema import TABLE_NAMES
from ecssim.units import format_duration

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ecssim.analysis.result import Result

REPORT_FILE = "report.html"
#: Tables in the order the report shows them (the ones a reader opens first come first).
TABLE_ORDER = ("tasks", "instances", "services", "recovery", "availability", "deployments",
               "placement_failures", "service_events", "capacity", "events")
#: What each standard figure shows, for its caption (a figure not listed keeps its title only).
CAPTIONS = {
    "capacity": "CPU and memory registered (dashed) and reserved by tasks over time, per AZ; "
                "vertical marks are faults and actions.",
    "tasks": "Each service's desired count and its running, pending and provisioning tasks "
             "over time; vertical marks are faults and actions.",
    "gantt": "Which task ran on which container instance, and when: one bar per task, from "
             "placement until its resources were freed.",
    "heatmap": "Share of each instance's registered CPU reserved by tasks over time; grey where "
               "the instance was not registered.",
    "fragmentation": "Free CPU and memory of each instance at one moment: capacity in the shaded "
                     "bands is stranded, too small to place the smallest task.",
    "recovery": "How long incidents took until each affected service was back at its desired "
                "count, by fault kind.",
    "availability": "Share of the measurement window each service had at least its desired count "
                    "(and at least its minimum healthy count) of healthy tasks. The headline "
                    "service availability counts RUNNING tasks, so it can be higher.",
    "scaling": "Per capacity provider: DesiredCapacity (grey band, ▲ scale-out, ▼ scale-in), instances "
               "in service (N), registered and needed (M), and its tasks waiting in PROVISIONING and running.",
    "demand": "Per service: the demand curve against what its RUNNING tasks reserve, the unserved part "
              "shaded red, and its running tasks below.",
}
_MARKER_PREFIX = f'<meta name="generator" content="{GENERATOR}'
DPI = 110  # as ecssim.analysis.plots.SAVE_DPI: an embedded image equals its --plots file


def is_ecssim_report(path: str | Path) -> bool:
    """True if ``path`` is a report ecssim wrote (it carries the generator marker)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return _MARKER_PREFIX in handle.read(4096)
    except OSError:
        return False


def check_report_target(path: Path, force: bool) -> None:
    """Raise ``OutputFolderError`` if ``path`` may not be (re)written: foreign, or ours without force."""
    if path.is_symlink() or (path.exists() and not path.is_file()):
        raise output.OutputFolderError(f"{path} exists and is not a file; refusing to replace it")
    if not path.exists():
        return
    if not is_ecssim_report(path):
        raise output.OutputFolderError(
            f"{path} exists and was not written by ecssim (no ecssim generator marker); "
            "refusing to replace it, even with force: move it away first"
        )
    if not force:
        raise output.OutputFolderError(f"{path} already exists; use force=True (--force) to replace it")


def write_report(result: Result, folder: str | Path, *, table_rows: int = 10, force: bool = False,
                 figures: Mapping[str, Figure] | None = None, save_figures: bool = False) -> Path:
    """Write ``report.html`` into ``folder`` (a result folder) and return its path.

    Args:
        result: the run to report on; its tables' files are expected in ``folder`` (the
            rows shown are read from them when they are CSV, so they match byte for byte).
        table_rows: rows shown per table (the link gives the whole table).
        force: replace a ``report.html`` that ecssim wrote before (never a foreign one).
        figures: the figures to embed (default :func:`~ecssim.analysis.plots.standard_figures`);
            they are closed once rendered.
        save_figures: also write each embedded figure as ``<name>.png`` beside the report
            (the same PNG bytes: ``run --plots --report`` draws every figure once).

    Raises:
        OutputFolderError: ``report.html`` exists and ecssim did not write it, or exists
            without ``force``; or ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise output.OutputFolderError(f"{folder} is not a folder")
    target = folder / REPORT_FILE
    check_report_target(target, force)
    if figures is None:
        figures = _standard_figures(result)
    plots = [render_plot(name, fig) for name, fig in figures.items()]
    if save_figures:
        for plot in plots:
            (folder / figure_file(plot.name)).write_bytes(plot.png)
    page = render_page(
        title=str(result.scenario.get("name") or "unnamed scenario"),
        description=str(result.scenario.get("description") or ""),
        version=_version(result),
        provenance=provenance_items(result),
        summary=result.summary(),
        plots=plots,
        tables=[table_head(result, folder, name, table_rows) for name in _table_names()],
        scenario_json=json.dumps(output.to_jsonable(result.scenario), indent=2, ensure_ascii=False),
        scenario_href=SCENARIO_FILE if (folder / SCENARIO_FILE).exists() else None,
    )
    _atomic_write(target, page, check=lambda: check_report_target(target, force))
    register_files(folder, [REPORT_FILE, *(figure_file(p.name) for p in plots if save_figures)])
    return target


def figure_file(name: str) -> str:
    """File name of a figure saved beside the report (as :func:`~ecssim.analysis.plots.save_plots` names it)."""
    return f"{name}.png"


def _standard_figures(result: Result) -> Mapping[str, Figure]:
    from ecssim.analysis.plots import standard_figures

    return standard_figures(result)


def _table_names() -> list[str]:
    return [n for n in TABLE_ORDER if n in TABLE_NAMES] + [n for n in TABLE_NAMES if n not in TABLE_ORDER]


def _version(result: Result) -> str:
    return str(result.provenance.get("ecssim_version") or library_versions()["ecssim_version"])


def provenance_items(result: Result) -> list[tuple[str, str]]:
    """What produced the run, as (label, text) pairs for the report's header."""
    prov = result.provenance
    items = [
        ("seed", str(result.seed)),
        ("replication", str(result.replication)),
        ("simulated", f"{format_duration(result.duration_s)} ({result.duration_s:g} s)"),
        ("measured from", f"{format_duration(result.measure_from_s)} ({result.measure_from_s:g} s)"),
        ("start time", result.start_time or "none (times are seconds from 0)"),
    ]
    versions = [(key.removesuffix("_version"), prov.get(key) or "") for key in (
        "ecssim_version", "python_version", "numpy_version", "pandas_version", "simpy_version")]
    items += [(name, str(value)) for name, value in versions if value]
    return items


def render_plot(name: str, fig: Figure) -> Plot:
    """A figure as PNG bytes with its title and caption; the figure is closed afterwards."""
    import matplotlib.pyplot as plt
    from PIL import Image

    title = _figure_title(fig) or name
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight", facecolor="white")
    finally:
        plt.close(fig)
    png = buffer.getvalue()
    with Image.open(io.BytesIO(png)) as image:
        width, height = image.size
    return Plot(name=name, title=title, caption=CAPTIONS.get(name, ""), png=png, width=width, height=height)


def _figure_title(fig: Figure) -> str:
    suptitle = getattr(fig, "_suptitle", None)
    text = suptitle.get_text() if suptitle is not None else ""
    text = text or next((ax.get_title() for ax in fig.axes if ax.get_title()), "")
    return " — ".join(line.strip() for line in text.splitlines() if line.strip())


def table_head(result: Result, folder: Path, name: str, rows: int) -> TableHead:
    """The first ``rows`` rows of table ``name`` as its CSV file holds them (read from the file
    when it is there, so dates and floats print exactly as written; else formatted the same way)."""
    frame = getattr(result, name)
    fmt = result.provenance.get("format", "csv")
    path = folder / f"{name}.csv"
    if path.is_file():
        with path.open(encoding="utf-8", newline="") as handle:
            lines = _first_rows(csv.reader(handle), rows + 1)
    else:
        text = frame.head(rows).to_csv(index=False, lineterminator="\n")
        lines = _first_rows(csv.reader(io.StringIO(text)), rows + 1)
    columns, body = (lines[0], lines[1:]) if lines else (list(frame.columns), [])
    written = [f"{name}.{ext}" for ext in output.FORMATS if (folder / f"{name}.{ext}").is_file()]
    href = written[0] if written else f"{name}.{fmt}"
    numeric = frozenset(c for c in frame.columns
                        if pd.api.types.is_numeric_dtype(frame[c]) and not pd.api.types.is_bool_dtype(frame[c]))
    return TableHead(name=name, columns=columns, rows=body, total_rows=len(frame), href=href, numeric=numeric)


def _first_rows(reader: Any, count: int) -> list[list[str]]:
    lines = []
    for row in reader:
        lines.append(row)
        if len(lines) == count:
            break
    return lines


def _atomic_write(path: Path, text: str, check: Any = None) -> None:
    """Write ``text`` to a hidden sibling, then move it over ``path`` (never half a file)."""
    tmp = path.with_name(f".{path.name}.tmp-{secrets.token_hex(4)}")
    try:
        tmp.write_text(text, encoding="utf-8")
        if check is not None:
            check()  # the target may have appeared while we rendered
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def register_files(folder: str | Path, names: list[str]) -> None:
    """List ``names`` in the folder's ``provenance.json`` (if it has one), so that a later
    ``--force`` knows ecssim wrote them. Written atomically; a folder without provenance (a
    result being saved) is left alone: its ``save`` lists the files itself."""
    folder = Path(folder)
    data = output.read_provenance(folder)
    if data is None or "files" not in data:
        return
    files = list(data["files"])
    missing = [n for n in names if n not in files]
    if not missing:
        return
    data["files"] = files + missing
    text = json.dumps(output.to_jsonable(data), indent=2, ensure_ascii=False, allow_nan=False) + "\n"
    _atomic_write(folder / output.PROVENANCE_FILE, text)
