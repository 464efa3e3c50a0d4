"""Container starts sharing one engine: processor sharing with a measured slowdown."""

from __future__ import annotations

import pytest
import simpy

from ecssim import simulate
from ecssim.model.start_sharing import StartSharing
from ecssim.scenario import load_scenario_dict


def finish_times(starts: list[tuple[float, float]], slowdown: float,
                 interrupt: tuple[int, float] | None = None) -> list[float | None]:
    """Run starts of (begin, work) on one engine; the finish time of each (None: abandoned)."""
    env = simpy.Environment()
    sharing = StartSharing(env, slowdown)
    finished: list[float | None] = [None] * len(starts)
    processes = []

    def start(index: int, begin: float, work: float):  # noqa: ANN202
        yield env.timeout(begin)
        try:
            yield from sharing.run(work)
        except simpy.Interrupt:
            return
        finished[index] = env.now

    for index, (begin, work) in enumerate(starts):
        processes.append(env.process(start(index, begin, work)))
    if interrupt is not None:
        which, at = interrupt

        def stop():  # noqa: ANN202
            yield env.timeout(at)
            processes[which].interrupt()

        env.process(stop())
    env.run()
    assert sharing.in_progress == 0
    return finished


def test_a_start_alone_takes_its_work() -> None:
    assert finish_times([(3.0, 2.0)], slowdown=0.4) == [pytest.approx(5.0)]


@pytest.mark.parametrize("k", [2, 3, 4])
def test_k_starts_at_once_each_take_1_plus_slowdown_times_k_minus_1(k: int) -> None:
    assert finish_times([(0.0, 2.0)] * k, slowdown=0.4) == [pytest.approx(2.0 * (1 + 0.4 * (k - 1)))] * k


def test_staggered_starts_share_only_while_both_run() -> None:
    # A alone for 5 s (5 of 10 done), then both at half speed: A needs 10 s more (done at 15);
    # B has done 5 by then and finishes its last 5 alone, at 20.
    assert finish_times([(0.0, 10.0), (5.0, 10.0)], slowdown=1.0) == [pytest.approx(15.0), pytest.approx(20.0)]


def test_an_abandoned_start_stops_slowing_the_others() -> None:
    # both at half speed until B is interrupted at 4 (2 done each); A's last 8 alone: done at 12
    assert finish_times([(0.0, 10.0), (0.0, 10.0)], slowdown=1.0, interrupt=(1, 4.0)) == [pytest.approx(12.0), None]


def test_without_slowdown_starts_are_independent() -> None:
    assert finish_times([(0.0, 3.0), (1.0, 3.0), (1.5, 1.0)], slowdown=0.0) == pytest.approx([3.0, 4.0, 2.5])


def test_negative_slowdown_is_refused() -> None:
    with pytest.raises(ValueError, match="slowdown"):
        StartSharing(simpy.Environment(), -0.1)


def scenario(contention: dict | None):  # noqa: ANN201
    timing = {"containerStart": {"type": "constant", "value": 2}, "imagePull": {"type": "constant", "value": 0}}
    if contention is not None:
        timing["containerStartContention"] = contention
    return load_scenario_dict({
        "duration": "60s", "warmStart": True,
        "cluster": {"fleets": [{"name": "f", "instanceType": "m5.large", "count": 2,
                                "availabilityZones": ["us-east-1a", "us-east-1b"]}]},
        "taskDefinitions": [{"family": "job", "cpu": 256, "memory": 256,
                             "containerDefinitions": [{"name": "c", "image": "x:1"}]}],
        "workloads": [{"name": "jobs", "taskDefinition": "job", "count": 4,
                       "arrivals": {"type": "schedule", "at": [10]},
                       "duration": {"type": "constant", "value": 20},
                       "placementStrategy": [{"type": "spread", "field": "instanceId"}]}],
        "timing": timing,
    })


def start_times(contention: dict | None) -> list[float]:
    """Per task, from the pull's end to RUNNING: the container start as the tables show it."""
    tasks = simulate(scenario(contention), seed=0).tasks
    assert sorted(tasks["instance_id"].value_counts()) == [2, 2]  # two starts at once on each instance
    return sorted((tasks["started_at_s"] - tasks["pull_stopped_at_s"]).round(9))


@pytest.mark.parametrize(("contention", "each"), [
    (None, 2.0),
    ({"slowdown": 0.5}, 3.0),  # per instance: 2 at once, 2 * (1 + 0.5)
    ({"slowdown": 0.5, "scope": "cluster"}, 5.0),  # one engine: 4 at once, 2 * (1 + 0.5 * 3)
])
def test_the_tables_show_starts_slowed_by_their_engine(contention: dict | None, each: float) -> None:
    assert start_times(contention) == [each] * 4
