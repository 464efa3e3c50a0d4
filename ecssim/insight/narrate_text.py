"""The phrases of a narrated run: clock times, strategy chains, fault and failure wording.

Pure string helpers for :mod:`ecssim.insight.narrate`, kept apart so that the wording can be
read (and changed) in one place. Ids are printed as they are in the tables
(``i-00000000000000003``, ``t-000017``): they can be searched for in the tables and passed to
``Result.explain`` as they are.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from ecssim.placement.view import AZ_ATTRIBUTE

#: What a fault row's kind (``to_state`` of ``entity="fault"`` rows) is called in a line.
FAULT_LABELS: dict[str, str] = {
    "az_outage": "AZ outage",
    "instance_failure": "instance failure",
    "agent_disconnect": "agent disconnect",
    "spot_interruption": "Spot interruption warning",
    "task_crash": "task crash",
    "oom_kill": "OOM kill",
    "health_check_failure": "health check failure",
}

#: ``placement_failures.reason`` -> what it means for the cluster (the closest instance fails
#: that check, and every other instance fails it or an earlier one: README, "The pipeline").
FAILURE_REASONS: dict[str, str] = {
    "AGENT": "no instance with a connected agent",
    "RESOURCE:CPU": "no instance has enough CPU",
    "RESOURCE:MEMORY": "no instance has enough memory",
    "RESOURCE:PORTS": "no instance has the host port free",
    "RESOURCE:ENI": "no instance has a free ENI",
    "RESOURCE:GPU": "no instance has enough GPUs",
    "MemberOf placement constraint unsatisfied": "no instance satisfies the memberOf constraint",
    "DistinctInstance placement constraint unsatisfied": "every instance already runs a task of the group",
    "NO_ACTIVE_INSTANCES": "no ACTIVE instance in the cluster",
    "NO_INSTANCES": "no ACTIVE instance in the cluster",
}

#: How many ids a line lists before it says "and N more".
MAX_IDS = 5

_DAY_S = 86_400


def format_time(seconds: float) -> str:
    """Simulated seconds as ``HH:MM:SS`` (whole seconds, rounded down), ``1d 02:03:04`` past a day."""
    if not math.isfinite(seconds):
        return "--:--:--"
    total = max(int(math.floor(seconds)), 0)
    days, rest = divmod(total, _DAY_S)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    clock = f"{hours:02d}:{minutes:02d}:{secs:02d}"
    return f"{days}d {clock}" if days else clock


def plural(count: int, noun: str) -> str:
    """``1 task``, ``4 tasks``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def id_list(ids: Sequence[str], limit: int = MAX_IDS) -> str:
    """``t-1, t-2, t-3`` listing at most ``limit`` ids, then ``and N more``."""
    shown = ", ".join(ids[:limit])
    return shown if len(ids) <= limit else f"{shown} and {len(ids) - limit} more"


def strategy_name(kind: str, field: str | None) -> str:
    """``spread by AZ``, ``spread by instance``, ``binpack memory``, ``binpack CPU``, ``random``."""
    if kind == "binpack":
        return "binpack CPU" if field == "cpu" else f"binpack {field}"
    if kind == "spread":
        if field in ("instanceId", "host"):
            return "spread by instance"
        attribute = field[len("attribute:"):] if field and field.startswith("attribute:") else field
        return "spread by AZ" if attribute == AZ_ATTRIBUTE else f"spread by {attribute}"
    return kind


def chain_name(strategies: Iterable[tuple[str, str | None]]) -> str:
    """A strategy list in words: ``spread by AZ, then binpack memory``."""
    return ", then ".join(strategy_name(kind, field) for kind, field in strategies)


def binpack_figure(field: str | None, left: int) -> str:
    """The deciding figure of a binpack: what is left on the chosen instance after the task."""
    if field == "cpu":
        return f"least CPU left, {left} CPU units"
    return f"least memory left, {left} MiB"


def spread_figure(field: str | None, count: int, value: str | None = None) -> str:
    """The deciding figure of a spread: the group's tasks where the chosen instance is, before it."""
    if field in ("instanceId", "host"):
        return f"fewest tasks of the group on the instance: {count}"
    attribute = field[len("attribute:"):] if field and field.startswith("attribute:") else field
    if attribute == AZ_ATTRIBUTE:
        return f"fewest tasks of the group in the AZ: {count}"
    where = f"{attribute}={value}" if value is not None else f"without {attribute}"
    return f"fewest tasks of the group with {where}: {count}"


def constraint_text(constraint: dict) -> str:
    """``distinctInstance`` or ``memberOf <expression>``."""
    kind = str(constraint.get("type", "?"))
    expression = constraint.get("expression")
    return f"{kind} {expression}" if expression else kind


def failure_text(reason: str) -> str:
    """``no instance has enough memory (RESOURCE:MEMORY)``; unknown reasons as they are."""
    meaning = FAILURE_REASONS.get(reason)
    return f"{meaning} ({reason})" if meaning else reason


def fault_text(kind: str, target: str) -> str:
    """``AZ outage of us-east-1c``, ``task crash of t-000002 (web)``; unknown kinds by their name."""
    label = FAULT_LABELS.get(kind, kind.replace("_", " "))
    preposition = "for" if kind == "spot_interruption" else "of"
    return f"{label} {preposition} {target}" if target else label


def stop_detail(code: str, reason: str) -> str:
    """``TaskFailedToStart: CannotPull…`` (stop code, then reason; either may be missing)."""
    return ": ".join(part for part in (code, reason) if part)


def service_message(service: str, message: str) -> str:
    """An ECS service event without ``service web has``: ``reached a steady state``."""
    text = message.strip()
    prefix = f"service {service} "
    if text.startswith(prefix):
        text = text[len(prefix):]
        for verb in ("has ", "is ", "was "):
            if text.startswith(verb):
                text = text[len(verb):]
                break
    return text[:-1] if text.endswith(".") else text


def service_phrase(rows: Sequence) -> tuple[bool, str]:
    """Whether the service was created in these rows, and what its own rows say.

    ``(True, "service created, desired count 4 (deployment ecs-svc/… of web:1)")`` at creation;
    ``(False, "desired count 4 -> 7")`` for a change; ``(False, "")`` when only deployments moved.
    """
    service_rows = [row for row in rows if row.entity == "service"]
    desired = [row for row in service_rows if row.event == "desired_count"]
    created = any(row.event == "state" and not row.from_state for row in service_rows)
    if created:
        words = "service created"
        if desired:
            words += f", desired count {desired[-1].to_state}"
        started = [row for row in rows if row.entity == "deployment" and row.event == "state" and not row.from_state]
        if started:
            words += f" (deployment {started[0].entity_id} of {started[0].task_definition})"
        return True, words
    parts = []
    if desired:
        parts.append(f"desired count {desired[0].from_state} -> {desired[-1].to_state}")
    for row in service_rows:
        if row.event == "state":
            parts.append(f"service {row.from_state} -> {row.to_state}")
    return False, "; ".join(parts)


def deployment_phrases(rows: Sequence, created: bool) -> list[str]:
    """What the deployment rows of one service say, one phrase per deployment, in log order.

    ``deployment ecs-svc/… of web:2 started``, ``… COMPLETED``, ``… FAILED: <reason>``,
    ``rolling back to deployment ecs-svc/… of web:1``, ``… INACTIVE``. A deployment that
    becomes ACTIVE because another one starts says nothing (the new one's line says it); at a
    service's creation the first deployment is told with the service.
    """
    changes: dict[str, dict] = {}
    for row in rows:
        if row.entity != "deployment":
            continue
        change = changes.setdefault(row.entity_id, {"td": row.task_definition, "reason": "", "moves": {}})
        old, _ = change["moves"].get(row.event, (row.from_state, ""))
        change["moves"][row.event] = (old, row.to_state)  # first from, last to, per row kind
        if row.reason:
            change["reason"] = row.reason
    new_primary = any(c["moves"].get("state", ("", ""))[1] == "PRIMARY" for c in changes.values())
    phrases = []
    for deployment, change in changes.items():
        state_from, state_to = change["moves"].get("state", ("", ""))
        if created and not state_from and state_to == "PRIMARY":
            continue
        name = f"deployment {deployment} of {change['td']}"
        words = _deployment_words(change, state_from, state_to, new_primary)
        if words == "rollback":
            phrases.append(f"rolling back to {name}")
        elif words:
            phrases.append(f"{name} {words}")
    return phrases


def _deployment_words(change: dict, state_from: str, state_to: str, new_primary: bool) -> str:
    words = []
    if state_to == "PRIMARY" and not state_from:
        words.append("started")
    elif state_to == "PRIMARY":
        return "rollback"
    elif state_to == "INACTIVE":
        words.append("INACTIVE")
    elif state_to == "ACTIVE" and not new_primary:
        words.append("ACTIVE")
    elif state_to and state_to != "ACTIVE":
        words.append(f"status {state_from or '-'} -> {state_to}")
    _, rollout = change["moves"].get("rollout", ("", ""))
    if rollout == "COMPLETED":
        words.append("COMPLETED")
    elif rollout == "FAILED":
        words.append(f"FAILED: {change['reason']}" if change["reason"] else "FAILED")
    elif rollout and rollout != "IN_PROGRESS":
        words.append(f"rollout {rollout}")
    for kind, (old, new) in change["moves"].items():
        if kind not in ("state", "rollout"):
            words.append(f"{kind} {old or '-'} -> {new}")
    return ", ".join(words)
