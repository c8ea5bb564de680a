"""What the DC services actually do, checked from the hosts that use them (the ``services`` family, real servers).

Runs only against servers provisioned by Ansible (podman containers in their lab namespaces, see
``govnet.lab.containers``); the stand-in listeners of the fast mode have nothing behind their ports. Every check
names the server (and the service) it found down:

- both DNS servers answer the portal's name (every portal address) and the reverse zone, asked from a department
  host;
- HTTPS to the portal by name from that host, the certificate validated against the lab's CA (each lab portal's
  self-signed certificate, read from the server);
- a service request round trip: the department host POSTs through the portal to an app server, which writes it to
  the primary; the reference it returns reads back through the portal, and from the hot standby;
- every server's chrony follows ntp1; a router's syslog line arrives at log1; Prometheus reports every target up;
  the backup server dumps the primary and the latest dump restores with the request just made in it; the latest
  configuration archive on the backup server decrypts there and holds every device's latest config, checksum for
  checksum as the controller has it.
"""

from __future__ import annotations

import hashlib
import json
import random
import socket
import ssl
import struct
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govnet.deploy.backups import BackupStore, deploy_dir
from govnet.lab.containers import container_exec
from govnet.lab.icmp import in_namespace
from govnet.model.derived import Network
from govnet.verify.expect import Endpoint, endpoints, judge
from govnet.verify.result import Check

FAMILY = "services"


# --- small clients, each opening its socket inside a namespace ------------------------------------------------


def _socket(netns: str, kind: int) -> socket.socket:
    with in_namespace(netns):
        return socket.socket(socket.AF_INET, kind)


def _qname(name: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in name.rstrip(".").split(".")) + b"\0"


def _read_name(msg: bytes, pos: int) -> tuple[str, int]:
    """A (possibly compressed) domain name at ``pos``; returns it and the position after it."""
    labels: list[str] = []
    end = None
    for _ in range(64):
        length = msg[pos]
        if length & 0xC0 == 0xC0:
            end = pos + 2 if end is None else end
            pos = struct.unpack(">H", msg[pos : pos + 2])[0] & 0x3FFF
            continue
        if length == 0:
            return ".".join(labels), (pos + 1 if end is None else end)
        labels.append(msg[pos + 1 : pos + 1 + length].decode())
        pos += 1 + length
    raise ValueError("DNS name too long")


def dns_query(netns: str, server: str, name: str, rtype: int = 1, timeout: float = 2.0) -> list[str]:
    """One query over UDP from ``netns``: the A addresses (rtype 1) or PTR names (rtype 12) answered."""
    qid = random.randrange(65536)
    packet = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0) + _qname(name) + struct.pack(">HH", rtype, 1)
    with _socket(netns, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.sendto(packet, (server, 53))
        reply = sock.recv(4096)
    if struct.unpack(">H", reply[:2])[0] != qid:
        raise ValueError("reply to another query")
    rcode, answers = reply[3] & 0x0F, struct.unpack(">H", reply[6:8])[0]
    if rcode:
        raise ValueError(f"rcode {rcode}")
    pos = len(packet)
    found = []
    for _ in range(answers):
        _, pos = _read_name(reply, pos)
        atype, _cls, _ttl, length = struct.unpack(">HHIH", reply[pos : pos + 10])
        pos += 10
        if atype == 1 == rtype:
            found.append(socket.inet_ntoa(reply[pos : pos + length]))
        elif atype == 12 == rtype:
            found.append(_read_name(reply, pos)[0])
        pos += length
    return found


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body or b"null")


def https(
    netns: str,
    address: str,
    name: str,
    cafile: Path,
    method: str = "GET",
    path: str = "/",
    body: dict[str, Any] | None = None,
    timeout: float = 10.0,
) -> Response:
    """One HTTPS request from ``netns`` to ``address`` for the host ``name``, validated against ``cafile``."""
    context = ssl.create_default_context(cafile=str(cafile))
    data = json.dumps(body).encode() if body is not None else b""
    head = f"{method} {path} HTTP/1.1\r\nHost: {name}\r\nConnection: close\r\nContent-Length: {len(data)}\r\n"
    if body is not None:
        head += "Content-Type: application/json\r\n"
    raw = _socket(netns, socket.SOCK_STREAM)
    raw.settimeout(timeout)
    try:
        raw.connect((address, 443))
        with context.wrap_socket(raw, server_hostname=name) as tls:
            tls.sendall(head.encode() + b"\r\n" + data)
            chunks = []
            while chunk := tls.recv(65536):
                chunks.append(chunk)
    finally:
        raw.close()
    head_raw, _, payload = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head_raw.decode(errors="replace").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return Response(int(lines[0].split()[1]), headers, payload)


# --- the lab as these checks see it ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Services:
    """Where everything is: the department host the checks start from, the servers by role, their containers."""

    network: Network
    host: Endpoint
    host_netns: str
    containers: dict[str, str]  # server name → container
    netns: dict[str, str]  # server or device name → namespace
    state_dir: Path

    def by_role(self, role: str) -> list[str]:
        return [s.name for s in self.network.servers if s.role == role]

    def address(self, server: str) -> str:
        return str(self.network.server(server).address.ip)

    @property
    def portal_name(self) -> str:
        return f"portal.{self.network.domain}"

    def run(self, server: str, *argv: str, timeout: float = 60) -> tuple[int, str]:
        proc = container_exec(self.containers[server], *argv, timeout=timeout)
        return proc.returncode, (proc.stdout if proc.returncode == 0 else proc.stderr or proc.stdout).strip()


def department_host(network: Network) -> Endpoint | None:
    """The first department host the policy lets reach every portal on tcp/443 and every DNS server on udp/53."""
    eps = endpoints(network)
    servers = {e.name: e for e in eps if e.kind == "server"}
    portals = [servers[s.name] for s in network.servers if s.role == "portal"]
    dns = [servers[s.name] for s in network.servers if s.role == "dns"]
    for host in (e for e in eps if e.kind == "host"):
        if all(judge(network, host, p, "tcp", 443).allowed for p in portals) and all(
            judge(network, host, d, "udp", 53).allowed for d in dns
        ):
            return host
    return None


def guarded(name: str, fn: Callable[[], tuple[bool, str, dict[str, Any]]], family: str = FAMILY) -> Check:
    """Run one check; an exception is that check failing with its reason, never the whole run."""
    try:
        ok, detail, data = fn()
    except Exception as exc:  # any fault of a service is that service's failure, never the whole run
        ok, detail, data = False, f"{type(exc).__name__}: {exc}", {}
    return Check(family, name, ok, detail, data)


def _reverse(address: str) -> str:
    return ".".join(reversed(address.split("."))) + ".in-addr.arpa"


def dns_checks(sv: Services) -> list[Check]:
    portals = sorted(sv.address(p) for p in sv.by_role("portal"))
    first = sv.by_role("portal")[0]
    out = []
    for dns in sv.by_role("dns"):

        def forward(dns: str = dns) -> tuple[bool, str, dict[str, Any]]:
            got = sorted(dns_query(sv.host_netns, sv.address(dns), sv.portal_name))
            return got == portals, "" if got == portals else f"answered {got}, expected {portals}", {}

        def reverse(dns: str = dns) -> tuple[bool, str, dict[str, Any]]:
            got = dns_query(sv.host_netns, sv.address(dns), _reverse(sv.address(first)), rtype=12)
            want = f"{first}.{sv.network.domain}"
            return want in got, "" if want in got else f"answered {got}, expected {want}", {}

        out.append(guarded(f"{dns} answers {sv.portal_name} from {sv.host.name}", forward))
        out.append(guarded(f"{dns} answers the reverse zone ({sv.address(first)}) from {sv.host.name}", reverse))
    return out


def portal_ca(sv: Services, portal: str) -> Path:
    """The portal's certificate (the lab signs each portal itself), copied from the server into the lab dir."""
    rc, pem = sv.run(portal, "cat", "/etc/ssl/govnet/portal.crt")
    if rc != 0 or "BEGIN CERTIFICATE" not in pem:
        raise RuntimeError(f"{portal}: no portal certificate ({pem[:120]})")
    path = sv.state_dir / f"ca-{portal}.crt"
    path.write_text(pem + "\n")
    return path


def portal_checks(sv: Services) -> tuple[list[Check], dict[str, Path]]:
    out, cas = [], {}
    for portal in sv.by_role("portal"):

        def fetch(portal: str = portal) -> tuple[bool, str, dict[str, Any]]:
            cas[portal] = portal_ca(sv, portal)
            resp = https(sv.host_netns, sv.address(portal), sv.portal_name, cas[portal])
            ok = resp.status == 200 and "strict-transport-security" in resp.headers
            return ok, "" if ok else f"HTTP {resp.status}, headers {sorted(resp.headers)}", {}

        out.append(guarded(f"{portal} serves https://{sv.portal_name}/ to {sv.host.name} (certificate valid)", fetch))
    return out, cas


def round_trip(sv: Services, portal: str, ca: Path, applicant: str) -> tuple[str, float]:
    """POST a service request through the portal and read it back; its reference and the seconds it took."""
    start = time.monotonic()
    body = {"department": sv.host.site, "service": "verify", "applicant": applicant}
    created = https(sv.host_netns, sv.address(portal), sv.portal_name, ca, "POST", "/services/requests", body)
    if created.status != 201:
        raise RuntimeError(f"POST via {portal}: HTTP {created.status} {created.body[:200]!r}")
    reference = created.json()["reference"]
    read = https(sv.host_netns, sv.address(portal), sv.portal_name, ca, "GET", f"/services/requests/{reference}")
    if read.status != 200 or read.json().get("applicant") != applicant:
        raise RuntimeError(f"GET {reference} via {portal}: HTTP {read.status} {read.body[:200]!r}")
    return reference, time.monotonic() - start


def request_checks(sv: Services, cas: dict[str, Path]) -> tuple[list[Check], str | None]:
    portal = next((p for p in sv.by_role("portal") if p in cas), None)
    if portal is None:
        return [Check(FAMILY, "service request round trip", False, "no portal answered HTTPS")], None
    applicant = f"verify-{uuid.uuid4().hex[:8]}"
    made: dict[str, str] = {}

    def primary() -> tuple[bool, str, dict[str, Any]]:
        made["reference"], seconds = round_trip(sv, portal, cas[portal], applicant)
        return True, f"{made['reference']} in {seconds * 1000:.0f} ms", {"reference": made["reference"]}

    def replica() -> tuple[bool, str, dict[str, Any]]:
        reference = made["reference"]
        for _ in range(20):
            resp = https(
                sv.host_netns, sv.address(portal), sv.portal_name, cas[portal], "GET",
                f"/services/requests/{reference}?from=replica",
            )  # fmt: skip
            if resp.status == 200:
                return True, f"{reference} read from {resp.json().get('read_from')}", {}
            time.sleep(0.25)
        return False, f"{reference}: HTTP {resp.status} {resp.body[:200]!r}", {}

    out = [guarded(f"service request {sv.host.name} → {portal} → app → primary (written, read back)", primary)]
    if "reference" in made and len(sv.by_role("database")) > 1:
        out.append(
            guarded(f"service request readable on the replica ({', '.join(sv.by_role('database')[1:])})", replica)
        )
    return out, made.get("reference")


def ntp_checks(sv: Services) -> list[Check]:
    ntp = sv.by_role("ntp")
    ntp_addresses = {sv.address(n) for n in ntp}
    clients = [s.name for s in sv.network.servers if s.role != "ntp"]

    def check(server: str) -> Check:
        def synced() -> tuple[bool, str, dict[str, Any]]:
            text = ""
            for _ in range(20):
                rc, text = sv.run(server, "chronyc", "-n", "sources")
                selected = [line.split()[1] for line in text.splitlines() if line.startswith("^*")]
                if rc == 0 and selected and selected[0] in ntp_addresses:
                    return True, f"selected {selected[0]}", {}
                time.sleep(1)
            return False, f"not synchronised to {', '.join(sorted(ntp_addresses))}: {text[-200:]}", {}

        return guarded(f"{server} synchronised to {', '.join(ntp)}", synced)

    with ThreadPoolExecutor(max_workers=len(clients) or 1) as pool:  # one wait for all, not one per server
        return list(pool.map(check, clients))


def syslog_delivered(netns: str, log_address: str, log_container: str, sender: str, wait: float = 3.0) -> bool:
    """Send one syslog line over UDP from ``netns`` to the log server; True when the server filed it. The only way
    to see a UDP syslog flow get through: syslog never answers."""
    marker = f"govnet-probe-{uuid.uuid4().hex[:10]}"
    line = f"<14>{time.strftime('%b %e %H:%M:%S')} {sender} govnet-probe: {marker}".encode()
    with _socket(netns, socket.SOCK_DGRAM) as sock:
        sock.sendto(line, (log_address, 514))
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        if container_exec(log_container, "grep", "-rlq", marker, "/var/log/remote").returncode == 0:
            return True
        time.sleep(0.25)
    return False


def syslog_check(sv: Services) -> Check:
    """A router sends a syslog line over UDP to log1, as its host OS does; log1 files it under the router."""
    device = next(d for d in sorted(sv.network.devices) if sv.network.devices[d].role == "core")
    log = sv.by_role("syslog")[0]
    marker = f"govnet-verify-{uuid.uuid4().hex[:10]}"

    def arrives() -> tuple[bool, str, dict[str, Any]]:
        line = f"<14>{time.strftime('%b %e %H:%M:%S')} {device} govnet-verify: {marker}".encode()
        with _socket(sv.netns[device], socket.SOCK_DGRAM) as sock:
            sock.sendto(line, (sv.address(log), 514))
        for _ in range(20):
            rc, text = sv.run(log, "grep", "-rl", marker, "/var/log/remote")
            if rc == 0 and text:
                return f"/{device}/" in text, text.splitlines()[0], {}
            time.sleep(0.25)
        return False, f"{marker} not in /var/log/remote after 5 s", {}

    return guarded(f"{device}'s syslog line arrives at {log}", arrives)


def prometheus_check(sv: Services) -> list[Check]:
    out = []
    for mon in sv.by_role("monitoring"):

        def targets(mon: str = mon) -> tuple[bool, str, dict[str, Any]]:
            code = (
                "import json,urllib.request;d=json.load(urllib.request.urlopen("
                "'http://127.0.0.1:9090/api/v1/targets?state=active',timeout=5));"
                "print(json.dumps({t['labels'].get('instance',t['scrapeUrl']):t['health']"
                " for t in d['data']['activeTargets']}))"
            )
            health: dict[str, str] = {}
            for _ in range(20):
                rc, text = sv.run(mon, "python3", "-c", code)
                health = json.loads(text) if rc == 0 else {}
                if len(health) == len(sv.network.servers) and set(health.values()) == {"up"}:
                    return True, f"{len(health)} targets up", {"targets": health}
                time.sleep(1)
            down = sorted(k for k, v in health.items() if v != "up")
            return False, f"{len(health)} targets, not up: {down}", {"targets": health}

        out.append(guarded(f"{mon}: Prometheus reports every server's target up", targets))
    return out


def restore_test(sv: Services, backup: str, script: str, timeout: int) -> tuple[dict[str, Any] | None, str]:
    """Run one of the backup role's restore tests on *backup* as its backup user: its JSON line, or None and the
    end of what it printed."""
    rc, text = sv.run(backup, "runuser", "-u", "govnet-backup", "--", f"/usr/local/sbin/{script}", timeout=timeout)
    if rc != 0:
        return None, text[-300:]
    return json.loads(text.splitlines()[-1]), ""


def backup_checks(sv: Services, reference: str | None) -> list[Check]:
    out = []
    for backup in sv.by_role("backup"):

        def restores(backup: str = backup) -> tuple[bool, str, dict[str, Any]]:
            rc, text = sv.run(backup, "systemctl", "start", "govnet-backup-db.service", timeout=120)
            if rc != 0:
                return False, f"the dump failed: {text[-200:]}", {}
            result, failure = restore_test(sv, backup, "govnet-backup-restore-test", 180)
            if result is None:
                return False, f"the latest dump does not restore: {failure}", {}
            rows = int(result.get("service_request", 0))
            if reference is not None and rows < 1:
                return False, f"restored {rows} service requests, expected at least the one just made", result
            return True, f"{Path(result['dump']).name}: {rows} service requests restored", result

        out.append(guarded(f"{backup}: a fresh dump of the primary restores", restores))
        out.append(config_backup_check(sv, backup))
    return out


def config_backup_check(sv: Services, backup: str) -> Check:
    """The latest configuration archive on *backup* decrypts there, matches its own manifest, and holds every
    device's latest config as the controller has it (playbooks/config-backups.yml put it there). Only counts and
    device names are reported: the hashes are of configs that carry routing keys."""
    store = BackupStore(deploy_dir(sv.network.env) / "backups")
    devices = sorted(sv.network.devices)
    # One name whatever the outcome (JUnit and the report key checks by name); the counts are in the detail.
    name = f"{backup}: the latest configuration backup restores, every device's checksum the controller's"

    def restores() -> tuple[bool, str, dict[str, Any]]:
        result, failure = restore_test(sv, backup, "govnet-backup-config-restore-test", 60)
        if result is None:
            return False, f"the latest configuration archive does not restore: {failure}", {}
        restored: dict[str, str] = result["devices"]
        ours = {d: hashlib.sha256(b.path.read_bytes()).hexdigest() for d in devices if (b := store.latest(d))}
        missing = [d for d in devices if d not in restored]
        differ = [d for d in devices if d in restored and ours.get(d) != restored[d]]
        data = {"archive": Path(result["archive"]).name, "devices": len(restored), "missing": missing, "differ": differ}
        problems = ([f"not in it: {', '.join(missing)}"] if missing else []) + (
            [f"not the controller's latest: {', '.join(differ)}"] if differ else []
        )
        if problems:
            return False, f"{data['archive']}: {'; '.join(problems)}", data
        return True, f"{data['archive']}: {len(restored)} devices, every checksum the controller's", data

    return guarded(name, restores)


def eservice_checks(
    network: Network, where: dict[str, tuple[str, str]], lab: Any, containers: dict[str, str]
) -> list[Check]:
    """The real-service checks, in dependency order (the round trip's reference is looked for in the backup)."""
    host = department_host(network)
    if host is None:
        return [Check(FAMILY, "a department host allowed to reach the portal and DNS", False, "none in the policy")]
    missing = [s.name for s in network.servers if s.name not in containers]
    if missing:
        return [Check(FAMILY, "every DC server provisioned", False, f"no server container for {', '.join(missing)}")]
    netns = {name: ns for name, (ns, _) in where.items()} | {n: d.netns for n, d in lab.devices.items()}
    sv = Services(network, host, where[host.name][0], containers, netns, Path(lab.state_dir))
    checks = dns_checks(sv)
    portal, cas = portal_checks(sv)
    checks += portal
    requests, reference = request_checks(sv, cas)
    checks += requests + ntp_checks(sv) + [syslog_check(sv)] + prometheus_check(sv) + backup_checks(sv, reference)
    return checks
