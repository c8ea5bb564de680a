"""A running lab follows the inventory: what is new is built, what is gone is removed, the rest keeps running.

``govnet lab up`` on a running lab calls :func:`sync`. It compares the objects the state recorded at ``up``
(``topology.lab_objects``: devices, links, segments, stubs, endpoints) with the inventory's, and

- removes what is gone or changed: server containers in a leaving server's namespace, endpoints (namespace and
  the switch-side port), links and segments on devices that stay (their interfaces only), devices (processes,
  FRR pathspace, management port, namespace, files);
- builds what is new or changed the way ``up`` does: namespaces, management ports, veths, addresses, bridges,
  shaping, then FRR + sshd + the on-box helper of each new device, with the lab's kind of config (bootstrap,
  or full when it was built ``--configured``);
- leaves everything else alone: a kept device's FRR, sshd, helper and configuration are not touched; a kept device
  only gains or loses the interfaces of links and segments that came or went. ``deploy`` brings them in.

A sync that stops halfway (killed, a failed command) can be rerun: the state keeps the objects of the last
completed sync and a ``syncing`` mark while one runs. A rerun that finds the mark first removes whatever of the
new objects exists (each removal tolerates what is not there), then removes what is gone again (idempotent) and
builds the new objects from nothing, as the first attempt would have.

Server containers are not built here: ``scripts/lab-servers`` provisions the servers (idempotent: it adds the
new servers' containers and leaves the others unchanged); a server that leaves loses its container with its
namespace.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govnet.lab import engine, nsexec
from govnet.lab.containers import remove_server_containers
from govnet.lab.deps import check_all
from govnet.lab.errors import LabUsageError
from govnet.lab.state import Lab, StateFile
from govnet.lab.topology import LabSpec, lab_objects, short_ifname

KINDS = ("devices", "links", "segments", "stubs", "endpoints")
Objects = dict[str, dict[str, dict[str, Any]]]


@dataclass
class Changes:
    """Names per kind of object: what sync removes and what it builds (a changed object is in both)."""

    gone: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})
    new: dict[str, set[str]] = field(default_factory=lambda: {k: set() for k in KINDS})

    def empty(self) -> bool:
        return not any(self.gone.values()) and not any(self.new.values())

    def summary(self) -> str:
        """``+2 devices +3 links … -1 device …`` (kinds with no change left out); ``no change`` when empty."""
        parts = [f"+{len(self.new[k])} {k}" for k in KINDS if self.new[k]]
        parts += [f"-{len(self.gone[k])} {k}" for k in KINDS if self.gone[k]]
        return " ".join(parts) or "no change"


def changes(have: Objects, want: Objects) -> Changes:
    """What differs, with the consequences: a device that goes takes its links, segments and their endpoints;
    a segment that goes takes its endpoints (they are rebuilt when they stay in the inventory)."""
    ch = Changes()

    def differs(kind: str, key: str) -> bool:
        return have[kind].get(key) != want[kind].get(key)

    ch.gone["devices"] = {d for d in have["devices"] if differs("devices", d)}
    dev_gone = ch.gone["devices"]
    ch.gone["links"] = {k for k, v in have["links"].items() if differs("links", k) or {v["a"][0], v["b"][0]} & dev_gone}
    ch.gone["segments"] = {k for k, v in have["segments"].items() if differs("segments", k) or v["node"] in dev_gone}
    ch.gone["stubs"] = {
        k for k in have["stubs"] if differs("stubs", k) or k in ch.gone["segments"] or k not in want["stubs"]
    }
    ch.gone["endpoints"] = {
        k for k, v in have["endpoints"].items() if differs("endpoints", k) or v["segment"] in ch.gone["segments"]
    }
    for kind in KINDS:
        kept = set(have[kind]) - ch.gone[kind]
        ch.new[kind] = set(want[kind]) - kept
    return ch


def sync(
    spec: LabSpec, state_dir: Path, *, configured: bool = False, progress: engine.Progress = engine._quiet
) -> tuple[Lab, Changes]:
    """Make the running lab in ``state_dir`` match ``spec``; returns the lab and what changed. New devices start
    on full configs when the lab was built ``--configured`` or *configured* asks, else on bootstrap configs."""
    check_all()
    state_dir = state_dir.absolute()
    problems = spec.problems()
    if problems:
        raise LabUsageError("\n".join(f"lab spec: {p}" for p in problems))
    state = StateFile.load(state_dir)
    if state is None or state.data.get("phase") != "up":
        raise LabUsageError(f"lab: no running lab recorded in {state_dir}")
    have = state.data.get("objects")
    if have is None:
        raise LabUsageError("lab: this lab was built by an older govnet; run `govnet lab down` and `govnet lab up`")
    if state.data["prefix"] != spec.prefix or state.data["name"] != spec.name:
        raise LabUsageError(f"lab: {state_dir} holds lab {state.data['name']}, not {spec.name}")
    want = lab_objects(spec)
    ch = changes(have, want)
    if state.data.get("syncing"):
        progress("sync: the last sync did not finish; removing what it had begun to build")
        _remove(want, Changes(gone={k: set(ch.new[k]) for k in KINDS}), state, spec.prefix)
    if not ch.empty():
        progress(f"sync: {ch.summary()}")
        state.set(syncing=True)  # until the objects below are recorded: a rerun clears a half-built change first
        _remove(have, ch, state, spec.prefix)
        _add(spec, ch, state, configured or bool(state.data.get("configured")))
    if not ch.empty() or state.data.get("syncing"):
        state.set(**engine.facts(spec), synced=time.time(), syncing=False)
    return Lab.from_state(state, spec.network), ch


# ------------------------------------------------------------------------------------- remove
def _remove(have: Objects, ch: Changes, state: StateFile, prefix: str) -> None:
    """Take away what is gone, innermost first; every namespace that stays keeps its processes."""
    dev_ns = {d: f"{prefix}-{d}" for d in have["devices"]}
    ep_ns = sorted(ch.gone["endpoints"])
    gone_ns = ep_ns + [dev_ns[d] for d in sorted(ch.gone["devices"])]
    remove_server_containers(ep_ns)
    engine.stop_netns_processes(gone_ns)
    per_ns: dict[str, list[str]] = {}

    def drop(node: str, ifname: str) -> None:
        if node not in ch.gone["devices"]:
            per_ns.setdefault(dev_ns[node], []).append(f"link del {ifname}")

    for key in ch.gone["endpoints"]:
        ep = have["endpoints"][key]
        seg = have["segments"][ep["segment"]]
        drop(seg["node"], short_ifname(f"{'h' if ep['kind'] == 'host' else 's'}-{ep['name']}"))
    for key in ch.gone["links"]:
        a, b = have["links"][key]["a"], have["links"][key]["b"]
        end = a if a[0] not in ch.gone["devices"] else b  # deleting one end of a veth deletes both
        drop(end[0], end[1])
    for key in ch.gone["stubs"]:
        stub = have["stubs"][key]
        drop(stub["node"], short_ifname(f"{stub['interface']}-stub"))
    for key in ch.gone["segments"]:
        drop(have["segments"][key]["node"], have["segments"][key]["interface"])
    for ns, lines in per_ns.items():
        nsexec.ip_batch(lines, netns=ns, force=True)
    _remove_devices(sorted(ch.gone["devices"]), state, prefix)
    nsexec.ip_batch([f"netns del {ns}" for ns in gone_ns if Path(f"/run/netns/{ns}").exists()], force=True)
    for ns in gone_ns:  # a gone server's service listener went with its namespace's processes
        (engine.NETNS_PIDS / f"{ns}.pid").unlink(missing_ok=True)
    gone = set(gone_ns)
    state.forget("netns", lambda r: r["name"] in gone)


def _remove_devices(names: list[str], state: StateFile, prefix: str) -> None:
    """FRR pathspace link and run directory, the root-side management port, the device's files."""
    if not names:
        return
    ports = [short_ifname(f"{prefix}m-{n}") for n in names]
    nsexec.ip_batch([f"link del {p}" for p in ports if Path(f"/sys/class/net/{p}").exists()], force=True)
    for name in names:
        link = nsexec.FRR_ETC / name
        if os.path.islink(link):
            link.unlink()
        shutil.rmtree(nsexec.FRR_RUN / name, ignore_errors=True)
        shutil.rmtree(Path(state.data.get("runtime") or state.path.parent) / "devices" / name, ignore_errors=True)
    gone, gone_ports = set(names), set(ports)
    state.forget("root_link", lambda r: r["name"] in gone_ports)
    state.forget("frr_etc", lambda r: Path(r["path"]).name in gone)
    state.forget("frr_run", lambda r: r["instance"] in gone)
    state.forget("sshd", lambda r: r["node"] in gone)
    known = Path(state.data["known_hosts"])
    lines = [ln for ln in known.read_text().splitlines() if ln.split(",", 1)[0] not in gone]
    known.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------------------- add
def _add(spec: LabSpec, ch: Changes, state: StateFile, configured: bool) -> None:
    """Build what is new, as ``up`` builds it, then start the new devices."""
    new_nodes = [n for n in spec.nodes if n.name in ch.new["devices"]]
    new_links = [lk for lk in spec.links if lk.name in ch.new["links"]]
    new_segs = [s for s in spec.segments if s.key in ch.new["segments"]]
    new_stubs = [s for s in spec.segments if s.key in ch.new["stubs"]]
    new_eps = [e for e in spec.endpoints if spec.endpoint_netns(e) in ch.new["endpoints"]]
    if new_nodes:
        known = engine.device_files(new_nodes, state, configured)
        with open(state.data["known_hosts"], "a") as fh:
            fh.write("\n".join(known) + "\n")
    namespaces = [spec.netns(n.name) for n in new_nodes] + [spec.endpoint_netns(e) for e in new_eps]
    state.record("netns", *({"name": ns} for ns in namespaces))
    state.record("root_link", *({"name": spec.mgmt_port(n.name)} for n in new_nodes if n.managed))
    lines = [f"netns add {ns}" for ns in namespaces]
    for n in new_nodes:
        if n.mgmt is None:  # the emulated Internet's routers have no management port
            continue
        port = spec.mgmt_port(n.name)
        lines += [
            f"link add {port} type veth peer name mgmt0 netns {spec.netns(n.name)}",
            f"link set {port} master {spec.mgmt_bridge}",
            f"link set {port} up",
            # the controller may still hold the MAC of a device that had this address before (a department
            # removed and added again): its first SYNs would go to that MAC until the entry times out, longer than
            # a deploy's connect timeout
            f"neigh flush to {n.mgmt.ip} dev {spec.mgmt_bridge}",
        ]
    for lk in new_links:
        lines.append(
            f"link add {lk.a.interface} netns {spec.netns(lk.a.node)} type veth "
            f"peer name {lk.b.interface} netns {spec.netns(lk.b.node)}"
        )
    for ep in new_eps:
        lines.append(
            f"link add eth0 netns {spec.endpoint_netns(ep)} type veth "
            f"peer name {engine.port_name(ep)} netns {spec.netns(spec.segment(ep.segment).node)}"
        )
    for seg in new_stubs:
        stub = short_ifname(f"{seg.interface}-stub")
        lines.append(
            f"link add {stub} netns {spec.netns(seg.node)} type veth "
            f"peer name {short_ifname(stub + 'p')} netns {spec.netns(seg.node)}"
        )
    nsexec.ip_batch(lines)
    _configure(spec, new_nodes, new_links, new_segs, new_stubs, new_eps)
    if new_nodes:
        engine.start_devices(dataclasses.replace(spec, nodes=tuple(new_nodes)), state)


def _configure(
    spec: LabSpec, nodes: list[Any], links: list[Any], segs: list[Any], stubs: list[Any], eps: list[Any]
) -> None:
    """Addresses, bridges, ports and shaping of the new objects, in their namespaces (new or kept)."""
    jobs: dict[str, tuple[list[str], list[str]]] = {}

    def at(ns: str) -> tuple[list[str], list[str]]:
        return jobs.setdefault(ns, ([], []))

    for n in nodes:
        at(spec.netns(n.name))[0].append("link set lo up")
        if n.mgmt is not None:
            at(spec.netns(n.name))[0].extend([f"addr add {n.mgmt} dev mgmt0", "link set mgmt0 up"])
    for lk in links:
        for end in (lk.a, lk.b):
            lines, tc = at(spec.netns(end.node))
            lines += [f"addr add {end.address} dev {end.interface}", f"link set {end.interface} up"]
            if lk.bandwidth_mbps:
                tc.append(engine.tbf(end.interface, lk.bandwidth_mbps))
    for seg in segs:
        at(spec.netns(seg.node))[0].extend(
            [
                f"link add name {seg.interface} type bridge forward_delay 0",
                f"addr add {seg.gateway} dev {seg.interface}",
            ]
        )
    ports: list[tuple[str, str, str]] = [
        (spec.netns(spec.segment(ep.segment).node), engine.port_name(ep), spec.segment(ep.segment).interface)
        for ep in eps
    ]
    for seg in stubs:
        stub = short_ifname(f"{seg.interface}-stub")
        at(spec.netns(seg.node))[0].append(f"link set {short_ifname(stub + 'p')} up")
        ports.append((spec.netns(seg.node), stub, seg.interface))
    for ns, port, bridge in ports:
        at(ns)[0].extend([f"link set {port} master {bridge}", f"link set {port} up"])
    for seg in segs:
        at(spec.netns(seg.node))[0].append(f"link set {seg.interface} up")
    for ep in eps:
        at(spec.endpoint_netns(ep))[0].extend(
            [
                "link set lo up",
                f"addr add {ep.address} dev eth0",
                "link set eth0 up",
                f"route add default via {ep.gateway}",
            ]
        )

    def configure(item: tuple[str, tuple[list[str], list[str]]]) -> None:
        ns, (lines, tc) = item
        nsexec.ip_batch(lines, netns=ns)
        nsexec.tc_batch(tc, netns=ns)

    engine._parallel(configure, list(jobs.items()))
