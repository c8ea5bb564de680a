"""Fixtures for the IOS tests: the production model, fake boxes for it, and no socket to anything but loopback."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from govnet.model import load_network
from tests.ios_harness import IOSWorld, install, known_hosts, world_for

INVENTORY = Path(__file__).resolve().parents[2] / "inventory" / "karbala"
PASSWORD = "harness-only-password"
ENABLE = "harness-only-enable"


def _loopback(address: Any) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    if isinstance(host, str | bytes) and not isinstance(address, tuple):
        return True  # AF_UNIX path
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[list[Any]]:
    """Any connection to a non-loopback address fails the test (and is recorded)."""
    attempts: list[Any] = []
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex

    def guard(address: Any) -> None:
        if not _loopback(address):
            attempts.append(address)
            raise AssertionError(f"network access attempted: {address!r}")

    def connect(self: socket.socket, address: Any) -> None:
        guard(address)
        real_connect(self, address)

    def connect_ex(self: socket.socket, address: Any) -> int:
        guard(address)
        return real_connect_ex(self, address)

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        guard(address)
        raise AssertionError("harness: create_connection is not expected at all")

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    yield attempts
    if request.node.name != "test_the_socket_guard_refuses_production_addresses":
        assert not attempts, f"network access attempted: {attempts}"


@pytest.fixture(scope="session")
def prod_net() -> Any:
    return load_network(INVENTORY, "production")


def deploy_user(config: str) -> str:
    """The login the deploy uses: `govnet` when the rendered config defines it, else its first local user."""
    users = [ln.split()[1] for ln in config.splitlines() if ln.startswith("username ")]
    return "govnet" if "govnet" in users or not users else users[0]


@pytest.fixture
def world(prod_net: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> IOSWorld:
    """A fake box per production device, the NAPALM ios driver's connections routed to them."""
    from govnet.render import render_device

    user = deploy_user(render_device(prod_net, next(iter(prod_net.devices))))
    w = world_for(prod_net, PASSWORD, user)
    w.user = user  # type: ignore[attr-defined]
    w.known_hosts = known_hosts(tmp_path / "known_hosts", w)  # type: ignore[attr-defined]
    install(monkeypatch, w)
    return w
