"""The driver's own offline tests: they need napalm-frr and NAPALM only, not govnet
(`pytest napalm-frr/tests`; the recorded-output tests and NAPALM's shared getter suite sit beside this file)."""

from __future__ import annotations

import napalm
import pytest
from napalm.base.exceptions import ConnectionClosedException

import napalm_frr
from napalm_frr.frr import FRRDriver


def test_napalm_finds_the_driver() -> None:
    assert napalm.get_network_driver("frr") is FRRDriver is napalm_frr.FRRDriver


def test_a_getter_before_open_raises_napalm_exception() -> None:
    """Settings only until open(): a getter on an unopened driver is NAPALM's ConnectionClosedException."""
    driver = FRRDriver("198.18.255.254", "admin", "pw", optional_args={"port": 2222, "ssh_strict": False})
    assert (driver.settings.port, driver.settings.ssh_strict, driver.settings.username) == (2222, False, "admin")
    assert driver.is_alive() == {"is_alive": False}
    with pytest.raises(ConnectionClosedException, match="not connected"):
        driver.get_facts()
