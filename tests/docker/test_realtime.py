"""The wall-clock driver of the Docker mode (no engine needed): real time, thread-safe wake-ups."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

import ecssim
from ecssim.docker.realtime import WallClockEnvironment

ROOT = Path(__file__).resolve().parents[2]


def test_simulated_time_follows_the_wall_clock_without_busy_waiting() -> None:
    env = WallClockEnvironment(factor=0.01)  # 100 simulated seconds per wall second
    seen: list[tuple[float, float]] = []

    def ticker():  # noqa: ANN202
        for _ in range(4):
            yield env.timeout(10)  # 0.1 s of wall time each
            seen.append((env.now, time.monotonic()))

    env.process(ticker())
    wall, cpu = time.monotonic(), time.process_time()
    env.run(until=45)
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    assert [now for now, _ in seen] == [10, 20, 30, 40]
    assert 0.44 <= wall < 0.8  # it waited for the clock: 45 simulated s = 0.45 wall s
    assert cpu < 0.1 * wall  # and slept meanwhile (no busy loop)
    # each tick at its own wall instant, not before it (2 ms for the timer's rounding) and at
    # most 0.1 s after: a tick the machine delays does not delay the next, whose gap shrinks
    lateness = [at - env.wall_time(now) for now, at in seen]
    assert all(-0.002 <= late <= 0.1 for late in lateness), lateness


def test_a_posted_callback_runs_at_once_stamped_with_its_simulated_time() -> None:
    env = WallClockEnvironment(factor=0.01)
    arrived = env.event()
    resumed: list[float] = []

    def waiter():  # noqa: ANN202
        value = yield arrived
        resumed.append((env.now, value))

    env.process(waiter())
    posted_at: list[float] = []

    def engine_thread() -> None:
        time.sleep(0.2)
        posted_at.append(time.monotonic())
        env.call_threadsafe(arrived.succeed, "started")

    thread = threading.Thread(target=engine_thread)
    thread.start()
    env.run(until=100)  # 1 s of wall time; the callback comes after 0.2 s
    thread.join()
    (now, value), = resumed
    assert value == "started"
    assert now == pytest.approx(env.simulated_time(posted_at[0]), abs=3.0)  # within 30 ms of wall time
    assert 19 <= now <= 30


def test_posted_callbacks_run_in_order_and_never_move_the_clock_back() -> None:
    env = WallClockEnvironment(factor=0.01)
    order: list[tuple[int, float]] = []
    env.timeout(5)  # an event due at 5
    for i in range(3):
        env.call_threadsafe(lambda i=i: order.append((i, env.now)))
    env.run(until=6)
    assert [i for i, _ in order] == [0, 1, 2]
    assert all(0 <= now <= 5 for _, now in order)


def test_the_world_runs_in_it_with_the_same_event_log() -> None:
    scenario = ecssim.load_scenario(ROOT / "scenarios" / "teaching-3-instances.yaml")
    simulated = ecssim.simulate(scenario, seed=4)
    walled = ecssim.Simulation(scenario, seed=4, env=WallClockEnvironment(factor=0.0002)).run_until().result()
    assert walled.events.equals(simulated.events)


def test_the_factor_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive number of wall seconds"):
        WallClockEnvironment(factor=0)
