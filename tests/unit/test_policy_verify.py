"""Offline: the policy judgement verify expects, the validation data it derives, and the guard against NAPALM's
compliance_report false passes (with a small fake driver running NAPALM's real validate code)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from napalm.base.validate import compliance_report

from govnet.model import load_network
from govnet.model.derived import Network
from govnet.verify.control import device_checks, guarded_report
from govnet.verify.expect import dual_homed, endpoints, judge, primary_core, validation_source

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network(REPO / "inventory" / "karbala", "lab")


def ep(network: Network, name: str) -> Any:
    return next(e for e in endpoints(network) if e.name == name)


def test_judge_follows_the_policy_first_match(network: Network) -> None:
    assert judge(network, ep(network, "health-staff"), ep(network, "police-staff"), "icmp").rule == (
        "service-security-isolation"
    )
    assert not judge(network, ep(network, "police-staff"), ep(network, "health-staff"), "tcp", 443).allowed
    assert judge(network, ep(network, "health-staff"), ep(network, "portal1"), "tcp", 443).allowed
    assert not judge(network, ep(network, "health-staff"), ep(network, "portal1"), "tcp", 22).allowed
    assert judge(network, ep(network, "health-staff"), ep(network, "db1"), "tcp", 5432).rule == "no-service-database"
    assert judge(network, ep(network, "app1"), ep(network, "db1"), "tcp", 5432).allowed
    assert judge(network, ep(network, "dns1"), ep(network, "mon1"), "tcp", 9090).rule == "same segment"
    assert judge(network, ep(network, "health-mgmt"), ep(network, "portal1"), "icmp").rule == "default deny"


def test_dual_homed_departments_and_their_primary(network: Network) -> None:
    assert set(dual_homed(network)) == {s.name for s in network.sites.values() if s.critical}
    edge, iface, cores = primary_core(network, "health")
    assert iface in {i.name for i in network.devices[edge].p2p}
    assert edge == "health-r1" and len(cores) == 2
    costs = {i.peer: i.ospf_cost for i in network.devices[edge].p2p}
    assert costs[cores[0]] <= costs[cores[1]]


def test_validation_source_covers_every_plan_item(network: Network) -> None:
    source = validation_source(network, "core1")
    getters = [g for item in source for g in item]
    assert getters[:4] == ["get_interfaces_ip", "get_interfaces", "get_ospf_neighbors", "get_bgp_neighbors"]
    ospf = source[2]["get_ospf_neighbors"]["global"]["neighbors"]
    assert len(ospf) == len(network.devices["core1"].p2p)
    routes = {k for item in source[4:] for k in item["get_route_table"] if not k.startswith("_")}
    assert routes == {str(s.prefix) for s in network.segments}


class FakeDriver:
    """Getter answers from a dict; a getter not in it raises NotImplementedError, as a NAPALM driver does."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers

    def __getattr__(self, name: str) -> Any:
        if name.startswith("get_"):

            def getter(**_: Any) -> Any:
                if name not in self.answers:
                    raise NotImplementedError(name)
                return self.answers[name]

            return getter
        raise AttributeError(name)

    def compliance_report(self, validation_source: Any) -> Any:
        return compliance_report(self, validation_source=validation_source)  # type: ignore[arg-type]


SOURCE = [{"get_bgp_neighbors": {"global": {"peers": {"198.18.0.1": {"is_up": True}}}}}]


def test_skipped_getter_fails_where_napalm_passes() -> None:
    driver = FakeDriver({})
    assert compliance_report(driver, validation_source=SOURCE)["complies"] is True  # type: ignore[arg-type]
    report = guarded_report(driver, SOURCE)
    assert report["complies"] is False and "skipped" in report["_guard"][0]


def test_empty_source_fails() -> None:
    assert guarded_report(FakeDriver({}), [])["complies"] is False
    assert guarded_report(FakeDriver({}), [{"get_interfaces": {}}])["complies"] is False


def test_down_peer_is_named(network: Network) -> None:
    driver = FakeDriver({"get_bgp_neighbors": {"global": {"peers": {"198.18.0.1": {"is_up": False}}}}})
    report = guarded_report(driver, SOURCE)
    assert report["complies"] is False
    passing = guarded_report(
        FakeDriver({"get_bgp_neighbors": {"global": {"peers": {"198.18.0.1": {"is_up": True}}}}}), SOURCE
    )
    assert passing["complies"] is True


def test_device_checks_name_the_missing_route(network: Network) -> None:
    source = validation_source(network, "core1")
    report = guarded_report(FakeDriver({"get_route_table": {}}), source)
    checks = {c.name: c for c in device_checks(network, "core1", report)}
    lan = checks[f"core1: routes in {network.pools['lan']}"]
    assert not lan.ok and f"{network.segment('health', 'staff').prefix}: missing" in lan.detail
    assert any(not c.ok and "skipped" in c.detail for c in checks.values())
