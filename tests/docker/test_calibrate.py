"""Calibration on the real engine: plausible figures, the contention of concurrent starts, and a
timing file the simulator accepts."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from ecssim.cli import main
from ecssim.docker import (
    CalibrationFileError,
    Measurement,
    calibrate,
    managed_containers,
    samples_path,
    write_calibration,
)
from ecssim.docker.calibrate import (
    BURST_MEASUREMENT,
    CSV_COLUMNS,
    EARLIER_CSV_COLUMNS,
    MARKER,
    MEASUREMENTS,
    fit_contention_slowdown,
)
from ecssim.docker.timing_file import check_target
from ecssim.scenario import load_scenario, load_scenario_dict
from ecssim.scenario.distributions import Lognormal

SAMPLES = 3
#: Bursts of 2..MAX_BURST concurrent starts; calibrate's default rounds per size for SAMPLES.
MAX_BURST = 4
BURST_ROUNDS = max(2, SAMPLES // 4)
#: A minimal scenario (the pattern of tests/test_readme.py's BASE) to load the timing into.
BASE = {
    "duration": "10m",
    "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 1}]},
    "taskDefinitions": [{"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "memory": 512}]}],
    "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 1}],
}


@pytest.fixture(scope="module")
def calibration(engine):  # noqa: ANN001, ANN201
    return calibrate(engine, SAMPLES, max_burst=MAX_BURST)


def test_measurement_figures() -> None:
    m = Measurement("x", "what", (0.1, 0.2, 0.4, 0.3))
    assert (m.n, m.median, m.min, m.max) == (4, pytest.approx(0.25), 0.1, 0.4)
    assert m.p5 == pytest.approx(np.percentile([0.1, 0.2, 0.3, 0.4], 5))
    assert m.sigma == pytest.approx(np.std(np.log([0.1, 0.2, 0.3, 0.4]), ddof=1))
    assert m.lognormal() == {"type": "lognormal", "median": 0.25, "sigma": round(m.sigma, 4)}


def test_figures_are_positive_and_plausible(calibration, engine) -> None:  # noqa: ANN001
    assert set(calibration.measurements) == set(MEASUREMENTS)
    for name, m in calibration.measurements.items():
        assert m.n == SAMPLES, (name, m.note)
        assert 0 < m.min <= m.p5 <= m.median <= m.p95 <= m.max, name
    assert calibration.measurements["containerStart"].max < 5
    assert calibration.measurements["containerStop"].max < 5  # SIGTERM trapped: not the 10 s timeout
    assert calibration.measurements["killToExit"].max < 5
    assert calibration.measurements["oomKill"].max < 10
    assert managed_containers(engine, calibration.run_id) == []


def test_timing_file_loads_into_a_scenario(calibration) -> None:  # noqa: ANN001
    text = calibration.to_yaml("timing.samples.csv")
    lines = text.splitlines()
    assert lines[0].startswith(MARKER)
    header = "\n".join(line for line in lines if line.startswith("#"))
    assert calibration.engine.version in header and f"{SAMPLES} samples per measurement" in header
    for name in MEASUREMENTS:
        assert f"# {name}" in header
    assert "no simulator field yet" in header and "timing.samples.csv" in header
    data = copy.deepcopy(BASE)
    data.update(yaml.safe_load(text))
    timing = load_scenario_dict(data, source="calibration").timing
    for name, field in (("containerStart", timing.container_start), ("containerStop", timing.container_stop)):
        measured = calibration.measurements[name]
        assert isinstance(field, Lognormal)
        assert field.median == pytest.approx(measured.median, abs=1e-6)
        assert field.sigma == pytest.approx(measured.sigma, abs=1e-4)
    simulated = timing.container_start.sample_n(np.random.default_rng(0), 40_000)
    assert np.median(simulated) == pytest.approx(calibration.measurements["containerStart"].median, rel=0.03)


def test_write_is_safe(calibration, tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "timing.yaml"
    timing_file, csv_file = write_calibration(calibration, path)
    assert csv_file == samples_path(path) == tmp_path / "timing.samples.csv"
    raw = pd.read_csv(csv_file)
    lone = raw[raw["burst"] == 1]
    assert tuple(raw.columns) == CSV_COLUMNS and len(lone) == SAMPLES * len(MEASUREMENTS)
    assert set(lone["measurement"]) == set(MEASUREMENTS)
    medians = raw.groupby("measurement")["seconds"].median()
    assert medians["containerStart"] == pytest.approx(calibration.measurements["containerStart"].median)
    with pytest.raises(CalibrationFileError, match="use --force"):
        write_calibration(calibration, path)
    write_calibration(calibration, path, force=True)
    foreign = tmp_path / "mine.yaml"
    foreign.write_text("timing: {}\n")
    with pytest.raises(CalibrationFileError, match="not written by ecssim"):
        write_calibration(calibration, foreign, force=True)
    assert foreign.read_text() == "timing: {}\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml", "timing.samples.csv", "timing.yaml"]


def test_fit_contention_slowdown() -> None:
    assert fit_contention_slowdown([(2, 1.4), (3, 1.8)]) == pytest.approx((1 * 0.4 + 2 * 0.8) / (1 + 4))
    assert fit_contention_slowdown([(2, 1.2), (2, 1.6), (4, 2.2)]) == pytest.approx((0.2 + 0.6 + 3 * 1.2) / 11)
    assert fit_contention_slowdown([(2, 0.9), (3, 0.95)]) == 0.0  # faster together: clipped at 0
    with pytest.raises(ValueError, match="no burst"):
        fit_contention_slowdown([(1, 1.3)])


def _burst_rows(raw: pd.DataFrame) -> pd.DataFrame:
    return raw[raw["measurement"] == BURST_MEASUREMENT]


def test_bursts_are_recorded_by_size_and_round(calibration, tmp_path) -> None:  # noqa: ANN001
    _, csv_file = write_calibration(calibration, tmp_path / "timing.yaml")
    raw = pd.read_csv(csv_file)
    bursts = _burst_rows(raw)
    assert (raw.loc[raw["measurement"] != BURST_MEASUREMENT, "burst"] == 1).all()
    assert sorted(bursts["burst"].unique()) == list(range(2, MAX_BURST + 1))
    for (size, _), members in bursts.groupby(["burst", "sample"]):
        assert len(members) == members["container_id"].nunique() == size  # k distinct containers per round
    rounds = bursts.groupby("burst")["sample"].nunique()
    assert rounds.to_dict() == dict.fromkeys(range(2, MAX_BURST + 1), BURST_ROUNDS)
    in_memory = [s for s in calibration.raw if s.measurement == BURST_MEASUREMENT]
    assert len(in_memory) == len(bursts) == BURST_ROUNDS * sum(range(2, MAX_BURST + 1))
    assert {k: m.n for k, m in calibration.bursts().items()} == {k: k * BURST_ROUNDS for k in range(2, MAX_BURST + 1)}
    assert (bursts["seconds"] > 0).all() and (bursts["seconds"] < 10).all()


def test_contention_slowdown_is_refitted_from_the_raw_samples(calibration, tmp_path) -> None:  # noqa: ANN001
    _, csv_file = write_calibration(calibration, tmp_path / "timing.yaml")
    raw = pd.read_csv(csv_file)
    lone_median = raw.loc[raw["measurement"] == "containerStart", "seconds"].median()
    round_means = _burst_rows(raw).groupby(["burst", "sample"])["seconds"].mean().reset_index()
    x = round_means["burst"] - 1
    y = round_means["seconds"] / lone_median - 1
    expected = max(0.0, float((x * y).sum() / (x * x).sum()))
    assert calibration.contention_slowdown == pytest.approx(expected, rel=1e-9)
    assert calibration.timing_section()["containerStartContention"] == {"slowdown": round(expected, 4)}
    # On a real engine concurrent starts share its processors: together they ARE slower.
    top = _burst_rows(raw).loc[lambda r: r["burst"] == MAX_BURST, "seconds"].median() / lone_median
    assert calibration.burst_ratio(MAX_BURST) == pytest.approx(top)
    assert top > 1.1 and expected > 0
    header = "\n".join(calibration.header())
    assert f"containerStartContention slowdown {expected:.4f}" in header
    assert f"{BURST_ROUNDS} rounds per size" in header
    for k in range(2, MAX_BURST + 1):
        assert f"  {calibration.burst_ratio(k):>6.3f} {1 + expected * (k - 1):>6.3f}" in header


def test_timing_file_with_contention_loads_with_load_scenario(calibration, tmp_path) -> None:  # noqa: ANN001
    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(yaml.safe_dump(BASE))
    timing_file, _ = write_calibration(calibration, tmp_path / "timing.yaml")
    assert "  containerStartContention: {slowdown: " in timing_file.read_text()
    timing = load_scenario(scenario_file, timing=timing_file).timing
    contention = timing.container_start_contention
    assert contention.slowdown == pytest.approx(round(calibration.contention_slowdown, 4))
    assert contention.scope == "instance"  # left to the default: docker-validate sets "cluster" itself
    assert timing.container_start.median == pytest.approx(calibration.measurements["containerStart"].median, abs=1e-6)


def test_max_burst_1_measures_no_bursts(engine, tmp_path: Path) -> None:  # noqa: ANN001
    target = tmp_path / "timing.yaml"
    result = CliRunner().invoke(main, ["docker-calibrate", "--out", str(target), "--samples", "2", "--max-burst", "1"])
    assert result.exit_code == 0, result.output
    raw = pd.read_csv(tmp_path / "timing.samples.csv")
    assert BURST_MEASUREMENT not in set(raw["measurement"]) and (raw["burst"] == 1).all()
    assert len(raw) == 2 * len(MEASUREMENTS)
    text = target.read_text()
    assert "containerStartContention" not in text and BURST_MEASUREMENT not in text
    assert "containerStartContention" not in result.output
    assert yaml.safe_load(text)["timing"].keys() == {"containerStart", "containerStop"}


def test_max_burst_below_1_is_refused(engine, tmp_path: Path) -> None:  # noqa: ANN001
    result = CliRunner().invoke(main, ["docker-calibrate", "--out", str(tmp_path / "t.yaml"), "--max-burst", "0"])
    assert result.exit_code == 2 and "--max-burst" in result.output
    with pytest.raises(ValueError, match="max_burst"):
        calibrate(engine, 2, max_burst=0)


def test_a_samples_file_of_the_earlier_format_is_still_ours(tmp_path: Path) -> None:
    path = tmp_path / "timing.yaml"
    path.write_text(f"{MARKER}: old\ntiming: {{}}\n")
    samples_path(path).write_text(",".join(EARLIER_CSV_COLUMNS) + "\ncontainerStart,0,0.1,0.1,abc\n")
    check_target(path, force=True)  # no error: both files are docker-calibrate's
    samples_path(path).write_text("my,own,columns\n")
    with pytest.raises(CalibrationFileError, match="not written by ecssim"):
        check_target(path, force=True)
