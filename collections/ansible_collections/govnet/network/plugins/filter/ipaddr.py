# govnet.network.ipaddr: the two queries of ansible.utils.ipaddr the roles and the inventory use ('address' and
# 'network/prefix'), on Python's ipaddress module.
#
# ansible.utils.ipaddr imports netaddr and validates its arguments with a deep copy on every call; every task that
# evaluates it (each role's input assert on every server) paid that in a new worker process, about a third of the
# controller's work in the idempotent second run of servers.yml. The answers are the same for these two queries:
# tests/ansible/test_ipaddr_filter.py compares both filters on the same values.
from __future__ import annotations

import ipaddress
from typing import Any

DOCUMENTATION = r"""
name: ipaddr
short_description: The 'address' and 'network/prefix' queries of ansible.utils.ipaddr, without netaddr
description:
  - On a string, the answer or C(False) when the value is not one; on a list, the answers of the values that have
    one, the others dropped (as ansible.utils.ipaddr does).
  - C(address) is the address of a host value (C(198.18.0.5), C(198.18.0.5/24), C(2001:db8::1/64)); a network's own
    address with a prefix shorter than the host's (C(198.18.0.0/24)) is not one, except on a /31 and in IPv6.
  - C(network/prefix) is the network of any valid address or prefix (C(198.18.0.5/24) gives C(198.18.0.0/24), an
    address alone its /32 or /128).
  - Stricter than ansible.utils.ipaddr on one point: a string of digits (C("10")) is not an address (netaddr reads
    it as the integer 0.0.0.10), so an input assert does not pass a port or a count given where an address belongs.
positional: query
options:
  _input:
    description: An address or prefix, or a list of them.
    type: raw
    required: true
  query:
    description: C(address) or C(network/prefix).
    type: str
    required: true
"""

_QUERIES = ("address", "network/prefix")


def _one(value: Any, query: str) -> str | bool:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    if isinstance(value, str) and (value.isdigit() or "%" in value):
        return False  # netaddr reads digits as an integer address, and takes no IPv6 zone
    try:
        iface = ipaddress.ip_interface(value)
    except ValueError:
        return False
    if query == "network/prefix":
        return str(iface.network)
    network = iface.network
    host = iface.ip
    if network.num_addresses == 1 or host != network.network_address:
        return str(host)
    if iface.version == 6 or network.prefixlen == 31:
        return str(host)
    return False


def ipaddr(value: Any, query: str) -> Any:
    """ansible.utils.ipaddr(value, query) for query 'address' or 'network/prefix'."""
    if query not in _QUERIES:
        from ansible.errors import AnsibleFilterError

        raise AnsibleFilterError(f"govnet.network.ipaddr: query {query!r} is not one of {', '.join(_QUERIES)}")
    if isinstance(value, (list, tuple)):
        return [answer for answer in (_one(item, query) for item in value) if answer is not False]
    return _one(value, query)


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"ipaddr": ipaddr}
