"""Calibration on the real engine: plausible figures and a timing file the simulator accepts."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import yaml

from ecssim.docker import (
    CalibrationFileError,
    Measurement,
    calibrate,
    managed_containers,
    samples_path,
    write_calibration,
)
from ecssim.docker.calibrate import CSV_COLUMNS, MARKER, MEASUREMENTS
from ecssim.scenario import load_scenario_dict
from ecssim.scenario.distributions import Lognormal

SAMPLES = 3
#: A minimal scenario (the pattern of tests/test_readme.py's BASE) to load the timing into.
BASE = {
    "duration": "10m",
    "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 1}]},
    "taskDefinitions": [{"family": "web", "containerDefinitions": [{"name": "app", "image": "x", "memory": 512}]}],
    "services": [{"serviceName": "web", "taskDefinition": "web", "desiredCount": 1}],
}


@pytest.fixture(scope="module")
def calibration(engine):  # noqa: ANN001, ANN201
    return calibrate(engine, SAMPLES)


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
    assert tuple(raw.columns) == CSV_COLUMNS and len(raw) == SAMPLES * len(MEASUREMENTS)
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
