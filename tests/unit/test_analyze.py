"""govnet analyze on the rendered Karbala configs: the golden results, and a seeded-fault suite (one defect per
check, put into the rendered *text*, which the named check must catch while the rest stays as it was)."""

from __future__ import annotations

import difflib
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path

import pytest

from govnet.analyze import frr
from govnet.analyze.checks import Check
from govnet.analyze.report import cases, golden_text, markdown
from govnet.analyze.run import Analysis, Texts, check_all, parse, parse_all, rendered_texts
from govnet.cli.analyze import BadInput, analyze_command
from govnet.junit import junit_xml
from govnet.model import load_network
from govnet.model.derived import Network

ROOT = Path(__file__).resolve().parents[2]
NETS = {env: load_network(ROOT / "inventory" / "karbala", env) for env in ("lab", "production")}
TEXTS = {env: rendered_texts(net) for env, net in NETS.items()}
FACTS = {env: parse_all(TEXTS[env]) for env in NETS}
CLEAN = {env: check_all(NETS[env], FACTS[env]) for env in NETS}


def with_texts(env: str, texts: dict[str, Texts]) -> Analysis:
    """Analyze *env* with these texts, parsing only the devices whose text differs from the clean render."""
    facts = {n: FACTS[env][n] if t == TEXTS[env].get(n) else parse(n, t) for n, t in texts.items()}
    return check_all(NETS[env], facts)


def seeded(env: str, device: str, old: str, new: str, *, nft: bool = False, count: int = 1) -> Analysis:
    """Analyze *env* with one edit in one device's rendered text (the edit must apply exactly *count* times)."""
    texts = dict(TEXTS[env])
    t = texts[device]
    body = (t.nft or "") if nft else t.config
    assert body.count(old) == count, f"{device}: {old!r} occurs {body.count(old)} times, not {count}"
    body = body.replace(old, new)
    texts[device] = replace(t, nft=body) if nft else replace(t, config=body)
    return with_texts(env, texts)


def failed(a: Analysis) -> dict[str, Check]:
    return {c.name: c for c in a.failed}


@pytest.mark.parametrize("env", ["lab", "production"])
def test_golden(env: str) -> None:
    """The analysis of the rendered Karbala configs is what tests/golden/analyze/ records (`make golden`)."""
    want = (ROOT / "tests" / "golden" / "analyze" / f"{env}.txt").read_text()
    got = golden_text(CLEAN[env])
    assert got == want, "".join(difflib.unified_diff(want.splitlines(True), got.splitlines(True), "golden", "now"))


@pytest.mark.parametrize("env", ["lab", "production"])
def test_clean_render_passes_and_covers_every_family(env: str) -> None:
    a = CLEAN[env]
    assert not a.failed, [c.name for c in a.failed]
    families = {c.family for c in a.checks}
    assert families == {"filters", "references", "pairing", "n-1"}
    # every policy rule's flow classes are judged on this platform
    names = {c.name for c in a.checks}
    for rule in NETS[env].rules:
        for svc in rule.services:
            assert f"filters: {rule.src} -> {rule.dst} {svc}" in names or not any(
                s.zone == rule.src for s in NETS[env].segments
            )


@pytest.mark.parametrize("env", ["lab", "production"])
def test_every_shipped_governorate_analyzes_clean(env: str) -> None:
    """Babil, shaped unlike Karbala and without an SNMP manager, ships a render the analysis passes on both platforms
    (it once referenced an SNMP ACL that only a governorate with monitoring servers defines)."""
    net = load_network(ROOT / "inventory" / "babil", env)
    a = check_all(net, parse_all(rendered_texts(net)))
    assert not a.failed, [(c.name, c.details[:3]) for c in a.failed]


def test_n1_predictions_of_a_dual_homed_site() -> None:
    """health is dual-homed: cutting its primary uplink reroutes it over core2; a single-homed site is cut off."""
    checks = {c.name: c for c in CLEAN["lab"].checks}
    health = checks["n-1: link core1:eth6--health-r1:eth1"]
    assert health.ok and health.data["rerouted"]["health"] == ["health-sw1", "health-r1", "core2", "dc-sw1"]
    diwan = checks["n-1: link core1:eth3--diwan-r1:eth1"]
    assert diwan.ok and diwan.data["lost"] == ["diwan"]


# ------------------------------------------------------------------------------------------- seeded faults: filters


def test_ios_acl_line_letting_service_reach_security() -> None:
    a = seeded(
        "production",
        "health-sw1",
        " 50 deny   ip 10.20.64.0 0.0.0.63 object-group ZONE-SECURITY\n",
        " 45 permit ip 10.20.64.0 0.0.0.63 object-group ZONE-SECURITY\n"
        " 50 deny   ip 10.20.64.0 0.0.0.63 object-group ZONE-SECURITY\n",
    )
    bad = failed(a)
    flow = bad["filters: service -> security any"]
    assert any(d.startswith("health/staff -> ") and "policy deny, rendered allow" in d for d in flow.details)
    rules = bad["filters: rules of health-sw1"]
    assert any("SEG-STAFF-IN 50" in d and "is overridden: a bug" in d for d in rules.details)
    assert set(bad) == {
        "filters: service -> security any",
        "filters: service -> security tcp/9999",  # the unlisted port passes too
        "filters: rules of health-sw1",
    }


def test_nft_rule_letting_service_reach_security() -> None:
    a = seeded(
        "lab",
        "health-sw1",
        '\t\tip daddr @zone_security counter drop comment "service-security-isolation"\n',
        '\t\tip daddr @zone_security counter accept comment "seeded"\n',
        nft=True,
        count=2,
    )
    flow = failed(a)["filters: service -> security any"]
    assert any("health/staff" in d and "rendered allow" in d for d in flow.details)


def test_shadowed_nft_rule() -> None:
    a = seeded(
        "lab",
        "health-sw1",
        '\t\tip daddr @zone_dc_dmz tcp dport 80 counter accept comment "service-portal"\n',
        '\t\tip daddr @zone_dc_dmz counter accept comment "seeded"\n'
        '\t\tip daddr @zone_dc_dmz tcp dport 80 counter accept comment "service-portal"\n',
        nft=True,
        count=2,
    )
    bad = failed(a)
    rules = bad["filters: rules of health-sw1"]
    assert any("tcp dport 80" in d and "never decides (redundant)" in d for d in rules.details)
    assert "filters: service -> dc-dmz tcp/9999" in bad  # and the wider rule lets an unlisted port through


def test_shadowed_ios_entry_and_one_that_matches_nothing() -> None:
    a = seeded(
        "production",
        "health-sw1",
        " 70 permit tcp 10.20.64.0 0.0.0.63 object-group ZONE-DC-DMZ eq www\n",
        " 65 deny   tcp 10.20.64.0 0.0.0.63 object-group ZONE-DC-DMZ\n"
        " 66 permit udp 10.20.99.0 0.0.0.255 any\n"
        " 70 permit tcp 10.20.64.0 0.0.0.63 object-group ZONE-DC-DMZ eq www\n",
    )
    rules = failed(a)["filters: rules of health-sw1"]
    assert any("SEG-STAFF-IN 70" in d and "is overridden: a bug" in d for d in rules.details)
    assert any("SEG-STAFF-IN 66" in d and "matches nothing" in d for d in rules.details)
    assert "filters: service -> dc-dmz tcp/80" in failed(a)


def test_unreadable_acl_is_reported_not_guessed() -> None:
    a = seeded(
        "production",
        "health-sw1",
        " 70 permit tcp 10.20.64.0 0.0.0.63 object-group ZONE-DC-DMZ eq www\n",
        " 70 permit tcp 10.20.64.0 0.0.0.63 object-group ZONE-DC-DMZ eq www dscp ef\n",
    )
    rules = failed(a)["filters: rules of health-sw1"]
    assert any("SEG-STAFF-IN" in d and "unknown option 'dscp'" in d for d in rules.details)
    flow = failed(a)["filters: service -> dc-dmz tcp/80"]
    assert any("rendered unknown" in d and "not defined (or not readable)" in d for d in flow.details)


# ------------------------------------------------------------------------------------------- seeded faults: references


def test_missing_prefix_list_ios() -> None:
    a = seeded(
        "production",
        "core1",
        " neighbor 10.255.0.14 update-source Loopback0\n",
        " neighbor 10.255.0.14 update-source Loopback0\n neighbor 10.255.0.14 prefix-list EDGE-IN in\n",
    )
    refs = failed(a)["references: core1"]
    assert refs.details == [
        "prefix-list EDGE-IN is used but not defined: 'neighbor 10.255.0.14 prefix-list EDGE-IN in'"
    ]


def test_missing_prefix_list_and_unused_route_map_frr() -> None:
    a = seeded(
        "lab",
        "core1",
        "  neighbor 198.18.0.14 activate\n",
        "  neighbor 198.18.0.14 activate\n  neighbor 198.18.0.14 prefix-list EDGE-IN in\n",
    )
    a2 = seeded("lab", "core1", "line vty\n", "route-map UNUSED permit 10\nexit\n!\nline vty\n")
    assert failed(a)["references: core1"].details == [
        "prefix-list EDGE-IN is used but not defined: 'neighbor 198.18.0.14 prefix-list EDGE-IN in'"
    ]
    assert failed(a2)["references: core1"].details == ["route-map UNUSED is defined but never used"]


def test_internet_edge_config_it_does_not_know_is_read_not_crashed() -> None:
    """Config another feature adds (eBGP to an ISP, NAT, crypto): unknown lines are skipped; what they name and
    nothing defines is reported."""
    edge = (
        "crypto pki trustpoint TP-self-signed-1\n enrollment selfsigned\n revocation-check none\n!\n"
        "ip nat inside source list NAT-INSIDE interface GigabitEthernet0/0/0 overload\n"
        "route-map ISP1-IN permit 10\n match ip address prefix-list ISP1-PREFIXES\n!\n"
    )
    a = seeded(
        "production",
        "core1",
        " neighbor 10.255.0.14 update-source Loopback0\n",
        " neighbor 10.255.0.14 update-source Loopback0\n neighbor 198.51.100.1 remote-as 64500\n"
        " neighbor 198.51.100.1 route-map ISP1-IN in\n",
    )
    texts = dict(TEXTS["production"])
    core1 = texts["core1"]
    texts["core1"] = replace(core1, config=core1.config.replace("end\n", edge + "end\n"))
    b = with_texts("production", texts)
    assert failed(b)["references: core1"].details == [
        "acl NAT-INSIDE is used but not defined: "
        "'ip nat inside source list NAT-INSIDE interface GigabitEthernet0/0/0 overload'",
        "prefix-list ISP1-PREFIXES is used but not defined: 'match ip address prefix-list ISP1-PREFIXES'",
        "route-map ISP1-IN is defined but never used",
    ]
    bgp = failed(a)["pairing: bgp core1"]
    assert bgp.details == ["external neighbor 198.51.100.1 (AS 64500): not on a connected subnet"]
    connected = seeded(
        "production",
        "core1",
        " neighbor 10.255.0.14 update-source Loopback0\n",
        " neighbor 10.255.0.14 update-source Loopback0\n neighbor 10.254.200.200 remote-as 64500\n",
    )
    assert "pairing: bgp core1" not in failed(connected)  # an ISP on a connected subnet: outside the inventory
    internal = seeded(
        "production",
        "core1",
        " neighbor 10.255.0.14 update-source Loopback0\n",
        " neighbor 10.255.0.14 update-source Loopback0\n neighbor 10.255.9.9 remote-as 65010\n",
    )
    assert failed(internal)["pairing: bgp core1"].details == ["neighbor 10.255.9.9: no device owns this address"]


# ------------------------------------------------------------------------------------------- seeded faults: the edge


def test_edge_ruleset_is_read_and_its_nat_judged() -> None:
    """The FRR edge's nftables script: a published service whose 1:1 NAT points at the wrong server, and a
    catch-all drop put before the published rules, are caught by the edge probes and the rule hygiene."""
    a = seeded(
        "lab",
        "edge1",
        'tcp dport 443 notrack ip daddr set 198.18.8.2 comment "published portal-a tcp/443"',
        'tcp dport 443 notrack ip daddr set 198.18.8.3 comment "published portal-a tcp/443"',
        nft=True,
    )
    assert set(failed(a)) == {"filters: internet -> edge1 eth2 (isp-a)"}
    assert failed(a)["filters: internet -> edge1 eth2 (isp-a)"].details == [
        "published portal-a tcp/443: translated to 198.18.8.3, the model's server is 198.18.8.2 "
        '(forward: iifname { "eth2" } ip daddr 198.18.8.3 tcp dport 443 accept comment "published portal-b tcp/443")'
    ]
    b = seeded(
        "lab",
        "edge1",
        '\t\tiifname { "eth2" } ip daddr 198.18.8.2 tcp dport 443 accept',
        '\t\tiifname { "eth2" } counter drop comment "seeded"\n'
        '\t\tiifname { "eth2" } ip daddr 198.18.8.2 tcp dport 443 accept',
        nft=True,
    )
    bad = failed(b)
    assert set(bad) == {"filters: internet -> edge1 eth2 (isp-a)", "filters: rules of edge1"}
    assert len(bad["filters: internet -> edge1 eth2 (isp-a)"].details) == 8  # every published service
    assert any(
        d.startswith('forward: \'iifname { "eth2" } ip daddr 198.18.8.2 tcp dport 443 accept')
        and "is overridden: a bug" in d
        for d in bad["filters: rules of edge1"].details
    )


def test_ios_edge_acl_bogons_and_published_services() -> None:
    """EDGE-IN's bogon entries are live on an Internet-facing port (the source is any address); a bogon entry
    that matches nothing, or a published service the ACL no longer permits, is still reported."""
    a = seeded(
        "production",
        "edge1",
        " 220 permit tcp any host 203.0.113.10 eq 443\n",
        " 215 deny ip 10.0.0.0 0.255.255.255 any\n 220 permit tcp any host 203.0.113.10 eq 443\n",
    )
    bad = failed(a)
    assert set(bad) == {"filters: rules of edge1"}
    assert bad["filters: rules of edge1"].details == [
        "EDGE-IN-ISP-A 215 'deny ip 10.0.0.0 0.255.255.255 any' never decides (redundant): "
        "20 'deny ip 10.0.0.0 0.255.255.255 any' matches first"
    ]
    b = seeded("production", "edge1", " 220 permit tcp any host 203.0.113.10 eq 443\n", "")
    assert (
        failed(b)["filters: internet -> edge1 GigabitEthernet0/0/1 (isp-a)"]
        .details[0]
        .startswith("published portal-a tcp/443: model allow, rendered deny (EDGE-IN-ISP-A ")
    )


def test_bgp_to_an_isp_pairs_with_the_declared_uplink() -> None:
    """An eBGP session to an ISP has no device on the other end; it is judged against the model's uplink."""
    assert CLEAN["lab"].checks and not failed(CLEAN["lab"]).get("pairing: bgp edge1")
    wrong_as = seeded(
        "lab", "edge1", " neighbor 198.18.130.0 remote-as 64500\n", " neighbor 198.18.130.0 remote-as 64999\n"
    )
    assert failed(wrong_as)["pairing: bgp edge1"].details == [
        "neighbor 198.18.130.0 (isp-a): remote-as 64999, the model's isp-a is AS 64500"
    ]
    gone = seeded(
        "production", "edge1", " neighbor 192.0.2.0 remote-as 64500\n", " neighbor 192.0.2.8 remote-as 64500\n"
    )
    assert failed(gone)["pairing: bgp edge1"].details[:2] == [
        "uplink isp-a (GigabitEthernet0/0/1, peer 192.0.2.0 AS 64500): no neighbor 192.0.2.0 in the text",
        "external neighbor 192.0.2.8 (AS 64500): not on a connected subnet",
    ]


# ------------------------------------------------------------------------------------------- seeded faults: pairing


def test_ospf_timer_mismatch() -> None:
    a = seeded(
        "lab",
        "health-r1",
        " description to core1 eth6 (fibre 1000 Mb/s)\n ip address 198.18.1.27/31\n ip ospf area 0.0.0.0\n"
        " ip ospf network point-to-point\n ip ospf cost 10\n ip ospf hello-interval 1\n",
        " description to core1 eth6 (fibre 1000 Mb/s)\n ip address 198.18.1.27/31\n ip ospf area 0.0.0.0\n"
        " ip ospf network point-to-point\n ip ospf cost 10\n ip ospf hello-interval 2\n",
    )
    bad = failed(a)
    assert bad["pairing: link core1:eth6--health-r1:eth1"].details == ["OSPF hello: core1 eth6 1, health-r1 eth1 2"]
    # no adjacency over it: the analysis now routes health over core2, and its second uplink is now a single point
    assert "n-1: link core2:eth5--health-r1:eth2" in bad


def test_ios_area_and_network_type_mismatch() -> None:
    a = seeded(
        "production",
        "health-r1",
        " network 10.255.1.26 0.0.0.1 area 0\n",
        " network 10.255.1.26 0.0.0.1 area 1\n",
    )
    b = seeded(
        "production",
        "health-r1",
        " ip ospf cost 50\n ip ospf hello-interval 3\n ip ospf dead-interval 12\n ip ospf retransmit-interval 5\n"
        " ip ospf authentication message-digest\n ip ospf message-digest-key 1 md5 <vault:ospf_key>\n",
        " ip ospf cost 50\n ip ospf hello-interval 3\n ip ospf dead-interval 12\n ip ospf retransmit-interval 5\n",
    )
    assert failed(a)["pairing: link core1:eth6--health-r1:eth1"].details == [
        "OSPF area: core1 TenGigabitEthernet0/0/5 0.0.0.0, health-r1 GigabitEthernet0/0/0 0.0.0.1"
    ]
    assert failed(b)["pairing: link core2:eth5--health-r1:eth2"].details == [
        "OSPF authentication: core2 TenGigabitEthernet0/0/4 message-digest, health-r1 GigabitEthernet0/0/1 none",
        "OSPF key ids: core2 TenGigabitEthernet0/0/4 1, health-r1 GigabitEthernet0/0/1 none",
    ]


def test_subnet_mismatch() -> None:
    a = seeded("lab", "health-sw1", " ip address 198.18.1.31/31\n", " ip address 198.18.1.33/31\n")
    assert "subnet: health-r1 eth3 198.18.1.30/31, health-sw1 eth1 198.18.1.33/31" in (
        failed(a)["pairing: link health-r1:eth3--health-sw1:eth1"].details
    )


def test_duplicate_address() -> None:
    a = seeded("lab", "health-sw1", " ip address 198.18.0.15/32\n", " ip address 198.18.0.1/32\n")
    bad = failed(a)
    assert bad["pairing: addresses owned once"].details == ["198.18.0.1 is owned by core1 lo, health-sw1 lo"]
    assert "pairing: bgp health-sw1" in bad  # its sessions now start from core1's address


def test_bgp_remote_as_mismatch() -> None:
    a = seeded("lab", "health-r1", " neighbor 198.18.0.1 remote-as 65010\n", " neighbor 198.18.0.1 remote-as 65011\n")
    assert failed(a)["pairing: bgp health-r1"].details == [
        "neighbor 198.18.0.1 (core1): remote-as 65011, core1 is AS 65010"
    ]


# ------------------------------------------------------------------------------------------- seeded faults: N-1


def test_link_whose_failure_isolates_a_critical_site_frr() -> None:
    """Take OSPF off health's second uplink: the first becomes a single point of failure for a critical site."""
    a = seeded(
        "lab",
        "health-r1",
        " ip address 198.18.1.29/31\n ip ospf area 0.0.0.0\n",
        " ip address 198.18.1.29/31\n",
    )
    bad = failed(a)
    n1 = bad["n-1: link core1:eth6--health-r1:eth1"]
    assert n1.details[0] == "critical site health loses the DC"
    assert bad["pairing: link core2:eth5--health-r1:eth2"].details == ["health-r1 eth2: OSPF does not run here"]
    assert "n-1: device core1" in bad


def test_link_whose_failure_isolates_a_critical_site_ios() -> None:
    a = seeded("production", "health-r1", " network 10.255.1.28 0.0.0.1 area 0\n", "")
    assert failed(a)["n-1: link core1:eth6--health-r1:eth1"].details[0] == "critical site health loses the DC"


# ------------------------------------------------------------------------------------------- reports


def test_junit_one_testcase_per_check_unique_names() -> None:
    a = seeded("lab", "health-r1", " neighbor 198.18.0.1 remote-as 65010\n", " neighbor 198.18.0.1 remote-as 1\n")
    root = ET.fromstring(junit_xml("govnet-analyze-lab", cases(a)))
    tests = root.findall("./testsuite/testcase")
    names = [t.get("name") for t in tests]
    assert len(names) == len(a.checks) == len(set(names))
    failures = [t for t in tests if t.find("failure") is not None]
    assert [t.get("name") for t in failures] == [c.name for c in a.failed]
    assert root.find("testsuite").get("failures") == str(len(a.failed))  # type: ignore[union-attr]


def test_markdown_names_the_failures() -> None:
    a = seeded("lab", "health-sw1", " ip address 198.18.0.15/32\n", " ip address 198.18.0.1/32\n")
    md = markdown(a)
    assert re.search(r"\*\*\d+ check\(s\) fail\*\*", md)
    assert "- **pairing: addresses owned once**: 1 duplicate(s)" in md
    assert "| pairing | 82 | 4 |" in md  # the duplicate and the three sessions it breaks (the edge: 2 links, 2 BGP)


def test_analyze_reads_a_directory_of_rendered_files(tmp_path: Path) -> None:
    net: Network = NETS["lab"]
    for name, t in TEXTS["lab"].items():
        (tmp_path / f"{name}.cfg").write_text(t.config.replace("hello-interval 1\n", "hello-interval 5\n", 1))
        if t.nft:
            (tmp_path / f"{name}.nft").write_text(t.nft)
    (tmp_path / "core1.cfg").unlink()
    junit = tmp_path / "out" / "analyze.xml"
    assert analyze_command(net, tmp_path, junit=junit) == 1
    text = junit.read_text()
    assert 'name="references: every device has a config"' in text
    with pytest.raises(BadInput, match="not a directory"):
        analyze_command(net, tmp_path / "nope")


def test_without_frr_reload_the_frr_analysis_stops_with_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(frr, "FRR_RELOAD", Path("/nonexistent/frr-reload.py"))
    frr.frr_reload.cache_clear()
    try:
        with pytest.raises(BadInput, match=r"frr-reload.py is missing: install the Debian package frr-pythontools"):
            analyze_command(NETS["lab"])
        assert parse("core1", TEXTS["production"]["core1"]).bgp is not None  # IOS needs no frr-reload
    finally:
        frr.frr_reload.cache_clear()


def test_texts_type_is_what_render_gives() -> None:
    t = TEXTS["lab"]["health-sw1"]
    assert isinstance(t, Texts) and t.platform == "frr" and t.nft and "table inet govnet" in t.nft
    assert TEXTS["production"]["health-sw1"].nft is None


def test_cli_exit_codes(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from govnet.cli.app import app

    inv = str(ROOT / "inventory" / "karbala")
    ok = CliRunner().invoke(
        app, ["-i", inv, "analyze", "--junit", str(tmp_path / "a.xml"), "--markdown", str(tmp_path / "a.md")]
    )
    assert ok.exit_code == 0, ok.output
    assert "passes" in (tmp_path / "a.md").read_text() and (tmp_path / "a.xml").is_file()
    bad = CliRunner().invoke(app, ["-i", inv, "analyze", "--configs", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and bad.output.strip().endswith("nope: not a directory of rendered configs")
