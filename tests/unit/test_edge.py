"""The Internet edge as rendered: no route can leak either way, the edge filter lets in only what is published, and
the nftables script the lab loads is accepted by nft. Judged on the rendered text (both platforms)."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path

import pytest

from govnet.analyze.ios_acl import icmp, parse_config, tcp, udp
from govnet.edge import bogons
from govnet.model import load_network
from govnet.policy import render_nftables
from govnet.render import render_device

INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "karbala"
LAB = load_network(INVENTORY, "lab")
PROD = load_network(INVENTORY, "production")
NETS = {"lab": LAB, "production": PROD}
CITIZEN = IPv4Address("198.18.200.10")  # an Internet host of the lab's internet block


def edge(env: str):  # type: ignore[no-untyped-def]
    net = NETS[env].internet
    assert net is not None
    return net


def prefix_lists(text: str) -> dict[str, set[IPv4Network]]:
    out: dict[str, set[IPv4Network]] = {}
    for name, prefix in re.findall(r"^ip prefix-list (\S+) seq \d+ permit (\S+)$", text, re.M):
        out.setdefault(name, set()).add(IPv4Network(prefix))
    return out


@pytest.mark.parametrize("env", ["lab", "production"])
def test_every_isp_session_announces_only_the_public_prefix_and_takes_only_what_is_listed(env: str) -> None:
    ed = edge(env)
    assert len(ed.uplinks) == 2 and {u.device for u in ed.uplinks} == {"edge1", "edge2"}
    for up in ed.uplinks:
        text = render_device(NETS[env], up.device)
        lists = prefix_lists(text)
        assert lists["TO-INTERNET"] == {ed.public_prefix}
        assert lists[f"FROM-{up.isp.upper()}"] == {IPv4Network("0.0.0.0/0")}
        for line in ("prefix-list TO-INTERNET out", f"prefix-list FROM-{up.isp.upper()} in", "maximum-prefix 10"):
            assert f"  neighbor {up.peer} {line}" in text, line
        assert f"neighbor {up.peer} remote-as {up.asn}" in text
        bfd = "bfd" if env == "lab" else "fall-over bfd"
        assert f" neighbor {up.peer} {bfd}\n" in text
        # the session is activated only where the filters are (no neighbour without them)
        activated = set(re.findall(r"^  neighbor (\S+) activate$", text, re.M))
        filtered = set(re.findall(r"^  neighbor (\S+) prefix-list TO-INTERNET out$", text, re.M))
        ebgp = {str(u.peer) for u in ed.uplinks_of(up.device)}
        assert activated & ebgp == filtered == ebgp


def test_no_other_device_talks_to_an_isp() -> None:
    ed = edge("production")
    for name in PROD.devices:
        if name in ed.devices:
            continue
        text = render_device(PROD, name)
        assert all(f"neighbor {u.peer}" not in text for u in ed.uplinks), name
        assert "ip nat" not in text, name


@pytest.mark.parametrize("device", ["edge1", "edge2"])
def test_ios_edge_filter_lets_in_only_what_is_published(device: str) -> None:
    ed = edge("production")
    cfg = parse_config(render_device(PROD, device))
    (up,) = ed.uplinks_of(device)
    acl = cfg.acls[f"EDGE-IN-{up.isp.upper()}"]
    assert cfg.interfaces[up.interface].acl_in == acl.name
    outsider = IPv4Address("8.8.4.4")
    for pub in ed.published:
        for svc in pub.services:
            assert svc.port is not None
            pkt = (tcp if svc.proto == "tcp" else udp)(outsider, pub.public, 40000, svc.port)
            assert acl.evaluate(pkt).permitted, (pub.name, svc)
        for port in (22, 8443, 5432, 3389):
            assert not acl.evaluate(tcp(outsider, pub.public, 40000, port)).permitted, (pub.name, port)
    for srv in PROD.servers:  # the inside addresses are never reachable, published or not
        assert not acl.evaluate(tcp(outsider, srv.address.ip, 40000, 443)).permitted, srv.name
    portal = ed.published[0].public
    for spoofed in (PROD.servers[0].address.ip, IPv4Address("10.1.2.3"), IPv4Address("192.168.1.1"), portal):
        verdict = acl.evaluate(tcp(spoofed, portal, 40000, 443))
        assert not verdict.permitted and "deny" in verdict.line, spoofed
    assert acl.evaluate(tcp(up.peer, up.address.ip, 40000, 179)).permitted
    assert not acl.evaluate(tcp(outsider, up.address.ip, 40000, 179)).permitted
    assert not acl.evaluate(icmp(outsider, portal)).permitted


def test_every_edge_translates_every_published_server_alike() -> None:
    ed = edge("production")
    statics = [
        sorted(re.findall(r"^ip nat inside source static (\S+) (\S+)$", render_device(PROD, d), re.M))
        for d in ed.devices
    ]
    assert statics[0] == statics[1] == sorted((str(p.inside), str(p.public)) for p in ed.published)


@pytest.mark.parametrize("env", ["lab", "production"])
def test_bogons_keep_the_outside_and_refuse_our_own(env: str) -> None:
    net, ed = NETS[env], edge(env)
    refused = bogons(net)
    for up in ed.uplinks:
        assert not any(up.peer in b for b in refused)
    assert any(ed.public_prefix.subnet_of(b) for b in refused)  # our own prefix is never a source from outside
    for pool in ("loopback", "dc", "lan", "mgmt"):
        assert any(net.pools[pool].subnet_of(b) for b in refused)
    if env == "lab":
        assert not any(CITIZEN in b for b in refused)


def test_departments_reach_no_internet_and_the_dc_infra_only_ntp_and_dns() -> None:
    zone = edge("lab").zone
    for seg in LAB.segments:
        to_internet = {(e.proto, e.port) for e in seg.policy if e.dst_zone == zone and e.action == "allow"}
        if seg.zone == "dc-infra":
            assert to_internet == {("udp", 123), ("udp", 53), ("tcp", 53)}
        else:
            assert not to_internet, seg.key


@pytest.mark.skipif(shutil.which("nft") is None or shutil.which("ip") is None, reason="needs nft and ip (root)")
@pytest.mark.parametrize("device", ["edge1", "edge2"])
def test_lab_edge_nftables_is_accepted_by_nft(device: str, tmp_path: Path) -> None:
    script = render_nftables(LAB, device)
    assert script is not None
    path = tmp_path / "edge.nft"
    path.write_text(script)
    ns = f"gvedge{uuid.uuid4().hex[:6]}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    try:
        done = subprocess.run(["ip", "netns", "exec", ns, "nft", "-c", "-f", str(path)], capture_output=True, text=True)
    finally:
        subprocess.run(["ip", "netns", "del", ns], check=True)
    assert done.returncode == 0, done.stderr
