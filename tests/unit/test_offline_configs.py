"""Rendered configs pass offline checks: FRR's own parser (vtysh --dryrun) and the IOS structure via ciscoconfparse2."""

from __future__ import annotations

import shutil
import subprocess
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

import pytest
from ciscoconfparse2 import CiscoConfParse

from govnet.model import load_network
from govnet.render import render_device

ROOT = Path(__file__).resolve().parents[2]
LAB = load_network(ROOT / "inventory" / "karbala", "lab")
PROD = load_network(ROOT / "inventory" / "karbala", "production")
#: Every shipped governorate's devices: Karbala and Babil (a hub-and-spoke district tier, a ring, parallel links).
NETS = {
    (gov, env): load_network(ROOT / "inventory" / gov, env)
    for gov in ("karbala", "babil")
    for env in ("lab", "production")
}
LAB_CASES = [(gov, d) for (gov, env), net in NETS.items() if env == "lab" for d in sorted(net.devices)]
PROD_CASES = [(gov, d) for (gov, env), net in NETS.items() if env == "production" for d in sorted(net.devices)]


def vtysh_check(path: Path) -> subprocess.CompletedProcess[str]:
    vtysh = shutil.which("vtysh") or "/usr/bin/vtysh"
    assert Path(vtysh).exists(), "vtysh missing: install FRR with scripts/bootstrap"
    return subprocess.run([vtysh, "--dryrun", "-f", str(path)], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("gov", "device"), LAB_CASES)
def test_frr_config_passes_vtysh_dryrun(gov: str, device: str, tmp_path: Path) -> None:
    path = tmp_path / f"{device}.conf"
    path.write_text(render_device(NETS[(gov, "lab")], device))
    result = vtysh_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_vtysh_dryrun_rejects_a_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.conf"
    path.write_text(render_device(LAB, "core1").replace(" ospf router-id", " ospf router-identity"))
    result = vtysh_check(path)
    assert result.returncode != 0 and "Unknown command" in result.stdout + result.stderr


def _addr(text: str) -> IPv4Interface:
    ip, mask = text.split()[2:4]
    return IPv4Interface(f"{ip}/{mask}")


@pytest.mark.parametrize(("gov", "device"), PROD_CASES)
def test_ios_config_structure(gov: str, device: str) -> None:
    prod = NETS[(gov, "production")]
    dev = prod.devices[device]
    parse = CiscoConfParse(render_device(prod, device).splitlines(), syntax="ios")
    # Every planned interface exists with its planned address.
    for iface in (*dev.interfaces,):
        objs = parse.find_objects(rf"^interface {iface.name}$")
        assert len(objs) == 1, iface.name
        addr = [c.text.strip() for c in objs[0].children if c.text.strip().startswith("ip address")]
        assert [_addr(a) for a in addr] == [iface.address]
    # OSPF network statements cover every p2p address and the loopback, and nothing else.
    ospf = parse.find_objects(r"^router ospf 1$")[0]
    networks = []
    for child in ospf.children:
        words = child.text.split()
        if words[0] == "network":
            networks.append(IPv4Network(f"{words[1]}/{_wildcard_len(words[2])}"))
    pat = PROD.internet.pat_of(device) if PROD.internet else None  # an Internet edge's PAT address, routed inside
    expected = [dev.loopback.ip, *(i.address.ip for i in dev.p2p), *([pat] if pat else [])]
    assert all(any(a in n for n in networks) for a in expected)
    assert len(networks) == len(expected)
    # Every ACL referenced on an interface exists; every object-group an ACL uses exists.
    acls = {o.text.split()[-1] for o in parse.find_objects(r"^ip access-list extended ")}
    used = {c.text.split()[2] for c in parse.find_objects(r"^\s+ip access-group ")}
    assert used <= acls
    edge_acls = 2 if PROD.internet and device in PROD.internet.devices else 0  # EDGE-IN-<ISP>, EDGE-OUT
    assert len(used) == len(dev.segments) + edge_acls
    groups = {o.text.split()[-1] for o in parse.find_objects(r"^object-group network ")}
    for line in parse.find_objects(r"object-group ZONE-"):
        if not line.text.startswith("object-group"):
            assert line.text.split("object-group ")[1].split()[0] in groups
    # Management is SSH-only with AAA, NTP and logging to the DC servers.
    assert parse.find_objects(r"^\s+transport input ssh$")
    assert parse.find_objects(r"^aaa new-model$")
    assert {o.text.split()[2] for o in parse.find_objects(r"^ntp server ")} == {str(a) for a in prod.ntp_servers}
    assert {o.text.split()[-1] for o in parse.find_objects(r"^logging host ")} == {str(a) for a in prod.syslog_servers}


def _wildcard_len(wildcard: str) -> int:
    return 32 - bin(int(IPv4Address(wildcard))).count("1")


def test_access_switch_acls_isolate_security_from_service() -> None:
    parse = CiscoConfParse(render_device(PROD, "police-sw1").splitlines(), syntax="ios")
    staff = parse.find_objects(r"^ip access-list extended SEG-STAFF-IN$")[0]
    lines = [" ".join(c.text.split()[1:]) for c in staff.children]  # without the sequence number
    deny = next(i for i, t in enumerate(lines) if t.startswith("deny ip") and "ZONE-SERVICE" in t)
    assert not any("ZONE-SERVICE" in t and t.startswith("permit") for t in lines[:deny])
    assert lines[-1] == "deny ip any any log"
    numbers = [int(c.text.split()[0]) for c in staff.children]
    assert numbers == sorted(numbers) and numbers[0] == 10
