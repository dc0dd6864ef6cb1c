"""Suite-wide settings.

In CI (`CI=true`, or `IDLBOT_NO_SKIP=1`) a skipped test is a failed test: `.ci/run`
starts every service the suite needs, so a skip there means something is missing.
Run by hand on a machine without PostgreSQL, the tests that need it skip with a reason.

Markers, set here from where a test lives and what it uses, so nobody has to remember them:
`cluster` (it uses a real Slurm cluster: the `slurm_up` fixture) and `e2e` (it runs the whole
bot or a real `idlbot` process, everything under tests/app/). `pytest -m "not cluster and not
e2e"` is the fast subset for the edit-test loop. Under pytest-xdist (`-n`, as `.ci/run` and the
README run the suite) each Slurm version's tests share one worker (`pytest_xdist_make_scheduler`
below), because a maintenance test reserves every node of its cluster; the two clusters run
side by side.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from typing import Any

import pytest

STRICT = os.environ.get("CI") == "true" or os.environ.get("IDLBOT_NO_SKIP") == "1"

pytest_plugins = ["tests.dbfixtures", "tests.support.sqlite_trips"]

APP_TESTS = os.path.join(os.path.dirname(__file__), "app") + os.sep
E2E_FILES = ("test_two_courses_e2e.py", "test_faculty_acceptance.py")  # whole bots elsewhere


CLUSTER_PARAM = re.compile(r"\[(?:[^\]]*-)?(slurm\d+\.\d+)(?:-[^\]]*)?\]$")
"""A cluster test's parameter id names its Slurm version (`[slurm22.05-sqlite]`, see the
`slurm_up` fixture's ids in tests/slurm/conftest.py)."""


def pytest_itemcollected(item: pytest.Item) -> None:
    if str(item.path).startswith(APP_TESTS) or item.path.name in E2E_FILES:
        item.add_marker(pytest.mark.e2e)
    if "slurm_up" in getattr(item, "fixturenames", ()):
        item.add_marker(pytest.mark.cluster)


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Under `-n`, every test of one Slurm version goes to one worker, one after another (a
    maintenance test reserves or drains the whole cluster); the two versions' groups and
    all other tests spread over the workers. Our own scheduler, not `--dist loadgroup`:
    xdist 3.8 marks groups by rewriting `item._nodeid`, which pytest 9.2's nodes ignore."""
    from xdist.scheduler import LoadScopeScheduling

    class ClusterGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            found = CLUSTER_PARAM.search(nodeid)
            return found.group(1) if found else nodeid

    return ClusterGroups(config, log)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, None, None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if STRICT and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where nothing may be skipped: {reason}"
