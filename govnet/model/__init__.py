"""The governorate model: load → validate → derive. The only code that reads inventory YAML.

    network = load_network(Path("inventory/karbala"), env="lab")

raises `InventoryError` listing every problem as `file:line: where: what`.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from govnet import ipam
from govnet.model import derived
from govnet.model.checks import hardware, run_checks
from govnet.model.derive import Deriver, known_platforms, requests
from govnet.model.derived import Network
from govnet.model.errors import InventoryError, Problem, loc_text
from govnet.model.loader import dump_inventory, load_inventory
from govnet.model.platform import load_platform
from govnet.model.schema import Inventory
from govnet.model.yamlsrc import Loc, Source

__all__ = [
    "Built",
    "Inventory",
    "InventoryError",
    "Network",
    "Problem",
    "build",
    "derived",
    "dump_inventory",
    "load_inventory",
    "load_network",
    "lock_path",
]


@dataclass(frozen=True)
class Built:
    inventory: Inventory
    plan: ipam.Plan
    network: Network
    lock: Path


def lock_path(directory: Path, env: str) -> Path:
    return directory / "ipam" / f"{env}.lock.yml"


def _problems(source: Source, found: list[tuple[Loc, str]]) -> list[Problem]:
    return [Problem(*source.where(loc), loc_text(loc), what) for loc, what in found]


#: From this many objects a build leaves behind, they are frozen (gc.freeze) rather than handed to the collector.
FREEZE_FROM = 100_000


@contextmanager
def _no_gc_pauses() -> Iterator[None]:
    """Building allocates millions of small acyclic objects (models, tuples, addresses) that reference counting
    frees; the cycle collector's full passes over them took half of a national build's CPU. Off while building.

    A large model (a national one leaves about 850,000 objects) is then frozen: it lives as long as the command
    that built it, and the collector's first pass over it once enabled again took 0.18 s of a 2.2 s national
    pipeline, each later pass as much. A small one (Karbala: about 5,000) stays with the collector, so a process
    that builds many (the tests) keeps freeing what they leave. A failed build is never frozen."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    except BaseException:
        if was:
            gc.enable()
        raise
    if was:
        if gc.get_count()[0] >= FREEZE_FROM:
            gc.freeze()
        gc.enable()


def build(directory: Path, env: str = "lab") -> Built:
    """Load, validate and derive; raise InventoryError with every problem found."""
    with _no_gc_pauses():
        return _build(directory, env)


def _build(directory: Path, env: str) -> Built:
    inventory, source = load_inventory(directory)
    if env not in inventory.environments:
        known = ", ".join(inventory.environments)
        file, line = source.where(("environments",))
        raise InventoryError([Problem(file, line, "environments", f"no environment '{env}' (known: {known})")])
    found = run_checks(inventory, known_platforms())
    if not found:
        found = list(hardware(inventory, env, load_platform(inventory.environments[env].platform)))
    if found:
        raise InventoryError(_problems(source, found))
    lock = lock_path(directory, env)
    try:
        locked = ipam.read_lock(lock)
    except ipam.LockError as exc:
        raise InventoryError([Problem(str(lock), exc.line, "lock", str(exc))]) from None
    except OSError as exc:
        raise InventoryError([Problem(str(lock), 1, "lock", f"unreadable IPAM lock file: {exc.strerror}")]) from None
    reqs = list(requests(inventory, env))
    plan = ipam.allocate(inventory.environments[env].pools.flat(), (r for r, _ in reqs), locked)
    if plan.problems:
        at_lock = _lock_problems(lock, plan.problems)
        if at_lock:
            raise InventoryError(at_lock)
        where = {r.key: loc for r, loc in reqs}
        found = []
        for key, what in plan.problems:
            loc = where.get(key, ("environments", env, "pools"))
            req = next((r for r, _ in reqs if r.key == key), None)
            if "exhausted" in what and req is not None:
                loc = ("environments", env, "pools", req.pool)
            elif req is not None and req.pinned is not None:
                loc = (*loc, "address" if req.within else "prefix", env)
            found.append((loc, what))
        raise InventoryError(_problems(source, found))
    vault = directory.absolute().parent / "group_vars" / f"env_{env}" / "vault.yml"  # the Ansible inventory's
    network = Deriver(inventory, env, plan, vault).network()
    found = list(_derived_checks(network, {r.key: loc for r, loc in reqs}))
    if found:
        raise InventoryError(_problems(source, found))
    return Built(inventory, plan, network, lock)


def _lock_problems(lock: Path, problems: list[tuple[str, str]]) -> list[Problem]:
    """A locked allocation on top of another is an edit of the lock file: report it at the lock lines to fix."""
    lines = ipam.lock_lines(lock.read_text()) if lock.exists() else {}
    out = []
    for key, what in problems:
        status, _, rest = what.partition(" ")
        if status != "locked" or key not in lines:
            continue
        prefix, _, other = rest.partition(" overlaps ")
        there = f" (line {lines[other]})" if other in lines else "" if other == "another" else " (pinned)"
        out.append(
            Problem(
                str(lock),
                lines[key],
                "lock",
                f"{key}: {prefix} overlaps {other}{there}; a lock entry was edited: put it back (git diff), "
                "or delete the wrong line and run `govnet plan --write`",
            )
        )
    return out


def _derived_checks(network: Network, where: dict[str, Loc]) -> list[tuple[Loc, str]]:
    counts = Counter(dev.router_id for dev in network.devices.values())
    found: list[tuple[Loc, str]] = [
        (where[f"loopback/{dev.name}"], f"router ID {dev.router_id} of {dev.name} is used by another device")
        for dev in network.devices.values()
        if counts[dev.router_id] > 1
    ]
    return found + list(_aaa_checks(network))


def _aaa_checks(network: Network) -> list[tuple[Loc, str]]:
    """AAA servers where the platform renders AAA: inside a DC segment, on no address IPAM gives a server."""
    env = network.env
    if "aaa" not in network.features:
        return []
    if not network.tacacs_servers:
        return [
            (("environments", env), f"{env}: platform {network.platform} renders AAA: aaa.tacacs_servers is required")
        ]
    dc = [s for s in network.segments if network.sites[s.site].kind == "datacentre"]
    taken = {srv.address.ip: srv.name for srv in network.servers}
    found: list[tuple[Loc, str]] = []
    for k, (name, address) in enumerate(network.tacacs_servers):
        loc = ("environments", env, "aaa", "tacacs_servers", k, "address")
        segment = next((s for s in dc if address in s.prefix), None)
        if segment is None:
            found.append((loc, f"TACACS+ server {name} {address} is in no data-centre segment"))
        elif address in (segment.prefix.network_address, segment.gateway.ip, segment.prefix.broadcast_address):
            found.append(
                (loc, f"TACACS+ server {name} {address} is the network, gateway or broadcast of {segment.key}")
            )
        elif address in taken:
            found.append((loc, f"TACACS+ server {name} {address} is the address of server {taken[address]}"))
    return found


def load_network(directory: Path, env: str = "lab") -> Network:
    """The addressed model of one environment (the entry point every later stage uses)."""
    return build(Path(directory), env).network
