"""Derive stage, addresses: deterministic, stable allocation from an environment's pools.

Stable means: an allocation recorded in the environment's lock file never moves while the thing it belongs to
exists. New things take the first free block of their pool in inventory order; a removed thing keeps its block
reserved ("stale") until `plan --write --prune` frees it. The lock file is the record; this module never writes it
unless asked.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Literal

import yaml

from govnet import ipfast

Status = Literal["locked", "new", "pinned", "stale", "moved"]


@dataclass(frozen=True)
class Request:
    """One thing that needs addresses: `key` names it in the lock file, `pool` says where from."""

    key: str
    pool: str
    prefixlen: int
    pinned: IPv4Network | None = None
    within: str | None = None  # allocate inside another allocation (a server inside its segment)
    reserve_first: int = 0  # leading addresses never handed out (network address, gateway)
    reserve_last: int = 0  # trailing addresses never handed out (broadcast, lab host)


@dataclass(frozen=True)
class Allocation:
    key: str
    pool: str
    prefix: IPv4Network
    status: Status


@dataclass
class Plan:
    allocations: dict[str, Allocation]
    stale: dict[str, Allocation]
    problems: list[tuple[str, str]] = field(default_factory=list)  # (request key or pool name, message)

    def prefix(self, key: str) -> IPv4Network:
        return self.allocations[key].prefix


class Space:
    """Free-space tracker of one pool: sorted, non-overlapping used intervals, first-fit aligned search."""

    def __init__(self, network: IPv4Network) -> None:
        self.network = network
        self.starts: list[int] = []
        self.ends: list[int] = []  # inclusive
        self.cursor: dict[int, int] = {}  # first-fit position never goes back within one run

    def overlaps(self, lo: int, hi: int) -> bool:
        i = bisect.bisect_right(self.starts, hi)
        return i > 0 and self.ends[i - 1] >= lo

    def use(self, lo: int, hi: int) -> None:
        i = bisect.bisect_left(self.starts, lo)
        self.starts.insert(i, lo)
        self.ends.insert(i, hi)

    def take(self, size: int, lo_bound: int, hi_bound: int) -> int | None:
        """First free block of `size` addresses (aligned to `size`) inside [lo_bound, hi_bound]."""
        pos = max(lo_bound, self.cursor.get(size, lo_bound))
        pos = -(-pos // size) * size
        while pos + size - 1 <= hi_bound:
            i = bisect.bisect_right(self.starts, pos + size - 1)
            if i > 0 and self.ends[i - 1] >= pos:
                pos = -(-(self.ends[i - 1] + 1) // size) * size
                continue
            self.cursor[size] = pos + size
            self.use(pos, pos + size - 1)
            return pos
        return None


def prefixlen_for(hosts: int, extra: int = 3) -> int:
    """Smallest prefix holding `hosts` addresses plus network, broadcast and gateway."""
    return 32 - max(2, math.ceil(math.log2(hosts + extra)))


class LockError(ValueError):
    """A lock file a person must fix: the line, and what is wrong there."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


CONFLICT_MARKERS = ("<<<<<<< ", "=======", ">>>>>>> ")


def read_lock(path: Path) -> dict[str, IPv4Network]:
    """The locked allocations; LockError (with the line) for merge-conflict markers, bad YAML or a bad entry."""
    if not path.exists():
        return {}
    text = path.read_text()
    for number, line in enumerate(text.splitlines(), 1):
        if line.startswith(CONFLICT_MARKERS) or line == "=======":
            raise LockError(
                number,
                "git merge-conflict marker: keep the allocations of both sides (a key once each), remove the markers, "
                "then run `govnet plan --write`",
            )
    try:
        data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)) or {}  # libyaml when built
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise LockError(mark.line + 1 if mark else 1, f"invalid YAML: {exc.problem or exc.context}") from None
    except yaml.YAMLError as exc:
        raise LockError(1, f"invalid YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("allocations") or {}, dict):
        raise LockError(1, "not a lock file: expected a mapping with `allocations:`")
    out = {}
    lines = lock_lines(text)
    for key, value in (data.get("allocations") or {}).items():
        try:
            out[str(key)] = IPv4Network(value)
        except (ValueError, TypeError) as exc:
            raise LockError(lines.get(str(key), 1), f"{key}: {exc}") from None
    return out


def lock_lines(text: str) -> dict[str, int]:
    """Line of every allocation in a lock file's text (the file `write_lock` writes: one `  key: prefix` a line)."""
    out: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        key, sep, _ = line.strip().partition(": ")
        if sep and line.startswith("  "):
            out.setdefault(key, number)
    return out


def write_lock(path: Path, env: str, plan: Plan, prune: bool) -> None:
    entries = {k: a.prefix for k, a in plan.allocations.items()}
    if not prune:
        entries.update({k: a.prefix for k, a in plan.stale.items()})
    body = {
        "version": 1,
        "env": env,
        "allocations": {k: str(v) for k, v in sorted(entries.items(), key=lambda kv: (kv[1], kv[0]))},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# IPAM lock for environment '{env}': written by `govnet --env {env} plan --write`.\n"
        "# Records every allocation so addresses never move; review changes like code.\n"
    )
    path.write_text("---\n" + header + yaml.safe_dump(body, sort_keys=False, width=200))


def allocate(pools: dict[str, IPv4Network], requests: Iterable[Request], lock: dict[str, IPv4Network]) -> Plan:
    """Allocate every request: pinned first, then still-valid locked entries, then new ones in request order."""
    requests = list(requests)
    spaces = {name: Space(net) for name, net in pools.items()}
    for name, net in pools.items():  # a block carved out of a bigger pool (a zone's block of `lan`) is taken there
        for outer_name, outer_net in pools.items():
            if outer_name != name and net != outer_net and net.subnet_of(outer_net):
                spaces[outer_name].use(int(net.network_address), int(net.broadcast_address))
    plan = Plan(allocations={}, stale={})
    wanted = {r.key for r in requests}
    outer = [r for r in requests if r.within is None]
    inner = [r for r in requests if r.within is not None]
    inner_kinds = {r.key.split("/")[0] for r in inner} | {"server"}
    stale = {k: p for k, p in lock.items() if k not in wanted}
    for key, prefix in stale.items():
        pool = next((n for n, net in pools.items() if prefix.subnet_of(net)), "?")
        plan.stale[key] = Allocation(key, pool, prefix, "stale")
        if pool in spaces and key.split("/")[0] not in inner_kinds:
            spaces[pool].use(int(prefix.network_address), int(prefix.broadcast_address))
    _place(plan, spaces, pools, outer, lock)
    # Inner requests (addresses inside segments) get one space per containing allocation.
    for parent in {r.within for r in inner if r.within}:
        if parent in plan.allocations:
            space = spaces[parent] = Space(plan.allocations[parent].prefix)
            for key, prefix in stale.items():
                if key.split("/")[0] in inner_kinds and prefix.subnet_of(space.network):
                    space.use(int(prefix.network_address), int(prefix.broadcast_address))
    _place(plan, spaces, {k: s.network for k, s in spaces.items()}, inner, lock)
    return plan


def _bounds(space: Space, req: Request) -> tuple[int, int]:
    base = int(space.network.network_address)
    return base + req.reserve_first, int(space.network.broadcast_address) - req.reserve_last


def _fits(prefix: IPv4Network, req: Request, space: Space) -> bool:
    lo, hi = _bounds(space, req)
    return (
        prefix.prefixlen == req.prefixlen and int(prefix.network_address) >= lo and int(prefix.broadcast_address) <= hi
    )


def _place(
    plan: Plan,
    spaces: dict[str, Space],
    pools: dict[str, IPv4Network],
    requests: list[Request],
    lock: dict[str, IPv4Network],
) -> None:
    pending: list[tuple[Request, Status]] = []
    for req in requests:
        pool = req.within or req.pool
        space = spaces.get(pool)
        if space is None:
            continue
        if req.pinned is not None:
            _claim(plan, space, req, req.pinned, "pinned")
        elif req.key in lock and _fits(lock[req.key], req, space):
            continue  # placed in the second pass, after pinned ones reserved their space
        else:
            pending.append((req, "moved" if req.key in lock else "new"))
    # Locked entries before new ones: an old address never loses its place to a newcomer.
    for req in requests:
        if req.pinned is None and req.key in lock:
            space = spaces.get(req.within or req.pool)
            if space is not None and _fits(lock[req.key], req, space):
                _claim(plan, space, req, lock[req.key], "locked")
    # A locked prefix that no longer fits its request (size or pool changed) is freed and the request moves.
    for req, status in pending:
        space = spaces[req.within or req.pool]
        size = 2 ** (32 - req.prefixlen)
        lo, hi = _bounds(space, req)
        start = space.take(size, lo, hi)
        if start is None:
            plan.problems.append(
                (
                    req.key,
                    f"pool '{req.pool}' {pools.get(req.pool, space.network)} is exhausted: "
                    f"no free /{req.prefixlen} for {req.key}",
                )
            )
            continue
        prefix = ipfast.network(start, req.prefixlen)
        plan.allocations[req.key] = Allocation(req.key, req.pool, prefix, status)


def _claim(plan: Plan, space: Space, req: Request, prefix: IPv4Network, status: Status) -> None:
    lo, hi = int(prefix.network_address), int(prefix.broadcast_address)
    if not prefix.subnet_of(space.network):
        plan.problems.append(
            (req.key, f"pinned {prefix} is outside {req.within or 'pool ' + req.pool} {space.network}")
        )
        return
    if space.overlaps(lo, hi):
        other = next(
            (a.key for a in plan.allocations.values() if a.prefix.overlaps(prefix) and a.pool == req.pool),
            "another",
        )
        plan.problems.append((req.key, f"{status} {prefix} overlaps {other}"))
        return
    space.use(lo, hi)
    plan.allocations[req.key] = Allocation(req.key, req.pool, prefix, status)


def host(prefix: IPv4Network, offset: int) -> IPv4Address:
    """Address at `offset` from the start of `prefix` (negative: from the end)."""
    base = int(prefix.network_address) if offset >= 0 else int(prefix.broadcast_address) + 1
    return IPv4Address(base + offset)
