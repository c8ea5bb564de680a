"""The Nornir inventory built from the model, phase ordering and device selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from govnet.deploy import checks, engine
from govnet.deploy.inventory import build_inventory, credentials, known_hosts_file, nornir_for
from govnet.model import health, load_network

INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "karbala"


@pytest.fixture(scope="module")
def lab_net():  # type: ignore[no-untyped-def]
    return load_network(INVENTORY, "lab")


@pytest.fixture(scope="module")
def prod_net():  # type: ignore[no-untyped-def]
    return load_network(INVENTORY, "production")


def test_hosts_from_model(lab_net, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    creds = credentials("lab", {})
    inv = build_inventory(lab_net, list(lab_net.devices), creds, tmp_path / "kh", timeout=7)
    assert set(inv.hosts) == set(lab_net.devices)
    core1 = inv.hosts["core1"]
    assert core1.hostname == str(lab_net.devices["core1"].mgmt.ip)
    assert core1.platform == "frr"
    assert core1.username == "govnet" and core1.password == "govnet-lab"
    assert core1["phase"] == 1 and core1["role"] == "core"
    extras = core1.connection_options["napalm"].extras
    assert extras == {"timeout": 7, "optional_args": {"known_hosts_file": str(tmp_path / "kh"), "ssh_strict": True}}
    assert "govnet-lab" not in repr(creds)


def test_production_uses_napalm_ios_with_strict_host_keys(prod_net, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    creds = credentials("production", {"GOVNET_USERNAME": "ops", "GOVNET_PASSWORD": "x"})
    inv = build_inventory(prod_net, ["core1"], creds, tmp_path / "kh")
    host = inv.hosts["core1"]
    assert host.platform == "ios" and host.username == "ops"
    args = host.connection_options["napalm"].extras["optional_args"]
    assert args["ssh_strict"] is True and args["alt_key_file"] == str(tmp_path / "kh")


def test_production_needs_a_password() -> None:
    with pytest.raises(ValueError, match="GOVNET_PASSWORD is not set"):
        credentials("production", {})


def test_known_hosts_location(tmp_path: Path) -> None:
    assert known_hosts_file("lab", {}) == Path("build/lab/known_hosts")
    assert known_hosts_file("lab", {"GOVNET_LAB_DIR": str(tmp_path)}) == tmp_path / "known_hosts"
    assert known_hosts_file("production", {"GOVNET_KNOWN_HOSTS": "/k"}) == Path("/k")


def test_nornir_filters_by_name(lab_net, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    nr = nornir_for(build_inventory(lab_net, ["core1", "core2"], credentials("lab", {}), tmp_path), 4)
    assert list(nr.filter(filter_func=lambda h: h.name == "core2").inventory.hosts) == ["core2"]


def test_waves_follow_phases_dc_first(lab_net) -> None:  # type: ignore[no-untyped-def]
    names = engine.select(lab_net, None, None)
    plan = engine.waves(lab_net, names)
    assert [w.phase for w in plan] == [1, 2]
    assert plan[0].devices[:3] == ["core1", "core2", "dc-sw1"]
    assert all(lab_net.devices[n].phase == 2 for n in plan[1].devices)
    assert engine.steps(plan[0], canary=True) == [["core1"], plan[0].devices[1:]]
    assert engine.steps(plan[0], canary=False) == [plan[0].devices]


def test_selection_errors(lab_net) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="unknown device"):
        engine.select(lab_net, ["core1", "nope"], None)
    with pytest.raises(ValueError, match="no phase 9"):
        engine.select(lab_net, None, 9)
    assert engine.select(lab_net, ["core1", "health-r1"], 2) == ["health-r1"]


def test_post_check_plan_only_expects_deployed_peers(lab_net) -> None:  # type: ignore[no-untyped-def]
    core1 = lab_net.devices["core1"]
    phase1 = {n for n, d in lab_net.devices.items() if d.phase == 1}
    plan = checks.plan_for(lab_net, core1, phase1)
    peers = {kind: {f.peer for f in plan if health.kind(f) == kind} for kind in ("ospf", "bgp", "route")}
    assert peers["bgp"] <= phase1 and "health-r1" not in peers["bgp"]
    assert "dc-sw1" in peers["ospf"]
    routes = {f.prefix: f for f in plan if isinstance(f, health.Route)}
    assert "198.18.8.0/27" in routes
    phase1_lans = {
        str(s.prefix) for s in lab_net.segments if s.device in phase1 and lab_net.sites[s.site].kind != "datacentre"
    }
    assert phase1_lans and phase1_lans <= set(routes), "department segments are checked too, not only the DC's"
    assert not any(lab_net.devices[r.peer].phase == 2 for r in routes.values() if r.peer)
    alone = checks.plan_for(lab_net, core1, {"core1"})
    assert {health.kind(f) for f in alone} == {"interface"}
    assert health.Address("core1", "lo", core1.loopback, False) in alone


def test_the_post_check_is_a_filter_of_the_health_catalogue(lab_net) -> None:  # type: ignore[no-untyped-def]
    """With every device deployed, deploy expects exactly what verify does, apart from sessions to routers outside
    the model (the ISPs), which no deploy of ours brings up."""
    for name, device in lab_net.devices.items():
        every = health.expectations(lab_net, name)
        plan = checks.plan_for(lab_net, device, set(lab_net.devices))
        assert set(plan) <= set(every)
        assert [f for f in every if f not in plan] == [f for f in every if f.peer and f.peer not in lab_net.devices]


def test_a_driver_looking_routes_up_one_by_one_asks_one_per_holder(lab_net) -> None:  # type: ignore[no-untyped-def]
    """NAPALM ios costs a command per prefix and VRF: it is asked the device's own segments and one segment of every
    other holder, so every site's announcement is still seen."""
    for name in ("core1", "health-sw1"):
        routes = [
            f
            for f in checks.plan_for(lab_net, lab_net.devices[name], set(lab_net.devices))
            if isinstance(f, health.Route)
        ]
        asked = checks.one_per_holder(routes)
        holders = {s.device for s in lab_net.segments}
        assert {r.peer or name for r in asked} == holders
        own = [r for r in routes if r.peer is None]
        assert [r for r in asked if r.peer is None] == own and len(asked) == len(own) + len(holders - {name})
