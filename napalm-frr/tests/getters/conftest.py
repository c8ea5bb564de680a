"""NAPALM's shared getter suite against FRRDriver, served from the recorded answers in ../fixtures/frr/.

Wired the way NAPALM's own drivers do it: a ``PatchedFRRDriver`` whose ``device`` is a fake
(here :class:`FakeDevice`, replaying recorded FRR 8.4 output) and a ``set_device_parameters``
fixture. The suite names its fixture directories after its test functions; the table below maps
them onto our ``<method>/<case>/`` layout and its ``expected*.json`` files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from napalm.base.test import conftest as napalm_conftest
from napalm.base.test.double import BaseTestDouble

from napalm_frr.frr import FRRDriver
from napalm_frr.recorded import RecordedConnection

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "frr"

#: Suite test → (method directory, expected file) where the default ``test_X → X/expected.json`` is wrong.
SUITE_LAYOUT = {
    "test_get_config_filtered": ("get_config", "expected_filtered.json"),
    "test_get_config_sanitized": ("get_config", "expected_sanitized.json"),
    "test_get_config_sanitized_filtered": ("get_config", "expected_sanitized_filtered.json"),
    "test_get_route_to_longer": ("get_route_to", "expected_longer.json"),
}
#: The suite calls get_route_to with fixed arguments; only cases recorded with them apply.
SUITE_ARGS = {"test_get_route_to": {"destination": "1.0.4.0/24", "protocol": "bgp"}}
#: The suite's ping test expects a successful run; our error cases are checked by the unit tests.
SUCCESS_ONLY = {"test_ping"}


def layout(test_name: str) -> tuple[str, str]:
    return SUITE_LAYOUT.get(test_name, (test_name.removeprefix("test_"), "expected.json"))


def suite_cases(test_name: str) -> list[str]:
    """Case directories holding what this suite test needs."""
    method, expected = layout(test_name)
    cases = []
    for case in sorted(p for p in (FIXTURES / method).glob("*") if (p / expected).exists()):
        args_file = case / "args.json"
        wanted = SUITE_ARGS.get(test_name)
        if test_name in SUCCESS_ONLY and "error" in json.loads((case / expected).read_text()):
            continue
        if wanted is None or (args_file.exists() and json.loads(args_file.read_text()) == wanted):
            cases.append(case.name)
    return cases


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize the suite's ``test_case`` argument from our fixture tree."""
    if metafunc.function.__dict__.get("build_test_cases", False):
        metafunc.parametrize("test_case", suite_cases(metafunc.function.__name__) or ["no_test_case_found"])


class FakeDevice(BaseTestDouble):
    """NAPALM's test double protocol on top of our recorded-output fake connection."""

    def __init__(self) -> None:
        super().__init__()
        self._conn: RecordedConnection | None = None
        self._for: tuple[str, str] = ("", "")

    def _connection(self) -> RecordedConnection:
        key = (self.current_test, self.current_test_case)
        if self._conn is None or self._for != key:
            method, _ = layout(self.current_test)
            self._conn, self._for = RecordedConnection(FIXTURES / method / self.current_test_case), key
        return self._conn

    @property
    def expected_result(self) -> Any:
        method, expected = layout(self.current_test)
        return json.loads((FIXTURES / method / self.current_test_case / expected).read_text())

    def send_command(self, command: str) -> str:
        return self._connection().send_command(command)

    def run(self, command: str, stdin: str = "", timeout: float = 60.0) -> Any:
        return self._connection().run(command, stdin, timeout)

    def helper_request(self, argv: list[str], stdin: str = "", timeout: float = 60.0) -> str:
        return self._connection().helper_request(argv, stdin, timeout)

    def is_alive(self) -> bool:
        return True

    def close(self) -> None:
        self._conn = None


class PatchedFRRDriver(FRRDriver):
    """FRRDriver whose connection is the fake device."""

    def __init__(
        self, hostname: str, username: str, password: str, timeout: int = 60, optional_args: dict | None = None
    ) -> None:
        super().__init__(hostname, username, password, timeout, optional_args)
        self.patched_attrs = ["device"]

    def open(self) -> None:
        self.device = FakeDevice()  # type: ignore[assignment]


@pytest.fixture(scope="class")
def set_device_parameters(request: pytest.FixtureRequest) -> None:
    """NAPALM's own device setup, pointed at our driver classes."""
    request.cls.driver = FRRDriver
    request.cls.patched_driver = PatchedFRRDriver
    request.cls.vendor = "frr"
    napalm_conftest.set_device_parameters(request)
