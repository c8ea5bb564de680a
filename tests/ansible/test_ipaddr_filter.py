"""govnet.network.ipaddr gives ansible.utils.ipaddr's answers for the two queries the roles and the inventory use."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from ansible_collections.ansible.utils.plugins.plugin_utils.base.ipaddr_utils import ipaddr as utils_ipaddr

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "collections/ansible_collections/govnet/network/plugins/filter/ipaddr.py"

VALUES = [
    "198.18.0.5",
    "198.18.0.5/24",
    "198.18.0.0/24",
    "198.18.0.0/31",
    "198.18.0.1/31",
    "198.18.1.9/32",
    "198.18.0.255/24",
    "198.18.0.0/15",
    "0.0.0.0",
    "255.255.255.255",
    "2001:db8::1",
    "2001:db8::/64",
    "2001:db8::5/64",
    "::1/128",
    "fe80::1%eth0",
    "198.18.0.256",
    "198.18.0.5/33",
    "not an address",
    "",
    "198.18.0.5 ",
    " 198.18.0.5",
    "198.18.0/24",
    "2001:db8::g",
    3325034497,
    True,
    None,
    1.5,
]
# Where govnet's filter is stricter on purpose: netaddr reads a string of digits as an integer address.
DIGITS = ["10", "3325034497"]


@pytest.fixture(scope="module")
def govnet_ipaddr():
    spec = importlib.util.spec_from_file_location("govnet_ipaddr_filter", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.FilterModule().filters()["ipaddr"]


@pytest.mark.parametrize("query", ["address", "network/prefix"])
@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_scalar_answer_is_ansible_utils_answer(govnet_ipaddr, value, query) -> None:
    expected = utils_ipaddr(value, query)
    assert govnet_ipaddr(value, query) == (expected if expected not in (None, False) else False)


@pytest.mark.parametrize("query", ["address", "network/prefix"])
def test_list_keeps_the_answers_ansible_utils_keeps(govnet_ipaddr, query) -> None:
    values = [v for v in VALUES if isinstance(v, str)]
    assert govnet_ipaddr(values, query) == utils_ipaddr(values, query)


@pytest.mark.parametrize("query", ["address", "network/prefix"])
@pytest.mark.parametrize("value", DIGITS)
def test_a_string_of_digits_is_not_an_address(govnet_ipaddr, value, query) -> None:
    assert utils_ipaddr(value, query)  # netaddr: the integer address
    assert govnet_ipaddr(value, query) is False


def test_another_query_is_an_error(govnet_ipaddr) -> None:
    from ansible.errors import AnsibleFilterError

    with pytest.raises(AnsibleFilterError, match="not one of address, network/prefix"):
        govnet_ipaddr("198.18.0.5", "netmask")


def test_the_strategy_preloads_every_collection_filter_the_roles_use() -> None:
    """A collection filter the shim does not load before the forks is loaded again by every worker that uses it."""
    import re

    spec = importlib.util.spec_from_file_location("govnet_mitogen_free", ROOT / "plugins/strategy/mitogen_free.py")
    shim = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(shim)
    used = set()
    for path in [*ROOT.glob("roles/*/*/*.yml"), *ROOT.glob("inventory/**/*.yml"), *ROOT.glob("playbooks/*.yml")]:
        text = path.read_text()
        used |= set(re.findall(r"\|\s*([a-z_]+\.[a-z_]+\.[a-z_]+)\b", text))
        used |= set(re.findall(r"map\(\s*'([a-z_]+\.[a-z_]+\.[a-z_]+)'", text))
    assert "govnet.network.ipaddr" in used
    assert used == set(shim.COLLECTION_FILTERS)
