"""NAPALM community driver for FRR: ``napalm.get_network_driver("frr")`` finds ``FRRDriver`` here.

The driver and NAPALM are imported on first use of ``FRRDriver`` (as NAPALM's lookup does) or
``NETMIKO_DEVICE_TYPE``, which also registers the Netmiko device type ``frr_vtysh``: a program that only
needs the on-box helper (``napalm_frr.helper``, standard library only) does not pay for NAPALM's import.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from napalm_frr.frr import FRRDriver
    from napalm_frr.netmiko_frr import DEVICE_TYPE as NETMIKO_DEVICE_TYPE

__all__ = ["NETMIKO_DEVICE_TYPE", "FRRDriver"]

#: Public name -> (module, its name there).
_LAZY = {"FRRDriver": ("napalm_frr.frr", "FRRDriver"), "NETMIKO_DEVICE_TYPE": ("napalm_frr.netmiko_frr", "DEVICE_TYPE")}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module 'napalm_frr' has no attribute {name!r}")
    module, attr = _LAZY[name]
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
