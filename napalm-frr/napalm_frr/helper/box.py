"""One FRR instance's state directory on the box: its files, its lock, and writing them safely."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import tempfile
import time
from pathlib import Path

from napalm_frr.helper import paths

TYPE_CHECKING = False  # not typing's: the helper starts on every request, typing is only for the checkers
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any

INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class HelperError(Exception):
    """An operation failed; the message is shown to the controller as is."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class UsageError(Exception):
    """The request itself is malformed (exit 2)."""


class Box:
    """Where one FRR instance keeps its helper state, and how to reach its vtysh."""

    __slots__ = ("instance", "state")

    def __init__(self, instance: str, state: Path) -> None:
        self.instance = instance
        self.state = state

    @property
    def checkpoint(self) -> Path:
        return self.state / "checkpoint.conf"

    @property
    def nft_checkpoint(self) -> Path:
        return self.state / "checkpoint.nft"

    @property
    def applied(self) -> Path:
        return self.state / "applied.json"

    @property
    def pending(self) -> Path:
        return self.state / "pending.json"

    @property
    def history(self) -> Path:
        return self.state / "history.jsonl"

    @property
    def lockfile(self) -> Path:
        return self.state / "lock"

    @property
    def timer_log(self) -> Path:
        return self.state / "timer.log"

    @property
    def checked(self) -> Path:
        return self.state / "checked.json"

    @property
    def applied_config(self) -> Path:
        return self.state / "applied.conf"

    @property
    def startup(self) -> Path:
        return Path(paths.FRR_CONF_BASE, self.instance, "frr.conf")


def state_dir(instance: str) -> Path:
    """:func:`napalm_frr.helper.paths.state_path` as a path."""
    return Path(paths.state_path(instance))


def open_box(instance: str) -> Box:
    """Validate the instance name ("" is the box's default instance) and make sure its state directory exists."""
    if instance and not INSTANCE_RE.match(instance):
        raise UsageError(f"invalid FRR instance name {instance!r}")
    state = state_dir(instance)
    try:
        state.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise HelperError(f"cannot create state directory {state}: {exc.strerror}") from exc
    if not os.access(state, os.W_OK):
        raise HelperError(f"state directory {state} is not writable by uid {os.getuid()}")
    return Box(instance, state)


@contextlib.contextmanager
def locked(box: Box) -> Iterator[None]:
    """Serialise every state change of one instance (controller, timer, a second controller)."""
    with open(box.lockfile, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def read_pending(box: Box) -> dict[str, Any] | None:
    """The pending (unconfirmed) commit, if any."""
    try:
        data: dict[str, Any] = json.loads(box.pending.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise HelperError(f"unreadable {box.pending}: {exc}") from exc
    return data


def write_atomic(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so a crash never leaves half a file."""
    write_atomic_bytes(path, text.encode())


def write_atomic_bytes(path: Path, data: bytes, mode: int | None = None) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".")
    if mode is not None:
        os.fchmod(fd, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def record(box: Box, event: str, **fields: Any) -> None:
    """Append one line to the instance's local history (what happened, when, by whom)."""
    entry = {"time": time.time(), "event": event, "user": _user(), **fields}
    with open(box.history, "a") as fh:
        fh.write(json.dumps(entry, sort_keys=True) + "\n")


def _user() -> str:
    """Who asked: the SSH login, for the local history."""
    return os.environ.get("USER") or os.environ.get("LOGNAME") or str(os.getuid())


def scratch(box: Box, prefix: str, suffix: str, text: str) -> Path:
    with tempfile.NamedTemporaryFile("w", dir=box.state, prefix=prefix, suffix=suffix, delete=False) as fh:
        fh.write(text)
    return Path(fh.name)


def pid_alive(pid: int | None, token: str, started: int | None = None) -> bool:
    """Is *pid* still our timer (and not a recycled pid of some other process)?

    A timer forked from the helper is known by its start time (*started*, in clock ticks since boot:
    a recycled pid cannot have the same); one run as a program by the token on its command line.
    """
    if not pid:
        return False
    if started is not None:
        return start_time(pid) == started
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return token.encode() in cmdline


def start_time(pid: int) -> int | None:
    """When *pid* started (clock ticks since boot), None if there is no such process (or only its zombie)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


def with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
