"""The IOS ACL evaluator on hand-written configurations: each IOS match rule it claims to understand."""

from __future__ import annotations

import pytest

from govnet import iosfmt
from govnet.analyze.ios_acl import (
    TCP_PORTS,
    UDP_PORTS,
    AclSyntaxError,
    icmp,
    parse_config,
    tcp,
    udp,
)

CONFIG = """\
object-group network SERVERS
 description two servers and a range
 host 192.0.2.10
 192.0.2.64 255.255.255.192
 range 192.0.2.200 192.0.2.203
object-group network MORE
 group-object SERVERS
 198.51.100.0 255.255.255.0
!
ip access-list extended TEST-IN
 10 remark replies
 10 permit tcp 10.0.0.0 0.0.0.255 eq www object-group SERVERS established
 20 permit udp 10.0.0.0 0.0.0.255 eq domain any gt 1023
 30 permit icmp 10.0.0.0 0.0.0.255 any echo-reply
 40 permit icmp 10.0.0.0 0.0.0.255 any 3 4
 50 deny   tcp host 10.0.0.66 any log
 60 permit tcp 10.0.0.0 0.0.0.255 object-group MORE range 8000 8010
 70 permit tcp 10.0.0.0 0.0.0.255 any neq 23
 80 permit udp 10.0.0.0 0.0.255.0 any lt 100
 90 permit udp any any eq ntp syslog
 permit tcp any any eq 22 syn
!
interface Vlan10
 ip address 10.0.0.1 255.255.255.0
 ip access-group TEST-IN in
!
interface Vlan20
 ip address 10.0.1.1 255.255.255.0
!
"""
CFG = parse_config(CONFIG)
ACL = CFG.acls["TEST-IN"]


def seq(pkt: object) -> int | None:
    verdict = ACL.evaluate(pkt)  # type: ignore[arg-type]
    return verdict.entry.seq if verdict.entry else None


def test_object_groups_host_mask_range_and_nesting() -> None:
    assert seq(tcp("10.0.0.5", "192.0.2.10", 80, 40000, "ack")) == 10
    assert seq(tcp("10.0.0.5", "192.0.2.100", 80, 40000, "ack")) == 10
    assert seq(tcp("10.0.0.5", "192.0.2.202", 80, 40000, "ack")) == 10
    assert seq(tcp("10.0.0.5", "192.0.2.204", 80, 40000, "ack")) == 70  # outside the range: later entry
    assert seq(tcp("10.0.0.5", "198.51.100.9", 50000, 8005, "syn")) == 60  # via group-object


def test_established_needs_ack_or_rst() -> None:
    assert seq(tcp("10.0.0.5", "192.0.2.10", 80, 23, "rst")) == 10
    assert seq(tcp("10.0.0.5", "192.0.2.10", 80, 23, "syn")) is None  # not established, neq 23: implicit deny


def test_port_operators_and_names() -> None:
    assert seq(udp("10.0.0.5", "203.0.113.1", 53, 1024)) == 20
    assert seq(udp("10.0.0.5", "203.0.113.1", 53, 1023)) is None  # gt is strict
    assert seq(udp("10.0.7.0", "203.0.113.1", 1, 99)) == 80  # non-contiguous wildcard (x.x.N.0), lt strict
    assert seq(udp("10.0.7.0", "203.0.113.1", 1, 100)) is None
    assert seq(udp("10.0.7.5", "203.0.113.1", 1, 99)) is None
    assert seq(udp("172.16.0.1", "203.0.113.1", 1, 514)) == 90  # eq with two names
    assert seq(tcp("10.0.0.5", "203.0.113.1", 1, 8011, "syn")) == 70  # range is inclusive, neq 23


def test_icmp_by_name_and_by_type_code() -> None:
    assert seq(icmp("10.0.0.5", "203.0.113.1", "echo-reply")) == 30
    assert seq(icmp("10.0.0.5", "203.0.113.1", "packet-too-big")) == 40
    assert seq(icmp("10.0.0.5", "203.0.113.1", "port-unreachable")) is None
    assert seq(icmp("10.0.0.5", "203.0.113.1", "echo")) is None


def test_host_deny_log_and_unnumbered_entry() -> None:
    verdict = ACL.evaluate(tcp("10.0.0.66", "203.0.113.1", 40000, 80, "syn"))
    assert not verdict.permitted and verdict.entry is not None and verdict.entry.log
    assert verdict.line == "50 deny tcp host 10.0.0.66 any log"
    assert ACL.entries[-1].seq == 100  # unnumbered: last + 10
    assert seq(tcp("172.16.0.1", "203.0.113.1", 40000, 22, "syn")) == 100
    assert seq(tcp("172.16.0.1", "203.0.113.1", 40000, 22, "ack")) is None  # flag keyword requires syn
    assert ACL.remarks == {10: "replies"}


def test_inbound_finds_the_interface_from_the_source() -> None:
    iface, verdict = CFG.inbound(udp("10.0.0.5", "203.0.113.1", 53, 5000))
    assert iface is not None and iface.name == "Vlan10" and verdict is not None and verdict.permitted
    iface, verdict = CFG.inbound(udp("10.0.1.5", "203.0.113.1", 53, 5000))
    assert iface is not None and iface.name == "Vlan20" and verdict is None  # no ACL there: not filtered


def test_shadowed_entries() -> None:
    acl = parse_config(
        "ip access-list extended X\n"
        " 10 permit tcp 10.0.0.0 0.0.0.255 any\n"
        " 20 deny   tcp host 10.0.0.9 any eq www\n"
        " 30 permit udp 10.0.0.0 0.0.0.255 any eq domain\n"
        " 40 permit udp 10.0.0.0 0.0.0.255 any\n"
    ).acls["X"]
    assert [(a.seq, b.seq) for a, b in acl.shadowed()] == [(10, 20)]


@pytest.mark.parametrize(
    "line",
    [
        "10 permit tcp any any eq wwww",  # unknown port name
        "10 permit tcp any any time-range WORK",  # unsupported option
        "10 permit foo any any",  # unknown protocol
        "10 permit ip 10.0.0.1 0.0.0.255 any",  # address bits under the wildcard
        "10 permit ip object-group NOPE any",  # undefined group
    ],
)
def test_unknown_words_are_errors(line: str) -> None:
    with pytest.raises(AclSyntaxError):
        parse_config(f"ip access-list extended X\n {line}\n")


def test_iosfmt_names_read_back() -> None:
    """The template's port names (iosfmt) are names the evaluator (and IOS) knows, for the same port."""
    for names, table in ((iosfmt.TCP_NAMES, TCP_PORTS), (iosfmt.UDP_NAMES, UDP_PORTS)):
        for port, name in names.items():
            assert name == str(port) or table[name] == port, (port, name)
