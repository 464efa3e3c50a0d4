"""Summary metrics computed while the run appends its rows, for the summary-only mode.

:class:`OnlineSummary` consumes the very tuples the :class:`~ecssim.model.recorder.Recorder`
writes to an :class:`~ecssim.model.eventlog.EventLog`, in append order, and keeps only what
later rows still need, so memory does not grow with the rows (what still grows with simulated
time is the simulator's own state of every instance ever launched, and a few numbers per
recovered (incident, service)). Its
:meth:`~OnlineSummary.result` gives the metrics of :func:`ecssim.analysis.summary.summarize`
under the same names, in the same order, computed by the same rules.

State kept: one small record per *live* task (dropped at its STOPPED row, or at its
``host_released`` row when that comes later) and per live instance (dropped at INACTIVE);
levels and open recovery searches per service, and its demand series; one record per deployment; per incident its
fault time and kind and one small record per (incident, affected service), as the ``recovery``
figures need every row's time to desired at the end (their mean is taken in the table's
order): an incident's rows shrink to five numbers each once no later row can change them
(:mod:`ecssim.analysis.online_recovery`); impairments while they are open. Nothing per
finished task or per row.

The cost and demand metrics have their own parts (:mod:`ecssim.analysis.online_cost`,
:mod:`ecssim.analysis.online_demand`), fed from the same rows.

Plug in with :meth:`OnlineSummary.sink`: an object with the ``EventLog`` attributes whose
``append`` feeds the summary (and ``len`` counts the rows, as ``Recorder.placement_failure``
and ``Simulation.run_until`` need). It keeps no rows, so ``Simulation.step`` and ``result``
and the invariant checker (which read the rows back) cannot run with it.

Exactness, checked against ``summarize`` of the full tables for every shipped scenario:

- equal: every count, ``placement_failure_fraction``, the ``peak_*`` fractions, the recovery
  figures and every ``mttr_*`` name (same values in the same order, same numpy calls),
  ``deployment_duration_mean_s``, ``demand_unserved_longest_s`` (the same sequential float
  additions), ``duration_s``, ``measure_from_s``;
- equal within 1e-9 relative (:data:`SUMMED_METRIC_NAMES`): ``mean_cpu_reserved_fraction``,
  ``mean_memory_reserved_fraction``, ``mean_tasks_running``, ``service_availability_mean``,
  the four ``cost_*`` metrics and ``demand_unserved_pct``. The terms (step levels times
  segment widths, each resource's clipped bill, each RUNNING interval) are the same floats,
  but ``summarize`` adds them with numpy's pairwise summation, whose grouping depends on
  how many terms there are (unknown while streaming) and, for costs and RUNNING time, on
  the tables' row order; here they are added in arrival order with Neumaier's compensated
  sum (about one ulp). In practice the two differ by a few 1e-16 relative or not at all.

Not available in summary-only mode (left out of the result, :data:`LEFT_OUT_METRIC_NAMES`,
never approximated): ``first_replacement_time_mean_s``. The first RUNNING of a service task
created at or after the fault may come before the incident's first loss row reaches the
summary (a replacement for another reason, or a slow stop): answering exactly needs each
service's history of task starts, which grows with the run.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ecssim.analysis.cost import COST_METRIC_NAMES, INSTANCE
from ecssim.analysis.demand import DEMAND_EVENT, RESOURCE_COLUMNS
from ecssim.analysis.deployments import COMPLETED, FAILED, ROLLOUT_ENDS
from ecssim.analysis.health import HEALTHY, UNHEALTHY
from ecssim.analysis.incidents import CONNECTED, DISCONNECTED
from ecssim.analysis.online_cost import OnlineCost
from ecssim.analysis.online_demand import OnlineDemand
from ecssim.analysis.online_recovery import SettledRecoveries, recovery_columns
from ecssim.analysis.online_sums import StepWindow, mttr_statistics
from ecssim.analysis.schema import (
    ACTIVATING,
    CONTROL_PLANE_FREE_STATES,
    PENDING,
    PROVISIONING,
    REGISTERED_INSTANCE_STATES,
    RUNNING,
    STOP_STATES,
    STOPPED,
    STOPPING_COUNT_STATES,
)
from ecssim.analysis.steps import check_window
from ecssim.analysis.summary import KNOWN_FAULT_KINDS, METRIC_NAMES, mttr_names

NAN = math.nan

#: Metrics of ``summarize`` left out of the online result (see the module docstring).
LEFT_OUT_METRIC_NAMES: tuple[str, ...] = ("first_replacement_time_mean_s",)
#: The fixed metrics :meth:`OnlineSummary.result` returns, in ``summarize``'s order (the
#: data-dependent MTTR names follow them, as there).
ONLINE_METRIC_NAMES: tuple[str, ...] = tuple(n for n in METRIC_NAMES if n not in LEFT_OUT_METRIC_NAMES)
#: Of those, the time-weighted means equal to ``summarize``'s within 1e-9 relative (module doc).
SUMMED_METRIC_NAMES: tuple[str, ...] = (
    "mean_cpu_reserved_fraction",
    "mean_memory_reserved_fraction",
    "mean_tasks_running",
    "service_availability_mean",
    *COST_METRIC_NAMES,
    "demand_unserved_pct",
)

# Cluster level vector, as the cluster scope of the ``capacity`` table (all its count columns:
# a change of any of them starts a new step, which decides the segments the means add up).
_ACTIVE, _CPU_REG, _MEM_REG, _CPU_RES, _MEM_RES, _CPU_HOST, _MEM_HOST = range(7)
_LEVEL_OF_STATE = {PROVISIONING: 7, PENDING: 8, ACTIVATING: 9, RUNNING: 10}
_LEVEL_OF_STATE |= dict.fromkeys(STOPPING_COUNT_STATES, 11)
_RUNNING_LEVEL = 10
_LEVEL_COUNT = 12
_STARTING = (PROVISIONING, PENDING, ACTIVATING)


def _split(values: np.ndarray, codes: np.ndarray) -> dict[int, np.ndarray]:
    """``values`` per code, each in its original order."""
    order = np.argsort(codes, kind="stable")
    ordered = codes[order]
    bounds = np.flatnonzero(ordered[1:] != ordered[:-1]) + 1
    return {int(group[0]): values[part] for group, part in
            zip(np.split(ordered, bounds), np.split(order, bounds), strict=True) if len(group)}


class _Recovery:
    """One row of the ``recovery`` table being built: an (incident, service) the incident affected.

    ``recovered_at_s`` (``time_to_desired_s`` + fault) is the first instant at or after
    ``since`` = max(last loss, end of the last impairment) at which the service's RUNNING count
    is at least its desired count; ``since`` is known once no impairment is open, and moves
    (restarting the search) with each later loss or impairment end, all of which come in time
    order.
    """

    __slots__ = ("incident", "service", "open", "recovered_at")

    def __init__(self, incident: str, service: str) -> None:
        self.incident, self.service = incident, service
        self.open = 0  # impairments not yet ended: since is not known
        self.recovered_at: float | None = None  # None: not (yet) back to desired since ``since``


class _Hit:
    """A RUNNING service task on a host whose agent an incident disconnected (impaired), until
    it leaves RUNNING, gets a health row to UNHEALTHY or its agent reconnects."""

    __slots__ = ("row", "open")

    def __init__(self, row: _Recovery) -> None:
        self.row = row
        self.open = True


class _Task:
    """What later rows of a live task need: its reservation and the indicators it adds."""

    __slots__ = ("cpu", "memory", "service", "instance", "level", "placed", "freed", "reserved", "status",
                 "counts", "started", "stopping", "unhealthy", "stopped", "host", "hits", "running_since",
                 "hourly", "pulled", "pending", "incident")

    def __init__(self, cpu: int, memory: int, service: str) -> None:
        self.cpu, self.memory, self.service = cpu, memory, service
        self.instance = ""  # its first row's instance: where ECS placed it
        self.level = -1  # index in the cluster level vector of its state (-1: none)
        self.placed = self.freed = self.reserved = False
        self.status = ""  # its state after its last state row
        self.counts = (False, False, False)  # (running, pending, healthy) it adds to its service
        self.started = self.stopped = False
        self.stopping = self.unhealthy = False  # had a stop row / a health row to UNHEALTHY
        self.host = 0  # host_acquired rows not yet released
        self.hits: list[_Hit] = []  # impairments of it that may still be open
        self.running_since = 0.0  # time of its last state row, when that row was to RUNNING
        self.hourly: float | None = None  # a Fargate task's price (None: not billed per task)
        self.pulled: float | None = None  # its first pull_started row (Fargate billing starts there)
        self.pending: float | None = None  # its first row to PENDING (the start without a pull)
        self.incident = ""  # the incident its last row carried


class _Sink:
    """A stand-in for one list of the ``EventLog``: ``append`` feeds the summary, ``len`` counts."""

    __slots__ = ("append", "_count")

    def __init__(self, append: Callable[[tuple], None], count: Callable[[], int]) -> None:
        self.append = append
        self._count = count

    def __len__(self) -> int:
        return self._count()


class SummaryLog:
    """What the simulator may use instead of an ``EventLog`` in summary-only mode."""

    __slots__ = ("events", "tasks", "instances", "services", "placement_failures", "service_events")

    def __init__(self, summary: OnlineSummary) -> None:
        counts = summary.row_counts
        self.events = _Sink(summary.event, lambda: counts["events"])
        self.tasks = _Sink(summary.task, lambda: counts["tasks"])
        self.instances = _Sink(summary.instance, lambda: counts["instances"])
        self.services = _Sink(summary.service, lambda: counts["services"])
        self.placement_failures = _Sink(summary.placement_failure, lambda: counts["placement_failures"])
        self.service_events = _Sink(summary.service_event, lambda: counts["service_events"])


class OnlineSummary:
    """Streaming :func:`~ecssim.analysis.summary.summarize` over ``[measure_from_s, duration_s]``.

    Call :meth:`event`, :meth:`task`, :meth:`instance`, :meth:`service`,
    :meth:`placement_failure` and :meth:`service_event` with each row as it is appended (or use
    :meth:`sink`), then :meth:`result` once, at the end of the run.
    """

    def __init__(self, measure_from_s: float, duration_s: float, prices: Mapping[str, Any] | None = None) -> None:
        """``prices``: the scenario's ``prices`` section in camelCase (as ``Result`` reads it from the
        resolved scenario); without it the cost metrics are NaN, as in ``summarize``."""
        self.start, self.end = check_window(measure_from_s, duration_s)
        self.cost = OnlineCost(self.start, self.end, prices)  # bills, and task-seconds RUNNING
        self.demand = OnlineDemand(self.start, self.end)
        self.costs: dict[str, float] = {}  # the cost metrics, once the run is over
        self.row_counts = dict.fromkeys(
            ("events", "tasks", "instances", "services", "placement_failures", "service_events"), 0)
        self.now = -math.inf
        self.tasks: dict[str, _Task] = {}  # live tasks
        self.instances: dict[str, list] = {}  # live: [cpu, memory, registered?, launched_at_s, hourly price]
        self.levels = [0] * _LEVEL_COUNT  # cluster levels after the rows so far
        self.emitted = tuple(self.levels)  # the last cluster step (0 before the first)
        self.cluster = StepWindow(self.start, self.end, (NAN, NAN, 0.0))
        self.service_levels: dict[str, list[int]] = {}  # [desired, running, pending, healthy]
        self.service_emitted: dict[str, tuple[int, ...]] = {}
        self.service_windows: dict[str, StepWindow] = {}
        self.listed: dict[str, None] = {}  # services registered or with a counts step: the mean's services
        self.touched: dict[str, None] = {}  # services whose levels rows changed at this instant
        self.deployments: dict[str, list] = {}  # id -> [service, created_at_s, rollout, rollout_at_s]
        self.incident_ids: set[str] = set()  # incidents with a fault row in the window
        self.faults: dict[str, tuple[float, str]] = {}  # incident -> (time, kind) of its first fault row
        self.fault_kinds: set[str] = set()  # kinds of every fault row
        self.service_names: set[str] = set()  # services registered
        self.recovery: dict[tuple[str, str], _Recovery] = {}  # (incident, service) -> its row
        self.settled = SettledRecoveries()  # rows no later row can change, compacted
        self.carriers: dict[str, int] = {}  # incident -> live tasks whose last row carried it
        self.rows_of: dict[str, list[_Recovery]] = {}  # incident -> its rows in ``recovery``
        self.recheck: dict[tuple[str, str], _Recovery] = {}  # rows whose ``since`` is this instant
        self.waiting: dict[str, dict[tuple[str, str], _Recovery]] = {}  # service -> rows not back yet
        self.on_host: dict[str, dict[str, None]] = {}  # instance id -> live tasks placed there
        self.host_hits: dict[str, list[_Hit]] = {}  # instance id -> impairments its reconnect ends
        self.disconnects: list[tuple[str, str]] = []  # (instance id, incident) disconnected this instant
        self.tally = dict.fromkeys(
            ("tasks_created", "tasks_started", "tasks_stopped", "tasks_failed_to_start",
             "placement_failures", "instances_launched", "instances_lost"), 0)
        self.finished = False

    def sink(self) -> SummaryLog:
        """An ``EventLog`` look-alike whose lists feed this summary (see the module docstring)."""
        return SummaryLog(self)

    def _inside(self, time_s: float) -> bool:
        return self.start <= time_s <= self.end

    # ------------------------------------------------------------------ registries
    def task(self, row: tuple) -> None:
        """A ``TASK_COLUMNS`` row: the task was created."""
        self.row_counts["tasks"] += 1
        task = self.tasks[row[0]] = _Task(int(row[8]), int(row[9]), row[4])
        if row[6] == "FARGATE":
            task.hourly = self.cost.fargate_hourly(task.cpu, task.memory, row[12] == "FARGATE_SPOT")
        if self._inside(row[11]):
            self.tally["tasks_created"] += 1

    def instance(self, row: tuple) -> None:
        """An ``INSTANCE_COLUMNS`` row: the instance was launched."""
        self.row_counts["instances"] += 1
        self.instances[row[0]] = [int(row[5]), int(row[6]), False, row[7], self.cost.instance_hourly(row[2], row[4])]
        if self._inside(row[7]):
            self.tally["instances_launched"] += 1

    def service(self, row: tuple) -> None:
        """A ``SERVICE_COLUMNS`` row: the service exists (it counts in the availability mean)."""
        self.row_counts["services"] += 1
        self._service(row[0])
        self.listed[row[0]] = None
        self.service_names.add(row[0])

    def placement_failure(self, row: tuple) -> None:
        """A ``PLACEMENT_FAILURE_COLUMNS`` row."""
        self.row_counts["placement_failures"] += 1
        if self._inside(row[1]):
            self.tally["placement_failures"] += 1

    def service_event(self, row: tuple) -> None:
        """A ``SERVICE_EVENT_COLUMNS`` row (no summary metric reads them)."""
        self.row_counts["service_events"] += 1

    def _service(self, name: str) -> list[int]:
        levels = self.service_levels.get(name)
        if levels is None:
            levels = self.service_levels[name] = [0, 0, 0, 0]
            self.service_emitted[name] = (0, 0, 0, 0)
            self.service_windows[name] = StepWindow(self.start, self.end, (1.0,))
        return levels

    # ------------------------------------------------------------------ events
    def event(self, row: tuple) -> None:
        """An ``EVENT_COLUMNS`` row, in log order."""
        self.row_counts["events"] += 1
        time_s = row[0]
        if time_s != self.now:
            if time_s < self.now:
                raise ValueError(f"event row at {time_s} s after one at {self.now} s: rows must come in time order")
            self._close_instant()
            self.now = time_s
        entity = row[1]
        if entity == "task":
            self._task_row(row)
        elif entity == "instance":
            if row[3] == "state":
                self._instance_state(row)
            elif row[3] == "agent":
                self._agent(row)
        elif entity == "service":
            if row[3] == "desired_count":
                value = row[14]
                self._service(row[2])[0] = int(value) if value == value else 0
                self.touched[row[2]] = None
            elif row[3] == DEMAND_EVENT and row[5] in RESOURCE_COLUMNS:
                self.demand.row(row[5], row[2], row[14])
        elif entity == "deployment":
            self._deployment(row)
        elif entity == "fault":
            if row[3] == "fault":
                self._fault(row)

    def _task_row(self, row: tuple) -> None:
        _, _, task_id, event, _, to_state, _, _, instance_id, _, service, _, _, incident, _ = row
        task = self.tasks.get(task_id)
        if task is None:
            raise ValueError(f"event row for task {task_id} that is not live (not created, or already gone)")
        if instance_id and not task.instance:
            task.instance = instance_id
            self.on_host.setdefault(instance_id, {})[task_id] = None
        if incident != task.incident:
            self._carry(task, incident)
        if event == "state":
            self._capacity(task, to_state, instance_id)
            self._state(task, to_state, service)
            if to_state in STOP_STATES:
                self._stop_row(task, incident, service)
            if service:
                self._service_counts(task, service, False)
            if task.stopped and task.host == 0:
                self._drop(task_id, task)
        elif event == "pull_stopped":
            pass
        elif event == "pull_started":
            if task.pulled is None:
                task.pulled = self.now
        elif event == "host_acquired" or event == "host_released":
            sign = 1 if event == "host_acquired" else -1
            levels = self.levels
            levels[_CPU_HOST] += sign * task.cpu
            levels[_MEM_HOST] += sign * task.memory
            task.host += sign
            if task.stopped and task.host == 0:
                self._drop(task_id, task)
        elif event == "health":
            if to_state == UNHEALTHY and not task.unhealthy:
                task.unhealthy = True
                self._end_hits(task.hits)
            if service:
                self._service_counts(task, service, to_state == HEALTHY)
        elif event == "placed":
            self._capacity(task, to_state, instance_id)

    def _capacity(self, task: _Task, to_state: str, instance_id: str) -> None:
        """A state or placed row: the task's state count and its control-plane reservation."""
        levels = self.levels
        level = _LEVEL_OF_STATE.get(to_state, -1)
        if level != task.level:
            if task.level >= 0:
                levels[task.level] -= 1
            if level >= 0:
                levels[level] += 1
            task.level = level
        if instance_id:
            task.placed = True
        if to_state in CONTROL_PLANE_FREE_STATES:
            task.freed = True
        reserved = task.placed and not task.freed
        if reserved != task.reserved:
            sign = 1 if reserved else -1
            levels[_CPU_RES] += sign * task.cpu
            levels[_MEM_RES] += sign * task.memory
            task.reserved = reserved

    def _drop(self, task_id: str, task: _Task) -> None:
        """The task is STOPPED and holds nothing on its host: no later row needs it."""
        del self.tasks[task_id]
        if task.instance:
            placed = self.on_host[task.instance]
            del placed[task_id]
            if not placed:
                del self.on_host[task.instance]
        if task.incident:
            self._carry(task, "")

    def _carry(self, task: _Task, incident: str) -> None:
        """The task's rows carry ``incident`` from now on ("" for none, or once it is gone)."""
        carriers, old = self.carriers, task.incident
        if old:
            left = carriers[old] - 1
            if left:
                carriers[old] = left
            else:
                del carriers[old]
                rows = self.rows_of.get(old)
                if rows:
                    self._settle(rows[0])
        if incident:
            carriers[incident] = carriers.get(incident, 0) + 1
        task.incident = incident

    def _settle(self, row: _Recovery) -> None:
        """Compact the rows of ``row``'s incident once no live task carries it, each of its services
        is back to desired and no impairment is open: nothing in a simulator's log changes them
        then (module doc; should a later row mention the incident after all, :meth:`_restore`
        undoes it)."""
        incident = row.incident
        if incident in self.carriers or incident not in self.faults:
            return
        rows = self.rows_of[incident]
        for other in rows:
            if other.open or other.recovered_at is None:
                return
        if not self.settled.keeps(incident):
            return
        fault_time, kind = self.faults.pop(incident)
        counted = incident in self.incident_ids
        for other in rows:  # the incident counts once: with its first row
            self.settled.add(fault_time, incident, other.service, kind, other.recovered_at, counted)
            counted = False
            del self.recovery[(incident, other.service)]
        del self.rows_of[incident]
        self.incident_ids.discard(incident)

    def _restore(self, incident: str) -> None:
        """Put the compacted rows of ``incident`` back, as they were before :meth:`_settle`."""
        for fault_time, service, kind, recovered_at, counted in self.settled.take(incident):
            row = self.recovery[(incident, service)] = _Recovery(incident, service)
            row.recovered_at = recovered_at
            self.rows_of.setdefault(incident, []).append(row)
            self.faults[incident] = (fault_time, kind)
            if counted:
                self.incident_ids.add(incident)

    def _state(self, task: _Task, to_state: str, service: str) -> None:
        """A state row: the task's counts, its RUNNING time (cost per task-hour), its service's
        RUNNING tasks and their reservation (``demand`` capacity), all from the state rows alone."""
        now = self.now
        was_running, running = task.status == RUNNING, to_state == RUNNING
        if was_running:
            self.cost.running(task.running_since, now)
        if was_running != running and service:
            self.demand.running(service, 1 if running else -1, task.cpu, task.memory)
        task.status = to_state
        if running:
            task.running_since = now
            if not task.started:
                task.started = True
                if self.start <= now <= self.end:
                    self.tally["tasks_started"] += 1
        elif to_state == PENDING:
            if task.pending is None:
                task.pending = now
        elif to_state == STOPPED and not task.stopped:
            task.stopped = True
            if task.hourly is not None:
                self.cost.bill_fargate(task.hourly, task.pulled, task.pending, now, ended=True)
            if self.start <= now <= self.end:
                self.tally["tasks_stopped"] += 1
                if not task.started:
                    self.tally["tasks_failed_to_start"] += 1

    def _service_counts(self, task: _Task, service: str, healthy_row: bool) -> None:
        """A state or health row of a service task: what it adds to its service's counts."""
        status = task.status
        running = status == RUNNING
        counts = (running, status in _STARTING, running and healthy_row)
        before = task.counts
        if counts != before:
            levels = self._service(service)
            levels[1] += counts[0] - before[0]
            levels[2] += counts[1] - before[1]
            levels[3] += counts[2] - before[2]
            task.counts = counts
            self.touched[service] = None

    def _instance_state(self, row: tuple) -> None:
        instance_id, to_state = row[2], row[5]
        info = self.instances.get(instance_id)
        if info is None:
            raise ValueError(f"state row for instance {instance_id} that is not live (not launched, or INACTIVE)")
        on = to_state in REGISTERED_INSTANCE_STATES
        if on != info[2]:
            sign = 1 if on else -1
            levels = self.levels
            levels[_ACTIVE] += sign
            levels[_CPU_REG] += sign * info[0]
            levels[_MEM_REG] += sign * info[1]
            info[2] = on
        if to_state == "INACTIVE":
            if row[13] != "" and self._inside(row[0]):
                self.tally["instances_lost"] += 1
            if self.cost.prices:
                self.cost.bill(INSTANCE, info[4], info[3], row[0], ended=True)
            del self.instances[instance_id]
            hits = self.host_hits.pop(instance_id, None)
            if hits:
                hits = [hit for hit in hits if hit.open]  # ended by their task's stop row, later
                if hits:
                    self.host_hits[instance_id] = hits

    def _fault(self, row: tuple) -> None:
        incident = row[13]
        if incident not in self.faults and self.settled.holds(incident):
            self._restore(incident)
        if incident not in self.faults:
            self.faults[incident] = (row[0], row[5])
        self.fault_kinds.add(row[5])
        if self._inside(row[0]):
            self.incident_ids.add(incident)

    # ------------------------------------------------------------------ recovery
    def _row(self, incident: str, service: str) -> _Recovery:
        key = (incident, service)
        row = self.recovery.get(key)
        if row is None and self.settled.holds(incident):
            self._restore(incident)
            row = self.recovery.get(key)
        if row is None:
            row = self.recovery[key] = _Recovery(incident, service)
            self.rows_of.setdefault(incident, []).append(row)
        return row

    def _unsettle(self, row: _Recovery) -> None:
        """``since`` moves: forget the recovery found so far."""
        row.recovered_at = None
        key = (row.incident, row.service)
        self.waiting.get(row.service, {}).pop(key, None)
        self.recheck.pop(key, None)
        if row.open == 0:
            self.recheck[key] = row  # since = now: look at the service's counts at the end of this instant

    def _stop_row(self, task: _Task, incident: str, service: str) -> None:
        """A stop row ends the task's impairments; with an incident id it is a loss of its service."""
        if not task.stopping:
            task.stopping = True
            self._end_hits(task.hits)
        if incident and service:
            self._unsettle(self._row(incident, service))

    def _end_hits(self, hits: list[_Hit]) -> None:
        for hit in hits:
            if hit.open:
                hit.open = False
                hit.row.open -= 1
                self._unsettle(hit.row)
        hits.clear()

    def _agent(self, row: tuple) -> None:
        host = row[8] or row[2]
        if row[5] == DISCONNECTED:
            if row[13] != "":
                self.disconnects.append((host, row[13]))
        elif row[5] == CONNECTED:
            hits = self.host_hits.pop(host, None)
            if hits:
                self._end_hits(hits)

    def _impair(self) -> None:
        """The RUNNING service tasks on hosts disconnected at this instant, as it ends, are impaired."""
        for host, incident in self.disconnects:
            for task_id in self.on_host.get(host, ()):
                task = self.tasks[task_id]
                if task.service and task.started and not task.stopping and not task.unhealthy:
                    row = self._row(incident, task.service)
                    hit = _Hit(row)
                    row.open += 1
                    self._unsettle(row)
                    task.hits.append(hit)
                    self.host_hits.setdefault(host, []).append(hit)
        self.disconnects.clear()

    def _ok(self, service: str) -> bool:
        levels = self.service_levels.get(service)
        return levels is None or levels[1] >= levels[0]

    def _deployment(self, row: tuple) -> None:
        record = self.deployments.get(row[2])
        if record is None:
            record = self.deployments[row[2]] = [row[10], row[0], "", NAN]
        if row[3] == "rollout":
            record[2], record[3] = row[5], row[0]

    # ------------------------------------------------------------------ steps
    def _close_instant(self) -> None:
        """Turn the levels after the last row of the current instant into steps, where they changed."""
        if self.disconnects:
            self._impair()
        levels = tuple(self.levels)
        if levels != self.emitted:
            cpu, memory = levels[_CPU_REG], levels[_MEM_REG]
            self.cluster.change(self.now, (
                levels[_CPU_RES] / cpu if cpu > 0 else NAN,
                levels[_MEM_RES] / memory if memory > 0 else NAN,
                float(levels[_RUNNING_LEVEL]),
            ))
            self.emitted = levels
        if self.touched:
            for name in self.touched:
                counts = tuple(self.service_levels[name])
                if counts != self.service_emitted[name]:
                    self.service_windows[name].change(self.now, (1.0 if counts[1] >= counts[0] else 0.0,))
                    self.service_emitted[name] = counts
                    self.listed[name] = None
                    waiting = self.waiting.get(name)
                    if waiting and counts[1] >= counts[0]:
                        for row in waiting.values():
                            row.recovered_at = self.now
                        back = list(waiting.values())
                        waiting.clear()
                        for row in back:
                            self._settle(row)
            self.touched.clear()
        if self.demand.touched:
            self.demand.close(self.now)
        if self.recheck:
            back = []
            for key, row in self.recheck.items():
                if self._ok(row.service):
                    row.recovered_at = self.now
                    back.append(row)
                else:
                    self.waiting.setdefault(row.service, {})[key] = row
            self.recheck.clear()
            for row in back:
                self._settle(row)

    # ------------------------------------------------------------------ result
    def result(self) -> dict[str, float | int]:
        """The metrics of :data:`ONLINE_METRIC_NAMES`, as ``summarize`` would give them."""
        if not self.finished:
            self._close_instant()
            self.cluster.finish()
            for window in self.service_windows.values():
                window.finish()
            self.demand.finish()
            for task in self.tasks.values():
                if task.status == RUNNING:
                    self.cost.running(task.running_since, self.end)
            self.costs = self.cost.metrics(
                ((info[4], info[3]) for info in self.instances.values()),
                ((task.hourly, task.pulled, task.pending) for task in self.tasks.values()
                 if task.hourly is not None and not task.stopped))
            self.finished = True
        tally, cluster = self.tally, self.cluster
        created, failures = tally["tasks_created"], tally["placement_failures"]
        fractions = [self.service_windows[name].mean(0) for name in sorted(self.listed)]
        out: dict[str, float | int] = {
            "duration_s": self.end,
            "measure_from_s": self.start,
            **{name: tally[name] for name in ("tasks_created", "tasks_started", "tasks_stopped",
                                              "tasks_failed_to_start", "placement_failures")},
            "placement_failure_fraction": failures / (failures + created) if failures + created else NAN,
            "instances_launched": tally["instances_launched"],
            "instances_lost": tally["instances_lost"],
            "incidents": len(self.incident_ids) + self.settled.in_window,
            "peak_cpu_reserved_fraction": cluster.peaks[0],
            "peak_memory_reserved_fraction": cluster.peaks[1],
            "mean_cpu_reserved_fraction": cluster.mean(0),
            "mean_memory_reserved_fraction": cluster.mean(1),
            "mean_tasks_running": cluster.mean(2),
            "service_availability_mean": float(np.mean(fractions)) if fractions else NAN,
            **self._deployment_metrics(),
        }
        recovery, mttr = self._recovery_metrics()
        out |= recovery | mttr | self.costs | self.demand.metrics()
        fixed = {name: out.pop(name) for name in ONLINE_METRIC_NAMES}
        return fixed | out

    def _live_recovery_rows(self) -> list[tuple[float, str, str, str, float]]:
        """(fault time, incident, service, kind, recovered_at_s) of each row not settled; NaN fault
        time: the incident has no fault row, NaN recovered_at_s: not back to desired."""
        rows = []
        for (incident, service), row in self.recovery.items():
            fault_time, kind = self.faults.get(incident, (NAN, ""))
            recovered = row.recovered_at if row.open == 0 and row.recovered_at is not None else NAN
            rows.append((fault_time, incident, service, kind, recovered))
        return rows

    def _recovery_metrics(self) -> tuple[dict[str, float | int], dict[str, float]]:
        """The recovery figures and the MTTR names (as ``summarize``), from the rows in the window,
        taken in the table's order (:func:`~ecssim.analysis.online_recovery.recovery_columns`)."""
        live = self._live_recovery_rows()
        columns = recovery_columns(self.settled, live)
        fault_time, recovered_at = columns.fault_time, columns.recovered_at
        back = (fault_time >= self.start) & (fault_time <= self.end) & ~np.isnan(recovered_at)
        times = recovered_at[back] - fault_time[back]
        recovery = {
            "recovery_time_mean_s": float(times.mean()) if len(times) else NAN,
            "recovery_time_p95_s": float(np.percentile(times, 95)) if len(times) else NAN,
            "recovery_time_max_s": float(times.max()) if len(times) else NAN,
            # settled rows are all back to desired: only live ones can be unrecovered
            "unrecovered_incidents": len({r[1] for r in live if self._inside(r[0]) and r[4] != r[4]}),
        }
        by_kind, by_service = _split(times, columns.kind[back]), _split(times, columns.service[back])
        empty = times[:0]
        code_of = columns.code_of
        others = sorted(self.fault_kinds - set(KNOWN_FAULT_KINDS) - {""})
        mttr: dict[str, float] = {}
        for kind in (*KNOWN_FAULT_KINDS, *others):
            values = by_kind.get(code_of.get(kind, -1), empty)
            mttr |= dict(zip(mttr_names(kind), mttr_statistics(values), strict=True))
        for service in sorted(self.service_names | {service for _, service in self.recovery}
                              | self.settled.service_names()):
            values = by_service.get(code_of.get(service, -1), empty)
            mttr |= dict(zip(mttr_names(f"service_{service}"), mttr_statistics(values), strict=True))
        return recovery, mttr

    def _deployment_metrics(self) -> dict[str, float | int]:
        completed = failed = 0
        durations = []
        services_seen: set[str] = set()
        for service, created_at, rollout, rollout_at in self.deployments.values():
            first = service not in services_seen
            services_seen.add(service)
            ended = rollout in ROLLOUT_ENDS and self._inside(rollout_at)
            if ended and rollout == COMPLETED:
                completed += 1
                if not (first and created_at == 0.0):
                    durations.append(rollout_at - created_at)
            elif ended and rollout == FAILED:
                failed += 1
        return {
            "deployments_completed": completed,
            "deployments_failed": failed,
            "deployment_duration_mean_s": float(np.mean(durations)) if durations else NAN,
        }
