"""What an SSH login to a lab device runs (sshd's ``ForceCommand``): a router CLI, nothing more.

- interactive login → ``vtysh -N <instance>``;
- ``napalm-frr-helper …`` → the FRR driver's on-box helper (``napalm_frr.helper``) for config replace /
  commit-confirmed; ``napalm-frr-helper session`` is relayed to the device's resident helper (started on first use);
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

VTYSH = "/usr/bin/vtysh"
PING = "/usr/bin/ping"
TRACEROUTE = "/usr/bin/traceroute"
LAB_RANGE = IPv4Network("198.18.0.0/15")
#: Options allowed for ping/traceroute and whether each takes a numeric value.
_OPTIONS = {"-c": True, "-W": True, "-i": True, "-s": True, "-I": True}
_IFNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,14}$")
_NUMBER = re.compile(r"^\d+(\.\d+)?$")
#: The FRR driver's on-box helper command (``napalm_frr.helper.COMMAND``; not imported here: every login
#: would pay for it).
HELPER_COMMAND = "napalm-frr-helper"
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
        if first == HELPER_COMMAND:
            words = shlex.split(command)[1:]
            from napalm_frr.helper import relay

            if words == ["session"]:
                return int(relay.main([instance]))
            return relay.run_helper(instance, words)
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
