"""The legal ECS field names, generated from botocore's ECS service model.

ECS objects in a scenario (task definitions, services and what they contain) may carry
any field ECS defines: ecssim models some, ignores the rest, and rejects names ECS does
not define. The list of legal names is generated data (``data/ecs_fields.json``), built by
``scripts/generate_ecs_fields.py`` with :func:`build_field_table` from the shapes reachable
from the roots below; a test regenerates it and fails if it drifts. Never edit it by hand.
"""

from __future__ import annotations

import difflib
import json
from functools import cache
from importlib import resources
from typing import Any

#: The request/response shapes the field list is generated from (decisions.md).
ROOT_SHAPES = ("RegisterTaskDefinitionRequest", "TaskDefinition", "CreateServiceRequest", "Service",
               "CreateCapacityProviderRequest", "CapacityProvider", "PutClusterCapacityProvidersRequest")

#: ecssim's ECS model classes and the botocore shapes whose members they may carry.
MODEL_SHAPES: dict[str, tuple[str, ...]] = {
    "TaskDefinition": ("TaskDefinition", "RegisterTaskDefinitionRequest"),
    "ContainerDefinition": ("ContainerDefinition",),
    "PortMapping": ("PortMapping",),
    "Service": ("Service", "CreateServiceRequest"),
    "DeploymentConfiguration": ("DeploymentConfiguration",),
    "PlacementStrategy": ("PlacementStrategy",),
    "PlacementConstraint": ("PlacementConstraint", "TaskDefinitionPlacementConstraint"),
    "TaskDefinitionPlacementConstraint": ("TaskDefinitionPlacementConstraint",),
    "ResourceRequirement": ("ResourceRequirement",),
    "HealthCheck": ("HealthCheck",),
    "LoadBalancer": ("LoadBalancer",),
    "DeploymentCircuitBreaker": ("DeploymentCircuitBreaker",),
    "ThresholdConfiguration": ("ThresholdConfiguration",),
    "CapacityProvider": ("CapacityProvider", "CreateCapacityProviderRequest"),
    "AutoScalingGroupProvider": ("AutoScalingGroupProvider",),
    "ManagedScaling": ("ManagedScaling",),
    "CapacityProviderStrategyItem": ("CapacityProviderStrategyItem",),
}

DATA_FILE = "ecs_fields.json"


def _reachable_structures(service_model: Any, roots: tuple[str, ...]) -> dict[str, list[str]]:
    """Member names of every structure shape reachable from ``roots``, keyed by shape name."""
    found: dict[str, list[str]] = {}
    stack = [service_model.shape_for(name) for name in roots]
    while stack:
        shape = stack.pop()
        if shape.type_name == "structure":
            if shape.name in found:
                continue
            found[shape.name] = sorted(shape.members)
            stack.extend(shape.members[name] for name in sorted(shape.members))
        elif shape.type_name == "list":
            stack.append(shape.member)
        elif shape.type_name == "map":
            stack.extend((shape.key, shape.value))
    return dict(sorted(found.items()))


def build_field_table() -> dict[str, Any]:
    """Build the field table from the installed botocore (a test/dev dependency only)."""
    import botocore  # noqa: PLC0415 - botocore is needed only to regenerate the data
    import botocore.session  # noqa: PLC0415

    model = botocore.session.get_session().get_service_model("ecs")
    return {
        "generatedBy": "scripts/generate_ecs_fields.py (do not edit by hand)",
        "botocoreVersion": botocore.__version__,
        "apiVersion": model.api_version,
        "roots": list(ROOT_SHAPES),
        "models": {name: list(shapes) for name, shapes in MODEL_SHAPES.items()},
        "shapes": _reachable_structures(model, ROOT_SHAPES),
    }


def dump_field_table(table: dict[str, Any]) -> str:
    """The JSON text of a field table exactly as it is shipped (stable, diff-friendly)."""
    return json.dumps(table, indent=1, sort_keys=False) + "\n"


@cache
def field_table() -> dict[str, Any]:
    """The shipped field table (read once, on first use)."""
    text = resources.files("ecssim.scenario").joinpath("data", DATA_FILE).read_text(encoding="utf-8")
    return json.loads(text)


@cache
def legal_fields(model_name: str) -> frozenset[str]:
    """Every field name ECS defines for the object ecssim models as ``model_name``."""
    table = field_table()
    names: set[str] = set()
    for shape in table["models"][model_name]:
        names.update(table["shapes"][shape])
    return frozenset(names)


def closest(name: str, candidates: list[str] | frozenset[str] | set[str], n: int = 1) -> list[str]:
    """The ``n`` candidates closest to ``name`` (case-insensitive first, then difflib)."""
    ordered = sorted(candidates)
    exact = [c for c in ordered if c.lower() == name.lower()]
    if exact:
        return exact[:n]
    return difflib.get_close_matches(name, ordered, n=n, cutoff=0.6)


def did_you_mean(name: str, candidates: list[str] | frozenset[str] | set[str]) -> str:
    """``"; did you mean x?"`` when a candidate is close to ``name``, else ``""``."""
    match = closest(name, candidates)
    return f"; did you mean {match[0]}?" if match else ""
