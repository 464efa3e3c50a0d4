"""Shared pytest configuration: hypothesis profiles.

``ci`` (the default) keeps the property tests bounded (25 examples each, no deadline: one
example is a whole simulation); ``dev`` explores more. Choose with
``HYPOTHESIS_PROFILE=dev pytest`` or ``pytest --hypothesis-profile=dev``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.register_profile(
    "dev", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
