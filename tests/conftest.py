"""Shared pytest configuration.

Hypothesis profiles for the property-based tests (tests/test_fuzz_*.py): "ci", the default
(derandomized, so every `pytest` run, a user's or CI's, draws the same examples; no example
database), and "dev" (random examples, with the database), chosen with HYPOTHESIS_PROFILE=dev
to search further. Every property
sets its own bounded max_examples; neither profile has a deadline (timings on shared CI cores
vary too much).
"""

from __future__ import annotations

import os

try:
    from hypothesis import HealthCheck, settings
except ImportError:  # the property-based tests skip themselves without hypothesis
    settings = None

if settings is not None:
    _common = {
        "deadline": None,
        "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
        "print_blob": True,
    }
    settings.register_profile("ci", derandomize=True, database=None, **_common)
    settings.register_profile("dev", **_common)
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "ci")
