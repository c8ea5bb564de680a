"""Suite-wide rules: in CI (CI=true) a skipped test is a failure, because every part of the suite can run there.
At the end the time of each suite (tests/<suite>/, setup and teardown included) is printed, so growth is visible."""

from __future__ import annotations

import os

import pytest

SKIPS: list[str] = []
SUITE_SECONDS: dict[str, float] = {}


def suite_of(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    return "/".join(parts[:2]) if len(parts) > 2 else parts[0]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    suite = suite_of(report.nodeid)
    SUITE_SECONDS[suite] = SUITE_SECONDS.get(suite, 0.0) + report.duration
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPS.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CI", "").lower() == "true" and SKIPS and exitstatus == 0:
        print(f"\nCI: {len(SKIPS)} test(s) skipped; in CI every test must run:")
        for nodeid in SKIPS[:20]:
            print(f"  skipped: {nodeid}")
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not SUITE_SECONDS:
        return
    terminalreporter.section("time per suite")
    for suite, seconds in sorted(SUITE_SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {suite}")
    terminalreporter.write_line(f"{sum(SUITE_SECONDS.values()):8.1f} s  total")
