"""The HTML of the run report: pure functions from plain data to one self-contained page.

:mod:`ecssim.analysis.report` gathers the data (summary, provenance, table heads, PNG bytes)
and writes the file; this module only renders it. Every text is escaped; the page needs no
network, no script and no external file except the CSV links it offers (relative hrefs to
the tables beside it). The CSS is inline, readable on a laptop screen and printable.
"""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

from ecssim.units import format_duration

#: ``<meta name="generator">`` content prefix that marks a report ecssim wrote.
GENERATOR = "ecssim"
MTTR = re.compile(r"^mttr_(?P<subject>.+)_(?P<stat>mean|p50|p95|p99)_s$")
MTTR_STATS = ("mean", "p50", "p95", "p99")

#: Headline groups: (heading, predicate on the metric name), first match wins.
GROUPS: tuple[tuple[str, object], ...] = (
    ("Run", lambda n: n in ("duration_s", "measure_from_s")),
    ("Tasks", lambda n: n.startswith(("tasks_", "placement_failure", "mean_tasks"))),
    ("Capacity", lambda n: n.startswith("instances_") or n.endswith("_reserved_fraction")),
    ("Recovery and availability", lambda n: n in ("incidents", "unrecovered_incidents",
                                                  "service_availability_mean")
     or n.startswith(("recovery_time_", "first_replacement_"))),
    ("Deployments", lambda n: n.startswith(("deployments_", "deployment_"))),
)


@dataclass(frozen=True)
class TableHead:
    """The first rows of one table as the strings its CSV holds."""

    name: str
    columns: list[str]
    rows: list[list[str]]
    total_rows: int
    href: str
    numeric: frozenset[str] = frozenset()  # columns to right-align


@dataclass(frozen=True)
class Plot:
    """One embedded figure: its name, title, caption and PNG bytes with pixel size."""

    name: str
    title: str
    caption: str
    png: bytes
    width: int
    height: int


def json_value(value: object) -> str:
    """The exact JSON text ``summary.json`` holds for ``value`` (NaN and inf as ``null``)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "null"
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()  # numpy scalars
    return json.dumps(value, allow_nan=False)


def format_metric(name: str, value: object) -> str:
    """A summary value as a reader wants it: durations, percentages, counts (``n/a`` if undefined)."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if name == "service_availability_mean":
        return f"{value:.2%}"
    if name.endswith("_fraction"):
        return f"{value:.1%}"
    if name.endswith("_s"):
        return format_duration(float(value))
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}"


#: Labels where the mechanical one (the name without its unit suffix) would mislead.
LABELS = {
    "duration_s": "simulated time",
    "measure_from_s": "measured from",
    "placement_failure_fraction": "launches that found no instance",
    "service_availability_mean": "service availability (mean)",
}


def metric_label(name: str) -> str:
    """A readable label from a metric name (its unit suffix dropped)."""
    if name in LABELS:
        return LABELS[name]
    base = name.removesuffix("_s").removesuffix("_fraction").replace("_", " ")
    return base.replace("cpu", "CPU").replace("az ", "AZ ")


def group_metrics(summary: dict[str, object]) -> tuple[list[tuple[str, list[str]]], list[str]]:
    """Split metric names into headline groups (in summary order) and the MTTR names."""
    groups: dict[str, list[str]] = {heading: [] for heading, _ in GROUPS}
    other: list[str] = []
    mttr: list[str] = []
    for name in summary:
        if MTTR.match(name):
            mttr.append(name)
            continue
        heading = next((h for h, test in GROUPS if test(name)), None)  # type: ignore[operator]
        (groups[heading] if heading else other).append(name)
    ordered = [(h, names) for h, names in groups.items() if names]
    if other:
        ordered.append(("Other", other))
    return ordered, mttr


def _metric_attrs(name: str, value: object) -> str:
    return f'data-metric="{escape(name)}" data-value="{escape(json_value(value))}"'


def _cards(names: Iterable[str], summary: dict[str, object]) -> str:
    cards = []
    for name in names:
        value = summary[name]
        na = " na" if format_metric(name, value) == "n/a" else ""
        cards.append(
            f'<div class="card{na}"><div class="label">{escape(metric_label(name))}</div>'
            f'<div class="value" {_metric_attrs(name, value)}>{escape(format_metric(name, value))}</div>'
            f'<code>{escape(name).replace("_", "_<wbr>")}</code></div>'
        )
    return '<div class="cards">' + "".join(cards) + "</div>"


def _mttr_table(names: list[str], summary: dict[str, object]) -> str:
    """Time to repair: one row per fault kind or service, one column per statistic."""
    subjects: dict[str, dict[str, str]] = {}
    for name in names:
        match = MTTR.match(name)
        assert match is not None
        subjects.setdefault(match["subject"], {})[match["stat"]] = name
    rows = []
    for subject, stats in subjects.items():
        label = f"service {subject.removeprefix('service_')}" if subject.startswith("service_") else subject
        cells = []
        for stat in MTTR_STATS:
            name = stats.get(stat)
            if name is None:
                cells.append("<td></td>")
            else:
                value = summary[name]
                text = format_metric(name, value)
                na = " na" if text == "n/a" else ""
                cells.append(f'<td class="num{na}" title="{escape(name)}" {_metric_attrs(name, value)}>'
                             f"{escape(text)}</td>")
        label = label.replace("_", " ").replace("az ", "AZ ")
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{"".join(cells)}</tr>')
    head = "".join(f'<th scope="col" class="num">{s}</th>' for s in MTTR_STATS)
    return ('<h3>Time to repair (fault to desired count again)</h3>'
            '<table class="mttr"><thead><tr><th scope="col">incidents of</th>' + head + "</tr></thead>"
            "<tbody>" + "".join(rows) + "</tbody></table>")


def render_metrics(summary: dict[str, object]) -> str:
    """The headline section: every summary metric, each tagged with its name and JSON value."""
    groups, mttr = group_metrics(summary)
    parts = [f"<h3>{escape(heading)}</h3>{_cards(names, summary)}" for heading, names in groups]
    if mttr:
        parts.append(_mttr_table(mttr, summary))
    return "".join(parts)


def render_provenance(items: Sequence[tuple[str, str]]) -> str:
    """A definition list of what produced the run (seed, window, versions ...)."""
    rows = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(v)}</dd></div>" for k, v in items)
    return f'<dl class="provenance">{rows}</dl>'


def render_plots(plots: Sequence[Plot]) -> str:
    """Each figure as an inline base64 PNG with a numbered caption."""
    if not plots:
        return "<p>No figures.</p>"
    parts = []
    for number, plot in enumerate(plots, 1):
        data = base64.b64encode(plot.png).decode("ascii")
        parts.append(
            f'<figure id="fig-{escape(plot.name)}" data-plot="{escape(plot.name)}">'
            f'<img src="data:image/png;base64,{data}" width="{plot.width}" height="{plot.height}" '
            f'alt="{escape(plot.title)}">'
            f"<figcaption><b>Figure {number}. {escape(plot.title)}.</b> {escape(plot.caption)}</figcaption>"
            "</figure>"
        )
    return "".join(parts)


def render_table(head: TableHead) -> str:
    """One table's first rows, with a link to the whole file."""
    shown = len(head.rows)
    rows = "row" if head.total_rows == 1 else "rows"
    count = (f"{head.total_rows:,} {rows}" if shown == head.total_rows
             else f"first {shown:,} of {head.total_rows:,} rows")
    align = [' class="num"' if c in head.numeric else "" for c in head.columns]
    columns = "".join(f'<th scope="col"{a}>{escape(c)}</th>' for c, a in zip(head.columns, align, strict=True))
    if head.rows:
        body = "".join("<tr>" + "".join(f"<td{a}>{escape(cell)}</td>" for cell, a in zip(row, align, strict=False))
                       + "</tr>" for row in head.rows)
    else:
        body = f'<tr class="empty"><td colspan="{max(len(head.columns), 1)}">No rows.</td></tr>'
    return (
        f'<section class="table" id="table-{escape(head.name)}">'
        f'<h3>{escape(head.name)} <span class="count">{count}</span> '
        f'<a href="{escape(head.href)}">{escape(head.href)}</a></h3>'
        f'<div class="scroll"><table data-table="{escape(head.name)}"><thead><tr>{columns}</tr></thead>'
        f"<tbody>{body}</tbody></table></div></section>"
    )


def render_page(*, title: str, description: str, version: str, provenance: Sequence[tuple[str, str]],
                summary: dict[str, object], plots: Sequence[Plot], tables: Sequence[TableHead],
                scenario_json: str, scenario_href: str | None) -> str:
    """The whole report page."""
    nav = [("headline", "Headline figures"), ("plots", "Figures"), ("tables", "Tables"),
           ("scenario", "Scenario")]
    links = " ".join(f'<a href="#{a}">{t}</a>' for a, t in nav)
    scenario_link = (f' (<a href="{escape(scenario_href)}">{escape(scenario_href)}</a>)'
                     if scenario_href else "")
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{GENERATOR} {escape(version)}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)} · ecssim report</title>
<style>{CSS}</style>
</head>
<body>
<header>
<p class="kicker">ecssim run report</p>
<h1>{escape(title)}</h1>
<p class="description">{escape(description) or "<i>No description.</i>"}</p>
{render_provenance(provenance)}
<nav>{links}</nav>
</header>
<main>
<section id="headline"><h2>Headline figures</h2>
<p class="note">Measured over the window from <code>measure_from_s</code> to the end of the run;
exact values are in <code>summary.json</code>.</p>
{render_metrics(summary)}</section>
<section id="plots"><h2>Figures</h2>{render_plots(plots)}</section>
<section id="tables"><h2>Tables</h2>
<p class="note">The first rows of each table exactly as its file holds them; follow a link for the whole table.</p>
{"".join(render_table(t) for t in tables)}</section>
<section id="scenario"><h2>Scenario</h2>
<details><summary>The resolved scenario{scenario_link}</summary><pre>{escape(scenario_json)}</pre></details>
</section>
</main>
<footer>Written by ecssim {escape(version)} from the run's event log.</footer>
</body>
</html>
"""


CSS = """
:root { --ink:#1d2330; --muted:#5b6474; --line:#dde1e8; --soft:#f5f7fa; --accent:#1f5fa8; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
header, main, footer { max-width: 1120px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 28px; padding-bottom: 8px; border-bottom: 1px solid var(--line); }
.kicker { margin: 0; color: var(--accent); font-weight: 600; text-transform: uppercase;
  letter-spacing: .06em; font-size: 12px; }
h1 { margin: 4px 0 6px; font-size: 30px; line-height: 1.2; }
h2 { margin: 36px 0 8px; font-size: 22px; border-bottom: 2px solid var(--ink); padding-bottom: 4px; }
h3 { margin: 22px 0 8px; font-size: 16px; }
.description { margin: 0 0 14px; max-width: 80ch; color: #333b49; }
.note { color: var(--muted); margin: 4px 0 8px; font-size: 14px; }
code, pre, td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
code { font-size: 12px; }
.provenance { display: flex; flex-wrap: wrap; gap: 4px 22px; margin: 0 0 12px; font-size: 13px; }
.provenance div { display: flex; gap: 6px; }
.provenance dt { color: var(--muted); }
.provenance dd { margin: 0; font-weight: 600; }
nav { display: flex; gap: 16px; font-size: 14px; padding: 6px 0; }
a { color: var(--accent); }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 9px 12px; background: var(--soft); }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 22px; font-weight: 650; font-variant-numeric: tabular-nums; }
.card.na .value, td.na { color: #9aa1ad; font-weight: 500; }
.card code { color: #8a92a0; font-size: 11px; overflow-wrap: anywhere; }
table { border-collapse: collapse; font-size: 12.5px; }
th, td { border-bottom: 1px solid var(--line); padding: 4px 9px; text-align: left; white-space: nowrap; }
thead th { background: var(--soft); font-family: inherit; position: sticky; top: 0; }
tbody tr:nth-child(even) { background: #fafbfc; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
table.mttr { font-size: 14px; }
table.mttr tbody th { font-weight: 500; }
.scroll { overflow-x: auto; border: 1px solid var(--line); border-radius: 6px; max-width: 100%; }
.scroll table { width: 100%; }
.table h3 { display: flex; gap: 12px; align-items: baseline; flex-wrap: wrap; }
.table .count { color: var(--muted); font-weight: 400; font-size: 13px; }
.table h3 a { font-weight: 400; font-size: 13px; }
tr.empty td { color: var(--muted); font-style: italic; }
figure { margin: 18px 0 28px; }
figure img { display: block; max-width: 100%; height: auto; border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: #333b49; font-size: 14px; margin-top: 6px; max-width: 90ch; }
details { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; }
summary { cursor: pointer; }
pre { font-size: 12px; overflow-x: auto; max-height: 480px; }
footer { color: var(--muted); font-size: 12px; padding-top: 30px; padding-bottom: 30px; }
@media print {
  body { font-size: 11pt; }
  nav, #scenario { display: none; }
  header, main, footer { max-width: none; padding: 0; }
  .scroll { overflow: visible; border: none; }
  th, td { white-space: normal; word-break: break-all; font-size: 8pt; padding: 2px 4px; }
  thead th { position: static; }
  figure, .card, tr, .table h3 { break-inside: avoid; }
  h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
}
"""
