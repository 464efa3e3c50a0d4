"""The HTML report in a real browser (headless Debian chromium through chromedriver).

The page must render from its ``file://`` URL alone: its title and headings, the headline
figures equal to ``summary.json`` (the tagged value and the visible text), every image
decodes, and each table shows the first rows of its CSV file. Without chromium and
chromedriver the test is skipped, except in CI (``CI=true``), where it fails and says what to
install.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import pytest

from ecssim.analysis import TABLE_NAMES
from ecssim.analysis.report import write_report
from ecssim.analysis.report_html import format_metric
from ecssim.scenario import load_scenario
from ecssim.simulation import simulate

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
INSTALL = "apt-get install -y chromium chromium-driver (Debian), and pip install -e '.[test]' for selenium"
ARGUMENTS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync")


def _require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not (os.path.isfile(p) and os.access(p, os.X_OK))]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package")
    if not missing:
        return
    message = f"the browser test needs {', '.join(missing)}: {INSTALL}"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def driver(tmp_path_factory: pytest.TempPathFactory):
    """A headless chromium; Selenium Manager never runs (the driver's path is given)."""
    _require_browser()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (*ARGUMENTS, f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    browser = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    browser.set_window_size(1280, 1000)
    browser.set_page_load_timeout(20)
    browser.set_script_timeout(10)
    try:
        yield browser
    finally:
        browser.quit()


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    result = simulate(load_scenario(ROOT / "scenarios" / "demo.yaml"), seed=1)
    folder = tmp_path_factory.mktemp("browser") / "run with space & ampersand"
    result.save(folder, extra=lambda tmp: [write_report(result, tmp).name])
    return folder


def _csv_head(path: Path, rows: int) -> tuple[list[str], list[list[str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = list(csv.reader(handle))
    return lines[0], lines[1:rows + 1]


def test_the_report_renders_in_a_real_browser(driver, run_folder: Path) -> None:
    from selenium.webdriver.common.by import By

    driver.get((run_folder / "report.html").as_uri())
    assert driver.title == "demo · ecssim report"
    assert driver.find_element(By.TAG_NAME, "h1").text == "demo"
    headings = [h.text for h in driver.find_elements(By.TAG_NAME, "h2")]
    assert headings == ["Headline figures", "Figures", "Tables", "Scenario"]

    summary = json.loads((run_folder / "summary.json").read_text())
    shown = {e.get_attribute("data-metric"): e for e in driver.find_elements(By.CSS_SELECTOR, "[data-metric]")}
    assert set(shown) == set(summary)
    for name, value in summary.items():
        assert json.loads(shown[name].get_attribute("data-value")) == value, name
        assert shown[name].text == format_metric(name, value), name
        assert shown[name].is_displayed(), name

    images = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const images = Array.from(document.images);
        Promise.all(images.map(img => img.decode().then(() => [true, img.naturalWidth, img.naturalHeight],
                                                        e => [false, String(e), 0])))
          .then(done);
    """)
    assert len(images) == 7
    for ok, width, height in images:
        assert ok is True and width > 0 and height > 0, (ok, width)

    for name in TABLE_NAMES:
        table = driver.find_element(By.CSS_SELECTOR, f'table[data-table="{name}"]')
        columns, rows = _csv_head(run_folder / f"{name}.csv", 10)
        header = [th.get_attribute("textContent") for th in table.find_elements(By.CSS_SELECTOR, "thead th")]
        assert header == columns, name
        shown_rows = driver.execute_script(
            "return Array.from(arguments[0].tBodies[0].rows).filter(r => !r.classList.contains('empty'))"
            ".map(r => Array.from(r.cells).map(c => c.textContent));", table)
        assert shown_rows == rows, name
        link = driver.find_element(By.CSS_SELECTOR, f'#table-{name} h3 a')
        assert Path(driver.execute_script("return decodeURIComponent(new URL(arguments[0].href).pathname)", link)) == \
            run_folder / f"{name}.csv"

    try:
        logs = driver.get_log("browser")
    except Exception:  # noqa: BLE001 - not every driver offers the log; the rest of the test stands
        logs = []
    assert [entry for entry in logs if entry.get("level") == "SEVERE"] == []

