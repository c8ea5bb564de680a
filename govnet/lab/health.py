"""Looking at a running lab: daemons, sshd, neighbours, convergence, reachability.

Used by ``govnet lab status``, the lab tests and the benchmark, so all three judge a lab the same way.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from govnet.lab import nsexec
from govnet.lab.engine import FRR_DAEMONS
from govnet.lab.errors import LabError
from govnet.lab.icmp import ping_many
from govnet.lab.state import Lab, LabDevice
from napalm_frr.helper.paths import state_path

WORKERS = 8
OSPF_JSON = "show ip ospf neighbor json"
BGP_JSON = "show bgp ipv4 unicast summary json"


@dataclass(frozen=True)
class DeviceHealth:
    """One row of ``lab status``."""

    name: str
    role: str
    netns: str
    mgmt_ip: str
    netns_ok: bool
    daemons_up: int
    daemons_total: int
    sshd: bool
    ospf_full: int
    ospf_total: int
    bgp_up: int
    bgp_total: int
    stock: bool = False  # a stock FRR box (login to a shell, the driver's own helper), not the lab's login

    @property
    def ok(self) -> bool:
        """Namespace, every daemon and sshd alive (neighbours depend on the config, so not judged here)."""
        return self.netns_ok and self.daemons_up == self.daemons_total and self.sshd

    def as_dict(self) -> dict[str, Any]:
        """JSON form (``lab status --json``)."""
        return {**asdict(self), "ok": self.ok}


def pid_alive(pidfile: Path) -> bool:
    """True when the pid file names a running process."""
    try:
        pid = int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return False
    return Path(f"/proc/{pid}").exists()


def vtysh_json(instance: str, *commands: str) -> list[Any]:
    """Run several ``... json`` commands in one vtysh call and split the concatenated JSON answers."""
    try:
        text = nsexec.vtysh(instance, *commands, uts=False)
    except LabError:
        return [{} for _ in commands]
    decoder, pos = json.JSONDecoder(), 0
    docs: list[Any] = []
    while len(docs) < len(commands):
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            doc, pos = decoder.raw_decode(text, pos)
        except json.JSONDecodeError:
            break
        docs.append(doc)
    return docs + [{} for _ in range(len(commands) - len(docs))]


def count_ospf(data: dict[str, Any]) -> tuple[int, int]:
    """(Full, all) from ``show ip ospf neighbor json``."""
    neighbours = [n for group in data.get("neighbors", {}).values() for n in group]
    full = sum(1 for n in neighbours if str(n.get("nbrState", n.get("state", ""))).startswith("Full"))
    return full, len(neighbours)


def count_bgp(data: dict[str, Any]) -> tuple[int, int]:
    """(Established, all) from ``show bgp ipv4 unicast summary json``."""
    peers = data.get("peers", {})
    return sum(1 for p in peers.values() if p.get("state") == "Established"), len(peers)


def ospf_neighbours(instance: str) -> tuple[int, int]:
    """(Full, all) OSPF neighbours of an instance; (0, 0) when ospfd has no instance configured."""
    return count_ospf(vtysh_json(instance, OSPF_JSON)[0])


def device_health(lab: Lab, dev: LabDevice) -> DeviceHealth:
    """Collect one device's row; every probe tolerates a dead device."""
    run = nsexec.FRR_RUN / dev.instance
    daemons = ("watchfrr", *FRR_DAEMONS)
    up = sum(1 for d in daemons if pid_alive(run / f"{d}.pid"))
    sshd = pid_alive(Path(lab.runtime or lab.state_dir) / "devices" / dev.name / "sshd.pid")
    ospf, bgp = vtysh_json(dev.instance, OSPF_JSON, BGP_JSON) if up else ({}, {})
    full, ospf_total = count_ospf(ospf)
    bgp_up, bgp_total = count_bgp(bgp)
    return DeviceHealth(
        name=dev.name,
        role=dev.role,
        netns=dev.netns,
        mgmt_ip=dev.mgmt_ip,
        netns_ok=Path(f"/run/netns/{dev.netns}").exists(),
        daemons_up=up,
        daemons_total=len(daemons),
        sshd=sshd,
        ospf_full=full,
        ospf_total=ospf_total,
        bgp_up=bgp_up,
        bgp_total=bgp_total,
        stock=dev.stock,
    )


def deployed_at(instance: str) -> float | None:
    """When the config a device runs was committed, from its on-box agent's history (``None``: never, or the
    last commit was reverted since); a rollback to a backup counts as a commit."""
    path = os.path.join(state_path(instance), "history.jsonl")
    last: float | None = None
    try:
        with open(path) as fh:
            for line in fh:
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if entry.get("event") in ("commit", "rollback"):
                        last = float(entry["time"])
                    elif entry.get("event") == "revert":
                        last = None
    except OSError:
        return None
    return last


def configs_label(lab: Lab) -> str:
    """What the devices run, for ``lab status``: what ``up`` loaded until a deploy commits, then the deploy."""
    built = "full configs" if lab.configured else "bootstrap configs"
    when = {name: deployed_at(dev.instance) for name, dev in lab.devices.items()}
    done = [t for t in when.values() if t is not None]
    if not done:
        return built
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(max(done)))
    if len(done) == len(when):
        return f"deployed configs, last commit {stamp}"
    return f"deployed configs on {len(done)}/{len(when)} devices (the others: {built}), last commit {stamp}"


def lab_health(lab: Lab) -> list[DeviceHealth]:
    """Every device's row, probed in parallel."""
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        return list(pool.map(lambda d: device_health(lab, d), lab.devices.values()))


def expected_adjacencies(lab: Lab) -> dict[str, int]:
    """OSPF adjacencies each device should reach: one per planned link end."""
    counts = dict.fromkeys(lab.devices, 0)
    for link in lab.links:
        for end in (link["a"], link["b"]):
            counts[end[0]] = counts.get(end[0], 0) + 1
    return counts


def unconverged(lab: Lab, among: Iterable[str] | None = None) -> list[str]:
    """Devices (of ``among``, default all) that do not yet have every planned adjacency Full."""
    expected = expected_adjacencies(lab)
    names = list(lab.devices if among is None else among)
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        full = list(pool.map(lambda n: ospf_neighbours(lab.devices[n].instance)[0], names))
    return [n for n, f in zip(names, full, strict=True) if f < expected.get(n, 0)]


def ospf_converged(lab: Lab) -> bool:
    """True when every device has all its planned adjacencies in Full."""
    return not unconverged(lab)


def ospf_host_routes(netns: str) -> int:
    """Number of OSPF /32 routes (other routers' loopbacks) in a namespace's kernel table: a cheap probe."""
    try:
        routes = json.loads(nsexec.run(["ip", "-n", netns, "-4", "-j", "route", "show", "proto", "ospf"]) or "[]")
    except (LabError, json.JSONDecodeError):
        return 0
    return sum(1 for r in routes if "/" not in r.get("dst", "/"))


def wait_ospf_full(lab: Lab, timeout: float = 120, interval: float = 0.5) -> float:
    """Seconds until every planned adjacency is Full; LabError after ``timeout``.

    Asking ospfd means a vtysh per router, ~50 ms of CPU each: polling 80 routers that way takes
    the CPU they need to converge.  So first wait on the kernel (``ip route``, ~1 ms) until every
    router has a route to every other loopback, then confirm with ospfd, asking again only the
    routers still short of adjacencies, and finish with one pass over all of them.
    """
    start = time.monotonic()

    def check_time(what: str) -> None:
        if time.monotonic() - start > timeout:
            raise LabError(f"lab: OSPF not converged after {timeout:.0f} s: {what}")

    others = len(lab.devices) - 1
    waiting = [d.netns for d in lab.devices.values()]
    last: dict[str, tuple[int, int]] = {}  # netns → (count, rounds unchanged)
    while waiting:
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            counts = dict(zip(waiting, pool.map(ospf_host_routes, waiting), strict=True))
        for ns, n in counts.items():
            prev, same = last.get(ns, (-1, 0))
            last[ns] = (n, same + 1 if n == prev else 0)
        # Done with a router when it sees every loopback, or (loopbacks not all in OSPF) when its
        # non-empty table has stopped changing; ospfd has the last word below either way.
        waiting = [ns for ns, n in counts.items() if n < others and not (n and last[ns][1] >= 4)]
        if waiting:
            check_time(f"{len(waiting)} routers lack loopback routes, e.g. {', '.join(sorted(waiting)[:5])}")
            time.sleep(interval)
    pending = unconverged(lab)
    while pending or unconverged(lab):
        check_time(f"adjacencies not Full on {', '.join(sorted(pending)[:8])}")
        time.sleep(interval)
        pending = unconverged(lab, pending) if pending else unconverged(lab)
    return time.monotonic() - start


def ping_pairs(pairs: Iterable[tuple[str, str]], *, wait: float = 1, tries: int = 2) -> list[tuple[str, str]]:
    """Ping each (namespace, address), all at once, retrying the silent ones; return those never answered."""
    todo = list(dict.fromkeys(pairs))
    for _ in range(tries):
        if not todo:
            break
        answered = ping_many(todo, timeout=wait)
        todo = [p for p in todo if p not in answered]
    return todo


def host_server_pairs(lab: Lab) -> list[tuple[str, str]]:
    """Every department host towards every DC server."""
    return [(h.netns, s.address) for h in lab.hosts.values() for s in lab.servers.values()]


def wait_reachable(pairs: list[tuple[str, str]], timeout: float = 120) -> float:
    """Seconds until every pair answers a ping; LabError naming a few failures after ``timeout``."""
    start = time.monotonic()
    todo = pairs
    while todo:
        todo = ping_pairs(todo, tries=1)
        if todo and time.monotonic() - start > timeout:
            sample = ", ".join(f"{ns}→{addr}" for ns, addr in todo[:5])
            raise LabError(f"lab: {len(todo)} of {len(pairs)} pings unanswered after {timeout:.0f} s: {sample}")
        if todo:
            time.sleep(0.5)
    return time.monotonic() - start
