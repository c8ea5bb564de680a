"""NAPALM driver for FRRouting (``napalm.get_network_driver("frr")``).

Reads come from FRR's JSON show commands over the interactive vtysh session. Writes never type
config lines into vtysh: the whole candidate goes to the on-box helper (``napalm-frr-helper``, see
docs/napalm_frr.md), which checks it, keeps a checkpoint, applies it with ``frr-reload.py`` and,
for ``commit_config(revert_in=N)``, runs a revert timer on the box itself, so a controller that
dies after committing cannot leave an unconfirmed change behind.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from typing import Any

from napalm.base import NetworkDriver, models
from napalm.base import constants as c
from napalm.base.exceptions import (
    CommandErrorException,
    CommitConfirmException,
    CommitError,
    ConnectionClosedException,
    ConnectionException,
    MergeConfigException,
    ReplaceConfigException,
)
from napalm.base.helpers import sanitize_configs

from napalm_frr import config_diff, helper, parsers
from napalm_frr.connection import CACHED, SHIPPED, Connection, ExecResult, SSHSettings, connect
from napalm_frr.helper.protocol import SHOW_COMMAND

AGENT = helper.COMMAND
HOSTNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$")
INTERFACE_RE = re.compile(r"^[A-Za-z0-9_.:-]{1,15}$")
MESSAGE_MAX = 200
#: What :meth:`FRRDriver.get_state` reads, in this order.
STATE_COMMANDS = (
    "show interface json",
    "show ip ospf vrf all json",
    "show ip ospf vrf all neighbor detail json",
    "show bgp vrf all neighbors json",
    "show ip route json",
)


class FRRDriver(NetworkDriver):
    """FRRouting over SSH: vtysh for reads, the on-box helper for commits."""

    platform = "frr"

    def __init__(
        self,
        hostname: str,
        username: str,
        password: str,
        timeout: int = 60,
        optional_args: dict | None = None,
    ) -> None:
        """Store settings only; ``open()`` connects (NAPALM's contract)."""
        args = optional_args or {}
        self.hostname = hostname
        self.username = username
        self.password = password
        self.timeout = timeout
        self.force_no_enable = True
        self.use_canonical_interface = False
        known_hosts = str(args.get("known_hosts_file", ""))
        self.settings = SSHSettings(
            host=hostname,
            username=self.username,
            password=self.password,
            port=int(args.get("port", 22)),
            timeout=timeout,
            known_hosts_file=known_hosts,
            ssh_strict=bool(args.get("ssh_strict", True)),
            frr_instance=str(args.get("frr_instance", "")),
            vtysh_path=str(args.get("vtysh_path", "")),
            use_sudo=bool(args.get("use_sudo", False)),
        )
        self.device: Connection | None = None
        self._candidate: str | None = None
        self._merge = False
        self._policy: str | None = None
        self._policy_diff = ""
        self._unchanged = False
        self._diff: str | None = None  # the box's exact diff for the loaded candidate
        self._running_at_load: str | None = None

    # ------------------------------------------------------------------ session

    def open(self) -> None:
        """Log in (host key checked against the known_hosts file) and start the on-box helper's session: the box's
        resident helper when it is exactly this driver's, else this driver's copy, uploaded on first contact and
        run from the box's cache after that (:mod:`napalm_frr.shipping`)."""
        conn = connect(self.settings)
        start = getattr(conn, "start_helper", None)
        if start is not None:
            try:
                start(max(self.timeout, 60))
            except BaseException:
                conn.close()
                raise
        self.device = conn

    @property
    def helper_info(self) -> dict[str, Any] | None:
        """What the on-box helper reported at ``open()`` (``version``, ``digest``, ``pid``, ``resident``) and where
        it came from (``origin``: resident, cached or shipped); None before ``open()`` or when no helper answered."""
        return getattr(self.device, "helper", None)

    def close(self) -> None:
        """Close the session; an unconfirmed commit stays armed on the box (by design)."""
        if self.device is not None:
            self.device.close()
            self.device = None

    def is_alive(self) -> models.AliveDict:
        """Whether the SSH session is still usable."""
        return {"is_alive": self.device is not None and self.device.is_alive()}

    def _conn(self) -> Connection:
        """The connection; one whose login died is opened again, once (ConnectionException if that fails too)."""
        if self.device is None:
            raise ConnectionClosedException(f"{self.hostname}: not connected (call open() first)")
        if not self.device.is_alive():
            self.device.close()
            self.device = None
            self.open()
            assert self.device is not None
        return self.device

    def _show(self, command: str) -> str:
        """One vtysh command; vtysh's ``% ...`` replies become CommandErrorException.

        When the driver brought its own helper (the login lands in a shell), a ``show`` command goes to that
        helper's vtysh (the helper runs vtysh itself); otherwise (a resident helper behind a login that lands in
        vtysh) to the interactive vtysh session, as does anything that is not ``show``."""
        conn = self._conn()
        origin = (getattr(conn, "helper", None) or {}).get("origin")
        if origin in (CACHED, SHIPPED) and SHOW_COMMAND.fullmatch(command):
            try:
                return str(self._helper("show", stdin=json.dumps([command]))["outputs"][0])
            except HelperRefused as exc:
                raise CommandErrorException(f"{self.hostname}: {command!r}: {exc}") from exc
        output = conn.send_command(command)
        if output.lstrip().startswith("%"):
            raise CommandErrorException(f"{self.hostname}: {command!r}: {output.strip()}")
        return output

    def _json(self, command: str) -> Any:
        return parsers.loads(self._show(command), command)

    def _interface_table(self) -> dict[str, Any]:
        """``show interface json``: zebra always lists ``lo``, so an empty answer is a read that failed, never
        "no interfaces" (a getter returning {} would read as every interface gone)."""
        table = self._json("show interface json")
        if not table:
            raise CommandErrorException(f"{self.hostname}: 'show interface json' answered nothing (zebra lists lo)")
        return dict(table)

    def _helper(self, verb: str, *args: str, stdin: str = "") -> dict[str, Any]:
        """Call the on-box helper; its JSON reply, or an exception naming what it refused and why."""
        text = self._conn().helper_request([verb, *args], stdin=stdin, timeout=max(self.timeout, 60))
        reply = _helper_reply(self.hostname, ExecResult(0, text, ""))
        if not reply.get("ok"):
            problems = "; ".join(reply.get("problems") or [])
            raise HelperRefused(
                f"{self.hostname}: {reply.get('error', 'helper failed')}" + (f": {problems}" if problems else "")
            )
        return reply

    def cli(self, commands: list[str], encoding: str = "text") -> dict[str, str]:
        """Run vtysh exec commands; text only, as vtysh has no other encoding."""
        if encoding != "text":
            raise NotImplementedError(f"{encoding} is not a supported encoding")
        return {command: self._show(command) for command in commands}

    # ------------------------------------------------------------------ getters

    def get_facts(self) -> models.FactsDict:
        """Version and hostname from vtysh, uptime of the instance from the helper."""
        return parsers.facts(self._show("show version"), self._interface_table(), self._helper("facts"))

    def get_interfaces(self) -> dict[str, models.InterfaceDict]:
        """Every interface zebra knows, with NAPALM's fields."""
        return parsers.interfaces(self._interface_table())

    def get_interfaces_ip(self) -> dict[str, models.InterfacesIPDict]:
        """IPv4 and IPv6 addresses per interface."""
        return parsers.interfaces_ip(self._interface_table())

    def get_bgp_neighbors(self) -> dict[str, models.BGPStateNeighborsPerVRFDict]:
        """BGP peers per VRF ("global" is the default VRF)."""
        return parsers.bgp_neighbors(self._json("show bgp vrf all neighbors json"))

    def get_ospf_neighbors(self) -> dict[str, Any]:
        """OSPFv2 adjacencies per VRF (not a NAPALM getter; shape in docs/napalm_frr.md)."""
        return parsers.ospf_neighbors(
            self._json("show ip ospf vrf all json"), self._json("show ip ospf vrf all neighbor detail json")
        )

    def get_state(self, prefixes: list[str] | None = None) -> dict[str, Any]:
        """Interfaces, their addresses, OSPF and BGP neighbours and the IPv4 routes, in one read.

        Not a NAPALM getter: what govnet's post-deploy checks look at, as :meth:`get_interfaces`,
        :meth:`get_interfaces_ip`, :meth:`get_ospf_neighbors`, :meth:`get_bgp_neighbors` and
        ``get_route_to`` (without BGP attributes) would give it, from vtysh commands sent in one request
        instead of five getters and a route lookup per prefix. *prefixes* limits the routes read to
        those prefixes (exact match) instead of the whole IPv4 table. Polled until a deploy
        converges, so it goes to the helper's resident vtysh (else one round trip of the interactive
        session): no process is started on the box per poll.
        """
        commands = list(STATE_COMMANDS)
        if prefixes is not None:  # only these routes: a few hundred bytes instead of the whole table
            commands[-1:] = [f"show ip route {ipaddress.ip_network(p, strict=False)} json" for p in prefixes]
        try:  # the helper's resident vtysh: no vtysh started on the box for it
            replies = self._helper("show", stdin=json.dumps(commands))["outputs"]
        except HelperRefused as exc:
            raise CommandErrorException(str(exc)) from exc
        docs = [parsers.loads(reply, command) for command, reply in zip(commands, replies, strict=True)]
        interfaces, ospf, ospf_detail, bgp = docs[:4]  # an empty read fails one poll: polled again
        table = {prefix: entries for doc in docs[4:] for prefix, entries in doc.items()}
        return {
            "interfaces": parsers.interfaces(interfaces),
            "interfaces_ip": parsers.interfaces_ip(interfaces),
            "ospf_neighbors": parsers.ospf_neighbors(ospf, ospf_detail),
            "bgp_neighbors": parsers.bgp_neighbors(bgp),
            "routes": parsers.routes(table, "", {}),
        }

    def get_route_to(
        self, destination: str = "", protocol: str = "", longer: bool = False
    ) -> dict[str, models.RouteDict]:
        """Routes to *destination* (longest match, or the prefix and more specifics with *longer*)."""
        family = "ipv6" if destination and ipaddress.ip_network(destination, strict=False).version == 6 else "ip"
        command = f"show {family} route {destination}".rstrip()
        if longer:
            if "/" not in destination:
                raise ValueError("get_route_to(longer=True) needs a prefix, e.g. 198.18.0.0/16")
            command += " longer-prefixes"
        table = self._json(command + " json")
        bgp = self._bgp_attributes(table, family) if _has_protocol(table, "bgp") and protocol in ("", "bgp") else {}
        return parsers.routes(table, protocol, bgp)

    def _bgp_attributes(self, table: dict[str, Any], family: str) -> dict[str, dict[str, Any]]:
        """Path attributes of the BGP routes in *table*, keyed by next hop."""
        afi = "ipv6" if family == "ipv6" else "ipv4"
        local_as = parsers.bgp_local_as(self._json("show bgp vrf all summary json"))
        attributes: dict[str, dict[str, Any]] = {}
        for prefix in table:
            attributes.update(
                parsers.bgp_path_attributes(self._json(f"show bgp {afi} unicast {prefix} json"), local_as)
            )
        return attributes

    def get_config(
        self, retrieve: str = "all", full: bool = False, sanitized: bool = False, format: str = "text"
    ) -> models.ConfigDict:
        """Running (vtysh), startup (frr.conf, via the helper) and the loaded candidate."""
        if format != "text":
            raise NotImplementedError("FRR configs are text only")
        config: models.ConfigDict = {"running": "", "startup": "", "candidate": ""}
        if retrieve in ("all", "running"):
            config["running"] = self._running()
        if retrieve in ("all", "startup"):
            config["startup"] = self._helper("startup")["startup"]
        if retrieve in ("all", "candidate"):
            config["candidate"] = self._candidate or ""
        return sanitize_configs(config, parsers.SANITIZE) if sanitized else config

    def _running(self) -> str:
        return parsers.strip_show_run(self._show("show running-config"))

    def get_ntp_servers(self) -> dict[str, models.NTPServerDict]:
        """The box's NTP client sources (chrony/ntpd on the host: FRR has no NTP of its own)."""
        return self._helper("ntp")["servers"]

    def ping(
        self,
        destination: str,
        source: str = c.PING_SOURCE,
        ttl: int = c.PING_TTL,
        timeout: int = c.PING_TIMEOUT,
        size: int = c.PING_SIZE,
        count: int = c.PING_COUNT,
        vrf: str = c.PING_VRF,
        source_interface: str = c.PING_SOURCE_INTERFACE,
    ) -> models.PingResultDict:
        """Ping from the router's own network namespace (the device runs iputils ping).

        The command goes to the login (a shell, or the box's forced command). A login that lands in vtysh answers
        ``% Unknown command`` (vtysh's own ``ping`` takes no count and never ends): then the on-box helper runs
        it, and without a helper the result is NAPALM's ``error``, naming why."""
        if vrf:
            raise NotImplementedError("ping in a VRF is not supported")
        command = ping_command(destination, source or source_interface, ttl, timeout, size, count)
        result = self._conn().run(command, timeout=count * max(timeout, 1) + 15)
        output = result.stdout + result.stderr
        if output.lstrip().startswith("% Unknown command"):
            try:
                output = str(self._helper("ping", stdin=json.dumps(command.split()))["output"])
            except (HelperRefused, ConnectionException) as exc:
                return {"error": f"{self.hostname}: the login lands in vtysh, which has no ping with a count, and "
                                 f"the on-box helper did not run it: {exc}"}  # fmt: skip
        return parsers.ping(output)

    # ------------------------------------------------------------------ config

    def load_replace_candidate(
        self, filename: str | None = None, config: str | None = None, *, policy: str | None = None
    ) -> None:
        """Keep the full intended config; the box parses every line now, so errors surface early.

        One request does it all: the box parses the candidate, computes the exact diff a commit would
        send (frr-reload's algorithm, on the box) and returns the running config it compared against
        (:attr:`running_at_load`, the pre-change backup). *policy* (not NAPALM: the nftables ruleset,
        see :meth:`load_policy`) is checked and diffed in the same request.
        """
        text = _read_candidate(filename, config)
        args = ["--diff", "--running"]
        stdin = text
        if policy is not None:
            args.append("--with-nft")
            stdin = json.dumps({"config": text, "nft": policy})
        try:
            reply = self._helper("check", *args, stdin=stdin)
        except (HelperRefused, CommandErrorException, ConnectionException) as exc:
            raise ReplaceConfigException(str(exc)) from exc
        self.discard_config()
        self._candidate, self._merge = text, False
        # the box says it runs exactly what applying this very candidate gave: nothing to change
        self._unchanged = bool(reply.get("unchanged"))
        self._diff = reply.get("diff")
        self._running_at_load = reply.get("running")
        if policy is not None:
            self._policy = policy
            self._policy_diff = policy_diff(reply["nft_running"], reply["nft_intended"])

    def load_merge_candidate(self, filename: str | None = None, config: str | None = None) -> None:
        """Keep lines to add to the running config (parsed and diffed on the box like a replace)."""
        text = _read_candidate(filename, config)
        try:
            reply = self._helper("check", "--merge", "--diff", stdin=text)
        except (HelperRefused, CommandErrorException, ConnectionException) as exc:
            raise MergeConfigException(str(exc)) from exc
        self.discard_config()
        self._candidate, self._merge = text, True
        self._diff = reply.get("diff")

    @property
    def running_at_load(self) -> str | None:
        """The running config the loaded replace candidate was checked and diffed against (None if none)."""
        return None if self._running_at_load is None else parsers.strip_show_run(self._running_at_load)

    def load_policy(self, ruleset: str) -> None:
        """Add the device's nftables policy (the whole ``inet govnet`` table) to the candidate.

        Not a NAPALM method: FRR has no ACLs, so the zone policy lives in nftables beside it. The box
        parses the ruleset now (refused → ReplaceConfigException) and reports the table it would
        give, for :meth:`compare_config`; :meth:`commit_config` applies it in the same commit.
        """
        try:
            reply = self._helper("nft-diff", stdin=ruleset)
        except (HelperRefused, CommandErrorException, ConnectionException) as exc:
            raise ReplaceConfigException(str(exc)) from exc
        self._policy = ruleset
        self._policy_diff = policy_diff(reply["running"], reply["intended"])

    def compare_config(self) -> str:
        """The exact commands a commit would send (frr-reload's "Lines To Delete / Lines To Add", as the box
        computed them when the candidate was loaded), then the policy diff; "" if none."""
        if self._candidate is None or self._unchanged:
            frr = ""
        elif self._diff is not None:
            frr = self._diff.strip()
        else:  # a helper that does not diff: frr-reload's offline mode on this machine
            frr = self._frr_diff()
        return frr + ("\n" if frr and self._policy_diff else "") + self._policy_diff

    def _frr_diff(self) -> str:
        running = self._running()
        intended = running + "\n" + (self._candidate or "") if self._merge else (self._candidate or "")
        try:
            return config_diff.diff(running, intended)
        except config_diff.DiffError as exc:
            raise CommandErrorException(f"{self.hostname}: {exc}") from exc

    def commit_config(self, message: str = "", revert_in: int | None = None) -> None:
        """Apply the candidate (and a loaded policy) on the box as one commit; with *revert_in*, the box
        reverts both unless confirmed."""
        if self._candidate is None and self._policy is None:
            raise CommitError(f"{self.hostname}: no candidate loaded")
        args = ["--message", _clean_message(message)]
        if revert_in is not None:
            if not isinstance(revert_in, int) or revert_in < 1:
                raise CommitError(f"{self.hostname}: revert_in must be a positive number of seconds")
            args += ["--revert-in", str(revert_in)]
        policy = self._policy if self._policy_diff else None  # an unchanged table is not reloaded
        if self._candidate is None:
            verb, stdin = "nft-apply", policy or ""
        elif policy is not None and not self._merge:
            verb, stdin = "replace", json.dumps({"config": self._candidate, "nft": policy})
            args.append("--with-nft")
        elif policy is not None:
            raise CommitError(f"{self.hostname}: a policy goes with a replace candidate, not a merge")
        else:
            verb, stdin = ("merge" if self._merge else "replace"), self._candidate
        try:
            self._helper(verb, *args, stdin=stdin)
        except HelperRefused as exc:
            raise CommitError(str(exc)) from exc
        self.discard_config()

    def confirm_commit(self) -> None:
        """Keep the pending commit: stop the box's revert timer and save the config."""
        try:
            self._helper("confirm")
        except HelperRefused as exc:
            raise CommitConfirmException(str(exc)) from exc

    def has_pending_commit(self) -> bool:
        """Whether a commit is waiting for confirmation (its timer still running)."""
        return bool(self._helper("status")["pending"])

    def discard_config(self) -> None:
        """Forget the candidate and policy; nothing is stored on the box before a commit."""
        self._candidate, self._merge = None, False
        self._policy, self._policy_diff = None, ""
        self._unchanged = False
        self._diff, self._running_at_load = None, None

    def rollback(self) -> None:
        """Return to the config from before the last commit (and cancel a pending one)."""
        try:
            self._helper("rollback")
        except HelperRefused as exc:
            raise CommitError(str(exc)) from exc


class HelperRefused(Exception):
    """The on-box helper answered ``ok: false``."""


def _helper_reply(hostname: str, result: ExecResult) -> dict[str, Any]:
    """Decode the helper's one-line JSON answer; anything else means the device lacks the helper."""
    try:
        reply: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        detail = (result.stdout + result.stderr).strip().splitlines()
        raise CommandErrorException(
            f"{hostname}: {AGENT} gave no JSON answer (exit {result.exit_status}): "
            f"{detail[-1] if detail else 'no output'}"
        ) from None
    return reply


def policy_diff(running: str, intended: str) -> str:
    """Unified diff of the policy table (both sides as nft lists them); "" when they are the same."""
    if running == intended:
        return ""
    lines = difflib.unified_diff(
        running.splitlines(), intended.splitlines(), "nftables (running)", "nftables (intended)", lineterm=""
    )
    return "\n".join(lines) + "\n"


def ping_command(destination: str, source: str, ttl: int, timeout: int, size: int, count: int) -> str:
    """``ping -c COUNT -s SIZE -W TIMEOUT [-t TTL] [-I SOURCE] DEST``, every argument validated.

    ``-t`` is only sent for a non-default TTL: the lab's device shell accepts -c -s -W -I only.
    """
    if not _is_host(destination):
        raise ValueError(f"invalid ping destination {destination!r}")
    if source and not (_is_host(source) or INTERFACE_RE.match(source)):
        raise ValueError(f"invalid ping source {source!r}")
    numbers = {"count": (count, 1, 100), "size": (size, 0, 65507), "ttl": (ttl, 1, 255), "timeout": (timeout, 1, 60)}
    for name, (value, low, high) in numbers.items():
        if not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"ping {name} must be {low}..{high}, got {value!r}")
    command = f"ping -c {count} -s {size} -W {timeout}" + (f" -t {ttl}" if ttl != c.PING_TTL else "")
    return f"{command} -I {source} {destination}" if source else f"{command} {destination}"


def _is_host(text: str) -> bool:
    """An IP address or a DNS name: nothing that a shell or ping could read as an option."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return bool(HOSTNAME_RE.match(text))
    return True


def _read_candidate(filename: str | None, config: str | None) -> str:
    """The candidate text; the file wins when both are given (NAPALM's rule)."""
    if filename:
        with open(filename) as fh:
            return fh.read()
    if config is None:
        raise ValueError("give a filename or a config string")
    return config


def _clean_message(message: str) -> str:
    """Commit messages go into the box's history: one printable line, bounded."""
    line = " ".join(message.split())
    return line[:MESSAGE_MAX] if line.isprintable() else "".join(ch for ch in line if ch.isprintable())[:MESSAGE_MAX]


def _has_protocol(table: dict[str, Any], protocol: str) -> bool:
    return any(entry.get("protocol") == protocol for entries in table.values() for entry in entries)
