"""The verify stage: model + running network → checks.  Control plane (SSH) runs beside the data plane probes."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from govnet.lab.containers import server_containers
from govnet.model.derived import Network
from govnet.verify import control, dataplane, eservices, internet, services
from govnet.verify.dataplane import Matrix
from govnet.verify.expect import endpoints
from govnet.verify.failover import failover as run_failover
from govnet.verify.result import FAMILIES, Check
from govnet.verify.scope import Scope

#: The families checked from the emulated Internet (where the lab has one).
INTERNET_FAMILIES = {"citizen", "exposure", "egress", "isp-failover"}


@dataclass
class Outcome:
    network: Network
    checks: list[Check]
    matrix: Matrix | None
    seconds: float
    timings: dict[str, float] = field(default_factory=dict)
    internet: dict[str, Any] = field(default_factory=dict)  # the exposure matrix by class (govnet.verify.internet)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def families(self) -> dict[str, tuple[int, int]]:
        """(passed, total) per family, in the report order."""
        out: dict[str, tuple[int, int]] = {}
        for fam in FAMILIES:
            mine = [c for c in self.checks if c.family == fam]
            if mine:
                out[fam] = (sum(c.ok for c in mine), len(mine))
        return out

    def as_dict(self) -> dict[str, Any]:
        fails = [c for c in self.checks if not c.ok]
        return {
            "network": self.network.name,
            "env": self.network.env,
            "ok": self.ok,
            "seconds": round(self.seconds, 2),
            "timings": {k: round(v, 2) for k, v in self.timings.items()},
            "families": {k: {"passed": p, "total": t} for k, (p, t) in self.families().items()},
            "failures": [c.as_dict() for c in fails],
            "checks": [c.as_dict() for c in self.checks],
            "matrix": self.matrix.as_dict() if self.matrix else None,
            "failover": {c.name.split(":")[0]: c.data for c in self.checks if c.family == "failover"},
            "isp_failover": {c.data["isp"]: c.data for c in self.checks if c.family == "isp-failover" and c.data},
            "exposure": self.internet.get("exposure"),
        }


def where_of(lab: Any) -> dataplane.Where:
    """Endpoint name → (netns, address) of a running lab."""
    return {
        **{k: (v.netns, v.address) for k, v in lab.hosts.items()},
        **{k: (v.netns, v.address) for k, v in lab.servers.items()},
    }


def verify(
    network: Network,
    lab: Any,
    *,
    failover: bool = False,
    control_plane: bool = True,
    only: set[str] | None = None,
    scope: Scope | None = None,
) -> Outcome:
    """Run every check family (or ``only`` these) against the running lab; failover only when asked (it cuts
    links). With *scope* (``govnet.verify.scope``: what a change touched) each family checks only what the scope
    holds: the control plane of its devices, the matrix rows and columns of its endpoints, the flow classes of its
    zones or that its endpoints represent, its sites' traceroutes, the Internet families when the edge changed.
    Service ports are checked whole (a few probes)."""
    start = time.monotonic()
    want = set(FAMILIES) if only is None else only
    control_plane = control_plane and "control-plane" in want
    failover = failover or bool({"failover", "isp-failover"} & (only or set()))
    where = where_of(lab)
    timings: dict[str, float] = {}
    internet_data: dict[str, Any] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        t = time.monotonic()
        try:
            return fn(*args)
        finally:
            timings[name] = time.monotonic() - t

    checks: list[Check] = []
    # The families are independent and spend their time waiting on probe timeouts: they run side by side (the
    # control plane over SSH, the reachability matrix, the flow classes, the traceroutes), at most four at once.
    with ThreadPoolExecutor(max_workers=4) as bg:
        oracle = bg.submit(_import_oracle) if {"segmentation", "failover"} & want else None
        ctl = None
        if control_plane:
            mgmt = {n: d.mgmt_ip for n, d in lab.devices.items() if scope is None or n in scope.devices}
            login = (lab.username, lab.password, str(lab.known_hosts))
            ctl = bg.submit(timed, "control-plane", control.control_plane, network, mgmt, login)
        reach = None
        if "reachability" in want:
            eps = None if scope is None else scope.endpoints
            reach = bg.submit(timed, "reachability", dataplane.reachability, network, where, eps)
        real = real_servers(lab)
        seg = None
        if "segmentation" in want:
            flows = None if scope is None else (scope.endpoints, scope.zones)
            seg = bg.submit(timed, "segmentation", dataplane.segmentation, network, where, real, flows)
        trace = None
        if "traceroute" in want:
            sites = None if scope is None else {e.site for e in endpoints(network) if e.name in scope.endpoints}
            trace = bg.submit(timed, "traceroute", dataplane.traceroute_checks, network, where, sites)
        served: list[Check] = []
        if "services" in want:
            if real:
                served += timed("services", dataplane.service_checks, network, where, ("tcp",))
                served += timed("e-services", eservices.eservice_checks, network, where, lab, real)
            else:
                served += timed("services", dataplane.service_checks, network, where)
        matrix = None
        if reach is not None:
            matrix, found = reach.result()
            checks += found
        checks += served
        checks += seg.result() if seg is not None else []
        checks += trace.result() if trace is not None else []
        outer = want & INTERNET_FAMILIES and (scope is None or scope.internet)
        outside = internet.outside_of(network, lab, where, real) if outer else None
        if outside is not None:
            found_outside, internet_data = timed("internet", internet.internet_checks, outside, failover)
            checks += [c for c in found_outside if c.family in want or (c.family == "isp-failover" and failover)]
        if ctl is not None:
            checks = ctl.result() + checks
    if failover and "failover" in want:
        netns_of = {n: d.netns for n, d in lab.devices.items()}
        checks += timed("failover", run_failover, network, where, netns_of)
    if any(c.family in ("segmentation", "failover") for c in checks):
        cross_check = oracle.result() if oracle is not None else _import_oracle()
        checks += timed("oracle", cross_check, network, checks, where)
    return Outcome(network, checks, matrix, time.monotonic() - start, timings, internet_data)


def _import_oracle() -> Any:
    """The offline analysis behind the oracle's cross-check, imported while the probes wait on their timeouts."""
    from govnet.verify.oracle import cross_check

    return cross_check


def real_servers(lab: Any) -> dict[str, str]:
    """Server name → running container, for the lab's servers provisioned as containers (``make lab``); empty in
    the fast mode with stand-in listeners."""
    running = server_containers(running_only=True)
    return {name: running[ep.netns] for name, ep in lab.servers.items() if ep.netns in running}


def missing_listeners(network: Network, lab: Any) -> list[str]:
    """Servers with planned TCP/UDP services but neither a listener process nor a server container."""
    real = real_servers(lab)
    return [
        name
        for name, ep in lab.servers.items()
        if services.specs(network, name) and name not in real and services.listener_pid(ep.netns) is None
    ]
