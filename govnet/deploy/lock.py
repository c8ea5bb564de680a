"""One deploy at a time per environment: a controller-side lock that every entry point takes.

The lock is ``fcntl.flock`` on ``build/<env>/deploy.lock``. The kernel releases it when its holder's process ends,
however it ends, so a dead holder never leaves a stale lock behind. While it holds the lock, the holder writes who it
is (user, host, pid, run id, since when) into the file, so a refused deploy can name it in one line. Dry runs and
drift reads take no lock: they change nothing.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

LOCK_NAME = "deploy.lock"
POLL_S = 0.2


class DeployLocked(RuntimeError):
    """Another deploy of this environment holds the lock."""

    def __init__(self, path: Path, holder: dict[str, Any], waited: float | None) -> None:
        self.path, self.holder, self.waited = path, holder, waited
        super().__init__(self.line())

    def line(self) -> str:
        h = self.holder
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(h["since"])) if "since" in h else "unknown time"
        who = f"{h.get('user', '?')}@{h.get('host', '?')} (pid {h.get('pid', '?')}, run {h.get('run', '?')})"
        waited = f" after waiting {self.waited:g} s" if self.waited else ""
        return f"another deploy holds {self.path}{waited}: {who} since {since}; wait for it, or retry with --wait"


@dataclass
class DeployLock:
    """Hold the environment's deploy lock for a ``with`` block (``wait``: seconds to wait for it; None = do not)."""

    workdir: Path
    run_id: str
    user: str
    wait: float | None = None
    _fh: IO[str] | None = None

    @property
    def path(self) -> Path:
        return self.workdir / LOCK_NAME

    def holder(self) -> dict[str, Any]:
        """Who holds the lock, as its holder wrote it (empty while it is being written)."""
        try:
            data = json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def __enter__(self) -> DeployLock:
        self.workdir.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+")  # held open for the whole deploy
        deadline = None if self.wait is None else time.monotonic() + self.wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is None or time.monotonic() >= deadline:
                    holder = self.holder()
                    fh.close()
                    raise DeployLocked(self.path, holder, self.wait) from None
                time.sleep(POLL_S)
        me = {"user": self.user, "host": socket.gethostname(), "pid": os.getpid(), "run": self.run_id}
        fh.seek(0)
        fh.truncate()
        fh.write(json.dumps({**me, "since": time.time()}) + "\n")
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            self._fh.seek(0)
            self._fh.truncate()  # nobody holds it: a reader finds no holder
            self._fh.flush()
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None


_SHARED: dict[Path, list[Any]] = {}  # workdir → [DeployLock, users]: one holder for a whole process
_SHARED_GUARD = threading.Lock()


@contextmanager
def held_by_this_process(workdir: Path, run_id: str, user: str, wait: float | None = None) -> Iterator[DeployLock]:
    """The lock for an entry point that changes many devices from one process at once (the Pulumi provider's
    resources run side by side): the first operation takes it, the last one gives it back; another process is
    refused (or waits) as with `govnet deploy`."""
    key = workdir.resolve()
    with _SHARED_GUARD:
        entry = _SHARED.get(key)
        if entry is None:
            lock = DeployLock(workdir, run_id, user, wait)
            lock.__enter__()  # DeployLocked when another process holds it
            entry = _SHARED[key] = [lock, 0]
        entry[1] += 1
    try:
        yield entry[0]
    finally:
        with _SHARED_GUARD:
            entry[1] -= 1
            if entry[1] == 0:
                entry[0].__exit__(None, None, None)
                del _SHARED[key]
