"""The citizen's side of the network, checked from the emulated Internet (``govnet.lab.internet``).

Four families, each computed from the model (the Internet edge's publications and the zone policy) and probed from
real namespaces:

- ``citizen``: the citizen resolves the portal's name through the public DNS view (only published names, public
  addresses), fetches it over HTTPS validating the certificate, is redirected from HTTP, and files a service request
  that is then read from the primary database itself. Without provisioned servers (the fast mode's stand-in
  listeners) it checks that each published address and port reaches the server it is translated to (the listener
  names itself).
- ``exposure``: what an attacker on the Internet would scan, by class (published services, the public addresses'
  other ports, the edge's own addresses, DC servers, department hosts, network devices): TCP connects to every
  address and port of each class, ICMP echo to every inside address; only the published services may answer.
- ``egress``: who may start a flow to the Internet (an upstream host's DNS, NTP and web ports): exactly the sources
  and services the policy sends to the Internet zone (the DC infrastructure's NTP and DNS), each leaving through an
  edge's PAT address; every department host, and every other DC server, reaches nothing.
- ``isp-failover`` (with ``--failover``): each ISP uplink in turn is cut silently (everything dropped at both ends,
  carrier up: BFD must notice) while the citizen's requests run in a loop; measured: seconds until the requests flow
  through the other ISP, requests failed, acknowledged requests lost (every acknowledged reference must be in the
  database), seconds until the uplink's sessions are back after the repair.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import resource
import selectors
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address
from pathlib import Path
from typing import Any

from govnet.lab.containers import container_exec
from govnet.lab.icmp import in_namespace, ping_many
from govnet.lab.nsexec import run
from govnet.model.derived import Network
from govnet.verify.eservices import Response, dns_query, guarded, https
from govnet.verify.expect import Endpoint, endpoints, judge
from govnet.verify.failover import until
from govnet.verify.result import Check

#: What an attacker scans on every address (TCP): remote logins, mail, file shares, databases, web, management.
ATTACK_PORTS = (21, 22, 23, 25, 53, 80, 110, 135, 139, 143, 179, 389, 443, 445, 830, 1433, 2601, 2605, 3306, 3389,
                5432, 5900, 6379, 8080, 8443, 9090, 9100, 9200)  # fmt: skip
#: Ports scanned on department hosts and network devices (the remote-access and management services).
HOST_PORTS = (22, 23, 80, 135, 139, 443, 445, 3389, 5900)
DEVICE_PORTS = (22, 23, 80, 179, 443, 830, 2601, 2605)
#: What the upstream host answers (an Internet resolver, time server and web server).
UPSTREAM_SERVICES = (("tcp", 53), ("tcp", 80), ("tcp", 443), ("udp", 53), ("udp", 123))
CONNECT_TIMEOUT = 1.5


@dataclass(frozen=True)
class Outside:
    """The emulated Internet of a running lab, as these checks see it."""

    network: Network
    citizen: tuple[str, str]  # (netns, address)
    upstream: tuple[str, str]
    routers: dict[str, str]  # ISP / core router → netns
    where: dict[str, tuple[str, str]]  # endpoint name → (netns, address)
    devices: dict[str, str]  # governorate device → netns
    containers: dict[str, str]  # server → container (provisioned servers only)
    state_dir: Path

    @property
    def real(self) -> bool:
        return bool(self.containers)

    @property
    def portal_name(self) -> str:
        return f"portal.{self.network.domain}"


def outside_of(
    network: Network, lab: Any, where: dict[str, tuple[str, str]], containers: dict[str, str]
) -> Outside | None:
    """The running lab's Internet side, or None (no Internet edge in the inventory, or a lab built without it)."""
    if network.internet is None:
        return None
    citizen, upstream = lab.internet_host("citizen"), lab.internet_host("upstream")
    if citizen is None or upstream is None:
        return None
    routers = {n: r["netns"] for n, r in lab.internet.get("routers", {}).items()}
    devices = {n: d.netns for n, d in lab.devices.items()}
    return Outside(network, tuple(citizen), tuple(upstream), routers, where, devices, containers, Path(lab.state_dir))


# --- probes -------------------------------------------------------------------------------------------------------


def _raise_fd_limit(need: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, need + 256))
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))


Probe = tuple[str, str, str, int]  # (netns, proto, address, port)


def scan(probes: list[Probe], timeout: float = CONNECT_TIMEOUT) -> dict[Probe, tuple[str, bytes]]:
    """Every probe at once, each from its own namespace: a TCP connect or a UDP datagram. Outcome per probe:
    ``open`` (connected / answered, with what a UDP server said), ``refused`` (a reset or port unreachable: the
    address answered), ``unreachable`` (an ICMP network or host error) or ``silent`` (dropped)."""
    probes = list(dict.fromkeys(probes))
    _raise_fd_limit(len(probes))
    sel = selectors.DefaultSelector()
    out: dict[Probe, tuple[str, bytes]] = {}
    socks = []
    by_ns: dict[str, list[Probe]] = {}
    for probe in probes:
        by_ns.setdefault(probe[0], []).append(probe)
    for netns, mine in by_ns.items():
        with in_namespace(netns):
            for probe in mine:
                _, proto, address, port = probe
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
                sock.setblocking(False)
                socks.append(sock)
                if proto == "tcp":
                    code = sock.connect_ex((address, port))
                    if code in (0, errno.EINPROGRESS):
                        sel.register(sock, selectors.EVENT_WRITE, probe)
                    else:
                        out[probe] = (_outcome(code), b"")
                else:
                    sock.connect((address, port))
                    sock.send(b"govnet probe")
                    sel.register(sock, selectors.EVENT_READ, probe)
    deadline = time.monotonic() + timeout
    try:
        while len(out) < len(probes) and (left := deadline - time.monotonic()) > 0:
            for key, _ in sel.select(left):
                pending = key.fileobj
                assert isinstance(pending, socket.socket)
                probe = key.data
                if probe[1] == "tcp":
                    out[probe] = (_outcome(pending.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)), b"")
                else:
                    try:
                        out[probe] = ("open", pending.recv(2048))
                    except OSError as exc:
                        out[probe] = (_outcome(exc.errno or 0), b"")
                sel.unregister(pending)
    finally:
        for sock in socks:
            sock.close()
        sel.close()
    return {p: out.get(p, ("silent", b"")) for p in probes}


def _outcome(code: int) -> str:
    if code == 0:
        return "open"
    if code == errno.ECONNREFUSED:
        return "refused"
    if code in (errno.ENETUNREACH, errno.EHOSTUNREACH):
        return "unreachable"
    return "silent"


def tcp_scan(
    netns: str, targets: list[tuple[str, int]], timeout: float = CONNECT_TIMEOUT
) -> dict[tuple[str, int], str]:
    """TCP connects from one namespace to every (address, port) at once (see ``scan``)."""
    got = scan([(netns, "tcp", a, p) for a, p in targets], timeout)
    return {(a, p): got[(netns, "tcp", a, p)][0] for a, p in targets}


def udp_exchange(netns: str, address: str, port: int, payload: bytes, timeout: float = 1.0) -> bytes | None:
    """One datagram from ``netns``; the answer, or None."""
    with in_namespace(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    with sock:
        sock.settimeout(timeout)
        sock.sendto(payload, (address, port))
        try:
            return sock.recv(2048)
        except OSError:
            return None


def tcp_banner(netns: str, address: str, port: int, timeout: float = 2.0) -> bytes | None:
    """Connect from ``netns`` and read what the server says first (a stand-in listener names itself)."""
    with in_namespace(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(timeout)
        try:
            sock.connect((address, port))
            return sock.recv(256)
        except OSError:
            return None


class Upstream:
    """The upstream host's services, served from this process with sockets opened in its namespace: each answer
    names the address the flow arrived from (an edge's PAT address, if the edge translated it)."""

    def __init__(self, netns: str, services: tuple[tuple[str, int], ...] = UPSTREAM_SERVICES) -> None:
        self.socks: list[tuple[str, int, socket.socket]] = []
        with in_namespace(netns):
            for proto, port in services:
                sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind(("0.0.0.0", port))
                if proto == "tcp":
                    sock.listen(64)
                self.socks.append((proto, port, sock))
        self.stop = threading.Event()
        self.seen: list[tuple[str, int, str]] = []  # (proto, port, source address)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Upstream:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=2)
        for entry in self.socks:
            entry[2].close()

    def _serve(self) -> None:
        sel = selectors.DefaultSelector()
        for kind, number, listening in self.socks:
            listening.setblocking(False)
            sel.register(listening, selectors.EVENT_READ, (kind, number, listening))
        while not self.stop.is_set():
            for key, _ in sel.select(0.2):
                proto, port, sock = key.data
                with contextlib.suppress(OSError):
                    if proto == "tcp":
                        conn, peer = sock.accept()
                        with conn:
                            conn.settimeout(1)
                            conn.sendall(f"govnet upstream {proto}/{port} {peer[0]}\n".encode())
                    else:
                        _, peer = sock.recvfrom(2048)
                        sock.sendto(f"govnet upstream {proto}/{port} {peer[0]}\n".encode(), peer)
                    self.seen.append((proto, port, peer[0]))
        sel.close()


# --- exposure -----------------------------------------------------------------------------------------------------


def exposure_targets(network: Network) -> dict[str, list[tuple[str, int]]]:
    """Every (address, port) an attacker on the Internet would try, by class; only ``published`` may answer."""
    edge = network.internet
    assert edge is not None
    published = [(str(p.public), svc.port or 0) for p in edge.published for svc in p.services if svc.proto == "tcp"]
    public = sorted({str(p.public) for p in edge.published})
    service_ports = sorted({svc.port for s in network.servers for svc in s.services if svc.port} | set(ATTACK_PORTS))
    devices = sorted(
        {str(d.loopback.ip) for d in network.devices.values()} | {str(d.mgmt.ip) for d in network.devices.values()}
    )
    return {
        "published services": published,
        "public addresses, other ports": [(a, p) for a in public for p in ATTACK_PORTS if (a, p) not in set(published)],
        "the edge's own addresses (uplinks, PAT)": [
            (str(a), p)
            for a in [u.address.ip for u in edge.uplinks] + [a for _, a in edge.pat]
            for p in (*DEVICE_PORTS, 53, 443)
        ],
        "DC servers (inside addresses)": [(str(s.address.ip), p) for s in network.servers for p in service_ports],
        "department hosts": [(str(h.address.ip), p) for h in network.hosts for p in HOST_PORTS],
        "network devices (loopbacks, management)": [(a, p) for a in devices for p in DEVICE_PORTS],
    }


#: UDP services an attacker tries (DNS, NTP, SNMP, syslog): an answer means the port is open to the Internet.
UDP_PORTS = (53, 123, 161, 514)


def udp_targets(network: Network) -> list[tuple[str, int]]:
    """Every inside server and device loopback on the UDP services, and the public addresses on those not
    published; none may answer the Internet."""
    edge = network.internet
    assert edge is not None
    published = {(str(p.public), svc.port) for p in edge.published for svc in p.services if svc.proto == "udp"}
    public = sorted({str(p.public) for p in edge.published})
    out = [(str(s.address.ip), p) for s in network.servers for p in UDP_PORTS]
    out += [(str(d.loopback.ip), p) for d in network.devices.values() for p in (123, 161)]
    out += [(a, p) for a in public for p in UDP_PORTS if (a, p) not in published]
    return out


def exposure_checks(out: Outside) -> tuple[list[Check], dict[str, Any]]:
    """The attacker's matrix from the citizen's namespace, one check per class and one per published service."""
    classes = exposure_targets(out.network)
    every = [t for targets in classes.values() for t in targets]
    result = tcp_scan(out.citizen[0], every)
    checks: list[Check] = []
    matrix: dict[str, dict[str, Any]] = {}
    for name, targets in classes.items():
        opened = [t for t in targets if result[t] == "open"]
        outcome = {k: sum(1 for t in targets if result[t] == k) for k in ("open", "refused", "unreachable", "silent")}
        matrix[name] = {"probes": len(targets), **outcome, "open_targets": [f"{a}:{p}" for a, p in opened]}
        if name == "published services":
            ok = len(opened) == len(targets)
            closed = [f"{a}:{p}" for a, p in targets if result[(a, p)] != "open"]
            detail = f"{len(opened)}/{len(targets)} answer" + (
                f"; not answering: {', '.join(closed)}" if closed else ""
            )
        else:
            ok = not opened
            detail = (
                f"{len(targets)} probes, none open"
                if ok
                else f"open to the Internet: {', '.join(matrix[name]['open_targets'][:8])}"
            )
        checks.append(Check("exposure", f"citizen → {name} (tcp)", ok, detail, matrix[name]))
    udp = udp_targets(out.network)
    answers = scan([(out.citizen[0], "udp", a, p) for a, p in udp])
    answered_udp = [f"{a}:{p}" for a, p in udp if answers[(out.citizen[0], "udp", a, p)][0] == "open"]
    name = "DC servers, devices, public addresses (udp: DNS, NTP, SNMP, syslog)"
    matrix[name] = {"probes": len(udp), "open": len(answered_udp), "open_targets": answered_udp}
    detail = f"{len(udp)} probes, none answered" if not answered_udp else f"answered: {', '.join(answered_udp[:8])}"
    checks.append(Check("exposure", f"citizen → {name}", not answered_udp, detail, matrix[name]))
    inside = [str(e.address) for e in endpoints(out.network)]
    inside += [str(d.loopback.ip) for d in out.network.devices.values()]
    answered = ping_many([(out.citizen[0], a) for a in inside], timeout=1.0)
    matrix["icmp echo to inside addresses"] = {"probes": len(inside), "answered": len(answered)}
    checks.append(
        Check(
            "exposure",
            "citizen → every inside address (icmp echo)",
            not answered,
            f"{len(inside)} addresses, none answered"
            if not answered
            else f"answered: {', '.join(sorted(a for _, a in answered)[:8])}",
            matrix["icmp echo to inside addresses"],
        )
    )
    checks += published_checks(out)
    return checks, matrix


def published_checks(out: Outside) -> list[Check]:
    """Each published address and port reaches the server it is translated to (by its answer: the stand-in
    listener names itself; a real server is identified by a DNS answer or the portal's certificate)."""
    edge = out.network.internet
    assert edge is not None
    checks = []
    for pub in edge.published:
        for svc in pub.services:
            name = f"citizen → {pub.name} {pub.public} {svc} reaches {pub.server}"
            if not out.real:
                got = (
                    tcp_banner(out.citizen[0], str(pub.public), svc.port or 0)
                    if svc.proto == "tcp"
                    else udp_exchange(out.citizen[0], str(pub.public), svc.port or 0, b"govnet probe")
                )
                text = (got or b"").decode(errors="replace").strip()
                ok = text.startswith(f"govnet {pub.server} ")
                checks.append(Check("exposure", name, ok, text or "no answer"))
            elif svc.proto == "udp" and svc.port == 53:
                checks.append(guarded(name, functools.partial(_dns_reaches, out, pub), "exposure"))
    return checks


def _dns_reaches(out: Outside, pub: Any) -> tuple[bool, str, dict[str, Any]]:
    got = dns_query(out.citizen[0], str(pub.public), out.portal_name)
    return bool(got), f"answered {got}", {}


# --- egress -------------------------------------------------------------------------------------------------------


def egress_checks(out: Outside) -> list[Check]:
    """Every department host and DC server tries the upstream host's DNS, NTP and web ports (all at once): only what
    the policy sends to the Internet gets out, and it arrives from an edge's PAT address."""
    net = out.network
    edge = net.internet
    assert edge is not None
    up_ns, up_addr = out.upstream
    target = Endpoint("upstream", "internet", "", "", edge.zone, IPv4Address(up_addr))
    pat = {str(a) for _, a in edge.pat}
    groups: dict[str, list[tuple[Endpoint, Probe, bool]]] = {}
    for ep in endpoints(net):
        group = f"{ep.zone} {'hosts' if ep.kind == 'host' else 'servers'}"
        for proto, port in UPSTREAM_SERVICES:
            probe = (out.where[ep.name][0], proto, up_addr, port)
            groups.setdefault(group, []).append((ep, probe, judge(net, ep, target, proto, port).allowed))
    with Upstream(up_ns) as upstream:
        result = scan([probe for probes in groups.values() for _, probe, _ in probes])
        time.sleep(0.2)
        seen = list(upstream.seen)
    checks = []
    for group, probes in sorted(groups.items()):
        wrong, through, allowed = [], set(), 0
        for ep, probe, want in probes:
            outcome, answer = result[probe]
            got = outcome == "open"
            if got and answer:
                through.add(answer.decode(errors="replace").split()[-1])
            allowed += want
            if got != want:
                wrong.append(f"{ep.name} {probe[1]}/{probe[3]} {'reached' if got else 'did not reach'} the Internet")
        sources = {src for _, _, src in seen if src in through} | through
        translated = sources <= pat
        if wrong:
            detail = "; ".join(wrong[:6]) + (f" and {len(wrong) - 6} more" if len(wrong) > 6 else "")
        elif not translated:
            detail = f"arrived from {sorted(sources)}, not an edge's PAT address {sorted(pat)}"
        elif allowed:
            via = ", ".join(sorted(sources)) or "TCP only"
            detail = f"{allowed} of {len(probes)} flows allowed and out (via PAT {via}), the rest refused"
        else:
            detail = f"{len(probes)} probes, none reached the Internet"
        name = f"{group} → the Internet: {'only what the policy allows' if allowed else 'nothing'}"
        data = {"probes": len(probes), "allowed": allowed, "via": sorted(sources)}
        checks.append(Check("egress", name, not wrong and translated, detail, data))
    return checks


# --- the citizen --------------------------------------------------------------------------------------------------


def _public_dns(out: Outside) -> list[str]:
    edge = out.network.internet
    assert edge is not None
    return [str(p.public) for p in edge.published if any(s.port == 53 for s in p.services)]


def public_portal(out: Outside) -> list[str]:
    """The portal's public addresses, as the model publishes them."""
    edge = out.network.internet
    assert edge is not None
    return sorted(str(p.public) for p in edge.published if "portal" in p.dns)


def db_has(out: Outside, references: list[str]) -> set[str]:
    """Which of ``references`` the primary database holds (asked in its own container)."""
    primary = next(s.name for s in out.network.servers if s.role == "database")
    if not references:
        return set()
    listed = ",".join(f"'{r}'" for r in references if r.replace("-", "").isalnum())
    proc = container_exec(
        out.containers[primary], "runuser", "-u", "postgres", "--", "psql", "-d", "eservices", "-Atc",
        f"SELECT reference FROM service_request WHERE reference IN ({listed})", timeout=30,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{primary}: {proc.stderr.strip()[-200:]}")
    return set(proc.stdout.split())


def citizen_checks(out: Outside) -> tuple[list[Check], dict[str, Any]]:
    """DNS by the public view, HTTPS by name (certificate validated), HTTP → HTTPS, a service request in the DB."""
    ns = out.citizen[0]
    name = out.portal_name
    want = public_portal(out)
    found: dict[str, Any] = {}
    checks = []
    for server in _public_dns(out):

        def forward(server: str = server) -> tuple[bool, str, dict[str, Any]]:
            got = sorted(dns_query(ns, server, name))
            found.setdefault("addresses", got)
            return got == want, f"answered {got}" + ("" if got == want else f", expected {want}"), {}

        def private(server: str = server) -> tuple[bool, str, dict[str, Any]]:
            inside = [s.name for s in out.network.servers if s.role == "database"][:1] or ["db1"]
            try:
                got = dns_query(ns, server, f"{inside[0]}.{out.network.domain}")
            except ValueError as exc:
                return True, f"{inside[0]}: {exc} (not in the public view)", {}
            return not got, f"{inside[0]} answered {got}: an inside name in the public view" if got else "no answer", {}

        checks.append(guarded(f"public DNS {server} answers {name} with the public addresses", forward, "citizen"))
        checks.append(guarded(f"public DNS {server} tells nothing of the inside", private, "citizen"))
    address = (found.get("addresses") or want)[0]
    portal = next(p.server for p in out.network.internet.published if str(p.public) == address)  # type: ignore[union-attr]
    ca = portal_certificate(out, portal)
    found["ca"] = ca

    def get() -> tuple[bool, str, dict[str, Any]]:
        resp = https(ns, address, name, ca)
        ok = resp.status == 200 and "strict-transport-security" in resp.headers
        return ok, f"HTTP {resp.status} from {address} ({portal})", {}

    def redirect() -> tuple[bool, str, dict[str, Any]]:
        resp = http(ns, address, name)
        location = resp.headers.get("location", "")
        ok = resp.status == 301 and location.startswith(f"https://{name}/")
        return ok, f"HTTP {resp.status} → {location or '(no location)'}", {}

    def request() -> tuple[bool, str, dict[str, Any]]:
        start = time.monotonic()
        reference = file_request(ns, address, name, ca, f"citizen-{uuid.uuid4().hex[:8]}")
        seconds = time.monotonic() - start
        stored = db_has(out, [reference])
        ok = reference in stored
        return (
            ok,
            f"{reference} in {seconds * 1000:.0f} ms, {'in' if ok else 'NOT in'} the primary database",
            {"reference": reference},
        )

    checks.append(guarded(f"citizen fetches https://{name}/ (certificate valid)", get, "citizen"))
    checks.append(guarded(f"citizen's http://{name}/ is redirected to HTTPS", redirect, "citizen"))
    checks.append(guarded("citizen's service request lands in the primary database", request, "citizen"))
    return checks, found


def portal_certificate(out: Outside, portal: str) -> Path:
    """The portal's certificate (self-signed in the lab), read from the server: what the citizen trusts."""
    proc = container_exec(out.containers[portal], "cat", "/etc/ssl/govnet/portal.crt", timeout=30)
    if proc.returncode != 0 or "BEGIN CERTIFICATE" not in proc.stdout:
        raise RuntimeError(f"{portal}: no portal certificate ({(proc.stderr or proc.stdout)[:120]})")
    path = out.state_dir / f"ca-{portal}.crt"
    path.write_text(proc.stdout.strip() + "\n")
    return path


def http(netns: str, address: str, name: str, timeout: float = 5.0) -> Response:
    """One plain HTTP GET (the portal's tcp/80, which only redirects)."""
    with in_namespace(netns):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    with sock:
        sock.settimeout(timeout)
        sock.connect((address, 80))
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode(errors="replace").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Response(int(lines[0].split()[1]), headers, body)


def file_request(netns: str, address: str, name: str, ca: Path, applicant: str, timeout: float = 10.0) -> str:
    """POST one service request through the portal; its reference (raises unless acknowledged with 201)."""
    body = {"department": "citizen", "service": "certificate", "applicant": applicant}
    resp = https(netns, address, name, ca, "POST", "/services/requests", body, timeout=timeout)
    if resp.status != 201:
        raise RuntimeError(f"HTTP {resp.status} {resp.body[:160]!r}")
    return str(resp.json()["reference"])


# --- ISP failover -------------------------------------------------------------------------------------------------


CUT_TABLE = "govnet_cut"


@contextlib.contextmanager
def silent_cut(netns_a: str, if_a: str, netns_b: str, if_b: str) -> Iterator[float]:
    """Drop everything arriving on both ends of a link (the carrier stays up, as when a provider's transport
    fails); yields the moment of the cut and repairs it on exit."""
    tables = [(netns_a, if_a), (netns_b, if_b)]
    for ns, ifname in tables:
        script = (
            f"table netdev {CUT_TABLE} {{\n\tchain cut {{\n"
            f'\t\ttype filter hook ingress device "{ifname}" priority -500; policy drop;\n\t}}\n}}\n'
        )
        run(["ip", "netns", "exec", ns, "nft", "-f", "-"], stdin=script)
    try:
        yield time.monotonic()
    finally:
        for ns, _ in tables:
            with contextlib.suppress(Exception):
                run(["ip", "netns", "exec", ns, "nft", "delete", "table", "netdev", CUT_TABLE])


def _bgp_established(netns: str, instance: str, peer: str) -> bool:
    try:
        text = run(["ip", "netns", "exec", netns, "vtysh", "-N", instance, "-c", f"show bgp neighbors {peer} json"])
        return json.loads(text).get(peer, {}).get("bgpState") == "Established"
    except Exception:
        return False


class RequestLoop:
    """The citizen's requests, one after the other, while a drill runs: a service request filed through the portal
    (provisioned servers) or a TCP exchange with the portal's listener (fast mode). Each attempt is recorded as
    (start, end, ok, reference)."""

    def __init__(self, out: Outside, address: str, ca: Path | None, timeout: float = 4.0) -> None:
        self.out, self.address, self.ca, self.timeout = out, address, ca, timeout
        self.attempts: list[tuple[float, float, bool, str | None]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _once(self) -> str | None:
        if self.ca is not None:
            return file_request(
                self.out.citizen[0], self.address, self.out.portal_name, self.ca, f"drill-{uuid.uuid4().hex[:8]}",
                timeout=self.timeout,
            )  # fmt: skip
        got = tcp_banner(self.out.citizen[0], self.address, 443, timeout=self.timeout)
        if not got:
            raise OSError("no answer")
        return None

    def _loop(self) -> None:
        while not self.stop.is_set():
            start = time.monotonic()
            try:
                reference, ok = self._once(), True
            except Exception:
                reference, ok = None, False
            self.attempts.append((start, time.monotonic(), ok, reference))
            if not ok:
                time.sleep(0.05)
            elif self.ca is None:
                time.sleep(0.02)

    def __enter__(self) -> RequestLoop:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=self.timeout + 2)


def _probe_loop(netns: str, address: str, stop: threading.Event, seen: list[tuple[float, bool]]) -> None:
    """A TCP connect to the portal's public address every 50 ms (0.25 s each): the fine clock of the outage."""
    while not stop.is_set():
        start = time.monotonic()
        ok = tcp_scan(netns, [(address, 443)], timeout=0.25)[(address, 443)] == "open"
        seen.append((start, ok))
        time.sleep(max(0.0, 0.05 - (time.monotonic() - start)))


def isp_drill(out: Outside, up: Any, ca: Path | None, timeout: float = 30.0) -> Check:
    """Cut one ISP uplink silently under a request loop; measure the outage, the failures, the losses, the repair."""
    edge_ns = out.devices[up.device]
    isp_ns = out.routers[up.isp]
    address = public_portal(out)[0]
    name = f"cut {up.device} {up.logical} to {up.isp} (silently) under the citizen's requests"
    if not (
        _bgp_established(edge_ns, up.device, str(up.peer)) and _bgp_established(isp_ns, up.isp, str(up.address.ip))
    ):
        return Check(
            "isp-failover", name, False, f"the session {up.device} – {up.isp} is not established before the cut"
        )
    stop = threading.Event()
    probes: list[tuple[float, bool]] = []
    prober = threading.Thread(target=_probe_loop, args=(out.citizen[0], address, stop, probes), daemon=True)
    with RequestLoop(out, address, ca) as loop:
        prober.start()
        time.sleep(1.0)  # a steady state first
        with silent_cut(edge_ns, up.interface, isp_ns, "eth0") as cut:
            down = until(lambda: not _bgp_established(edge_ns, up.device, str(up.peer)), timeout)
            time.sleep(3.0)  # traffic through the other ISP for a while
        repaired = time.monotonic()
        back = until(
            lambda: (
                _bgp_established(edge_ns, up.device, str(up.peer))
                and _bgp_established(isp_ns, up.isp, str(up.address.ip))
            ),
            timeout,
        )
        time.sleep(1.0)
        stop.set()
        prober.join(timeout=2)
    failed_probes = [t for t, ok in probes if not ok and t >= cut - 0.05]
    outage = 0.0
    if failed_probes:
        last_fail = max(failed_probes)
        after = [t for t, ok in probes if ok and t > last_fail]
        outage = (min(after) if after else time.monotonic()) - cut
    attempts = loop.attempts
    acked = [ref for _, _, ok, ref in attempts if ok and ref]
    failed = sum(1 for _, _, ok, _ in attempts if not ok)
    lost: list[str] = []
    if ca is not None:
        stored = db_has(out, acked)
        lost = [r for r in acked if r not in stored]
    during = [(s, e) for s, e, ok, _ in attempts if ok and e >= cut]
    data = {
        "isp": up.isp,
        "edge": up.device,
        "seconds": round(outage, 2),
        "detected_seconds": None if down is None else round(down, 2),
        "back_seconds": None if back is None else round(back, 2),
        "requests": len(attempts),
        "acknowledged": len(acked) if ca is not None else sum(1 for a in attempts if a[2]),
        "failed": failed,
        "lost": len(lost),
        "kind": "service requests" if ca is not None else "TCP exchanges",
        "bfd": out.network.internet.bfd if out.network.internet else False,
        "repaired_at": round(repaired - cut, 2),
    }
    problems = []
    if down is None:
        problems.append(f"{up.device} never noticed the cut within {timeout:.0f} s")
    if failed_probes and not [t for t, ok in probes if ok and t > max(failed_probes)]:
        problems.append("the citizen's path did not come back")
    if not during:
        problems.append("no request succeeded after the cut")
    if lost:
        problems.append(f"{len(lost)} acknowledged requests not in the database: {', '.join(lost[:5])}")
    if back is None:
        problems.append(f"the sessions did not come back within {timeout:.0f} s of the repair")
    detail = (
        f"{outage:.2f} s without service, {failed} of {len(attempts)} {data['kind']} failed, {len(lost)} acknowledged "
        f"lost; BGP down after {data['detected_seconds']} s; back {data['back_seconds']} s after the repair"
    )
    return Check("isp-failover", name, not problems, "; ".join(problems) or detail, data)


def isp_failover(out: Outside, ca: Path | None) -> list[Check]:
    """Every ISP uplink in turn (each drill must see a quiet network)."""
    edge = out.network.internet
    assert edge is not None
    return [isp_drill(out, up, ca) for up in edge.uplinks]


# --- all of it ----------------------------------------------------------------------------------------------------


def internet_checks(out: Outside, failover: bool) -> tuple[list[Check], dict[str, Any]]:
    """The Internet families in order: the citizen (provisioned servers only), exposure, egress, ISP failover."""
    checks: list[Check] = []
    ca = None
    if out.real:
        citizen, found = citizen_checks(out)
        checks += citizen
        ca = found.get("ca")
    exposure, matrix = exposure_checks(out)
    checks += exposure + egress_checks(out)
    if failover:
        checks += isp_failover(out, ca)
    return checks, {"exposure": matrix}
