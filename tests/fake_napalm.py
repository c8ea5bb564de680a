"""A fleet of fake NAPALM devices for the deploy engine, reached through Nornir like real ones.

Fakes over mocks: each box keeps a running config, takes a replace candidate, diffs, commits with a revert
timer, confirms and rolls back with NAPALM's semantics, and answers the post-check getter (``get_state``, as
napalm_frr does) with the state the model plans while it runs a config it can live with. A box can be told to
refuse the candidate (the check fails) or to break when the new config is committed (the post-check fails).
"""

from __future__ import annotations

import difflib
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from govnet.deploy import checks
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
    before_commit: str | None = None
    pending: bool = False
    log: list[tuple[int, str]] = field(default_factory=list)  # (fleet sequence, commit/confirm/rollback)

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
        """What get_state reports: every planned fact while the box is healthy, links down once broken."""
        device = self.network.devices[box.name]
        plan = checks.plan_for(self.network, device, set(self.network.devices))
        up = not (box.breaks and box.pending)
        return {
            "interfaces": {n: {"is_up": up} for n in plan.interfaces},
            "interfaces_ip": {
                n: {"ipv4": {str(a.ip): {"prefix_length": a.network.prefixlen}}} for n, a in plan.interfaces.items()
            },
            "ospf_neighbors": {
                "default": {"neighbors": {rid: [{"state": "Full" if up else "Init"}] for rid in plan.ospf}}
            },
            "bgp_neighbors": {"global": {"peers": {a: {"is_up": up} for a in plan.bgp}}},
            "routes": {p: [{"via": "fake"}] if up else [] for p in plan.routes},
        }


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
        self.connection = FakeDriver(self.fleet, self.fleet.by_address[hostname])

    def close(self) -> None:
        self.connection = None
