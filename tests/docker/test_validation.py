"""A real crash, replaced by the scheduler, against the calibrated simulation's prediction.

The scenario (``scenarios/docker-validation.yaml`` with a fixed 2 s service reaction, so the
time to a replacement is the reaction plus a real container start, not a 15 s reconcile
cycle that would hide the latency model) runs once with real containers; the calibration is
measured first on separate containers. The real run's mean time from a crash to its
replacement RUNNING, and its median task start latency, must fall inside the simulated 95 %
prediction intervals, and those intervals must be narrower than the bounds below: with the
simulator's uncalibrated 2 s container start, both intervals would sit well below the real
values (about 12 simulated seconds per start at this time scale), so the check can fail.

A run's figures depend on how its crashes fall: replacements started at the same moment
share the engine and take longer (the calibrated contention). Seed 7's crashes are neither
all at once nor all apart; a seed whose four crashes coincide (seed 4) is a rare run, and
5 % of runs fall outside a 95 % interval by definition, so the test does not draw a fresh
seed. In 7 trials in a row its time to replacement was 15.6-18.0 s against intervals from
12.2-18.2 s to 13.5-21.3 s; it fell outside once, when other work loaded the 2-core machine
during the real run (real starts then take twice as long). The calibration takes 20 samples
(docker-calibrate's default): with fewer, its spread and contention fit are too noisy for
intervals this narrow. About 45 s.
"""

from __future__ import annotations

from pathlib import Path

from ecssim.docker import calibrate, managed_containers
from ecssim.docker.compare import validate
from ecssim.scenario import load_scenario_dict
from ecssim.scenario.loading import read_scenario_data

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "docker-validation.yaml"
FACTOR = 0.02
REACTION_S = 2.0
SEED = 7
#: Widest acceptable prediction intervals (simulated seconds; measured 7-9 s): the spread of
#: a start (sigma ~0.1 lognormal, 1 to 4 concurrent starts) on top of the fixed reaction.
REPLACEMENT_WIDTH_BOUND_S = 12.0
LATENCY_WIDTH_BOUND_S = 12.0


def fixed_reaction_scenario():  # noqa: ANN201
    data = read_scenario_data(SCENARIO)
    data["timing"] = {"serviceReaction": {"mode": "delay", "delay": {"type": "constant", "value": REACTION_S}}}
    return load_scenario_dict(data)


def test_a_real_crash_is_replaced_within_the_calibrated_prediction(engine, image) -> None:  # noqa: ANN001
    calibration = calibrate(engine, samples=20).timing_section()  # its own containers, not the validation's
    validation = validate(fixed_reaction_scenario(), calibration_timing=calibration, factor=FACTOR, real_runs=1,
                          sim_replications=20, seed=SEED, client=engine)
    table = validation.comparison
    print(table.to_string())  # the measured figures, in the test log
    real = validation.real[0]
    # a real crash: the host SIGKILLed the container's process and the engine saw it exit 137
    exits = validation.real_exits[0]
    assert ((exits["crashed"]) & (exits["exit_code"] == 137)).any(), exits
    crashed = real.tasks[real.tasks["stop_code"] == "EssentialContainerExited"]
    assert len(crashed) >= 1 and set(crashed["incident_id"]) <= set(real.recovery["incident_id"])
    # ... replaced by the service scheduler, with a real container started
    replacements = real.tasks[(real.tasks["started_by"] != "warmStart") & real.tasks["started_at_s"].notna()]
    assert len(replacements) >= len(crashed)
    # the real figures inside the simulated prediction, and the prediction narrow enough to mean it
    rows = table[table["incident_id"] == ""].set_index("metric")
    for metric, bound in (("first_replacement_time_mean_s", REPLACEMENT_WIDTH_BOUND_S),
                          ("task_start_latency_median_s", LATENCY_WIDTH_BOUND_S)):
        row = rows.loc[metric]
        assert row["sim_n"] >= 19, row.to_dict()
        assert row["width"] <= bound, row.to_dict()
        assert row["inside"], row.to_dict()
    assert all(c.labels.get("ecssim.kind") != "task" for c in managed_containers(engine))
