"""The deploy engine takes every platform difference from platform.yml: driver, arguments, commit, timer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from govnet.deploy import engine, inventory
from govnet.deploy.inventory import Credentials


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def commit_config(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


def test_driver_and_arguments_from_platform_data(tmp_path: Path) -> None:
    assert not hasattr(inventory, "NAPALM_DRIVERS")
    assert inventory.driver_name("cisco_ios") == "ios" and inventory.driver_name("frr") == "frr"
    kh = tmp_path / "kh"
    ios = inventory.platform_args("cisco_ios", kh, 30, {"GOVNET_ENABLE_SECRET": "en-secret"})
    assert ios["inline_transfer"] is True and ios["auto_file_prompt"] is True
    assert ios["ssh_strict"] is True and ios["alt_key_file"] == str(kh) and ios["secret"] == "en-secret"
    assert "secret" not in inventory.platform_args("cisco_ios", kh, 30, {})
    assert inventory.platform_args("frr", kh, 30, {"GOVNET_ENABLE_SECRET": "x"}) == {
        "known_hosts_file": str(kh),
        "ssh_strict": True,
    }


def test_the_enable_secret_is_hidden_like_the_password() -> None:
    creds = Credentials("govnet", "pw")
    assert inventory.hidden_values(creds, {"GOVNET_ENABLE_SECRET": "en"}) == ("pw", "en")
    assert "pw" not in repr(creds)


def test_commit_message_only_where_the_platform_takes_one() -> None:
    ios, frr = Recorder(), Recorder()
    engine.commit(ios, "cisco_ios", "govnet deploy run-1", 120)
    engine.commit(frr, "frr", "govnet deploy run-1", 120)
    assert ios.calls == [{"revert_in": 120}]
    assert frr.calls == [{"message": "govnet deploy run-1", "revert_in": 120}]


def test_revert_timer_per_platform() -> None:
    assert engine.timer_problem("cisco_ios", 120) is None and engine.timer_problem("frr", 120) is None
    assert engine.timer_problem("cisco_ios", 30) == "must be 60..7200 seconds in steps of 60, got 30"
    assert engine.timer_problem("cisco_ios", 7260) is not None and engine.timer_problem("frr", 30) is None


def test_fresh_login_only_where_the_platform_asks(tmp_path: Path) -> None:
    # frr logins are OS accounts no config removes: nothing is opened (a connection here would fail the test)
    assert engine.fresh_login("frr", "192.0.2.1", Credentials("u", "p"), tmp_path / "kh") == ""


def test_the_socket_guard_refuses_production_addresses() -> None:
    import socket

    import pytest

    with pytest.raises(AssertionError, match="network access attempted"):
        socket.create_connection(("10.254.0.2", 22), timeout=0.1)
    sock = socket.socket()
    try:
        with pytest.raises(AssertionError, match="network access attempted"):
            sock.connect(("10.254.0.2", 22))
    finally:
        sock.close()
