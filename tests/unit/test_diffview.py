"""A deploy's diff shown once per section with + and -, the same for frr-reload's output and IOS remediation."""

from __future__ import annotations

import json
from pathlib import Path

from govnet.deploy.diffview import parse

FIXTURES = Path(__file__).resolve().parents[2] / "napalm-frr" / "tests" / "fixtures" / "frr" / "compare_config"


def test_frr_reload_output_is_folded_per_section() -> None:
    diff = json.loads((FIXTURES / "replace" / "expected.json").read_text())
    view = parse(diff)
    assert diff.count("interface eth1\n") > 2  # frr-reload repeats the section line above every changed line
    assert view.text().count("interface eth1") == 1
    assert "  - description to core1 eth9 (fibre 1000 Mb/s)" in view.text().splitlines()
    assert "  + ip ospf network point-to-point" in view.text().splitlines()
    assert view.summary().startswith(f"+{view.added} -{view.removed} in ")
    assert view.removed == 2 and view.added == sum(1 for line in view.text().splitlines() if "+ " in line)


def test_a_section_line_alone_is_itself_the_change() -> None:
    view = parse(
        "Lines To Delete\n===============\nip forwarding\n\n"
        "Lines To Add\n============\nrouter ospf\n ospf router-id 1.1.1.1\n"
    )
    assert view.text().splitlines() == ["- ip forwarding", "router ospf", "  + ospf router-id 1.1.1.1"]
    assert view.summary() == "+1 -1 in 2 sections"


def test_ios_remediation_reads_no_as_removal() -> None:
    view = parse(
        "interface Vlan10\n  no ip proxy-arp\n  ip verify unicast source reachable-via rx\n"
        "no ip http server\nntp source Loopback0\n"
    )
    assert view.text().splitlines() == [
        "interface Vlan10",
        "  - ip proxy-arp",
        "  + ip verify unicast source reachable-via rx",
        "- ip http server",
        "+ ntp source Loopback0",
    ]


def test_the_policy_table_diff_is_its_own_section() -> None:
    diff = (
        "Lines To Add\n============\nip forwarding\n"
        "--- nftables (running)\n+++ nftables (intended)\n@@ -0,0 +1,2 @@\n+table inet govnet {\n+}\n"
    )
    view = parse(diff)
    assert view.text().splitlines() == ["+ ip forwarding", "nftables", "  + table inet govnet {", "  + }"]


def test_no_diff_no_summary() -> None:
    assert parse("").summary() == "" and parse("").text() == ""
