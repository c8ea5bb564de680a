"""Suite-wide rules: in CI (CI=true) a skipped test is a failure, because every part of the suite can run there."""

from __future__ import annotations

import os

import pytest

SKIPS: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPS.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI", "").lower() == "true" and SKIPS and exitstatus == 0:
        print(f"\nCI: {len(SKIPS)} test(s) skipped; in CI every test must run:")
        for nodeid in SKIPS[:20]:
            print(f"  skipped: {nodeid}")
        session.exitstatus = 1
