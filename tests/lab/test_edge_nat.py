"""The lab edge's nftables script on a real kernel: three namespaces (an ISP with a citizen's address, the edge
with edge1's rendered script, the portal), no FRR. A citizen reaches the portal's public address on 443 and gets
the answer from that address; every other port, the inside address and a spoofed source are dropped; no
connection state is kept for the published flow (so the other edge could carry the answer)."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from govnet.model import load_network
from govnet.policy import render_nftables

pytestmark = pytest.mark.lab

INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "karbala"
NET = load_network(INVENTORY, "lab")
CITIZEN = IPv4Address("198.18.200.10")  # an Internet host, inside the lab's internet block


def sh(ns: str, *argv: str, check: bool = True, timeout: float = 10) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", ns, *argv], capture_output=True, text=True, check=check, timeout=timeout
    )


@pytest.fixture(scope="module")
def edge() -> Iterator[dict[str, str]]:
    assert NET.internet is not None
    up = NET.internet.uplinks_of("edge1")[0]
    portal = next(p for p in NET.internet.published if p.server == "portal1")
    tag = uuid.uuid4().hex[:5]
    ns = {"isp": f"gvisp{tag}", "edge": f"gvedg{tag}", "srv": f"gvsrv{tag}"}
    for name in ns.values():
        subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "link", "add", f"ga{tag}", "netns", ns["isp"], "type", "veth", "peer", "name",
                        f"gb{tag}", "netns", ns["edge"]], check=True)  # fmt: skip
        subprocess.run(["ip", "link", "add", f"gc{tag}", "netns", ns["edge"], "type", "veth", "peer", "name",
                        f"gd{tag}", "netns", ns["srv"]], check=True)  # fmt: skip
        sh(ns["edge"], "ip", "link", "set", f"gb{tag}", "name", up.interface)
        sh(ns["edge"], "ip", "link", "set", f"gc{tag}", "name", "eth1")
        steps = [
            (ns["isp"], f"ip addr add {up.peer}/31 dev ga{tag}"),
            (ns["isp"], f"ip addr add {CITIZEN}/32 dev lo"),
            (ns["isp"], f"ip link set ga{tag} up"),
            (ns["isp"], "ip link set lo up"),
            (ns["isp"], f"ip route add {NET.internet.public_prefix} via {up.address.ip}"),
            (ns["isp"], f"ip route add {NET.pools['dc']} via {up.address.ip}"),  # an attacker aiming at the inside
            (ns["edge"], f"ip addr add {up.address} dev {up.interface}"),
            (ns["edge"], "ip addr add 198.18.1.81/31 dev eth1"),
            (ns["edge"], f"ip link set {up.interface} up"),
            (ns["edge"], "ip link set eth1 up"),
            (ns["edge"], f"ip route add default via {up.peer}"),
            (ns["edge"], f"ip route add {NET.pools['dc']} via 198.18.1.80"),
            (ns["edge"], "sysctl -qw net.ipv4.ip_forward=1"),
            (ns["srv"], "ip addr add 198.18.1.80/31 dev gd" + tag),
            (ns["srv"], f"ip addr add {portal.inside}/32 dev lo"),
            (ns["srv"], f"ip link set gd{tag} up"),
            (ns["srv"], "ip link set lo up"),
            (ns["srv"], "ip route add default via 198.18.1.81"),
        ]
        for where, cmd in steps:
            sh(where, *cmd.split())
        script = render_nftables(NET, "edge1")
        assert script is not None
        subprocess.run(["ip", "netns", "exec", ns["edge"], "nft", "-f", "-"], input=script, text=True, check=True)
        server = subprocess.Popen(
            ["ip", "netns", "exec", ns["srv"], "python3", "-c", LISTENER, str(portal.inside)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        yield {**ns, "public": str(portal.public), "inside": str(portal.inside)}
        server.kill()
        server.wait()
    finally:
        for name in ns.values():
            subprocess.run(["ip", "netns", "del", name], check=False)


# Answers on 443, 80 and 22 with the peer address it saw, so the test also sees that the source is not rewritten.
LISTENER = """
import socket, sys, threading
def serve(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], port)); s.listen()
    while True:
        c, peer = s.accept(); c.sendall(f"hello {peer[0]}\\n".encode()); c.close()
for p in (443, 80, 22):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
print("ready", flush=True)
threading.Event().wait()
"""

CLIENT = """
import socket, sys
s = socket.socket(); s.settimeout(1.5); s.bind((sys.argv[1], 0))
try:
    s.connect((sys.argv[2], int(sys.argv[3]))); print(s.getpeername()[0], s.recv(100).decode().strip())
except OSError as exc:
    print("refused", type(exc).__name__)
"""


def connect(edge: dict[str, str], src: str, dst: str, port: int) -> str:
    return sh(edge["isp"], "python3", "-c", CLIENT, src, dst, str(port)).stdout.strip()


def test_citizen_reaches_the_published_portal_and_the_answer_comes_from_the_public_address(
    edge: dict[str, str],
) -> None:
    for port in (443, 80):
        assert connect(edge, str(CITIZEN), edge["public"], port) == f"{edge['public']} hello {CITIZEN}"
    # stateless: the edge kept no connection for the published flow
    assert edge["inside"] not in sh(edge["edge"], "cat", "/proc/net/nf_conntrack").stdout


def test_everything_else_from_the_internet_is_dropped(edge: dict[str, str]) -> None:
    assert connect(edge, str(CITIZEN), edge["public"], 22).startswith("refused")  # a port the portal listens on
    assert connect(edge, str(CITIZEN), edge["inside"], 443).startswith("refused")  # the inside address
    counters = sh(edge["edge"], "nft", "list", "chain", "inet", "govnet", "forward").stdout
    assert "the Internet reaches only what is published" in counters
    assert "packets 0 " not in next(line for line in counters.splitlines() if "only what is published" in line)


def test_a_spoofed_source_is_dropped_before_anything_else(edge: dict[str, str]) -> None:
    sh(
        edge["isp"], "ip", "addr", "add", f"{NET.servers[0].address.ip}/32", "dev", "lo"
    )  # our own address, from outside
    assert connect(edge, str(NET.servers[0].address.ip), edge["public"], 443).startswith("refused")
    pre = sh(edge["edge"], "nft", "list", "chain", "inet", "govnet", "pre").stdout
    line = next(x for x in pre.splitlines() if "bogon or our own source" in x)
    assert "packets 0 " not in line
