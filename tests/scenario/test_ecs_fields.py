"""The shipped ECS field list matches botocore's ECS model (regenerated here, never typed)."""

from __future__ import annotations

from importlib import resources

import pytest

from ecssim.scenario import capacity_models, ecs_objects
from ecssim.scenario.ecs_fields import (
    MODEL_SHAPES,
    build_field_table,
    dump_field_table,
    field_table,
    legal_fields,
)

botocore = pytest.importorskip("botocore")


def test_shipped_field_list_matches_installed_botocore() -> None:
    shipped = (
        resources.files("ecssim.scenario").joinpath("data", "ecs_fields.json").read_text(encoding="utf-8")
    )
    fresh = dump_field_table(build_field_table())
    assert shipped == fresh, (
        "ecssim/scenario/data/ecs_fields.json is out of date with botocore "
        f"{botocore.__version__}: run python scripts/generate_ecs_fields.py"
    )


def test_header_records_botocore_version() -> None:
    assert field_table()["botocoreVersion"] == "1.44.8"


@pytest.mark.parametrize("name", sorted(MODEL_SHAPES))
def test_every_modelled_field_is_an_ecs_field(name: str) -> None:
    model = getattr(ecs_objects, name, None) or getattr(capacity_models, name)
    aliases = {info.alias or field for field, info in model.model_fields.items()}
    assert aliases <= legal_fields(name)


def test_describe_only_fields_are_legal() -> None:
    assert {"taskDefinitionArn", "requiresAttributes", "registeredAt", "status"} <= legal_fields(
        "TaskDefinition"
    )
    assert {"runningCount", "events", "clientToken"} <= legal_fields("Service")
    assert "memroy" not in legal_fields("ContainerDefinition")
