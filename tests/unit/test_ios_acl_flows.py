"""The rendered production ACLs implement the zone policy on a stateless filter, flow by flow.

Every verdict here comes from the *rendered IOS text* (govnet.analyze.ios_acl), on the device holding the
segment a packet enters, never from the model's ACL entries.  The expected verdicts come from the policy itself
(`Network.rules`, first match wins, default deny), evaluated here independently of the template and of
govnet.stateless.

Stateless contract (docs/design.md, "Stateless IOS ACLs"): a packet a segment's host sends passes its SVI ACL
iff the policy lets that zone start it as a new flow, or it is the reply to a flow the destination's zone may
start: TCP with ACK/RST from the service port, UDP from a request/response service's port (not syslog or traps;
for an any-service allow only from ports below 1024), ICMP echo-reply and unreachable.
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Address
from pathlib import Path

import pytest

from govnet.analyze.ios_acl import Config, Entry, Packet, Verdict, icmp, parse_config, tcp, udp
from govnet.model import load_network
from govnet.model.derived import Segment, Service
from govnet.render import render_device

ROOT = Path(__file__).resolve().parents[2]
NET = load_network(ROOT / "inventory" / "karbala", "production")
CONFIGS: dict[str, Config] = {d: parse_config(render_device(NET, d)) for d in sorted({s.device for s in NET.segments})}
BY_ZONE: dict[str, list[Segment]] = {z: [s for s in NET.segments if s.zone == z] for z in NET.zones}
DEPARTMENT_ZONES = ("local-admin", "service", "security", "management")
EPHEMERAL = 51515
ONE_WAY_UDP = (514, 162)
# Concrete probes for an any-service rule: a TCP service, a UDP one answering from a well-known port, ping.
ANY_PROBES = (Service("tcp", 22), Service("udp", 161), Service("icmp"))


def host(seg: Segment) -> IPv4Address:
    """A host address in the segment (the last usable one: never the gateway)."""
    return seg.prefix[-2]


def policy(src: str, dst: str, svc: Service) -> tuple[bool, Service | None]:
    """First-match verdict of the zone policy for a new flow, and the rule service that decided it."""
    for rule in NET.rules:
        if (rule.src, rule.dst) != (src, dst):
            continue
        for listed in rule.services:
            if listed.proto == "any" or (listed.proto == svc.proto and listed.port in (None, svc.port)):
                return rule.action == "allow", listed
    return False, None


def opening(svc: Service, src: IPv4Address, dst: IPv4Address) -> Packet:
    """The first packet of a new flow: TCP SYN, a UDP request, an ICMP echo."""
    if svc.proto == "tcp":
        return tcp(src, dst, EPHEMERAL, svc.port or 0, "syn")
    if svc.proto == "udp":
        return udp(src, dst, EPHEMERAL, svc.port or 0)
    return icmp(src, dst, "echo")


def answer(svc: Service, server: IPv4Address, client: IPv4Address) -> Packet:
    """The server's reply: TCP ACK from the service port, UDP from the service port, ICMP echo-reply."""
    if svc.proto == "tcp":
        return tcp(server, client, svc.port or 0, EPHEMERAL, "ack")
    if svc.proto == "udp":
        return udp(server, client, svc.port or 0, EPHEMERAL)
    return icmp(server, client, "echo-reply")


def reply_needed(svc: Service, decided_by: Service) -> bool:
    """Does the stateless contract promise a return path for this allowed flow?"""
    if svc.proto != "udp":
        return True
    if decided_by.proto == "any":
        return (svc.port or 0) < 1024
    return svc.port not in ONE_WAY_UDP


def judge(pkt: Packet) -> Verdict:
    """The verdict of the inbound ACL on the SVI the packet enters (device found from the model's segment,
    interface and ACL from the rendered text)."""
    seg = next(s for s in NET.segments if pkt.src in s.prefix)
    iface, verdict = CONFIGS[seg.device].inbound(pkt)
    assert iface is not None and verdict is not None, f"{pkt.src}: no filtered interface on {seg.device}"
    return verdict


def pairs(src_zone: str, dst_zone: str) -> Iterator[tuple[Segment, Segment]]:
    """Every (source segment, destination segment) of two zones; a segment to itself is bridged, not filtered."""
    for a in BY_ZONE[src_zone]:
        for b in BY_ZONE[dst_zone]:
            if a != b:
                yield a, b


def show(pkt: Packet) -> str:
    ports = f":{pkt.sport}->{pkt.dst}:{pkt.dport}" if pkt.sport is not None else f"->{pkt.dst}"
    extra = f" {','.join(sorted(pkt.flags))}" if pkt.flags else f" type {pkt.icmp_type}" if pkt.proto == "icmp" else ""
    return f"{pkt.proto} {pkt.src}{ports}{extra}"


# ---------------------------------------------------------------------------------------- every flow class


def flow_classes() -> Iterator[tuple[str, str, Service]]:
    seen = set()
    for rule in NET.rules:
        for svc in rule.services:
            if (rule.src, rule.dst, svc) not in seen:
                seen.add((rule.src, rule.dst, svc))
                yield rule.src, rule.dst, svc


FLOWS = list(flow_classes())


@pytest.mark.parametrize(("src_zone", "dst_zone", "svc"), FLOWS, ids=[f"{a}->{b} {s}" for a, b, s in FLOWS])
def test_flow_class(src_zone: str, dst_zone: str, svc: Service) -> None:
    """The opening packet passes the source segment's ACL iff the policy allows it (first match); for an allowed
    flow the reply passes the destination segment's ACL, from every segment of the zone to every other."""
    wrong = []
    for probe in ANY_PROBES if svc.proto == "any" else (svc,):
        allowed, decided_by = policy(src_zone, dst_zone, probe)
        for a, b in pairs(src_zone, dst_zone):
            pkt = opening(probe, host(a), host(b))
            verdict = judge(pkt)
            if verdict.permitted != allowed:
                wrong.append(f"{a.key} -> {b.key} {probe}: {show(pkt)} {verdict.line!r}, policy allowed={allowed}")
            if allowed and decided_by is not None and reply_needed(probe, decided_by):
                back = answer(probe, host(b), host(a))
                reply = judge(back)
                if not reply.permitted:
                    wrong.append(f"reply {b.key} -> {a.key} {probe}: {show(back)} {reply.line!r}")
    assert not wrong, "\n".join(wrong[:20])


# ---------------------------------------------------------------------------------------- the systematic matrix

SERVICES = sorted({s for r in NET.rules for s in r.services if s.proto != "any"}, key=str)
UNLISTED = [Service("tcp", 9999), Service("udp", 9999)]
ZONE_PAIRS = [(a, b) for a in NET.zones for b in NET.zones if BY_ZONE[a] and BY_ZONE[b]]


@pytest.mark.parametrize(("src_zone", "dst_zone"), ZONE_PAIRS, ids=[f"{a}->{b}" for a, b in ZONE_PAIRS])
def test_matrix_matches_first_match_policy(src_zone: str, dst_zone: str) -> None:
    """Every zone pair x every service of the policy (and an unlisted port): the opening packet's verdict is the
    policy's, and a reply-shaped packet back passes iff it answers an allowed flow or is itself allowed."""
    pair = next(pairs(src_zone, dst_zone), None)
    if pair is None:
        return  # a zone of one segment, to itself: bridged
    a, b = pair
    wrong = []
    for svc in [*SERVICES, *UNLISTED]:
        allowed, decided_by = policy(src_zone, dst_zone, svc)
        pkt = opening(svc, host(a), host(b))
        if judge(pkt).permitted != allowed:
            wrong.append(f"new {svc}: {show(pkt)} -> {judge(pkt).line!r}, policy allowed={allowed}")
        back = answer(svc, host(b), host(a))
        as_reply = allowed and decided_by is not None and reply_needed(svc, decided_by)
        reverse = Service(svc.proto, EPHEMERAL) if svc.proto != "icmp" else svc
        as_new, _ = policy(dst_zone, src_zone, reverse)
        if judge(back).permitted != (as_reply or as_new):
            wrong.append(f"reply {svc}: {show(back)} -> {judge(back).line!r}, expected {as_reply or as_new}")
    assert not wrong, "\n".join(wrong)


# ---------------------------------------------------------------------------------------- named cases


def server(name: str) -> IPv4Address:
    return NET.server(name).address.ip


@pytest.mark.parametrize("zone", DEPARTMENT_ZONES)
def test_dns_and_ntp_replies_reach_every_department_segment(zone: str) -> None:
    for seg in BY_ZONE[zone]:
        client = host(seg)
        for dns in ("dns1", "dns2"):
            assert judge(udp(server(dns), client, 53, EPHEMERAL)).permitted, (dns, seg.key)
        assert judge(udp(server("ntp1"), client, 123, EPHEMERAL)).permitted, seg.key
        assert judge(udp(server("ntp1"), client, 123, 123)).permitted, seg.key  # ntpd/chrony as source 123
        assert not judge(udp(server("ntp1"), client, 123, 53)).permitted, seg.key  # not to its services


def test_syslog_needs_no_return() -> None:
    for seg in BY_ZONE["management"]:
        assert judge(udp(host(seg), server("log1"), EPHEMERAL, 514)).permitted
        assert not judge(udp(server("log1"), host(seg), 514, EPHEMERAL)).permitted, seg.key


LEAKS = [
    *(tcp("0.0.0.0", "0.0.0.0", port, EPHEMERAL, f) for port in (22, 53, 80, 443, 5432, 8443) for f in ("ack", "rst")),
    *(udp("0.0.0.0", "0.0.0.0", port, EPHEMERAL) for port in (53, 123, 161)),
    udp("0.0.0.0", "0.0.0.0", 123, 123),
    icmp("0.0.0.0", "0.0.0.0", "echo-reply"),
    icmp("0.0.0.0", "0.0.0.0", "port-unreachable"),
]  # fmt: skip
NOTHING_BACK = [("service", "security"), ("local-admin", "security"), *((z, "dc-db") for z in DEPARTMENT_ZONES)]


@pytest.mark.parametrize(("src_zone", "dst_zone"), NOTHING_BACK, ids=[f"{a}->{b}" for a, b in NOTHING_BACK])
def test_reply_shaped_packets_do_not_leak(src_zone: str, dst_zone: str) -> None:
    """Where the destination zone may start nothing towards the source zone, nothing reply-shaped passes: no
    ACK/RST from a service port, no UDP from a service port, no echo-reply or ICMP error."""
    assert not any(policy(dst_zone, src_zone, s)[0] for s in [*SERVICES, *ANY_PROBES])
    for a, b in pairs(src_zone, dst_zone):
        for shape in LEAKS:
            pkt = Packet(host(a), host(b), shape.proto, shape.sport, shape.dport, shape.flags, shape.icmp_type)
            verdict = judge(pkt)
            assert not verdict.permitted, f"{a.key} -> {b.key}: {show(pkt)} passed by {verdict.line!r}"


def test_named_leaks() -> None:
    security, service, db = host(BY_ZONE["security"][0]), host(BY_ZONE["service"][0]), server("db1")
    assert not judge(tcp(service, security, 443, EPHEMERAL, "ack")).permitted  # service -> security ACK
    assert not judge(icmp(service, security, "echo-reply")).permitted  # echo-reply into security
    for zone in DEPARTMENT_ZONES:
        assert not judge(tcp(host(BY_ZONE[zone][0]), db, EPHEMERAL, 5432, "ack")).permitted, zone  # ACK to dc-db


def test_database_answers_only_the_apps() -> None:
    db, app, dmz = server("db1"), server("app1"), server("portal1")
    assert judge(tcp(app, db, EPHEMERAL, 5432, "syn")).permitted
    assert judge(tcp(db, app, 5432, EPHEMERAL, "ack")).permitted
    assert not judge(tcp(db, dmz, 5432, EPHEMERAL, "ack")).permitted
    assert not judge(tcp(db, app, 5433, EPHEMERAL, "ack")).permitted  # only from the service port
    assert not judge(tcp(db, app, 5432, EPHEMERAL, "syn")).permitted  # the database cannot open to the apps


# ---------------------------------------------------------------------------------------- not zone flows


def test_every_segment_reaches_its_own_gateway_by_icmp_only() -> None:
    for seg in NET.segments:
        gw = seg.gateway.ip
        assert judge(icmp(host(seg), gw, "echo")).permitted, seg.key
        assert judge(icmp(host(seg), gw, "echo-reply")).permitted, seg.key
        # the gateway is in the segment's zone: only a zone allowed to reach itself may SSH to it
        ssh = judge(tcp(host(seg), gw, EPHEMERAL, 22, "syn")).permitted
        assert ssh == policy(seg.zone, seg.zone, Service("tcp", 22))[0], seg.key


def test_network_devices_get_answers_from_their_servers_on_their_loopbacks() -> None:
    """The devices source NTP, DNS and TACACS+ from their loopbacks: the answers pass, to loopbacks only."""
    loopbacks = [NET.devices[d].loopback.ip for d in ("core1", "dc-sw1", "police-sw1")]
    tacacs = [address for _, address in NET.tacacs_servers]
    assert tacacs and all(any(a in s.prefix for s in NET.segments) for a in tacacs)
    for device in loopbacks:
        assert judge(udp(server("ntp1"), device, 123, 123)).permitted, device
        for dns in NET.dns_servers:
            assert judge(udp(dns, device, 53, 55000)).permitted, device
        for ise in tacacs:
            assert judge(tcp(ise, device, 49, 40000, "ack")).permitted, device
            assert not judge(tcp(ise, device, 49, 40000, "syn")).permitted, device
    link = NET.devices["core1"].p2p[0].address.ip
    assert not judge(udp(server("ntp1"), link, 123, 123)).permitted  # not sourced there: not let back there
    assert not judge(udp(server("mon1"), loopbacks[0], 123, 123)).permitted  # only the NTP server answers NTP
    assert not judge(udp(server("ntp1"), loopbacks[0], 123, 22)).permitted


def test_monitoring_polls_the_devices() -> None:
    loopback = NET.devices["core1"].loopback.ip
    for mon in NET.monitoring_servers:
        assert judge(udp(mon, loopback, EPHEMERAL, 161)).permitted
        assert judge(icmp(mon, loopback, "echo")).permitted
        assert not judge(tcp(mon, loopback, EPHEMERAL, 22, "syn")).permitted
    assert not judge(udp(server("log1"), loopback, EPHEMERAL, 161)).permitted  # only the monitoring servers


def test_dc_management_reaches_the_devices_and_nobody_else_does() -> None:
    jump, loopback = server("jump1"), NET.devices["core1"].loopback.ip
    assert judge(tcp(jump, loopback, EPHEMERAL, 22, "syn")).permitted
    assert judge(icmp(jump, loopback, "echo")).permitted
    assert not judge(tcp(jump, loopback, EPHEMERAL, 23, "syn")).permitted
    for zone in DEPARTMENT_ZONES:
        assert not judge(tcp(host(BY_ZONE[zone][0]), loopback, EPHEMERAL, 22, "syn")).permitted, zone


# ---------------------------------------------------------------------------------------- ACL hygiene


@pytest.mark.parametrize("device", sorted(CONFIGS))
def test_no_entry_is_shadowed(device: str) -> None:
    """No entry is matched in full by an earlier one (it would be dead, or contradict what it seems to say)."""
    dead = [(acl.name, a.seq, b.seq) for acl in CONFIGS[device].acls.values() for a, b in acl.shadowed()]
    assert not dead


def narrow(entry: Entry) -> bool:
    """Cannot start a flow to a zone: a source port, established, an ICMP type, or aimed at a host/the devices."""
    to_devices = entry.dst.text.startswith("host ") or entry.dst.text == "object-group NET-DEVICES"
    return entry.icmp is not None or entry.established or entry.sport is not None or to_devices


@pytest.mark.parametrize("device", sorted(CONFIGS))
def test_no_generic_permit_before_a_deny(device: str) -> None:
    """Entries before the policy section are narrow; the policy section keeps the policy's order; the last
    entry is `deny ip any any log`."""
    for acl in CONFIGS[device].acls.values():
        start = next((n for n, text in acl.remarks.items() if text.startswith("flows this segment may start")), None)
        policy_seqs = [e.seq for e in acl.entries[:-1] if start is not None and e.seq >= start]
        for entry in acl.entries:
            if entry.seq not in policy_seqs and entry is not acl.entries[-1]:
                assert entry.action == "permit" and narrow(entry), (acl.name, entry.seq, entry.text)
        assert acl.entries[-1].text == "deny ip any any log", acl.name
        assert all(len(text) <= 100 for text in acl.remarks.values()), acl.name  # IOS's limit
        seg = next(s for s in NET.segments if s.device == device and acl.name == f"SEG-{s.name.upper()}-IN")
        actions = [e.action for e in acl.entries if e.seq in policy_seqs]
        assert actions == [("permit" if p.action == "allow" else "deny") for p in seg.policy], acl.name
