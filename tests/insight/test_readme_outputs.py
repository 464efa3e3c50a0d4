"""The README's Explain and Headroom outputs are what the commands print today."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from click.testing import CliRunner

from ecssim.cli import main

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
PAIR = re.compile(r"```sh\n(ecssim [^\n]+)\n```\n\n```text\n(.*?)\n```", re.DOTALL)


def _section(title: str) -> str:
    return README.split(f"\n### {title}\n", 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]


@pytest.mark.parametrize("title", ["Explain", "Headroom"])
def test_readme_output_matches_the_command(title: str, monkeypatch: pytest.MonkeyPatch) -> None:
    pairs = PAIR.findall(_section(title))
    assert pairs, f"no command with its output in the README's {title} section"
    monkeypatch.chdir(ROOT)
    for command, expected in pairs:
        out = CliRunner().invoke(main, shlex.split(command)[1:])
        assert out.exit_code == 0, out.output
        assert out.output.rstrip("\n") == expected
