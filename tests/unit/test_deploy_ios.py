"""cisco_ios post-checks go through NAPALM's own ios driver; recorded IOS output, a fake connection, no device."""

from __future__ import annotations

from pathlib import Path

from napalm import get_network_driver

from govnet.deploy import checks
from govnet.model import health

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
    assert states == {
        "10.10.0.2": [{"address": "10.10.1.1", "interface": "GigabitEthernet0/1", "state": "Full"}],
        "10.10.0.3": [{"address": "10.10.1.3", "interface": "GigabitEthernet0/2", "state": "Full"}],
        "10.10.0.9": [{"address": "10.10.1.5", "interface": "GigabitEthernet0/3", "state": "Init"}],
    }
    assert fake.sent == ["show ip ospf neighbor"]


def test_ios_ospf_plan_check_is_per_link() -> None:
    """Each planned adjacency is matched on its own link (the neighbour's address there), not by router ID: core2
    is Full on Gi0/1, so the planned second link to it (10.10.1.7) has no adjacency."""
    driver, _ = ios_driver()
    plan = (
        health.Adjacency("r", "GigabitEthernet0/1", "core2", "10.10.0.2", "10.10.1.1"),
        health.Adjacency("r", "GigabitEthernet0/4", "core2", "10.10.0.2", "10.10.1.7"),
        health.Adjacency("r", "GigabitEthernet0/3", "edu-r1", "10.10.0.9", "10.10.1.5"),
        health.Adjacency("r", "GigabitEthernet0/5", "x", "10.10.0.7", "10.10.1.9"),
    )
    found = {c.subject: (c.ok, c.detail) for c in checks._ospf(checks.ospf_neighbors(driver), plan)}
    assert found == {
        "core2 on GigabitEthernet0/1 (10.10.0.2)": (True, "Full"),
        "core2 on GigabitEthernet0/4 (10.10.0.2)": (False, "no adjacency on this link (only via GigabitEthernet0/1)"),
        "edu-r1 on GigabitEthernet0/3 (10.10.0.9)": (False, "Init"),
        "x on GigabitEthernet0/5 (10.10.0.7)": (False, "no adjacency"),
    }
