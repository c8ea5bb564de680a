"""The hardening drills on the deployed Karbala lab (the session's ``deployed`` fixture, shared with test_verify):
a rogue router with a wrong or missing OSPF key, a silent link cut with and without BFD, a key rotation.

Each drill removes what it added; the loss windows are figures for bench/bfd_bench.py, here only compared.
"""

from __future__ import annotations

import itertools
import time
from typing import Any

import pytest

from govnet.lab import drills
from govnet.lab.nsexec import ping, vtysh
from govnet.lab.state import Lab
from govnet.render import secrets_from_env
from govnet.verify.expect import dual_homed, primary_core

pytestmark = pytest.mark.lab


def primary_link(lab: Lab, site: str) -> drills.Cut:
    """The routed link a dual-homed department's traffic to the DC leaves by (OSPF's choice, from the graph)."""
    plan = primary_core(lab.network, site)
    assert plan is not None and len(plan[2]) > 1, f"{site} has no redundant path to the DC"
    return drills.link_at(lab, plan[0], plan[1])


def site_and_pair(lab: Lab) -> tuple[str, drills.Cut, str, str]:
    """A dual-homed department, its primary link, one of its hosts and a DC server it pings."""
    net = lab.network
    site = dual_homed(net)[0]
    link = primary_link(lab, site)
    host = next(h.name for h in net.hosts if h.site == site)
    server = next(s.name for s in net.servers if ping(lab.hosts[host].netns, lab.servers[s.name].address))
    return site, link, host, server


# --------------------------------------------------------------------------------------------- rogue router


def test_rogue_router_with_a_wrong_or_no_key_forms_no_adjacency_and_injects_no_route(deployed: Lab) -> None:
    _, link, _, _ = site_and_pair(deployed)
    net = deployed.network
    prefix = str(drills.ROGUE_PREFIX)
    assert drills.routers_with(deployed, prefix) == []
    watch = net.ospf_dead + 1  # several hellos, and past the dead interval
    with drills.rogue_router(deployed, link.device, auth="wrong") as rogue:
        for auth in ("wrong", "none"):
            if auth != "wrong":
                rogue.set_auth(auth)
            seen: list[Any] = []
            deadline = time.monotonic() + watch
            while time.monotonic() < deadline:
                seen += [e for e in rogue.adjacency() if e]
                time.sleep(0.3)
            assert seen == [], f"{auth} key: an adjacency started: {seen[:2]}"
            assert drills.routers_with(deployed, prefix) == [], f"{auth} key: the rogue's prefix was learned"
        # positive control: the department's own key makes the same rogue a neighbour and its prefix spreads
        rogue.set_auth("right")
        assert drills.wait_until(lambda: all(drills.is_full(e) for e in rogue.adjacency()), 30), rogue.adjacency()
        everyone = {d.instance for d in deployed.devices.values() if drills.ospf_neighbours(d.instance)}
        assert drills.wait_until(lambda: set(drills.routers_with(deployed, prefix)) >= everyone, 30)
    # nothing of the rogue is left, and its prefix is withdrawn
    assert drills.wait_until(lambda: drills.routers_with(deployed, prefix) == [], 30)
    assert drills.VICTIM_IF not in vtysh(deployed.devices[link.device].instance, "show running-config")
    assert not (drills.nsexec.FRR_ETC / drills.ROGUE).exists()


# --------------------------------------------------------------------------------------------- link cut


def test_a_silent_link_cut_with_bfd_loses_far_less_traffic_than_ospf_alone(deployed: Lab) -> None:
    net = deployed.network
    _, link, host, server = site_and_pair(deployed)
    assert drills.bfd_up(deployed, link) and drills.uses(deployed, link.device, link.interface,
                                                        deployed.servers[server].address)  # fmt: skip
    with_bfd = drills.loss_window(deployed, link, host, server, seconds=3)
    drills.restore(deployed, link, server)
    drills.set_bfd(deployed, link, on=False)
    try:
        drills.wait_until(lambda: not drills.bfd_up(deployed, link), 5)
        ospf_only = drills.loss_window(deployed, link, host, server, seconds=2 * net.ospf_dead + 3)
    finally:
        drills.mend(deployed, link.device)
        drills.set_bfd(deployed, link, on=True)
    drills.restore(deployed, link, server)
    assert 0 < with_bfd < ospf_only / 2, f"loss window with BFD {with_bfd} s, OSPF alone {ospf_only} s"
    assert ospf_only >= net.ospf_dead / 2  # the cut was silent: only the dead timer noticed it


# --------------------------------------------------------------------------------------------- key rotation


def test_ospf_key_rotation_with_two_keys_drops_no_adjacency(deployed: Lab) -> None:
    net = deployed.network
    _, link, _, _ = site_and_pair(deployed)
    current = (1, secrets_from_env(network=net)["ospf_key"])
    new = (2, "drill-rotated-2")
    start = drills.adjacency_uptime(deployed, link)
    assert start is not None and min(start) > 0, "no adjacency uptime to watch"
    samples: list[tuple[float, float] | None] = []

    def watch(seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            samples.append(drills.adjacency_uptime(deployed, link))
            time.sleep(0.2)

    try:
        drills.rotate_ospf_key(deployed, link, current, new)
        assert drills.running_keys(deployed, link.device, link.interface) == [
            f"ip ospf message-digest-key 2 md5 {new[1]}"
        ]
        watch(net.ospf_dead + 1)  # past the dead interval: both ends now sign and accept key 2 only
    finally:
        drills.rotate_ospf_key(deployed, link, new, current)  # back to the rendered key, the same way
    watch(net.ospf_dead + 1)
    assert None not in samples, "the adjacency left Full during the rotation"
    ups = [s[0] for s in samples if s]
    assert ups[0] >= start[0] and all(b >= a for a, b in itertools.pairwise(ups)), "the adjacency restarted"
    assert drills.running_keys(deployed, link.device, link.interface) == [
        f"ip ospf message-digest-key 1 md5 {current[1]}"
    ]


def bgp_session(instance: str, peer: str) -> dict[str, Any]:
    return drills._vtysh_json(instance, f"show bgp neighbors {peer} json").get(peer, {})


def test_a_bgp_password_change_resets_the_session_once_and_it_comes_back(deployed: Lab) -> None:
    """What FRR and Linux do (docs/deploy.md, key rotation): TCP-MD5 has one key per peer, so a new password resets
    the session; changed at both ends it is Established again, and the department's other session stays up."""
    net = deployed.network
    _, link, _, _ = site_and_pair(deployed)
    edge = net.devices[link.device]
    peers = list(edge.bgp_neighbors)
    assert len(peers) >= 2, "a dual-homed department peers with both cores"
    one, other = peers[0], peers[1]
    inst = deployed.devices[edge.name].instance
    far = deployed.devices[one.name].instance
    before = bgp_session(inst, str(one.address))
    other_up = bgp_session(inst, str(other.address)).get("bgpTimerUpMsec", 0)
    assert before.get("bgpState") == "Established"
    old = secrets_from_env(network=net)["bgp_key"]

    def set_password(value: str) -> None:
        for instance, peer in ((inst, one.address), (far, edge.loopback.ip)):
            vtysh(instance, "configure terminal", f"router bgp {net.asn}", f"neighbor {peer} password {value}")

    try:
        set_password("drill-bgp-2")
        assert drills.wait_until(lambda: bgp_session(inst, str(one.address)).get("bgpState") == "Established"
                                 and bgp_session(inst, str(one.address)).get("connectionsEstablished", 0)
                                 > before.get("connectionsEstablished", 0), 60)  # fmt: skip
    finally:
        set_password(old)
    assert drills.wait_until(lambda: bgp_session(inst, str(one.address)).get("bgpState") == "Established", 60)
    assert bgp_session(inst, str(other.address)).get("bgpTimerUpMsec", 0) > other_up  # never reset
