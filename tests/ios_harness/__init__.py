"""Recorded-session harness for NAPALM's real `ios` driver: fake IOS-XE 17 boxes behind a fake Netmiko session.

Only the connection is replaced: `napalm.base.base.ConnectHandler` (what the driver's `open()` calls) returns a
`Session` on a `FakeIOSDevice` instead of an SSH channel. Everything above it runs as in production: the
NAPALM ios driver, Netmiko's InLineTransfer (tclsh) and file-system discovery, Nornir, the deploy engine.
Netmiko's pauses around tclsh are skipped (`time.sleep` in its cisco_ios module), nothing else.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from tests.ios_harness.device import FakeIOSDevice, IOSWorld, Session, connect_handler

__all__ = ["FakeIOSDevice", "IOSWorld", "Session", "day0", "install", "world_for"]

TYPE9 = "$9$" + "abcdefghijklmn" + "$" + "A" * 43  # a well-formed type 9 hash (the box checks the form only)


class _NoSleep:
    """Netmiko's cisco_ios module's `time`, with `sleep` a no-op (InLineTransfer waits ~7 s per file)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_time, name)

    @staticmethod
    def sleep(_: float) -> None:
        return None


def install(monkeypatch: Any, world: IOSWorld) -> None:
    """Route every NAPALM ios connection to *world* for the rest of the test."""
    import napalm.base.base as napalm_base
    import netmiko.cisco.cisco_ios as netmiko_ios

    monkeypatch.setattr(napalm_base, "ConnectHandler", connect_handler(world))
    monkeypatch.setattr(netmiko_ios, "time", _NoSleep())


def day0(device: Any, username: str, serial: int) -> str:
    """What a box runs when it arrives: hostname, management, the deploy user, archive, and the device-specific
    sections a replace must carry over (self-signed trustpoint and its certificate, licence UDI, boot)."""
    fs = device.filesystem or "bootflash:"
    mgmt = device.mgmt
    vrf = "" if device.mgmt_vrf_builtin or not device.mgmt_vrf else device.mgmt_vrf
    tp = f"TP-self-signed-{4000000000 + serial}"
    lines = [
        "version 17.9",
        "service password-encryption",
        f"hostname {device.name}",
        "!",
        *([f"vrf definition {vrf}", " address-family ipv4", " exit-address-family", "!"] if vrf else []),
        f"boot system {fs}packages.conf",
        f"license udi pid {device.model or 'C8500-12X'} sn FXS2{serial:06d}",
        "aaa new-model",
        "aaa authentication login default local",
        "aaa authorization exec default local",
        f"username {username} privilege 15 secret 9 {TYPE9}",
        "ip ssh version 2",
        "!",
        "archive",
        f" path {fs}archive/{device.name}-config",
        " maximum 10",
        "!",
        f"crypto pki trustpoint {tp}",
        " enrollment selfsigned",
        f" subject-name cn=IOS-Self-Signed-Certificate-{4000000000 + serial}",
        " revocation-check none",
        f" rsakeypair {tp}",
        "!",
        f"crypto pki certificate chain {tp}",
        " certificate self-signed 01",
        "  3082032E 30820216 A0030201 02020101 300D0609 2A864886 F70D0101 05050030",
        "  30312F30 2D060355 04031326 494F532D 53656C66 2D536967 6E65642D 43657274",
        "  \tquit",
        "!",
        f"interface {device.mgmt_interface}",
        *([f" vrf forwarding {device.mgmt_vrf}"] if device.mgmt_vrf else []),
        f" ip address {mgmt.ip} {mgmt.netmask}",
        " no shutdown",
        "!",
        "line vty 0 15",
        " transport input ssh",
        "!",
        "end",
    ]
    return "\n".join(lines) + "\n"


def ports_of(device: Any) -> list[str]:
    from govnet.model.platform import load_platform

    hw = load_platform(device.platform).model(device.model)
    if hw is None:
        return []
    return [p.name for p in hw.routed()] + [p.name for p in hw.access()] + [hw.mgmt.interface]


def world_for(network: Any, password: str, username: str, names: Iterable[str] | None = None) -> IOSWorld:
    """A box per (selected) cisco_ios device of *network*, each running its day-0 config."""
    world = IOSWorld(password)
    for serial, name in enumerate(names or network.devices, start=1):
        device = network.devices[name]
        box = FakeIOSDevice(
            hostname=name,
            mgmt=str(device.mgmt.ip),
            ports=ports_of(device),
            filesystem=device.filesystem or "bootflash:",
            seed=serial,
        )
        box.apply(day0(device, username, serial))
        box.startup = list(box.running)
        world.add(box)
    return world


def known_hosts(path: Path, world: IOSWorld) -> Path:
    """A known_hosts file naming every box (the harness refuses a connection whose host key is not checked)."""
    path.write_text(
        "".join(
            f"{host} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFakeHarnessKey{i}\n"
            for i, host in enumerate(sorted(world.devices))
        )
    )
    return path
