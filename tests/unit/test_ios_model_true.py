"""The production IOS-XE configs fit the inventory's hardware and survive a full replace.

Parsed from the rendered text (ciscoconfparse2), checked against the platform's per-model data: every port the model
has is rendered once and nothing else, routed uses of switchports say `no switchport`, the management port sits in
the model's own VRF, the deploy user, AAA servers, archive and SCP are there, and no secret placeholder survives once
the secrets are set.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ciscoconfparse2 import CiscoConfParse

from govnet.model import load_network
from govnet.model.platform import load_platform
from govnet.render import render_device, secret_names, unresolved

ROOT = Path(__file__).resolve().parents[2]
PROD = load_network(ROOT / "inventory" / "karbala", "production")
IOS = load_platform("cisco_ios")
SECRETS = {name: f"secret-{i}" for i, name in enumerate(secret_names(PROD))}


def parsed(device: str) -> CiscoConfParse:
    return CiscoConfParse(render_device(PROD, device, SECRETS).splitlines(), syntax="ios")


def blocks(parse: CiscoConfParse, pattern: str) -> dict[str, list[str]]:
    return {o.text: [c.text.strip() for c in o.children] for o in parse.find_objects(pattern)}


@pytest.mark.parametrize("device", sorted(PROD.devices))
def test_every_port_of_the_model_is_rendered_once_and_nothing_else(device: str) -> None:
    dev = PROD.devices[device]
    hw = IOS.models[dev.model]
    names = [o.text.split(maxsplit=1)[1] for o in parsed(device).find_objects(r"^interface ")]
    physical = [n for n in names if not n.startswith(("Loopback", "Vlan"))]
    expected = {p.name for p in hw.routed()} | {p.name for p in hw.access()} | {hw.mgmt.interface}
    assert len(physical) == len(set(physical)), "an interface is rendered twice"
    assert set(physical) == expected
    assert {n for n in names if n.startswith("Vlan")} == {i.name for i in dev.segments}


@pytest.mark.parametrize("device", sorted(PROD.devices))
def test_ports_are_used_the_way_the_hardware_allows(device: str) -> None:
    dev = PROD.devices[device]
    hw = IOS.models[dev.model]
    interfaces = blocks(parsed(device), r"^interface ")
    for header, lines in interfaces.items():
        name = header.split(maxsplit=1)[1]
        if name.startswith(("Loopback", "Vlan")) or name == hw.mgmt.interface:
            continue
        routed = any(line.startswith("ip address") for line in lines)
        if hw.switch and routed:
            assert lines.index("no switchport") < next(i for i, t in enumerate(lines) if t.startswith("ip address"))
        if any(line.startswith("switchport") for line in lines):
            assert hw.switch and not routed, header
        if not routed and not any(line.startswith("switchport access vlan") for line in lines):
            assert "shutdown" in lines, f"{header}: an unused port must be shut"
    mgmt = interfaces[f"interface {hw.mgmt.interface}"]
    assert f"vrf forwarding {hw.mgmt.vrf}" in mgmt


@pytest.mark.parametrize("device", sorted(PROD.devices))
def test_management_vrf_is_the_models_own(device: str) -> None:
    dev = PROD.devices[device]
    hw = IOS.models[dev.model]
    vrfs = [o.text for o in parsed(device).find_objects(r"^vrf definition ")]
    assert vrfs == [f"vrf definition {hw.mgmt.vrf}"], "the management VRF is defined exactly once"
    assert not any(v == "vrf definition MGMT" for v in vrfs) or not hw.mgmt.builtin


@pytest.mark.parametrize("device", sorted(PROD.devices))
def test_segments_have_access_ports_in_their_vlan(device: str) -> None:
    dev = PROD.devices[device]
    if not dev.segments:
        return
    parse = parsed(device)
    vlans = {int(o.text.split()[1]) for o in parse.find_objects(r"^vlan \d+$")}
    access = [c.text.split()[-1] for c in parse.find_objects(r"^\s+switchport access vlan ")]
    for seg in dev.segments:
        assert seg.vlan in vlans
        assert access.count(str(seg.vlan)) >= 1, f"segment {seg.segment} has no access port: its SVI stays down"


@pytest.mark.parametrize("device", sorted(PROD.devices))
def test_routing_only_where_the_licence_runs_it(device: str) -> None:
    hw = IOS.models[PROD.devices[device].model]
    parse = parsed(device)
    assert bool(parse.find_objects(r"^router bgp ")) <= ("bgp" in hw.protocols)
    assert bool(parse.find_objects(r"^router ospf ")) <= ("ospf" in hw.protocols)


@pytest.mark.parametrize("device", sorted(PROD.devices))
def test_replace_keeps_what_the_next_deploy_needs(device: str) -> None:
    parse = parsed(device)
    text = "\n".join(o.text for o in parse.objs)
    assert f"username {PROD.deploy_user} privilege 15 secret 9 " in text
    assert parse.find_objects(r"^archive$") and parse.find_objects(r"^ip scp server enable$")
    servers = blocks(parse, r"^tacacs server ")
    assert {h.split()[-1] for h in servers} == {name for name, _ in PROD.tacacs_servers}
    for (name, address), (_, lines) in zip(PROD.tacacs_servers, sorted(servers.items()), strict=True):
        assert f"address ipv4 {address}" in lines, name
    assert parse.find_objects(r"^aaa authentication login default group GOVNET-TACACS local$")
    for line in (
        r"^enable secret 9 ",
        r"^login block-for ",
        r"^ntp authenticate$",
        r"^ntp source Loopback0$",
        r"^logging source-interface Loopback0$",
        r"^ip domain lookup source-interface Loopback0$",
        r"^snmp-server group \S+ v3 priv ",
    ):
        assert parse.find_objects(line), line
    for vty in blocks(parse, r"^line vty ").values():
        assert "transport input ssh" in vty and "transport output none" in vty
    assert "exec-timeout 5 0" in blocks(parse, r"^line con 0$")["line con 0"]


@pytest.mark.parametrize("device", sorted(PROD.devices))
def test_user_svis_have_urpf(device: str) -> None:
    dev = PROD.devices[device]
    if PROD.sites[dev.site].kind != "department":
        return
    for seg in dev.segments:
        lines = blocks(parsed(device), rf"^interface {seg.name}$")[f"interface {seg.name}"]
        assert "ip verify unicast source reachable-via rx" in lines


def test_secrets_fill_every_placeholder() -> None:
    for device in PROD.devices:
        assert unresolved(render_device(PROD, device, SECRETS)) == []
    left = unresolved(render_device(PROD, "core1"))
    assert left == [
        "ios_enable_secret_hash",
        "ios_deploy_secret_hash",
        "ios_local_secret_hash",
        "ios_tacacs_key",
        "ospf_key",
        "bgp_key",
        "ios_ntp_key",
    ]


def test_models_baseline_is_kept_verbatim() -> None:
    for device, dev in PROD.devices.items():
        baseline = IOS.baseline(dev.model)
        assert baseline and baseline in render_device(PROD, device, SECRETS), device


def test_configs_carry_nothing_the_inline_transfer_refuses() -> None:
    """NAPALM's inline (tclsh) transfer refuses braces and a trailing backslash: such a config could never load."""
    for device in PROD.devices:
        text = render_device(PROD, device, SECRETS)
        assert not {"{", "}"} & set(text), device
        assert not any(line.endswith("\\") for line in text.splitlines()), device
