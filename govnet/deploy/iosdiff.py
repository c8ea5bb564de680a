"""IOS-XE diff: running vs intended, both normalised the way IOS-XE 17 shows a config back, then hier_config.

IOS rewrites what it is given: `eq 80` comes back as `eq www`, `no shutdown` and other defaults disappear,
`line vty 0 15` is shown as `line vty 0 4` plus `line vty 5 15`, named ACL entries get sequence numbers,
a banner's delimiter becomes `^C`, secrets are re-encrypted and SNMPv3 users are never shown. Compared as
text, every device would differ from its intended config forever. Each rewrite is one table below, applied
to both sides; what is left is handed to hier_config, whose remediation (the commands that would bring the
running config to the intended one) is the diff shown to the user and the `unchanged` decision: empty
remediation = nothing to change. The push itself stays NAPALM's `configure replace` (see docs/deploy.md).

`with_preserved` builds the candidate of a platform that preserves device-specific sections (PKI trustpoints
and certificate chains, licence, boot): the rendered config plus those sections copied from the running one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from govnet import iosfmt


@dataclass
class Node:
    """One config line and the lines indented under it (a banner is one node holding all its lines)."""

    text: str
    children: list[Node] = field(default_factory=list)


BANNER = re.compile(r"^banner (\S+) (\S)(\S?)(.*)$")


def parse(text: str) -> list[Node]:
    """Indentation tree of an IOS config; a banner (any delimiter) becomes one node `banner X ^C…^C`."""
    roots: list[Node] = []
    stack: list[tuple[int, Node]] = []
    lines = text.replace("\r\n", "\n").split("\n")
    i = 0
    while i < len(lines):
        raw = lines[i].rstrip()
        i += 1
        if not raw.strip():
            continue
        banner = BANNER.match(raw)
        if banner:
            node, i = _banner(banner, lines, i)
            roots.append(node)
            stack = []
            continue
        indent = len(raw) - len(raw.lstrip())
        node = Node(" ".join(raw.split()))
        while stack and stack[-1][0] >= indent:
            stack.pop()
        (stack[-1][1].children if stack else roots).append(node)
        stack.append((indent, node))
    return roots


def _banner(match: re.Match[str], lines: list[str], i: int) -> tuple[Node, int]:
    """`banner login ^C` … `^C` (IOS's own form) or any one-character delimiter; the text kept verbatim."""
    kind, first, second, rest = match.groups()
    delim = first + second if first == "^" and second else first
    rest = (second + rest) if delim == first else rest
    body: list[str] = []
    if delim in rest:  # one-line banner: `banner motd #text#`
        body.append(rest.split(delim, 1)[0])
    else:
        if rest:
            body.append(rest)
        while i < len(lines):
            line = lines[i].rstrip("\r")
            i += 1
            if delim in line:
                before = line.split(delim, 1)[0]
                if before:
                    body.append(before)
                break
            body.append(line)
    return Node("\n".join([f"banner {kind} ^C", *body, "^C"])), i


def serialise(nodes: Iterable[Node], depth: int = 0) -> str:
    return "".join(f"{' ' * depth}{n.text}\n" + serialise(n.children, depth + 1) for n in nodes)


# --- the tables: every rewrite IOS-XE 17 makes that the templates cannot (or need not) spell its way ------

#: Lines dropped wherever they appear: (parent regex or None for top level, line regex, why).
DROPPED: tuple[tuple[str | None, str, str], ...] = (
    (None, r"^Building configuration", "show running-config header"),
    (None, r"^Current configuration : \d+ bytes", "show running-config header"),
    (None, r"^version \S+$", "IOS writes the version it runs"),
    (None, r"^end$", "end of config"),
    (r".*", r"^!", "comments: IOS drops them (and prints `!` between sections)"),
    (None, r"^!", "comments"),
    (None, r"^ip routing$", "default on a router: never shown"),
    (None, r"^file prompt quiet$", "NAPALM sets it around file operations and removes it on close"),
    (None, r"^ntp clock-period ", "written by the device itself"),
    (None, r"^logging trap informational$", "default level: never shown"),
    (None, r"^ip ssh authentication-retries 3$", "default: never shown"),
    (None, r"^snmp-server user ", "SNMPv3 users are kept out of the running config"),
    (r"^interface ", r"^no shutdown$", "default state: never shown"),
    (r"^router ospf ", r"^log-adjacency-changes$", "default since IOS 12.4: never shown"),
)

#: Secrets, masked on both sides: re-encryption (`service password-encryption` salts type 7 anew) or a hash the
#: device re-computes is not drift. The cost: a secret changed by hand is not drift either (docs/deploy.md).
#: (parent regex or None for any line, pattern, replacement)
SECRETS: tuple[tuple[str | None, str, str], ...] = (
    (None, r"\b(secret|password)( [0-9])? \S+", r"\1 <secret>"),
    (r"^(tacacs|radius) server ", r"^key( [0-9])? \S+$", "key <secret>"),
    (r"^key chain ", r"^key-string( [0-9])? \S+$", "key-string <secret>"),
    (None, r"^(tacacs-server|radius-server) key( [0-9])? \S+", r"\1 key <secret>"),
    (None, r"^(ntp authentication-key \d+ md5) \S+( [0-9])?$", r"\1 <secret>"),
    (None, r"^(ip ospf message-digest-key \d+ md5)( [0-9])? \S+$", r"\1 <secret>"),
    (None, r"^(ip ospf authentication-key)( [0-9])? \S+$", r"\1 <secret>"),
    (None, r"^(snmp-server community) \S+", r"\1 <secret>"),
)

#: ACL entries: the port names IOS shows, per protocol (numbers it has no name for stay numbers).
PORT_NAMES = {"tcp": iosfmt.TCP_NAMES, "udp": iosfmt.UDP_NAMES}
ACL_PARENT = re.compile(r"^(ip|ipv6) access-list ")
#: Host addresses as IOS shows them: standard ACLs drop `host`, extended ones turn a 0.0.0.0 wildcard into `host`.
STANDARD_HOST = (
    (re.compile(r"\bhost (\d+\.\d+\.\d+\.\d+)"), r"\1"),
    (re.compile(r"\b(\d+\.\d+\.\d+\.\d+) 0\.0\.0\.0\b"), r"\1"),
)
EXTENDED_HOST = ((re.compile(r"\b(?<!host )(\d+\.\d+\.\d+\.\d+) 0\.0\.0\.0\b"), r"host \1"),)
ACL_SEQUENCE = re.compile(r"^\d+ (?=(permit|deny|remark|evaluate) )")
PORT_OPERATOR = re.compile(r"\b(eq|neq|gt|lt) (\S+)|\brange (\S+) (\S+)")

#: IOS-XE keeps the vty lines the box starts with (0-4) apart from the ones a config adds (5 and up).
VTY = re.compile(r"^line vty (\d+) (\d+)$")
VTY_BUILTIN_LAST = 4

#: A physical interface the running config shows only because it exists: no config of its own.
DEFAULT_INTERFACE_LINES = frozenset({"shutdown", "no ip address", "negotiation auto", "no mop enabled", "no mop sysid"})


def _drop(nodes: list[Node], parent: str | None = None) -> list[Node]:
    kept = []
    for n in nodes:
        if any(
            (p is None if parent is None else p is not None and re.match(p, parent)) and re.match(line, n.text)
            for p, line, _ in DROPPED
        ):
            continue
        kept.append(Node(n.text, _drop(n.children, n.text)))
    return kept


def mask_secrets(line: str, parent: str = "") -> str:
    """*line* (under *parent*, '' at top level) with every secret it holds replaced by `<secret>`."""
    if line.startswith("banner "):
        return line
    for scope, pattern, replacement in SECRETS:
        if scope is None or (parent and re.match(scope, parent)):
            line = re.sub(pattern, replacement, line)
    return line


def _map_secrets(nodes: list[Node], parent: str = "") -> list[Node]:
    return [Node(mask_secrets(n.text, parent), _map_secrets(n.children, n.text)) for n in nodes]


def port_names(entry: str) -> str:
    """`permit tcp any any eq 80` → `… eq www`: the names IOS shows for the entry's protocol."""
    words = entry.split()
    proto = next((w for w in words[:3] if w in PORT_NAMES), None)
    if proto is None:
        return entry
    names = PORT_NAMES[proto]

    def name(port: str) -> str:
        return names.get(int(port), port) if port.isdigit() else port

    def sub(m: re.Match[str]) -> str:
        if m.group(1):
            return f"{m.group(1)} {name(m.group(2))}"
        return f"range {name(m.group(3))} {name(m.group(4))}"

    return PORT_OPERATOR.sub(sub, entry)


def _acls(nodes: list[Node]) -> list[Node]:
    out = []
    for n in nodes:
        if ACL_PARENT.match(n.text):
            hosts = STANDARD_HOST if n.text.startswith("ip access-list standard ") else EXTENDED_HOST
            entries = [Node(_hosts(port_names(ACL_SEQUENCE.sub("", c.text)), hosts), c.children) for c in n.children]
            out.append(Node(n.text, entries))
        elif n.text.startswith("access-list "):
            out.append(Node(port_names(n.text), n.children))
        else:
            out.append(n)
    return out


def _hosts(entry: str, rules: Iterable[tuple[re.Pattern[str], str]]) -> str:
    if entry.startswith("remark "):
        return entry
    for pattern, replacement in rules:
        entry = pattern.sub(replacement, entry)
    return entry


def _vty(nodes: list[Node]) -> list[Node]:
    out = []
    for n in nodes:
        m = VTY.match(n.text)
        if m and int(m.group(1)) <= VTY_BUILTIN_LAST < int(m.group(2)):
            first, last = int(m.group(1)), int(m.group(2))
            out.append(Node(f"line vty {first} {VTY_BUILTIN_LAST}", list(n.children)))
            out.append(Node(f"line vty {VTY_BUILTIN_LAST + 1} {last}", list(n.children)))
        else:
            out.append(n)
    return out


#: In order: what each does is documented on its table above.
NORMALISATIONS: tuple[Callable[[list[Node]], list[Node]], ...] = (_drop, _acls, _vty, _map_secrets)


def normalise_tree(text: str) -> list[Node]:
    nodes = parse(text)
    for step in NORMALISATIONS:
        nodes = step(nodes)
    return nodes


def normalise(text: str) -> str:
    """*text* the way IOS-XE 17 would show it back, secrets masked (comparable with a running config)."""
    return serialise(normalise_tree(text))


def _without_default_interfaces(running: list[Node], intended: list[Node]) -> list[Node]:
    wanted = {n.text for n in intended}
    return [
        n
        for n in running
        if not (
            n.text.startswith("interface ")
            and n.text not in wanted
            and {c.text for c in n.children} <= DEFAULT_INTERFACE_LINES
        )
    ]


def remediation(running: str, intended: str) -> str:
    """The commands that turn *running* into *intended*, both normalised ('' = nothing to change)."""
    from hier_config import Host

    want = normalise_tree(intended)
    have = _without_default_interfaces(normalise_tree(running), want)
    host = Host("device", "ios")
    host.load_running_config(serialise(have))
    host.load_generated_config(serialise(want))
    return str(host.remediation_config_filtered_text(include_tags=set(), exclude_tags=set())).strip()


def sections(text: str, patterns: Sequence[str]) -> str:
    """The top-level sections of *text* (with their children and banners' lines) whose first line matches one
    of *patterns*, verbatim, in the order they appear."""
    wanted = [re.compile(p) for p in patterns]
    out: list[str] = []
    keep = False
    for line in text.replace("\r\n", "\n").split("\n"):
        if line and not line[0].isspace():
            keep = any(p.search(line) for p in wanted)
        if keep and line.strip():
            out.append(line.rstrip())
    return "\n".join(out) + ("\n" if out else "")


def with_preserved(rendered: str, running: str, patterns: Sequence[str]) -> str:
    """*rendered* plus the *patterns* sections of *running* (before the final `end`): what a replace keeps."""
    kept = sections(running, patterns)
    if not kept:
        return rendered
    already = sections(rendered, patterns)
    if already:  # the templates own these sections for this device: theirs win
        return rendered
    lines = rendered.rstrip("\n").split("\n")
    block = [
        "! preserved from the device's running config (platform.yml deploy.preserve)",
        *kept.rstrip().split("\n"),
        "!",
    ]
    if lines and lines[-1].strip() == "end":
        return "\n".join([*lines[:-1], *block, lines[-1]]) + "\n"
    return "\n".join([*lines, *block]) + "\n"
