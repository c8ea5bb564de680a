"""cisco_ios post-checks go through NAPALM's own ios driver; recorded IOS output, a fake connection, no device."""

from __future__ import annotations

from pathlib import Path

from napalm import get_network_driver

from govnet.deploy import checks

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ios"


class FakeNetmiko:
    """Serves recorded IOS output by command, like the Netmiko session the ios driver holds."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def send_command(self, command: str, **_: object) -> str:
        self.sent.append(command)
        path = FIXTURES / (command.replace(" ", "_") + ".txt")
        return path.read_text() if path.exists() else "% Invalid input detected at '^' marker."

    def is_alive(self) -> bool:
        return True


def ios_driver() -> tuple[object, FakeNetmiko]:
    driver = get_network_driver("ios")("198.18.0.1", "u", "p")  # never opened: no connection is made
    fake = FakeNetmiko()
    driver.device = fake
    return driver, fake


def test_ios_ospf_states_from_recorded_output() -> None:
    driver, fake = ios_driver()
    states = checks.ospf_neighbors(driver)
    assert states == {"10.10.0.2": "Full", "10.10.0.3": "Full", "10.10.0.9": "Init"}
    assert fake.sent == ["show ip ospf neighbor"]


def test_ios_ospf_plan_check() -> None:
    driver, _ = ios_driver()
    plan = checks.Plan({}, {"10.10.0.2": "core2", "10.10.0.9": "edu-r1", "10.10.0.7": "x"}, {}, {})
    found = {c.subject: (c.ok, c.detail) for c in checks._ospf(checks.ospf_neighbors(driver), plan)}
    assert found == {
        "core2 (10.10.0.2)": (True, "Full"),
        "edu-r1 (10.10.0.9)": (False, "Init"),
        "x (10.10.0.7)": (False, "no adjacency"),
    }
