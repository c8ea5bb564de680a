"""A small FRR-like NAPALM driver: a running config in memory with replace, commit-confirm and rollback.

Fakes over mocks: it behaves like a device (commits change what `get_config` returns, a rollback restores it), so
the provider's logic is exercised without a lab. The lab test does the same against real FRR.
"""

from __future__ import annotations

import difflib
from ipaddress import IPv4Interface
from typing import Any

from govnet_pulumi import sections


class FakeDevice:
    """The box: its running config and the commit history, shared by every session opened to it."""

    def __init__(self, running: str) -> None:
        self.running = sections.clean_running(running)
        self.before_commit: str | None = None
        self.pending = False
        self.commits: list[tuple[str, int | None]] = []
        self.sessions = 0
        self.reject_address = False  # the platform drops interface addresses (for post-check failures)

    def hand_edit(self, header: str, stanza: str) -> None:
        """What an engineer with vtysh does: change a stanza behind the tool's back."""
        self.running = sections.splice(self.running, header, stanza)


class FakeDriver:
    """NAPALM's NetworkDriver calls the provider uses, with NAPALM's semantics."""

    def __init__(self, device: FakeDevice) -> None:
        self.box = device
        self.candidate: str | None = None
        self.is_open = False

    def open(self) -> None:
        self.is_open = True
        self.box.sessions += 1

    def close(self) -> None:
        self.is_open = False

    def get_config(self, retrieve: str = "all") -> dict[str, str]:
        assert self.is_open
        return {
            "running": "Building configuration...\n\nCurrent configuration:\n" + self.box.running,
            "startup": "",
            "candidate": self.candidate or "",
        }

    def load_replace_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        assert config is not None and filename is None
        self.candidate = config

    def compare_config(self) -> str:
        if self.candidate is None:
            return ""
        diff = difflib.unified_diff(self.box.running.splitlines(), self.candidate.splitlines(), lineterm="", n=0)
        return "\n".join(ln for ln in diff if ln[:1] in "+-" and ln[:3] not in ("+++", "---"))

    def discard_config(self) -> None:
        self.candidate = None

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        assert self.candidate is not None
        self.box.before_commit, self.box.running = self.box.running, self.candidate
        self.box.pending = revert_in is not None
        self.box.commits.append((message, revert_in))
        self.candidate = None

    def confirm_commit(self) -> None:
        assert self.box.pending, "nothing to confirm"
        self.box.pending = False

    def rollback(self) -> None:
        assert self.box.before_commit is not None
        self.box.running, self.box.pending = self.box.before_commit, False

    def get_interfaces_ip(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.box.reject_address:
            return out
        for line in self.box.running.splitlines():
            if line.startswith("interface "):
                name = line.split()[1]
            elif line.startswith(" ip address "):
                addr = IPv4Interface(line.split()[2])
                out.setdefault(name, {"ipv4": {}})["ipv4"][str(addr.ip)] = {"prefix_length": addr.network.prefixlen}
        return out
