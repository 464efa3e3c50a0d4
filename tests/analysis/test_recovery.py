"""Recovery rows: one per (incident, affected service)."""

from __future__ import annotations

import math

from ecssim.analysis import SCHEMAS, events_table, recovery_table, tasks_table


def recovery_of(log):
    events = events_table(log)
    return recovery_table(events, tasks_table(log, events))


def test_single_incident(outage):
    recovery = recovery_of(outage)
    assert recovery.dtypes.astype(str).to_dict() == SCHEMAS["recovery"]
    assert len(recovery) == 1
    row = recovery.iloc[0]
    assert (row["incident_id"], row["kind"], row["service"]) == ("inc-0001", "instance_failure",
                                                                 "web")
    assert row["fault_time_s"] == 100.0
    assert row["tasks_lost"] == 2
    assert row["time_to_first_replacement_s"] == 30.0  # t-000003 RUNNING at 130
    assert row["recovered_at_s"] == 140.0  # second replacement RUNNING
    assert row["time_to_desired_s"] == 40.0
    assert not row["overlapped"]
    assert row["not_recovered_reason"] == ""


def crash_log(b, second_crash_at: float | None, replacements: bool = True):
    """web (desired 2) and api (desired 1); crashes of web tasks, one crash of api."""
    b.instance("i-a", "az1", active=0)
    b.service("web", 2)
    b.service("api", 1)
    b.task("t-000001", "i-a", service="web", created=0, running=10, stopping=100, stopped=102,
           incident="inc-0001", stop_code="EssentialContainerExited")
    b.fault(100, "inc-0001", "task_crash", service="web")
    if second_crash_at is not None:
        b.task("t-000002", "i-a", service="web", created=0, running=10,
               stopping=second_crash_at, stopped=second_crash_at + 1, incident="inc-0002")
        b.fault(second_crash_at, "inc-0002", "task_crash", service="web")
    else:
        b.task("t-000002", "i-a", service="web", created=0, running=10)
    b.task("t-000010", "i-a", service="api", created=0, running=10, stopping=105, stopped=106,
           incident="inc-0003")
    b.fault(105, "inc-0003", "task_crash", service="api")
    b.task("t-000011", "i-a", service="api", created=115, running=118)
    if replacements:
        b.task("t-000003", "i-a", service="web", created=120, running=150)
        if second_crash_at is not None:
            b.task("t-000004", "i-a", service="web", created=121, running=160)
    return b.build()


def test_overlapping_incidents(builder):
    recovery = recovery_of(crash_log(builder, second_crash_at=110)).set_index("incident_id")
    assert recovery.index.tolist() == ["inc-0001", "inc-0003", "inc-0002"]  # by fault time
    first, second, api = (recovery.loc[i] for i in ("inc-0001", "inc-0002", "inc-0003"))
    # web gets back to 2 RUNNING only at 160, for both incidents
    assert (first["recovered_at_s"], first["time_to_desired_s"]) == (160.0, 60.0)
    assert (second["recovered_at_s"], second["time_to_desired_s"]) == (160.0, 50.0)
    assert first["time_to_first_replacement_s"] == 50.0  # created 120 >= 100, RUNNING 150
    assert second["time_to_first_replacement_s"] == 40.0  # created 120 >= 110
    assert first["overlapped"] and second["overlapped"]
    # api's incident falls inside web's windows, but it is another service
    assert not api["overlapped"]
    assert (api["recovered_at_s"], api["tasks_lost"]) == (118.0, 1)


def test_incidents_on_one_service_without_overlap(builder):
    recovery = recovery_of(crash_log(builder, second_crash_at=200)).set_index("incident_id")
    # inc-0001 recovers at 150 (t-000003 RUNNING), before inc-0002 happens at 200
    assert recovery.loc["inc-0001", "recovered_at_s"] == 150.0
    assert not recovery.loc["inc-0001", "overlapped"]
    # t-000004 (RUNNING at 160) makes 3 RUNNING: losing one at 200 keeps web at desired, so
    # recovery is reached at the incident's last loss row (STOPPED at 201)
    assert recovery.loc["inc-0002", "recovered_at_s"] == 201.0
    assert recovery.loc["inc-0002", "time_to_desired_s"] == 1.0
    assert not recovery.loc["inc-0002", "overlapped"]


def test_not_recovered_by_end_of_run(builder):
    recovery = recovery_of(crash_log(builder, second_crash_at=None, replacements=False))
    row = recovery.set_index("incident_id").loc["inc-0001"]
    assert math.isnan(row["recovered_at_s"]) and math.isnan(row["time_to_desired_s"])
    assert math.isnan(row["time_to_first_replacement_s"])
    assert row["not_recovered_reason"] == "not_recovered_by_end_of_run"
    assert not row["overlapped"]  # alone on its service, even with an open-ended window


def test_unrecovered_window_overlaps_later_incidents(builder):
    log = crash_log(builder, second_crash_at=300, replacements=False)
    recovery = recovery_of(log).set_index("incident_id")
    assert recovery.loc["inc-0001", "overlapped"] and recovery.loc["inc-0002", "overlapped"]


def test_incident_without_service_tasks_has_no_row(builder):
    builder.instance("i-a", "az1", active=0)
    builder.task("t-000001", "i-a", created=0, running=5, killed=20, incident="inc-0001")
    builder.fault(20, "inc-0001", "instance_failure", instance_id="i-a")
    assert len(recovery_of(builder.build())) == 0
