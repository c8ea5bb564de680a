"""A fleet of fake NAPALM devices for the deploy engine, reached through Nornir like real ones.

Fakes over mocks: each box keeps a running config, takes a replace candidate, diffs, commits with a revert
timer, confirms and rolls back with NAPALM's semantics, and answers the post-check getter (``get_state``, as
napalm_frr does) with the model's facts of health (``govnet.model.health``) while it runs a config it can live
with. A box can be told to refuse the candidate (the check fails), to break when the new config is committed (the
post-check fails), or to lose the OSPF adjacency on some of its links with the new config (a dead twin link).
"""

from __future__ import annotations

import difflib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from govnet.model import health
from govnet.model.derived import Network

_ORDER = itertools.count()  # one sequence for the fleet: what was committed before what
_LOCK = threading.Lock()


@dataclass
class Box:
    """One device: its running config and what happened to it."""

    name: str
    running: str
    refuse: bool = False  # load_replace_candidate raises (a line the device rejects)
    breaks: bool = False  # once committed, the new config brings its links down
    dead: frozenset[str] = frozenset()  # once committed, no OSPF adjacency forms on these interfaces
    unreachable_after_commit: bool = False  # the session drops once committed: a rollback cannot be sent
    before_commit: str | None = None
    pending: bool = False
    log: list[tuple[int, str]] = field(default_factory=list)  # (fleet sequence, commit/confirm/rollback)
    logins: int = 0  # sessions opened to the box

    def event(self, what: str) -> None:
        with _LOCK:
            self.log.append((next(_ORDER), what))

    def did(self, what: str) -> bool:
        return any(w == what for _, w in self.log)


class Fleet:
    """The boxes of a network, by management address (what Nornir connects to)."""

    def __init__(self, network: Network, running: str = "! bootstrap\n", latency: float = 0.05) -> None:
        self.network = network
        self.latency = latency  # a state read takes this long: parallel devices overlap, as real ones do
        self.boxes = {name: Box(name, running) for name in network.devices}
        self.by_address = {str(d.mgmt.ip): self.boxes[n] for n, d in network.devices.items()}

    def __getitem__(self, name: str) -> Box:
        return self.boxes[name]

    def state(self, box: Box) -> dict[str, Any]:
        """What get_state reports: every fact of health while the box is healthy, links down once broken, no
        adjacency on a dead link (at either end) while the box at one end runs its new config."""
        facts = health.expectations(self.network, box.name)
        up = not (box.breaks and box.pending)
        addresses = [f for f in facts if isinstance(f, health.Address)]
        neighbors: dict[str, list[dict[str, Any]]] = {}
        for f in facts:
            if isinstance(f, health.Adjacency) and not self.dead(box.name, f.interface, f.peer):
                entry = {"address": f.peer_address, "interface": f.interface, "state": "Full" if up else "Init"}
                neighbors.setdefault(f.peer_id, []).append(entry)
        return {
            "interfaces": {f.interface: {"is_up": up} for f in addresses},
            "interfaces_ip": {
                f.interface: {"ipv4": {str(f.address.ip): {"prefix_length": f.address.network.prefixlen}}}
                for f in addresses
            },
            "ospf_neighbors": {"default": {"neighbors": neighbors}},
            "bgp_neighbors": {
                "global": {"peers": {f.address: {"is_up": up} for f in facts if isinstance(f, health.Session)}}
            },
            "routes": {f.prefix: [{"via": "fake"}] if up else [] for f in facts if isinstance(f, health.Route)},
        }

    def dead(self, device: str, interface: str, peer: str) -> bool:
        """Is this link's adjacency down: its end on a box running a new config that kills it, or the far end's?"""
        here = self.boxes[device]
        if here.pending and interface in here.dead:
            return True
        far = self.boxes[peer]
        ends = {i.peer_interface for i in self.network.devices[device].p2p if i.name == interface}
        return far.pending and bool(ends & far.dead)


class FakeDriver:
    """The NAPALM calls the deploy engine makes."""

    def __init__(self, fleet: Fleet, box: Box) -> None:
        self.fleet, self.box = fleet, box
        self.candidate: str | None = None

    def get_config(self, retrieve: str = "all") -> dict[str, str]:
        return {"running": self.box.running, "startup": "", "candidate": self.candidate or ""}

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        if self.box.refuse:
            raise ValueError(f"{self.box.name}: % Unknown command in the candidate")
        self.candidate = config

    def compare_config(self) -> str:
        assert self.candidate is not None
        diff = difflib.unified_diff(self.box.running.splitlines(), self.candidate.splitlines(), lineterm="", n=0)
        return "\n".join(line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---"))

    def discard_config(self) -> None:
        self.candidate = None

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        assert self.candidate is not None and revert_in, "the engine commits with a revert timer"
        self.box.before_commit, self.box.running = self.box.running, self.candidate
        self.box.pending, self.candidate = True, None
        self.box.event("commit")

    def confirm_commit(self) -> None:
        assert self.box.pending, "nothing to confirm"
        self.box.pending = False
        self.box.event("confirm")

    def rollback(self) -> None:
        assert self.box.before_commit is not None, "nothing to roll back to"
        if self.box.unreachable_after_commit:
            raise OSError("session closed by the device")
        self.box.running, self.box.pending = self.box.before_commit, False
        self.box.event("rollback")

    def get_state(self, prefixes: list[str]) -> dict[str, Any]:
        time.sleep(self.fleet.latency)
        return self.fleet.state(self.box)


class FakeConnection:
    """A Nornir connection plugin handing out FakeDrivers (registered as ``napalm`` for the test)."""

    fleet: Fleet | None = None

    def __init__(self) -> None:
        self.connection: FakeDriver | None = None

    def open(self, hostname: str | None, *args: Any, **kwargs: Any) -> None:
        assert self.fleet is not None and hostname is not None
        box = self.fleet.by_address[hostname]
        with _LOCK:
            box.logins += 1
        self.connection = FakeDriver(self.fleet, box)

    def close(self) -> None:
        self.connection = None
