"""Suite-wide settings.

In CI (`CI=true`, or `IDLBOT_NO_SKIP=1`) a skipped test is a failed test: `.ci/run`
starts every service the suite needs, so a skip there means something is missing.
Run by hand on a machine without PostgreSQL, the tests that need it skip with a reason.

Markers, set here from where a test lives and what it uses, so nobody has to remember them:
`cluster` (it uses a real Slurm cluster: the `slurm_up` fixture) and `e2e` (it runs the whole
bot or a real `idlbot` process, everything under tests/app/). `pytest -m "not cluster and not
e2e"` is the fast subset for the edit-test loop. Under pytest-xdist (`-n`, as `.ci/run` and the
README run the suite) each Slurm version's tests share one worker (`xdist_group`), because a
maintenance test reserves every node of its cluster; the two clusters run side by side.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

STRICT = os.environ.get("CI") == "true" or os.environ.get("IDLBOT_NO_SKIP") == "1"

pytest_plugins = ["tests.dbfixtures"]

APP_TESTS = os.path.join(os.path.dirname(__file__), "app") + os.sep


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if str(item.path).startswith(APP_TESTS):
            item.add_marker(pytest.mark.e2e)
        if "slurm_up" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)
            callspec = getattr(item, "callspec", None)
            version = callspec.params.get("slurm_up") if callspec is not None else None
            item.add_marker(pytest.mark.xdist_group(f"slurm{version}"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"
