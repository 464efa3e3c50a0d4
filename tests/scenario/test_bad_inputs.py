"""Every bad input is refused clearly: exit status 2, a message naming the file and the field,
no traceback, no hang and no output folder left behind.

The small files live in tests/data/bad-inputs/ (each with ``# expect:`` lines); big and binary
ones (an over-size file, an alias bomb, random bytes, a PNG, UTF-16, NUL bytes) are made here.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecssim.cli import main
from ecssim.scenario import MAX_SCENARIO_BYTES

CORPUS = Path(__file__).resolve().parents[1] / "data" / "bad-inputs"
#: Files of the corpus that a scenario includes or reads rather than scenarios of their own.
_HELPERS = {"a.yaml", "b.yaml", "timing-inf.yaml"}
_JSON_EXPECT = {"duplicate-key.json": "duplicate key 'duration'", "top-level-scalar.json": "must be a mapping"}
_FILES = sorted(p for p in CORPUS.rglob("*") if p.suffix in (".yaml", ".json") and p.name not in _HELPERS)

_SCENARIO = """duration: 1h
cluster:
  fleets:
    - {name: main, instanceType: m5.large, count: 2}
taskDefinitions:
  - family: web
    containerDefinitions:
      - {name: web, image: nginx, memory: 256}
services:
  - {serviceName: web, taskDefinition: web, desiredCount: 2}
"""


def _expected(path: Path) -> list[str]:
    if path.suffix == ".json":
        return [_JSON_EXPECT[path.name]]
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("expect:", 1)[1].strip() for line in lines if line.startswith("# expect:")]


def _alias_bomb() -> str:
    """Nine levels of nine aliases: 9**9 strings once expanded, 1 KB on disk."""
    lines = ['l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n" + _SCENARIO.replace("count: 2}", "count: 2, availabilityZones: *l9}")


def _generated(folder: Path) -> dict[str, tuple[Path, str]]:
    """The big and binary bad inputs, written into ``folder``: name -> (file, expected message)."""
    rng = np.random.default_rng(10)
    made: dict[str, tuple[bytes, str, str]] = {
        "random-bytes": (bytes(rng.integers(0, 256, 4096, dtype=np.uint8)), "yaml", "not a UTF-8 text file"),
        "png": (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "yaml", "not a UTF-8 text file"),
        "utf16": (_SCENARIO.encode("utf-16"), "yaml", "not a UTF-8 text file"),
        "nul-bytes": (_SCENARIO.replace("1h", "1h\x00").encode(), "yaml", "control characters are not allowed"),
        "empty": (b"", "yaml", "the file is empty"),
        "alias-bomb": (_alias_bomb().encode(), "yaml", "YAML aliases expand to more than"),
        "deep-json": (b"[" * 100_000, "json", "nested too deeply"),
        "deep-yaml": (b"[" * 100_000, "yaml", "maximum nesting depth"),
    }
    out: dict[str, tuple[Path, str]] = {}
    for name, (content, suffix, message) in made.items():
        path = folder / f"{name}.{suffix}"
        path.write_bytes(content)
        out[name] = (path, message)
    big = folder / "oversize.yaml"
    with big.open("wb") as handle:  # sparse: the size is checked before any byte is read
        handle.truncate(MAX_SCENARIO_BYTES + 1)
    out["oversize"] = (big, "scenario files are limited to 16 MiB")
    include = folder / "big-include.json"
    with include.open("wb") as handle:
        handle.truncate(MAX_SCENARIO_BYTES + 1)
    includer = folder / "oversize-include.yaml"
    includer.write_text(_SCENARIO.replace("  - family: web\n", "  - file: big-include.json\n  - family: web\n"))
    out["oversize-include"] = (includer, "included files are limited to 16 MiB")
    binary_include = folder / "binary-include.json"
    binary_include.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    includer = folder / "binary-include.yaml"
    includer.write_text(_SCENARIO.replace("  - family: web\n", "  - file: binary-include.json\n  - family: web\n"))
    out["binary-include"] = (includer, "not a UTF-8 text file")
    (folder / "binary-trace.csv").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    trace_user = folder / "binary-trace.yaml"
    trace_user.write_text(_SCENARIO.split("services:")[0] + "workloads:\n  - taskDefinition: web\n"
                          "    arrivals: {type: trace, file: binary-trace.csv}\n")
    out["binary-trace"] = (trace_user, "workloads[0].arrivals.file: ")
    return out


def _check_refused(output: str, exit_code: int, path: Path, expected: list[str]) -> None:
    assert exit_code == 2, output
    assert "Traceback" not in output
    assert f"{path}" in output or path.name in output
    for message in expected:
        assert message in output, f"{message!r} not in {output!r}"


def _invoke(*args: str) -> tuple[str, int]:
    result = CliRunner().invoke(main, list(args))
    return result.output + (result.stderr if result.stderr_bytes is not None else ""), result.exit_code


@pytest.mark.parametrize("path", _FILES, ids=lambda p: str(p.relative_to(CORPUS)))
def test_corpus_file_is_refused_by_run_and_validate(path: Path, tmp_path: Path) -> None:
    expected = _expected(path)
    assert expected, f"{path.name} has no '# expect:' line"
    out = tmp_path / "out"
    _check_refused(*_invoke("run", str(path), "--out", str(out)), path, expected)
    assert list(tmp_path.iterdir()) == []  # no output folder, no temporary one beside it
    _check_refused(*_invoke("validate", str(path)), path, expected)


def test_generated_files_are_refused(tmp_path: Path) -> None:
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    for name, (path, message) in _generated(inputs).items():
        out = tmp_path / f"out-{name}"
        output, code = _invoke("run", str(path), "--out", str(out))
        _check_refused(output, code, path, [message])
        assert not out.exists()
        _check_refused(*_invoke("validate", str(path)), path, [message])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inputs"]


def test_bad_timing_file_is_refused(tmp_path: Path) -> None:
    scenario = tmp_path / "ok.yaml"
    scenario.write_text(_SCENARIO)
    timing = CORPUS / "timing-inf.yaml"
    output, code = _invoke("run", str(scenario), "--timing", str(timing), "--out", str(tmp_path / "out"))
    _check_refused(output, code, timing, _expected(timing))
    assert not (tmp_path / "out").exists()


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, "-m", "ecssim.cli", *args], capture_output=True, text=True,
                          timeout=20, env=env, check=False)


@pytest.mark.parametrize("name", ["alias-bomb", "oversize", "random-bytes"])
def test_real_process_refuses_generated_input(name: str, tmp_path: Path) -> None:
    path, message = _generated(tmp_path)[name]
    out = tmp_path / "result"
    for args in (("run", str(path), "--out", str(out)), ("validate", str(path))):
        done = _cli(*args)
        _check_refused(done.stderr, done.returncode, path, [message])
        assert not out.exists()


@pytest.mark.parametrize("name", ["truncated.yaml", "huge-duration.yaml", "cycle/scenario.yaml"])
def test_real_process_refuses_corpus_file(name: str, tmp_path: Path) -> None:
    path = CORPUS / name
    out = tmp_path / "result"
    done = _cli("run", str(path), "--out", str(out))
    _check_refused(done.stderr, done.returncode, path, _expected(path))
    assert list(tmp_path.iterdir()) == []
