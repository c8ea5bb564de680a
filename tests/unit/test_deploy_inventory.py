"""The Nornir inventory built from the model, phase ordering and device selection."""

from __future__ import annotations

from pathlib import Path

import pytest

from govnet.deploy import checks, engine
from govnet.deploy.inventory import build_inventory, credentials, known_hosts_file, nornir_for
from govnet.model import load_network

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
    assert set(plan.bgp.values()) <= phase1 and "health-r1" not in plan.bgp.values()
    assert "dc-sw1" in plan.ospf.values()
    assert "198.18.8.0/27" in plan.routes
    alone = checks.plan_for(lab_net, core1, {"core1"})
    assert alone.ospf == {} and alone.bgp == {} and alone.routes == {}
    assert alone.interfaces["lo"] == core1.loopback
