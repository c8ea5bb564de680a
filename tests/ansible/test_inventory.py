"""The inventory plugin exposes exactly the model: the same hosts, groups and host variables as load_network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from govnet.model import Network, load_network

from .conftest import ROOT, run, tail

INVENTORY = "inventory/karbala.govnet.yml"


def plain(value: Any) -> Any:
    """ansible-inventory marks strings from plugins as unsafe ({"__ansible_unsafe": "..."}); compare the text."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def inventory_list(env: str = "lab", source: str = INVENTORY) -> dict[str, Any]:
    proc = run(["ansible-inventory", "-i", source, "--list", "--export"], GOVNET_ENV=env)
    assert proc.returncode == 0, tail(proc)
    return dict(plain(json.loads(proc.stdout)))


def members(listing: dict[str, Any], group: str) -> set[str]:
    return set(listing.get(group, {}).get("hosts", []))


def gname(prefix: str, value: object) -> str:
    return f"{prefix}_{str(value).replace('-', '_')}"


@pytest.fixture(scope="module", params=["lab", "production"])
def env_pair(request: pytest.FixtureRequest) -> tuple[Network, dict[str, Any]]:
    env = str(request.param)
    return load_network(ROOT / "inventory" / "karbala", env=env), inventory_list(env)


def expected_groups(net: Network) -> dict[str, set[str]]:
    """Group → hosts, computed straight from the model."""
    groups: dict[str, set[str]] = {}

    def add(group: str, host: str) -> None:
        groups.setdefault(group, set()).add(host)

    phase = {s.name: s.phase for s in net.sites.values()}
    for s in net.servers:
        for g in (
            "servers",
            gname("env", net.env),
            gname("site", s.site),
            gname("role", s.role),
            gname("zone", s.zone),
            gname("phase", s.phase),
        ):
            add(g, s.name)
    for d in net.devices.values():
        for g in (
            "network_devices",
            gname("env", net.env),
            gname("site", d.site),
            gname("role", d.role),
            gname("zone", d.zone),
            gname("phase", d.phase),
        ):
            add(g, d.name)
    for h in net.hosts:
        for g in (
            "endpoints",
            gname("env", net.env),
            gname("site", h.site),
            "role_endpoint",
            gname("zone", h.zone),
            gname("phase", phase[h.site]),
        ):
            add(g, h.name)
    return groups


def test_groups_match_the_model(env_pair: tuple[Network, dict[str, Any]]) -> None:
    net, listing = env_pair
    want = expected_groups(net)
    have = {g: members(listing, g) for g in listing if g not in ("_meta", "all", "ungrouped")}
    assert {g: h for g, h in have.items() if h} == want


def test_every_kind_of_group_is_present(env_pair: tuple[Network, dict[str, Any]]) -> None:
    net, listing = env_pair
    assert members(listing, f"env_{net.env}") == set(net.devices) | {s.name for s in net.servers} | {
        h.name for h in net.hosts
    }
    assert members(listing, "site_dc") >= {s.name for s in net.servers if s.site == "dc"}
    assert members(listing, "role_database") == {s.name for s in net.servers if s.role == "database"}
    assert members(listing, "zone_dc_dmz") == {s.name for s in net.servers if s.zone == "dc-dmz"}
    assert members(listing, "phase_2") == (
        {d.name for d in net.devices_in_phase(2)} | {h.name for h in net.hosts if net.sites[h.site].phase == 2}
    )


def test_server_host_vars_match_the_model(env_pair: tuple[Network, dict[str, Any]]) -> None:
    net, listing = env_pair
    hostvars = listing["_meta"]["hostvars"]
    for s in net.servers:
        hv = hostvars[s.name]
        assert hv["ansible_host"] == str(s.address.ip)
        assert hv["govnet_address"] == str(s.address)
        assert hv["govnet_ip"] == str(s.address.ip)
        assert hv["govnet_gateway"] == str(s.gateway)
        assert (hv["govnet_site"], hv["govnet_segment"], hv["govnet_zone"], hv["govnet_role"]) == (
            s.site,
            s.segment,
            s.zone,
            s.role,
        )
        assert hv["govnet_phase"] == s.phase
        assert (hv["govnet_vcpu"], hv["govnet_memory_mb"], hv["govnet_disk_gb"]) == (s.vcpu, s.memory_mb, s.disk_gb)
        assert hv["govnet_services"] == [{"proto": x.proto, "port": x.port} for x in s.services]
        assert hv["ansible_python_interpreter"] == "/usr/bin/python3"


def test_device_host_vars_match_the_model(env_pair: tuple[Network, dict[str, Any]]) -> None:
    net, listing = env_pair
    hostvars = listing["_meta"]["hostvars"]
    for d in net.devices.values():
        hv = hostvars[d.name]
        assert hv["govnet_loopback"] == str(d.loopback)
        assert hv["govnet_mgmt"] == str(d.mgmt)
        assert hv["ansible_host"] == str(d.mgmt.ip)
        assert hv["govnet_platform"] == d.platform
        assert hv["ansible_connection"] == "local"


def test_governorate_wide_vars(env_pair: tuple[Network, dict[str, Any]]) -> None:
    net, listing = env_pair
    allvars = listing["all"]["vars"]
    assert allvars["govnet_domain"] == net.domain
    assert allvars["govnet_env"] == net.env
    assert allvars["govnet_ntp_servers"] == [str(a) for a in net.ntp_servers]
    assert allvars["govnet_dns_servers"] == [str(a) for a in net.dns_servers]
    assert allvars["govnet_syslog_servers"] == [str(a) for a in net.syslog_servers]
    assert len(allvars["govnet_segments"]) == len(net.segments)


def test_role_inputs_are_derived_from_the_model() -> None:
    """The group_vars turn the model into role inputs: spot-check the DNS zone and the scrape targets."""
    net = load_network(ROOT / "inventory" / "karbala")
    dns = next(s.name for s in net.servers if s.role == "dns")
    proc = run(["ansible", dns, "-m", "ansible.builtin.debug", "-a", "var=bind9__records"])
    assert proc.returncode == 0, tail(proc)
    records = json.loads(proc.stdout.split("=>", 1)[1])["bind9__records"]
    want = {s.name: str(s.address.ip) for s in net.servers} | {d.name: str(d.loopback.ip) for d in net.devices.values()}
    assert {r["name"]: r["address"] for r in records} == want


def test_a_broken_model_fails_with_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "karbala"
    shutil.copytree(ROOT / "inventory" / "karbala", broken)
    servers = broken / "servers.yml"
    servers.write_text(servers.read_text().replace("segment: dmz,", "segment: nowhere,", 1))
    source = tmp_path / "broken.govnet.yml"
    source.write_text(f"plugin: govnet.network.govnet\ninventory_dir: {broken}\n")
    proc = run(["ansible-inventory", "-i", str(source), "--list"])
    assert proc.returncode != 0
    assert "servers.yml:" in proc.stderr and "nowhere" in proc.stderr, tail(proc)


def test_lab_containers_source_reaches_servers_through_their_namespaces() -> None:
    listing = inventory_list(source="inventory/lab-containers.govnet.yml")
    net = load_network(ROOT / "inventory" / "karbala")
    for s in net.servers:
        hv = listing["_meta"]["hostvars"][s.name]
        assert (hv["ansible_host"], hv["ansible_connection"]) == (f"gvlab-{s.name}", "podman")
        assert hv["govnet_lab_netns"] == f"gvs-{s.name}"
        assert hv["govnet_ip"] == str(s.address.ip)
    assert listing["_meta"]["hostvars"]["core1"]["ansible_connection"] == "local"


def test_lab_containers_is_refused_outside_the_lab(tmp_path: Path) -> None:
    source = tmp_path / "prod.govnet.yml"
    source.write_text(
        f"plugin: govnet.network.govnet\ninventory_dir: {ROOT / 'inventory' / 'karbala'}\n"
        "env: production\nlab_containers: true\n"
    )
    proc = run(["ansible-inventory", "-i", str(source), "--list"])
    assert proc.returncode != 0
    assert "lab_containers is for the lab environment only" in proc.stderr, tail(proc)
