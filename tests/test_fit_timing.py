"""``ecssim fit-timing``: ECS task state-change events to a fitted ``timing:`` file.

Synthetic event files come from known distributions (seeded numpy generators); a hand-written
file of 12 realistic tasks pins the timestamp-to-sample mapping exactly.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ecssim.cli import main
from ecssim.fit import (
    EventFileError,
    field_samples,
    fit_candidates,
    fit_events,
    read_events,
    weibull_shape,
)
from ecssim.fit.families import choose, ks_statistic
from ecssim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
REALISTIC = ROOT / "tests" / "data" / "ecs-task-events.jsonl"
DEMO = ROOT / "scenarios" / "demo.yaml"
BASE = datetime(2024, 5, 1, 9, 0, 0, tzinfo=UTC)


def _iso(seconds: float) -> str:
    moment = BASE + timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _event(arn: str, version: int, status: str, fields: dict[str, float], **extra: object) -> dict:
    detail = {"taskArn": arn, "lastStatus": status, "launchType": "EC2", "version": version,
              **{k: _iso(v) for k, v in fields.items()}, **extra}
    return {"version": "0", "id": f"{arn[-6:]}-{version}", "detail-type": "ECS Task State Change",
            "source": "aws.ecs", "time": _iso(max(fields.values())), "region": "eu-west-1", "detail": detail}


def synthetic_events(seed: int, n: int, pull, start, stop) -> list[dict]:  # noqa: ANN001 - samplers
    """Three events per task (PENDING, RUNNING, STOPPED by the scheduler) with latencies drawn
    by ``pull(rng, n)``, ``start(rng, n)``, ``stop(rng, n)``; timestamps to the millisecond."""
    rng = np.random.default_rng(seed)
    pulls, starts, stops = pull(rng, n), start(rng, n), stop(rng, n)
    events = []
    for i in range(n):
        arn = f"arn:aws:ecs:eu-west-1:123456789012:task/prod/{i:032x}"
        created = 10.0 * i
        t = {"createdAt": created, "pullStartedAt": created + 0.4}
        t["pullStoppedAt"] = t["pullStartedAt"] + pulls[i]
        t["startedAt"] = t["pullStoppedAt"] + starts[i]
        stopping = t["startedAt"] + 600
        events.append(_event(arn, 1, "PENDING", {k: t[k] for k in ("createdAt", "pullStartedAt")}))
        events.append(_event(arn, 2, "RUNNING", t))
        events.append(_event(arn, 3, "STOPPED", {**t, "stoppingAt": stopping, "executionStoppedAt": stopping + stops[i],
                                                 "stoppedAt": stopping + stops[i] + 0.5},
                             stopCode="ServiceSchedulerInitiated"))
    return events


def write_lines(path: Path, events: list[dict]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def _lognormal(median: float, sigma: float):  # noqa: ANN202
    return lambda rng, n: rng.lognormal(math.log(median), sigma, n)


def test_fit_recovers_known_distributions(tmp_path: Path) -> None:
    """400 tasks: pull lognormal (median 8 s, sigma 0.5), start lognormal (median 2 s, sigma
    0.1), stop uniform 1-10 s. Tolerances at n = 400: lognormal median within 10 % (about 4
    standard errors of the log-median) and sigma within 0.08; uniform ends within 0.1 s (the
    expected gap of an extreme is 9/401 s); the chosen family is the true one."""
    events = synthetic_events(7, 400, _lognormal(8, 0.5), _lognormal(2, 0.1), lambda rng, n: rng.uniform(1, 10, n))
    fit = fit_events(write_lines(tmp_path / "events.jsonl", events))
    pull, start, stop = (fit.fields[name] for name in ("imagePull", "containerStart", "containerStop"))
    assert (pull.n, start.n, stop.n) == (400, 400, 400)
    assert pull.chosen.family == "lognormal" and start.chosen.family == "lognormal"
    assert pull.chosen.params["median"] == pytest.approx(8, rel=0.10)
    assert pull.chosen.params["sigma"] == pytest.approx(0.5, abs=0.08)
    assert start.chosen.params["median"] == pytest.approx(2, rel=0.10)
    assert start.chosen.params["sigma"] == pytest.approx(0.1, abs=0.08)
    assert stop.chosen.family == "uniform"
    assert stop.chosen.params["low"] == pytest.approx(1, abs=0.1)
    assert stop.chosen.params["high"] == pytest.approx(10, abs=0.1)
    assert fit.fields["eniAttach"].n == 0  # no ENI attachment in these events
    section = fit.timing_section()
    assert set(section) == {"imagePull", "containerStart", "containerStop"}
    assert section["containerStop"]["type"] == "uniform"


def test_exponential_and_weibull_samples_choose_their_family() -> None:
    """n = 400: exponential mean 5 s recovered within 10 %; Weibull shape 1.5, scale 30 s, each
    within 10 % (standard errors about 4 % and 3 %)."""
    rng = np.random.default_rng(11)
    exponential = choose(fit_candidates(rng.exponential(5, 400)))
    assert exponential.family == "exponential"
    assert exponential.params["mean"] == pytest.approx(5, rel=0.10)
    weibull = choose(fit_candidates(30 * rng.weibull(1.5, 400)))
    assert weibull.family == "weibull"
    assert weibull.params["shape"] == pytest.approx(1.5, rel=0.10)
    assert weibull.params["scale"] == pytest.approx(30, rel=0.10)


def test_weibull_shape_maximises_the_likelihood() -> None:
    """The Newton root beats every shape of a fine grid (scale profiled out at each)."""
    x = np.array([0.8, 1.9, 2.2, 3.5, 4.1, 4.4, 6.0, 7.3, 9.9, 12.5])

    def profile(k: float) -> float:
        scale = np.mean(x**k) ** (1 / k)
        return len(x) * math.log(k / scale**k) + (k - 1) * np.log(x).sum() - np.sum((x / scale) ** k)

    best = weibull_shape(x)
    grid = np.linspace(0.3, 5, 4701)
    assert profile(best) >= max(profile(k) for k in grid) - 1e-9
    assert abs(best - grid[np.argmax([profile(k) for k in grid])]) < 1e-3


def test_equal_samples_are_a_constant_and_ks_is_the_largest_gap() -> None:
    (only,) = fit_candidates(np.full(30, 2.5))
    assert (only.family, only.params, only.entry()) == ("constant", {"value": 2.5}, {"type": "constant", "value": 2.5})
    # empirical CDF steps 1/3, 2/3, 1 against 0.2, 0.5, 0.9: largest gap 0.9 - 2/3
    assert ks_statistic(np.array([1.0, 2.0, 3.0]), np.array([0.2, 0.5, 0.9])) == pytest.approx(0.9 - 2 / 3)


def test_realistic_events_give_the_hand_computed_samples() -> None:
    """tests/data/ecs-task-events.jsonl: 12 tasks, 34 task events (one task's RUNNING event
    before its PENDING one) and a container-instance event. Left out: a Fargate task's pull, a
    cached pull (0 s), the stop of a task that failed to start (no pull end, no start) and of a
    batch task whose container exited by itself. The awsvpc task gives the only eniAttach."""
    log = read_events(REALISTIC)
    assert (len(log.tasks), log.events) == (12, 34)
    assert log.skipped == {"ECS Container Instance State Change": 1}
    samples = field_samples(log)
    expected = {
        "imagePull": [6.755, 7.630, 8.510, 8.525, 9.254, 9.750, 10.465, 11.706, 13.765],
        "containerStart": [1.808, 1.810, 1.810, 1.905, 1.914, 1.947, 2.113, 2.130, 2.180, 2.218, 2.522],
        "containerStop": [1.576, 2.411, 3.218, 4.125, 6.750, 9.875],  # executionStoppedAt, else stoppedAt
        "eniAttach": [7.615],
    }
    for name, values in expected.items():
        assert sorted(samples[name].values) == pytest.approx(values, abs=1e-6), name
    assert samples["imagePull"].zeros == 1
    assert any("cached image, 10%" in note for note in samples["imagePull"].notes)
    assert any("1 Fargate task" in note for note in samples["imagePull"].notes)
    never_started = next(t for t in log.tasks if t.stop_code == "TaskFailedToStart")
    assert "startedAt" not in never_started.times and "pullStoppedAt" not in never_started.times
    awsvpc = [t for t in log.tasks if t.has_eni]
    assert len(awsvpc) == 2  # the EC2 awsvpc task and the Fargate one


def test_realistic_events_fit_with_a_low_minimum(tmp_path: Path) -> None:
    fit = fit_events(REALISTIC, min_samples=10)
    assert fit.fields["imagePull"].chosen is None and "9 samples, fewer than 10" in fit.fields["imagePull"].note
    assert fit.fields["containerStop"].chosen is None
    start = fit.fields["containerStart"]
    assert start.n == 11 and start.chosen is not None
    assert {c.family for c in start.candidates} == {"exponential", "uniform", "lognormal", "weibull"}
    assert start.chosen.aic == min(c.aic for c in start.candidates)
    text = fit.to_yaml()
    assert text.startswith("# ecssim fit-timing")
    assert "# period: 2024-05-01T09:00:00Z to 2024-05-01T10:00:04Z" in text
    assert text.rstrip().endswith("timing:\n  containerStart: {type: uniform, low: 1.808, high: 2.522}")


def test_json_array_and_cloudwatch_logs_export_read_alike(tmp_path: Path) -> None:
    lines = [json.loads(line) for line in REALISTIC.read_text().splitlines()]
    array = tmp_path / "events.json"
    array.write_text(json.dumps(lines, indent=2))
    logs = tmp_path / "filter-log-events.json"
    logs.write_text(json.dumps({"events": [{"timestamp": 0, "message": json.dumps(e)} for e in lines]}))
    reference = field_samples(read_events(REALISTIC))
    for path in (array, logs):
        samples = field_samples(read_events(path))
        for name, s in reference.items():
            assert list(samples[name].values) == list(s.values), (path.name, name)


@pytest.mark.parametrize(("text", "message"), [
    ('{"detail-type": "ECS Task State Change", "detail": {"taskArn": "a"}}\n{"detail-type": \n', "line 2: malformed JSON"),
    ('{"detail-type": "ECS Task State Change", "detail": {"lastStatus": "RUNNING"}}\n', "line 1: an 'ECS Task State "
     "Change' event without detail.taskArn"),
    ('{"detail-type": "ECS Task State Change", "detail": {"taskArn": "a", "startedAt": "yesterday"}}\n',
     "line 1: detail.startedAt"),
    ('{"detail-type": "ECS Task State Change", "detail": {"taskArn": "a", "startedAt": "2024-05-01T09:00:00"}}\n',
     "has no time zone"),
    ('[{"detail-type": "ECS Task State Change",\n "detail": {"taskArn": "a"}},\n oops]\n', "line 3: malformed JSON"),
    ('[{"detail-type": "ECS Task State Change", "detail": {"taskArn": "a"}}, 5]', "element 1: expected an event object"),
    ("  \n", "the file is empty"),
])
def test_malformed_event_files_name_the_file_and_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(text)
    with pytest.raises(EventFileError, match="events.jsonl") as caught:
        read_events(path)
    assert message in str(caught.value)


def invoke(*args: str):  # noqa: ANN201
    return CliRunner().invoke(main, list(args))


def test_cli_refuses_bad_input_and_foreign_files(tmp_path: Path) -> None:
    out = tmp_path / "fitted.yaml"
    missing = invoke("fit-timing", str(tmp_path / "nope.jsonl"), "--out", str(out))
    assert missing.exit_code == 2 and "nope.jsonl: cannot read" in missing.output
    too_few = invoke("fit-timing", str(REALISTIC), "--out", str(out))
    assert too_few.exit_code == 2 and "no field has 20 or more samples" in too_few.output
    assert not out.exists()
    assert invoke("fit-timing", str(REALISTIC), "--out", str(out), "--min-samples", "5").exit_code == 0
    again = invoke("fit-timing", str(REALISTIC), "--out", str(out), "--min-samples", "5")
    assert again.exit_code == 2 and "use --force" in again.output
    assert invoke("fit-timing", str(REALISTIC), "--out", str(out), "--min-samples", "5", "--force").exit_code == 0
    foreign = tmp_path / "mine.yaml"
    foreign.write_text("timing:\n  containerStart: 3s\n")
    refused = invoke("fit-timing", str(REALISTIC), "--out", str(foreign), "--min-samples", "5", "--force")
    assert refused.exit_code == 2 and "not written by ecssim fit-timing" in refused.output
    assert foreign.read_text() == "timing:\n  containerStart: 3s\n"


def test_fitted_file_drives_a_run(tmp_path: Path) -> None:
    """Slow pulls (median 60 s) and starts (median 10 s) fitted from events, then the demo run
    with them: the scenario takes the fitted fields, and replacements take longer to start."""
    events = synthetic_events(3, 200, _lognormal(60, 0.3), _lognormal(10, 0.2), lambda rng, n: rng.uniform(2, 5, n))
    out = tmp_path / "fitted.yaml"
    fitted = invoke("fit-timing", str(write_lines(tmp_path / "events.jsonl", events)), "--out", str(out))
    assert fitted.exit_code == 0, fitted.output
    assert "imagePull" in fitted.output and f"written: {out}" in fitted.output
    timing = load_scenario(DEMO, timing=out).timing
    assert timing.image_pull.type == "lognormal" and timing.image_pull.median == pytest.approx(60, rel=0.1)
    assert timing.container_stop.type == "uniform"
    plain = invoke("run", str(DEMO), "--out", str(tmp_path / "plain"))
    slow = invoke("run", str(DEMO), "--timing", str(out), "--out", str(tmp_path / "slow"))
    assert plain.exit_code == 0 and slow.exit_code == 0, slow.output
    import pandas as pd

    def start_latency(folder: str) -> float:
        tasks = pd.read_csv(tmp_path / folder / "tasks.csv")
        started = tasks.dropna(subset=["started_at_s"])
        started = started[started["created_at_s"] > 0]  # warm-started tasks start at t = 0
        return float((started["started_at_s"] - started["created_at_s"]).median())

    assert start_latency("plain") == 2.0  # the demo's images are cached: its constant 2 s containerStart
    assert start_latency("slow") > 2.0 + 5


def test_readme_example_is_the_real_output(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    text = fit_events(Path("tests/data/ecs-task-events.jsonl"), min_samples=5).to_yaml()
    assert text in (ROOT / "README.md").read_text(encoding="utf-8")
