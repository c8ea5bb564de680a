"""NAPALM community driver for FRR: ``napalm.get_network_driver("frr")`` finds ``FRRDriver`` here.

Importing the package also registers the Netmiko device type ``frr_vtysh``.
"""

from napalm_frr.frr import FRRDriver
from napalm_frr.netmiko_frr import DEVICE_TYPE as NETMIKO_DEVICE_TYPE

__all__ = ["NETMIKO_DEVICE_TYPE", "FRRDriver"]
