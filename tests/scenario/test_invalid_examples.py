"""Every file in scenarios/invalid/ must fail with the messages its ``# expect:`` lines give."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecssim.scenario import ScenarioError, load_scenario

INVALID = Path(__file__).resolve().parents[2] / "scenarios" / "invalid"
FILES = sorted(INVALID.glob("*.yaml")) + sorted(INVALID.glob("*.json"))


def expectations(path: Path) -> list[str]:
    """The ``# expect: MESSAGE`` lines at the top of an example file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("expect:", 1)[1].strip() for line in lines if line.startswith("# expect:")]


def test_there_are_enough_examples() -> None:
    assert len(FILES) >= 8


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_invalid_example_fails_with_its_message(path: Path) -> None:
    expected = expectations(path)
    assert expected, f"{path.name} has no '# expect:' line"
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    text = str(info.value)
    for message in expected:
        assert message in text
    assert "pydantic" not in text and "https://" not in text
    for line in text.splitlines():
        assert line.startswith(f"{path}: ")
