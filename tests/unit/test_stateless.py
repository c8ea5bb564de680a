"""Return-entry derivation (govnet.stateless) on policies the Karbala inventory does not exercise."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from govnet import stateless
from govnet.model import load_network
from govnet.model.derived import PolicyEntry, Rule, Service

ROOT = Path(__file__).resolve().parents[2]
NET = load_network(ROOT / "inventory" / "karbala", "production")
SEG = next(s for s in NET.segments if s.zone == "dc-app")


def test_first_match_drops_shadowed_flow_classes() -> None:
    net = replace(
        NET,
        rules=(
            Rule("no-db", "service", "dc-app", "deny", (Service("tcp", 5432),)),
            Rule("apps", "service", "dc-app", "allow", (Service("tcp", 5432), Service("tcp", 8443))),
            Rule("again", "service", "dc-app", "allow", (Service("tcp", 8443),)),
        ),
    )
    assert stateless.allowed_flows(net, "service", "dc-app") == (("apps", Service("tcp", 8443)),)
    lines = stateless.return_entries(SEG, net)
    assert [(e.proto, e.sport, e.option) for e in lines] == [
        ("tcp", ("eq", 8443), "established"),
        ("icmp", None, "unreachable"),
    ]


def test_any_service_replaces_the_specific_returns() -> None:
    net = replace(
        NET,
        rules=(
            Rule("web", "dc-mgmt", "dc-app", "allow", (Service("tcp", 443),)),
            Rule("all", "dc-mgmt", "dc-app", "allow", (Service("any"),)),
        ),
    )
    lines = stateless.return_entries(SEG, net)
    assert [(e.proto, e.sport, e.dport, e.option) for e in lines] == [
        ("tcp", None, None, "established"),
        ("udp", ("lt", 1024), ("gt", 1023), ""),
        ("icmp", None, None, "echo-reply"),
        ("icmp", None, None, "unreachable"),
    ]


def test_one_way_udp_gets_no_reply_and_ntp_answers_port_123() -> None:
    net = replace(NET, rules=(Rule("logs", "service", "dc-app", "allow", (Service("udp", 514), Service("udp", 123))),))
    lines = stateless.return_entries(SEG, net)
    assert [(e.sport, e.dport) for e in lines if e.proto == "udp"] == [
        (("eq", 123), ("eq", 123)),
        (("eq", 123), ("gt", 1023)),
    ]


def test_no_returns_to_a_zone_the_segment_may_send_anything_to() -> None:
    net = replace(NET, rules=(Rule("web", "service", "dc-app", "allow", (Service("tcp", 443),)),))
    free = replace(
        SEG, policy=(PolicyEntry("x", "allow", "tcp", "service", 80), PolicyEntry("y", "allow", "ip", "service"))
    )
    assert stateless.return_entries(free, net) == []
    fenced = replace(
        SEG, policy=(PolicyEntry("x", "deny", "tcp", "service", 22), PolicyEntry("y", "allow", "ip", "service"))
    )
    assert stateless.return_entries(fenced, net)  # a deny first: not everything is allowed, replies are needed
