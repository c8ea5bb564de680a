"""A recorded-session IOS-XE 17 box: state (flash, running config, archive, revert timer) and its CLI answers.

Only what NAPALM's real `ios` driver (and Netmiko's InLineTransfer under it) sends is answered; anything else
gets `% Invalid input detected at '^' marker.` and is recorded in `IOSWorld.unknown`, which the tests require
to stay empty. Static answers live in tests/fixtures/ios/session/ (napalm mocked_data style); answers that
depend on state (interfaces, OSPF, BGP, routes) are derived from the running config of this box and of its
peers in the same `IOSWorld`.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
import time
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface
from pathlib import Path

from netmiko.cisco_base_connection import CiscoBaseConnection

from tests.ios_harness import canon

SESSION = Path(__file__).resolve().parents[1] / "fixtures" / "ios" / "session"
INVALID = "% Invalid input detected at '^' marker."


def recorded(fixture: str, /, **values: object) -> str:
    """A recorded answer with its variable parts filled in."""
    text = (SESSION / f"{fixture}.txt").read_text()
    return text.format(**values) if values else text


@dataclass
class Pending:
    """A `configure replace … revert timer N` waiting for `configure confirm`."""

    before: list[canon.Section]
    minutes: int
    user: str
    started: float


@dataclass
class FakeIOSDevice:
    """One box. `running` is what it shows back (canonical sections); files live on `filesystem`."""

    hostname: str
    mgmt: str  # the address SSH logins arrive on
    ports: list[str]
    filesystem: str = "bootflash:"
    running: list[canon.Section] = field(default_factory=list)
    startup: list[canon.Section] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)
    pending: Pending | None = None
    seed: int = 0
    changed_by: str = "govnet"
    changes: int = 0
    log: list[str] = field(default_factory=list)  # every command any session sent (what the driver did)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed or self.hostname)
        self.lock = threading.RLock()

    # --- configuration -------------------------------------------------------------------------------------

    def apply(self, config: str) -> None:
        """Replace the running config with *config* (Rejected for a line IOS refuses)."""
        self.running = canon.canonical(config, self.rng, self.ports)
        self.changes += 1

    def running_text(self) -> str:
        return canon.text(self.running)

    def show_running(self) -> str:
        body = self.running_text()
        header = recorded(
            "show_running-config_header",
            bytes=len(body),
            when=time.strftime("%H:%M:%S AST %a %b %d %Y", time.gmtime(1_700_000_000 + self.changes * 60)),
            user=self.changed_by,
        )
        return f"{header}{body}end\n"

    def state(self) -> canon.State:
        key = (self.changes, len(self.running))
        if getattr(self, "_state_key", None) != key:
            self._state, self._state_key = canon.state(self.running), key
        return self._state

    def path(self, name: str) -> str:
        """`bootflash:/x`, `bootflash:x` → `bootflash:/x`."""
        fs, _, rest = name.partition(":")
        return f"{fs}:/{rest.lstrip('/')}"

    # --- login -------------------------------------------------------------------------------------------

    def login_problem(self, username: str) -> str:
        """Why a new SSH login as *username* to `mgmt` fails now ('' when it works)."""
        st = self.state()
        if self.mgmt not in st.addresses():
            return f"no interface holds {self.mgmt} (management address gone or shut)"
        if not st.vty_ssh:
            return "vty lines do not accept ssh"
        if username not in st.usernames:
            return "Authentication to device failed."
        return ""


class IOSWorld:
    """Every fake box, by management address, plus what the tests check afterwards."""

    def __init__(self, password: str) -> None:
        self.password = password
        self.devices: dict[str, FakeIOSDevice] = {}
        self.unknown: list[tuple[str, str]] = []  # (device, command) the harness did not know
        self.logins: list[tuple[str, str]] = []  # (device, username), every SSH login
        self.connect_kwargs: list[dict[str, object]] = []
        self.lock = threading.RLock()

    def add(self, device: FakeIOSDevice) -> FakeIOSDevice:
        self.devices[device.mgmt] = device
        return device

    def by_name(self, name: str) -> FakeIOSDevice:
        return next(d for d in self.devices.values() if d.hostname == name)

    # --- what the routing protocols would show, from every box's running config ----------------------------

    def states(self) -> dict[str, canon.State]:
        return {d.hostname: d.state() for d in self.devices.values()}

    def ospf_neighbors(self, me: str, states: dict[str, canon.State]) -> list[tuple[str, str, str]]:
        """(neighbour router ID, its address, my interface) for every adjacency *me* has."""
        mine = states[me]
        found = []
        for iface in mine.interfaces.values():
            if not iface.enabled or iface.name in mine.passive:
                continue
            if iface.vrf:  # the global OSPF process only
                continue
            for addr in iface.addresses:
                if not mine.ospf_covers(addr.ip):
                    continue
                for name, other in states.items():
                    if name == me or not other.ospf_router_id:
                        continue
                    for peer in other.interfaces.values():
                        if peer.vrf or not peer.enabled or peer.name in other.passive:
                            continue
                        if peer.ospf_hello != iface.ospf_hello:
                            continue
                        for paddr in peer.addresses:
                            if canon.same_subnet(addr, paddr) and other.ospf_covers(paddr.ip):
                                found.append((other.ospf_router_id, str(paddr.ip), iface.name))
        return found

    def ospf_domain(self, me: str, states: dict[str, canon.State]) -> set[str]:
        """Every box reachable from *me* through OSPF adjacencies (itself included)."""
        by_rid = {s.ospf_router_id: n for n, s in states.items() if s.ospf_router_id}
        seen, todo = {me}, [me]
        while todo:
            name = todo.pop()
            for rid, _, _ in self.ospf_neighbors(name, states):
                peer = by_rid.get(rid)
                if peer and peer not in seen:
                    seen.add(peer)
                    todo.append(peer)
        return seen

    def bgp_sessions(self, me: str, states: dict[str, canon.State]) -> dict[str, tuple[bool, str]]:
        """Neighbour address → (Established, its router ID) for every neighbour *me* configures."""
        mine = states[me]
        domain = self.ospf_domain(me, states)
        out: dict[str, tuple[bool, str]] = {}
        for address, conf in mine.bgp_neighbors.items():
            up, rid = False, "0.0.0.0"
            source = conf.get("update-source")
            my_addresses = (
                [str(a.ip) for a in mine.interfaces[source].addresses]
                if source and source in mine.interfaces and mine.interfaces[source].enabled
                else list(mine.addresses())
            )
            for name, other in states.items():
                if name == me or address not in other.addresses() or other.bgp_asn != conf.get("remote-as"):
                    continue
                back = [a for a in my_addresses if a in other.bgp_neighbors]
                reachable = name in domain
                mutual = bool(back) and address in mine.bgp_active and back[0] in other.bgp_active
                if mutual and reachable and other.bgp_neighbors[back[0]].get("remote-as") == mine.bgp_asn:
                    up, rid = True, other.bgp_router_id or "0.0.0.0"
            out[address] = (up, rid)
        return out


class Session:
    """One SSH session to one box: what Netmiko's ConnectHandler would hold (the driver's `self.device`)."""

    device_type = "cisco_ios"

    def __init__(self, world: IOSWorld, box: FakeIOSDevice, username: str, **kwargs: object) -> None:
        self.world = world
        self.box = box
        self.username = username
        self.kwargs = kwargs
        self.base_prompt = box.hostname
        self.alive = True
        self.tcl = False
        self.channel_in = ""
        self.channel_out = ""
        self.prompts: list[str] = []  # confirmations still to answer (username removal)
        self.after_prompts = ""
        self.remote_conn = _Channel(self)

    # --- Netmiko's API, as much as the driver and InLineTransfer use ----------------------------------------

    #: Netmiko's own file-system discovery (`dir`, then `dir <fs>`), run against this session.
    _autodetect_fs = CiscoBaseConnection._autodetect_fs

    def enable(self, *args: object, **kwargs: object) -> str:
        return ""

    def check_enable_mode(self, *args: object, **kwargs: object) -> bool:
        return True

    def find_prompt(self, *args: object, **kwargs: object) -> str:
        return f"{self.box.hostname}#"

    def set_base_prompt(self, *args: object, **kwargs: object) -> str:
        self.base_prompt = self.box.hostname
        return self.base_prompt

    def disconnect(self) -> None:
        self.alive = False

    def send_command(self, command_string: str, *args: object, **kwargs: object) -> str:
        self._require_alive()
        with self.box.lock, self.world.lock:
            self.box.log.append(command_string)
            return self._answer(command_string.strip())

    _send_command_str = send_command

    def send_command_timing(self, command_string: str, *args: object, **kwargs: object) -> str:
        self._require_alive()
        with self.box.lock:
            if command_string.strip() == "" and self.prompts:
                self.box.log.append("<confirm>")
                self.prompts.pop(0)
                return self.prompts[0] if self.prompts else self.after_prompts
            return self.send_command(command_string)

    def send_config_set(self, config_commands: object = None, *args: object, **kwargs: object) -> str:
        self._require_alive()
        commands = [config_commands] if isinstance(config_commands, str) else list(config_commands or [])  # type: ignore[call-overload]
        with self.box.lock:
            for command in commands:
                self.box.log.append(f"(config) {command}")
                if command == "file prompt quiet":
                    if not any(s.line == "file prompt quiet" for s in self.box.running):
                        self.box.running.append(canon.Section("file prompt quiet"))
                elif command == "no file prompt quiet":
                    self.box.running = [s for s in self.box.running if s.line != "file prompt quiet"]
                else:
                    self.world.unknown.append((self.box.hostname, f"(config) {command}"))
                    return INVALID
        return f"{self.box.hostname}(config)#end\n{self.box.hostname}#"

    def save_config(self, *args: object, **kwargs: object) -> str:
        with self.box.lock:
            self.box.log.append("write mem")
            self.box.startup = list(self.box.running)
        return recorded("write_mem")

    def config_mode(self, *args: object, **kwargs: object) -> str:
        raise ValueError("merge sessions are not part of the harness")

    def exit_config_mode(self, *args: object, **kwargs: object) -> str:
        return ""

    # channel-level calls (InLineTransfer over tclsh, is_alive's NUL byte)
    def write_channel(self, out_data: str) -> None:
        self._require_alive()
        with self.box.lock:
            self.channel_in += out_data
            self._channel()

    def read_channel(self) -> str:
        text, self.channel_out = self.channel_out, ""
        return text

    def clear_buffer(self, *args: object, **kwargs: object) -> str:
        return self.read_channel()

    def read_until_pattern(self, pattern: str = "", re_flags: int = 0, *args: object, **kwargs: object) -> str:
        text = self.read_channel()
        if not re.search(pattern, text, flags=re_flags):
            raise AssertionError(f"harness: {pattern!r} never seen in {text!r}")
        return text

    # --- the box's answers -----------------------------------------------------------------------------------

    def _require_alive(self) -> None:
        if not self.alive:
            raise OSError("Socket is closed")

    def _channel(self) -> None:
        data = self.channel_in
        if "\x00" in data:
            data = data.replace("\x00", "")
        if self.tcl:
            m = re.search(r'puts \[open "([^"]+)" w\+\] \{(.*?)\}\r', data, flags=re.S)
            if m:
                # tcl's puts adds the newline InLineTransfer's MD5 accounts for; \r became \n on the box
                self.box.files[self.box.path(m.group(1))] = m.group(2).replace("\r", "\n") + "\n"
                data = data[m.end() :]
                self.channel_out += f"\n{self.box.hostname}(tcl)#"
            if data.startswith("tclquit\r"):
                self.tcl = False
                data = data[len("tclquit\r") :]
                self.channel_out += f"tclquit\n{self.box.hostname}#"
            elif data == "\r":
                data = ""
                self.channel_out += f"\n{self.box.hostname}(tcl)#"
        elif data == "\r":
            data = ""
            self.channel_out += f"\n{self.box.hostname}#"
        elif data.startswith("tclquit\r"):
            data = ""
        self.channel_in = data

    def _answer(self, cmd: str) -> str:
        box = self.box
        fs = box.filesystem
        if cmd == "dir":
            return self._dir(fs)
        m = re.match(r"^dir (\S+)$", cmd)
        if m:
            target = m.group(1)
            if target.rstrip("/") in (fs, fs.rstrip(":") + ":"):
                return self._dir(fs)
            return self._dir_file(box.path(target))
        m = re.match(r"^verify /md5 (\S+)$", cmd)
        if m:
            path = box.path(m.group(1))
            if path not in box.files:
                return f"%Error opening {path} (No such file or directory)"
            digest = hashlib.md5(box.files[path].encode(), usedforsecurity=False).hexdigest()
            return recorded("verify_md5", path=path, md5=digest)
        if cmd == "tclsh":
            self.tcl = True
            return f"{box.hostname}(tcl)#"
        if cmd == "show running-config":
            return box.show_running()
        m = re.match(r"^show running-config \| inc(?:lude)? (.+)$", cmd)
        if m:
            return "\n".join(ln for ln in box.running_text().splitlines() if m.group(1) in ln)
        if cmd == "show archive":
            if not box.state().archive:
                return recorded("show_archive_disabled")
            return recorded("show_archive", fs=fs, host=box.hostname)
        if cmd == "show archive config rollback timer":
            if box.pending is None:
                return recorded("show_archive_config_rollback_timer_none")
            left = max(0, int(box.pending.minutes * 60 - (time.time() - box.pending.started)))
            return recorded(
                "show_archive_config_rollback_timer",
                minutes=box.pending.minutes,
                left=f"{left // 3600:02d}:{left % 3600 // 60:02d}:{left % 60:02d}",
                user=box.pending.user,
            )
        m = re.match(r"^show archive config differences (\S+) (\S+)$", cmd)
        if m:
            return self._differences(m.group(1), m.group(2))
        m = re.match(r"^copy running-config (\S+)$", cmd)
        if m:
            if not any(s.line == "file prompt quiet" for s in box.running):
                raise TimeoutError(f"harness: IOS asks 'Destination filename [{m.group(1)}]?' (no file prompt quiet)")
            box.files[box.path(m.group(1))] = "!\n" + box.running_text() + "end\n"
            return recorded("copy_done", bytes=len(box.files[box.path(m.group(1))]))
        m = re.match(r"^copy null: (\S+)$", cmd)
        if m:
            box.files[box.path(m.group(1))] = ""
            return ""
        m = re.match(r"^configure replace (\S+) force(?: revert trigger error)?(?: timer (\d+))?$", cmd)
        if m:
            return self._replace(box.path(m.group(1)), int(m.group(2)) if m.group(2) else None)
        if cmd == "configure confirm":
            if box.pending is None:
                return "%No Rollback Confirmed Change pending"
            box.pending = None
            return ""
        if cmd == "configure revert now":
            if box.pending is None:
                return "%No Rollback Confirmed Change pending"
            box.running, box.pending = box.pending.before, None
            box.changes += 1
            return recorded("configure_revert_now")
        answer = self._show(cmd)
        if answer is None:
            self.world.unknown.append((box.hostname, cmd))
            return INVALID
        return answer

    def _dir(self, fs: str) -> str:
        rows = [
            f"{i + 1:>7}  -rw-  {len(body):>12}  Jan 1 2024 00:00:00 +03:00  {path.split('/', 1)[1]}"
            for i, (path, body) in enumerate(sorted(self.box.files.items()))
        ]
        return recorded("dir", fs=fs, rows="\n".join(rows))

    def _dir_file(self, path: str) -> str:
        if path not in self.box.files:
            return f"%Error opening {path} (No such file or directory)"
        size = len(self.box.files[path])
        return recorded("dir_file", path=path, size=size, name=path.split("/", 1)[1])

    def _config_of(self, path: str) -> list[canon.Section] | None:
        if path.startswith("system:") and path.endswith("running-config"):
            return self.box.running
        if path not in self.box.files:
            return None
        return canon.canonical(self.box.files[path], random.Random(0), self.box.ports)

    def _differences(self, base: str, new: str) -> str:
        old_secs, new_secs = self._config_of(self.box.path(base)), self._config_of(self.box.path(new))
        if old_secs is None or new_secs is None:
            return f"%Error opening {new} (No such file or directory)"
        old = {s.line: s.children for s in old_secs}
        fresh = {s.line: s.children for s in new_secs}
        lines = ["!Contextual Config Diffs:"]
        for line, kids in fresh.items():
            if line not in old:
                lines += [f"+{line}", *[f"+{k}" for k in kids]]
            elif kids != old[line]:
                added = [k for k in kids if k not in old[line]]
                gone = [k for k in old[line] if k not in kids]
                lines += [line, *[f"+{k}" for k in added], *[f"-{k}" for k in gone]]
        for line, kids in old.items():
            if line not in fresh:
                lines += [f"-{line}", *[f"-{k}" for k in kids]]
        return "\n".join(lines) if len(lines) > 1 else "!No changes were found"

    def _replace(self, path: str, minutes: int | None) -> str:
        box = self.box
        if path not in box.files:
            return f"%Error opening {path} (No such file or directory)"
        if minutes is not None and not box.state().archive:
            return "%Please turn config archive on"
        before = list(box.running)
        try:
            after = canon.canonical(box.files[path], box.rng, box.ports)
        except canon.Rejected as exc:
            return recorded("configure_replace_rejected", line=str(exc))
        kept = [s for s in before if s.line.startswith("license udi ")]
        if kept and not any(s.line.startswith("license udi ") for s in after):
            return recorded("configure_replace_rejected", line=f"% Cannot remove: {kept[0].line}")
        old_users = canon.state(before).usernames
        gone = sorted(old_users - canon.state(after).usernames)
        box.running = after
        box.changes += 1
        if minutes is not None:
            box.pending = Pending(before, minutes, self.username, time.time())
        done = recorded("configure_replace_done")
        if gone:  # IOS asks once per username it removes
            self.prompts = [recorded("username_removal_confirm", user=u) for u in gone]
            self.after_prompts = done
            return self.prompts[0]
        return done

    # --- state-derived show commands -----------------------------------------------------------------------

    def _show(self, cmd: str) -> str | None:
        states = self.world.states()
        me = self.box.hostname
        st = states[me]
        if cmd == "show interfaces":
            return "\n".join(self._interface(i, detail=True) for i in st.interfaces.values())
        if cmd == "show ip interface":
            return "\n".join(self._interface(i, detail=False) for i in st.interfaces.values())
        if cmd == "show ipv6 interface":
            return ""
        if cmd == "show ip ospf neighbor":
            rows = [
                f"{rid:<15} {0:>3}   FULL/  -        00:00:{33:02d}    {addr:<15} {iface}"
                for rid, addr, iface in self.world.ospf_neighbors(me, states)
            ]
            return recorded("show_ip_ospf_neighbor_header") + "\n".join(rows) if rows else ""
        if cmd == "show bgp all summary":
            return self._bgp_summary(st, states)
        m = re.match(r"^show bgp (ipv4 unicast|ipv4 multicast|ipv6 unicast|ipv6 multicast) neighbors$", cmd)
        if m:
            return self._bgp_neighbors(st, states) if m.group(1) == "ipv4 unicast" else ""
        if re.match(r"^show bgp (vpnv4 unicast|vpnv6 unicast|ipv4 mdt) all neighbors$", cmd):
            return ""
        if cmd == "show vrf":
            vrfs = sorted({i.vrf for i in st.interfaces.values() if i.vrf})
            rows = [
                f"  {v:<32} {'<not set>':<21} ipv4        "
                + ",".join(i.name for i in st.interfaces.values() if i.vrf == v)
                for v in vrfs
            ]
            return recorded("show_vrf_header") + "\n".join(rows)
        m = re.match(r"^show ip route(?: vrf (\S+))? (\S+) (\S+)$", cmd)
        if m:
            return self._route(m.group(1) or "", m.group(2), m.group(3), states)
        return None

    def _interface(self, iface: canon.Iface, detail: bool) -> str:
        status = "up, line protocol is up" if iface.enabled else "administratively down, line protocol is down"
        lines = [f"{iface.name} is {status}"]
        if detail:
            mac = hashlib.md5(f"{self.box.hostname}{iface.name}".encode(), usedforsecurity=False).hexdigest()[:12]
            mac_text = f"{mac[:4]}.{mac[4:8]}.{mac[8:]}"
            lines.append(f"  Hardware is {_hardware(iface.name)}, address is {mac_text} (bia {mac_text})")
            if iface.description:
                lines.append(f"  Description: {iface.description}")
        for i, addr in enumerate(iface.addresses):
            label = "Internet address is" if i == 0 else "Secondary address"
            lines.append(f"  {label} {addr.with_prefixlen}")
        if not iface.addresses and not detail:
            lines.append("  Internet protocol processing disabled")
        if detail:
            bw = 8000000 if iface.name.startswith("Loopback") else 10000000 if "TenGig" in iface.name else 1000000
            lines.append(f"  MTU 1500 bytes, BW {bw} Kbit/sec, DLY 10 usec,")
            lines.append("     reliability 255/255, txload 1/255, rxload 1/255")
        return "\n".join(lines)

    def _bgp_summary(self, st: canon.State, states: dict[str, canon.State]) -> str:
        if not st.bgp_asn:
            return "% BGP not active"
        rows = []
        for address, (up, _) in self.world.bgp_sessions(self.box.hostname, states).items():
            remote = st.bgp_neighbors[address].get("remote-as", "0")
            tail = "00:05:00        1" if up else "never    Active"
            rows.append(f"{address:<15} 4 {remote:>12}      12      12        1    0    0 {tail}")
        return recorded("show_bgp_all_summary_header", rid=st.bgp_router_id, asn=st.bgp_asn) + "\n".join(rows)

    def _bgp_neighbors(self, st: canon.State, states: dict[str, canon.State]) -> str:
        blocks = []
        for address, (up, rid) in self.world.bgp_sessions(self.box.hostname, states).items():
            conf = st.bgp_neighbors[address]
            blocks.append(
                recorded(
                    "show_bgp_ipv4_unicast_neighbor",
                    address=address,
                    remote=conf.get("remote-as", "0"),
                    link="internal" if conf.get("remote-as") == st.bgp_asn else "external",
                    description=conf.get("description", ""),
                    rid=rid,
                    state="Established, up for 00:05:00" if up else "Active",
                    prefixes="1" if up else "0",
                )
            )
        return "\n".join(blocks)

    def _route(self, vrf: str, prefix: str, mask: str, states: dict[str, canon.State]) -> str:
        net = canon.network_of(prefix, mask)
        st = states[self.box.hostname]
        if net is None:
            return INVALID
        for iface in st.interfaces.values():
            if iface.enabled and iface.vrf == vrf and any(a.network == net for a in iface.addresses):
                return recorded("show_ip_route_connected", prefix=net.with_prefixlen, iface=iface.name)
        if vrf:
            return "% Subnet not in table"
        neighbours = self.world.ospf_neighbors(self.box.hostname, states)
        for name in sorted(self.world.ospf_domain(self.box.hostname, states) - {self.box.hostname}):
            other = states[name]
            for iface in other.interfaces.values():
                if iface.enabled and not iface.vrf and any(a.network == net for a in iface.addresses):
                    _, hop, via = neighbours[0]
                    return recorded(
                        "show_ip_route_ospf", prefix=net.with_prefixlen, hop=hop, rid=other.ospf_router_id, via=via
                    )
        return "% Subnet not in table"


def _hardware(name: str) -> str:
    if name.startswith("Loopback"):
        return "Loopback"
    if name.startswith("Vlan"):
        return "Ethernet SVI"
    return "BUILT-IN-EPA-8x10G" if "TenGig" in name else "BUILT-IN-4x1GE"


class _Transport:
    def __init__(self, session: Session) -> None:
        self.session = session

    def is_active(self) -> bool:
        return self.session.alive


class _Channel:
    def __init__(self, session: Session) -> None:
        self.transport = _Transport(session)


def known_host(known_hosts: object, host: str) -> bool:
    """Netmiko with ssh_strict and alt_key_file: the host must be in that file (checked here, as paramiko would)."""
    if not known_hosts:
        return False
    path = Path(str(known_hosts))
    return path.is_file() and any(line.split(" ", 1)[0].split(",")[0] == host for line in path.read_text().splitlines())


def connect_handler(world: IOSWorld):  # type: ignore[no-untyped-def]
    """A stand-in for `netmiko.ConnectHandler` that opens sessions on *world*'s boxes, never a socket."""
    from netmiko.exceptions import NetmikoAuthenticationException, NetmikoTimeoutException

    def connect(**kwargs: object) -> Session:
        host = str(kwargs.get("host"))
        username = str(kwargs.get("username"))
        with world.lock:
            world.connect_kwargs.append({k: v for k, v in kwargs.items() if k not in ("password", "secret")})
            box = world.devices.get(host)
            if box is None:
                raise NetmikoTimeoutException(f"TCP connection to device failed.\nDevice: {host}:22")
            if kwargs.get("device_type") != "cisco_ios":
                raise AssertionError(f"harness: device_type {kwargs.get('device_type')!r}")
            if not (kwargs.get("ssh_strict") and known_host(kwargs.get("alt_key_file"), host)):
                raise AssertionError(f"harness: {host} connected without its host key checked")
            with box.lock:
                problem = box.login_problem(username)
                if not problem and kwargs.get("password") != world.password:
                    problem = "Authentication to device failed."
            world.logins.append((box.hostname, username))
            if problem:
                raise NetmikoAuthenticationException(f"{problem}\n\nDevice: {host}:22")
            return Session(world, box, username, **{k: v for k, v in kwargs.items() if k != "username"})

    return connect


def ipv4(text: str) -> IPv4Address:
    return IPv4Interface(text).ip
