"""The scenario file format: models, loading, validation, the instance-type catalog."""

from .catalog import (
    InstanceType,
    UnknownInstanceType,
    builtin_attributes,
    instance_type,
    registered_resources,
)
from .checks import resolve_task_definition
from .errors import Issue, ScenarioError
from .loading import (
    MAX_SCENARIO_BYTES,
    ValidationReport,
    load_scenario,
    load_scenario_dict,
    read_timing_file,
    scenario_json_schema,
    validate_file,
)
from .models import Scenario

__all__ = [
    "MAX_SCENARIO_BYTES",
    "InstanceType",
    "Issue",
    "Scenario",
    "ScenarioError",
    "UnknownInstanceType",
    "ValidationReport",
    "builtin_attributes",
    "instance_type",
    "load_scenario",
    "load_scenario_dict",
    "read_timing_file",
    "registered_resources",
    "resolve_task_definition",
    "scenario_json_schema",
    "validate_file",
]
