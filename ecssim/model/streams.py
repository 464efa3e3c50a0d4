"""Random streams keyed by (seed, replication, component, stable entity id).

Every entity that draws random numbers (an instance's agent, a service, a workload, a
fault, an action) gets its own generator, so adding an instance or a fault does not shift
the draws of unrelated entities, and replication r draws the same workloads and faults at
every parameter point of a sweep (common random numbers). One generator per entity, never
one per task: creating a generator costs tens of microseconds.
"""

from __future__ import annotations

import hashlib

import numpy as np


def stable_key(text: str) -> int:
    """A 64-bit integer from a string that is the same in every process (unlike ``hash``)."""
    return int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")


def stream(seed: int, replication: int, component: str, entity: str) -> np.random.Generator:
    """The generator of one entity of one component in one replication of a run."""
    sequence = np.random.SeedSequence(
        entropy=int(seed), spawn_key=(int(replication), stable_key(component), stable_key(entity))
    )
    return np.random.default_rng(sequence)


class Streams:
    """Hands out the run's per-entity generators (created on first use, then reused)."""

    __slots__ = ("seed", "replication", "_cache")

    def __init__(self, seed: int, replication: int = 0) -> None:
        self.seed = int(seed)
        self.replication = int(replication)
        self._cache: dict[tuple[str, str], np.random.Generator] = {}

    def get(self, component: str, entity: str) -> np.random.Generator:
        """The generator for ``(component, entity)``; the same object on every call."""
        key = (component, entity)
        rng = self._cache.get(key)
        if rng is None:
            rng = stream(self.seed, self.replication, component, entity)
            self._cache[key] = rng
        return rng

    def fresh(self, component: str, entity: str) -> np.random.Generator:
        """A new generator for ``(component, entity)``, not kept: for an entity asked for once,
        whose owner keeps it (an instance's agent) or uses it at once (an instance's time to
        failure), so that a long run does not keep one for every instance it ever launched.
        Asking again starts the same stream over."""
        return stream(self.seed, self.replication, component, entity)
