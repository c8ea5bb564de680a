"""Hardening drills on a running, deployed lab: a rogue router, a silent link cut, an OSPF key rotation.

Shared by the lab tests (tests/lab/test_verify_drills.py) and the benchmark (bench/bfd_bench.py). Every drill
undoes what it added: the rogue's namespace, veth, FRR instance and files; the cut's nftables table; BFD and keys
as the render wrote them.
"""

from __future__ import annotations

import contextlib
import grp
import ipaddress
import itertools
import json
import os
import pwd
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from govnet.lab import nsexec
from govnet.lab.errors import LabError
from govnet.lab.state import Lab

FRRINIT = "/usr/lib/frr/frrinit.sh"
ROGUE = "drill-rogue"
#: The rogue's link and the prefix it advertises: a block no pool of the inventory uses (checked by ``free``).
ROGUE_LINK = ipaddress.IPv4Network("198.18.62.0/31")
ROGUE_PREFIX = ipaddress.IPv4Network("198.18.63.1/32")
ROGUE_IF = "rogue0"  # in the rogue's namespace
VICTIM_IF = "rg-drill"  # on the department router


def _vtysh_json(instance: str, command: str) -> Any:
    try:
        return json.loads(nsexec.vtysh(instance, command, uts=False, check=False) or "{}")
    except json.JSONDecodeError:
        return {}


def ospf_neighbours(instance: str) -> dict[str, dict[str, Any]]:
    """Router ID → the neighbour's entry (FRR 8.4: a list per router ID), of one instance."""
    data = _vtysh_json(instance, "show ip ospf neighbor json").get("neighbors", {})
    return {rid: entries[0] for rid, entries in data.items() if entries}


def is_full(entry: dict[str, Any] | None) -> bool:
    return bool(entry) and str(entry.get("state", "")).startswith("Full")  # type: ignore[union-attr]


def has_route(instance: str, prefix: str) -> bool:
    return prefix in _vtysh_json(instance, f"show ip route {prefix} json")


def routers_with(lab: Lab, prefix: str) -> list[str]:
    """The lab's routers whose RIB holds ``prefix`` (every device, and the emulated Internet's routers)."""
    instances = [d.instance for d in lab.devices.values()]
    instances += [r["instance"] for r in lab.internet.get("routers", {}).values()]
    return [i for i in instances if has_route(i, prefix)]


def wait_until(check: Callable[[], bool], seconds: float, interval: float = 0.2) -> bool:
    deadline = time.monotonic() + seconds
    while True:
        if check():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)


def free(lab: Lab, *blocks: ipaddress.IPv4Network) -> None:
    """Refuse to run when the inventory's pools use the drill's addresses."""
    for block in blocks:
        for name, pool in lab.network.pools.items():
            if block.overlaps(pool):
                raise LabError(f"drill: {block} overlaps the {name} pool {pool}; pick another block")


# ------------------------------------------------------------------------------------ rogue router
@dataclass
class Rogue:
    """A rogue FRR router on a new routed link of a department router; ``auth`` is ``right``, ``wrong`` or ``none``."""

    lab: Lab
    device: str  # the department router it is attached to
    netns: str
    router_id: str

    @property
    def victim_instance(self) -> str:
        return self.lab.devices[self.device].instance

    def set_auth(self, auth: str) -> None:
        """Change the rogue's OSPF authentication on its link (key 1 as the department has it, another, none)."""
        key = {"right": _ospf_key(self.lab), "wrong": "not-the-key"}.get(auth)
        iface = ("configure terminal", f"interface {ROGUE_IF}")
        nsexec.vtysh(ROGUE, *iface, "no ip ospf message-digest-key 1", check=False)  # absent after "none"
        if key is None:
            nsexec.vtysh(ROGUE, *iface, "no ip ospf authentication")
        else:
            nsexec.vtysh(
                ROGUE, *iface, "ip ospf authentication message-digest", f"ip ospf message-digest-key 1 md5 {key}"
            )

    def adjacency(self) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
        """(the department router's entry for the rogue, the rogue's entry for the department router)."""
        victim_rid = str(self.lab.network.devices[self.device].router_id)
        return ospf_neighbours(self.victim_instance).get(self.router_id), ospf_neighbours(ROGUE).get(victim_rid)


@contextlib.contextmanager
def rogue_router(lab: Lab, device: str, auth: str) -> Iterator[Rogue]:
    """Attach a rogue FRR router to ``device`` through a new veth whose router side carries OSPF area 0 with the
    department's authentication and key, as the render writes a routed link; remove all of it afterwards."""
    free(lab, ROGUE_LINK, ROGUE_PREFIX)
    dev = lab.devices[device]
    netns = f"{lab.prefix}-{ROGUE}"
    rid = str(ROGUE_PREFIX.network_address)
    ddir = (lab.runtime or lab.state_dir) / "devices" / ROGUE
    link = nsexec.FRR_ETC / ROGUE
    near, far = (f"{a}/31" for a in ROGUE_LINK)
    added: list[str] = []
    try:
        nsexec.run(["ip", "netns", "add", netns])
        added.append("netns")
        nsexec.ip_batch(
            [
                f"link add {VICTIM_IF} netns {dev.netns} type veth peer name {ROGUE_IF} netns {netns}",
            ]
        )
        added.append("veth")
        nsexec.ip_batch(["link set lo up", f"addr add {far} dev {ROGUE_IF}", f"link set {ROGUE_IF} up"], netns=netns)
        nsexec.ip_batch([f"addr add {near} dev {VICTIM_IF}", f"link set {VICTIM_IF} up"], netns=dev.netns)
        _victim_interface(lab, device, add=True)
        added.append("victim")
        _write_rogue_files(ddir, link, _rogue_config(lab, rid, auth))
        added.append("files")
        script = f"hostname {ROGUE} && echo 1 > /proc/sys/net/ipv4/ip_forward && {FRRINIT} start {ROGUE}"
        nsexec.run(nsexec.in_netns(netns, ["unshare", "--uts", "--", "/bin/sh", "-c", script]), timeout=60)
        added.append("frr")
        yield Rogue(lab, device, netns, rid)
    finally:
        if "frr" in added:
            nsexec.run([FRRINIT, "stop", ROGUE], check=False, timeout=60)
        if "veth" in added:  # FRR deletes only an interface the kernel no longer has
            nsexec.run(["ip", "-n", dev.netns, "link", "del", VICTIM_IF], check=False)
        if "victim" in added:
            _victim_interface(lab, device, add=False)
        if "netns" in added:
            with contextlib.suppress(Exception):
                from govnet.lab.engine import stop_netns_processes

                stop_netns_processes([netns])
            nsexec.run(["ip", "netns", "del", netns], check=False)
        if "files" in added:
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            shutil.rmtree(ddir, ignore_errors=True)
            shutil.rmtree(nsexec.FRR_RUN / ROGUE, ignore_errors=True)


def _ospf_key(lab: Lab) -> str:
    from govnet.render import secrets_from_env

    return secrets_from_env(network=lab.network)["ospf_key"]


def _victim_interface(lab: Lab, device: str, *, add: bool) -> None:
    """The department router's side of the rogue's link, OSPF as the render writes every routed link."""
    if not add:
        nsexec.vtysh(lab.devices[device].instance, "configure terminal", f"no interface {VICTIM_IF}", check=False)
        return
    from govnet.render import environment, secrets_from_env

    macro = environment("frr").get_template("macros.macro.j2").module.ospf_interface  # type: ignore[attr-defined]
    iface = SimpleNamespace(name=VICTIM_IF, ospf_cost=100)
    body = str(macro(iface, lab.network, secrets_from_env(network=lab.network)))
    lines = [line.strip() for line in body.splitlines() if line.strip()]
    nsexec.vtysh(lab.devices[device].instance, "configure terminal", f"interface {VICTIM_IF}", *lines)


def _rogue_config(lab: Lab, rid: str, auth: str) -> str:
    net = lab.network
    key = {"right": _ospf_key(lab), "wrong": "not-the-key"}.get(auth)
    auth_lines = (
        f" ip ospf authentication message-digest\n ip ospf message-digest-key 1 md5 {key}\n" if key is not None else ""
    )
    return (
        f"frr defaults traditional\nhostname {ROGUE}\n!\n"
        f"interface lo\n ip address {ROGUE_PREFIX}\n ip ospf area 0.0.0.0\nexit\n!\n"
        f"interface {ROGUE_IF}\n ip ospf area 0.0.0.0\n ip ospf network point-to-point\n"
        f" ip ospf hello-interval {net.ospf_hello}\n ip ospf dead-interval {net.ospf_dead}\n{auth_lines}exit\n!\n"
        f"router ospf\n ospf router-id {rid}\nexit\n!\n"
    )


def _write_rogue_files(ddir: Path, link: Path, config: str) -> None:
    uid, gid = pwd.getpwnam("frr").pw_uid, grp.getgrnam("frr").gr_gid
    frr = ddir / "frr"
    frr.mkdir(parents=True, exist_ok=True)
    files = {
        "daemons": 'ospfd=yes\nvtysh_enable=yes\nzebra_options="-P 0"\nospfd_options="-P 0"\n'
        'frr_profile="traditional"\n',
        "vtysh.conf": "service integrated-vtysh-config\n",
        "frr.conf": config,
    }
    for name, text in files.items():
        (frr / name).write_text(text)
        os.chown(frr / name, uid, gid)
        os.chmod(frr / name, 0o660)
    os.chown(frr, uid, gid)
    os.chmod(frr, 0o2775)
    if not link.is_symlink():
        link.symlink_to(frr)


# ------------------------------------------------------------------------------------ link cut
@dataclass(frozen=True)
class Cut:
    """A redundant routed link as seen from its department router: which end to cut and the far end."""

    device: str
    interface: str
    peer: str
    peer_interface: str


def link_at(lab: Lab, device: str, interface: str) -> Cut:
    """The lab's routed link at ``device`` ``interface`` (e.g. where a department's traffic to the DC leaves:
    ``govnet.verify.expect.primary_core``), with its far end."""
    for lk in lab.links:
        for near, far in ((lk["a"], lk["b"]), (lk["b"], lk["a"])):
            if near[0] == device and near[1] == interface:
                return Cut(device, interface, far[0], far[1])
    raise LabError(f"drill: no lab link at {device} {interface}")


def _cut_script(interface: str) -> str:
    """Drop everything in and out of one interface, carrier kept up: only BFD or OSPF's dead timer can tell."""
    return (
        "table inet govnet_drill {\n"
        f' chain drill_in {{ type filter hook input priority -300; iifname "{interface}" drop; }}\n'
        f' chain drill_fwd {{ type filter hook forward priority -300; iifname "{interface}" drop; '
        f'oifname "{interface}" drop; }}\n'
        f' chain drill_out {{ type filter hook output priority -300; oifname "{interface}" drop; }}\n'
        "}\n"
    )


def cut(lab: Lab, device: str, interface: str) -> None:
    nsexec.run(nsexec.in_netns(lab.devices[device].netns, ["nft", "-f", "-"]), stdin=_cut_script(interface))


def mend(lab: Lab, device: str) -> None:
    nsexec.run(nsexec.in_netns(lab.devices[device].netns, ["nft", "delete", "table", "inet", "govnet_drill"]),
               check=False)  # fmt: skip


def set_bfd(lab: Lab, link: Cut, on: bool) -> None:
    """BFD on OSPF at both ends of the link: as rendered (``on``), or off for the OSPF-only figure."""
    for device, interface in ((link.device, link.interface), (link.peer, link.peer_interface)):
        lines = ["ip ospf bfd", "ip ospf bfd profile ospf"] if on else ["no ip ospf bfd"]
        nsexec.vtysh(lab.devices[device].instance, "configure terminal", f"interface {interface}", *lines)


def bfd_up(lab: Lab, link: Cut) -> bool:
    """Both ends' BFD session on the link is up."""
    for device, interface in ((link.device, link.interface), (link.peer, link.peer_interface)):
        peers = _vtysh_json(lab.devices[device].instance, "show bfd peers json")
        if not any(p.get("interface") == interface and p.get("status") == "up" for p in peers or []):
            return False
    return True


def link_full(lab: Lab, link: Cut) -> bool:
    """Both ends see each other Full on the link."""
    a, b = lab.network.devices[link.device], lab.network.devices[link.peer]
    return is_full(ospf_neighbours(lab.devices[link.device].instance).get(str(b.router_id))) and is_full(
        ospf_neighbours(lab.devices[link.peer].instance).get(str(a.router_id))
    )


def uses(lab: Lab, device: str, interface: str, address: str) -> bool:
    """``device`` routes ``address`` out of ``interface``."""
    data = _vtysh_json(lab.devices[device].instance, f"show ip route {address} json")
    return any(
        hop.get("interfaceName") == interface and hop.get("active")
        for routes in data.values()
        for route in routes
        for hop in route.get("nexthops", [])
    )


REPLY = re.compile(r"^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)", re.MULTILINE)


def loss_window(
    lab: Lab, link: Cut, host: str, server: str, *, seconds: float, interval: float = 0.01, lead: float = 1.0
) -> float:
    """Cut ``link`` at its department end while ``host`` pings ``server`` every ``interval`` s; the seconds without
    an answer across the cut (the longest gap between two answers that ends after the cut, less one interval: on a
    loaded machine ping sends less often than asked, so counting lost echoes would under-state it). The link is
    mended before returning. Traffic that has not come back before the ping's ``seconds`` end is an error, not a
    short window: a loss still open when the run ends has no measured length."""
    ns = lab.hosts[host].netns
    address = lab.servers[server].address
    argv = nsexec.in_netns(ns, ["ping", "-n", "-D", "-i", str(interval), "-W", "1", "-w", str(seconds), address])
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        time.sleep(lead)
        cut_at = time.time()  # ping -D stamps are wall-clock too
        cut(lab, link.device, link.interface)
        out, _ = proc.communicate(timeout=seconds + 15)
        ended = time.time()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        mend(lab, link.device)
    return _window(sorted(float(m[1]) for m in REPLY.finditer(out)), cut_at, ended, interval,
                   f"{host} → {server}", out)  # fmt: skip


def _window(stamps: list[float], cut_at: float, ended: float, interval: float, what: str, out: str = "") -> float:
    """The loss window in ping's answer times ``stamps`` around a cut made at ``cut_at``; the run ended at
    ``ended``. An error when there were no answers before the cut, or none after it."""
    before = [s for s in stamps if s <= cut_at]
    if not before:
        raise LabError(f"drill: {what}: no answers before the cut: {out.strip()[-200:]}")
    gaps = [b - a for a, b in itertools.pairwise(stamps) if b > cut_at]
    tail = ended - stamps[-1]
    if not gaps or tail > max(1.0, max(gaps)):
        raise LabError(f"drill: {what}: no answers in the last {tail:.1f} s of the run: the traffic did not "
                       "come back after the cut")  # fmt: skip
    return round(max(max(gaps) - interval, 0.0), 3)


def restore(lab: Lab, link: Cut, server: str, timeout: float = 30) -> None:
    """After a cut: the link Full again, BFD up on it, and the department routing by it again."""
    address = lab.servers[server].address
    ok = wait_until(lambda: link_full(lab, link) and bfd_up(lab, link), timeout)
    ok = ok and wait_until(lambda: uses(lab, link.device, link.interface, address), timeout)
    if not ok:
        raise LabError(f"drill: {link.device} {link.interface} not back within {timeout:.0f} s")


# ------------------------------------------------------------------------------------ key rotation
def rotate_ospf_key(lab: Lab, link: Cut, old: tuple[int, str], new: tuple[int, str], pause: float = 0.5) -> None:
    """The change-window procedure on one routed link: the new key on both ends, then the old one off both ends.

    FRR signs with the newest key and accepts any configured one, so from the moment one end holds the new key
    the other must hold it within the dead interval (here: ``pause``)."""
    ends = ((link.device, link.interface), (link.peer, link.peer_interface))
    for device, interface in ends:
        nsexec.vtysh(lab.devices[device].instance, "configure terminal", f"interface {interface}",
                     f"ip ospf message-digest-key {new[0]} md5 {new[1]}")  # fmt: skip
        time.sleep(pause)
    for device, interface in ends:
        nsexec.vtysh(lab.devices[device].instance, "configure terminal", f"interface {interface}",
                     f"no ip ospf message-digest-key {old[0]}")  # fmt: skip
        time.sleep(pause)


def adjacency_uptime(lab: Lab, link: Cut) -> tuple[float, float] | None:
    """Both ends' uptime (ms) of the adjacency on the link, or None when either is not Full."""
    a, b = lab.network.devices[link.device], lab.network.devices[link.peer]
    ea = ospf_neighbours(lab.devices[link.device].instance).get(str(b.router_id))
    eb = ospf_neighbours(lab.devices[link.peer].instance).get(str(a.router_id))
    if not (is_full(ea) and is_full(eb)):
        return None
    assert ea is not None and eb is not None
    return float(ea.get("upTimeInMsec", 0)), float(eb.get("upTimeInMsec", 0))


def running_keys(lab: Lab, device: str, interface: str) -> list[str]:
    """The message-digest key lines of one interface's running config (values included: lab keys only)."""
    text = nsexec.vtysh(lab.devices[device].instance, "show running-config", uts=False)
    block = re.search(rf"^interface {re.escape(interface)}\n(.*?)^exit", text, re.MULTILINE | re.DOTALL)
    return [ln.strip() for ln in (block[1] if block else "").splitlines() if "message-digest-key" in ln]
