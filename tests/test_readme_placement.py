"""The README's Placement section: its outputs are what the code produces, its tables are the code's.

Each worked example is a scenario (a yaml block after ``<!-- example: NAME.yaml -->``), then a
command or a Python block, then the ```text block of its output. The tests save every scenario
under its name in a temporary folder, run each command (``ecssim ...``) and Python block there,
and compare the output with the README's. ``<!-- service-event: NAME.yaml -->`` marks the last
``unable_to_place`` service event of that scenario's run (seed 0).

The expected outcomes are also written here by hand from the ECS rule the README states next to
each example (``HAND``), so the README cannot drift to whatever the code happens to print.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecssim
from ecssim.cli import main
from ecssim.placement import (
    MAX_EXPRESSION_LENGTH,
    REASON_AGENT,
    REASON_CPU,
    REASON_DISTINCT_INSTANCE,
    REASON_ENI,
    REASON_GPU,
    REASON_MEMBER_OF,
    REASON_MEMORY,
    REASON_NO_ACTIVE_INSTANCES,
    REASON_PORTS,
    ClusterView,
    PlacementDecision,
    TaskDemand,
    parse,
    unable_to_place_message,
)
from ecssim.placement.pipeline import check_masks
from ecssim.placement.query_eval import ATTRIBUTE_PREFIX, SUBJECTS, VALID_OPERATORS
from ecssim.scenario import load_scenario_dict
from ecssim.scenario.catalog import eni_trunking_table, instance_type, task_eni_limit
from ecssim.scenario.ecs_objects import MAX_CONSTRAINTS, MAX_STRATEGIES

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SECTION = README.split("\n## Placement\n", 1)[1].split("\n## ", 1)[0]

EXAMPLE = re.compile(r"<!-- example: (\S+) -->\n```yaml\n(.*?)```\n", re.DOTALL)
COMMAND = re.compile(r"```sh\n(ecssim [^\n]+)\n```\n\n```text\n(.*?)\n```", re.DOTALL)
PYTHON = re.compile(r"```python\n(.*?)```\n\n```text\n(.*?)\n```", re.DOTALL)
EVENT = re.compile(r"<!-- service-event: (\S+) -->\n```text\n(.*?)\n```", re.DOTALL)

FILES = dict(EXAMPLE.findall(SECTION))
COMMANDS = COMMAND.findall(SECTION)
PYTHONS = PYTHON.findall(SECTION)
EVENTS = EVENT.findall(SECTION)


def subsection(title: str) -> str:
    """The text of ``### title`` (or ``#### title``) inside the Placement section."""
    match = re.search(rf"\n#{{3,4}} {re.escape(title)}\n(.*?)(?=\n#{{2,4}} |\Z)", SECTION, re.DOTALL)
    assert match, f"no subsection {title!r} in the README's Placement section"
    return match.group(1)


def table_rows(text: str) -> list[list[str]]:
    """Cells of every markdown table row in ``text`` (header and separator rows left out)."""
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return [row for row in rows if row[0] not in ("order", "instance type", "subject", "operator",
                                                  "type", "where", "the service's strategy")]


def code_spans(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


@pytest.fixture
def example_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder holding every example scenario under its name, as the current directory."""
    for name, body in FILES.items():
        (tmp_path / name).write_text(body, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run_command(command: str) -> tuple[int, str]:
    out = CliRunner().invoke(main, shlex.split(command)[1:])
    return out.exit_code, out.output.rstrip("\n")


def run_python(code: str, label: str) -> str:
    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        exec(compile(code, label, "exec"), {})
    return buffer.getvalue().rstrip("\n")


def last_unable_to_place(name: str) -> str:
    result = ecssim.simulate(ecssim.load_scenario(name), seed=0)
    events = result.service_events
    return events[events.kind == "unable_to_place"].message.iloc[-1]


# ---------------------------------------------------------------- worked examples


def test_the_section_has_its_examples() -> None:
    assert set(FILES) == {"binpack.yaml", "spread-binpack.yaml", "distinct.yaml", "eni.yaml",
                          "daemon.yaml", "malformed.yaml"}
    assert len(COMMANDS) == 5 and len(PYTHONS) == 4 and len(EVENTS) == 2
    assert "OUTPUT" not in SECTION


@pytest.mark.parametrize("command", [c for c, _ in COMMANDS])
def test_command_output_is_what_the_command_prints(command: str, example_dir: Path) -> None:
    expected = dict(COMMANDS)[command]
    code, output = run_command(command)
    assert code == (2 if command.startswith("ecssim validate") else 0), output
    assert output == expected


def _heading(code: str) -> str:
    """The ``####`` title above a Python block, as its test id."""
    before = SECTION[: SECTION.index(code)]
    return before.rsplit("\n#### ", 1)[1].split("\n", 1)[0]


@pytest.mark.parametrize("index", range(len(PYTHONS)), ids=[_heading(code) for code, _ in PYTHONS])
def test_python_output_is_what_the_block_prints(index: int, example_dir: Path) -> None:
    code, expected = PYTHONS[index]
    assert run_python(code, f"README.md placement python block {index}") == expected


@pytest.mark.parametrize("name", [n for n, _ in EVENTS])
def test_service_event_is_the_runs_last_one(name: str, example_dir: Path) -> None:
    assert last_unable_to_place(name) == dict(EVENTS)[name]


def test_example_scenarios_are_valid_except_the_malformed_one() -> None:
    import yaml

    for name, body in FILES.items():
        if name == "malformed.yaml":
            continue
        load_scenario_dict(yaml.safe_load(body), source=name)


# Outcomes written by hand from the rule next to each example (not from running the code).
HAND = {
    # binpack(memory): t3.medium 3989 MiB fits the first 3072-MiB task; then 917 left, so the
    # fuller of m5.large (7979) and m5.xlarge (15958).
    "binpack.yaml": ["placed on i-00000000000000002", "RESOURCE:MEMORY needs 3072 MiB, 917 free"],
    # spread(AZ) > binpack(memory): us-east-1a has 1 task, us-east-1b 2 -> 1a; its m5.large is full.
    "spread-binpack.yaml": ["placed on i-00000000000000002"],
    "distinct.yaml": ["3 tasks placed",
                      "not placed: DistinctInstance placement constraint unsatisfied (closest i-00000000000000001)"],
    # m5.large: 3 ENIs - 1 primary = 2 awsvpc tasks; 2 instances -> 4 tasks.
    "eni.yaml": ["4 tasks placed", "not placed: RESOURCE:ENI (closest i-00000000000000001)"],
    "malformed.yaml": ["column 29"],
}


@pytest.mark.parametrize("name", sorted(HAND))
def test_shown_outcome_is_the_one_derived_by_hand(name: str) -> None:
    shown = "\n".join(out for command, out in COMMANDS if f" {name} " in f"{command} ")
    for fact in HAND[name]:
        assert fact in shown, f"{name}: the README's output should show {fact!r}"


def test_member_of_selections_follow_the_rules() -> None:
    # i-01 t2.medium 1a team=web; i-02 t2.large 1b; i-03 m5.large 1c team=batch, runs databases;
    # i-04 m5.large 1a.
    expected = {
        "attribute:ecs.instance-type =~ t2.*": "i-01 i-02",
        "attribute:ecs.availability-zone in [us-east-1a, us-east-1b]": "i-01 i-02 i-04",
        "task:group == databases": "i-03",
        "not(attribute:ecs.instance-type =~ t2.*)": "i-03 i-04",
        "attribute:ecs.instance-type =~ t2.* and attribute:ecs.availability-zone == us-east-1a": "i-01",
        "attribute:team != web": "i-03",  # a missing attribute matches no comparison
        "attribute:team !exists or attribute:team != web": "i-02 i-03 i-04",
    }
    output = next(out for code, out in PYTHONS if "compile_query(expression).evaluate" in code)
    shown = {line[16:]: line[:15].strip() for line in output.splitlines()}
    assert shown == expected


def test_port_conflict_outcome_follows_the_rule() -> None:
    output = next(out for code, out in PYTHONS if "tcp_ports=(80,)" in code)
    assert output.splitlines()[0] == "False RESOURCE:PORTS i-0aaa"
    assert "i-0aaa is already using a port required by your task." in output


def test_daemon_outcome_follows_the_rule() -> None:
    output = next(out for code, out in PYTHONS if "daemon.yaml" in code)
    rows = [line.split() for line in output.splitlines()[1:]]
    by_instance: dict[str, list[list[str]]] = {}
    for row in rows:
        by_instance.setdefault(row[2], []).append(row)
    assert len(by_instance) == 3
    for instance_rows in by_instance.values():
        first = min(instance_rows, key=lambda r: float(r[4]))
        assert first[1] == "logs" and first[3] == first[4]  # the daemon, when the instance registers
        assert [r[1] for r in instance_rows].count("logs") == 1
        assert [r[1] for r in instance_rows].count("web") == 2  # 2048 - 256 = 1792 = 2 x 896


# ---------------------------------------------------------------- reference tables


def test_reasons_table_is_the_pipelines_order_and_event_text() -> None:
    rows = [row for row in table_rows(subsection("The pipeline")) if row[0].isdigit() or row[0] == "–"]
    reasons = [code_spans(row[2])[0] for row in rows]
    assert reasons == [REASON_AGENT, REASON_CPU, REASON_MEMORY, REASON_PORTS, REASON_ENI, REASON_GPU,
                       REASON_MEMBER_OF, REASON_DISTINCT_INSTANCE, REASON_NO_ACTIVE_INSTANCES]
    # The filters run in that order (ENI and GPU checks appear for tasks that need them).
    view = ClusterView.build([1024], [2048], enis=[1], gpus=[1], group_counts={"g": [1]})
    demand = TaskDemand(cpu=1, memory_mib=1, enis=1, gpus=1)
    checks = check_masks(demand, view, 1, [("memberOf", "agentConnected == true"), ("distinctInstance", None)],
                         view.group_counts["g"][:1])
    assert [reason for reason, _ in checks] == reasons[:8]
    view = ClusterView.build([1024], [2048], instance_ids=["i-x"])
    for row, reason in zip(rows, reasons, strict=True):
        message = unable_to_place_message("web", PlacementDecision(-1, reason, 0), view)
        head = ("service web was unable to place a task because no container instance met all of its "
                "requirements.")
        if reason == REASON_NO_ACTIVE_INSTANCES:
            assert message == head
            continue
        (text,) = code_spans(row[3])
        assert message == (f"{head} The closest matching container-instance i-x {text} "
                           "For more information, see the Troubleshooting section.")


def test_eni_table_is_the_catalog_and_the_shipped_trunking_table() -> None:
    rows = [row for row in table_rows(subsection("Resources")) if len(row) == 4]
    assert sorted(row[0] for row in rows) == sorted(eni_trunking_table())
    for name, max_enis, plain, trunked in rows:
        assert int(max_enis) == instance_type(name).max_enis
        assert int(plain) == task_eni_limit(name) == int(max_enis) - 1
        assert int(trunked) == task_eni_limit(name, trunking=True) == eni_trunking_table()[name]


def test_query_language_tables_are_the_parsers() -> None:
    text = subsection("Cluster query language")
    rows = table_rows(text)
    subjects = {code_spans(row[0])[0]: set(code_spans(row[2])[0].split()) for row in rows if len(row) == 3
                and row[2].startswith("`") and not row[1].startswith("`")}
    expected = {("attribute:<name>" if s == ATTRIBUTE_PREFIX else s): set(VALID_OPERATORS[s]) for s in SUBJECTS}
    assert subjects == expected
    words = [(code_spans(row[0]), code_spans(row[1])) for row in rows if row[1].startswith("`")]
    assert len(words) == 5
    for symbols, spelled in words:
        for symbol, word in zip(symbols, spelled, strict=True):
            argument = " [x]" if symbol in ("in", "!in") else "" if "exists" in symbol else " 1"
            assert parse(f"attribute:a {word}{argument}").operator == symbol
            assert parse(f"attribute:a {symbol}{argument}").operator == symbol


def test_limits_are_the_validators() -> None:
    text = subsection("Constraints and limits")
    assert f"**{MAX_CONSTRAINTS} constraints**" in text
    assert f"**{MAX_STRATEGIES} strategy rules**" in text
    assert f"**{MAX_EXPRESSION_LENGTH} characters**" in text


def test_daemon_defaults_are_the_models() -> None:
    scenario = load_scenario_dict({
        "duration": "1m",
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 1}]},
        "taskDefinitions": [{"family": "d", "containerDefinitions": [{"name": "c", "image": "x", "memory": 64}]}],
        "services": [{"serviceName": "d", "taskDefinition": "d", "schedulingStrategy": "DAEMON"}],
    })
    config = scenario.services[0].deployment_configuration
    assert (config.maximum_percent, config.minimum_healthy_percent) == (100, 0)
    assert "`maximumPercent` 100 (the default" in README and "`minimumHealthyPercent` default 0" in README

