"""What a stateless segment filter must add to the zone policy so that allowed flows work and nothing else does.

The zone policy (`Network.rules`, first match wins) says which flows a zone may *start*.  The lab enforces it with
nftables, which tracks connections: replies pass by `ct state established`.  An IOS ACL on an SVI keeps no state,
so each segment's inbound ACL needs explicit, narrow entries for the replies its hosts send to flows other zones
started (return entries), and for the few things that are not zone flows at all (the segment's own gateway, the
network devices' own NTP/DNS/TACACS+ answers, their polling and management).

A return entry is narrow so it cannot start a flow: TCP only from the service port with ACK or RST set
(`established`), UDP only from the service port to a client port, ICMP only the reply and error types, and only
towards the zone that may start that flow.  What a stateless filter still cannot tell apart is written up in
docs/design.md ("Stateless IOS ACLs").
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address

from govnet.model.derived import Network, PolicyEntry, Segment, Service

# UDP services that never answer (syslog, SNMP traps): a flow to them needs no return entry.
ONE_WAY_UDP = frozenset({162, 514})
# Client ports a UDP service answers to.  Clients use ephemeral ports (> 1023); NTP peers and many NTP clients
# (ntpd, IOS) also send from 123.
CLIENT_PORTS_UDP: dict[int, tuple[tuple[str, int], ...]] = {123: (("eq", 123), ("gt", 1023))}
EPHEMERAL = ("gt", 1023)
# An any-service allow answers UDP only from well-known service ports: a UDP service above 1023 behind an
# any-service rule does not work statelessly (see docs/design.md).
WELL_KNOWN = ("lt", 1024)
# The zone the devices' VTY access list admits (management.j2 VTY-MGMT) declares this role: it may SSH to and ping
# the network devices.
DEVICE_MANAGERS = "dc-management"
DEVICES = "devices"  # ReturnEntry.dst of entries towards the network devices' own addresses (NET-DEVICES)

PortOp = tuple[str, int]


@dataclass(frozen=True, slots=True)
class ReturnEntry:
    """One `permit` line of a stateless ACL for a reply (or a non-zone flow), before the policy entries.

    ``dst`` is a zone name (the ACL names its object-group) or, for the network devices, the literal
    ``"devices"``; ``src_host`` narrows the source from the whole segment to one server.
    """

    reason: str  # the policy rule (or infrastructure need) the entry serves
    proto: str  # tcp | udp | icmp
    dst: str
    sport: PortOp | None = None
    dport: PortOp | None = None
    option: str = ""  # established | an ICMP message name
    src_host: str = ""


def covers(earlier: Service, later: Service) -> bool:
    """Does a policy service listed earlier match every packet *later* matches (so first match never reaches it)?"""
    if earlier.proto == "any":
        return True
    return earlier.proto == later.proto and (earlier.port is None or earlier.port == later.port)


def allowed_flows(network: Network, src: str, dst: str) -> tuple[tuple[str, Service], ...]:
    """(rule, service) flow classes *src* may start towards *dst*, first match wins (shadowed ones dropped)."""
    seen: list[Service] = []
    out: list[tuple[str, Service]] = []
    for rule in network.rules:
        if (rule.src, rule.dst) != (src, dst):
            continue
        for svc in rule.services:
            if any(covers(e, svc) for e in seen):
                continue
            seen.append(svc)
            if rule.action == "allow":
                out.append((rule.name, svc))
    return tuple(out)


def sends_anything(policy: tuple[PolicyEntry, ...], zone: str) -> bool:
    """Does this policy let the segment start *any* flow to *zone*?  Then replies need no entries of their own."""
    for entry in policy:
        if entry.dst_zone != zone:
            continue
        if entry.action == "deny":
            return False
        if entry.proto == "ip":
            return True
    return False


def _replies(zone: str, rule: str, svc: Service) -> Iterator[ReturnEntry]:
    """The reply lines of one flow class started from *zone*."""
    if svc.proto == "tcp":
        yield ReturnEntry(rule, "tcp", zone, sport=("eq", svc.port or 0), option="established")
    elif svc.proto == "udp" and svc.port not in ONE_WAY_UDP:
        for client in CLIENT_PORTS_UDP.get(svc.port or 0, (EPHEMERAL,)):
            yield ReturnEntry(rule, "udp", zone, sport=("eq", svc.port or 0), dport=client)
    elif svc.proto == "icmp":
        yield ReturnEntry(rule, "icmp", zone, option="echo-reply")
    elif svc.proto == "any":
        yield ReturnEntry(rule, "tcp", zone, option="established")
        yield ReturnEntry(rule, "udp", zone, sport=WELL_KNOWN, dport=EPHEMERAL)
        yield ReturnEntry(rule, "icmp", zone, option="echo-reply")


def return_entries(seg: Segment, network: Network) -> list[ReturnEntry]:
    """Replies the segment's hosts send to flows other zones (or other segments of its zone) started.

    Per starting zone, in zone order: the replies of every flow class it may start (an any-service class
    replaces the service-specific ones), then ICMP unreachable (port unreachable, administratively prohibited and
    fragmentation needed for PMTUD all are type 3) so the starting hosts learn of failure instead of timing out.
    Zones the segment may send anything to anyway get none.  ICMP time-exceeded is left out: end hosts send it
    only on reassembly timeout, and traceroute's come from routers, which no inbound SVI ACL filters.
    """
    out: list[ReturnEntry] = []
    for zone in network.zones:
        flows = allowed_flows(network, zone, seg.zone)
        if not flows or sends_anything(seg.policy, zone):
            continue
        anything = [(rule, svc) for rule, svc in flows if svc.proto == "any"]
        for rule, svc in anything[:1] or flows:
            out.extend(_replies(zone, rule, svc))
        out.append(ReturnEntry(flows[0][0], "icmp", zone, option="unreachable"))
    return list(dict.fromkeys(out))


def device_entries(seg: Segment, network: Network) -> list[ReturnEntry]:
    """Traffic between the segment and the network devices themselves, which the zone policy does not describe.

    The devices query NTP, DNS and TACACS+ servers from their loopbacks (system.j2, management.j2); the answers
    come back through the ACL of the segment holding the server: NTP from 123 to 123, DNS from 53 (the IOS
    resolver's port is not fixed), TACACS+ from 49 with ACK.  Syslog needs none.  The monitoring servers poll
    the devices (SNMP, as SNMP-NMS admits) and ping them; the DC management zone SSHes to and pings them, as
    VTY-MGMT admits.  What the devices send back is their own traffic, which no inbound ACL sees.
    """
    out: list[ReturnEntry] = []
    if seg.zone == network.zone_roles.get(DEVICE_MANAGERS):
        out.append(ReturnEntry("device management (VTY-MGMT)", "tcp", DEVICES, dport=("eq", 22)))
        out.append(ReturnEntry("device management (VTY-MGMT)", "icmp", DEVICES, option="echo"))

    def held(servers: Iterable[IPv4Address]) -> list[str]:
        return [str(s) for s in servers if s in seg.prefix]

    for host in held(network.ntp_servers):
        out.append(ReturnEntry("device NTP", "udp", DEVICES, ("eq", 123), ("eq", 123), src_host=host))
    for host in held(network.dns_servers):
        out.append(ReturnEntry("device DNS", "udp", DEVICES, ("eq", 53), src_host=host))
    for host in held(address for _, address in network.tacacs_servers):
        out.append(ReturnEntry("device TACACS+", "tcp", DEVICES, ("eq", 49), option="established", src_host=host))
    for host in held(network.monitoring_servers):
        out.append(ReturnEntry("device monitoring (SNMP-NMS)", "udp", DEVICES, dport=("eq", 161), src_host=host))
        out.append(ReturnEntry("device monitoring", "icmp", DEVICES, option="echo", src_host=host))
    return out


def return_zones(seg: Segment, network: Network) -> list[str]:
    """Zones the segment's return entries name (their object-groups must exist on the device)."""
    return sorted({e.dst for e in return_entries(seg, network)})
