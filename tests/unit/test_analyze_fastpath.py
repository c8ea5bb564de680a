"""The filters check's nftables fast path (one verdict per chain signature, target and probe, the segments sharing
it counted) agrees with the per-probe walk, and both with a brute-force first-match oracle, on random rulesets."""

from __future__ import annotations

from ipaddress import IPv4Interface, IPv4Network

from hypothesis import given, settings
from hypothesis import strategies as st

from govnet.analyze.checks import Judge, Outside, _addr, _host, _opening
from govnet.analyze.facts import Facts, Iface
from govnet.analyze.nft import parse_ruleset
from govnet.model.derived import Segment, Service

PREFIXES = [IPv4Network(f"198.18.{i}.0/24") for i in range(8)]  # segment i holds PREFIXES[i]
SETS = ("zone_a", "zone_b", "zone_c")
PROBES = (Service("tcp", 22), Service("tcp", 443), Service("udp", 53), Service("icmp"), Service("tcp", 9999))

rule = st.tuples(
    st.sampled_from(SETS),
    st.sampled_from([(None, None), ("tcp", 22), ("tcp", 443), ("udp", 53), ("icmp", None), ("tcp", None)]),
    st.booleans(),
)
chain = st.lists(rule, max_size=6)
world = st.fixed_dictionaries(
    {
        "sets": st.fixed_dictionaries({s: st.sets(st.integers(0, 7), max_size=4) for s in SETS}),
        "chains": st.lists(chain, min_size=1, max_size=3),
        # segment i: (device, chain index or None: no jump)
        "segments": st.lists(st.tuples(st.integers(0, 2), st.none() | st.integers(0, 2)), min_size=1, max_size=8),
        "targets": st.lists(st.integers(0, 8), min_size=1, max_size=4, unique=True),  # 8: an Internet host
    }
)


def _text(sets: dict[str, set[int]], chains: list[list[tuple]], jumps: dict[str, int]) -> str:
    lines = ["table inet filter {"]
    for name, members in sets.items():
        lines += [f"  set {name} {{", "    type ipv4_addr", "    flags interval"]
        if members:
            lines.append(f"    elements = {{ {', '.join(str(PREFIXES[m]) for m in sorted(members))} }}")
        lines.append("  }")
    lines += ["  chain forward {", "    type filter hook forward priority 0; policy accept;"]
    lines += [f'    iifname "{i}" oifname != "{i}" jump seg_{c}' for i, c in jumps.items()]
    lines.append("  }")
    for n, rules in enumerate(chains):
        lines.append(f"  chain seg_{n} {{")
        for set_name, (proto, port), accept in rules:
            match = f"{proto} dport {port} " if port is not None else f"ip protocol {proto} " if proto else ""
            lines.append(f"    ip daddr @{set_name} {match}counter {'accept' if accept else 'drop'}")
        lines.append("  }")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _oracle(w: dict, chain_index: int | None, dst_index: int | None, probe: Service) -> bool:
    """First match wins over the generated rules (not the parsed text); no jump or no match: accepted."""
    if chain_index is None or chain_index >= len(w["chains"]):
        return True
    for set_name, (proto, port), accept in w["chains"][chain_index]:
        if dst_index is None or dst_index not in w["sets"][set_name]:
            continue
        if proto is not None and proto != probe.proto:
            continue
        if port is not None and port != probe.port:
            continue
        return accept
    return True


@settings(max_examples=200, deadline=None)
@given(world)
def test_fast_path_agrees_with_the_walk_and_the_oracle(w: dict) -> None:
    segments = [
        Segment(f"s{i}", "lan", "lan", 10 + i, p, IPv4Interface(f"{p[1]}/24"), f"d{dev}", f"e{i}", "z")
        for i, ((dev, _), p) in enumerate(zip(w["segments"], PREFIXES, strict=False))
    ]
    facts: dict[str, Facts] = {}
    for dev in {s.device for s in segments}:
        mine = [(i, c) for i, (d, c) in enumerate(w["segments"]) if f"d{d}" == dev]
        f = Facts(dev, "frr")
        for i, _ in mine:
            f.interfaces[f"e{i}"] = Iface(f"e{i}", segments[i].gateway)
        jumps = {f"e{i}": c for i, c in mine if c is not None and c < len(w["chains"])}
        f.nft = parse_ruleset(_text(w["sets"], w["chains"], jumps))
        facts[dev] = f
    targets: list[Segment | Outside] = [
        segments[t] if t < len(segments) else Outside("internet", PREFIXES[7][9]) for t in w["targets"]
    ]
    fast = Judge(facts)
    groups = fast.groups(segments)
    for probe in PROBES:
        walk = Judge(facts)
        verdicts = []
        for i, a in enumerate(segments):
            for b in targets:
                if a == b:
                    continue
                ok, _ = walk(a.device, _opening(probe, _host(a), _addr(b)))
                dst = next((n for n, p in enumerate(PREFIXES) if _addr(b) in p), None)
                assert ok is _oracle(w, w["segments"][i][1], dst, probe)
                verdicts.append(ok)
        for allowed in (True, False):
            expected = len(verdicts) if all(v is allowed for v in verdicts) else None
            assert fast.agreeing(groups, targets, probe, allowed) == expected
