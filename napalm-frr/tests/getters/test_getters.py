"""NAPALM's shared getter tests (``napalm.base.test.getters.BaseTestGetters``) against FRRDriver.

Every getter the driver implements runs the suite's test against recorded FRR output. Getters FRR
has no equivalent for (LLDP, environment, SNMP, ...) must raise NotImplementedError: that is
asserted here instead of letting the suite skip them (a skip fails the CI run).
"""

import inspect

import pytest
from napalm.base import NetworkDriver
from napalm.base.test.getters import BaseTestGetters

from napalm_frr.frr import FRRDriver

#: NAPALM methods FRR has no data for.
UNSUPPORTED = [
    "get_arp_table", "get_bgp_config", "get_bgp_neighbors_detail", "get_environment", "get_firewall_policies",
    "get_interfaces_counters", "get_ipv6_neighbors_table", "get_lldp_neighbors", "get_lldp_neighbors_detail",
    "get_mac_address_table", "get_network_instances", "get_ntp_peers", "get_ntp_stats", "get_optics",
    "get_probes_config", "get_probes_results", "get_snmp_information", "get_users", "get_vlans", "traceroute",
]  # fmt: skip
#: Public methods the driver adds to NAPALM's API (documented in docs/napalm_frr.md).
EXTENSIONS = {"get_ospf_neighbors", "get_state", "load_policy"}


@pytest.mark.usefixtures("set_device_parameters")
class TestFRRGetters(BaseTestGetters):
    """The suite, minus the tests of getters FRR cannot have (checked below instead)."""

    def test_method_signatures(self) -> None:
        """The suite's check, allowing only the documented extensions as extra public methods."""
        driver = FRRDriver(hostname="test", username="admin", password="pwd")
        errors = {}
        for name, method in inspect.getmembers(driver, inspect.ismethod):
            if name.startswith("_") or name in EXTENSIONS:
                continue
            base = getattr(NetworkDriver, name, None)
            if base is None or inspect.getfullargspec(base)[:4] != inspect.getfullargspec(method)[:4]:
                errors[name] = inspect.getfullargspec(method)[:4]
        assert not errors, f"signatures differ from napalm.base: {errors}"
        for name in EXTENSIONS:
            assert not hasattr(NetworkDriver, name), f"{name} is now in napalm.base: drop it from EXTENSIONS"


for _name in UNSUPPORTED:
    setattr(TestFRRGetters, f"test_{_name}", None)
setattr(TestFRRGetters, "test_get_arp_table_with_vrf", None)  # noqa: B010


@pytest.mark.parametrize("method", UNSUPPORTED)
def test_unsupported_getters_raise_not_implemented(method: str) -> None:
    driver = FRRDriver("test", "admin", "pwd")
    args = ["198.18.0.1"] if method == "traceroute" else []
    with pytest.raises(NotImplementedError):
        getattr(driver, method)(*args)
