"""The lab's memory of what it created, and the read-only view of a running lab.

``up`` records every object *before* creating it and rewrites the file atomically each time, so a
crash at any point leaves a state file that names everything that might exist; ``down`` removes
what it finds and ignores what is already gone.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from govnet.model import login

STATE_NAME = "state.json"
STATE_VERSION = 1
#: Marks shared system objects (the login user, /run/sshd) and which labs use them.
REGISTRY = Path("/run/govnet-lab")


def lab_username() -> str:
    """Login user of every device (govnet.model.login)."""
    return login.username()


def lab_password() -> str:
    """Lab password from ``GOVNET_PASSWORD``, else the documented lab default (govnet.model.login)."""
    return login.password("lab")


class StateFile:
    """An append-only record list plus lab facts, flushed atomically on every change."""

    def __init__(self, path: Path, data: dict[str, Any]) -> None:
        self.path = path
        self.data = data

    @classmethod
    def create(cls, state_dir: Path, **facts: Any) -> StateFile:
        """A fresh state for a lab about to be built."""
        state = cls(state_dir / STATE_NAME, {"version": STATE_VERSION, "phase": "building", "records": []})
        state.data.update(owner=[os.getpid(), _start_time(os.getpid())], **facts)
        state.flush()
        return state

    @classmethod
    def load(cls, state_dir: Path) -> StateFile | None:
        """The recorded state, or None when no lab is recorded there."""
        path = state_dir / STATE_NAME
        try:
            return cls(path, json.loads(path.read_text()))
        except FileNotFoundError:
            return None

    def flush(self) -> None:
        """Write via a temporary file and rename, so a reader never sees half a file."""
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w") as fh:
            json.dump(self.data, fh, indent=1, sort_keys=True)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def record(self, kind: str, *items: dict[str, Any]) -> None:
        """Note objects of one kind that are about to be created."""
        self.data["records"].extend({"kind": kind, **item} for item in items)
        self.flush()

    def forget(self, kind: str, match: Callable[[dict[str, Any]], bool]) -> None:
        """Drop records of objects that are gone (``sync`` removed them), so ``down`` no longer looks for them."""
        self.data["records"] = [r for r in self.data["records"] if r["kind"] != kind or not match(r)]
        self.flush()

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Recorded objects of one kind, in creation order."""
        return [r for r in self.data["records"] if r["kind"] == kind]

    def owner_alive(self) -> bool:
        """True while the process that ran ``up`` still lives (a test session holding its lab)."""
        pid, started = self.data.get("owner") or (0, None)
        return bool(pid) and started is not None and _start_time(pid) == started

    def set(self, **facts: Any) -> None:
        """Update lab facts (phase, device table) and flush."""
        self.data.update(facts)
        self.flush()


def _start_time(pid: int) -> int | None:
    """Kernel start time of a process (tells a live owner from a reused PID), None when gone."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class LabDevice:
    """A running router or switch as clients see it."""

    name: str
    netns: str
    instance: str
    mgmt_ip: str
    role: str
    #: Built as a stock FRR box: the login lands in a shell, no helper installed (the driver ships its own).
    stock: bool = False


class LabEndpoint(NamedTuple):
    """A host or server: its namespace and address (no prefix length)."""

    netns: str
    address: str


@dataclass
class Lab:
    """A running lab, read from its state file; shared by the CLI, the tests and the benchmark."""

    name: str
    state_dir: Path
    devices: dict[str, LabDevice]
    hosts: dict[str, LabEndpoint]
    servers: dict[str, LabEndpoint]
    known_hosts: Path
    username: str
    password: str
    configured: bool
    prefix: str
    links: list[dict[str, Any]] = field(default_factory=list)
    network: Any = None
    #: What the devices run (FRR pathspaces, sshd configs, the agent): ``/run/govnet/<prefix>``.
    runtime: Path | None = None
    #: The emulated Internet (``govnet.lab.internet``): its routers (name → netns, instance, role), hosts and
    #: links; empty for an inventory without an Internet edge.
    internet: dict[str, Any] = field(default_factory=dict)

    def internet_host(self, name: str) -> LabEndpoint | None:
        """An Internet host (``citizen``, ``upstream``) of the running lab, or None."""
        hosts = self.internet.get("hosts", {})
        return LabEndpoint(*hosts[name]) if name in hosts else None

    @classmethod
    def from_state(cls, state: StateFile, network: Any = None) -> Lab:
        """Build the view from a state file written by a complete ``up``."""
        d = state.data
        return cls(
            name=d["name"],
            state_dir=state.path.parent,
            devices={k: LabDevice(**v) for k, v in d.get("devices", {}).items()},
            hosts={k: LabEndpoint(*v) for k, v in d.get("hosts", {}).items()},
            servers={k: LabEndpoint(*v) for k, v in d.get("servers", {}).items()},
            known_hosts=Path(d["known_hosts"]),
            username=d["username"],
            password=lab_password(),
            configured=bool(d.get("configured")),
            prefix=d["prefix"],
            links=list(d.get("links", [])),
            network=network,
            runtime=Path(d.get("runtime") or state.path.parent),
            internet=dict(d.get("internet") or {}),
        )

    @classmethod
    def load(cls, state_dir: Path, network: Any = None) -> Lab | None:
        """The running lab recorded in ``state_dir``, or None."""
        state = StateFile.load(state_dir)
        if state is None or state.data.get("phase") != "up":
            return None
        return cls.from_state(state, network)
