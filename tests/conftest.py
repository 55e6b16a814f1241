"""Hypothesis profiles for the test suite.

- ``ci``: chosen when the environment variable ``CI`` is set; derandomized,
  30 examples a test, no deadline.
- ``dev``: chosen with ``HYPOTHESIS_PROFILE=dev``; 300 examples a test.
- ``default`` otherwise: Hypothesis' defaults, without a deadline (exact
  sympy arithmetic makes the first examples slow while caches warm up).

An explicit ``HYPOTHESIS_PROFILE`` wins over ``CI``.
"""

import os

from hypothesis import settings

settings.register_profile("default", deadline=None)
settings.register_profile("ci", derandomize=True, max_examples=30, deadline=None)
settings.register_profile("dev", max_examples=300, deadline=None)

if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])
elif "CI" in os.environ:
    settings.load_profile("ci")
else:
    settings.load_profile("default")
