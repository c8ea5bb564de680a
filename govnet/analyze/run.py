"""`govnet analyze`: rendered texts → facts → checks → one Analysis.

The texts are either rendered in memory from the model's render step (`rendered_texts`) or read from a directory
(`read_texts`: `<device>.cfg`, and `<device>.nft` for a device whose platform enforces the policy in nftables).
From there on only the texts are read; the model gives the intent (see govnet.analyze.checks).
"""

from __future__ import annotations

import multiprocessing
import os
from dataclasses import dataclass, field
from pathlib import Path

from govnet.analyze.checks import Check, check_filters, check_n1, check_pairing, check_references
from govnet.analyze.facts import Facts
from govnet.analyze.frr import parse_frr
from govnet.analyze.ios import parse_ios
from govnet.analyze.nft import parse_ruleset
from govnet.model.derived import Network
from govnet.policy import render_nftables
from govnet.render import render_device

FAMILIES = ("filters", "references", "pairing", "n-1")


@dataclass(frozen=True)
class Texts:
    """What ships to one device: its config and, where the platform has one, its nftables ruleset."""

    platform: str
    config: str
    nft: str | None = None


@dataclass
class Analysis:
    network: str
    env: str
    platform: str
    devices: int
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]


def rendered_texts(network: Network) -> dict[str, Texts]:
    """The render step's output, in memory (secrets stay `<vault:NAME>` placeholders)."""
    return {
        name: Texts(dev.platform, render_device(network, name), render_nftables(network, name))
        for name, dev in network.devices.items()
    }


def read_texts(network: Network, directory: Path) -> dict[str, Texts]:
    """Rendered files from *directory* for every device of the model (a missing file is a missing config)."""
    out = {}
    for name, dev in network.devices.items():
        cfg, nft = directory / f"{name}.cfg", directory / f"{name}.nft"
        if cfg.is_file():
            out[name] = Texts(dev.platform, cfg.read_text(), nft.read_text() if nft.is_file() else None)
    return out


def parse(name: str, texts: Texts) -> Facts:
    facts = parse_ios(name, texts.config) if texts.platform == "cisco_ios" else parse_frr(name, texts.config)
    if texts.nft is not None:
        facts.nft = parse_ruleset(texts.nft)
    return facts


PARALLEL_FROM = 200
_SHARED: dict[str, Texts] = {}


def _parse_shared(name: str) -> Facts:
    return parse(name, _SHARED[name])


def parse_all(texts: dict[str, Texts]) -> dict[str, Facts]:
    """Parse every device; large sets on every core (forked workers read the texts they inherit)."""
    workers = min(os.cpu_count() or 1, 8)
    names = sorted(texts)
    serial = multiprocessing.current_process().daemon  # a pool's worker (impact's other side) has no children
    if serial or len(names) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return {n: parse(n, texts[n]) for n in names}
    global _SHARED
    _SHARED = texts
    try:
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parsed = pool.map(_parse_shared, names, chunksize=max(1, len(names) // (workers * 4)))
    finally:
        _SHARED = {}
    return dict(zip(names, parsed, strict=True))


def analyze(network: Network, texts: dict[str, Texts]) -> Analysis:
    return check_all(network, parse_all(texts))


def check_all(network: Network, facts: dict[str, Facts]) -> Analysis:
    """Every check over parsed texts (facts are only read)."""
    result = Analysis(network.name, network.env, network.platform, len(facts))
    missing = sorted(set(network.devices) - set(facts))
    if missing:
        result.checks.append(
            Check("references", "references: every device has a config", False, f"{len(missing)} missing", missing)
        )
    result.checks += check_filters(network, facts)
    result.checks += check_references(facts)
    result.checks += check_pairing(network, facts)
    result.checks += check_n1(network, facts)
    return result
