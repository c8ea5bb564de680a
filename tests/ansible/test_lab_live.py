"""Live in the lab: the DC servers run as podman containers inside their lab namespaces (gvs-<server>), are
provisioned by playbooks/servers.yml, a second run changes nothing, and a department host resolves the portal's
name through the lab DNS server and fetches the portal over HTTPS through the routed network.

Builds its own configured Karbala lab (state in build/lab-ansible) and removes it, containers included, at the
end. Another session's Karbala lab is waited for (same namespace names), never touched.
"""

from __future__ import annotations

import os
import random
import socket
import ssl
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import ROOT, run, tail

pytestmark = [pytest.mark.lab, pytest.mark.slow]
STATE_DIR = ROOT / "build" / "lab-ansible"
DEPARTMENT_HOST = "diwan-staff"
LAB_INVENTORY = "inventory/lab-containers.govnet.yml"


def wait_for_free_prefix(prefix: str, seconds: float = 1800) -> None:
    """Another Karbala lab uses the same namespace names: wait for it to go (a benchmark's or another session's),
    and name it if it stays (an engineer's lab is never torn down by a test)."""
    from govnet.lab.state import REGISTRY, StateFile

    deadline = time.monotonic() + seconds
    entry = REGISTRY / f"{prefix}.lab"
    while entry.exists():
        other = Path(entry.read_text().strip()).parent
        state = StateFile.load(other)
        if state is None:
            return
        if time.monotonic() > deadline:
            held = "held by another session" if state.owner_alive() else "up without a live owner"
            pytest.fail(f"the lab in {other} is still {held}; if unused: GOVNET_LAB_DIR={other} govnet lab down", False)
        time.sleep(5)


@pytest.fixture(scope="module")
def lab_servers() -> Iterator[object]:
    """A configured (routed) Karbala lab whose DC servers are containers provisioned by servers.yml."""
    if os.geteuid() != 0:
        pytest.skip("not root")
    from govnet.lab import engine
    from govnet.lab.from_model import load_spec
    from govnet.lab.state import StateFile

    spec = load_spec(ROOT / "inventory" / "karbala", "lab")
    leftover = StateFile.load(STATE_DIR)
    if leftover is not None and not leftover.owner_alive():
        engine.down(STATE_DIR)
    wait_for_free_prefix(spec.prefix)
    image = run([str(ROOT / "scripts" / "build-base-image"), "--lab"], timeout=1800)
    assert image.returncode == 0, tail(image)
    lab = engine.up(spec, STATE_DIR, configured=True)
    try:
        yield lab
    finally:
        run(["ansible-playbook", "playbooks/lab-containers.yml", "-e", "govnet_lab_state=absent"], timeout=600)
        engine.down(STATE_DIR)


def recap(output: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP lines → {host: {"ok": n, "changed": n, "failed": n, ...}}."""
    hosts: dict[str, dict[str, int]] = {}
    for line in output.split("PLAY RECAP", 1)[-1].splitlines():
        if " : " in line:
            host, counts = line.split(" : ", 1)
            hosts[host.strip()] = {k: int(v) for k, v in (p.split("=") for p in counts.split())}
    return hosts


def dns_query(server: str, name: str) -> list[str]:
    """One A query over UDP (run inside the department's namespace via `ip netns exec python3`)."""
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
    packet += b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\0" + struct.pack(">HH", 1, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(3)
        sock.sendto(packet, (server, 53))
        reply = sock.recv(2048)
    answers = struct.unpack(">H", reply[6:8])[0]
    pos = len(packet)  # the reply echoes header and question first
    found = []
    for _ in range(answers):
        pos += 2 if reply[pos] & 0xC0 == 0xC0 else reply.index(b"\0", pos) - pos + 1
        rtype, _cls, _ttl, length = struct.unpack(">HHIH", reply[pos : pos + 10])
        pos += 10
        if rtype == 1:
            found.append(socket.inet_ntoa(reply[pos : pos + length]))
        pos += length
    return found


def https_get(address: str, name: str, cafile: str) -> str:
    """GET / from `address`, validating the certificate for `name` against `cafile` (curl --resolve, in Python)."""
    context = ssl.create_default_context(cafile=cafile)
    with (
        socket.create_connection((address, 443), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := tls.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def in_namespace(netns: str, *argv: str, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["ip", "netns", "exec", netns, *argv], cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
    )


def test_servers_playbook_provisions_the_lab_and_the_portal_answers_a_department(lab_servers: object) -> None:
    from govnet.model import load_network

    net = load_network(ROOT / "inventory" / "karbala")
    containers = run(["ansible-playbook", "playbooks/lab-containers.yml"], timeout=900)
    assert containers.returncode == 0, tail(containers)

    start = time.monotonic()
    first = run(["ansible-playbook", "-i", LAB_INVENTORY, "playbooks/servers.yml"], timeout=3600)
    first_s = time.monotonic() - start
    assert first.returncode == 0, tail(first, 120)
    start = time.monotonic()
    second = run(["ansible-playbook", "-i", LAB_INVENTORY, "playbooks/servers.yml"], timeout=3600)
    second_s = time.monotonic() - start
    assert second.returncode == 0, tail(second, 120)
    changed = {host: counts["changed"] for host, counts in recap(second.stdout).items() if counts["changed"]}
    assert changed == {}, f"second run changed something: {changed}"
    print(f"\nservers.yml: first run {first_s:.0f} s, second run {second_s:.0f} s (changed=0)")

    verify = run(["ansible-playbook", "-i", LAB_INVENTORY, "playbooks/verify.yml"], timeout=900)
    assert verify.returncode == 0, tail(verify, 80)

    host = next(h for h in net.hosts if h.name == DEPARTMENT_HOST)
    dns = next(s for s in net.servers if s.role == "dns")
    portal_name = f"portal.{net.domain}"
    code = (
        f"from tests.ansible.test_lab_live import dns_query; print(' '.join(dns_query('{dns.address.ip}', "
        f"'{portal_name}')))"
    )
    resolved = in_namespace(f"gvh-{host.name}", sys.executable, "-c", code)
    assert resolved.returncode == 0, resolved.stderr
    addresses = resolved.stdout.split()
    assert sorted(addresses) == sorted(str(s.address.ip) for s in net.servers if s.role == "portal")

    # every portal answers over HTTPS with its own (self-signed) certificate; DNS may list them in any order
    for portal in (s for s in net.servers if s.role == "portal"):
        cert = ROOT / "build" / "lab-ansible" / f"{portal.name}.crt"
        copied = subprocess.run(
            ["podman", "cp", f"gvlab-{portal.name}:/etc/ssl/govnet/portal.crt", str(cert)],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "CONTAINERS_CONF": str(ROOT / "scripts" / "containers.conf")},
        )
        assert copied.returncode == 0, copied.stderr
        code = (
            "from tests.ansible.test_lab_live import https_get; "
            f"print(https_get('{portal.address.ip}', '{portal_name}', '{cert}'))"
        )
        page = in_namespace(f"gvh-{host.name}", sys.executable, "-c", code)
        assert page.returncode == 0, f"{portal.name}: {page.stderr}"
        assert "strict-transport-security" in page.stdout.lower()
        assert "Karbala e-government portal" in page.stdout
