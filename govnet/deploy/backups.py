"""Pre-change configs kept per device: ``build/<env>/backups/<device>/<id>.cfg`` (id = UTC timestamp).

Plain text files in a directory tree, so the tree can be diffed with git. A backup equal to the device's latest one
is not written again (a no-change deploy adds no files). A running config holds the routing-protocol keys in clear
(OSPF MD5 keys, BGP passwords) and a rollback must restore them, so backups are not masked: each file is mode 0600
in a 0700 folder, readable by the deploying account only, and never committed (docs/deploy.md).
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from pathlib import Path

ID_RE = re.compile(r"^\d{8}T\d{6}(?:\.\d{3})?Z$")


def deploy_dir(env: str) -> Path:
    """build/<env> (backups/, audit.jsonl); GOVNET_DEPLOY_DIR moves it."""
    return Path(os.environ.get("GOVNET_DEPLOY_DIR") or Path("build") / env)


@dataclass(frozen=True)
class Backup:
    device: str
    id: str
    path: Path

    def text(self) -> str:
        return self.path.read_text()


class BackupStore:
    """Backups of one environment."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def list(self, device: str) -> list[Backup]:
        """Oldest first."""
        folder = self.root / device
        if not folder.is_dir():
            return []
        return [Backup(device, p.stem, p) for p in sorted(folder.glob("*.cfg")) if ID_RE.match(p.stem)]

    def latest(self, device: str) -> Backup | None:
        found = self.list(device)
        return found[-1] if found else None

    def get(self, device: str, backup_id: str | None) -> Backup:
        """The named backup (or the latest); ValueError naming what exists otherwise."""
        found = self.list(device)
        if not found:
            raise ValueError(f"no backups of {device} in {self.root / device}")
        if backup_id is None:
            return found[-1]
        for b in found:
            if b.id == backup_id:
                return b
        raise ValueError(f"{device}: no backup {backup_id!r} (latest: {found[-1].id})")

    def save(self, device: str, config: str) -> Backup:
        """Keep *config*; reuse the latest backup when it is identical."""
        last = self.latest(device)
        if last is not None and last.text() == config:
            return last
        folder = self.root / device
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        folder.chmod(0o700)
        now = time.time()
        backup_id = time.strftime("%Y%m%dT%H%M%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z"
        path = folder / f"{backup_id}.cfg"
        tmp = path.with_suffix(".tmp")
        tmp.touch(mode=0o600)  # running configs carry routing keys in clear: readable by their owner only
        tmp.chmod(0o600)
        tmp.write_text(config)
        tmp.replace(path)
        return Backup(device, backup_id, path)
