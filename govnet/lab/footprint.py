"""What a lab leaves on the machine, as comparable sets: namespaces, interfaces, processes, files.

``down`` must leave the machine as it was.  Other labs (and other people's namespaces) may come and
go at the same time, so a footprint only counts objects that carry this lab's names.
"""

from __future__ import annotations

import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from govnet.lab.engine import NETNS_PIDS, RUNTIME_BASE, runtime_dir
from govnet.lab.nsexec import FRR_ETC, FRR_RUN
from govnet.lab.topology import KIND_LETTER, LabSpec

#: What a lab device runs of its own (the FRR driver's helper, the device shell), as ``python -m MODULE INSTANCE ...``.
AGENT_MODULES = ("napalm_frr.helper", "govnet.lab.device_shell")


@dataclass(frozen=True)
class Footprint:
    """Sets of names; equal footprints before ``up`` and after ``down`` mean nothing was left behind."""

    namespaces: frozenset[str]
    root_links: frozenset[str]
    processes: frozenset[str]
    files: frozenset[str]
    users: frozenset[str]

    def diff(self, other: Footprint) -> dict[str, set[str]]:
        """What ``other`` has that this one has not (per kind); empty when nothing was left."""
        out = {}
        for kind in ("namespaces", "root_links", "processes", "files", "users"):
            extra = set(getattr(other, kind)) - set(getattr(self, kind))
            if extra:
                out[kind] = extra
        return out


def footprint(spec: LabSpec, state_dir: Path, username: str) -> Footprint:
    """Everything on the machine that belongs to ``spec``'s names or lives under ``state_dir``."""
    prefixes = tuple(f"{spec.prefix}{letter}-" for letter in ("", *KIND_LETTER.values()))
    netns_dir = Path("/run/netns")
    namespaces = {p.name for p in netns_dir.iterdir() if p.name.startswith(prefixes)} if netns_dir.exists() else set()
    ours = {spec.mgmt_bridge} | {spec.mgmt_port(n.name) for n in spec.managed}
    root_links = {n for n in os.listdir("/sys/class/net") if n in ours}
    instances = {n.name for n in spec.nodes}
    files = {str(FRR_ETC / i) for i in instances if os.path.lexists(FRR_ETC / i)}
    files |= {str(FRR_RUN / i) for i in instances if (FRR_RUN / i).exists()}
    if NETNS_PIDS.exists():  # PID files of processes started into the lab's namespaces after up
        files |= {str(p) for p in NETNS_PIDS.glob("*.pid") if p.name.startswith(prefixes)}
    runtime = runtime_dir(spec.prefix)
    for tree in (state_dir, runtime):
        if tree.exists():
            files |= {str(p) for p in tree.rglob("*")} | {str(tree)}
    home = Path("/home") / username
    files |= {str(p) for p in (home, Path("/run/govnet-lab"), RUNTIME_BASE) if p.exists()}
    users = set()
    try:
        pwd.getpwnam(username)
        users.add(username)
    except KeyError:
        pass
    return Footprint(
        frozenset(namespaces),
        frozenset(root_links),
        frozenset(_processes(instances, state_dir) | _processes(instances, runtime)),
        frozenset(files),
        frozenset(users),
    )


def _processes(instances: set[str], state_dir: Path) -> set[str]:
    """Processes of this lab: FRR daemons of its instances, sshds with its configs, on-box agents and device
    shells of its instances (as "pid cmdline")."""
    found = set()
    marker = str(state_dir)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            argv = Path(f"/proc/{entry.name}/cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        words = [a.decode(errors="replace") for a in argv if a]
        cmd = " ".join(words)
        pathspace = any(words[i] == "-N" and words[i + 1] in instances for i in range(len(words) - 1))
        agent = any(words[i] in AGENT_MODULES and words[i + 1] in instances for i in range(len(words) - 1))
        if pathspace or agent or marker in cmd:
            found.add(f"{entry.name} {cmd}")
    return found
