"""Running programs in lab namespaces: ``ip``, ``tc``, ``vtysh``, ``ping``.

Small wrappers so every caller gets the same error handling: a failing command raises ``LabError``
carrying the command and its stderr, never a bare ``CalledProcessError`` traceback.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from govnet.lab.errors import LabError

FRR_RUN = Path("/var/run/frr")
FRR_ETC = Path("/etc/frr")


def run(argv: Sequence[str], *, stdin: str | None = None, check: bool = True, timeout: float = 120) -> str:
    """Run a command, return its stdout; raise LabError with stderr when it fails and ``check``."""
    try:
        proc = subprocess.run(list(argv), input=stdin, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"{' '.join(argv)}: no answer within {timeout:.0f} s") from exc
    if check and proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise LabError(f"{' '.join(argv)}: {detail[-1] if detail else f'exit {proc.returncode}'}")
    return proc.stdout


def ip_batch(lines: Sequence[str], *, netns: str | None = None, force: bool = False) -> None:
    """Many ``ip`` commands in one process: a lab of 80 routers needs thousands of them."""
    if not lines:
        return
    argv = ["ip", *(["-n", netns] if netns else []), *(["-force"] if force else []), "-batch", "-"]
    run(argv, stdin="\n".join(lines) + "\n", check=not force)


def tc_batch(lines: Sequence[str], *, netns: str) -> None:
    """``tc`` commands in one process inside a namespace."""
    if lines:
        run(["tc", "-n", netns, "-batch", "-"], stdin="\n".join(lines) + "\n")


def in_netns(netns: str, argv: Sequence[str]) -> list[str]:
    """The argv that runs ``argv`` inside a namespace."""
    return ["ip", "netns", "exec", netns, *argv]


def watchfrr_pid(instance: str) -> int | None:
    """PID of an instance's watchfrr (its UTS namespace carries the device hostname)."""
    try:
        pid = int((FRR_RUN / instance / "watchfrr.pid").read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if Path(f"/proc/{pid}").exists() else None


def vtysh(instance: str, *commands: str, timeout: float = 30, check: bool = True, uts: bool = True) -> str:
    """Run vtysh commands against an instance, inside the device's UTS and network namespaces.

    Inside the UTS namespace so ``show running-config`` carries the device's hostname, not the
    machine's; FRR under ``-N`` takes the hostname from the OS.  ``uts=False`` saves a process
    for read-only probes that do not print the hostname.
    """
    argv = ["vtysh", "-N", instance]
    for cmd in commands:
        argv += ["-c", cmd]
    pid = watchfrr_pid(instance) if uts else None
    if pid is not None:
        argv = ["nsenter", "-t", str(pid), "-u", "-n", "--", *argv]
    return run(argv, timeout=timeout, check=check)


def ping(netns: str, address: str, *, count: int = 1, wait: float = 1) -> bool:
    """One ping from a namespace; True when answered."""
    argv = in_netns(netns, ["ping", "-n", "-q", "-c", str(count), "-W", str(wait), address])
    proc = subprocess.run(argv, capture_output=True, timeout=count * wait + 10)
    return proc.returncode == 0
