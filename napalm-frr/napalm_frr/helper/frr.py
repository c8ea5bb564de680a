"""FRR access on the box: vtysh (one-shot, resident, a parser started ahead) and frr-reload's diff.

:class:`FRR` holds what one helper process keeps between requests (a running vtysh, frr-reload's functions,
a ready parser); the rest are plain functions of an instance's :class:`~napalm_frr.helper.box.Box`.
"""

from __future__ import annotations

import contextlib
import marshal
import os
import re
import secrets
import subprocess
import sys
import time
import types
import warnings
from pathlib import Path

from napalm_frr.helper import paths
from napalm_frr.helper.box import Box, HelperError, scratch, write_atomic, write_atomic_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FRR_RELOAD = "/usr/lib/frr/frr-reload.py"
#: The vtysh to run: ``NAPALM_FRR_HELPER_VTYSH`` (the driver's optional_args ``vtysh_path``), else the PATH's.
VTYSH_ENV = "NAPALM_FRR_HELPER_VTYSH"
VTYSH = os.environ.get(VTYSH_ENV) or "vtysh"
FRR_RUN_BASE = "/var/run/frr"


def vtysh_argv(instance: str) -> list[str]:
    """vtysh for *instance*: ``vtysh -N <instance>``, or plain ``vtysh`` for the box's default instance ("")."""
    return [VTYSH, "-N", instance] if instance else [VTYSH]


SHOW_RUN_HEADER = re.compile(r"\A(?:Building configuration\.\.\.\s*\n)?\s*(?:Current configuration:\s*\n)?")
#: Lines FRR accepts but never prints in ``show running-config`` (informational, or a default zebra
#: only reports when it is off): compared as "!" so they never show as a change.
NEVER_SHOWN = re.compile(r"^(?:frr version .*|ip forwarding|ipv6 forwarding)\s*$", re.M)
#: An empty ``line vty`` block: vtysh prints it only when it holds something.
EMPTY_LINE_VTY = re.compile(r"^line vty[ \t]*\n(?![ \t])", re.M)


class FRR:
    """What one helper process keeps for FRR between requests: a resident vtysh, frr-reload's functions and
    (in the resident helper) a parser started before it is needed. A forked child (the revert timer) makes
    its own: each piece knows the process that started it."""

    def __init__(self) -> None:
        self._vtysh: ResidentVtysh | None = None
        self._lib: types.ModuleType | None = None
        self.ready: ReadyDryRun | None = None

    def resident(self, box: Box) -> ResidentVtysh:
        """This process's resident vtysh for *box*, (re)started when needed."""
        current = self._vtysh
        if current is None or current.instance != box.instance or not current.usable():
            if current is not None and current.owner == os.getpid():
                current.close()
            current = self._vtysh = ResidentVtysh(box)
        return current

    def reload_lib(self, box: Box) -> types.ModuleType:
        """:func:`load_reload_lib`, once per process (a session reuses it)."""
        if self._lib is None:
            self._lib = load_reload_lib(box)
        return self._lib

    def show(self, box: Box, commands: list[str]) -> list[str]:
        """Exec-mode ``show`` commands through this process's resident vtysh; one output each.

        A reply starting with ``%`` (vtysh's error form) raises, as a failing ``vtysh -c`` would.
        """
        outputs = self.resident(box).run(commands)
        for command, output in zip(commands, outputs, strict=True):
            if output.lstrip().startswith("%"):
                raise HelperError(f"vtysh {command!r} failed: {output.strip()}")
        return outputs

    def running_config(self, box: Box) -> str:
        """The running config without vtysh's "Building configuration" banner."""
        return SHOW_RUN_HEADER.sub("", self.show(box, ["show running-config"])[0], count=1)

    def start_ready(self, box: Box) -> None:
        """Start the next parser (the resident helper, when idle)."""
        if self.ready is None:
            self.ready = ReadyDryRun(box)

    def forget_ready(self) -> None:
        """Drop the ready parser without touching it (a forked child: it is the parent's)."""
        self.ready = None

    def syntax_problems_of(self, box: Box, text: str) -> list[str]:
        """:func:`syntax_problems` for a text: through the ready parser when there is one, else a vtysh run on
        a scratch file in the state directory."""
        ready, self.ready = self.ready, None
        done = ready.run(text) if ready is not None and ready.owner == os.getpid() else None
        if done is not None:
            return dryrun_problems(*done)
        path = scratch(box, "candidate.", ".conf", text)
        try:
            return syntax_problems(box, path)
        finally:
            path.unlink(missing_ok=True)

    def diff_config(self, box: Box, running: str, intended: str) -> str:
        """The exact commands a replace would send, in frr-reload's ``--test`` format."""
        lib = self.reload_lib(box)
        add, delete = config_changes(lib, running, intended)
        return changes_text(lib, add, delete)

    def apply_config(self, box: Box, running: str, intended: str, merge: bool = False) -> str:
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
        lib = self.reload_lib(box)
        add, delete = config_changes(lib, running, intended)
        first_adds = [a for a in add if not a[0][0].startswith("no ")]
        refused = self._send_file(box, lib, delete, add) if add or delete else []
        now = self.running_config(box)
        if merge:
            if refused:
                raise HelperError("vtysh refused lines of the merge", refused[-5:])
            return now
        add, delete = config_changes(lib, now, intended)
        if delete:
            _retry_deletes(box, lib, delete)
        if add or delete:
            self._send_file(box, lib, [], add + first_adds)
            now = self.running_config(box)
            add, delete = config_changes(lib, now, intended)
        if add or delete:
            left = changes_text(lib, add, delete).splitlines()
            raise HelperError(
                "the running config still differs from the candidate after applying it", refused[-3:] + left[-5:]
            )
        return now

    def _send_file(self, box: Box, lib: types.ModuleType, delete: list[Any], add: list[Any]) -> list[str]:
        """The ``no`` form of every line in *delete*, then every line in *add*, in one batch through the resident
        vtysh (one ``vtysh -f`` when it cannot be used); what vtysh refused."""
        lines = [lib.lines_to_config(keys, line, True) for keys, line in delete if line != "!"]
        lines += [lib.lines_to_config(keys, line, False) for keys, line in add if line != "!"]
        commands = [line for cmd in lines for line in cmd]
        with contextlib.suppress(HelperError):  # the resident vtysh: no vtysh start; else vtysh -f as before
            return self.resident(box).configure(commands)
        path = scratch(box, "reload-", ".conf", "".join(c + "\n" for c in commands))
        try:
            proc = subprocess.run(
                [*vtysh_argv(box.instance), "-f", str(path)], capture_output=True, text=True, check=False
            )
        finally:
            path.unlink(missing_ok=True)
        if proc.returncode == 0:
            return []
        return [line.strip() for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]

    def close(self) -> None:
        """Stop what this process started (the resident helper's exit)."""
        if self._vtysh is not None and self._vtysh.owner == os.getpid():
            self._vtysh.close()
        if self.ready is not None:
            self.ready.close()


def vtysh(box: Box, *commands: str) -> str:
    """Run exec-mode commands in the instance's vtysh; raise with vtysh's own message on failure."""
    argv = vtysh_argv(box.instance)
    for command in commands:
        argv += ["-c", command]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HelperError(f"vtysh {' / '.join(commands)!r} failed: {(proc.stdout + proc.stderr).strip()}")
    return proc.stdout


class ResidentVtysh:
    """One vtysh kept running for this helper process, fed commands through a pipe.

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
            vtysh_argv(instance),
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
            raise HelperError("a config line holds a newline")
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
                raise HelperError(f"not a command: {command!r}")
        self.serial += 1
        marks = [f"napalm-frr-end-{self.owner}-{self.serial}-{i}" for i in range(len(commands) + 1)]
        payload = "".join(f"{c}\n{m}\n" for c, m in zip(commands, marks, strict=False)) + marks[-1] + "\n"
        assert self.proc.stdin is not None and self.proc.stdout is not None
        try:
            self.proc.stdin.write(payload.encode())
        except OSError as exc:
            self.close()
            raise HelperError(f"vtysh stopped: {exc.strerror}") from exc
        end = f"% Unknown command: {marks[-1]}\n".encode()
        buf, deadline = self.pending, time.monotonic() + timeout
        while end not in buf:
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self.proc.stdout.fileno(), 1 << 20) if ready else b""
            if not chunk:
                self.close()
                raise HelperError(
                    "vtysh " + ("timed out" if not ready else "exited") + f" during {commands or 'start'}"
                )
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


def syntax_problems(box: Box, path: Path) -> list[str]:
    """Every line vtysh's parser rejects, as ``line N: message``; empty means the file parses."""
    proc = subprocess.run(
        [*vtysh_argv(box.instance), "--dryrun", "-f", str(path)], capture_output=True, text=True, check=False
    )
    return dryrun_problems(proc.returncode, proc.stdout, proc.stderr)


def dryrun_problems(code: int, out: str, err: str) -> list[str]:
    problems = [line.strip() for line in err.splitlines() if line.strip()]
    if code != 0 and not problems:
        problems = [f"vtysh --dryrun exited {code}: {out.strip()}"]
    return problems


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
        raise HelperError(f"{FRR_RELOAD} is missing (package frr-pythontools): {exc.strerror}") from exc
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

    ``show running-config`` output is already in that form, and so are configs rendered by a template (a
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


def _retry_deletes(box: Box, lib: types.ModuleType, delete: list[Any]) -> None:
    """``no`` lines one by one, dropping the last word until FRR takes it (frr-reload's way with picky commands,
    e.g. ``no ip ospf authentication message-digest 1.1.1.1`` only goes as ``no ip ospf authentication``)."""
    for keys, line in delete:
        if line == "!":
            continue
        cmd = lib.lines_to_config(keys, line, True)
        while True:
            proc = subprocess.run(
                [*vtysh_argv(box.instance), "-c", "configure", *(a for c in cmd for a in ("-c", c))],
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
    argv = [FRR_RELOAD, "--reload", *(["--pathspace", box.instance] if box.instance else [])]
    argv += ["--stdout", "--log-level", "error"]
    argv += ["--rundir", str(box.state), "--confdir", paths.FRR_CONF_BASE, str(path)]
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip().splitlines()[-5:]
        raise HelperError("frr-reload failed to apply the config", detail)


def write_memory(box: Box) -> None:
    """Persist the running config as the startup config."""
    vtysh(box, "write memory")


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
            [*vtysh_argv(box.instance), "--dryrun", "-f", str(self.fifo)],
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
