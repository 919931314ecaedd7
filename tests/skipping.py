"""One rule for tests whose service or tool is missing: skip on a laptop, fail in CI.

Under ``CI=true`` a skipped integration test hides a broken feature, so it fails instead.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def unavailable(reason: str) -> NoReturn:
    """Skip with `reason`, or fail with it when ``CI=true``."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}. CI=true: a skipped integration test hides a broken feature")
    pytest.skip(reason)
