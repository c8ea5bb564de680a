"""What a change touched, for ``govnet verify --changed``: derived from the diff of intent, never hand-picked.

A passing full or scoped verify records a snapshot of what it verified (``verified.json`` in the lab's state
directory): a digest of every device's rendered config (placeholders for secrets: no secret enters the file) and
of its nftables zone policy, every endpoint, every zone's policy rows, the Internet edge. ``verify --changed``
compares the inventory's snapshot now with that one; the difference is the scope:

- ``devices``: devices new or whose config changed: their control plane is checked;
- ``endpoints``: hosts and servers new or changed, and those on segments of a changed device: their row and
  column of the reachability matrix, their site's traceroute, and the flow classes they can represent;
- ``zones``: zones whose policy rows changed: every flow class from or to them (a zone only gaining members, as
  when a department joins, keeps its rows: its new endpoints carry the check);
- ``internet``: the Internet edge or its devices changed: the Internet families run.

A policy that changed only because a zone gained or lost prefixes needs no more than that: the new endpoints'
flows cross the changed rules. With no snapshot (a lab never verified) the scope is everything.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from govnet.model.derived import Network
from govnet.verify.expect import endpoints

FILE = "verified.json"


@dataclass(frozen=True)
class Scope:
    devices: frozenset[str]
    endpoints: frozenset[str]
    zones: frozenset[str]
    internet: bool

    def empty(self) -> bool:
        return not (self.devices or self.endpoints or self.zones or self.internet)

    def describe(self) -> str:
        """One line: what the scope holds."""
        parts = [
            f"{len(self.devices)} device(s)" + (f" ({', '.join(sorted(self.devices))})" if self.devices else ""),
            f"{len(self.endpoints)} endpoint(s)",
            f"{len(self.zones)} zone(s) with changed policy rows",
            "the Internet edge" if self.internet else "not the Internet edge",
        ]
        return "; ".join(parts)


def _digest(text: str | None) -> str:
    return hashlib.sha256((text or "").encode()).hexdigest()[:16]


def snapshot(network: Network, configs: Mapping[str, str], policies: Mapping[str, str | None]) -> dict[str, Any]:
    """What a verify of *network* verified, as digests and names: *configs* and *policies* are every device's
    rendered config (with its secret placeholders: no secret value enters the file) and nftables ruleset (the
    command line renders them; verify does not import the renderers)."""
    rows: dict[str, set[str]] = {}
    for seg in network.segments:
        rows.setdefault(seg.zone, set()).update(
            f"{p.rule} {p.action} {p.proto} {p.dst_zone} {p.port}" for p in seg.policy
        )
    return {
        "network": network.name,
        "devices": {n: _digest(configs[n]) for n in network.devices},
        "policy": {n: _digest(policies[n]) for n in network.devices},
        "endpoints": {e.name: _digest(repr(e)) for e in endpoints(network)},
        "zones": {z: _digest("\n".join(sorted(r))) for z, r in rows.items()},
        "internet": _digest(repr(network.internet)),
    }


def changed(network: Network, now: dict[str, Any], before: dict[str, Any] | None) -> Scope:
    """The scope of the change from snapshot *before* to *now* (*network*'s); everything when there is none."""
    if before is None or before.get("network") != network.name:
        before = {}

    def differs(kind: str) -> set[str]:
        old = before.get(kind, {})
        return {k for k, v in now[kind].items() if old.get(k) != v}

    devices = differs("devices")
    eps = {e.name: e for e in endpoints(network)}
    held = {(s.site, s.name) for s in network.segments if s.device in devices}
    touched = differs("endpoints") | {n for n, e in eps.items() if (e.site, e.segment) in held}
    edge = set(network.internet.devices) if network.internet is not None else set()
    internet = before.get("internet") != now["internet"] or bool(devices & edge)
    return Scope(frozenset(devices), frozenset(touched), frozenset(differs("zones")), internet)


def load(state_dir: Path) -> dict[str, Any] | None:
    path = Path(state_dir) / FILE
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data


def record(state_dir: Path, snap: dict[str, Any]) -> None:
    """After a passing verify: what it verified (*snap*), for the next ``verify --changed``."""
    path = Path(state_dir) / FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(snap, indent=1, sort_keys=True) + "\n")
    tmp.replace(path)
