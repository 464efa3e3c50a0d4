"""The HTML report: every metric with its exact value, the tables' first rows as their CSV files
hold them, valid embedded PNGs, no external resource, escaping, and never replacing a file
ecssim did not write."""

from __future__ import annotations

import base64
import csv
import io
import json
import math
import shutil
from html.parser import HTMLParser
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from PIL import Image

from ecssim.analysis import TABLE_NAMES, OutputFolderError, load_result
from ecssim.analysis.plots import figure_names
from ecssim.analysis.report import REPORT_FILE, is_ecssim_report, write_report
from ecssim.analysis.report_html import format_metric
from ecssim.scenario import load_scenario
from ecssim.simulation import simulate

ROOT = Path(__file__).resolve().parents[2]


class Page(HTMLParser):
    """The parts of a report the tests look at: metric elements, tables, images, links, text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.metrics: dict[str, dict] = {}  # name -> {"value": data-value, "text": visible text}
        self.tables: dict[str, dict] = {}  # name -> {"columns": [...], "rows": [[...]]}
        self.images: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.tags: set[str] = set()
        self.title = ""
        self.captions: list[str] = []
        self._stack: list[tuple[str, str | None]] = []  # (tag, what it collects)
        self._table: str | None = None
        self._row: list[str] | None = None
        self._cell: list[str] | None = None
        self._text: list[str] = []
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        self.tags.add(tag)
        self.urls += [a[k] for k in ("src", "href") if k in a]
        if tag == "img":
            self.images.append(a)
            return
        if "data-metric" in a:
            self.metrics[a["data-metric"]] = {"value": a["data-value"], "text": ""}
            self._stack.append((tag, "metric:" + a["data-metric"]))
            self._text = []
            return
        if tag == "table" and "data-table" in a:
            self._table = a["data-table"]
            self.tables[self._table] = {"columns": [], "rows": []}
        elif tag == "tr" and self._table:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag in ("title", "figcaption"):
            self._text = []
            self._stack.append((tag, tag))
            return
        self._stack.append((tag, None))

    def handle_endtag(self, tag: str) -> None:
        while self._stack:
            open_tag, what = self._stack.pop()
            if what and what.startswith("metric:"):
                self.metrics[what[7:]]["text"] = "".join(self._text)
            elif what == "title":
                self.title = "".join(self._text)
            elif what == "figcaption":
                self.captions.append("".join(self._text))
            if open_tag == tag:
                break
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None and self._table:
            table = self.tables[self._table]
            if not table["columns"]:
                table["columns"] = self._row
            elif self._row != ["No rows."]:
                table["rows"].append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)
        if self._cell is not None:
            self._cell.append(data)


def csv_head(path: Path, rows: int) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    return lines[0], lines[1:rows + 1]


@pytest.fixture(scope="session")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real run (the demo scenario) saved with its report written inside the atomic save."""
    result = simulate(load_scenario(ROOT / "scenarios" / "demo.yaml"), seed=3)
    folder = tmp_path_factory.mktemp("report") / "run"
    result.save(folder, extra=lambda tmp: [write_report(result, tmp).name])
    return folder


@pytest.fixture
def copy(run_folder: Path, tmp_path: Path) -> Path:
    """A private copy of the run folder, without its report."""
    folder = tmp_path / "run"
    shutil.copytree(run_folder, folder)
    (folder / REPORT_FILE).unlink()
    return folder


def page(folder: Path) -> Page:
    return Page((folder / REPORT_FILE).read_text(encoding="utf-8"))


def test_every_summary_metric_is_shown_with_its_exact_value(run_folder: Path) -> None:
    summary = json.loads((run_folder / "summary.json").read_text())
    shown = page(run_folder).metrics
    assert set(shown) == set(summary)
    for name, value in summary.items():
        assert json.loads(shown[name]["value"]) == value, name
        assert shown[name]["text"] == format_metric(name, value), name
    assert any(v is None for v in summary.values()), "the demo has undefined metrics (shown n/a)"


def test_format_metric_units() -> None:
    assert format_metric("peak_cpu_reserved_fraction", 0.7291) == "72.9%"
    assert format_metric("service_availability_mean", 0.98626) == "98.63%"
    assert format_metric("recovery_time_p95_s", 11.83) == "11.8s"
    assert format_metric("duration_s", 3600.0) == "1h"
    assert format_metric("tasks_created", 12345) == "12,345"
    assert format_metric("mean_tasks_running", 19.96) == "20.0"
    assert format_metric("recovery_time_mean_s", None) == "n/a"
    assert format_metric("recovery_time_mean_s", math.nan) == "n/a"


def test_every_table_shows_the_first_rows_of_its_csv(run_folder: Path) -> None:
    report = page(run_folder)
    assert set(report.tables) == set(TABLE_NAMES)
    for name in TABLE_NAMES:
        columns, rows = csv_head(run_folder / f"{name}.csv", 10)
        assert report.tables[name]["columns"] == columns, name
        assert report.tables[name]["rows"] == rows, name
        assert f"{name}.csv" in report.urls
    assert len(report.tables["events"]["rows"]) == 10  # longer tables are cut


def test_table_rows_option(copy: Path) -> None:
    write_report(load_result(copy), copy, table_rows=3, figures={})
    report = page(copy)
    for name in TABLE_NAMES:
        assert report.tables[name]["rows"] == csv_head(copy / f"{name}.csv", 3)[1], name


def test_images_are_valid_png_with_captions(run_folder: Path) -> None:
    report = page(run_folder)
    shown = figure_names(load_result(run_folder))  # the demo has no capacity provider or demand: 7 of 9
    assert len(report.images) == len(shown) == 7
    for image in report.images:
        prefix = "data:image/png;base64,"
        assert image["src"].startswith(prefix)
        data = base64.b64decode(image["src"][len(prefix):], validate=True)
        with Image.open(io.BytesIO(data)) as png:
            assert png.format == "PNG"
            png.verify()
        with Image.open(io.BytesIO(data)) as png:
            assert png.size == (int(image["width"]), int(image["height"]))
        assert image["alt"]
    assert len(report.captions) == len(shown)
    assert all(c.startswith(f"Figure {i}. ") for i, c in enumerate(report.captions, 1))


def test_self_contained_no_external_urls_no_script(run_folder: Path) -> None:
    report = page(run_folder)
    text = (run_folder / REPORT_FILE).read_text(encoding="utf-8")
    assert "script" not in report.tags and "link" not in report.tags and "iframe" not in report.tags
    for url in report.urls:
        assert url.startswith(("data:image/png;base64,", "#")) or (run_folder / url).is_file(), url
    assert "http://" not in text and "https://" not in text and "url(" not in text
    assert '<meta name="generator" content="ecssim ' in text and is_ecssim_report(run_folder / REPORT_FILE)
    assert report.title == "demo · ecssim report"


def test_the_report_is_listed_in_provenance(run_folder: Path, copy: Path) -> None:
    assert "report.html" in json.loads((run_folder / "provenance.json").read_text())["files"]
    before = json.loads((copy / "provenance.json").read_text())
    before["files"].remove("report.html")
    (copy / "provenance.json").write_text(json.dumps(before))
    write_report(load_result(copy), copy, figures={})  # a report added later is listed too,
    assert "report.html" in json.loads((copy / "provenance.json").read_text())["files"]
    result = load_result(copy)
    result.save(copy, force=True)  # so --force may replace the folder later
    assert not (copy / REPORT_FILE).exists()


def test_all_text_is_escaped(copy: Path) -> None:
    result = load_result(copy)
    result.scenario = {**result.scenario, "name": "<b>bold</b> & co",
                       "description": "<script>alert('x')</script> \"quoted\""}
    fig, ax = plt.subplots()
    ax.set_title('<img src=x onerror="alert(1)">')
    write_report(result, copy, figures={"odd": fig})
    text = (copy / REPORT_FILE).read_text(encoding="utf-8")
    assert "<script" not in text and "<b>bold" not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &quot;quoted&quot;" in text
    report = page(copy)
    assert report.title == "<b>bold</b> & co · ecssim report"
    assert report.images[0]["alt"] == '<img src=x onerror="alert(1)">'


def test_a_foreign_report_is_never_replaced(copy: Path) -> None:
    (copy / REPORT_FILE).write_text("<html>my own notes</html>")
    result = load_result(copy)
    for force in (False, True):
        with pytest.raises(OutputFolderError, match="not written by ecssim"):
            write_report(result, copy, force=force, figures={})
    assert (copy / REPORT_FILE).read_text() == "<html>my own notes</html>"
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith(".")) == []


def test_its_own_report_is_replaced_only_with_force(copy: Path) -> None:
    result = load_result(copy)
    write_report(result, copy, figures={})
    with pytest.raises(OutputFolderError, match="force"):
        write_report(result, copy, table_rows=2, figures={})
    assert len(page(copy).tables["events"]["rows"]) == 10
    write_report(result, copy, table_rows=2, force=True, figures={})
    assert len(page(copy).tables["events"]["rows"]) == 2
    assert [p.name for p in copy.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_a_folder_that_is_not_there(tmp_path: Path, run_folder: Path) -> None:
    with pytest.raises(OutputFolderError, match="is not a folder"):
        write_report(load_result(run_folder), tmp_path / "missing", figures={})


def test_a_failing_extra_leaves_no_folder(run_folder: Path, tmp_path: Path) -> None:
    """Plots and report are written inside the atomic save: a failure leaves nothing behind."""
    result = load_result(run_folder)

    def boom(folder: Path) -> list[str]:
        write_report(result, folder, figures={})
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        result.save(tmp_path / "out", extra=boom)
    assert list(tmp_path.iterdir()) == []
