"""The ``--check-invariants`` mode: it catches each kind of corruption, names it, and every shipped
scenario runs clean with it on.

Each "catches" test breaks one piece of the simulator on purpose (a ledger that forgets a
port or releases twice, a host that forgets memory, a task state, a service bound, a table's
order) and asserts the violation names the invariant, the entity and the numbers.
"""

from __future__ import annotations

import glob
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

import ecssim
from ecssim.cli import main
from ecssim.control.service import ServiceScheduler
from ecssim.experiments.runner import RunSpec
from ecssim.model import invariants
from ecssim.model.agent import SimulatedAgent
from ecssim.model.cluster import Cluster
from ecssim.model.eventlog import ROW_WIDTH
from ecssim.model.invariants import InvariantViolation, check_tables
from ecssim.model.recorder import Recorder

from .helpers import I1, I2, scenario, service, task_definition

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(glob.glob(str(ROOT / "scenarios" / "*.yaml")))


def ported() -> dict:
    """Two m5.large instances (2048 CPU units each), a service of 2 tasks with static host port 80,
    a standalone batch of 3, a scale-up to 3 at 60 s (one per instance: the third cannot be placed)."""
    return scenario(
        instances=2, duration="5m",
        task_definitions=[task_definition("web", host_port=80), task_definition("batch", cpu=512)],
        services=[service("web", "web", 2)],
        actions=[{"type": "runTask", "name": "jobs", "at": 30, "taskDefinition": "batch", "count": 3, "duration": 60},
                 {"type": "updateService", "name": "up", "at": 60, "service": "web", "desiredCount": 3}],
    )


def deployment(maximum: int = 100, minimum: int = 50) -> dict:
    """web:1 warm-started with 4 tasks on 2 instances, web:2 deployed at 100 s within ``maximum``/``minimum``."""
    web1 = {**task_definition("web"), "revision": 1}
    web2 = {**task_definition("web"), "revision": 2}
    config = {"maximumPercent": maximum, "minimumHealthyPercent": minimum}
    return scenario(
        instances=2, duration="15m", warmStart=True, task_definitions=[web1, web2],
        services=[service("web", "web:1", 4, deploymentConfiguration=config)],
        actions=[{"type": "updateService", "name": "deploy", "at": 100, "service": "web", "taskDefinition": "web:2"}],
    )


def checked(data: dict, seed: int = 1) -> ecssim.Result:
    return ecssim.simulate(ecssim.load_scenario_dict(data), seed=seed, check_invariants=True)


def violation(data: dict) -> str:
    with pytest.raises(InvariantViolation) as caught:
        checked(data)
    return str(caught.value)


# --------------------------------------------------------------------------- the mode's switches
def test_clean_run_reads_every_row() -> None:
    sim = ecssim.Simulation(ecssim.load_scenario_dict(ported()), 1, check_invariants=True)
    res = sim.run_until().result()
    assert sim.checker is not None
    assert sim.checker.cursor == len(res.events) > 0
    assert len(res.placement_failures) > 0  # the third web task found no port 80
    assert set(res.tasks.instance_id) == {I1, I2}


def test_environment_variable_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    scenario_model = ecssim.load_scenario_dict(ported())
    monkeypatch.setenv(invariants.ENV_VAR, "0")
    assert ecssim.Simulation(scenario_model, 1).checker is None
    assert ecssim.Simulation(scenario_model, 1, check_invariants=True).checker is not None
    monkeypatch.setenv(invariants.ENV_VAR, "1")
    assert ecssim.Simulation(scenario_model, 1).checker is not None
    assert ecssim.Simulation(scenario_model, 1, check_invariants=False).checker is None


def test_the_choice_travels_with_a_sweep_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from ecssim.experiments.sweep import run_spec

    assert RunSpec(0, 0, 1, {}, "", "").check_invariants is False

    class Point:
        scenario_data: dict = {}

    class Exp:
        replications, seed, scenario_source, scenario_base_dir = 1, 3, "x.yaml", "."

        def point(self, index: int) -> Point:
            return Point()

    monkeypatch.setenv(invariants.ENV_VAR, "1")
    assert run_spec(Exp(), 0, 0).check_invariants is True
    assert run_spec(Exp(), 0, 0, check_invariants=False).check_invariants is False
    monkeypatch.setenv(invariants.ENV_VAR, "0")
    assert run_spec(Exp(), 0, 0).check_invariants is False


# --------------------------------------------------------------------------- the ledgers
def test_catches_a_port_the_control_plane_forgets(monkeypatch: pytest.MonkeyPatch) -> None:
    reserve = Cluster.reserve

    def forgetful(self, slot, task):  # noqa: ANN001, ANN202
        reserve(self, slot, task)
        for port in task.spec.demand.tcp_ports:
            self.view.tcp_ports_used[port][slot] = False

    monkeypatch.setattr(Cluster, "reserve", forgetful)
    # The service reacts 10 s in and places web on both instances at once; slot order decides.
    assert violation(ported()) == (f"invariant violated at t=10s: instance {I1}: control-plane ports: "
                                   "80/tcp marked False, held by t-000002")


def test_catches_a_release_made_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    release = Cluster.release

    def twice(self, slot, task):  # noqa: ANN001, ANN202
        release(self, slot, task)
        if task.spec.family == "batch":
            self.view.cpu_free[slot] += task.cpu
            self.view.memory_free[slot] += task.memory

    monkeypatch.setattr(Cluster, "release", twice)
    # The batch tasks run 60 s from t=30 (2 s start): the first stops at 92 s, on I1 with a web
    # task (256) and another batch task (512) left.
    assert violation(ported()) == (f"invariant violated at t=92s: instance {I1}: control-plane ledger: "
                                   "cpu free 1792, registered 2048 - held 768 = 1280 (2 tasks)")


def test_catches_an_over_committed_host(monkeypatch: pytest.MonkeyPatch) -> None:
    acquire = SimulatedAgent._acquire

    def generous(self, task):  # noqa: ANN001, ANN202
        acquire(self, task)
        self.host_memory_free += task.memory  # the host forgets what the task holds

    monkeypatch.setattr(SimulatedAgent, "_acquire", generous)
    assert violation(ported()) == (f"invariant violated at t=10s: instance {I2}: host ledger: memory free 7979, "
                                   "registered 7979 - held 512 = 7467 (1 tasks)")


def test_catches_a_stopped_task_still_holding_the_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def keeps(self, task):  # noqa: ANN001, ANN202
        self.rec.task_state(task, "STOPPED")
        del self.tasks[task.id]  # never released

    monkeypatch.setattr(SimulatedAgent, "_finish", keeps)
    assert violation(ported()) == ("invariant violated at t=92s: task t-000003: a STOPPED task holds nothing: "
                                   f"still in the host ledger of {I1}")


def test_catches_a_group_count_never_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Cluster, "release_desired", lambda self, slot, task: None)
    assert violation(ported()) == (f"invariant violated at t=92s: instance {I1}: control-plane task count: "
                                   "3 counted, 2 desired RUNNING")


def test_catches_spread_totals_the_cluster_forgets_to_update(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Cluster, "_spread_change", lambda self, group, slot, change: None)
    assert violation(ported()) == ("invariant violated at t=10s: group service:web: spread totals: "
                                   "ecs.availability-zone: cached [0.0, 0.0, 1.0], recounted [0.0, 1.0, 1.0]")


# --------------------------------------------------------------------------- tasks
def test_catches_a_task_left_behind_on_its_host(monkeypatch: pytest.MonkeyPatch) -> None:
    def stays(self, task):  # noqa: ANN001, ANN202
        self.rec.task_state(task, "STOPPED")
        if task.host_acquired:
            self._release(task)

    monkeypatch.setattr(SimulatedAgent, "_finish", stays)
    assert violation(ported()) == (f"invariant violated at t=92s: instance {I1}: task conservation: the agent "
                                   "has 3 tasks, the rows 2 (differing: ['t-000003'])")


def test_catches_a_state_that_moves_backwards(monkeypatch: pytest.MonkeyPatch) -> None:
    task_state = Recorder.task_state

    def again(self, task, new_state):  # noqa: ANN001, ANN202
        task_state(self, task, new_state)
        if new_state == "ACTIVATING" and task.spec.family == "batch":
            task_state(self, task, "PENDING")

    monkeypatch.setattr(Recorder, "task_state", again)
    assert violation(ported()) == "invariant violated at t=32s: task t-000003: states move forward: ACTIVATING -> PENDING"


def test_catches_a_task_on_two_instances(monkeypatch: pytest.MonkeyPatch) -> None:
    task_event = Recorder.task_event

    def moved(self, task, event):  # noqa: ANN001, ANN202
        if event == "pull_started" and task.id == "t-000003":
            task.slot = 1 - task.slot
        task_event(self, task, event)

    monkeypatch.setattr(Recorder, "task_event", moved)
    assert violation(ported()) == ("invariant violated at t=30s: task t-000003: one instance: pull_started row on "
                                   f"'{I2}', task on '{I1}'")


# --------------------------------------------------------------------------- services
def test_catches_a_service_over_maximum_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ServiceScheduler, "_room", lambda self: 100)
    # At the deployment's first reconcile (100 s + 10 s) the scheduler, told it has room, starts
    # web:2 tasks before retiring web:1 ones: the first new task makes 5 of 4 x 100%.
    assert violation(deployment(maximum=100, minimum=50)) == (
        "invariant violated at t=110s: service web: maximumPercent: t-000005 makes 5 tasks not STOPPED > "
        "floor(4 x 100%) = 4")


def test_catches_a_service_below_minimum_healthy_percent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ServiceScheduler, "_floor", lambda self: 0)
    # Told its floor is 0, the scheduler retires all four healthy web:1 tasks at once.
    assert violation(deployment(maximum=100, minimum=50)) == (
        "invariant violated at t=110s: service web: minimumHealthyPercent: the scheduler stopped a healthy task, "
        "leaving 0 healthy < ceil(4 x 50%) = 2")


def test_scale_in_may_stop_below_the_floor() -> None:
    """A lower desiredCount stops tasks whatever their health: ECS's own exception, not a violation."""
    data = scenario(instances=2, duration="10m", warmStart=True, task_definitions=[task_definition("web")],
                    services=[service("web", "web", 4, deploymentConfiguration={"minimumHealthyPercent": 100})],
                    actions=[{"type": "updateService", "name": "down", "at": 60, "service": "web",
                              "desiredCount": 1}])
    res = checked(data)
    assert int((res.tasks.stop_code == "ServiceSchedulerInitiated").sum()) == 3


def test_deployments_within_bounds_run_clean() -> None:
    res = checked(deployment(maximum=150, minimum=50))
    assert set(res.tasks.task_definition) == {"web:1", "web:2"}


# --------------------------------------------------------------------------- tables
def test_catches_a_table_out_of_time_order() -> None:
    res = checked(ported())
    check_tables(res)
    res.service_events = res.service_events.iloc[::-1].reset_index(drop=True)
    with pytest.raises(InvariantViolation, match=r"table service_events: time_s in time order: row 1 at "):
        check_tables(res)


def test_catches_an_event_row_back_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    task_event = Recorder.task_event

    def late(self, task, event):  # noqa: ANN001, ANN202
        task_event(self, task, event)
        if event == "pull_stopped" and task.id == "t-000003":
            self.log.events.flat[-ROW_WIDTH] -= 5.0  # the last row's time_s (rows are stored flat)

    monkeypatch.setattr(Recorder, "task_event", late)
    with pytest.raises(InvariantViolation, match=r"events: time goes backwards: row task t-000003 at 25"):
        checked(ported())


# --------------------------------------------------------------------------- the CLI
def test_cli_exits_1_with_the_violation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(ported()), encoding="utf-8")
    monkeypatch.setattr(SimulatedAgent, "_acquire", _forgetful_acquire)
    result = CliRunner().invoke(main, ["run", str(path), "--check-invariants"])
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        f"error: invariant violated at t=10s: instance {I1}: host ledger: memory free 7979, registered 7979 - "
        "held 512 = 7467 (1 tasks)"]
    clean = CliRunner().invoke(main, ["run", str(path), "--no-check-invariants"])
    assert clean.exit_code == 0, clean.output


def test_sweep_fails_the_runs_that_violate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    (tmp_path / "s.yaml").write_text(yaml.safe_dump(ported()), encoding="utf-8")
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump({"name": "broken", "scenario": "s.yaml", "seed": 1,
                                                         "replications": 2}), encoding="utf-8")
    monkeypatch.setattr(SimulatedAgent, "_acquire", _forgetful_acquire)
    args = ["sweep", str(tmp_path / "sweep.yaml"), "--executor", "serial", "-q"]
    result = CliRunner().invoke(main, [*args, "--check-invariants"])
    assert result.exit_code == 1
    assert "point 0 replication 0: InvariantViolation: invariant violated at t=10s: instance " in result.output
    assert CliRunner().invoke(main, [*args, "--no-check-invariants"]).exit_code == 0


_ACQUIRE = SimulatedAgent._acquire


def _forgetful_acquire(self, task):  # noqa: ANN001, ANN202
    _ACQUIRE(self, task)
    self.host_memory_free += task.memory


# --------------------------------------------------------------------------- every shipped scenario
@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: Path(p).stem)
def test_shipped_scenarios_run_clean(path: str) -> None:
    model = ecssim.load_scenario(path)
    if model.duration > 6 * 3600:  # long stories: their first 6 hours
        model = model.model_copy(update={"duration": 6 * 3600.0})
    res = ecssim.simulate(model, seed=1, check_invariants=True)
    assert len(res.events) > 0
    assert math.isfinite(res.duration_s)



def test_checking_changes_nothing() -> None:
    """The checked run's tables are the unchecked run's (the checker only reads)."""
    model = ecssim.load_scenario(ROOT / "scenarios" / "teaching-3-instances.yaml")
    sim = ecssim.Simulation(model, 4, check_invariants=True)
    sim.run_until("7m")
    checked_events = sim.run_until().result().events
    plain = ecssim.simulate(model, 4, check_invariants=False).events
    assert checked_events.equals(plain)
