"""Append-only, hash-chained audit trail of every change govnet makes to a device.

One JSON object per line. Each record carries ``seq`` (1, 2, …), ``prev`` (the previous record's
hash) and ``hash`` = SHA-256 over the record's canonical JSON without ``hash``. Editing a record
breaks its own hash; removing one breaks the next record's ``prev`` and ``seq``; cutting records off
the end is caught by the head file (``<log>.head``: count and last hash, rewritten with each append).
Credentials never enter a record: diffs and errors are redacted before they are written.
"""

from __future__ import annotations

import fcntl
import getpass
import hashlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

GENESIS = "0" * 64
#: Config lines that may carry a secret (IOS secrets/passwords/keys, FRR OSPF/BGP/IS-IS keys, SNMP).
SECRET_LINE = re.compile(
    r"(?im)^(?P<keep>[ \t]*(?:no\s+)?\S.*?\b(?:secret|password|key-string|authentication-key|"
    r"message-digest-key\s+\d+\s+md5|community|key\s+\d+|neighbor\s+\S+\s+password))\s+\S.*$"
)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask secret-bearing config values and any known secret string."""
    text = SECRET_LINE.sub(lambda m: f"{m.group('keep')} <redacted>", text)
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


def _digest(record: dict[str, Any]) -> str:
    body = {k: v for k, v in record.items() if k != "hash"}
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def who() -> str:
    """The person behind the change: the sudo caller when run with sudo."""
    return os.environ.get("SUDO_USER") or getpass.getuser()


def git_revision(repo: Path, paths: tuple[str, ...] = ("inventory", "network_templates")) -> str:
    """HEAD of the git checkout ``repo`` lies in, ``+dirty`` when its inventory or templates have local edits."""

    def git(*args: str) -> str:
        proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    head = git("rev-parse", "HEAD")
    if not head:
        return "unknown"
    top = git("rev-parse", "--show-toplevel")
    dirty = git("-C", top, "status", "--porcelain", "--", *paths)
    return head + ("+dirty" if dirty else "")


@dataclass(frozen=True)
class Problem:
    """One way the log fails verification."""

    line: int
    what: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.what}"


class AuditLog:
    """The trail of one environment (``build/<env>/audit.jsonl``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.head = path.with_name(path.name + ".head")

    def records(self) -> Iterator[dict[str, Any]]:
        """Records in order (unverified: use verify() before trusting them)."""
        if not self.path.exists():
            return
        with open(self.path) as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)

    def append(self, **fields: Any) -> dict[str, Any]:
        """Add one record at the end of the chain (serialised across processes by a lock)."""
        return self.extend([fields])[0]

    def extend(self, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Add records at the end of the chain, in order: one lock, one write and one fsync for all of them."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            seq, prev = self._tail()
            records = []
            for fields in entries:
                seq += 1
                record = {"seq": seq, "prev": prev, "time": time.time(), **fields}
                record["hash"] = prev = _digest(record)
                records.append(record)
            if not records:
                return records
            with open(self.path, "a") as fh:
                fh.write("".join(json.dumps(r, sort_keys=True) + "\n" for r in records))
                fh.flush()
                os.fsync(fh.fileno())
            tmp = self.head.with_suffix(".tmp")
            tmp.write_text(json.dumps({"count": seq, "hash": prev}) + "\n")
            os.replace(tmp, self.head)
        return records

    def _tail(self) -> tuple[int, str]:
        """Sequence number and hash of the last record (read from the end: the log only grows)."""
        if not self.path.exists():
            return 0, GENESIS
        with open(self.path, "rb") as fh:
            end = fh.seek(0, os.SEEK_END)
            block, data = 4096, b""
            while end > 0 and data.strip().count(b"\n") < 1:
                start = max(0, end - block)
                fh.seek(start)
                data = fh.read(end - start) + data
                end = start
                block *= 2
        lines = [line for line in data.splitlines() if line.strip()]
        if not lines:
            return 0, GENESIS
        last = json.loads(lines[-1])
        return int(last["seq"]), str(last["hash"])

    def verify(self) -> list[Problem]:
        """Every break in the chain: edited, removed, reordered or truncated records."""
        problems: list[Problem] = []
        prev, seq, lineno = GENESIS, 0, 0
        if self.path.exists():
            with open(self.path) as fh:
                for lineno, line in enumerate(fh, 1):
                    try:
                        record = json.loads(line)
                    except ValueError:
                        problems.append(Problem(lineno, "not a JSON record"))
                        continue
                    problems += _check(record, lineno, seq, prev)
                    seq, prev = int(record.get("seq", seq + 1)), str(record.get("hash", ""))
        problems += self._check_head(lineno, seq, prev)
        return problems

    def _check_head(self, lineno: int, seq: int, last: str) -> list[Problem]:
        if not self.head.exists():
            return [Problem(lineno, f"head file {self.head} missing")] if seq else []
        head = json.loads(self.head.read_text())
        if head.get("count") != seq or head.get("hash") != last:
            return [
                Problem(
                    lineno,
                    f"log ends at record {seq} but {self.head.name} says {head.get('count')}: "
                    "records were removed from the end",
                )
            ]
        return []


def _check(record: dict[str, Any], lineno: int, seq: int, prev: str) -> list[Problem]:
    problems = []
    if record.get("hash") != _digest(record):
        problems.append(Problem(lineno, f"record {record.get('seq')} was edited (hash mismatch)"))
    if record.get("seq") != seq + 1:
        problems.append(Problem(lineno, f"record {seq + 1} is missing (found {record.get('seq')})"))
    elif record.get("prev") != prev:
        problems.append(Problem(lineno, f"record {record.get('seq')} does not follow the previous one"))
    return problems
