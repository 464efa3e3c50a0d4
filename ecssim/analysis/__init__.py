"""From a run's event log to tables, metrics and saved result folders.

The simulator appends plain tuples to an :class:`~ecssim.model.eventlog.EventLog`; this
package turns them into pandas DataFrames once the run ends (``tables``, ``deployments``,
``capacity``, ``recovery``, ``availability``; when a task is healthy: ``health``), computes
the fixed summary metrics (``summary``) and saves/loads result folders (``result``,
``output``). Every figure is recomputed from the ``events`` rows, so a
saved run can be re-analysed from its files alone.
"""

from ecssim.analysis.availability import availability_table
from ecssim.analysis.capacity import capacity_table, resample_capacity, service_counts
from ecssim.analysis.deployments import deployments_table
from ecssim.analysis.output import MissingExtraError, OutputFolderError
from ecssim.analysis.recovery import recovery_table
from ecssim.analysis.result import Result, build_result, load_result
from ecssim.analysis.schema import SCHEMAS, TABLE_NAMES, add_timestamps
from ecssim.analysis.summary import DYNAMIC_METRIC_PATTERNS, METRIC_NAMES, summarize
from ecssim.analysis.tables import (
    events_table,
    instances_table,
    placement_failures_table,
    service_events_table,
    services_table,
    tasks_table,
)

__all__ = [
    "DYNAMIC_METRIC_PATTERNS",
    "METRIC_NAMES",
    "SCHEMAS",
    "TABLE_NAMES",
    "MissingExtraError",
    "OutputFolderError",
    "Result",
    "add_timestamps",
    "availability_table",
    "build_result",
    "capacity_table",
    "deployments_table",
    "events_table",
    "instances_table",
    "load_result",
    "placement_failures_table",
    "recovery_table",
    "resample_capacity",
    "service_counts",
    "service_events_table",
    "services_table",
    "summarize",
    "tasks_table",
]
