"""What each device was last confirmed to run: ``build/<env>/pushed.json``, device → digest of its config.

A deploy skips a device whose rendered config and zone policy digest to what this record holds: the device
was seen running exactly that (a deploy confirmed it after its post-checks, or found nothing to change, or a
``drift`` read found no drift), and nothing since has said otherwise. Everything that can say otherwise forgets
the device: a failed or rolled-back push, a dry run or drift read that finds a difference, ``govnet rollback``,
a lab rebuilt or a device rebuilt by ``lab up`` on a running lab. An edit on the box that govnet does not see (by
hand, or another tool) is only found by a read: ``govnet drift`` (which forgets what drifted) or
``govnet deploy --all``, which connects to every selected device whatever the record says.

The digests are taken over the whole config, secret values included (a rotated key must change the digest). A
digest is no secret in clear, but it is one a guess could be checked against: the file is mode 0600, as private as
the backups beside it. Only the standard library here: the lab's command line forgets devices without importing
the device stack.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

FILE = "pushed.json"


def digest(config: str, policy: str | None) -> str:
    """The digest of what a deploy pushes to one device: its config and its nftables ruleset (or none)."""
    h = hashlib.sha256(config.encode())
    h.update(b"\0nftables\0" + (policy or "").encode())
    return h.hexdigest()


def load(workdir: Path) -> dict[str, str]:
    """device → digest; empty when there is no record (or an unreadable one: nothing is vouched for)."""
    try:
        data = json.loads((Path(workdir) / FILE).read_text())
    except (OSError, ValueError):
        return {}
    devices = data.get("devices") if isinstance(data, dict) else None
    if not isinstance(devices, dict):
        return {}
    return {k: v for k, v in devices.items() if isinstance(v, str)}


def update(workdir: Path, confirmed: Mapping[str, str], forget: Iterable[str] = ()) -> None:
    """Record *confirmed* (device → digest it was seen running) and drop *forget*; written atomically."""
    gone = set(forget)
    if not confirmed and not gone:
        return
    devices = load(workdir)
    devices.update(confirmed)
    for name in gone - set(confirmed):
        devices.pop(name, None)
    _write(Path(workdir), devices)


def forget(workdir: Path, names: Iterable[str] | None = None) -> None:
    """Drop *names* from the record (every device when None): they must be read again before a deploy skips them."""
    path = Path(workdir) / FILE
    if names is None:
        path.unlink(missing_ok=True)
        return
    names = set(names)
    devices = load(workdir)
    if names & set(devices):
        _write(Path(workdir), {k: v for k, v in devices.items() if k not in names})


def _write(workdir: Path, devices: dict[str, str]) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    tmp = workdir / f".{FILE}.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(json.dumps({"devices": dict(sorted(devices.items()))}, indent=1) + "\n")
    tmp.replace(workdir / FILE)
