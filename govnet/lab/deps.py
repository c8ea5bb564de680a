"""Preconditions of every lab command: root, and the Debian packages the lab drives."""

from __future__ import annotations

import os
import shutil

from govnet.lab.errors import LabUsageError

#: Debian package → a program it ships that the lab runs (absolute paths for those outside PATH).
REQUIRED_PACKAGES: dict[str, str] = {
    "frr": "/usr/lib/frr/watchfrr",
    "frr-pythontools": "/usr/lib/frr/frr-reload.py",
    "openssh-server": "/usr/sbin/sshd",
    "iproute2": "ip",
    "iputils-ping": "ping",
    "traceroute": "traceroute",
    "nftables": "nft",
    "libcap2-bin": "setcap",
}
_SEARCH_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin", "/bin"])


def missing_packages() -> list[str]:
    """Packages whose program is absent, in a stable order."""
    missing = []
    for package, program in REQUIRED_PACKAGES.items():
        if program.startswith("/"):
            present = os.access(program, os.X_OK) or os.access(program, os.R_OK)
        else:
            present = shutil.which(program, path=_SEARCH_PATH) is not None
        if not present:
            missing.append(package)
    return missing


def check_root() -> None:
    """Namespaces, veths and users need root; say so instead of failing halfway."""
    if os.geteuid() != 0:
        raise LabUsageError("lab: must run as root (namespaces, interfaces and FRR need it); try sudo")


def check_packages() -> None:
    """One line naming every missing package and the command that installs it."""
    missing = missing_packages()
    if missing:
        raise LabUsageError(
            f"lab: missing package{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
            " — install with: sudo scripts/bootstrap"
        )


def check_all() -> None:
    """Root first: a non-root user cannot install packages either."""
    check_root()
    check_packages()
