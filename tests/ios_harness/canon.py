"""What an IOS-XE 17 box stores when it is given a config, and shows back in `show running-config`.

Written apart from govnet.deploy.iosdiff on purpose: the harness plays the device, iosdiff is the code under
test, and a rewrite the two disagree on shows up as a diff that never goes away (a failing test).
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

# Port numbers IOS-XE 17 prints by name in ACL entries (recorded from `show running-config` on 17.9).
TCP = {"21": "ftp", "23": "telnet", "25": "smtp", "49": "tacacs", "53": "domain", "80": "www", "179": "bgp"}
UDP = {"53": "domain", "67": "bootps", "68": "bootpc", "69": "tftp", "123": "ntp", "161": "snmp", "162": "snmptrap"}
UDP |= {"514": "syslog", "1812": "1812"}

TYPE7_KEY = "dsfd;kfoA,.iyewrkldJKDHSUBsgvca69834ncxv9873254k;fg87"
TYPE9 = re.compile(r"^\$9\$[./0-9A-Za-z]{14}\$[./0-9A-Za-z]{43}$")
B64 = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def type7(plain: str, rng: random.Random) -> str:
    """Cisco type 7 with a random salt, as `service password-encryption` does."""
    seed = rng.randrange(16)
    return f"{seed:02d}" + "".join(
        f"{ord(c) ^ ord(TYPE7_KEY[(seed + i) % len(TYPE7_KEY)]):02X}" for i, c in enumerate(plain)
    )


def type7_decode(text: str) -> str:
    seed = int(text[:2])
    pairs = [text[i : i + 2] for i in range(2, len(text), 2)]
    return "".join(chr(int(p, 16) ^ ord(TYPE7_KEY[(seed + i) % len(TYPE7_KEY)])) for i, p in enumerate(pairs))


@dataclass
class Section:
    line: str
    children: list[str] = field(default_factory=list)  # indented lines, their own indentation kept


class Rejected(ValueError):
    """A line the box does not accept (configure replace fails and restores the original)."""


def sections(text: str) -> list[Section]:
    """Top-level sections; banners (any delimiter) folded into one `banner X ^C` section with their text."""
    out: list[Section] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i].rstrip()
        i += 1
        if not line.strip() or line.lstrip().startswith("!"):
            continue
        m = re.match(r"^banner (\S+) (\^C|\S)(.*)$", line)
        if m:
            kind, delim, rest = m.groups()
            body = []
            if delim in rest:
                body.append(rest.split(delim)[0])
            else:
                if rest:
                    body.append(rest)
                while i < len(lines) and delim not in lines[i]:
                    body.append(lines[i].rstrip())
                    i += 1
                i += 1
            out.append(Section(f"banner {kind} ^C", body))
            continue
        if line[0].isspace() and out:
            out[-1].children.append(line)
        elif not line[0].isspace():
            out.append(Section(" ".join(line.split())))
    return out


def _port(proto: str, port: str) -> str:
    return (TCP if proto == "tcp" else UDP if proto == "udp" else {}).get(port, port)


def _acl_entry(entry: str, standard: bool) -> str:
    words = entry.split()
    proto = words[1] if len(words) > 1 else ""
    out: list[str] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("eq", "neq", "gt", "lt") and i + 1 < len(words):
            out += [w, _port(proto, words[i + 1])]
            i += 2
            continue
        if w == "range" and i + 2 < len(words):
            out += [w, _port(proto, words[i + 1]), _port(proto, words[i + 2])]
            i += 3
            continue
        if standard and w == "host":
            i += 1
            continue
        if i + 1 < len(words) and words[i + 1] == "0.0.0.0" and re.match(r"^\d+\.\d+\.\d+\.\d+$", w):
            out += [w] if standard else ["host", w]
            i += 2
            continue
        out.append(w)
        i += 1
    return " ".join(out)


def canonical(config: str, rng: random.Random, ports: list[str]) -> list[Section]:
    """The sections IOS stores for *config* (raises Rejected for a line it refuses). *ports* are the box's
    physical interfaces: they exist whether the config names them or not."""
    encrypt = False
    out: list[Section] = []
    for sec in sections(config):
        line = sec.line
        if line in ("end", "ip routing") or line.startswith("version ") or line.startswith("snmp-server user "):
            continue
        if "<vault:" in line or any("<vault:" in c for c in sec.children):
            raise Rejected(f"% Invalid input detected at '^' marker: {line}")
        if line == "service password-encryption":
            encrypt = True
        children = [c for c in sec.children if not c.strip().startswith("!")]
        if line.startswith("interface "):
            children = [c for c in children if c.strip() != "no shutdown"]
        if line.startswith("router ospf "):
            children = [c for c in children if c.strip() != "log-adjacency-changes"]
        if line.startswith("ip access-list "):
            standard = line.startswith("ip access-list standard ")
            numbered, seq = [], 0
            for c in children:  # IOS-XE 17 numbers every entry, remarks too; a given number is kept
                words = c.split()
                seq = int(words[0]) if words[0].isdigit() else seq + 10
                entry = _acl_entry(" ".join(words[1:] if words[0].isdigit() else words), standard)
                numbered.append(f" {seq} {entry}")
            children = numbered
        m = re.match(r"^line vty (\d+) (\d+)$", line)
        if m and int(m.group(1)) <= 4 < int(m.group(2)):
            out.append(Section(f"line vty {m.group(1)} 4", list(children)))
            out.append(Section(f"line vty 5 {m.group(2)}", list(children)))
            continue
        secret = re.match(r"^(username \S+(?: privilege \d+)? secret) (?:(\d) )?(\S+)$", line)
        if secret:
            kind, value = secret.group(2), secret.group(3)
            if kind == "9" and not TYPE9.match(value):
                raise Rejected(f"% Invalid encrypted password: {line}")
            if kind is None:
                value = "$9$" + "".join(rng.choice(B64) for _ in range(14)) + "$"
                value += "".join(rng.choice(B64) for _ in range(43))
            line = f"{secret.group(1)} 9 {value}"
        out.append(Section(line, children))
    if encrypt:
        out = [_encrypted(s, rng) for s in out]
    named = {s.line for s in out}
    for port in ports:  # a physical port the config leaves out is still there, unconfigured
        if f"interface {port}" not in named:
            out.append(Section(f"interface {port}", [" no ip address", " shutdown"]))
    return out


#: Where `service password-encryption` turns a clear-text secret into type 7 (as IOS-XE 17 shows it back).
CLEAR_SECRETS = (
    (re.compile(r"^(username \S+ (?:privilege \d+ )?password) (?:7 )?(\S+)$"), r"\1 7 {}"),
    (re.compile(r"^(\s+password) (?:7 )?(\S+)$"), r"\1 7 {}"),
    (re.compile(r"^(\s+key) (?:7 )?(\S+)$"), r"\1 7 {}"),  # tacacs server / radius server
    (re.compile(r"^(tacacs-server key) (?:7 )?(\S+)$"), r"\1 7 {}"),
    (re.compile(r"^(ntp authentication-key \d+ md5) (\S+)(?: 7)?$"), r"\1 {} 7"),
)


def _encrypted(sec: Section, rng: random.Random) -> Section:
    server = re.match(r"^(tacacs|radius) server ", sec.line) is not None

    def enc(text: str) -> str:
        for pattern, shape in CLEAR_SECRETS:
            if pattern.pattern.startswith("^(\\s+key)") and not server:
                continue
            m = pattern.match(text)
            if m:
                value = m.group(2)
                plain = type7_decode(value) if re.fullmatch(r"\d\d(?:[0-9A-F]{2})+", value) else value
                # IOS keeps a given type 7 string; re-encrypted here with a fresh salt on purpose: that must not
                # be drift either
                return m.expand(shape.replace("{}", type7(plain, rng)))
        return text

    return Section(enc(sec.line) if not sec.line.startswith("banner") else sec.line, [enc(c) for c in sec.children])


def text(secs: list[Section]) -> str:
    """The body of `show running-config` for *secs* (`!` between sections as IOS prints them)."""
    out: list[str] = []
    for s in secs:
        if s.line.startswith("banner "):
            out += [s.line, *s.children, "^C"]
        else:
            out += [s.line, *s.children]
        if s.line.startswith(("interface ", "router ", "line ", "ip access-list ", "banner ", "vrf ", "archive")):
            out.append("!")
    return "\n".join(out) + "\n"


# --- the device's state as the routing protocols would make it, derived from the running config -----------


@dataclass
class Iface:
    name: str
    enabled: bool
    addresses: list[IPv4Interface]
    vrf: str
    description: str
    ospf_hello: str = "10"


@dataclass
class State:
    hostname: str
    interfaces: dict[str, Iface]
    ospf_networks: list[tuple[IPv4Address, IPv4Address]]  # (address, wildcard)
    ospf_router_id: str
    passive: set[str]
    bgp_asn: str
    bgp_router_id: str
    bgp_neighbors: dict[str, dict[str, str]]  # address → remote-as, description, update-source
    bgp_active: set[str]
    usernames: set[str]
    vty_ssh: bool
    archive: bool

    def ospf_covers(self, address: IPv4Address) -> bool:
        for net, wild in self.ospf_networks:
            mask = int(wild)
            if int(address) & ~mask & 0xFFFFFFFF == int(net) & ~mask & 0xFFFFFFFF:
                return True
        return False

    def addresses(self) -> dict[str, str]:
        return {str(a.ip): i.name for i in self.interfaces.values() if i.enabled for a in i.addresses}


def state(secs: list[Section]) -> State:
    hostname, ifaces, networks, rid = "", {}, [], ""
    passive: set[str] = set()
    active_ifaces: set[str] = set()
    passive_default = False
    asn = brid = ""
    neighbors: dict[str, dict[str, str]] = {}
    active: set[str] = set()
    default_v4 = True
    users: set[str] = set()
    vty_ssh = False
    archive = False
    for s in secs:
        words = s.line.split()
        kids = [c.strip() for c in s.children]
        if words[0] == "hostname":
            hostname = words[1]
        elif words[0] == "username":
            users.add(words[1])
        elif words[0] == "interface":
            addrs = []
            vrf = ""
            desc = ""
            hello = "10"
            for k in kids:
                m = re.match(r"^ip address (\S+) (\S+)( secondary)?$", k)
                if m:
                    addrs.append(IPv4Interface(f"{m.group(1)}/{m.group(2)}"))
                if k.startswith("vrf forwarding "):
                    vrf = k.split()[2]
                if k.startswith("description "):
                    desc = k[len("description ") :]
                if k.startswith("ip ospf hello-interval "):
                    hello = k.split()[-1]
            ifaces[words[1]] = Iface(words[1], "shutdown" not in kids, addrs, vrf, desc, hello)
        elif s.line.startswith("router ospf"):
            for k in kids:
                w = k.split()
                if w[0] == "router-id":
                    rid = w[1]
                elif w[0] == "network":
                    networks.append((IPv4Address(w[1]), IPv4Address(w[2])))
                elif k == "passive-interface default":
                    passive_default = True
                elif w[0] == "passive-interface":
                    passive.add(w[1])
                elif k.startswith("no passive-interface "):
                    active_ifaces.add(w[2])
        elif s.line.startswith("router bgp"):
            asn = words[2]
            for k in kids:
                w = k.split()
                if k.startswith("bgp router-id"):
                    brid = w[2]
                elif k == "no bgp default ipv4-unicast":
                    default_v4 = False
                elif w[0] == "neighbor" and len(w) >= 4:
                    entry = neighbors.setdefault(w[1], {})
                    if w[2] in ("remote-as", "update-source"):
                        entry[w[2]] = w[3]
                    elif w[2] == "description":
                        entry["description"] = " ".join(w[3:])
                    elif w[2] == "activate":
                        active.add(w[1])
                elif w[0] == "neighbor" and len(w) == 3 and w[2] == "activate":
                    active.add(w[1])
        elif s.line.startswith("line vty"):
            transport = next((k for k in kids if k.startswith("transport input")), "transport input ssh")
            vty_ssh = vty_ssh or any(t in transport.split() for t in ("ssh", "all"))
        elif s.line == "archive":
            archive = any(k.startswith("path ") for k in kids)
    if default_v4:
        active |= set(neighbors)
    if passive_default:
        passive = set(ifaces) - active_ifaces
    return State(hostname, ifaces, networks, rid, passive, asn, brid, neighbors, active, users, vty_ssh, archive)


def same_subnet(a: IPv4Interface, b: IPv4Interface) -> bool:
    return a.network == b.network and a.ip != b.ip


def network_of(prefix: str, mask: str) -> IPv4Network | None:
    try:
        return IPv4Network(f"{prefix}/{mask}")
    except ValueError:
        return None
