"""The driver's one SSH connection to a router: an interactive vtysh plus one-shot commands.

Two kinds of request share a single authenticated SSH transport:

* vtysh commands go through the interactive ``frr_vtysh`` Netmiko session (the login lands in
  vtysh), which keeps prompts and error detection in one place;
* one-shot requests (``govnet-agent ...``, ``ping ...``) open a short-lived exec channel on the same
  transport, so the device's forced command sees them as ``SSH_ORIGINAL_COMMAND`` and stdin can carry
  a whole candidate config. No second login, no second host-key check.

The driver only depends on the :class:`Connection` protocol, so tests swap in a fake that serves
recorded output.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import paramiko
from napalm.base.exceptions import ConnectAuthError, ConnectionException, ConnectTimeoutError
from netmiko import ConnectHandler
from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

from napalm_frr.netmiko_frr import DEVICE_TYPE


@dataclass(frozen=True)
class ExecResult:
    """What a one-shot command returned."""

    exit_status: int
    stdout: str
    stderr: str


class Connection(Protocol):
    """What the driver needs from a device; implemented by SSHConnection and the test fake."""

    def send_command(self, command: str) -> str: ...

    def run(self, command: str, stdin: str = "", timeout: float = 60.0) -> ExecResult: ...

    def is_alive(self) -> bool: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class SSHSettings:
    """How to reach and authenticate one router (from NAPALM's arguments and optional_args)."""

    host: str
    username: str
    password: str
    port: int = 22
    timeout: int = 60
    known_hosts_file: str = ""
    ssh_strict: bool = True

    def known_hosts(self) -> str:
        """The known_hosts file to check host keys against (the user's by default)."""
        return self.known_hosts_file or str(Path("~/.ssh/known_hosts").expanduser())


class SSHConnection:
    """A live connection; construct with :func:`connect`."""

    def __init__(self, netmiko_session: Any) -> None:
        self._session = netmiko_session

    def send_command(self, command: str) -> str:
        """Run one exec-mode vtysh command and return its output."""
        output: str = self._session.send_command(command, read_timeout=60.0)
        return output

    def run(self, command: str, stdin: str = "", timeout: float = 60.0) -> ExecResult:
        """Run a one-shot command on the device through a fresh exec channel."""
        transport = self._session.remote_conn.get_transport()
        channel = transport.open_session(timeout=timeout)
        try:
            channel.settimeout(timeout)
            channel.exec_command(command)
            if stdin:
                channel.sendall(stdin.encode())
            channel.shutdown_write()
            stdout = channel.makefile("rb").read().decode(errors="replace")
            stderr = channel.makefile_stderr("rb").read().decode(errors="replace")
            return ExecResult(channel.recv_exit_status(), stdout, stderr)
        except TimeoutError as exc:
            raise ConnectionException(f"{command.split()[0]!r} timed out after {timeout:.0f} s") from exc
        finally:
            channel.close()

    def is_alive(self) -> bool:
        """True while the SSH transport is up."""
        return bool(self._session.is_alive())

    def close(self) -> None:
        """Leave vtysh and close the transport."""
        self._session.disconnect()


def connect(settings: SSHSettings) -> SSHConnection:
    """Open the session, turning SSH failures into one clear NAPALM exception each."""
    known_hosts = settings.known_hosts()
    if settings.ssh_strict and not os.path.isfile(known_hosts):
        raise ConnectionException(f"{settings.host}: known_hosts file {known_hosts} does not exist")
    try:
        session = ConnectHandler(
            device_type=DEVICE_TYPE,
            host=settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            timeout=settings.timeout,
            conn_timeout=min(settings.timeout, 15),
            ssh_strict=settings.ssh_strict,
            alt_host_keys=os.path.isfile(known_hosts),
            alt_key_file=known_hosts,
            allow_agent=False,
            use_keys=False,
        )
    except NetmikoAuthenticationException as exc:
        raise ConnectAuthError(
            f"{settings.host}: authentication failed for user {settings.username!r} (wrong password?)"
        ) from exc
    except (OSError, NetmikoTimeoutException, paramiko.SSHException) as exc:
        raise _connect_error(settings, known_hosts, exc) from exc
    return SSHConnection(session)


def _connect_error(settings: SSHSettings, known_hosts: str, exc: Exception) -> ConnectionException:
    """Name the cause: a host-key problem must never read like a network timeout."""
    text = str(exc)
    where = f"{settings.host}:{settings.port}"
    if "does not match" in text or isinstance(exc, paramiko.BadHostKeyException):
        return ConnectionException(
            f"{where}: host key mismatch: the key offered differs from the one in {known_hosts}; "
            "refusing to connect (the device was rebuilt, or someone is in the middle)"
        )
    if "not found in known_hosts" in text:
        return ConnectionException(f"{where}: host key unknown: no entry in {known_hosts}; refusing to connect")
    if "TCP connection to device failed" in text or isinstance(exc, socket.error):
        return ConnectTimeoutError(f"{where}: no SSH service reachable (TCP connection failed)")
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return ConnectionException(f"{where}: SSH connection failed: {first}")
