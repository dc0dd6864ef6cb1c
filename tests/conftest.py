"""Suite-wide settings.

In CI (`CI=true`, or `IDLBOT_NO_SKIP=1`) a skipped test is a failed test: `.ci/run`
starts every service the suite needs, so a skip there means something is missing.
Run by hand on a machine without PostgreSQL, the tests that need it skip with a reason.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

STRICT = os.environ.get("CI") == "true" or os.environ.get("IDLBOT_NO_SKIP") == "1"

pytest_plugins = ["tests.dbfixtures"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"
