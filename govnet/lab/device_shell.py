"""What an SSH login to a lab device runs (sshd's ``ForceCommand``): a router CLI, nothing more.

- interactive login → ``vtysh -N <instance>``;
- ``govnet-agent …`` → the on-box agent (``govnet.lab.onbox``) for config replace / commit-confirmed;
  ``govnet-agent session`` is relayed to the device's resident agent (started on first use);
- ``ping`` / ``traceroute`` with strictly checked arguments, run without a shell;
- anything else → one-shot ``vtysh -N <instance> -c <line>`` per line.

Imports only the standard library at start: it runs on every login.
"""

from __future__ import annotations

import os
import re
import shlex
import sys
from ipaddress import IPv4Address, IPv4Network

TYPE_CHECKING = False  # not typing's: this module starts on every login
if TYPE_CHECKING:
    import socket

VTYSH = "/usr/bin/vtysh"
PING = "/usr/bin/ping"
TRACEROUTE = "/usr/bin/traceroute"
LAB_RANGE = IPv4Network("198.18.0.0/15")
#: Options allowed for ping/traceroute and whether each takes a numeric value.
_OPTIONS = {"-c": True, "-W": True, "-i": True, "-s": True, "-I": True}
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
_INSTANCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class ShellError(ValueError):
    """A command the device shell refuses; the message goes to the client."""


def probe_argv(tool: str, args: list[str]) -> list[str]:
    """Validate ping/traceroute arguments and return the argv to exec (no shell is involved).

    Options use ping's meaning for both tools (-c count, -W wait, -i interval, -s size, -I source
    interface or address); for traceroute they are translated (-c → -q, -W → -w, -I → -i/-s) and
    the two without a traceroute equivalent (-i, -s) are refused.
    """
    out: list[str] = [PING if tool == "ping" else TRACEROUTE]
    target: str | None = None
    is_ifname = False
    it = iter(args)
    for arg in it:
        if arg in _OPTIONS:
            value = next(it, None)
            if value is None:
                raise ShellError(f"{tool}: option {arg} needs a value")
            if arg == "-I":
                is_ifname = _check_source(tool, value)
            elif not _NUMBER.match(value) or float(value) > 65535:
                raise ShellError(f"{tool}: option {arg}: bad value {value!r}")
            if tool == "traceroute":
                if arg in ("-i", "-s"):
                    raise ShellError(f"traceroute: option {arg} is not allowed (allowed: -c -W -I)")
                arg = {"-c": "-q", "-W": "-w", "-I": "-i" if arg == "-I" and is_ifname else "-s"}[arg]
            out += [arg, value]
        elif arg.startswith("-"):
            raise ShellError(f"{tool}: option {arg} is not allowed (allowed: {' '.join(_OPTIONS)})")
        elif target is None:
            _check_address(tool, arg)
            target = arg
        else:
            raise ShellError(f"{tool}: unexpected argument {arg!r}")
    if target is None:
        raise ShellError(f"{tool}: missing destination address")
    if tool == "ping" and "-c" not in args:
        out += ["-c", "5"]
    return [*out, target]


def _check_address(tool: str, text: str) -> None:
    """Only lab addresses: a device shell must never send traffic outside 198.18.0.0/15."""
    try:
        addr = IPv4Address(text)
    except ValueError:
        raise ShellError(f"{tool}: {text!r} is not an IPv4 address") from None
    if addr not in LAB_RANGE:
        raise ShellError(f"{tool}: {addr} is outside the lab range {LAB_RANGE}")


def _check_source(tool: str, text: str) -> bool:
    """``-I`` takes a lab address or an interface name; True for an interface name."""
    if _IFNAME.match(text) and not re.match(r"^[\d.]+$", text):
        return True
    _check_address(tool, text)
    return False


def vtysh_argv(instance: str, command: str) -> list[str]:
    """One-shot vtysh: each non-empty line of the command becomes its own ``-c``."""
    argv = [VTYSH, "-N", instance]
    for line in command.splitlines():
        if line.strip():
            argv += ["-c", line.strip()]
    return argv


def run_agent(instance: str, args: list[str]) -> int:
    """Hand over to the on-box agent, imported lazily so a missing module is a clear message."""
    try:
        from govnet.lab import onbox  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        print(f"govnet-agent: on-box agent not available ({exc})", file=sys.stderr)
        return 127
    return int(onbox.main(instance, args) or 0)


def agent_session(instance: str) -> int:
    """``govnet-agent session``: handed to the device's resident agent, started first if none runs.

    The login only relays bytes between its SSH channel and the agent's unix socket, so a session
    costs no agent start (the resident agent keeps frr-reload's functions and a vtysh loaded). When no
    resident agent can be reached or started, the session runs in this process as before.
    """
    import socket

    from govnet.lab.onbox_paths import agent_socket

    path = str(agent_socket(instance))
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(path)
    except OSError:
        sock.close()
        started = _start_resident(instance, path)
        return run_agent(instance, ["session"]) if started is None else _relay(started)
    return _relay(sock)


def _start_resident(instance: str, path: str) -> socket.socket | None:
    """Start the resident agent (own session, so the SSH hang-up spares it) and connect; None if it never listens."""
    import socket
    import subprocess
    import time

    log = os.path.join(os.path.dirname(path), "agent.log")
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        with open(log, "ab") as err:
            subprocess.Popen(
                [sys.executable, "-S", "-m", "govnet.lab.onbox", instance, "serve"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=err,
                start_new_session=True,
                close_fds=True,
            )
    except OSError:
        return None
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.connect(path)
            return sock
        except OSError:
            sock.close()
            time.sleep(0.01)
    return None


def _relay(sock: socket.socket) -> int:
    """Copy stdin to the socket and the socket to stdout until the agent closes its side."""
    import select
    import socket

    inputs: list[int | socket.socket] = [0, sock]
    while True:
        ready, _, _ = select.select(inputs, [], [])
        if 0 in ready:
            data = os.read(0, 1 << 16)
            if data:
                sock.sendall(data)
            else:
                sock.shutdown(socket.SHUT_WR)
                inputs.remove(0)
        if sock in ready:
            data = sock.recv(1 << 16)
            if not data:
                return 0
            view = memoryview(data)
            while view:
                view = view[os.write(1, view) :]


def main(argv: list[str] | None = None) -> int:
    """Dispatch one SSH login; execs the target program so signals and exit codes pass straight through."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not _INSTANCE.match(args[0]):
        print("device_shell: usage: python -m govnet.lab.device_shell INSTANCE", file=sys.stderr)
        return 2
    instance = args[0]
    command = os.environ.get("SSH_ORIGINAL_COMMAND")
    if command is None:
        os.execv(VTYSH, [VTYSH, "-N", instance])
    if not command.strip():
        return 0
    first = command.split(None, 1)[0]
    try:
        if first == "govnet-agent":
            words = shlex.split(command)[1:]
            return agent_session(instance) if words == ["session"] else run_agent(instance, words)
        if first in ("ping", "traceroute"):
            words = shlex.split(command)
            exec_argv = probe_argv(first, words[1:])
            os.execv(exec_argv[0], exec_argv)
    except (ShellError, ValueError) as exc:
        print(f"% {exc}", file=sys.stderr)
        return 2
    exec_argv = vtysh_argv(instance, command)
    os.execv(exec_argv[0], exec_argv)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
