"""Loading files: formats, file-level errors, error formatting, reports and the schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ecssim.scenario import (
    Issue,
    ScenarioError,
    load_scenario,
    load_scenario_dict,
    loading,
    scenario_json_schema,
    validate_file,
)

DATA = Path(__file__).parent / "data"


def test_valid_yaml_loads_with_units() -> None:
    scenario = load_scenario(DATA / "valid.yaml")
    assert scenario.duration == 7200 and scenario.measure_from == 600
    assert scenario.task_definitions[0].memory == 512 and scenario.task_definitions[0].cpu == 256
    assert scenario.workloads[0].arrivals.rate == pytest.approx(120 / 3600)
    assert scenario.base_dir == DATA.resolve()
    assert scenario.start_datetime().isoformat() == "2024-05-01T09:00:00+00:00"


def test_json_and_yaml_give_the_same_scenario(tmp_path: Path, minimal: dict) -> None:
    (tmp_path / "a.json").write_text(json.dumps(minimal))
    (tmp_path / "a.yml").write_text(json.dumps(minimal))  # JSON is YAML too
    assert load_scenario(tmp_path / "a.json") == load_scenario(tmp_path / "a.yml")


def test_error_lists_every_issue_one_per_line(minimal: dict) -> None:
    minimal["cluster"]["fleets"][0]["count"] = -1
    minimal["services"][0]["placementStrategy"] = [{"type": "random"}, {"type": "binpack", "field": "disk"}]
    minimal["duration"] = "soon"
    with pytest.raises(ScenarioError) as info:
        load_scenario_dict(minimal, source="s.yaml")
    assert str(info.value).splitlines() == [
        "s.yaml: duration: expected a number with an optional unit, got 'soon'",
        "s.yaml: cluster.fleets[0].count: must be >= 0, got -1",
        "s.yaml: services[0].placementStrategy[1].field: expected one of cpu, memory",
    ]
    assert info.value.issues[1] == Issue("s.yaml", "cluster.fleets[0].count", "must be >= 0, got -1")


def test_snake_case_keys_are_refused_in_files(minimal: dict) -> None:
    minimal["measure_from"] = "5m"
    minimal["services"][0]["desired_count"] = 3
    with pytest.raises(ScenarioError) as info:
        load_scenario_dict(minimal)
    text = str(info.value)
    assert "measure_from: unknown field; did you mean measureFrom?" in text
    assert "services[0].desired_count: not an ECS Service field; did you mean desiredCount?" in text


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.yaml", "", "the file is empty"),
        ("comments.yaml", "# nothing\n", "the file is empty"),
        ("list.json", "[1, 2]", "the top level must be a mapping"),
        ("bad.json", '{"duration": 1,\n "cluster": }', "JSON syntax error at line 2, column 13"),
        ("bad.yaml", "a: [1, 2\nb: 3\n", "YAML syntax error at line 2"),
        ("dup.yaml", "duration: 1h\nduration: 2h\n", "duplicate key 'duration' at line 2"),
        ("dup.json", '{"duration": 1, "duration": 2}', "duplicate key 'duration'"),
        ("scenario.toml", "x = 1", "expected a .yaml, .yml or .json file"),
        ("tag.yaml", "duration: !!python/object:os.system x\n", "YAML error at line 1"),
    ],
)
def test_file_level_errors(tmp_path: Path, name: str, content: str, message: str) -> None:
    (tmp_path / name).write_text(content)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / name)
    assert message in str(info.value)
    assert str(info.value).startswith(str(tmp_path / name) + ": ")


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="file not found"):
        load_scenario(tmp_path / "nope.yaml")
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(ScenarioError, match="folder"):
        load_scenario(tmp_path / "dir.yaml")


def test_size_cap(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(loading, "MAX_SCENARIO_BYTES", 100)
    (tmp_path / "big.yaml").write_text("description: " + "x" * 200)
    with pytest.raises(ScenarioError, match="limited to"):
        load_scenario(tmp_path / "big.yaml")


def test_trace_paths_resolve_against_the_scenario_folder(tmp_path: Path, minimal: dict) -> None:
    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "t.csv").write_text("arrival_s,duration_s,cpu,memory_mib\n0,1,256,128\n")
    minimal["workloads"] = [{"taskDefinition": "web", "arrivals": {"type": "trace", "file": "traces/t.csv"}}]
    (tmp_path / "s.json").write_text(json.dumps(minimal))
    scenario = load_scenario(tmp_path / "s.json")
    assert (
        scenario.resolve_path(scenario.workloads[0].arrivals.file)
        == (tmp_path / "traces" / "t.csv").resolve()
    )
    with pytest.raises(ScenarioError, match="trace file not found"):
        load_scenario_dict(minimal, base_dir=tmp_path / "elsewhere")


def test_validate_reports_ignored_and_warnings(tmp_path: Path, minimal: dict) -> None:
    minimal["taskDefinitions"][0]["status"] = "ACTIVE"
    minimal["taskDefinitions"][0]["networkMode"] = "awsvpc"
    minimal["services"][0]["enableECSManagedTags"] = True
    minimal["cluster"]["fleets"][0]["eniTrunkingLimit"] = 12
    (tmp_path / "s.json").write_text(json.dumps(minimal))
    report = validate_file(tmp_path / "s.json")
    assert report.ignored == ["taskDefinitions[0].status", "services[0].enableECSManagedTags"]
    # awsvpc has its ENI limits now: no warning about it.
    assert not any("networkMode" in w or "ENI limits" in w for w in report.warnings)
    assert "cluster.fleets[0].eniTrunkingLimit: ignored without awsvpcTrunking: true" in report.warnings
    assert (
        f"{tmp_path / 's.json'}: taskDefinitions[0].status (ignored: ecssim does not model it)"
        in report.lines()
    )


def test_start_time_from_unquoted_yaml(tmp_path: Path) -> None:
    text = (DATA / "valid.yaml").read_text().replace('"2024-05-01T09:00:00Z"', "2024-05-01T09:00:00+02:00")
    (tmp_path / "s.yaml").write_text(text)
    assert load_scenario(tmp_path / "s.yaml").start_datetime().utcoffset().total_seconds() == 7200


def test_schema_is_camel_case_json_schema() -> None:
    schema = scenario_json_schema()
    assert schema["$schema"].startswith("https://json-schema.org/")
    assert schema["title"] == "ecssim scenario"
    assert {"duration", "measureFrom", "taskDefinitions", "cluster"} <= set(schema["properties"])
    json.dumps(schema)


def test_dumped_scenario_loads_back_equal() -> None:
    """The resolved scenario a run stores (camelCase JSON) loads back to the same model."""
    scenario = load_scenario(DATA / "valid.yaml")
    dumped = json.loads(json.dumps(scenario.model_dump(mode="json", by_alias=True)))
    again = load_scenario_dict(dumped, base_dir=scenario.base_dir)
    assert again == scenario


EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "scenarios").glob("*.y*ml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_shipped_example_scenarios_validate(path: Path) -> None:
    validate_file(path)
