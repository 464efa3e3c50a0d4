"""The labels ecssim puts on every container it creates, and the filters that find them.

Every container of the Docker mode carries ``ecssim.managed=true`` and ``ecssim.run=<run
id>``, plus ``ecssim.kind`` (``task`` for a validation run's tasks, ``calibration`` for
``docker-calibrate``'s samples) and, for tasks, ``ecssim.task``, ``ecssim.instance`` and
``ecssim.service``. Cleanup, the event stream and the agent select containers by these
labels only, so ecssim never touches a container it did not create. The labels are put on
containers, never on the workload image: a container inherits its image's labels, which
would mark a user's own containers from that image as ecssim's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from typing import Literal

PREFIX = "ecssim."
MANAGED = "ecssim.managed"
RUN = "ecssim.run"
KIND = "ecssim.kind"
TASK = "ecssim.task"
INSTANCE = "ecssim.instance"
SERVICE = "ecssim.service"
#: The kinds of container ecssim creates.
KINDS = ("task", "calibration")

Kind = Literal["task", "calibration"]


def new_run_id(kind: str = "run") -> str:
    """A fresh run id such as ``calibration-20260507T101500-3fa9c1``: readable, sortable by
    start time and unique (random suffix), so two runs never share containers."""
    return f"{kind}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"


def container_labels(run_id: str, *, kind: Kind, task: str | None = None, instance: str | None = None,
                     service: str | None = None) -> dict[str, str]:
    """The labels of one container of run ``run_id`` (``task``/``instance``/``service`` for a
    task's container: the simulator's task id, virtual instance id and service name; a
    standalone task has ``service`` empty)."""
    if kind not in KINDS:
        raise ValueError(f"unknown container kind {kind!r}; choose one of {', '.join(KINDS)}")
    if not run_id:
        raise ValueError("a run id is required")
    labels = {MANAGED: "true", RUN: run_id, KIND: kind}
    for key, value in ((TASK, task), (INSTANCE, instance), (SERVICE, service)):
        if value is not None:
            labels[key] = str(value)
    return labels


def label_filter(run_id: str | None = None, kind: Kind | None = None) -> list[str]:
    """The ``label`` filter values (all must match) selecting ecssim's containers: all of
    them, or one run's, or one kind's."""
    values = [f"{MANAGED}=true"]
    if run_id is not None:
        values.append(f"{RUN}={run_id}")
    if kind is not None:
        values.append(f"{KIND}={kind}")
    return values


def container_filters(run_id: str | None = None, kind: Kind | None = None) -> dict[str, list[str]]:
    """Filters for ``client.containers.list(all=True, filters=...)``."""
    return {"label": label_filter(run_id, kind)}


def event_filters(run_id: str | None = None, kind: Kind | None = None) -> dict[str, list[str]]:
    """Filters for ``client.events(filters=...)``: container events of ecssim's containers."""
    return {"type": ["container"], "label": label_filter(run_id, kind)}


def is_managed(labels: Mapping[str, str] | None, run_id: str | None = None) -> bool:
    """Whether a container with these labels is ecssim's (and of run ``run_id`` if given):
    the check cleanup repeats on each container before removing it."""
    if not labels or labels.get(MANAGED) != "true" or not labels.get(RUN):
        return False
    return run_id is None or labels.get(RUN) == run_id


def ecssim_labels(attributes: Mapping[str, str] | None) -> dict[str, str]:
    """The ``ecssim.*`` entries of an event's attributes (Docker mixes a container's labels
    with its ``name``, ``image`` and ``exitCode`` there)."""
    return {key: value for key, value in (attributes or {}).items() if key.startswith(PREFIX)}
