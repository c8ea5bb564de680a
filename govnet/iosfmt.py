"""Formatting helpers for the cisco_ios templates: values printed the way IOS-XE prints them back.

IOS rewrites what it is given (`eq 53` becomes `eq domain`); rendering its own form keeps a replace and a drift
check free of noise.
"""

from __future__ import annotations

# Port numbers IOS-XE 17 shows by name in `show running-config`, per protocol.
TCP_NAMES = {22: "22", 23: "telnet", 25: "smtp", 49: "tacacs", 53: "domain", 80: "www", 443: "443", 514: "cmd"}
UDP_NAMES = {53: "domain", 67: "bootps", 69: "tftp", 123: "ntp", 161: "snmp", 162: "snmptrap", 514: "syslog"}


def ios_port(port: int, proto: str) -> str:
    """The name IOS shows for *port* of *proto* (the number where it has none)."""
    names = TCP_NAMES if proto == "tcp" else UDP_NAMES if proto == "udp" else {}
    return names.get(port, str(port))


FILTERS = {"ios_port": ios_port}
