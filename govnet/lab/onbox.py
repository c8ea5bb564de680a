"""On-box agent for an FRR router: replace with syntax check, commit confirmed, rollback.

FRR has no candidate datastore and no "commit confirmed". A controller that pushes a config and
then dies would leave the box in whatever state it reached. This agent runs *on the device* (the
SSH forced command hands it ``govnet-agent ...`` requests) and gives the controller Junos-like
guarantees:

* ``replace`` checks the whole candidate with ``vtysh --dryrun`` first and changes nothing if any
  line is bad; otherwise it saves a checkpoint of the running config and applies the candidate with
  ``frr-reload.py --reload`` (only the differing lines are sent, so adjacencies do not flap);
* with ``--revert-in SECONDS`` it also arms a detached timer process that restores the checkpoint
  unless ``confirm`` arrives in time; the timer survives the SSH session and the controller;
* ``status`` says whether a commit is pending; ``rollback`` restores the checkpoint now;
* the nftables zone policy (one table, ``inet govnet``) is part of the same commit: ``replace
  --with-nft`` takes the FRR config and the ruleset together, ``nft-apply`` the ruleset alone; both
  check it with ``nft -c`` first, and the checkpoint keeps the table as it was, so ``rollback`` and
  the revert timer restore the policy with the FRR config. ``nft-diff`` shows running vs intended.

Every verb prints one JSON object on stdout. Exit codes: 0 ok, 1 the operation failed, 2 bad
usage. State lives in ``/var/lib/govnet/onbox/<instance>/`` when provisioned, else in the
instance's FRR pathspace directory (see :func:`state_dir`).
The module uses the standard library only: it must run on a router with nothing else installed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import marshal
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

from govnet.lab.onbox_paths import FRR_CONF_BASE, LOCK_NAME, PID_NAME, SOCKET_NAME, state_path

TYPE_CHECKING = False  # not typing's: the agent starts on every request, typing is only for the checkers
if TYPE_CHECKING:
    from collections.abc import Iterator
    from typing import Any, NoReturn

FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
VTYSH = "vtysh"
FRR_RUN_BASE = "/var/run/frr"
NFT_FAMILY, NFT_TABLE = "inet", "govnet"
#: nft that may change the device's namespace (the lab sets a capability-bearing copy); plain nft otherwise.
NFT_ENV = "GOVNET_ONBOX_NFT"
INSTANCE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
MAX_REVERT_SECONDS = 24 * 3600
#: A timer that should have fired this long ago but is not running is treated as lost.
LOST_TIMER_GRACE = 5.0
SHOW_RUN_HEADER = re.compile(r"\A(?:Building configuration\.\.\.\s*\n)?\s*(?:Current configuration:\s*\n)?")


class AgentError(Exception):
    """An operation failed; the message is shown to the controller as is."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class UsageError(Exception):
    """The request itself is malformed (exit 2)."""


class Box:
    """Where one FRR instance keeps its agent state, and how to reach its vtysh."""

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
        return Path(FRR_CONF_BASE, self.instance, "frr.conf")


def state_dir(instance: str) -> Path:
    """:func:`govnet.lab.onbox_paths.state_path` as a path."""
    return Path(state_path(instance))


def open_box(instance: str) -> Box:
    """Validate the instance name and make sure its state directory exists."""
    if not INSTANCE_RE.match(instance):
        raise UsageError(f"invalid FRR instance name {instance!r}")
    state = state_dir(instance)
    try:
        state.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise AgentError(f"cannot create state directory {state}: {exc.strerror}") from exc
    if not os.access(state, os.W_OK):
        raise AgentError(f"state directory {state} is not writable by uid {os.getuid()}")
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


# --------------------------------------------------------------------------- FRR primitives


def vtysh(box: Box, *commands: str) -> str:
    """Run exec-mode commands in the instance's vtysh; raise with vtysh's own message on failure."""
    argv = [VTYSH, "-N", box.instance]
    for command in commands:
        argv += ["-c", command]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise AgentError(f"vtysh {' / '.join(commands)!r} failed: {(proc.stdout + proc.stderr).strip()}")
    return proc.stdout


def running_config(box: Box) -> str:
    """The running config without vtysh's "Building configuration" banner."""
    return SHOW_RUN_HEADER.sub("", show(box, ["show running-config"])[0], count=1)


def show(box: Box, commands: list[str]) -> list[str]:
    """Exec-mode ``show`` commands through this process's resident vtysh; one output each.

    A reply starting with ``%`` (vtysh's error form) raises, as a failing ``vtysh -c`` would.
    """
    outputs = resident_vtysh(box).run(commands)
    for command, output in zip(commands, outputs, strict=True):
        if output.lstrip().startswith("%"):
            raise AgentError(f"vtysh {command!r} failed: {output.strip()}")
    return outputs


class ResidentVtysh:
    """One vtysh kept running for this agent process, fed commands through a pipe.

    Starting vtysh costs about 40 ms of CPU (it builds the command graph of every daemon); a command
    through a running one costs about a millisecond. Each command is followed by a marker line vtysh
    does not know: its ``% Unknown command: <marker>`` reply ends that command's output. vtysh is
    started again when it exited or any FRR daemon of the instance restarted since (its pid file
    changed): its connections to the daemons would be stale.
    """

    def __init__(self, box: Box) -> None:
        instance = self.instance = box.instance
        self.owner = os.getpid()
        self.daemons = daemon_signature(instance)
        env = {k: v for k, v in os.environ.items() if k != "VTYSH_PAGER"}  # a pager would start per command
        # readline keeps every line in its history and walks all of it per line: none for a resident vtysh
        env["INPUTRC"] = str(inputrc(box.state))
        self.proc = subprocess.Popen(
            [VTYSH, "-N", instance],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            bufsize=0,
            env=env,
        )
        self.serial = 0
        self.pending = b""
        self.prompt = "# "
        self.run([])  # the banner

    def configure(self, commands: list[str], timeout: float = 120.0) -> list[str]:
        """Config-mode *commands* as ``vtysh -f`` would take them (a line a node does not know is tried in its
        parents); every line vtysh or a daemon refused, as ``command: message``. Back in exec mode after."""
        lines = [c.rstrip() for c in commands if c.strip() and not c.lstrip().startswith("!")]
        if any("\n" in c for c in lines):
            raise AgentError("a config line holds a newline")
        [output] = self.run(["\n".join(["configure terminal", *lines, "end"])], timeout)  # one block, echoes kept
        echo = re.compile(rf"^{re.escape(self.prompt[:-2])}(?:\([^)]*\))?# (.*)$")
        refused, last = [], ""
        for line in output.splitlines():
            match = echo.match(line)
            if match:
                last = match.group(1).strip()
            elif line.startswith("%"):
                refused.append(f"{last}: {line.strip()}")
        return refused

    def usable(self) -> bool:
        return (
            self.owner == os.getpid() and self.proc.poll() is None and daemon_signature(self.instance) == self.daemons
        )

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        with contextlib.suppress(OSError, subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)

    def run(self, commands: list[str], timeout: float = 60.0) -> list[str]:
        """Each command's output (vtysh's echo of the command and its prompt removed)."""
        import select

        for command in commands:
            if not command.strip():
                raise AgentError(f"not a command: {command!r}")
        self.serial += 1
        marks = [f"govnet-end-{self.owner}-{self.serial}-{i}" for i in range(len(commands) + 1)]
        payload = "".join(f"{c}\n{m}\n" for c, m in zip(commands, marks, strict=False)) + marks[-1] + "\n"
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(payload.encode())
        except OSError as exc:
            self.close()
            raise AgentError(f"vtysh stopped: {exc.strerror}") from exc
        end = f"% Unknown command: {marks[-1]}\n".encode()
        buf, deadline = self.pending, time.monotonic() + timeout
        while end not in buf:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20) if ready else b""
            if not chunk:
                self.close()
                raise AgentError("vtysh " + ("timed out" if not ready else "exited") + f" during {commands or 'start'}")
            buf += chunk
        text, _, self.pending = buf.partition(end)
        outputs = []
        for mark in marks:
            segment, _, text = text.partition(f"% Unknown command: {mark}\n".encode())
            lines = segment.decode(errors="replace").split("\n")  # echo, output..., prompt+marker, ""
            if mark is marks[-1]:
                if not commands:  # the banner: learn the exec prompt from the marker's echo
                    self.prompt = lines[-2][: -len(mark)] if lines[-2].endswith(mark) else self.prompt
                break
            body, tail = lines[1:-2], lines[-2] if len(lines) > 2 else ""
            unfinished = tail[: -len(self.prompt + mark)] if tail.endswith(self.prompt + mark) else ""
            body += [unfinished] if unfinished else []  # output without a final newline
            outputs.append("\n".join(body) + "\n" if body else "")
        return outputs


def inputrc(state: Path) -> Path:
    """A readline init file that keeps no history (written once into the state directory)."""
    path = state / "inputrc"
    text = "set history-size 0\n"
    with contextlib.suppress(OSError):
        if path.read_text() == text:
            return path
    with contextlib.suppress(OSError):
        write_atomic(path, text)
    return path


def daemon_signature(instance: str) -> tuple[tuple[str, int], ...]:
    """The instance's daemon pid files and when each was written: changes when any daemon restarts."""
    found = []
    with contextlib.suppress(OSError), os.scandir(Path(FRR_RUN_BASE, instance)) as entries:
        for entry in entries:
            if entry.name.endswith(".pid"):
                with contextlib.suppress(OSError):
                    found.append((entry.name, entry.stat().st_mtime_ns))
    return tuple(sorted(found))


#: This process's resident vtysh (see :func:`resident_vtysh`).
_VTYSH: ResidentVtysh | None = None


def resident_vtysh(box: Box) -> ResidentVtysh:
    """The process's resident vtysh for *box*, (re)started when needed."""
    global _VTYSH
    if _VTYSH is None or _VTYSH.instance != box.instance or not _VTYSH.usable():
        if _VTYSH is not None and _VTYSH.owner == os.getpid():
            _VTYSH.close()
        _VTYSH = ResidentVtysh(box)
    return _VTYSH


def syntax_problems(box: Box, path: Path) -> list[str]:
    """Every line vtysh's parser rejects, as ``line N: message``; empty means the file parses."""
    proc = subprocess.run(
        [VTYSH, "-N", box.instance, "--dryrun", "-f", str(path)], capture_output=True, text=True, check=False
    )
    return _dryrun_problems(proc.returncode, proc.stdout, proc.stderr)


def _dryrun_problems(code: int, out: str, err: str) -> list[str]:
    problems = [line.strip() for line in err.splitlines() if line.strip()]
    if code != 0 and not problems:
        problems = [f"vtysh --dryrun exited {code}: {out.strip()}"]
    return problems


#: Lines FRR accepts but never prints in ``show running-config`` (informational, or a default zebra
#: only reports when it is off): compared as "!" so they never show as a change.
NEVER_SHOWN = re.compile(r"^(?:frr version .*|ip forwarding|ipv6 forwarding)\s*$", re.M)
#: An empty ``line vty`` block: vtysh prints it only when it holds something.
EMPTY_LINE_VTY = re.compile(r"^line vty[ \t]*\n(?![ \t])", re.M)
#: How long a candidate that passed ``check`` counts as parsed (``replace`` then skips the dry run).
CHECKED_TTL = 600.0


def reload_lib(box: Box) -> types.ModuleType:
    """:func:`load_reload_lib`, once per process (a session reuses it)."""
    global _RELOAD_LIB
    if _RELOAD_LIB is None:
        _RELOAD_LIB = load_reload_lib(box)
    return _RELOAD_LIB


def load_reload_lib(box: Box) -> types.ModuleType:
    """FRR's own diff algorithm (``frr-reload.py``), loaded into this process rather than run as a program.

    frr-reload is what FRR ships to turn "the config I want" into the exact ``no``/add commands. Run as a
    program it costs a Python start and two vtysh starts for the diff alone; here only its functions
    are used, with texts already in hand. Its compiled code is cached in the state directory (keyed by
    the file's size and mtime and this Python's version) because the login user cannot write next to it.
    """
    source = Path(FRR_RELOAD)
    try:
        st = source.stat()
    except OSError as exc:
        raise AgentError(f"{FRR_RELOAD} is missing (package frr-pythontools): {exc.strerror}") from exc
    key = f"{st.st_size}:{st.st_mtime_ns}:{sys.version_info[0]}.{sys.version_info[1]}\n".encode()
    cache = box.state / "frr-reload.code"
    code = None
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
        blob = cache.read_bytes()
        if blob.startswith(key):
            code = marshal.loads(blob[len(key) :])
    if code is None:
        with warnings.catch_warnings():  # its regexes have escapes newer Pythons warn about
            warnings.simplefilter("ignore")
            code = compile(source.read_bytes(), FRR_RELOAD, "exec")
        with contextlib.suppress(OSError):
            write_atomic_bytes(cache, key + marshal.dumps(code))
    module = types.ModuleType("frr_reload")
    module.__file__ = FRR_RELOAD
    exec(code, module.__dict__)  # FRR's own installed tool, as frr-reload.py itself would run
    return module


class _Marked:
    """frr-reload's ``Vtysh`` for reading configs: texts in vtysh's marked form need no vtysh run.

    ``show running-config`` output is already in that form, and so are govnet's rendered configs (a
    golden test checks ``vtysh -m`` leaves each one as it is).
    """

    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts

    def mark_file(self, name: str, stdin: object = None) -> str:
        return self.texts[name]


def _comparable(text: str) -> str:
    return EMPTY_LINE_VTY.sub("", NEVER_SHOWN.sub("!", text.replace("\r\n", "\n")))


def config_changes(lib: types.ModuleType, running: str, intended: str) -> tuple[list[Any], list[Any]]:
    """frr-reload's (lines to add, lines to delete) taking *running* to *intended*."""
    source = _Marked({"running": _comparable(running), "intended": _comparable(intended)})
    new, old = lib.Config(source), lib.Config(source)
    new.load_from_file("intended")
    old.load_from_file("running")
    add, delete = lib.compare_context_objects(new, old)
    return add, delete


def changes_text(lib: types.ModuleType, add: list[Any], delete: list[Any]) -> str:
    """The changes as ``frr-reload.py --test`` prints them ("" when there are none)."""
    out: list[str] = []
    deletes = [lib.lines_to_config(keys, line, True) for keys, line in delete if line != "!"]
    adds = [lib.lines_to_config(keys, line, False) for keys, line in add if line != "!"]
    if deletes:
        out += ["", "Lines To Delete", "==============="] + ["\n".join(cmd) for cmd in deletes]
    if adds:
        out += ["", "Lines To Add", "============"] + ["\n".join(cmd) for cmd in adds]
    return "\n".join(out).strip()


def diff_config(box: Box, running: str, intended: str) -> str:
    """The exact commands a replace would send, in frr-reload's ``--test`` format."""
    lib = reload_lib(box)
    add, delete = config_changes(lib, running, intended)
    return changes_text(lib, add, delete)


def apply_config(box: Box, running: str, intended: str, merge: bool = False) -> str:
    """Make *intended* the running config, sending only the differing lines; returns the new running config.

    frr-reload's ``--reload`` steps with fewer vtysh runs: its ``no`` lines and then its additions in
    one ``vtysh -f`` (which carries on past a line it refuses), then a second pass against the new
    running config: a ``no`` FRR would not take whole is retried one by one with frr-reload's
    word-trimming, and what a deletion took with it is added again. Anything still differing after
    that is an error (the caller restores the checkpoint).

    A *merge* (*intended* is the running config plus lines to add) is one pass: its text may hold a
    single-valued line twice (the old ``ip ospf cost`` and the new one), so it can never compare equal,
    and a second pass would flap such a line back to its old value first.
    """
    lib = reload_lib(box)
    add, delete = config_changes(lib, running, intended)
    first_adds = [a for a in add if not a[0][0].startswith("no ")]
    refused = _send_file(box, lib, delete, add) if add or delete else []
    now = running_config(box)
    if merge:
        if refused:
            raise AgentError("vtysh refused lines of the merge", refused[-5:])
        return now
    add, delete = config_changes(lib, now, intended)
    if delete:
        _retry_deletes(box, lib, delete)
    if add or delete:
        _send_file(box, lib, [], add + first_adds)
        now = running_config(box)
        add, delete = config_changes(lib, now, intended)
    if add or delete:
        left = changes_text(lib, add, delete).splitlines()
        raise AgentError(
            "the running config still differs from the candidate after applying it", refused[-3:] + left[-5:]
        )
    return now


def _send_file(box: Box, lib: types.ModuleType, delete: list[Any], add: list[Any]) -> list[str]:
    """The ``no`` form of every line in *delete*, then every line in *add*, in one batch through the resident
    vtysh (one ``vtysh -f`` when it cannot be used); what vtysh refused."""
    lines = [lib.lines_to_config(keys, line, True) for keys, line in delete if line != "!"]
    lines += [lib.lines_to_config(keys, line, False) for keys, line in add if line != "!"]
    commands = [line for cmd in lines for line in cmd]
    with contextlib.suppress(AgentError):  # the resident vtysh: no vtysh start; else vtysh -f as before
        return resident_vtysh(box).configure(commands)
    path = _scratch(box, "reload-", ".conf", "".join(c + "\n" for c in commands))
    try:
        proc = subprocess.run([VTYSH, "-N", box.instance, "-f", str(path)], capture_output=True, text=True, check=False)
    finally:
        path.unlink(missing_ok=True)
    if proc.returncode == 0:
        return []
    return [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]


def _retry_deletes(box: Box, lib: types.ModuleType, delete: list[Any]) -> None:
    """``no`` lines one by one, dropping the last word until FRR takes it (frr-reload's way with picky commands,
    e.g. ``no ip ospf authentication message-digest 1.1.1.1`` only goes as ``no ip ospf authentication``)."""
    for keys, line in delete:
        if line == "!":
            continue
        cmd = lib.lines_to_config(keys, line, True)
        while True:
            proc = subprocess.run(
                [VTYSH, "-N", box.instance, "-c", "configure", *(a for c in cmd for a in ("-c", c))],
                capture_output=True,
                text=True,
                check=False,
            )
            words = cmd[-1].split(" ")
            if proc.returncode == 0 or len(words) <= 2:
                break
            cmd[-1] = " ".join(words[:-1])


def frr_reload(box: Box, path: Path) -> None:
    """``frr-reload.py --reload`` as a program: the fallback when the batched apply fails to restore."""
    argv = [FRR_RELOAD, "--reload", "--pathspace", box.instance, "--stdout", "--log-level", "error"]
    argv += ["--rundir", str(box.state), "--confdir", FRR_CONF_BASE, str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise AgentError("frr-reload failed to apply the config", detail)


def save_startup(box: Box, pending: dict[str, Any]) -> str:
    """Make the confirmed commit the startup config; says how.

    The running config the commit was verified to give (kept by the apply) is written as the
    instance's ``frr.conf``, group-readable like vtysh writes it: vtysh's ``write memory`` would
    start vtysh, and through watchfrr a second ``vtysh -w``, to write the same text. Without that
    record (a policy-only commit, an apply by an older agent) or where the file cannot be written,
    ``write memory`` it is.
    """
    applied = box.applied_config
    with contextlib.suppress(OSError):
        if applied.stat().st_mtime >= float(pending.get("armed_at", 0)) - 1:
            if box.startup.exists():
                write_atomic_bytes(box.startup.with_name("frr.conf.sav"), box.startup.read_bytes(), mode=0o640)
            write_atomic_bytes(box.startup, applied.read_bytes(), mode=0o640)
            return "frr.conf"
    write_memory(box)
    return "write memory"


def write_memory(box: Box) -> None:
    """Persist the running config as the startup config."""
    vtysh(box, "write memory")


# --------------------------------------------------------------------------- state files


def read_pending(box: Box) -> dict[str, Any] | None:
    """The pending (unconfirmed) commit, if any."""
    try:
        data: dict[str, Any] = json.loads(box.pending.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AgentError(f"unreadable {box.pending}: {exc}") from exc
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


def pid_alive(pid: int | None, token: str, started: int | None = None) -> bool:
    """Is *pid* still our timer (and not a recycled pid of some other process)?

    A timer forked from the agent is known by its start time (*started*, in clock ticks since boot:
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


#: Timers forked by this process and not yet reaped (the resident agent outlives them).
_TIMERS: set[int] = set()


def reap_timers() -> None:
    """Collect the exit status of finished timers, so none stays behind as a zombie."""
    for pid in list(_TIMERS):
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done = pid
        if done:
            _TIMERS.discard(pid)


# --------------------------------------------------------------------------- operations


def save_checkpoint(box: Box, running: str | None = None) -> str:
    """Keep the running config (and the policy table) as the point a rollback or an expired timer returns to.

    The policy is kept only where the agent can read it; a stale policy checkpoint is removed so a
    rollback never applies an older table than the one running. Returns the running config saved.
    """
    running = running_config(box) if running is None else running
    write_atomic(box.checkpoint, running)
    try:
        write_atomic(box.nft_checkpoint, nft_running())
    except AgentError as exc:
        box.nft_checkpoint.unlink(missing_ok=True)
        record(box, "nft-checkpoint-skipped", reason=str(exc))
    return running


def restore_checkpoint(box: Box) -> None:
    """Apply the checkpoint (only the differing lines are sent), then its policy table.

    Should the batched apply not get there, FRR's ``frr-reload.py --reload`` itself gets a go: this is
    the path that must work when everything else went wrong.
    """
    if not box.checkpoint.exists():
        raise AgentError(f"no checkpoint for {box.instance}: nothing to roll back to")
    box.applied.unlink(missing_ok=True)
    box.applied_config.unlink(missing_ok=True)
    try:
        apply_config(box, running_config(box), box.checkpoint.read_text())
    except AgentError as exc:
        record(box, "restore-fallback", reason=str(exc))
        frr_reload(box, box.checkpoint)
    if box.nft_checkpoint.exists():
        nft_load(box, replace_script(box.nft_checkpoint.read_text()))


# --------------------------------------------------------------------------- nftables policy


def nft_program() -> str:
    """The nft that acts on this device's namespace."""
    return os.environ.get(NFT_ENV) or shutil.which("nft") or "/usr/sbin/nft"


def _nft(argv: list[str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, input=stdin, capture_output=True, text=True, check=False, timeout=60)
    except OSError as exc:
        raise AgentError(f"cannot run {argv[0]}: {exc.strerror}") from exc


def nft_running() -> str:
    """The policy table as it runs now (stateless listing: no counter values), "" when there is none."""
    proc = _nft([nft_program(), "-s", "list", "table", NFT_FAMILY, NFT_TABLE])
    if proc.returncode == 0:
        return proc.stdout
    if "No such file or directory" in proc.stderr:
        return ""
    raise AgentError(f"nft list table {NFT_FAMILY} {NFT_TABLE} failed: {proc.stderr.strip()}")


def replace_script(table: str) -> str:
    """An nft script that makes *table* (a listing, possibly empty) the whole policy, in one transaction."""
    head = f"table {NFT_FAMILY} {NFT_TABLE} {{}}\ndelete table {NFT_FAMILY} {NFT_TABLE}\n"
    return head + table


def nft_problems(box: Box, script: str) -> list[str]:
    """What ``nft -c`` (parse plus a kernel dry run, nothing applied) says about *script*."""
    path = _scratch(box, "check.", ".nft", script)
    try:
        proc = _nft([nft_program(), "-c", "-f", str(path)])
    finally:
        path.unlink(missing_ok=True)
    if proc.returncode == 0:
        return []
    lines = [line.strip() for line in proc.stderr.splitlines() if "Error" in line]
    return lines or [f"nft -c exited {proc.returncode}: {proc.stderr.strip()[:300]}"]


def nft_load(box: Box, script: str) -> None:
    """Apply an nft script (one kernel transaction: all of it or nothing)."""
    path = _scratch(box, "apply.", ".nft", script)
    try:
        proc = _nft([nft_program(), "-f", str(path)])
    finally:
        path.unlink(missing_ok=True)
    if proc.returncode != 0:
        raise AgentError("nft failed to apply the policy", proc.stderr.strip().splitlines()[-5:])


def nft_canonical(script: str) -> str:
    """The table *script* defines, listed by nft itself, so it compares line by line with :func:`nft_running`.

    Loaded in a throwaway user+network namespace (``unshare -rn``), never in the device's own.
    """
    if not script.strip():
        return ""
    plain = shutil.which("nft") or "/usr/sbin/nft"
    shell = f"{plain} -f - && {plain} -s list table {NFT_FAMILY} {NFT_TABLE}"
    proc = _nft(["unshare", "-rn", "/bin/sh", "-c", shell], stdin=script)
    if proc.returncode != 0:
        lines = [line.strip() for line in proc.stderr.splitlines() if line.strip()]
        raise AgentError("policy rejected", lines[:5])
    return proc.stdout


def _scratch(box: Box, prefix: str, suffix: str, text: str) -> Path:
    with tempfile.NamedTemporaryFile("w", dir=box.state, prefix=prefix, suffix=suffix, delete=False) as fh:
        fh.write(text)
    return Path(fh.name)


def arm(box: Box, seconds: int, message: str) -> dict[str, Any]:
    """Start the detached revert timer for the current checkpoint."""
    if not box.checkpoint.exists():
        raise AgentError("arm needs a checkpoint first (run checkpoint or replace)")
    token = secrets.token_hex(8)
    pending = {
        "token": token,
        "armed_at": time.time(),
        "deadline": time.time() + seconds,
        "seconds": seconds,
        "message": message,
        "pid": None,
    }
    write_atomic(box.pending, json.dumps(pending))
    pending["pid"], pending["started"] = spawn_timer(box, token)
    write_atomic(box.pending, json.dumps(pending))
    record(box, "arm", seconds=seconds, message=message)
    return pending


def spawn_timer(box: Box, token: str) -> tuple[int, int | None]:
    """Fork the timer into its own session so closing SSH (SIGHUP) or killing the caller spares it.

    A fork of this process, not a new interpreter: nothing to start or import again. The child keeps
    only the timer log open (so the SSH session ends when the agent answers) and never returns.
    Returns the timer's pid and start time.
    """
    log = os.open(box.timer_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # the timer
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the resident agent's handler is not the timer's
            _READY.clear()  # nor is its ready parser
            _TIMERS.clear()
            os.setsid()
            os.chdir("/")
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.dup2(log, 1)
            os.dup2(log, 2)
            os.closerange(3, 65536)  # the instance lock and the SSH session's pipes stay with the agent
            code = timer_main(box, token)
        except BaseException as exc:
            with contextlib.suppress(Exception):
                os.write(2, f"{time.strftime('%FT%T')} timer {token}: {exc!r}\n".encode())
        finally:
            os._exit(code)
    os.close(log)
    _TIMERS.add(pid)
    return pid, start_time(pid)


def disarm(box: Box) -> dict[str, Any] | None:
    """Forget the pending commit and stop its timer; return what was pending."""
    pending = read_pending(box)
    if pending is None:
        return None
    box.pending.unlink(missing_ok=True)
    if pid_alive(pending.get("pid"), pending["token"], pending.get("started")):
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pending["pid"]), signal.SIGTERM)
    return pending


def revert(box: Box, reason: str) -> None:
    """Roll back to the checkpoint and close the pending commit (timer expiry, lost timer)."""
    restore_checkpoint(box)
    box.pending.unlink(missing_ok=True)
    record(box, "revert", reason=reason)


def reap_lost_timer(box: Box) -> None:
    """A pending commit whose deadline passed with no timer alive (e.g. after a reboot): revert now."""
    pending = read_pending(box)
    if pending is None or time.time() < pending["deadline"] + LOST_TIMER_GRACE:
        return
    if not pid_alive(pending.get("pid"), pending["token"], pending.get("started")):
        revert(box, "deadline passed and the revert timer was not running")


def apply_candidate(
    box: Box,
    candidate: str | None,
    revert_in: int | None,
    message: str,
    nft: str | None = None,
    merge: bool = False,
) -> dict[str, Any]:
    """Check, checkpoint, arm, apply: the heart of ``replace``, ``merge`` and ``nft-apply``.

    *candidate* is the whole FRR config (None: leave FRR alone; with *merge*, lines to add to the
    running config), *nft* the policy ruleset (None: leave the policy alone); both are checked before
    anything changes, and one checkpoint covers both.
    """
    if read_pending(box) is not None:
        raise AgentError("a commit is pending confirmation: confirm or roll back first")
    running = running_config(box)
    if candidate is not None:
        candidate = (running + "\n" + candidate) if merge else candidate
        candidate = candidate if candidate.endswith("\n") else candidate + "\n"
    problems = [] if candidate is None or recently_checked(box, candidate) else syntax_problems_of(box, candidate)
    if nft is not None:
        problems += [f"nftables: {p}" for p in nft_problems(box, nft)]
    if problems:
        raise AgentError("candidate rejected, nothing applied", problems)
    save_checkpoint(box, running)
    pending = arm(box, revert_in, message) if revert_in else None
    try:
        box.applied.unlink(missing_ok=True)
        if candidate is not None:
            now = apply_config(box, running, candidate, merge=merge)
        if nft is not None:
            nft_load(box, nft)
            remember_nft(box, nft)
    except AgentError as exc:
        _undo_failed_apply(box, exc)
    if candidate is not None:
        remember_applied(box, candidate, now)
        write_atomic(box.applied_config, now)
    if pending is not None:
        # Armed before applying (an agent killed mid-apply still reverts), but the caller's
        # confirmation window starts when the change is in place, as with Junos.
        pending["deadline"] = time.time() + pending["seconds"]
        write_atomic(box.pending, json.dumps(pending))
    record(box, "commit", message=message, revert_in=revert_in, frr=candidate is not None, nft=nft is not None)
    return {"applied": True, "pending": pending is not None, "deadline": pending["deadline"] if pending else None}


def syntax_problems_of(box: Box, text: str) -> list[str]:
    """:func:`syntax_problems` for a text (through a scratch file in the state directory).

    The resident agent keeps a parser ready (:class:`ReadyDryRun`); otherwise vtysh starts for it.
    """
    done = ready_dryrun(box, text)
    if done is not None:
        return _dryrun_problems(*done)
    path = _scratch(box, "candidate.", ".conf", text)
    try:
        return syntax_problems(box, path)
    finally:
        path.unlink(missing_ok=True)


class ReadyDryRun:
    """``vtysh --dryrun -f FIFO`` started before it is needed.

    vtysh spends its ~40 ms building the command graph, then blocks opening the FIFO; a check writes
    the candidate into it and has vtysh's verdict in a few milliseconds. Same program, same parser,
    same ``line N: ...`` messages as :func:`syntax_problems`, only started earlier. (A ``vtysh -f``
    that applies reads its file once per daemon, so it cannot be fed this way; the resident vtysh
    applies instead, see :meth:`ResidentVtysh.configure`.)
    """

    def __init__(self, box: Box) -> None:
        self.owner = os.getpid()
        self.fifo = box.state / f"ready-{secrets.token_hex(6)}.fifo"
        os.mkfifo(self.fifo, 0o600)
        self.proc = subprocess.Popen(
            [VTYSH, "-N", box.instance, "--dryrun", "-f", str(self.fifo)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, text: str) -> tuple[int, str, str] | None:
        """vtysh's exit code, stdout and stderr for *text*; None when unusable (the caller runs vtysh itself)."""
        try:
            if self.owner != os.getpid():
                return None
            fd = self._open_writer()
            if fd is None:
                return None
            with os.fdopen(fd, "w") as fifo:
                fifo.write(text)
            out, err = self.proc.communicate(timeout=120)
        except (OSError, subprocess.TimeoutExpired):
            return None
        finally:
            self.close()
        return self.proc.returncode, out, err

    def _open_writer(self) -> int | None:
        """Open the FIFO once vtysh waits on it (it may still be starting); None if it died."""
        deadline = time.monotonic() + 10
        while self.proc.poll() is None and time.monotonic() < deadline:
            try:
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError:  # ENXIO: no reader yet
                time.sleep(0.005)
                continue
            os.set_blocking(fd, True)
            return fd
        return None

    def close(self) -> None:
        if self.owner != os.getpid():
            return
        if self.proc.poll() is None:
            with contextlib.suppress(OSError):
                self.proc.kill()
            with contextlib.suppress(OSError, subprocess.TimeoutExpired):
                self.proc.communicate(timeout=5)
        self.fifo.unlink(missing_ok=True)


#: The resident agent's parser kept ready (none in a one-request agent: nothing would wait for it).
_READY: dict[str, ReadyDryRun] = {}


def ready_dryrun(box: Box, text: str) -> tuple[int, str, str] | None:
    """Parse *text* with the ready parser and start the next one; None without one (or when unusable)."""
    ready = _READY.pop("dryrun", None)
    if ready is None or ready.owner != os.getpid():
        return None
    return ready.run(text)  # the resident agent starts the next one once it is idle (see serve)


def remember_checked(box: Box, candidate: str) -> None:
    """Note that *candidate* parsed just now, so the ``replace`` that follows need not parse it again."""
    write_atomic(box.checked, json.dumps({"candidate": _sha(_with_newline(candidate)), "time": time.time()}))


def recently_checked(box: Box, candidate: str) -> bool:
    """*candidate* passed ``check`` less than :data:`CHECKED_TTL` ago (same text, same FRR)."""
    try:
        checked = json.loads(box.checked.read_text())
    except (OSError, ValueError):
        return False
    fresh = 0 <= time.time() - float(checked.get("time", 0)) < CHECKED_TTL
    return fresh and checked.get("candidate") == _sha(_with_newline(candidate))


def _with_newline(text: str) -> str:
    return text if text.endswith("\n") else text + "\n"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def remember_applied(box: Box, candidate: str, running: str) -> None:
    """Note which candidate produced the running config now in place (for :func:`unchanged_since_applied`)."""
    write_atomic(box.applied, json.dumps({"candidate": _sha(_with_newline(candidate)), "running": _sha(running)}))


def remember_nft(box: Box, ruleset: str) -> None:
    """Note which ruleset gave the policy table now listed (for :func:`nft_unchanged_since_applied`)."""
    write_atomic(box.state / "applied-nft.json", json.dumps({"ruleset": _sha(ruleset), "listing": _sha(nft_running())}))


def nft_unchanged_since_applied(box: Box, ruleset: str, listing: str) -> bool:
    """*ruleset* is the last one applied and the table is still listed as it gave: the ruleset's own
    listing (a throwaway namespace, :func:`nft_canonical`) is *listing*, nothing to work out."""
    try:
        applied = json.loads((box.state / "applied-nft.json").read_text())
    except (OSError, ValueError):
        return False
    return applied.get("ruleset") == _sha(ruleset) and applied.get("listing") == _sha(listing)


def unchanged_since_applied(box: Box, candidate: str, running: str) -> bool:
    """True when *candidate* is exactly the last one applied and the running config is exactly what applying it
    gave (no hand edit, rollback or revert since): then there is nothing to change and no check to run."""
    try:
        applied = json.loads(box.applied.read_text())
    except (OSError, ValueError):
        return False
    return applied.get("candidate") == _sha(_with_newline(candidate)) and applied.get("running") == _sha(running)


def _undo_failed_apply(box: Box, exc: AgentError) -> NoReturn:
    """frr-reload stopped half way: put the checkpoint back before reporting the failure."""
    disarm(box)
    try:
        restore_checkpoint(box)
        outcome = "checkpoint restored"
    except AgentError as restore_exc:
        outcome = f"restoring the checkpoint failed too: {restore_exc}"
    record(box, "apply-failed", outcome=outcome)
    raise AgentError(f"{exc}; {outcome}", exc.problems) from exc


def timer_main(box: Box, token: str) -> int:
    """The detached timer: sleep to the deadline, then revert unless confirmed meanwhile."""
    while True:
        pending = read_pending(box)
        if pending is None or pending["token"] != token:
            return 0
        left = pending["deadline"] - time.time()
        if left <= 0:
            break
        time.sleep(min(left, 1.0))
    with locked(box):
        pending = read_pending(box)
        if pending is None or pending["token"] != token:
            return 0
        revert(box, f"not confirmed within {pending['seconds']} s")
    return 0


# --------------------------------------------------------------------------- facts for getters


def instance_uptime(box: Box) -> float:
    """Seconds since zebra started: FRR's own notion of how long this router has been up."""
    try:
        pid = int(Path(FRR_RUN_BASE, box.instance, "zebra.pid").read_text().split()[0])
        stat = Path(f"/proc/{pid}/stat").read_text()
        boot_uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return -1.0
    start_ticks = int(stat.rsplit(")", 1)[1].split()[19])
    return round(boot_uptime - start_ticks / os.sysconf("SC_CLK_TCK"), 1)


NTP_LINE = re.compile(r"^\s*(server|pool|peer)\s+(\S+)(.*)$")


def ntp_servers(etc: Path) -> dict[str, dict[str, Any]]:
    """NTP sources from the box's chrony or ntpd config: FRR itself has no NTP client."""
    files = [etc / "chrony/chrony.conf", etc / "ntp.conf", etc / "ntpsec/ntp.conf"]
    files += sorted((etc / "chrony/sources.d").glob("*.sources")) + sorted((etc / "chrony/conf.d").glob("*.conf"))
    servers: dict[str, dict[str, Any]] = {}
    for path in files:
        with contextlib.suppress(OSError):
            for line in path.read_text().splitlines():
                match = NTP_LINE.match(line)
                if match:
                    kind, address, options = match.group(1), match.group(2), match.group(3).split()
                    servers[address] = {
                        "address": address,
                        "association_type": kind,
                        "iburst": "iburst" in options,
                        "prefer": "prefer" in options,
                    }
    return servers


# --------------------------------------------------------------------------- verbs


def verb_status(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    pending = read_pending(box)
    result: dict[str, Any] = {
        "instance": box.instance,
        "pending": pending is not None,
        "checkpoint": box.checkpoint.exists(),
        "agent": {"pid": os.getpid(), "resident": _RESIDENT},
    }
    if pending:
        result.update(
            deadline=pending["deadline"],
            remaining=round(max(0.0, pending["deadline"] - time.time()), 1),
            message=pending["message"],
            timer_alive=pid_alive(pending.get("pid"), pending["token"], pending.get("started")),
        )
    return result


def verb_checkpoint(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    with locked(box):
        save_checkpoint(box)
        record(box, "checkpoint")
    return {"checkpoint": True}


def verb_check(box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
    """Parse a candidate without applying it; with ``--diff`` also the exact changes a replace would send.

    ``unchanged`` is true when the candidate is exactly the last one applied and the running config
    is exactly what applying it gave: nothing to parse or diff. ``--running`` adds the running config
    read for all this (the controller's backup), ``--with-nft`` reads ``{"config", "nft"}`` from stdin
    and adds the policy table as it runs and as the ruleset would make it. One request, one login.
    """
    candidate, nft = _candidate_and_policy(read_stdin(), args.with_nft)
    running = running_config(box)
    intended = _with_newline(running + "\n" + candidate if args.merge else candidate)
    reply: dict[str, Any] = {"valid": True, "unchanged": False}
    if not args.merge and unchanged_since_applied(box, candidate, running):
        reply["unchanged"] = True
    else:
        problems = syntax_problems_of(box, candidate)
        if problems:
            raise AgentError("candidate rejected", problems)
        remember_checked(box, intended)
        if args.diff:
            reply["diff"] = diff_config(box, running, intended)
    if args.diff and reply["unchanged"]:
        reply["diff"] = ""
    if args.running:
        reply["running"] = running
    if nft is not None:
        listing = nft_running()
        reply["nft_running"] = listing
        reply["nft_intended"] = listing if nft_unchanged_since_applied(box, nft, listing) else nft_canonical(nft)
    return reply


def _candidate_and_policy(stdin: str, with_nft: bool) -> tuple[str, str | None]:
    """stdin as the FRR config alone, or with ``--with-nft`` as ``{"config": ..., "nft": ...}``."""
    if not with_nft:
        return stdin, None
    try:
        both = json.loads(stdin)
        return str(both["config"]), str(both["nft"])
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(f"--with-nft needs a JSON object with config and nft on stdin ({exc})") from exc


def verb_replace(box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
    # with --with-nft, stdin is {"config": FRR config, "nft": ruleset}: one commit, one checkpoint, one timer
    candidate, nft = _candidate_and_policy(read_stdin(), args.with_nft)
    if not candidate.strip():
        raise AgentError("empty candidate: refusing to replace the config with nothing")
    with locked(box):
        return apply_candidate(box, candidate, args.revert_in, args.message, nft)


def verb_nft_apply(box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
    script = read_stdin()
    if not script.strip():
        raise AgentError("empty ruleset: refusing to apply nothing")
    with locked(box):
        return apply_candidate(box, None, args.revert_in, args.message, script)


def verb_nft_diff(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    """Running policy table and the one the ruleset on stdin would give, both as nft lists them."""
    return {"running": nft_running(), "intended": nft_canonical(read_stdin())}


def verb_merge(box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
    lines = read_stdin()
    with locked(box):
        return apply_candidate(box, lines, args.revert_in, args.message, merge=True)


def verb_arm(box: Box, args: types.SimpleNamespace) -> dict[str, Any]:
    with locked(box):
        if read_pending(box) is not None:
            raise AgentError("a revert timer is already armed")
        pending = arm(box, args.seconds, args.message)
    return {"pending": True, "deadline": pending["deadline"]}


def verb_confirm(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    with locked(box):
        pending = disarm(box)
        if pending is None:
            raise AgentError("no commit is pending confirmation")
        saved = save_startup(box, pending)
        record(box, "confirm", message=pending["message"], saved=saved)
    return {"confirmed": True}


def verb_rollback(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    with locked(box):
        disarm(box)
        restore_checkpoint(box)
        record(box, "rollback")
    return {"rolled_back": True}


def verb_startup(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    path = Path(FRR_CONF_BASE, box.instance, "frr.conf")
    try:
        return {"startup": path.read_text()}
    except FileNotFoundError:
        return {"startup": ""}
    except OSError as exc:
        raise AgentError(f"cannot read {path}: {exc.strerror}") from exc


def verb_show(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    """Read-only vtysh commands (a JSON list of ``show ...`` lines on stdin) through the resident vtysh:
    the controller's post-deploy polls, without a vtysh start per poll."""
    try:
        commands = json.loads(read_stdin())
        if not isinstance(commands, list) or not all(isinstance(c, str) for c in commands):
            raise ValueError("not a list of strings")
    except ValueError as exc:
        raise UsageError(f"show needs a JSON list of commands on stdin ({exc})") from exc
    refused = [c for c in commands if not SHOW_COMMAND.fullmatch(c)]
    if refused:
        raise UsageError(f"show takes show commands only, one line each: {refused[0]!r}")
    return {"outputs": show(box, commands)}


#: A single read-only command.
SHOW_COMMAND = re.compile(r"show [^\n]+")


def verb_facts(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    return {"hostname": os.uname().nodename, "uptime": instance_uptime(box), "kernel": os.uname().release}


def verb_ntp(box: Box, _args: types.SimpleNamespace) -> dict[str, Any]:
    return {"servers": ntp_servers(Path(os.environ.get("GOVNET_ONBOX_ETC", "/etc")))}


#: In a session, the current request's stdin (see :func:`session`).
_REQUEST_STDIN: str | None = None
#: frr-reload's functions, loaded once per process.
_RELOAD_LIB: types.ModuleType | None = None


def read_stdin() -> str:
    """The candidate config the controller streamed over the SSH channel (or sent with a session request)."""
    return sys.stdin.read() if _REQUEST_STDIN is None else _REQUEST_STDIN


VERBS = {
    "status": verb_status,
    "checkpoint": verb_checkpoint,
    "check": verb_check,
    "replace": verb_replace,
    "merge": verb_merge,
    "nft-apply": verb_nft_apply,
    "nft-diff": verb_nft_diff,
    "arm": verb_arm,
    "confirm": verb_confirm,
    "rollback": verb_rollback,
    "startup": verb_startup,
    "facts": verb_facts,
    "ntp": verb_ntp,
    "show": verb_show,
}


#: Per verb: (flags, options taking a value, positional arguments). Parsed by hand, not argparse: the
#: agent starts on every request and argparse alone costs more than the rest of a ``status``.
SYNTAX: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "check": (("--with-nft", "--merge", "--diff", "--running"), (), ()),
    "replace": (("--with-nft",), ("--revert-in", "--message"), ()),
    "merge": ((), ("--revert-in", "--message"), ()),
    "nft-apply": ((), ("--revert-in", "--message"), ()),
    "arm": ((), ("--message",), ("seconds",)),
    "_timer": ((), (), ("token",)),
}


def parse_args(argv: list[str]) -> types.SimpleNamespace:
    """``VERB [options] [arguments]`` → a namespace (``verb``, each option and argument); UsageError if bad."""
    if not argv:
        raise UsageError("a verb is required: " + ", ".join(VERBS))
    verb, rest = argv[0], argv[1:]
    if verb not in VERBS and verb != "_timer":
        raise UsageError(f"unknown verb {verb!r} (verbs: {', '.join(VERBS)})")
    flags, options, positional = SYNTAX.get(verb, ((), (), ()))
    values: dict[str, object] = {f.lstrip("-").replace("-", "_"): False for f in flags}
    values.update({o.lstrip("-").replace("-", "_"): None for o in options})
    values.update(verb=verb, message=values.get("message") or "")
    given: list[str] = []
    words = iter(rest)
    for word in words:
        if word in flags:
            values[word.lstrip("-").replace("-", "_")] = True
        elif word in options:
            value = next(words, None)
            if value is None:
                raise UsageError(f"{verb}: {word} needs a value")
            values[word.lstrip("-").replace("-", "_")] = _seconds(value) if word == "--revert-in" else value
        elif word.startswith("--"):
            raise UsageError(f"{verb}: unknown option {word}")
        else:
            given.append(word)
    if len(given) != len(positional):
        raise UsageError(f"{verb}: expected {' '.join(positional) or 'no arguments'}, got {' '.join(given) or 'none'}")
    for name, value in zip(positional, given, strict=True):
        values[name] = _seconds(value) if name == "seconds" else value
    return types.SimpleNamespace(**values)


def _seconds(text: str) -> int:
    """A revert delay: whole seconds, 1 s to 24 h."""
    if not text.isdigit() or not 1 <= int(text) <= MAX_REVERT_SECONDS:
        raise UsageError(f"seconds must be 1..{MAX_REVERT_SECONDS}, got {text!r}")
    return int(text)


def main(instance: str, argv: list[str]) -> int:
    """Entry point from the device's SSH shell: ``govnet-agent VERB ...`` for *instance*."""
    if argv and argv[0] == "govnet-agent":
        argv = argv[1:]
    if argv == ["session"]:
        return session(instance)
    code, reply = handle(instance, argv)
    _emit(reply)
    return code


def handle(instance: str, argv: list[str]) -> tuple[int, dict[str, Any]]:
    """Run one request; (exit code, JSON reply)."""
    try:
        args = parse_args(argv)
        box = open_box(instance)
        if args.verb == "_timer":
            return timer_main(box, args.token), {"ok": True}
        with locked(box):
            reap_lost_timer(box)
        result = VERBS[args.verb](box, args)
    except UsageError as exc:
        return 2, {"ok": False, "error": f"usage: {exc}"}
    except AgentError as exc:
        return 1, {"ok": False, "error": str(exc), "problems": exc.problems}
    return 0, {"ok": True, **result}


def session(instance: str) -> int:
    """``govnet-agent session``: one process for many requests (a deploy's check, replace and confirm).

    Each stdin line is a request, ``{"argv": ["check", "--diff"], "stdin": "..."}``; each gets one
    reply line, the verb's JSON plus ``exit`` (what the verb's exit code would have been), in order,
    until stdin ends. Same verbs, same checks and locking as one request per process, without
    starting the interpreter and loading frr-reload's functions for every request. The device shell
    normally hands a session to the resident agent (:func:`serve`), which answers the same way; this
    is the in-process fallback.
    """
    for line in sys.stdin:
        if line.strip():
            _emit(session_reply(instance, line))
    return 0


def session_reply(instance: str, line: str) -> dict[str, Any]:
    """The reply to one session request line."""
    global _REQUEST_STDIN
    try:
        request = json.loads(line)
        argv = [str(a) for a in request["argv"]]
        stdin = str(request.get("stdin", ""))
    except (ValueError, KeyError, TypeError) as exc:
        return {"ok": False, "error": f"usage: a session request is a JSON object with argv ({exc})", "exit": 2}
    if argv[:1] in (["session"], ["_timer"], ["serve"]):
        return {"ok": False, "error": f"usage: {argv[0]} is not a session request", "exit": 2}
    _REQUEST_STDIN = stdin
    try:
        code, reply = handle(instance, argv)
    finally:
        _REQUEST_STDIN = None
    return {**reply, "exit": code}


#: How long the resident agent stays without a connection before it exits (``GOVNET_AGENT_IDLE``).
RESIDENT_IDLE = 900.0
#: True in the resident agent (:func:`serve`).
_RESIDENT = False
#: Seconds without a request before the resident agent starts its next parser.
READY_AFTER_IDLE = 10.0


def serve(instance: str) -> int:
    """The resident agent: answers session requests on a unix socket in the state directory.

    Started by the device shell on the first ``govnet-agent session`` that finds none running (in the
    device's namespaces, as the login user), in a session of its own. It keeps frr-reload's functions
    loaded and one vtysh running, so a request costs no interpreter or vtysh start: a deploy's check,
    its post-check polls and a no-change check answer in milliseconds of CPU. Requests are answered
    one at a time (one connection per thread, one lock): the same order and locking as separate
    processes. It exits after :data:`RESIDENT_IDLE` seconds without a connection, or on SIGTERM
    (the lab's ``down`` stops everything in the device's namespace). One per instance: a second one
    finds the lock held and exits.
    """
    import socket
    import threading

    global _RESIDENT
    box = open_box(instance)
    lock_fd = os.open(box.state / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return 0
    _RESIDENT = True
    log = os.open(box.state / "agent.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log, 2)  # what a resident agent has to say (a crash) goes to its state directory
    os.close(log)
    for stale in box.state.glob("ready-*.fifo"):  # left by an agent that was killed
        stale.unlink(missing_ok=True)
    # ready before the first request: frr-reload's functions, the resident vtysh, a parser
    reload_lib(box)
    with contextlib.suppress(AgentError):
        resident_vtysh(box)
    _READY["dryrun"] = ReadyDryRun(box)
    path = box.state / SOCKET_NAME
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old = os.umask(0o177)
    try:
        server.bind(str(path))
    finally:
        os.umask(old)
    server.listen(64)
    write_atomic(box.state / PID_NAME, f"{os.getpid()} {start_time(os.getpid())}\n")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    idle = float(os.environ.get("GOVNET_AGENT_IDLE") or RESIDENT_IDLE)
    requests = threading.Lock()
    active = [0, time.monotonic()]  # open connections, when the last one closed
    last = [time.monotonic()]  # when the last request was answered

    def keep_ready() -> None:
        """Every half second: reap finished timers; start the next parser once nothing has been asked for a
        while (its ~40 ms of CPU then never competes with a deploy's checks and commits, which come in bursts)."""
        while True:
            time.sleep(0.5)
            with requests:
                reap_timers()
                if "dryrun" not in _READY and time.monotonic() - last[0] >= READY_AFTER_IDLE:
                    with contextlib.suppress(OSError):
                        _READY["dryrun"] = ReadyDryRun(box)

    def answer(conn: socket.socket) -> None:
        try:
            with conn, conn.makefile("rb") as lines:
                for raw in lines:
                    if not raw.strip():
                        continue
                    with requests:
                        try:
                            reply = session_reply(instance, raw.decode(errors="replace"))
                        except Exception as exc:  # a bug must not take the resident agent down
                            reply = {"ok": False, "error": f"agent failed: {exc!r}", "exit": 1}
                        last[0] = time.monotonic()
                    conn.sendall((json.dumps(reply, sort_keys=True) + "\n").encode())
        except OSError:
            pass
        finally:
            with requests:
                active[0] -= 1
                active[1] = time.monotonic()

    threading.Thread(target=keep_ready, daemon=True).start()
    server.settimeout(min(idle, 30.0))
    try:
        while True:
            try:
                conn, _ = server.accept()
            except TimeoutError:
                with requests:
                    if active[0] == 0 and time.monotonic() - active[1] >= idle:
                        return 0
                continue
            with requests:
                active[0] += 1
            threading.Thread(target=answer, args=(conn,), daemon=True).start()
    finally:
        with contextlib.suppress(OSError):
            if (box.state / PID_NAME).read_text().split()[0] == str(os.getpid()):
                path.unlink(missing_ok=True)
                (box.state / PID_NAME).unlink(missing_ok=True)
        if _VTYSH is not None:
            _VTYSH.close()
        for ready in _READY.values():
            ready.close()


def _emit(result: dict[str, Any]) -> None:
    print(json.dumps(result, sort_keys=True), flush=True)


if __name__ == "__main__":
    # Run as a script by the device shell to start the resident agent (onbox.py INSTANCE serve), and
    # usable by hand: onbox.py INSTANCE VERB ...
    if len(sys.argv) < 2:
        print("usage: onbox.py INSTANCE VERB [ARGS]", file=sys.stderr)
        sys.exit(2)
    if sys.argv[2:] == ["serve"]:
        sys.exit(serve(sys.argv[1]))
    sys.exit(main(sys.argv[1], sys.argv[2:]))
