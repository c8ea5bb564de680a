"""Failover drill: cut each dual-homed department's primary uplink, time the way back to the DC, restore.

The cut is ``ip link set down`` on the edge router's interface (both OSPF ends see the carrier go), the clock runs
until a department host's ping to a DC server is answered again and a traceroute shows the other core; after the
link comes back up, until the path crosses the primary core again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from govnet.lab.icmp import ping_many
from govnet.lab.nsexec import run
from govnet.model.derived import Network
from govnet.verify.dataplane import Where, core_on_path, path_target, traceroute
from govnet.verify.expect import dual_homed, primary_core
from govnet.verify.result import Check

STEP = 0.05


def until(predicate: Callable[[], bool], timeout: float, step: float = STEP) -> float | None:
    """Seconds until ``predicate()`` holds, polled every ``step``; None after ``timeout``."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if predicate():
            return time.monotonic() - start
        time.sleep(step)
    return None


def drill(network: Network, where: Where, site: str, netns_of: dict[str, str], timeout: float = 30) -> Check:
    """One department: cut, measure, confirm the backup core, restore, confirm the primary again."""
    plan = primary_core(network, site)
    if plan is None:
        return Check("failover", f"{site}: cut the primary uplink", False, "no path to the DC via a core")
    edge, iface, cores = plan
    pair = path_target(network, site, where)
    name = f"{site}: cut {edge} {iface} (to {cores[0]}), reach the DC via {cores[1]}"
    if pair is None:
        return Check("failover", name, False, "no department host may ping a DC server")
    ns, addr = where[pair[0].name][0], where[pair[1].name][1]
    dev_ns = netns_of[edge]

    def reach() -> bool:
        return bool(ping_many([(ns, addr)], timeout=0.2))

    def via(core: str) -> bool:
        return core_on_path(network, traceroute(ns, addr, max_hops=8), cores) == core

    if not reach() or not via(cores[0]):
        return Check("failover", name, False, "before the cut the department does not reach the DC via its primary")
    start = time.monotonic()
    run(["ip", "-n", dev_ns, "link", "set", iface, "down"])
    try:
        until(reach, timeout)
        backup = until(lambda: reach() and via(cores[1]), timeout)
        seconds = time.monotonic() - start if backup is not None else None
    finally:
        run(["ip", "-n", dev_ns, "link", "set", iface, "up"])
    back_start = time.monotonic()
    back = until(lambda: via(cores[0]) and reach(), timeout)
    data = {
        "edge": edge,
        "interface": iface,
        "primary": cores[0],
        "backup": cores[1],
        "seconds": None if seconds is None else round(seconds, 2),
        "back_seconds": None if back is None else round(time.monotonic() - back_start, 2),
        "dead_interval": network.ospf_dead,
    }
    if seconds is None:
        return Check("failover", name, False, f"no path via {cores[1]} within {timeout:.0f} s", data)
    if back is None:
        return Check("failover", name, False, f"not back via {cores[0]} within {timeout:.0f} s of restoring", data)
    detail = f"{seconds:.2f} s to {cores[1]}, back via {cores[0]} in {data['back_seconds']:.2f} s"
    return Check("failover", name, True, detail, data)


def failover(network: Network, where: Where, netns_of: dict[str, str]) -> list[Check]:
    """Every dual-homed department, one at a time (each drill must see a quiet network)."""
    return [drill(network, where, site, netns_of) for site in dual_homed(network)]
