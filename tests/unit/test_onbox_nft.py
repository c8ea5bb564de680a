"""The on-box helper's policy diff: both sides listed by nft itself, in a throwaway namespace (no root needed)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from govnet.model import load_network
from govnet.model.derived import Network
from govnet.policy import render_nftables
from napalm_frr.frr import policy_diff
from napalm_frr.helper import nft
from napalm_frr.helper.box import HelperError

REPO = Path(__file__).resolve().parents[2]


def _userns_works() -> bool:
    proc = subprocess.run(["unshare", "-rn", "true"], capture_output=True, check=False)
    return proc.returncode == 0


pytestmark = pytest.mark.skipif(not _userns_works(), reason="unprivileged user namespaces are disabled")


@pytest.fixture(scope="module")
def network() -> Network:
    return load_network(REPO / "inventory" / "karbala", "lab")


def test_canonical_form_is_a_fixed_point(network: Network) -> None:
    """Listing what the rendered ruleset loads, then loading that listing, gives the same text: no false diff."""
    script = render_nftables(network, "dc-sw1") or ""
    canonical = nft.nft_canonical(script)
    assert "table inet govnet" in canonical and "chain forward" in canonical
    assert nft.nft_canonical(nft.replace_script(canonical)) == canonical
    assert policy_diff(canonical, canonical) == ""


def test_a_changed_rule_shows_in_the_diff(network: Network) -> None:
    script = render_nftables(network, "dc-sw1") or ""
    before = nft.nft_canonical(script)
    after = nft.nft_canonical(script.replace("accept comment", "drop comment", 1))
    diff = policy_diff(before, after)
    assert diff.startswith("--- nftables (running)")
    assert sum(line.startswith("-\t") for line in diff.splitlines()) == 1
    assert sum(line.startswith("+\t") for line in diff.splitlines()) == 1


def test_no_policy_running_diffs_against_everything(network: Network) -> None:
    intended = nft.nft_canonical(render_nftables(network, "dc-sw1") or "")
    diff = policy_diff("", intended)
    assert len([line for line in diff.splitlines() if line.startswith("+")]) > 10


def test_a_broken_ruleset_is_refused(network: Network) -> None:
    script = (render_nftables(network, "dc-sw1") or "").replace("tcp dport", "tcp dprot", 1)
    with pytest.raises(HelperError, match="policy rejected"):
        nft.nft_canonical(script)
