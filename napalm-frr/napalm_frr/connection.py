"""The driver's one SSH connection to a router: one login, then one-shot requests and an interactive vtysh.

One authenticated SSH transport (host key checked once) carries everything:

* one-shot requests (``napalm-frr-helper ...``, ``ping ...``, a batch of vtysh show commands) open a
  short-lived exec channel, so the device's forced command sees them as ``SSH_ORIGINAL_COMMAND`` and
  stdin can carry a whole candidate config;
* interactive vtysh commands go through the ``frr_vtysh`` Netmiko session (prompts and error
  detection in one place), opened on the same transport the first time one is needed: a deploy,
  which only makes one-shot requests, never starts an interactive vtysh on the device;
* the on-box helper's session (:meth:`SSHConnection.start_helper`, at ``open()``): the box's resident
  helper when it reports exactly the driver's version and source digest, else the driver's own copy,
  brought over this login by :mod:`napalm_frr.shipping` (uploaded once, then run from the box's cache).

The driver only depends on the :class:`Connection` protocol, so tests swap in a fake that serves
recorded output.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import paramiko
from napalm.base.exceptions import ConnectAuthError, ConnectionException, ConnectTimeoutError
from netmiko.exceptions import NetmikoBaseException

from napalm_frr import shipping
from napalm_frr.helper import COMMAND as HELPER_COMMAND
from napalm_frr.helper import VERSION as HELPER_VERSION
from napalm_frr.helper import source_digest
from napalm_frr.helper.protocol import VERBS as HELPER_VERBS  # noqa: F401  (the verbs the Protocol declares)
from napalm_frr.netmiko_frr import FRRVtyshSSH

#: Where the helper session came from: the box's own install, the driver's copy cached on the box, or the
#: driver's copy uploaded by this login.
RESIDENT, CACHED, SHIPPED = "resident", "cached", "shipped"


@dataclass(frozen=True)
class ExecResult:
    """What a one-shot command returned."""

    exit_status: int
    stdout: str
    stderr: str


class Connection(Protocol):
    """What the driver needs from a device; implemented by SSHConnection and the recorded-output fake.

    ``helper_request`` carries one request to the on-box helper: ``argv`` starts with one of
    :data:`HELPER_VERBS` (the helper's own :data:`napalm_frr.helper.protocol.VERBS`), the reply is the helper's
    one JSON line (``ok``, the verb's fields, ``exit``).
    """

    def send_command(self, command: str) -> str: ...

    def helper_request(self, argv: list[str], stdin: str = "", timeout: float = 60.0) -> str: ...

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
    #: The FRR instance the shipped helper works on (``vtysh -N``; "" is the box's default instance, plain
    #: ``vtysh``); a resident helper knows its own.
    frr_instance: str = ""
    #: The shipped helper's vtysh (the PATH's when empty) and whether it runs through ``sudo -n``.
    vtysh_path: str = ""
    use_sudo: bool = False

    def known_hosts(self) -> str:
        """The known_hosts file to check host keys against (the user's by default)."""
        return self.known_hosts_file or str(Path("~/.ssh/known_hosts").expanduser())


class SSHConnection:
    """A live connection; construct with :func:`connect`."""

    def __init__(self, client: paramiko.SSHClient, settings: SSHSettings) -> None:
        self._client = client
        self._settings = settings
        self._session: Any = None
        self._session_channel: tuple[paramiko.Channel, Any] | None = None
        #: What the helper reported at :meth:`start_helper` (``origin`` added), or None.
        self.helper: dict[str, Any] | None = None
        self._helper_error = ""

    def start_helper(self, timeout: float = 60.0) -> dict[str, Any] | None:
        """Start the helper's session for this login: the resident helper if it is exactly the driver's, else the
        driver's own copy (from the box's cache, or uploaded now). Returns what the helper reported, with
        ``origin`` (resident, cached or shipped); None when neither answers (then every helper request raises
        ConnectionException naming why, and vtysh reads still work)."""
        problems: list[str] = []
        for start in (self._resident_session, self._shipped_session):
            try:
                channel, replies, helper = start(timeout)
            except _NoHelper as exc:
                problems.append(str(exc))
                continue
            self._session_channel = (channel, replies)
            self.helper = helper
            return helper
        self._helper_error = "; ".join(problems)
        return None

    def _resident_session(self, timeout: float) -> tuple[paramiko.Channel, Any, dict[str, Any]]:
        """``napalm-frr-helper session``, kept only if its ``status`` names the driver's version and digest."""
        channel, replies = self._exec(HELPER_COMMAND + " session", timeout)
        try:
            helper = self._helper_status(channel, replies)
        except _NoHelper as exc:
            _close_channel(channel)
            raise _NoHelper(f"no resident helper ({exc})") from None
        if (helper.get("version"), helper.get("digest")) != (HELPER_VERSION, source_digest()):
            _close_channel(channel)
            theirs = f"{helper.get('version')} ({str(helper.get('digest'))[:12]})"
            ours = f"{HELPER_VERSION} ({source_digest()[:12]})"
            raise _NoHelper(f"resident helper {theirs} differs from the driver's {ours}")
        return channel, replies, {**helper, "origin": RESIDENT}

    def _shipped_session(self, timeout: float) -> tuple[paramiko.Channel, Any, dict[str, Any]]:
        """The driver's helper run by the box's ``python3 -S`` from its cache; the archive is sent when asked."""
        command = shipping.ship_command(
            self._settings.frr_instance, ["session"], vtysh=self._settings.vtysh_path, sudo=self._settings.use_sudo
        )
        channel, replies = self._exec(command, timeout)
        try:
            first = replies.readline().decode(errors="replace").strip()
            if first == "SEND":
                channel.sendall(shipping.send_payload())
            elif first != "READY":
                raise _NoHelper(_last_line(channel, first) or "the box's python3 did not start the bootstrap")
            helper = self._helper_status(channel, replies)
        except (OSError, paramiko.SSHException) as exc:
            _close_channel(channel)
            raise _NoHelper(f"shipping the helper failed: {exc or 'timed out'}") from None
        except _NoHelper as exc:
            _close_channel(channel)
            raise _NoHelper(f"shipping the helper failed: {exc}") from None
        return channel, replies, {**helper, "origin": SHIPPED if first == "SEND" else CACHED}

    def _exec(self, command: str, timeout: float) -> tuple[paramiko.Channel, Any]:
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectionException(f"{self._settings.host}: the SSH connection is closed")
        channel = transport.open_session(timeout=timeout)
        channel.settimeout(timeout)
        channel.exec_command(command)
        return channel, channel.makefile("rb")

    @staticmethod
    def _helper_status(channel: paramiko.Channel, replies: Any) -> dict[str, Any]:
        """One ``status`` request on a fresh session: the helper's own report (version, digest, pid, resident)."""
        try:
            channel.sendall((json.dumps({"argv": ["status"]}) + "\n").encode())
            line = replies.readline()
        except (OSError, paramiko.SSHException) as exc:
            raise _NoHelper(str(exc) or "timed out") from None
        try:
            reply = json.loads(line)
            helper: dict[str, Any] = reply["helper"]
        except (ValueError, KeyError, TypeError):
            raise _NoHelper(_last_line(channel, line.decode(errors="replace").strip()) or "no answer") from None
        return helper

    def session(self) -> Any:
        """The interactive ``frr_vtysh`` Netmiko session, started on this login's transport when first asked for."""
        if self._session is None:
            if not self.is_alive():
                raise ConnectionException(f"{self._settings.host}: the SSH connection is closed")
            self._session = _SessionOnLogin(
                self._client,
                host=self._settings.host,
                port=self._settings.port,
                username=self._settings.username,
                password=self._settings.password,
                timeout=self._settings.timeout,
                ssh_strict=self._settings.ssh_strict,
                allow_agent=False,
                use_keys=False,
            )
        return self._session

    def send_command(self, command: str) -> str:
        """Run one exec-mode vtysh command in the interactive session and return its output: read until its
        prompt comes back (``send_commands``), not Netmiko's ``send_command`` poll, which costs 80 ms a command."""
        try:
            output: str = self.session().send_commands([command], read_timeout=60.0)[0]
        except (OSError, EOFError, paramiko.SSHException, NetmikoBaseException) as exc:
            self._drop_vtysh()
            raise ConnectionException(f"{self._settings.host}: vtysh {command!r}: {exc or 'timed out'}") from exc
        return output

    def send_commands(self, commands: list[str]) -> list[str]:
        """Several exec-mode vtysh commands in one round trip of the interactive session."""
        try:
            replies: list[str] = self.session().send_commands(commands, read_timeout=60.0)
        except (OSError, EOFError, paramiko.SSHException, NetmikoBaseException) as exc:
            self._drop_vtysh()
            raise ConnectionException(f"{self._settings.host}: vtysh: {exc or 'timed out'}") from exc
        return replies

    def _drop_vtysh(self) -> None:
        """Forget a failed interactive session (the next command starts another) without closing the login."""
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                session.remote_conn.close()

    def helper_request(self, argv: list[str], stdin: str = "", timeout: float = 60.0) -> str:
        """One request to the on-box helper's session (started by :meth:`start_helper`, kept until close): one JSON
        line out, one JSON line back. A session found dead before the request went out is started again, once; one
        that fails after (the request may have run) raises ConnectionException, and the next request starts anew."""
        request = (json.dumps({"argv": argv, "stdin": stdin}) + "\n").encode()
        for attempt in (1, 2):
            channel, replies = self._helper_session(timeout)
            channel.settimeout(timeout)
            try:
                channel.sendall(request)
            except (OSError, paramiko.SSHException) as exc:
                self._drop_helper_session()
                if attempt == 2:
                    raise ConnectionException(f"{self._settings.host}: {HELPER_COMMAND} {argv[0]}: {exc}") from exc
                continue
            try:
                line = replies.readline()
            except (OSError, paramiko.SSHException) as exc:
                self._drop_helper_session()
                raise ConnectionException(
                    f"{self._settings.host}: {HELPER_COMMAND} {argv[0]}: {exc or 'timed out'}"
                ) from exc
            if not line:
                self._drop_helper_session()
                detail = _last_line(channel, "")
                raise ConnectionException(
                    f"{self._settings.host}: the helper session ended" + (f": {detail}" if detail else "")
                )
            return str(line.decode(errors="replace"))
        raise AssertionError("not reached")

    def _helper_session(self, timeout: float) -> tuple[paramiko.Channel, Any]:
        """The running helper session, or a new one (:meth:`start_helper`); ConnectionException when none starts."""
        if self._session_channel is None and not self._helper_error:
            self.start_helper(timeout)
        if self._session_channel is None:
            raise ConnectionException(f"{self._settings.host}: no on-box helper: {self._helper_error}")
        return self._session_channel

    def _drop_helper_session(self) -> None:
        if self._session_channel is not None:
            _close_channel(self._session_channel[0])
            self._session_channel = None

    def run(self, command: str, stdin: str = "", timeout: float = 60.0) -> ExecResult:
        """Run a one-shot command on the device through a fresh exec channel."""
        transport = self._client.get_transport()
        if transport is None or not transport.is_active():
            raise ConnectionException(f"{self._settings.host}: the SSH connection is closed")
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
        transport = self._client.get_transport()
        return bool(transport is not None and transport.is_active())

    def close(self) -> None:
        """End the helper session and leave vtysh (when they were started), then close the transport."""
        if self._session_channel is not None:
            with contextlib.suppress(OSError, paramiko.SSHException):
                self._session_channel[0].shutdown_write()
                self._session_channel[0].close()
            self._session_channel = None
        if self._session is not None:
            self._session.disconnect()
            self._session = None
        self._client.close()


class _NoHelper(Exception):
    """This way of starting the helper's session did not give a usable helper (the message says why)."""


def _close_channel(channel: paramiko.Channel) -> None:
    with contextlib.suppress(OSError, paramiko.SSHException):
        channel.shutdown_write()
        channel.close()


def _last_line(channel: paramiko.Channel, stdout: str) -> str:
    """Why a session gave no answer: the last line of what it printed, or, when it ended without a word on
    stdout, the last line it wrote on stderr."""
    if stdout:
        return stdout.splitlines()[-1]
    with contextlib.suppress(OSError, paramiko.SSHException):
        lines = channel.makefile_stderr("rb").read().decode(errors="replace").strip().splitlines()
        if lines:
            return lines[-1]
    return ""


class _AlreadyConnected:
    """A logged-in ``paramiko.SSHClient`` whose ``connect`` does nothing: Netmiko's session reuses the login."""

    def __init__(self, client: paramiko.SSHClient) -> None:
        self._client = client

    def connect(self, *args: Any, **kwargs: Any) -> None:
        return None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _SessionOnLogin(FRRVtyshSSH):
    """The ``frr_vtysh`` Netmiko type on an existing login (an interactive shell channel, no second authentication)."""

    def __init__(self, client: paramiko.SSHClient, **kwargs: Any) -> None:
        self._login = client
        super().__init__(**kwargs)

    def _build_ssh_client(self) -> Any:
        return _AlreadyConnected(self._login)


def connect(settings: SSHSettings) -> SSHConnection:
    """Log in (host key checked against known_hosts); each SSH failure becomes one clear NAPALM exception."""
    known_hosts = settings.known_hosts()
    if settings.ssh_strict and not os.path.isfile(known_hosts):
        raise ConnectionException(f"{settings.host}: known_hosts file {known_hosts} does not exist")
    client = paramiko.SSHClient()
    if os.path.isfile(known_hosts):
        client.load_host_keys(known_hosts)
    client.set_missing_host_key_policy(paramiko.RejectPolicy() if settings.ssh_strict else paramiko.AutoAddPolicy())
    try:
        client.connect(
            settings.host,
            port=settings.port,
            username=settings.username,
            password=settings.password,
            timeout=min(settings.timeout, 15),
            auth_timeout=settings.timeout,
            banner_timeout=settings.timeout,
            allow_agent=False,
            look_for_keys=False,
        )
    except paramiko.AuthenticationException as exc:
        client.close()
        raise ConnectAuthError(
            f"{settings.host}: authentication failed for user {settings.username!r} (wrong password?)"
        ) from exc
    except (OSError, paramiko.SSHException) as exc:
        client.close()
        raise _connect_error(settings, known_hosts, exc) from exc
    return SSHConnection(client, settings)


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
    if isinstance(exc, socket.error):
        return ConnectTimeoutError(f"{where}: no SSH service reachable (TCP connection failed)")
    first = next((line.strip() for line in text.splitlines() if line.strip()), text)
    return ConnectionException(f"{where}: SSH connection failed: {first}")
