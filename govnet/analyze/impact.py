"""`govnet impact --base REV`: what a change does, between the inventory and templates at git revision REV and
the working tree.

Both sides are rendered by the code of the working tree: REV's inventory directory (lock file included) and REV's
`network_templates/` are extracted with `git archive` into a temporary directory, and a forked worker renders them
with the template directory pointed there (alongside the working tree's render and parse, on the second core).
Each side becomes a Snapshot read from its rendered text: configs, addresses, flow verdicts, paths to the DC; a
device whose text is the same on both sides is parsed once.
"""

from __future__ import annotations

import difflib
import io
import multiprocessing
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from govnet.analyze.checks import dc_paths, flow_verdicts, ospf_graph, site_sources
from govnet.analyze.facts import Facts
from govnet.analyze.run import Texts, parse_all, rendered_texts
from govnet.model import InventoryError, build
from govnet.model.derived import Network


class ImpactError(Exception):
    """A revision that cannot be read or built: one line for the user."""


@dataclass
class Snapshot:
    texts: dict[str, Texts]
    addresses: dict[str, str]  # "device interface" -> address/prefix
    verdicts: dict[str, bool | None]
    paths: dict[str, list[str] | None]


@dataclass
class Impact:
    base: str
    env: str
    diffs: dict[str, str] = field(default_factory=dict)  # device -> unified diff ("" for none)
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    moved: list[tuple[str, str, str]] = field(default_factory=list)  # (device interface, before, after)
    verdicts: list[tuple[str, str, str]] = field(default_factory=list)  # (probe, before, after)
    paths: list[tuple[str, list[str] | None, list[str] | None]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "base": self.base,
            "env": self.env,
            "changed_devices": sorted(self.diffs),
            "added_devices": self.added,
            "removed_devices": self.removed,
            "diffs": self.diffs,
            "moved_addresses": [{"where": w, "before": a, "after": b} for w, a, b in self.moved],
            "verdict_changes": [{"probe": p, "before": a, "after": b} for p, a, b in self.verdicts],
            "path_changes": [{"site": s, "before": a, "after": b} for s, a, b in self.paths],
        }


def rendered(inventory: Path, env: str) -> tuple[Network, dict[str, Texts]]:
    network = build(inventory, env).network
    return network, rendered_texts(network)


def snapshot(network: Network, texts: dict[str, Texts], facts: dict[str, Facts]) -> Snapshot:
    addresses = {
        f"{name} {iface.name}": iface.address.with_prefixlen
        for name, f in facts.items()
        for iface in f.interfaces.values()
        if iface.address is not None
    }
    paths = dc_paths(ospf_graph(network, facts), site_sources(network))
    return Snapshot(texts, addresses, flow_verdicts(network, facts), paths)


def _at_revision(templates: Path, inventory: Path, env: str) -> tuple[Network, dict[str, Texts]] | str:
    """In a forked worker: render with *templates* as the template directory (caches cleared first)."""
    from govnet import render
    from govnet.model import derive, platform

    platform.TEMPLATES = derive.TEMPLATES = render.TEMPLATES = templates
    platform.load_platform.cache_clear()
    render.environment.cache_clear()
    try:
        return rendered(inventory, env)
    except InventoryError as exc:
        return "; ".join(str(p) for p in exc.errors[:5])
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def extract(repo: Path, rev: str, inventory: Path, into: Path) -> Path:
    """REV's inventory directory and templates under *into*; returns the inventory's path there."""
    inv = inventory.resolve().relative_to(repo)
    proc = subprocess.run(
        ["git", "-C", str(repo), "archive", "--format=tar", rev, "--", str(inv), "network_templates"],
        capture_output=True,
        check=False,
    )
    if proc.returncode != 0:
        why = proc.stderr.decode(errors="replace").strip().splitlines()
        raise ImpactError(f"impact: cannot read {inv} and network_templates at {rev!r}: {why[-1] if why else '?'}")
    with tarfile.open(fileobj=io.BytesIO(proc.stdout)) as tar:
        tar.extractall(into, filter="data")
    return into / inv


def repo_root(path: Path) -> Path:
    proc = subprocess.run(
        ["git", "-C", str(path), "rev-parse", "--show-toplevel"], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise ImpactError(f"impact: {path} is not inside a git repository")
    return Path(proc.stdout.strip())


def impact(inventory: Path, env: str, rev: str) -> Impact:
    repo = repo_root(inventory.resolve())
    with tempfile.TemporaryDirectory(prefix="govnet-impact-") as tmp:
        old_inventory = extract(repo, rev, inventory, Path(tmp))
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            pending = pool.apply_async(_at_revision, (Path(tmp) / "network_templates", old_inventory, env))
            network, texts = rendered(inventory, env)
            facts = parse_all(texts)  # while the worker renders REV
            base = pending.get()
    if isinstance(base, str):
        raise ImpactError(f"impact: the inventory at {rev} does not build: {base}")
    old_network, old_texts = base
    # a device whose text did not change reads the same: parse only what changed
    changed = {n: t for n, t in old_texts.items() if texts.get(n) != t}
    old_facts = {n: facts[n] for n in old_texts if n not in changed} | parse_all(changed)
    return compare(rev, env, snapshot(old_network, old_texts, old_facts), snapshot(network, texts, facts))


def _diff(device: str, rev: str, a: str, b: str) -> str:
    lines = difflib.unified_diff(a.splitlines(True), b.splitlines(True), f"{rev}:{device}", device, n=2)
    return "".join(lines)


def compare(rev: str, env: str, old: Snapshot, new: Snapshot) -> Impact:
    out = Impact(rev, env)
    out.added = sorted(set(new.texts) - set(old.texts))
    out.removed = sorted(set(old.texts) - set(new.texts))
    for name in sorted(set(old.texts) & set(new.texts)):
        a, b = old.texts[name], new.texts[name]
        diff = _diff(f"{name}.cfg", rev, a.config, b.config) + _diff(f"{name}.nft", rev, a.nft or "", b.nft or "")
        if diff:
            out.diffs[name] = diff
    for where in sorted(set(old.addresses) & set(new.addresses)):
        if old.addresses[where] != new.addresses[where]:
            out.moved.append((where, old.addresses[where], new.addresses[where]))
    for probe in sorted(set(old.verdicts) | set(new.verdicts)):
        a_ok = _verdict(old.verdicts[probe]) if probe in old.verdicts else "no such flow"
        b_ok = _verdict(new.verdicts[probe]) if probe in new.verdicts else "no such flow"
        if a_ok != b_ok:
            out.verdicts.append((probe, a_ok, b_ok))
    for site in sorted(set(old.paths) | set(new.paths)):
        if old.paths.get(site) != new.paths.get(site):
            out.paths.append((site, old.paths.get(site), new.paths.get(site)))
    return out


def _verdict(ok: bool | None) -> str:
    return "unknown" if ok is None else "allow" if ok else "deny"


def _path(p: list[str] | None) -> str:
    return " > ".join(p) if p else "no path"


def text_report(i: Impact, show_diffs: bool = True) -> str:
    lines = [f"impact of the working tree against {i.base} ({i.env})"]
    lines.append(f"devices whose config changes: {len(i.diffs)}" + (f" ({', '.join(i.diffs)})" if i.diffs else ""))
    if i.added or i.removed:
        lines.append(f"devices added: {', '.join(i.added) or '-'}; removed: {', '.join(i.removed) or '-'}")
    lines.append(f"addresses that move: {len(i.moved)}")
    lines += [f"  {w}: {a} -> {b}" for w, a, b in i.moved]
    lines.append(f"flow verdicts that change: {len(i.verdicts)}")
    lines += [f"  {p}: {a} -> {b}" for p, a, b in i.verdicts[:200]]
    lines.append(f"sites whose path to the DC changes: {len(i.paths)}")
    lines += [f"  {s}: {_path(a)}  ->  {_path(b)}" for s, a, b in i.paths]
    if show_diffs:
        for diff in i.diffs.values():
            lines.append(diff.rstrip("\n"))
    return "\n".join(lines) + "\n"


def markdown(i: Impact) -> str:
    lines = [
        f"### govnet impact against `{i.base}` (`{i.env}`)",
        "",
        "| what | count |",
        "|---|---:|",
        f"| devices whose config changes | {len(i.diffs)} |",
        f"| devices added / removed | {len(i.added)} / {len(i.removed)} |",
        f"| addresses that move | {len(i.moved)} |",
        f"| flow verdicts that change | {len(i.verdicts)} |",
        f"| sites whose path to the DC changes | {len(i.paths)} |",
    ]
    if i.moved:
        lines += ["", "**Addresses that move** (the IPAM lock should prevent this):", ""]
        lines += [f"- `{w}`: {a} → {b}" for w, a, b in i.moved[:50]]
    if i.verdicts:
        lines += ["", "<details><summary>Flow verdicts that change</summary>", ""]
        lines += [f"- `{p}`: {a} → {b}" for p, a, b in i.verdicts[:100]]
        lines += ["", "</details>"]
    if i.paths:
        lines += ["", "<details><summary>Paths to the DC that change</summary>", ""]
        lines += [f"- {s}: {_path(a)} → {_path(b)}" for s, a, b in i.paths]
        lines += ["", "</details>"]
    for name, diff in list(i.diffs.items())[:20]:
        lines += ["", f"<details><summary>{name}</summary>", "", "```diff", diff.rstrip("\n"), "```", "", "</details>"]
    return "\n".join(lines) + "\n"
