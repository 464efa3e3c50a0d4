"""Shared pytest configuration: hypothesis profiles, and the invariants mode always on.

``ci`` (the default) keeps the property tests bounded (25 examples each, no deadline: one
example is a whole simulation); ``dev`` explores more. Choose with
``HYPOTHESIS_PROFILE=dev pytest`` or ``pytest --hypothesis-profile=dev``.

Every run in the tests checks its invariants after each step (``ECSSIM_CHECK_INVARIANTS=1``,
set here before any test runs, so the CLI, subprocesses and Dask workers inherit it);
``ECSSIM_CHECK_INVARIANTS=0 pytest`` turns it off, e.g. to time the suite without it.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

os.environ.setdefault("ECSSIM_CHECK_INVARIANTS", "1")  # issue 10: the invariants mode is always on in tests

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
