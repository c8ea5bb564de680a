"""An inventory with one department fewer: how the lab tests and the benchmark add and remove a department.

The copy keeps the IPAM lock, so the department's allocations stay reserved while it is away and come back
unchanged (as `govnet plan` promises), and nothing else moves.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path


def without_department(inventory: Path, site: str, dest: Path) -> Path:
    """Copy ``inventory`` to ``dest`` without ``site``: its entry in sites.yml, its links, its place in a phase."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(inventory, dest)
    sites = (dest / "sites.yml").read_text()
    block = re.compile(rf"^  - name: {re.escape(site)}\n(?:(?!  - name: ).*\n)*", re.MULTILINE)
    stripped, count = block.subn("", sites)
    if count != 1:
        raise ValueError(f"{inventory}/sites.yml: no site {site!r}")
    (dest / "sites.yml").write_text(stripped)
    links = (dest / "links.yml").read_text().splitlines(keepends=True)
    (dest / "links.yml").write_text("".join(ln for ln in links if f"device: {site}-" not in ln))
    gov = (dest / "governorate.yml").read_text()
    (dest / "governorate.yml").write_text(re.sub(rf"(\[[^\]\n]*?), {re.escape(site)}\b", r"\1", gov))
    return dest
