"""Shared pytest configuration.

Hypothesis profiles for the property-based tests (tests/test_fuzz_*.py): "ci" is selected when
the CI environment variable is set (derandomized, so a CI run is reproducible, and without the
example database); "dev" otherwise. HYPOTHESIS_PROFILE names one explicitly. Every property
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
    settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))
