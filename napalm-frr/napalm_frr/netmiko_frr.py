"""Netmiko device type ``frr_vtysh``: an SSH session that lands in FRR's vtysh.

Netmiko ships no FRR type, and ``cisco_ios`` silently accepts vtysh's error replies, so a typo in a
pushed config would go unnoticed. Importing this module registers ``frr_vtysh`` in Netmiko's
dispatcher so ``netmiko.ConnectHandler(device_type="frr_vtysh", ...)`` works.
"""

from __future__ import annotations

import importlib
import re
import time
from typing import Any

from netmiko.cisco_base_connection import CiscoBaseConnection
from netmiko.exceptions import ConfigInvalidException

DEVICE_TYPE = "frr_vtysh"

#: vtysh's replies to a rejected line: every error starts with "%", except bgpd's AS clash.
ERROR_PATTERN = r"^\s*%.*$|^BGP is already running.*$|^.*VTY configuration is locked.*$"


class FRRVtyshSSH(CiscoBaseConnection):
    """vtysh over SSH: Cisco-like prompts, no enable password, errors that must raise."""

    def session_preparation(self) -> None:
        """Find the prompt and turn paging off; vtysh has no terminal width command."""
        self._test_channel_read(pattern=r"[>#]")
        self.set_base_prompt()
        self.disable_paging(command="terminal length 0")

    def enable(self, *args: Any, **kwargs: Any) -> str:
        """vtysh always starts privileged: there is no enable password to send."""
        return ""

    def check_enable_mode(self, check_string: str = "#") -> bool:
        """vtysh sessions are always privileged."""
        return True

    def _prompt_pattern(self) -> str:
        """The prompt in any mode: ``r1#``, ``r1(config)#``, ``r1(config-router)#``."""
        return rf"{re.escape(self.base_prompt)}[^\n]*#"

    def check_config_mode(self, check_string: str = ")#", pattern: str = "", force_regex: bool = False) -> bool:
        """Read up to the prompt instead of waiting for the channel to go quiet (2 s each time)."""
        return super().check_config_mode(
            check_string=check_string, pattern=pattern or self._prompt_pattern(), force_regex=force_regex
        )

    def exit_config_mode(self, exit_config: str = "end", pattern: str = "") -> str:
        """``end`` returns to exec mode from any config sub-mode."""
        return super().exit_config_mode(exit_config=exit_config, pattern=pattern or self._prompt_pattern())

    def send_config_set(self, config_commands: Any = None, **kwargs: Any) -> str:
        """Send config lines; raise ConfigInvalidException on the first line vtysh rejects.

        The lines before the bad one are already applied (vtysh has no candidate store); the
        session is returned to exec mode so the caller can carry on or roll back.
        """
        kwargs.setdefault("error_pattern", ERROR_PATTERN)
        try:
            return super().send_config_set(config_commands, **kwargs)
        except ConfigInvalidException:
            self.exit_config_mode()
            raise

    def send_commands(self, commands: list[str], read_timeout: float = 60.0) -> list[str]:
        """Several exec-mode commands in one round trip: all are written at once, then the output is
        read until a prompt has come back for each, and split at the prompts (echoes removed).

        ``send_command`` per command waits for each prompt in turn; for a batch of show commands
        polled until a deploy converges, this is one network round trip instead of one per command.
        """
        if not commands:
            return []
        prompt = re.compile(rf"^{re.escape(self.base_prompt)}[^\n]*#[ \t]*", re.M)
        self.write_channel("".join(command + self.RETURN for command in commands))
        output, start = "", -1
        deadline = time.monotonic() + read_timeout
        while start < 0 or len(prompt.findall(output, start)) < len(commands):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no prompt after {commands!r} within {read_timeout:.0f} s")
            chunk = self.read_channel()
            if chunk:
                output += chunk.replace("\r\n", "\n").replace("\r", "")
                start = output.find(commands[0] + "\n")  # anything before (an earlier prompt) is not ours
            else:
                time.sleep(0.005)
        replies = []
        for part in prompt.split(output[start:])[: len(commands)]:
            _echo, _, body = part.partition("\n")
            replies.append(body.rstrip("\n"))
        return replies

    def save_config(self, cmd: str = "write memory", confirm: bool = False, confirm_response: str = "") -> str:
        """Leave config mode first: vtysh's ``write memory`` is an exec-mode command."""
        if self.check_config_mode():
            self.exit_config_mode()
        output = self._send_command_str(cmd, strip_prompt=False, strip_command=False, read_timeout=60.0)
        if re.search(ERROR_PATTERN, output, flags=re.M) or "[OK]" not in output:
            raise ConfigInvalidException(f"save_config: {cmd!r} failed: {output.strip()}")
        return output


def register() -> None:
    """Add ``frr_vtysh`` to Netmiko's dispatcher tables (idempotent)."""
    ssh_dispatcher = importlib.import_module("netmiko.ssh_dispatcher")
    for name in (DEVICE_TYPE, DEVICE_TYPE + "_ssh"):
        ssh_dispatcher.CLASS_MAPPER[name] = FRRVtyshSSH
        if name not in ssh_dispatcher.platforms:
            ssh_dispatcher.platforms.append(name)
    ssh_dispatcher.CLASS_MAPPER_BASE[DEVICE_TYPE] = FRRVtyshSSH


register()
